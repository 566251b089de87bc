import { randomUUID, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown, ownTenant, refuse } from './work.ts';
import { asResource, loadFacts } from './facts.ts';
import { patientIdentity } from './patients.ts';
import { AppError } from '../errors/catalogue.ts';
import { issueHc1, revocationHash, parseCoseSign1, parseCwtClaims, unwrapHc1, DEFAULT_LIMITS, HcertError, type Json } from '../hcert/index.ts';
import { nodeBackend } from '../hcert/node.ts';
import type { DigestSigner } from '../signing/digest-signer.ts';
import { activeDsc, COUNTRY } from './issuer-keys.ts';
import { VACCINES, vaccinationForPass, type VaccinationView } from './vaccinations.ts';
import { resultCtx } from './results.ts';
import { PAD } from '../crypto/fields.ts';
import { RAT_DEVICES } from './rat-devices.ts';
import { admissionWindow } from '../verifier/rules.ts';
import type { Accepted, Certified, PassPdfFacts } from './pass-pdf.ts';

export const PASS_KINDS = ['test', 'recovery'] as const;
export const PassRequest = z.strictObject({ kind: z.enum(PASS_KINDS).default('test') });

export interface PassView {
  id: string;
  kind: 'test' | 'vaccination' | 'recovery';
  patientId: string;
  resultId: string | null;
  vaccinationId: string | null;
  issuedAt: string;
  expiresAt: string;
  revokedAt: string | null;
  replacedBy: string | null;
  /** The QR text; only in single-pass answers, never in lists. */
  hc1?: string;
}

type PassRow = {
  id: string; tenant_id: string; patient_id: string; result_id: string | null; vaccination_id: string | null; kind_enc: string; kid: string; hc1_enc: string;
  issued_at: Date; expires_at_enc: string; revoked_at: Date | null; replaced_by: string | null;
};

/**
 * Where each sealed field of a pass lives. A pass's kind ('recovery' means a positive PCR) and its
 * expiry (a recovery pass ends 180 days after it) are health facts: never in clear columns.
 */
export const passCtx = { hc1: (id: string) => `pass.hc1:${id}`, kind: (id: string) => `pass.kind:${id}`, expiresAt: (id: string) => `pass.expires_at:${id}` };

const view = (w: Pick<Work, 'fields'>, r: PassRow): PassView => ({
  id: r.id, kind: w.fields.decrypt(passCtx.kind(r.id), r.kind_enc) as PassView['kind'], patientId: r.patient_id, resultId: r.result_id, vaccinationId: r.vaccination_id,
  issuedAt: new Date(r.issued_at).toISOString(), expiresAt: w.fields.decrypt(passCtx.expiresAt(r.id), r.expires_at_enc),
  revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null, replacedBy: r.replaced_by,
});

/** How long a pass row is kept after issuance, whatever its kind (longer than any pass lives; see migration 020). */
export const PASS_KEPT_DAYS = 400;

/** The blind key that makes one pass per source and kind unique (the kind itself stays sealed). */
export const passSourceKey = (w: Pick<Work, 'blindIndex'>, sourceId: string, kind: PassView['kind']) => w.blindIndex(`pass-source:${sourceId}:${kind}`);

