import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { CompactSign, exportJWK } from 'jose';
import type { Queryable } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import { COUNTRY, publishedDscs, trustPublisher } from './issuer-keys.ts';
import { passCtx } from './passes.ts';

/** The DGCA gateway shape, as verifiers (ours, the CLI, other countries' apps) consume it. */
export interface TrustListEntry {
  kid: string;
  country: string;
  certificateType: 'DSC';
  rawData: string;
}

export interface RevocationLists {
  UCI: string[];
  COUNTRYCODEUCI: string[];
  SIGNATURE: string[];
}

/** Trust material is valid this long after signing; verifiers refuse to pretend beyond it. */
export const BUNDLE_VALIDITY_HOURS = 72;

export async function trustList(db: Queryable, now: Date): Promise<TrustListEntry[]> {
  return (await publishedDscs(db, now)).map((r) => ({ kid: r.kid!, country: COUNTRY, certificateType: 'DSC', rawData: r.certificate_der }));
}

/**
 * Hashes of revoked passes that have not expired yet (an expired pass needs no revocation entry).
 * A pass's expiry is sealed (it would tell a recovery pass from a test pass): the candidate rows are
 * those still kept, and their expiry is read here. Reissue limits bound how many there are.
 */
export async function revocationLists(db: Queryable, fields: FieldCipher, now: Date): Promise<RevocationLists> {
  const rows = await db.query<{ id: string; expires_at_enc: string; uci_hash: string; country_uci_hash: string; signature_hash: string }>(
    'SELECT id, expires_at_enc, uci_hash, country_uci_hash, signature_hash FROM pass WHERE revoked_at IS NOT NULL AND keep_until > $1 ORDER BY revoked_at, id', [now]);
  const live = rows.filter((r) => Date.parse(fields.decrypt(passCtx.expiresAt(r.id), r.expires_at_enc)) > now.getTime());
  return { UCI: live.map((r) => r.uci_hash), COUNTRYCODEUCI: live.map((r) => r.country_uci_hash), SIGNATURE: live.map((r) => r.signature_hash) };
}

export interface TrustBundlePayload {
  iss: string;
  iat: number;
  exp: number;
  dsc: TrustListEntry[];
  revocation: RevocationLists;
}

/**
 * A bundle is signed again once it is this old even if nothing changed: verifiers then always hold
 * one with at least BUNDLE_VALIDITY_HOURS − RESIGN_AFTER_HOURS (48 h) of validity left.
 */
export const RESIGN_AFTER_HOURS = 24;

/**
 * The signed bundle the offline verifier caches: trust list and revocation list in one ES256 JWS,
 * so that neither can be swapped or replayed alone, with its own expiry. Signed once per change of
 * its content (and at least every RESIGN_AFTER_HOURS), stored, and served the same to every
 * verifier by every process: its ETag then matches, and an unchanged bundle costs a 304.
 */
