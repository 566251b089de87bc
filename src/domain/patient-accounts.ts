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
 * The patient space a newly registered record is *offered* to, from the e-mail given at the counter.
 * A record never joins a space directly: its holder accepts it there after logging in (a one-time code
 * to that address proves the mailbox) and giving the record's birth date. So an e-mail typed wrong,
 * or someone else's typed on purpose, puts no stranger's record in anyone's space; and whoever
 * registers first with an address does not take its space (the real owner logs in with the birth date
 * of their own offered record, and declines the squatter's). A new address gets a new space, which
 * holds nothing until then. An address of a non-patient account links nothing. Runs inside the
 * registration's unit of work, after the decision point allowed the registration. Used by the API,
 * the staff form and counter self-registration alike; none of them tells the registrant whether the
 * address already had a space.
 */
export async function patientAccountFor(app: { keys: KeyRing; fields: FieldCipher }, w: Work, email: string | undefined, displayName: string): Promise<PatientLink> {
  if (!email) return { accountId: null, offeredTo: null };
  const existing = await findAccountByLogin(w.tx, app.keys, email);
  if (existing) return { accountId: null, offeredTo: existing.role === 'patient' && !existing.disabled_at ? existing.id : null };
  const id = await createAccount(w.tx, app.keys, app.fields, { role: 'patient', tenantId: null, login: email, displayName, passwordHash: null, totpSecret: null });
  w.record({ action: 'account.create', resourceType: 'Account', resourceId: id, subjectRef: null, purpose: 'patient-registration', outcome: 'success' });
  return { accountId: null, offeredTo: id };
}
