import { randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown, refuse } from './work.ts';
import { asResource, loadFacts } from './facts.ts';
import { findProfessionalByRpps, isValidRpps, professionalsById, type ProfessionalView } from './professionals.ts';
import { AppError } from '../errors/catalogue.ts';
import type { Config } from '../config/config.ts';

/**
 * Care relationships: what lets a professional read a patient's record. Each has a start, an end
 * (a default and a maximum, configuration), a creator, an origin and a purpose. Two ways in:
 * - the patient creates it from their space, choosing the professional by their RPPS number;
 * - at the point of care, the patient's space shows a short-lived, single-use code that the
 *   professional enters.
 * The patient sees every relationship and ends any of them at once: the professional's next request
 * answers 404. A professional ends their own. The pharmacy that tests a patient needs none: its own
 * records are its service (tenant-service).
 */
export const carePolicyFrom = (c: Pick<Config, 'careDefaultDays' | 'careMaxDays' | 'consentCodeMinutes'>): CarePolicy => ({ defaultDays: c.careDefaultDays, maxDays: c.careMaxDays, codeMinutes: c.consentCodeMinutes });

export interface CarePolicy {
  defaultDays: number;
  maxDays: number;
  codeMinutes: number;
}

export interface RelationshipView {
  id: string;
  patientId: string;
  professional: ProfessionalView;
  origin: 'patient' | 'consent-code' | 'seed';
  purpose: string;
  since: string;
  until: string;
  active: boolean;
  endedBy: string | null;
}

export const NewRelationship = z.strictObject({
  /** The record (of the patient's space) the professional may read. */
  patientId: z.uuid(),
  /** The professional chosen, by their public RPPS number. */
  rpps: z.string().refine(isValidRpps, 'invalid-rpps'),
  days: z.int().min(1).max(3650).optional(),
  purpose: z.string().trim().min(1).max(100).optional(),
});
export type NewRelationship = z.infer<typeof NewRelationship>;

export const NewConsentCode = z.strictObject({
  patientId: z.uuid(),
  days: z.int().min(1).max(3650).optional(),
  purpose: z.string().trim().min(1).max(100).optional(),
});
export type NewConsentCode = z.infer<typeof NewConsentCode>;

// Crockford base32 without I, L, O, U: read aloud or typed from a screen without mistakes.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A consent code as shown (`ABCD-EFGH`) and in canonical form for its hash. */
export const normaliseConsentCode = (input: string): string | null => {
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return s.length === 8 && [...s].every((c) => ALPHABET.includes(c)) ? s : null;
};
const codeRef = (w: Work, code: string) => w.blindIndex(`consent-code:${code}`);

type Row = { id: string; patient_id: string; professional_id: string; origin: RelationshipView['origin']; purpose: string; since: Date; until: Date; ended_by: string | null };

async function views(w: Work, rows: Row[]): Promise<RelationshipView[]> {
  const pros = await professionalsById(w.tx, [...new Set(rows.map((r) => r.professional_id))]);
  return rows.map((r) => ({
    id: r.id, patientId: r.patient_id, professional: pros.get(r.professional_id) ?? { id: r.professional_id, name: '', profession: 'physician', organisation: null },
    origin: r.origin, purpose: r.purpose, since: new Date(r.since).toISOString(), until: new Date(r.until).toISOString(),
    active: new Date(r.since) <= w.now && new Date(r.until) > w.now, endedBy: r.ended_by,
  }));
}

const until = (w: Work, policy: CarePolicy, days: number | undefined) => new Date(w.now.getTime() + Math.min(days ?? policy.defaultDays, policy.maxDays) * 86_400_000);

/** The patient puts one of their records in a professional's care (chosen by RPPS number). */
export async function createRelationship(w: Work, policy: CarePolicy, input: NewRelationship): Promise<RelationshipView> {
  const facts = await loadFacts(w.tx, 'patient', input.patientId, w.now);
  // The record named in the body is the target: someone else's answers 404 like an unknown one.
  const target = { resourceType: 'Patient', resourceId: input.patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'care.create', target);
  w.access('care.create', asResource('patient', input.patientId, facts), target);
  const professional = await findProfessionalByRpps(w.tx, input.rpps);
  if (!professional) throw new AppError('invalid_request', [{ path: 'body.rpps', code: 'unknown-professional' }]);
  return insert(w, policy, { patientId: input.patientId, subjectRef: facts.subjectRef, professionalId: professional.id, origin: 'patient', purpose: input.purpose ?? 'care', days: input.days });
}

