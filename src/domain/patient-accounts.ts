import type { KeyRing } from '../crypto/keys.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { Work } from './work.ts';
import { createAccount, findAccountByLogin } from './accounts.ts';

/**
 * The patient account a newly registered record belongs to, found or created from the e-mail the
 * patient gave at the counter, so the patient can log in (one-time code + birth date) and see it.
 * An address that belongs to a non-patient account links nothing. Runs inside the registration's
 * unit of work, before registerPatient() asks the decision point: a refused registration rolls the
 * account back with it. Used by the API and the web form alike.
 */
export async function patientAccountFor(app: { keys: KeyRing; fields: FieldCipher }, w: Work, email: string | undefined, displayName: string): Promise<string | null> {
  if (!email) return null;
  const existing = await findAccountByLogin(w.tx, app.keys, email);
  if (existing) return existing.role === 'patient' && !existing.disabled_at ? existing.id : null;
  const id = await createAccount(w.tx, app.keys, app.fields, { role: 'patient', tenantId: null, login: email, displayName, passwordHash: null, totpSecret: null });
  w.record({ action: 'account.create', resourceType: 'Account', resourceId: id, subjectRef: null, purpose: 'patient-registration', outcome: 'success' });
  return id;
}