/** ICAO 9303 transliteration for the `fnt`/`gnt` fields: A–Z and `<` only. */
export function icao(name: string): string {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/['’]/g, '').toUpperCase()
    .replace(/Æ/g, 'AE').replace(/Œ/g, 'OE').replace(/ß/g, 'SS').replace(/[^A-Z]+/g, '<').replace(/^<+|<+$/g, '').slice(0, 80);
}

/** A unique certificate identifier (UVCI, EU guidelines annex 2, opaque option). */
export const newUci = () => `URN:UVCI:01:${COUNTRY}:${randomBytes(15).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, 'X')}`;

const TEST_TYPE = { antigen: 'LP217198-3', pcr: 'LP6464-4' } as const;
const TEST_RESULT = { negative: '260415000', positive: '260373001' } as const;
const COVID = '840539006';
/** A rapid antigen test from the EU common list (test-manf value set), as the demo pharmacies use. */
const DAY = 86_400_000;
/**
 * How long a test pass is valid after sampling: the longest any rule in use accepts a test (72 h for
 * a PCR, the EU's upper bound); venues apply their own, shorter rules on the sampling time.
 */
export const TEST_VALID_HOURS = 72;
/** How long a vaccination pass is valid after issuance (the EU's acceptance period for a primary course is 270 days; boosters longer). */
export const VACCINATION_VALID_DAYS = 365;
/** Reissues a day of the passes of one source (a result or a vaccination), and of one patient record. */
export const MAX_REISSUES_PER_SOURCE = 3;
export const MAX_REISSUES_PER_PATIENT = 5;
/**
 * …and of one pharmacy's passes a day, whoever asks: a rogue or stolen staff session could otherwise
 * register patients and reissue theirs in a loop. A pharmacy reissues a handful a day.
 */
export const MAX_REISSUES_PER_TENANT = 100;

/** What a pass is issued from: a test result (test or recovery pass) or a vaccination. */
type Source =
  | { from: 'result'; resultId: string; tenantId: string; patientId: string; testType: 'antigen' | 'pcr'; outcome: string; sampledAt: Date; tenantName: string; device: string | null }
  | { from: 'vaccination'; vaccination: VaccinationView & { tenantName: string }; tenantId: string; patientId: string };

async function loadSource(w: Work, resultId: string): Promise<Source> {
  const [r] = await w.tx.query<{ tenant_id: string; patient_id: string; test_type_enc: string; outcome_enc: string; sampled_at_enc: string; device_enc: string | null; tenant_name: string }>(
    'SELECT r.tenant_id, r.patient_id, r.test_type_enc, r.outcome_enc, r.sampled_at_enc, r.device_enc, t.name AS tenant_name FROM test_result r JOIN tenant t ON t.id = r.tenant_id WHERE r.id = $1', [resultId]);
  return {
    from: 'result', resultId, tenantId: r!.tenant_id, patientId: r!.patient_id, testType: w.fields.decrypt(resultCtx.testType(resultId), r!.test_type_enc) as 'antigen' | 'pcr',
    outcome: w.fields.decrypt(resultCtx.outcome(resultId), r!.outcome_enc), sampledAt: new Date(w.fields.decrypt(resultCtx.sampledAt(resultId), r!.sampled_at_enc)), tenantName: r!.tenant_name,
    device: r!.device_enc === null ? null : w.fields.decrypt(resultCtx.device(resultId), r!.device_enc),
  };
}

async function loadVaccinationSource(w: Work, vaccinationId: string): Promise<Source> {
  const vaccination = await vaccinationForPass(w, vaccinationId);
  return { from: 'vaccination', vaccination, tenantId: vaccination.tenantId, patientId: vaccination.patientId };
}

/** A recovery certificate's validity: from day 11 after the positive sample until day 180. */
export const recoveryWindow = (sampledAt: Date): { from: Date; until: Date } => ({ from: new Date(sampledAt.getTime() + 11 * DAY), until: new Date(sampledAt.getTime() + 180 * DAY) });

/**
 * Which pass a result can give now, or why none (the same rules as issuing): pages offer only what
 * would be issued, and say why otherwise, rather than a button that ends on a conflict.
 */
export type PassOffer =
  | { kind: 'test' | 'recovery' }
  | { kind: null; reason: 'inconclusive' | 'test-too-old' | 'recovery-too-late' }
  | { kind: null; reason: 'recovery-too-early'; from: Date };
export function passOffer(r: { testType: 'pcr' | 'antigen'; outcome: 'positive' | 'negative' | 'inconclusive'; sampledAt: Date }, now: Date): PassOffer {
  if (r.outcome === 'inconclusive') return { kind: null, reason: 'inconclusive' };
  if (r.outcome === 'positive' && r.testType === 'pcr') {
    const w = recoveryWindow(r.sampledAt);
    if (now < w.from) return { kind: null, reason: 'recovery-too-early', from: w.from };
    return now >= w.until ? { kind: null, reason: 'recovery-too-late' } : { kind: 'recovery' };
  }
  return r.sampledAt.getTime() + TEST_VALID_HOURS * 3_600_000 <= now.getTime() ? { kind: null, reason: 'test-too-old' } : { kind: 'test' };
}

/**
 * The DCC for a source: a vaccination certificate; a test certificate; or a recovery certificate
 * from a positive PCR ≥ 11 days old.
 */
function buildDcc(kind: PassView['kind'], s: Source, who: { givenName: string; familyName: string; birthDate: string }, ci: string, now: Date): { dcc: Json; expiresAt: Date } {
  const nam = { fn: who.familyName.slice(0, 80), fnt: icao(who.familyName), gn: who.givenName.slice(0, 80), gnt: icao(who.givenName) };
  const base = { ver: '1.3.0', nam, dob: who.birthDate };
  const issuer = 'Saufconduit (demo issuing authority)';
  if (s.from === 'vaccination') {
    if (kind !== 'vaccination') throw new AppError('conflict', [{ path: 'kind', code: 'vaccination-gives-vaccination-pass' }]);
    const v = s.vaccination;
    const coding = VACCINES[v.product];
    const entry = { tg: COVID, vp: coding.vp, mp: v.product, ma: coding.ma, dn: v.doseNumber, sd: v.seriesDoses, dt: v.administeredOn, co: COUNTRY, is: issuer, ci };
    return { dcc: { ...base, v: [entry] }, expiresAt: new Date(now.getTime() + VACCINATION_VALID_DAYS * DAY) };
  }
  if (kind === 'vaccination') throw new AppError('conflict', [{ path: 'kind', code: 'result-gives-test-or-recovery-pass' }]);
  if (kind === 'test') {
    if (s.outcome !== 'negative' && s.outcome !== 'positive') throw new AppError('conflict', [{ path: 'result.outcome', code: 'inconclusive-result' }]);
    const t: Record<string, string> = { tg: COVID, tt: TEST_TYPE[s.testType], sc: s.sampledAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), tr: TEST_RESULT[s.outcome], tc: s.tenantName.slice(0, 80), co: COUNTRY, is: issuer, ci };
    if (s.testType === 'antigen') {
      // The device the pharmacy used; a result recorded before devices were asked names none, and
      // naming one nobody chose would be a false statement on a signed pass.
      if (!s.device) throw new AppError('conflict', [{ path: 'result.device', code: 'device-unknown' }]);
      t.ma = s.device;
    }
    // The signature's technical validity fits the use: a test is accepted for TEST_VALID_HOURS after
    // sampling, so the pass (and, once revoked, its revocation entry) ends then, not a year later.
    const expiresAt = new Date(s.sampledAt.getTime() + TEST_VALID_HOURS * 3_600_000);
    if (expiresAt <= now) throw new AppError('conflict', [{ path: 'result.sampledAt', code: 'test-too-old' }]);
    return { dcc: { ...base, t: [t] }, expiresAt };
  }
  if (s.outcome !== 'positive' || s.testType !== 'pcr') throw new AppError('conflict', [{ path: 'result', code: 'recovery-needs-positive-pcr' }]);
  const fr = s.sampledAt;
  const { from: df, until: du } = recoveryWindow(fr);
  if (now < df) throw new AppError('conflict', [{ path: 'result.sampledAt', code: 'recovery-too-early' }]);
  if (now >= du) throw new AppError('conflict', [{ path: 'result.sampledAt', code: 'recovery-too-late' }]);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return { dcc: { ...base, r: [{ tg: COVID, fr: day(fr), co: COUNTRY, is: issuer, df: day(df), du: day(du), ci }] }, expiresAt: du };
}

