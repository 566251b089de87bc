import type { Mail, Mailer } from './mailer.ts';
import type { UnitOfWork } from '../domain/unit-of-work.ts';
import type { Actor } from '../domain/work.ts';

/** The scheduled job that tells patients about new results: audited as itself, never passes access(). */
export const NOTIFIER: Actor = { kind: 'system', id: 'system:notifier', role: 'system', tenantId: null };

/**
 * "A new result is available", in French then English. It carries no health data: no test type,
 * no outcome, no pharmacy name, no name of the person. Only a link to the patient space, where
 * reading the result needs a login.
 *
 * `offered`: the record was registered with the address of an existing space and is only offered to
 * it (see domain/record-offers.ts). The mail then says a record is waiting to be confirmed, not that
 * a result is in the space: it is not, until the holder accepts it with the record's birth date.
 */
export function resultAvailableMail(to: string, publicUrl: string, offered = false): Mail {
  const link = `${publicUrl.replace(/\/+$/, '')}/patient`;
  const [fr, en] = offered
    ? [
        ['Une pharmacie a enregistré un résultat à une adresse e-mail qui est celle de votre espace Saufconduit.', `Connectez-vous pour le confirmer ou le refuser : ${link}`, 'Il ne sera ajouté à votre espace que si vous le confirmez.'],
        ['A pharmacy recorded a result with the e-mail address of your Saufconduit space.', `Log in to confirm or decline it: ${link}`, 'It is added to your space only if you confirm it.'],
      ]
    : [
        ['Un nouveau résultat est disponible dans votre espace Saufconduit.', `Connectez-vous pour le consulter : ${link}`],
        ['A new result is available in your Saufconduit space.', `Log in to read it: ${link}`],
      ];
  return {
    to,
    subject: offered ? 'Résultat à confirmer / Result to confirm' : 'Nouveau résultat disponible / New result available',
    text: [
      'Bonjour,',
      '',
      ...fr,
      '',
      '—',
      '',
      'Hello,',
      '',
      ...en,
      '',
      'Ce message ne contient aucune donnée de santé. / This message contains no health data.',
    ].join('\n'),
  };
}

type Row = { delivered_at: Date | null; tenant_id: string; patient_id: string; subject_ref: string; email_enc: string | null; offered: boolean; spaceless: boolean };

/** A notification the transport did not take: the job fails and pg-boss retries it. */
export class NotificationFailed extends Error {
  readonly code = 'mail-transport';
  constructor() {
    super('notification: the mail transport refused the message');
    this.name = 'NotificationFailed';
  }
}

/**
 * Sends the notification of one outbox row, at most once per successful transaction: the row is
 * locked, the address decrypted, the mail handed to the transport, the row marked sent and the use
 * of the contact recorded in the audit trail, all in one transaction. If the process dies between
 * the hand-off and the commit, the retry sends the mail again (at-least-once: a second identical
 * e-mail is harmless; a lost one is not). A patient without an e-mail, or whose record is in no
 * patient space (an offer declined or withdrawn), is marked `no-contact` without reading anything
 * personal.
 *
 * A transport failure is not thrown inside the transaction: the failed attempt is counted on the row
 * and the transaction commits with the other notifications of its unit-of-work batch (a throw would
 * replay the whole batch and hand their mails to the transport a second time); then this throws
 * NotificationFailed, so that the job is retried.
 * @returns the receipt: 'sent', 'no-contact', or 'already' when another attempt finished first
 */
export async function sendResultNotification(deps: { uow: UnitOfWork; mailer: Mailer; publicUrl: string }, outboxId: string): Promise<'sent' | 'no-contact' | 'already'> {
  const receipt = await deps.uow.run(NOTIFIER, `outbox:${outboxId}`, async (w) => {
    const [row] = await w.tx.query<Row>(
      `SELECT o.delivered_at, o.tenant_id, p.id AS patient_id, p.subject_ref, p.email_enc, (p.account_id IS NULL AND p.offered_to IS NOT NULL) AS offered,
              (p.account_id IS NULL AND p.offered_to IS NULL) AS spaceless
         FROM outbox o JOIN patient p ON p.id = o.patient_id WHERE o.id = $1 AND o.kind = 'notification' FOR UPDATE OF o`,
      [outboxId],
    );
    if (!row || row.delivered_at) return 'already';
    // No address, or no space the mail could send its reader to: the record is in nobody's space
    // (the offer was declined or withdrawn, or the address is not a patient's), so nobody is told.
    if (row.email_enc === null || row.spaceless) {
      await w.tx.query(`UPDATE outbox SET delivered_at = $2, receipt = 'no-contact', attempts = attempts + 1, last_attempt_at = $2 WHERE id = $1`, [outboxId, w.now]);
      return 'no-contact';
    }
    const to = w.fields.decrypt(`patient.email:${row.patient_id}`, row.email_enc);
    const event = { action: 'notification.send', resourceType: 'Patient', resourceId: row.patient_id, subjectRef: row.subject_ref, purpose: 'result-notification', tenantId: row.tenant_id } as const;
    try {
      await deps.mailer.send(resultAvailableMail(to, deps.publicUrl, row.offered));
    } catch {
      await w.tx.query(`UPDATE outbox SET attempts = attempts + 1, last_attempt_at = $2, last_error = 'mail-transport' WHERE id = $1`, [outboxId, w.now]);
      // The address was read for this attempt: that use is recorded too.
      w.record({ ...event, outcome: 'failure' });
      return 'failed';
    }
    await w.tx.query(`UPDATE outbox SET delivered_at = $2, receipt = 'sent', attempts = attempts + 1, last_attempt_at = $2, last_error = NULL WHERE id = $1`, [outboxId, w.now]);
    w.record({ ...event, outcome: 'success' });
    return 'sent';
  });
  if (receipt === 'failed') throw new NotificationFailed();
  return receipt;
}