export async function trustBundle(db: Queryable, fields: FieldCipher, now: Date): Promise<string> {
  const content = { dsc: await trustList(db, now), revocation: await revocationLists(db, fields, now) };
  const contentHash = createHash('sha256').update(JSON.stringify(content)).digest('base64url');
  const fresh = new Date(now.getTime() - RESIGN_AFTER_HOURS * 3_600_000);
  const [stored] = await db.query<{ jws: string }>('SELECT jws FROM trust_publication WHERE content_hash = $1 AND signed_at > $2', [contentHash, fresh]);
  if (stored) return stored.jws;
  const publisher = await trustPublisher(db, fields);
  const payload: TrustBundlePayload = { iss: 'saufconduit', iat: Math.floor(now.getTime() / 1000), exp: Math.floor(now.getTime() / 1000) + BUNDLE_VALIDITY_HOURS * 3600, ...content };
  const key = createPrivateKey({ key: Buffer.from(publisher.pkcs8), format: 'der', type: 'pkcs8' });
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', typ: 'saufconduit-trust+jws', kid: publisherKid(publisher.der) })
    .sign(key);
  // Another process may have signed the same content meanwhile: the first stored bundle wins, so
  // that every process serves the same bytes.
  const [kept] = await db.query<{ jws: string }>(
    `INSERT INTO trust_publication (content_hash, jws, signed_at) VALUES ($1, $2, $3)
     ON CONFLICT (content_hash) DO UPDATE SET jws = EXCLUDED.jws, signed_at = EXCLUDED.signed_at WHERE trust_publication.signed_at <= $4
     RETURNING jws`, [contentHash, jws, now, fresh]);
  // Bundles nobody can use any more (past their validity) are not kept.
  await db.query('DELETE FROM trust_publication WHERE signed_at < $1', [new Date(now.getTime() - BUNDLE_VALIDITY_HOURS * 3_600_000)]);
  if (kept) return kept.jws;
  return (await db.query<{ jws: string }>('SELECT jws FROM trust_publication WHERE content_hash = $1', [contentHash]))[0]!.jws;
}

const publisherKid = (der: Uint8Array) => createHash('sha256').update(der).digest('base64url').slice(0, 16);

/** The public key verifiers pin to check bundles (served at /trust/anchor.json, embedded in /verify). */
export async function trustAnchor(db: Queryable, fields: FieldCipher): Promise<{ kid: string; jwk: Record<string, unknown>; certificate: string }> {
  const publisher = await trustPublisher(db, fields);
  const pub = createPublicKey(createPrivateKey({ key: Buffer.from(publisher.pkcs8), format: 'der', type: 'pkcs8' }));
  return { kid: publisherKid(publisher.der), jwk: { ...(await exportJWK(pub)), alg: 'ES256', use: 'sig' }, certificate: Buffer.from(publisher.der).toString('base64') };
}

/** The three published trust documents. */
export type TrustDocument = 'dsc' | 'revocation' | 'bundle';

/**
 * What changes the published documents: a revocation, a certificate added or removed, and time
 * (revocation entries and certificates drop out when they expire; counted in whole minutes).
 */
async function watermark(db: Queryable, now: Date): Promise<string> {
  const [w] = await db.query<{ n: number; r: Date | null; k: number; c: Date | null }>(
    `SELECT (SELECT count(*)::int FROM pass WHERE revoked_at IS NOT NULL) AS n, (SELECT max(revoked_at) FROM pass WHERE revoked_at IS NOT NULL) AS r,
            (SELECT count(*)::int FROM signing_certificate) AS k, (SELECT max(created_at) FROM signing_certificate) AS c`);
  return `${w!.n}|${w!.r ? new Date(w!.r).getTime() : 0}|${w!.k}|${w!.c ? new Date(w!.c).getTime() : 0}|${Math.floor(now.getTime() / 60_000)}`;
}

const published = new WeakMap<object, Map<TrustDocument, { mark: string; body: Promise<string> }>>();

/**
 * A published trust document as text, built again only when what it depends on changed (see
 * watermark): every verifier polls these, so a request costs one small query, not a decryption of
 * every revoked pass, and the same bytes (the same ETag) until something changes.
 */
export async function publishedDocument(db: Queryable, fields: FieldCipher, doc: TrustDocument, now: Date): Promise<string> {
  const mark = await watermark(db, now);
  let docs = published.get(db);
  if (!docs) published.set(db, (docs = new Map()));
  const known = docs.get(doc);
  if (known && known.mark === mark) return known.body;
  const body = doc === 'dsc' ? trustList(db, now).then((l) => JSON.stringify(l))
    : doc === 'revocation' ? revocationLists(db, fields, now).then((l) => JSON.stringify(l))
    : trustBundle(db, fields, now);
  docs.set(doc, { mark, body });
  body.catch(() => docs.delete(doc));
  return body;
}