async function insert(w: Work, policy: CarePolicy, r: { patientId: string; subjectRef: string; professionalId: string; origin: Row['origin']; purpose: string; days: number | undefined }): Promise<RelationshipView> {
  const id = randomUUID();
  const end = until(w, policy, r.days);
  // One running relationship per professional and record: a new one replaces the running one's end.
  await w.tx.query(`UPDATE care_relationship SET until = $3, ended_by = $4 WHERE patient_id = $1 AND professional_id = $2 AND until > $3`, [r.patientId, r.professionalId, w.now, `replaced:${id}`]);
  await w.tx.query('INSERT INTO care_relationship (id, professional_id, patient_id, since, until, origin, purpose, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [id, r.professionalId, r.patientId, w.now, end, r.origin, r.purpose, w.actor.id]);
  w.record({ action: 'care.create', resourceType: 'CareTeam', resourceId: id, subjectRef: r.subjectRef, purpose: r.origin, outcome: 'success' });
  const [row] = await w.tx.query<Row>('SELECT * FROM care_relationship WHERE id = $1', [id]);
  return (await views(w, [row!]))[0]!;
}

/** A code the patient shows at the point of care: single use, for `codeMinutes`. */
export async function createConsentCode(w: Work, policy: CarePolicy, input: NewConsentCode): Promise<{ code: string; expiresAt: string }> {
  const facts = await loadFacts(w.tx, 'patient', input.patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: input.patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'consent-code.create', target);
  w.access('consent-code.create', asResource('patient', input.patientId, facts), target);
  const code = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const expiresAt = new Date(w.now.getTime() + policy.codeMinutes * 60_000);
  await w.tx.query('INSERT INTO consent_code (id, patient_id, code_hash, purpose, days, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [randomUUID(), input.patientId, codeRef(w, code), input.purpose ?? 'care', Math.min(input.days ?? policy.defaultDays, policy.maxDays), w.actor.id, w.now, expiresAt]);
  w.record({ action: 'consent-code.create', resourceType: 'Consent', resourceId: null, subjectRef: facts.subjectRef, purpose: 'own-record', outcome: 'success' });
  return { code: `${code.slice(0, 4)}-${code.slice(4)}`, expiresAt: expiresAt.toISOString() };
}

/**
 * The professional enters the code the patient showed: the relationship starts. A wrong, used or
 * expired code answers 404 (it names nothing), and is audited as a refusal: guessing codes is an
 * enumeration, which the alert rules watch.
 */
export async function acceptConsentCode(w: Work, policy: CarePolicy, input: string): Promise<RelationshipView> {
  w.access('care.accept-code', { type: 'self' }, { resourceType: 'Consent', resourceId: null, subjectRef: null });
  const code = normaliseConsentCode(input);
  const [row] = code ? await w.tx.query<{ id: string; patient_id: string; purpose: string; days: number; subject_ref: string }>(
    `UPDATE consent_code c SET used_at = $2 FROM patient p WHERE c.code_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2 AND p.id = c.patient_id
     RETURNING c.id, c.patient_id, c.purpose, c.days, p.subject_ref`, [codeRef(w, code), w.now]) : [];
  if (!row) refuse(w, 'care.accept-code', { resourceType: 'Consent', resourceId: null, subjectRef: null }, 'unknown-code', 'not_found');
  return insert(w, policy, { patientId: row.patient_id, subjectRef: row.subject_ref, professionalId: w.actor.id, origin: 'consent-code', purpose: row.purpose, days: Number(row.days) });
}

/** The relationships of the patient's records (patient), or of the professional's patients (professional). */
export async function listRelationships(w: Work): Promise<RelationshipView[]> {
  w.access('care.list', { type: 'self' }, { resourceType: 'CareTeam', resourceId: null, subjectRef: null });
  const rows = w.actor.role === 'patient'
    ? await w.tx.query<Row>('SELECT c.* FROM care_relationship c JOIN patient p ON p.id = c.patient_id WHERE p.account_id = $1 ORDER BY c.since DESC LIMIT 500', [w.actor.id])
    : await w.tx.query<Row>('SELECT * FROM care_relationship WHERE professional_id = $1 AND until > $2 ORDER BY since DESC LIMIT 500', [w.actor.id, w.now]);
  return views(w, rows);
}

/** Ends a relationship at once (its patient, or its professional): the next read answers 404. */
export async function endRelationship(w: Work, id: string): Promise<RelationshipView> {
  const [row] = await w.tx.query<Row & { subject_ref: string }>('SELECT c.*, p.subject_ref FROM care_relationship c JOIN patient p ON p.id = c.patient_id WHERE c.id = $1', [id]);
  const target = { resourceType: 'CareTeam', resourceId: id, subjectRef: row?.subject_ref ?? null };
  if (!row) denyUnknown(w, 'care.end', target);
  w.access('care.end', { type: 'relationship', patientId: row.patient_id, professionalId: row.professional_id }, target);
  // The access event above (action care.end, by whom, on which relationship) is the record of it.
  const [ended] = await w.tx.query<Row>('UPDATE care_relationship SET until = $2, ended_by = $3 WHERE id = $1 AND until > $2 RETURNING *', [id, w.now, w.actor.id]);
  return (await views(w, [ended ?? row]))[0]!;
}
