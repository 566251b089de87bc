import type { KeyRing } from '../crypto/keys.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { Work } from './work.ts';
import { createAccount, findAccountByLogin } from './accounts.ts';

/**
 * Who a newly registered record belongs to: `accountId` to attach it to, or `offeredTo`, an account
 * it is only offered to (see record-offers.ts).
 */
export interface PatientLink {
  accountId: string | null;
  offeredTo: string | null;
}

/**
 * The patient account of a newly registered record, from the e-mail given at the counter. A new
 * address gets a new account, which the record belongs to: the patient logs in (one-time code to that
 * address + birth date) and sees it. An address that already has a patient account only gets the
 * record *offered*: an e-mail typed wrong, or someone else's typed on purpose, must not put a
 * stranger's record in that person's space; its holder accepts it there, giving the record's birth
 * date. An address of a non-patient account links nothing. Runs inside the registration's unit of
 * work, before registerPatient() asks the decision point: a refused registration rolls the account
 * back with it. Used by the API, the staff form and counter self-registration alike; none of them
 * tells the registrant whether the address already had an account.
 */
export async function patientAccountFor(app: { keys: KeyRing; fields: FieldCipher }, w: Work, email: string | undefined, displayName: string): Promise<PatientLink> {
  if (!email) return { accountId: null, offeredTo: null };
  const existing = await findAccountByLogin(w.tx, app.keys, email);
  if (existing) return { accountId: null, offeredTo: existing.role === 'patient' && !existing.disabled_at ? existing.id : null };
  const id = await createAccount(w.tx, app.keys, app.fields, { role: 'patient', tenantId: null, login: email, displayName, passwordHash: null, totpSecret: null });
  w.record({ action: 'account.create', resourceType: 'Account', resourceId: id, subjectRef: null, purpose: 'patient-registration', outcome: 'success' });
  return { accountId: id, offeredTo: null };
}