async function signAndStore(w: Work, signer: DigestSigner, s: Source, kind: PassView['kind'], subjectRef: string): Promise<PassView & { hc1: string }> {
  const who = await patientIdentity(w, s.patientId);
  const ci = newUci();
  const { dcc, expiresAt } = buildDcc(kind, s, who, ci, w.now);
  const dsc = await activeDsc(w.tx);
  const kid = dsc.kid!;
  const certificateDer = Buffer.from(dsc.certificate_der, 'base64');
  // Only the digest of the COSE Sig_structure crosses into the signing module.
  let issued: ReturnType<typeof issueHc1>;
  try {
    issued = issueHc1({
      dcc, certificateDer, alg: 'ES256', backend: nodeBackend, issuedAt: w.now, expiresAt, issuer: COUNTRY,
      sign: (data) => signer.signDigest(kid, nodeBackend.sha256(data)),
    });
  } catch (err) {
    // A record the certificate schema cannot hold (a birth date stored before its bounds were
    // checked at entry): no pass can be issued for it as it stands; correcting the record can.
    if (err instanceof HcertError && err.code === 'schema') throw new AppError('conflict', [{ path: 'pass', code: 'not-encodable' }]);
    throw err;
  }
  const { signature } = parseCoseSign1(issued.cose, { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems });
  const hash = (type: 'UCI' | 'COUNTRYCODEUCI' | 'SIGNATURE') => Buffer.from(revocationHash(nodeBackend, type, { ci, iss: COUNTRY, alg: 'ES256', signature })).toString('base64');
  const id = randomUUID();
  const resultId = s.from === 'result' ? s.resultId : null;
  const vaccinationId = s.from === 'vaccination' ? s.vaccination.id : null;
  // The unique index on source_key (while unrevoked) keeps one valid pass per source and kind even
  // across processes; a concurrent issuance that loses answers with the winner's pass on replay.
  await w.tx.query(
    `INSERT INTO pass (id, tenant_id, patient_id, result_id, vaccination_id, kind_enc, kid, hc1_enc, issued_at, expires_at_enc, keep_until, source_key, uci_hash, country_uci_hash, signature_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [id, s.tenantId, s.patientId, resultId, vaccinationId, w.fields.encrypt(passCtx.kind(id), kind, { padTo: PAD.code }), kid, w.fields.encrypt(passCtx.hc1(id), issued.hc1, { padTo: PAD.pass }), w.now,
      w.fields.encrypt(passCtx.expiresAt(id), expiresAt.toISOString(), { padTo: PAD.instant }), new Date(w.now.getTime() + PASS_KEPT_DAYS * DAY), passSourceKey(w, resultId ?? vaccinationId!, kind),
      hash('UCI'), hash('COUNTRYCODEUCI'), hash('SIGNATURE')],
  );
  w.record({ action: 'pass.issue', resourceType: 'Pass', resourceId: id, subjectRef, purpose: 'issuance', outcome: 'success', tenantId: s.tenantId });
  return { id, kind, patientId: s.patientId, resultId, vaccinationId, issuedAt: w.now.toISOString(), expiresAt: expiresAt.toISOString(), revokedAt: null, replacedBy: null, hc1: issued.hc1 };
}

/** An issued pass, and whether it was there already (issuing again answers the valid one). */
export type Issued = PassView & { hc1: string; existing: boolean };

/**
 * One valid pass per source and kind: issuing again answers the pass that is still valid
 * (`existing`), so a double click or a retry never puts two valid passes in circulation; an expired
 * one is superseded (it is past its validity, so its revocation adds nothing to the published list)
 * and a new one issued.
 */
async function issueOnce(w: Work, signer: DigestSigner, s: Source, kind: PassView['kind'], subjectRef: string): Promise<Issued> {
  const [current] = await w.tx.query<PassRow>('SELECT * FROM pass WHERE source_key = $1 AND revoked_at IS NULL', [passSourceKey(w, s.from === 'result' ? s.resultId : s.vaccination.id, kind)]);
  if (current) {
    const v = view(w, current);
    if (Date.parse(v.expiresAt) > w.now.getTime()) {
      w.record({ action: 'pass.read', resourceType: 'Pass', resourceId: current.id, subjectRef, purpose: 'issuance-repeated', outcome: 'success', tenantId: s.tenantId });
      return { ...v, hc1: w.fields.decrypt(passCtx.hc1(current.id), current.hc1_enc), existing: true };
    }
    await w.tx.query(`UPDATE pass SET revoked_at = $2, revoked_reason = 'superseded' WHERE id = $1 AND revoked_at IS NULL`, [current.id, w.now]);
  }
  return { ...(await signAndStore(w, signer, s, kind, subjectRef)), existing: false };
}

/** Issues a pass for a test result, for the tenant that recorded it or the patient it is about. */
export async function issuePass(w: Work, signer: DigestSigner, resultId: string, kind: 'test' | 'recovery'): Promise<Issued> {
  const facts = await loadFacts(w.tx, 'result', resultId, w.now);
  const target = { resourceType: 'Observation', resourceId: resultId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'pass.issue', target);
  w.access('pass.issue', asResource('pass', resultId, facts), target);
  return issueOnce(w, signer, await loadSource(w, resultId), kind, facts.subjectRef);
}

/** Issues a vaccination pass, for the tenant that recorded the vaccination or the patient it is about. */
export async function issueVaccinationPass(w: Work, signer: DigestSigner, vaccinationId: string): Promise<Issued> {
  const facts = await loadFacts(w.tx, 'vaccination', vaccinationId, w.now);
  const target = { resourceType: 'Immunization', resourceId: vaccinationId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'pass.issue', target);
  w.access('pass.issue', asResource('pass', vaccinationId, facts), target);
  return issueOnce(w, signer, await loadVaccinationSource(w, vaccinationId), 'vaccination', facts.subjectRef);
}

export async function getPass(w: Work, id: string): Promise<PassView & { hc1: string }> {
  const facts = await loadFacts(w.tx, 'pass', id, w.now);
  const target = { resourceType: 'Pass', resourceId: id, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'pass.read', target);
  w.access('pass.read', asResource('pass', id, facts), target);
  const [row] = await w.tx.query<PassRow>('SELECT * FROM pass WHERE id = $1', [id]);
  return { ...view(w, row!), hc1: w.fields.decrypt(passCtx.hc1(id), row!.hc1_enc) };
}

/** Passes a principal may list: a patient's own; a pharmacy's latest 200, or all it issued for one patient. */
export async function listPasses(w: Work, forPatientId?: string): Promise<PassView[]> {
  const a = w.actor;
  type Listed = PassRow & { subject_ref: string };
  const select = 'SELECT x.*, p.subject_ref FROM pass x JOIN patient p ON p.id = x.patient_id';
  let rows: Listed[];
  if (a.role === 'staff' || a.role === 'api-key') {
    w.access('pass.list', ownTenant(w), { resourceType: 'Pass', resourceId: null, subjectRef: null });
    rows = forPatientId
      ? await w.tx.query<Listed>(`${select} WHERE x.tenant_id = $1 AND x.patient_id = $2 ORDER BY x.issued_at DESC`, [a.tenantId, forPatientId])
      : await w.tx.query<Listed>(`${select} WHERE x.tenant_id = $1 ORDER BY x.issued_at DESC LIMIT 200`, [a.tenantId]);
  } else {
    w.access('pass.list', { type: 'self' }, { resourceType: 'Pass', resourceId: null, subjectRef: null });
    rows = await w.tx.query<Listed>(`${select} WHERE p.account_id = $1 ORDER BY x.issued_at DESC`, [a.id]);
  }
  // A list shows each pass's holder: one event per pass, under its holder's subject, so that every
  // person's history shows who listed their passes.
  for (const r of rows) w.record({ action: 'pass.read', resourceType: 'Pass', resourceId: r.id, subjectRef: r.subject_ref, purpose: 'listing', outcome: 'success' });
  return rows.map((r) => view(w, r));
}

/**
 * A leaked pass: revoke it (its hashes enter the published revocation list at once) and issue a
 * new one from the same result with a new certificate identifier.
 */
export async function reissuePass(w: Work, signer: DigestSigner, id: string): Promise<PassView & { hc1: string }> {
  const facts = await loadFacts(w.tx, 'pass', id, w.now);
  const target = { resourceType: 'Pass', resourceId: id, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'pass.reissue', target);
  w.access('pass.reissue', asResource('pass', id, facts), target);
  // Revoke first, in one statement that only one request can win: reissues sent together run in one
  // batched transaction, where a row lock would not keep them apart, and each would sign a new pass.
  // The same statement counts the day's reissues of the pass's source and of its patient: each one
  // adds to the public revocation list, so a loop of them cannot inflate it.
  const since = new Date(w.now.getTime() - DAY);
  const reissued = (match: string) => `(SELECT count(*) FROM pass o WHERE ${match} AND o.revoked_reason = 'reissue' AND o.revoked_at > $3)`;
  const [old] = await w.tx.query<PassRow>(
    `UPDATE pass SET revoked_at = $2, revoked_reason = 'reissue' WHERE id = $1 AND revoked_at IS NULL
       AND ${reissued('o.patient_id = pass.patient_id')} < $4
       AND ${reissued('(o.result_id = pass.result_id OR o.vaccination_id = pass.vaccination_id)')} < $5
       AND ${reissued('o.tenant_id = pass.tenant_id')} < $6
     RETURNING *`,
    [id, w.now, since, MAX_REISSUES_PER_PATIENT, MAX_REISSUES_PER_SOURCE, MAX_REISSUES_PER_TENANT]);
  if (!old) {
    const [row] = await w.tx.query<{ revoked_at: Date | null; patient_id: string; result_id: string | null; vaccination_id: string | null }>('SELECT revoked_at, patient_id, result_id, vaccination_id FROM pass WHERE id = $1', [id]);
    if (row?.revoked_at) throw new AppError('conflict', [{ path: 'pass', code: 'already-revoked' }]);
    // Over a daily limit: the next reissue is possible when the oldest counted one is a day old.
    const [oldest] = await w.tx.query<{ at: Date }>(
      `SELECT min(revoked_at) AS at FROM pass o WHERE o.revoked_reason = 'reissue' AND o.revoked_at > $1 AND (o.patient_id = $2 OR o.result_id = $3 OR o.vaccination_id = $4 OR o.tenant_id = $5)`,
      [since, row!.patient_id, row!.result_id, row!.vaccination_id, facts.tenantId]);
    const retry = oldest?.at ? Math.ceil((new Date(oldest.at).getTime() + DAY - w.now.getTime()) / 1000) : 3600;
    refuse(w, 'pass.reissue', target, 'reissue-limit', 'reissue_limit', { retryAfterSeconds: Math.max(1, retry) });
  }
  const source = old.vaccination_id ? await loadVaccinationSource(w, old.vaccination_id) : old.result_id ? await loadSource(w, old.result_id) : null;
  if (!source) throw new AppError('conflict', [{ path: 'pass', code: 'not-reissuable' }]);
  const fresh = await signAndStore(w, signer, source, view(w, old).kind, facts.subjectRef);
  await w.tx.query('UPDATE pass SET replaced_by = $2 WHERE id = $1', [id, fresh.id]);
  w.record({ action: 'pass.revoke', resourceType: 'Pass', resourceId: id, subjectRef: facts.subjectRef, purpose: 'holder-request', outcome: 'success', tenantId: facts.tenantId });
  return fresh;
}

/** The fields of a pass's DCC entry that its PDF prints, per kind (the codes are ours: see buildDcc). */
const signed = { is: z.string(), ci: z.string() };
const PRINTED_ENTRY = {
  test: z.object({ t: z.array(z.object({ ...signed, tt: z.enum([TEST_TYPE.antigen, TEST_TYPE.pcr]), tr: z.enum([TEST_RESULT.negative, TEST_RESULT.positive]), sc: z.string(), ma: z.string().optional() })).length(1) }),
  vaccination: z.object({ v: z.array(z.object({ ...signed, mp: z.string(), dn: z.number(), sd: z.number(), dt: z.string() })).length(1) }),
  recovery: z.object({ r: z.array(z.object({ ...signed, fr: z.string() })).length(1) }),
};

/** The DCC a stored pass carries, read back from its QR text (ours, decrypted from our store: no signature to check). */
function storedDcc(hc1: string): Json {
  const limits = { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems };
  return parseCwtClaims(parseCoseSign1(unwrapHc1(hc1, DEFAULT_LIMITS, nodeBackend), limits).payload, limits).dcc;
}

/**
 * A pass with what its PDF prints (same access as getPass): the holder, and what the pass says as
 * signed in its QR code (what it certifies, its certificate identifier and issuer), rather than the
 * record as it is now, which may have been corrected since; when venues accept it, by the
 * verifier's own rules applied to that certificate; the pharmacy that issued it.
 */
export async function passForPrint(w: Work, id: string): Promise<PassView & Omit<PassPdfFacts, 'lang'>> {
  const pass = await getPass(w, id);
  const who = await patientIdentity(w, pass.patientId);
  const [tenant] = await w.tx.query<{ name: string }>('SELECT t.name FROM pass x JOIN tenant t ON t.id = x.tenant_id WHERE x.id = $1', [id]);
  const dcc = storedDcc(pass.hc1);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const window = admissionWindow(pass.kind, dcc);
  let certifies: Certified;
  let entry: { is: string; ci: string };
  let accepted: Accepted = null;
  if (pass.kind === 'test') {
    const t = PRINTED_ENTRY.test.parse(dcc).t[0]!;
    entry = t;
    certifies = {
      kind: 'test', testType: t.tt === TEST_TYPE.pcr ? 'pcr' : 'antigen', result: t.tr === TEST_RESULT.negative ? 'negative' : 'positive', sampledAt: t.sc,
      device: t.ma === undefined ? null : RAT_DEVICES.get(t.ma) ?? t.ma,
    };
    if (window) accepted = { from: new Date(window.from).toISOString(), until: window.until === null ? null : new Date(window.until).toISOString() };
  } else if (pass.kind === 'vaccination') {
    const v = PRINTED_ENTRY.vaccination.parse(dcc).v[0]!;
    entry = v;
    certifies = { kind: 'vaccination', product: Object.hasOwn(VACCINES, v.mp) ? VACCINES[v.mp as keyof typeof VACCINES].name : v.mp, doseNumber: v.dn, seriesDoses: v.sd, administeredOn: v.dt };
    if (window) accepted = { from: day(window.from), until: null };
  } else {
    const r = PRINTED_ENTRY.recovery.parse(dcc).r[0]!;
    entry = r;
    certifies = { kind: 'recovery', positiveOn: r.fr };
    // The window ends at the start of the day after du: the last day printed is du itself.
    if (window) accepted = { from: day(window.from), until: window.until === null ? null : day(window.until - DAY) };
  }
  return {
    ...pass, holderName: `${who.givenName} ${who.familyName}`, birthDate: who.birthDate,
    certificateId: entry.ci, issuer: entry.is, pharmacy: tenant!.name, certifies, accepted,
  };
}
