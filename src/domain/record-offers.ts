import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown } from './work.ts';
import { asResource, loadFacts } from './facts.ts';
import { AppError } from '../errors/catalogue.ts';

/**
 * Records offered to a patient account (see patient-accounts.ts): registered somewhere with the
 * e-mail of that account, attached to it only when its holder accepts. Until then the offer shows
 * the holder which pharmacy registered it, when, and the first letter of the given name (so a
 * parent knows which child it is), and nothing else: if it is a stranger's record (a mistyped
 * address), its holder learns no name, birth date or result. Not the age: it would narrow the
 * birth date that proves the record is theirs to a year. Showing the initial is audited.
 */
export interface RecordOffer {
  /** The offered patient record. */
  patientId: string;
  pharmacy: string;
  offeredAt: string;
  /** The first letter of the given name, upper case. */
  initial: string;
}

export const AcceptOfferInput = z.strictObject({
  /** The record's birth date: the holder shows that the record is theirs (or a child's they look after). */
  birthDate: z.iso.date(),
});
export type AcceptOfferInput = z.infer<typeof AcceptOfferInput>;

export async function listMyOffers(w: Work): Promise<RecordOffer[]> {
  w.access('record-offer.list', { type: 'self' }, { resourceType: 'Patient', resourceId: null, subjectRef: null });
  const rows = await w.tx.query<{ id: string; name: string; created_at: Date; given_name_enc: string; subject_ref: string }>(
    'SELECT p.id, t.name, p.created_at, p.given_name_enc, p.subject_ref FROM patient p JOIN tenant t ON t.id = p.tenant_id WHERE p.offered_to = $1 ORDER BY p.created_at DESC',
    [w.actor.id],
  );
  return rows.map((r) => {
    // One letter of the record's name is still the record's: the person it is about sees this read.
    w.record({ action: 'record-offer.read', resourceType: 'Patient', resourceId: r.id, subjectRef: r.subject_ref, purpose: 'record-offer', outcome: 'success' });
    const initial = ([...w.fields.decrypt(`patient.given_name:${r.id}`, r.given_name_enc).normalize('NFC')][0] ?? '?').toLocaleUpperCase('fr');
    return { patientId: r.id, pharmacy: r.name, offeredAt: new Date(r.created_at).toISOString(), initial };
  });
}

/** Wrong birth dates an account may give for one offered record before the offer is withdrawn. */
export const MAX_ACCEPT_FAILURES = 5;

/**
 * Accepts an offered record (it joins the holder's records) or declines it (the offer is withdrawn;
 * the record stays at its pharmacy, attached to nobody). Anyone else's id, or a record not offered
 * to this account, answers 404. Accepting needs the record's birth date: a wrong one changes nothing,
 * is audited as a failure and answers `mismatch`; after MAX_ACCEPT_FAILURES of them the offer is
 * withdrawn, so the birth date cannot be guessed through this door.
 */
export async function answerOffer(w: Work, patientId: string, answer: { accept: true; birthDate: string } | { accept: false }): Promise<{ patientId: string; status: 'accepted' | 'declined' | 'mismatch' }> {
  const facts = await loadFacts(w.tx, 'patient', patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'record-offer.answer', target);
  w.access('record-offer.answer', asResource('patient', patientId, facts), target);
  const event = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts.subjectRef, purpose: 'own-record', tenantId: facts.tenantId } as const;
  if (answer.accept) {
    const [row] = await w.tx.query<{ birth_date_enc: string }>('SELECT birth_date_enc FROM patient WHERE id = $1', [patientId]);
    if (w.fields.decrypt(`patient.birth_date:${patientId}`, row!.birth_date_enc) !== answer.birthDate) {
      // One atomic statement counts the guess and withdraws the offer at the limit: the guesses of
      // one batch run in one transaction, so only the row itself can count them one after the other.
      const [counted] = await w.tx.query<{ withdrawn: boolean }>(
        `UPDATE patient SET offer_failures = offer_failures + 1,
           offered_to = CASE WHEN offer_failures + 1 >= $3 THEN NULL ELSE offered_to END
         WHERE id = $1 AND offered_to = $2 RETURNING offered_to IS NULL AS withdrawn`,
        [patientId, w.actor.id, MAX_ACCEPT_FAILURES],
      );
      // Withdrawn by the guesses that ran just before this one: nothing is offered any more.
      if (!counted) throw new AppError('conflict');
      w.record({ ...event, action: 'record-offer.accept', outcome: 'failure' });
      if (counted.withdrawn) w.record({ ...event, action: 'record-offer.withdraw', outcome: 'success' });
      return { patientId, status: 'mismatch' };
    }
  }
  const changed = await w.tx.query(
    answer.accept
      ? 'UPDATE patient SET account_id = $2, offered_to = NULL WHERE id = $1 AND offered_to = $2 RETURNING id'
      : 'UPDATE patient SET offered_to = NULL WHERE id = $1 AND offered_to = $2 RETURNING id',
    [patientId, w.actor.id],
  );
  if (changed.length === 0) throw new AppError('conflict');
  w.record({ ...event, action: answer.accept ? 'record-offer.accept' : 'record-offer.decline', outcome: 'success' });
  return { patientId, status: answer.accept ? 'accepted' : 'declined' };
}
