import { randomUUID } from 'node:crypto';
import type { PatientLink } from './patient-accounts.ts';
import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown, ownTenant } from './work.ts';
import { asResource, loadFacts } from './facts.ts';
import { randomToken } from '../crypto/tokens.ts';
import { compactNir, isValidNir, maskNir } from './nir.ts';
import { EARLIEST_BIRTH_DATE } from './dates.ts';
import { familyNameLabel } from './professionals.ts';
import { findTenantPatients, indexPatient } from './patient-search.ts';

/**
 * Text printed on documents and shown to others (names, addresses): no control characters (line
 * breaks, escapes), no invisible bidirectional overrides, which can make a name read as another on
 * screen and on a pass; and, for a name, at least one letter (a name of zero-width spaces is none).
 */
const DISPLAY_UNSAFE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
export const displayText = (max: number) => z.string().trim().min(1).max(max).refine((s) => !DISPLAY_UNSAFE.test(s), 'control-character');
const PersonName = displayText(100).refine((s) => /\p{L}/u.test(s), 'no-letter');

/** What a pharmacy records to register a patient: only what the test and the report need. */
export const PatientInput = z.strictObject({
  givenName: PersonName,
  familyName: PersonName,
  // Not after today anywhere on Earth (UTC+14): a birth date in the future is a typo, not a patient.
  birthDate: z.iso.date()
    .refine((d) => d <= new Date(Date.now() + 14 * 3600_000).toISOString().slice(0, 10), 'in-future')
    .refine((d) => d >= EARLIEST_BIRTH_DATE, 'before-1900'),
  /** French social-security number (NIR), 15 digits with its key; encrypted at rest, shown masked. */
  ssn: z.string().max(30).overwrite(compactNir).refine(isValidNir, 'invalid-nir').optional(),
  phone: z.string().regex(/^\+?[0-9 .-]{6,20}$/).optional(),
  email: z.email().max(254).optional(),
  address: displayText(300).optional(),
});
export type PatientInput = z.infer<typeof PatientInput>;

export interface PatientView {
  id: string;
  tenantId: string;
  givenName: string;
  familyName: string;
  birthDate: string;
  ssnMasked: string | null;
  phone: string | null;
  email: string | null;
  address: string | null;
  createdAt: string;
}

export type PatientRow = {
  id: string; tenant_id: string; subject_ref: string; given_name_enc: string; family_name_enc: string; birth_date_enc: string;
  ssn_enc: string | null; phone_enc: string | null; email_enc: string | null; address_enc: string | null; created_at: Date;
};

const ctx = (id: string, field: string) => `patient.${field}:${id}`;

/**
 * Registers a patient record at the acting principal's tenant, attached to `link.accountId` (the
 * patient's space), or offered to `link.offeredTo` until that account's holder accepts it
 * (record-offers.ts), or neither. `link` may be a function: it runs only once the decision point
 * allowed the registration (it may create the patient's account).
 */
