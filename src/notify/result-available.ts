import type { Mail, Mailer } from './mailer.ts';
import type { UnitOfWork } from '../domain/unit-of-work.ts';
import type { Actor } from '../domain/work.ts';
import { isUuid } from '../store/db.ts';

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

type Row = { id: string; delivered_at: Date | null; tenant_id: string; patient_id: string; subject_ref: string; email_enc: string | null; offered: boolean; spaceless: boolean };

/** A notification the transport did not take: the job fails and pg-boss retries it. */
export class NotificationFailed extends Error {
  /** `mail-transport` when the transport refused a mail, else `undecryptable` (an address could not be read). */
  constructor(readonly code: 'mail-transport' | 'undecryptable' = 'mail-transport') {
    super(`notification: ${code === 'mail-transport' ? 'the mail transport refused the message' : 'an address could not be decrypted'}`);
    this.name = 'NotificationFailed';
  }
}

/** What became of one notification: sent, nobody to tell, or already done by another attempt. */
export type NotificationReceipt = 'sent' | 'no-contact' | 'already';

type Deps = { uow: UnitOfWork; mailer: Mailer; publicUrl: string };
type SendEvent = { action: 'notification.send'; resourceType: 'Patient'; resourceId: string; subjectRef: string; purpose: 'result-notification'; tenantId: string };

/** Sends the notification of one outbox row: `sendResultNotifications` for one row. */
export async function sendResultNotification(deps: Deps, outboxId: string): Promise<NotificationReceipt> {
  return (await sendResultNotifications(deps, [outboxId])).get(outboxId)!;
}

/**
 * Sends the notifications of a job's outbox rows, at most once per successful transaction: in one
 * transaction the rows are locked, each address decrypted, each mail handed to the transport, the
 * rows marked sent and each use of a contact recorded in the audit trail. If the process dies between
 * the hand-off and the commit, the retry sends the mail again (at-least-once: a second identical
 * e-mail is harmless; a lost one is not). A patient without an e-mail, or whose record is in no
 * patient space (an offer declined or withdrawn), is marked `no-contact` without reading anything
 * personal.
 *
 * Set-based: the rows are read and marked with a handful of statements whatever their number (one
 * lock query, one update per outcome), not two statements a row, which cost more than the mails.
 *
 * A transport failure is not thrown inside the transaction: the failed attempt is counted on its row
 * and audited, and the transaction commits (a throw would roll back the rows marked sent, whose mails
 * the transport already took, and send them again); then this throws NotificationFailed, so that the
 * job is retried. The retry skips the rows delivered meanwhile.
 * @returns each row's receipt ('already' for an id that names no pending notification)
 */
export async function sendResultNotifications(deps: Deps, outboxIds: readonly string[]): Promise<Map<string, NotificationReceipt>> {
  const ids = [...new Set(outboxIds)].filter(isUuid);
  const already = () => new Map<string, NotificationReceipt>(outboxIds.map((id) => [id, 'already']));
  if (ids.length === 0) return already();
  // Receipts are built inside the transaction's callback: a replayed batch starts them afresh.
  const { failed, receipts } = await deps.uow.run(NOTIFIER, `outbox:${ids[0]}${ids.length > 1 ? `+${ids.length - 1}` : ''}`, async (w) => {
    const rows = await w.tx.query<Row>(
      `SELECT o.id, o.delivered_at, o.tenant_id, p.id AS patient_id, p.subject_ref, p.email_enc,
              (p.account_id IS NULL AND p.offered_to IS NOT NULL) AS offered,
              (p.account_id IS NULL AND p.offered_to IS NULL) AS spaceless
         FROM outbox o JOIN patient p ON p.id = o.patient_id
        WHERE o.id = ANY(string_to_array($1, ',')::uuid[]) AND o.kind = 'notification'
        ORDER BY o.id FOR UPDATE OF o`,
      [ids.join(',')],
    );
    const outcome = { sent: [] as string[], noContact: [] as string[], failed: [] as string[], undecryptable: [] as string[] };
    // Every address is decrypted before any mail leaves: an unexpected error then stops the job
    // before anything was handed to the transport.
    const mails: { row: Row; to: string; event: SendEvent }[] = [];
    for (const row of rows) {
      if (row.delivered_at) continue;
      // No address, or no space the mail could send its reader to: the record is in nobody's space
      // (the offer was declined or withdrawn, or the address is not a patient's), so nobody is told.
      if (row.email_enc === null || row.spaceless) {
        outcome.noContact.push(row.id);
        continue;
      }
      const event = { action: 'notification.send', resourceType: 'Patient', resourceId: row.patient_id, subjectRef: row.subject_ref, purpose: 'result-notification', tenantId: row.tenant_id } as const;
      try {
        mails.push({ row, to: w.fields.decrypt(`patient.email:${row.patient_id}`, row.email_enc), event });
      } catch {
        // An address that cannot be decrypted fails its row alone: the job's other mails go out and
        // are marked sent, so the retry of this one does not send theirs again.
        outcome.undecryptable.push(row.id);
        w.record({ ...event, outcome: 'failure' });
      }
    }
    await Promise.all(mails.map(async ({ row, to, event }) => {
      try {
        await deps.mailer.send(resultAvailableMail(to, deps.publicUrl, row.offered));
      } catch {
        outcome.failed.push(row.id);
        // The address was read for this attempt: that use is recorded too.
        w.record({ ...event, outcome: 'failure' });
        return;
      }
      outcome.sent.push(row.id);
      w.record({ ...event, outcome: 'success' });
    }));
    const mark = (sql: string, list: string[]) => (list.length === 0 ? undefined : w.tx.query(`${sql} WHERE id = ANY(string_to_array($1, ',')::uuid[])`, [list.join(','), w.now]));
    await Promise.all([
      mark(`UPDATE outbox SET delivered_at = $2, receipt = 'no-contact', attempts = attempts + 1, last_attempt_at = $2`, outcome.noContact),
      mark(`UPDATE outbox SET delivered_at = $2, receipt = 'sent', attempts = attempts + 1, last_attempt_at = $2, last_error = NULL`, outcome.sent),
      mark(`UPDATE outbox SET attempts = attempts + 1, last_attempt_at = $2, last_error = 'mail-transport'`, outcome.failed),
      mark(`UPDATE outbox SET attempts = attempts + 1, last_attempt_at = $2, last_error = 'undecryptable'`, outcome.undecryptable),
    ]);
    const receipts = already();
    for (const id of outcome.sent) receipts.set(id, 'sent');
    for (const id of outcome.noContact) receipts.set(id, 'no-contact');
    return { failed: outcome.failed.length > 0 ? 'mail-transport' : outcome.undecryptable.length > 0 ? 'undecryptable' : null, receipts } as const;
  });
  if (failed) throw new NotificationFailed(failed);
  return receipts;
}
