import { randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CODE_ALPHABET, CODE_LENGTH, codeLabel, normalizeCode } from './registration-code.ts';
import type { Tx } from '../store/db.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { Principal } from '../policy/principal.ts';
import type { Work } from './work.ts';
import { denyUnknown, ownTenant } from './work.ts';
import { getPatient, PatientInput, registerPatient, type PatientView } from './patients.ts';
import { patientAccountFor } from './patient-accounts.ts';
import { keyedHash, randomToken } from '../crypto/tokens.ts';
import { AppError } from '../errors/catalogue.ts';

/**
 * Counter self-registration. Staff show a link (as a QR code) that is short-lived, single-use and
 * bound to their pharmacy and counter; the patient fills the form on their own phone, so nobody
 * at the counter types their social-security number, and gets a registration code that staff scan
 * or type to find the record and test. The link is the registrant's only credential: it lets its
 * holder create exactly one patient at that pharmacy (see `patient.create` in the policy).
 */

/** Long enough to walk to a chair and fill the form; short enough that a photographed QR is useless later. */
export const LINK_TTL_MS = 15 * 60_000;
/** The code must survive the wait for the swab and the result, not more. */
export const CODE_TTL_MS = 24 * 3_600_000;

export const LinkInput = z.strictObject({ counter: z.string().trim().min(1).max(40).regex(/^[\p{L}\p{N} ._#-]+$/u) });
export type LinkInput = z.infer<typeof LinkInput>;

/** What the patient gives: what the test and the national report need, and an e-mail to reach their space. */
export const SelfRegistrationInput = PatientInput.extend({ email: z.email().max(254) });
export type SelfRegistrationInput = z.infer<typeof SelfRegistrationInput>;

/** How the code is shown and printed in the QR: two groups of four. */
export const displayCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`;

export { normalizeCode };

export const LookupInput = z.strictObject({ code: z.string().max(20).refine((c) => normalizeCode(c) !== null, 'invalid-code') });
export type LookupInput = z.infer<typeof LookupInput>;

const linkHash = (keys: KeyRing, token: string) => keyedHash(keys.lookup, `registration-link:${token}`);
const codeHash = (keys: KeyRing, code: string) => keyedHash(keys.lookup, codeLabel(code));

export interface NewLink { id: string; token: string; counter: string; expiresAt: string }

/** Opening the counter page: whoever may show registration links there (the page itself shows no personal data). */
export async function openCounter(w: Work): Promise<void> {
  w.access('registration-link.create', ownTenant(w), { resourceType: 'RegistrationLink', resourceId: null, subjectRef: null });
}

/** A counter link of the acting principal's own pharmacy (staff, API keys with patients:write). */
export async function createRegistrationLink(w: Work, keys: KeyRing, input: LinkInput): Promise<NewLink> {
  const id = randomUUID();
  // No resource id: a refusal is a 403 about the action, not a 404 about a link that does not exist yet.
  w.access('registration-link.create', ownTenant(w), { resourceType: 'RegistrationLink', resourceId: null, subjectRef: null });
  const tenantId = w.actor.tenantId!;
  const token = randomToken(24);
  const expiresAt = new Date(w.now.getTime() + LINK_TTL_MS);
  await w.tx.query(
    'INSERT INTO registration_link (id, tenant_id, counter, token_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, tenantId, input.counter, linkHash(keys, token), w.actor.id, w.now, expiresAt],
  );
  return { id, token, counter: input.counter, expiresAt: expiresAt.toISOString() };
}

export type LinkState =
  | { status: 'open'; id: string; tenantId: string; pharmacy: string; counter: string; expiresAt: string }
  | { status: 'expired' | 'used' | 'unknown' };

type LinkRow = { id: string; tenant_id: string; counter: string; expires_at: Date; used_at: Date | null; pharmacy: string };

/** What a link is worth now. Reads no personal data: the pharmacy's name and the counter only. */
export async function inspectLink(db: Pick<Tx, 'query'>, keys: KeyRing, token: string, now: Date): Promise<LinkState> {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return { status: 'unknown' };
  const [row] = await db.query<LinkRow>(
    `SELECT l.id, l.tenant_id, l.counter, l.expires_at, l.used_at, t.name AS pharmacy FROM registration_link l JOIN tenant t ON t.id = l.tenant_id WHERE l.token_hash = $1`,
    [linkHash(keys, token)],
  );
  if (!row) return { status: 'unknown' };
  if (row.used_at) return { status: 'used' };
  if (new Date(row.expires_at).getTime() <= now.getTime()) return { status: 'expired' };
  return { status: 'open', id: row.id, tenantId: row.tenant_id, pharmacy: row.pharmacy, counter: row.counter, expiresAt: new Date(row.expires_at).toISOString() };
}

/** The principal an open link stands for. */
export const registrantFor = (link: { id: string; tenantId: string }): Principal => ({ kind: 'registration-link', id: link.id, role: 'registrant', tenantId: link.tenantId });

/** The error a closed link answers with: a clear "ask for a new one", never a generic failure. */
export function closedLinkError(status: 'expired' | 'used' | 'unknown'): AppError {
  return new AppError(status === 'used' ? 'link_used' : status === 'expired' ? 'link_expired' : 'unauthenticated');
}

export interface Registered { registrationId: string; patientId: string; code: string; expiresAt: string }

/**
 * Uses the link (exactly once, even under concurrent submissions), registers the patient at the
 * link's pharmacy, and issues the registration code, all in the caller's transaction.
 */
export async function selfRegister(w: Work, app: { keys: KeyRing; fields: FieldCipher }, linkId: string, input: SelfRegistrationInput): Promise<Registered> {
  // The registrant principal is built from this very link by the route (auth mode `link`); what it may
  // do is the decision point's call, in registerPatient below.
  if (w.actor.id !== linkId) throw new Error('selfRegister must run as the registrant of its own link');
  const tenantId = w.actor.tenantId;
  const used = await w.tx.query<{ id: string }>(
    'UPDATE registration_link SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id', [linkId, w.now]);
  if (used.length === 0) {
    const [row] = await w.tx.query<{ used_at: Date | null }>('SELECT used_at FROM registration_link WHERE id = $1', [linkId]);
    throw closedLinkError(row?.used_at ? 'used' : 'expired');
  }
  const patient = await registerPatient(w, input, () => patientAccountFor(app, w, input.email, `${input.givenName} ${input.familyName}`));
  const id = randomUUID();
  const expiresAt = new Date(w.now.getTime() + CODE_TTL_MS);
  // 32^8 ≈ 10^12 codes against a few live ones per pharmacy; a collision only costs a retry.
  for (let attempt = 0; ; attempt++) {
    const code = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    const inserted = await w.tx.query<{ id: string }>(
      `INSERT INTO registration (id, tenant_id, link_id, patient_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (code_hash) DO NOTHING RETURNING id`,
      [id, tenantId, linkId, patient.id, codeHash(app.keys, code), w.now, expiresAt],
    );
    if (inserted.length === 1) return { registrationId: id, patientId: patient.id, code, expiresAt: expiresAt.toISOString() };
    if (attempt >= 4) throw new Error('registration code space exhausted');
  }
}

export interface RegistrationView { registrationId: string; counter: string; registeredAt: string; patient: PatientView }

/**
 * Finds the patient behind a registration code, for staff of the pharmacy the patient registered
 * at. Any other pharmacy, an expired or an unknown code: the same audited 404.
 */
export async function lookupRegistration(w: Work, keys: KeyRing, input: LookupInput): Promise<RegistrationView> {
  const code = normalizeCode(input.code)!;
  const [row] = await w.tx.query<{ id: string; patient_id: string; created_at: Date; expires_at: Date; counter: string }>(
    `SELECT r.id, r.patient_id, r.created_at, r.expires_at, l.counter FROM registration r JOIN registration_link l ON l.id = r.link_id WHERE r.code_hash = $1`,
    [codeHash(keys, code)],
  );
  const target = { resourceType: 'Patient', resourceId: row?.patient_id ?? null, subjectRef: null };
  if (!row || new Date(row.expires_at).getTime() <= w.now.getTime()) denyUnknown(w, 'patient.read', target);
  // The code opens nothing by itself: getPatient asks the decision point whether this is the caller's pharmacy.
  const patient = await getPatient(w, row.patient_id);
  return { registrationId: row.id, counter: row.counter, registeredAt: new Date(row.created_at).toISOString(), patient };
}