export async function registerPatient(w: Work, input: PatientInput, link: Partial<PatientLink> | (() => Promise<PatientLink>) = {}): Promise<PatientView> {
  const id = randomUUID();
  const subjectRef = `sub_${randomToken(12)}`;
  w.access('patient.create', ownTenant(w), { resourceType: 'Patient', resourceId: null, subjectRef });
  const tenantId = w.actor.tenantId!;
  const resolved = typeof link === 'function' ? await link() : link;
  const accountId = resolved.accountId ?? null;
  const offeredTo = accountId === null ? (resolved.offeredTo ?? null) : null;
  const enc = (field: string, v: string | undefined) => (v === undefined ? null : w.fields.encrypt(ctx(id, field), v));
  await w.tx.query(
    `INSERT INTO patient (id, tenant_id, account_id, offered_to, subject_ref, given_name_enc, family_name_enc, birth_date_enc, ssn_enc, phone_enc, email_enc, address_enc, created_at, family_name_ref)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [id, tenantId, accountId, offeredTo, subjectRef, enc('given_name', input.givenName)!, enc('family_name', input.familyName)!, enc('birth_date', input.birthDate)!,
      enc('ssn', input.ssn), enc('phone', input.phone), enc('email', input.email), enc('address', input.address), w.now,
      // Compared with professionals' (the same-surname alert rule) without reading either name.
      w.blindIndex(familyNameLabel(input.familyName))],
  );
  // Findable by staff of its pharmacy by name and birth date, without the database reading either.
  await indexPatient(w.tx, (label) => w.blindIndex(label), { id, tenantId, givenName: input.givenName, familyName: input.familyName, birthDate: input.birthDate });
  if (offeredTo) w.record({ action: 'record-offer.create', resourceType: 'Patient', resourceId: id, subjectRef, purpose: 'patient-registration', outcome: 'success', tenantId });
  return { id, tenantId, givenName: input.givenName, familyName: input.familyName, birthDate: input.birthDate, ssnMasked: input.ssn ? maskNir(input.ssn) : null,
    phone: input.phone ?? null, email: input.email ?? null, address: input.address ?? null, createdAt: w.now.toISOString() };
}

export async function getPatient(w: Work, id: string): Promise<PatientView> {
  const facts = await loadFacts(w.tx, 'patient', id, w.now);
  const target = { resourceType: 'Patient', resourceId: id, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'patient.read', target);
  w.access('patient.read', asResource('patient', id, facts), target);
  const [row] = await w.tx.query<PatientRow>('SELECT * FROM patient WHERE id = $1', [id]);
  return decryptPatient(w, row!);
}

/** Lists the patients this principal may see: a tenant's own, a professional's in care, a patient's own records. */
export async function listPatients(w: Work): Promise<PatientView[]> {
  const a = w.actor;
  // A pharmacy's newest 200 (its whole list pages through findTenantPatients).
  if (a.role === 'staff' || a.role === 'api-key') return (await findTenantPatients(w, { limit: 200 })).items;
  if (a.role === 'professional') return listPatientsInCare(w);
  w.access('patient.list', { type: 'self' }, { resourceType: 'Patient', resourceId: null, subjectRef: null });
  return shown(w, await w.tx.query<PatientRow>('SELECT * FROM patient WHERE account_id = $1 ORDER BY created_at DESC', [a.id]));
}

/** The patients currently in the acting professional's care; anyone else is refused. */
export async function listPatientsInCare(w: Work): Promise<PatientView[]> {
  w.access('patient.list-in-care', { type: 'self' }, { resourceType: 'Patient', resourceId: null, subjectRef: null });
  return shown(w, await w.tx.query<PatientRow>(
    `SELECT p.* FROM patient p JOIN care_relationship c ON c.patient_id = p.id
      WHERE c.professional_id = $1 AND c.since <= $2 AND (c.until IS NULL OR c.until > $2) ORDER BY p.created_at DESC LIMIT 200`, [w.actor.id, w.now]));
}

/** Listing shows identities: one audit event per patient shown, so each patient's history is complete. */
function shown(w: Work, rows: PatientRow[]): PatientView[] {
  for (const r of rows) w.record({ action: 'patient.read', resourceType: 'Patient', resourceId: r.id, subjectRef: r.subject_ref, purpose: 'listing', outcome: 'success' });
  return rows.map((r) => decryptPatient(w, r));
}

export function decryptPatient(w: Pick<Work, 'fields'>, r: PatientRow): PatientView {
  const dec = (field: string, v: string | null) => (v === null ? null : w.fields.decrypt(ctx(r.id, field), v));
  const ssn = dec('ssn', r.ssn_enc);
  return {
    id: r.id, tenantId: r.tenant_id, givenName: dec('given_name', r.given_name_enc)!, familyName: dec('family_name', r.family_name_enc)!,
    birthDate: dec('birth_date', r.birth_date_enc)!, ssnMasked: ssn ? maskNir(ssn) : null, phone: dec('phone', r.phone_enc),
    email: dec('email', r.email_enc), address: dec('address', r.address_enc), createdAt: new Date(r.created_at).toISOString(),
  };
}

/** The decrypted name and birth date of a patient, for documents; callers have already been authorized. */
export async function patientIdentity(w: Work, patientId: string): Promise<{ givenName: string; familyName: string; birthDate: string; address: string | null }> {
  const [row] = await w.tx.query<PatientRow>('SELECT * FROM patient WHERE id = $1', [patientId]);
  const p = decryptPatient(w, row!);
  return { givenName: p.givenName, familyName: p.familyName, birthDate: p.birthDate, address: p.address };
}

/**
 * Marks a record protected, or not (its holder, or the DPO): the public figure's case. A protected
 * record is as invisible as any other to whoever has no relationship with it, and a break-the-glass
 * opening of it raises a high alert at once (src/domain/break-glass.ts).
 */
export async function setProtected(w: Work, patientId: string, value: boolean): Promise<{ patientId: string; protected: boolean }> {
  const facts = await loadFacts(w.tx, 'patient', patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'patient.protect', target);
  w.access('patient.protect', asResource('patient', patientId, facts), target);
  await w.tx.query('UPDATE patient SET protected = $2 WHERE id = $1', [patientId, value]);
  w.record({ action: value ? 'patient.protect' : 'patient.unprotect', resourceType: 'Patient', resourceId: patientId, subjectRef: facts.subjectRef, purpose: w.actor.role === 'dpo' ? 'governance' : 'own-record', outcome: 'success', tenantId: facts.tenantId });
  return { patientId, protected: value };
}
