import type { Mail, Mailer } from './mailer.ts';
import type { UnitOfWork } from '../domain/unit-of-work.ts';
import type { Actor, Work } from '../domain/work.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import { isUuid } from '../store/db.ts';

/** The scheduled job that tells patients about new results: audited as itself, never passes access(). */
export const NOTIFIER: Actor = { kind: 'system', id: 'system:notifier', role: 'system', tenantId: null };

/**
 * "A new result is available", in French then English. It carries no health data: no test type,
 * no outcome, no pharmacy name, no name of the person. Only a link to the patient space, where
 * reading the result needs a login.
 *
 * `offered`: the record is only offered to the space of this address (see domain/record-offers.ts),
 * as every record is until its holder accepts it with the record's birth date. The mail then says a
 * record is waiting to be confirmed, not that a result is in the space. `newSpace`: the space was
 * created for this record and its holder never logged in: the mail says how to start.
 */
export function resultAvailableMail(to: string, publicUrl: string, offered = false, newSpace = false): Mail {
  const link = `${publicUrl.replace(/\/+$/, '')}/patient`;
  const [fr, en] = offered && newSpace
    ? [
        ['Une pharmacie a enregistré un résultat de test pour vous, avec cette adresse e-mail.', `Connectez-vous à votre espace Saufconduit avec cette adresse pour le consulter : ${link}`, 'Vous recevrez un code par e-mail ; vous confirmerez ensuite le résultat avec la date de naissance donnée à la pharmacie.'],
        ['A pharmacy recorded a test result for you, with this e-mail address.', `Log in to your Saufconduit space with this address to read it: ${link}`, 'You will get a code by e-mail; you then confirm the result with the birth date given at the pharmacy.'],
      ]
    : offered
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

type Row = { id: string; tenant_id: string; patient_id: string; subject_ref: string; email_enc: string | null; offered: boolean; new_space: boolean; spaceless: boolean };

/** A notification the transport did not take: the job fails and pg-boss retries it. */
export class NotificationFailed extends Error {
  /** `mail-transport`: the transport refused a mail; `undecryptable`: an address could not be read; `in-progress`: another attempt holds a row. */
  constructor(readonly code: 'mail-transport' | 'undecryptable' | 'in-progress' = 'mail-transport') {
    super(`notification: ${code === 'mail-transport' ? 'the mail transport refused the message' : code === 'undecryptable' ? 'an address could not be decrypted' : 'another attempt is sending it'}`);
    this.name = 'NotificationFailed';
  }
}

/** What became of one notification: sent, nobody to tell, or already done by another attempt. */
export type NotificationReceipt = 'sent' | 'no-contact' | 'already';

/** `claimMs`: how long a row stays claimed by an attempt; the job runner passes its lease. */
type Deps = { uow: UnitOfWork; fields: FieldCipher; mailer: Mailer; publicUrl: string; claimMs?: number };
const DEFAULT_CLAIM_MS = 60_000;
type SendEvent = { action: 'notification.send'; resourceType: 'Patient'; resourceId: string; subjectRef: string; purpose: 'result-notification'; tenantId: string };

/** Sends the notification of one outbox row: `sendResultNotifications` for one row. */
export async function sendResultNotification(deps: Deps, outboxId: string): Promise<NotificationReceipt> {
  return (await sendResultNotifications(deps, [outboxId])).get(outboxId)!;
}

/**
 * Sends the notifications of a job's outbox rows in three steps, so that no mail is ever waited for
 * inside a transaction (a transaction of the unit of work also carries the HTTP requests batched with
 * it: a slow mail server would hold them all):
 *  1. one transaction claims the pending rows for `claimMs` (addresses still encrypted) and settles
 *     those nobody can be told about: a patient without an e-mail, or whose record is in no patient
 *     space (an offer declined or withdrawn), is marked `no-contact` without reading anything personal;
 *  2. outside any transaction, each address is decrypted and its mail handed to the transport;
 *  3. one transaction marks the rows sent (or counts the failed attempt), lifts the claims and records
 *     each use of a contact in the audit trail, success or failure.
 * A row claimed by another attempt still running (the queue handed the job out again after its lease
 * ran out) is left to it: this attempt throws NotificationFailed('in-progress'), and the queue's
 * retry finds the row sent, or free again. If the process dies between a hand-off and step 3, the
 * retry sends that mail again once the claim has run out (at-least-once: a second identical e-mail
 * is harmless; a lost one is not).
 *
 * Set-based: the rows are read and marked with a handful of statements whatever their number (one
 * claim, one update per outcome), not two statements a row, which cost more than the mails.
 *
 * A failed row (the transport refused it, or its address cannot be decrypted) fails alone: the other
 * rows are marked sent, so a retry does not send theirs again. Then this throws NotificationFailed,
 * so that the job is retried; the retry skips the rows delivered meanwhile.
 * @returns each row's receipt ('already' for an id that names no pending notification)
 */
export async function sendResultNotifications(deps: Deps, outboxIds: readonly string[]): Promise<Map<string, NotificationReceipt>> {
  const claimMs = deps.claimMs ?? DEFAULT_CLAIM_MS;
  const ids = [...new Set(outboxIds)].filter(isUuid);
  const receipts = new Map<string, NotificationReceipt>(outboxIds.map((id) => [id, 'already']));
  if (ids.length === 0) return receipts;
  const requestId = `outbox:${ids[0]}${ids.length > 1 ? `+${ids.length - 1}` : ''}`;
  // Only rows still pending are touched: a row another attempt delivered keeps its first receipt.
  const mark = (set: string, list: readonly string[], w: Work) =>
    list.length === 0 ? undefined : w.tx.query(`UPDATE outbox SET ${set} WHERE delivered_at IS NULL AND id = ANY(string_to_array($1, ',')::uuid[])`, [list.join(','), w.now]);

  // 1. Claim the pending rows; the ones nobody can be told about are settled here.
  const pending = await deps.uow.run(NOTIFIER, requestId, async (w) => {
    const rows = await w.tx.query<Row & { busy: boolean }>(
      `SELECT o.id, o.tenant_id, p.id AS patient_id, p.subject_ref, p.email_enc,
              (p.account_id IS NULL AND p.offered_to IS NOT NULL) AS offered,
              (p.account_id IS NULL AND EXISTS (SELECT 1 FROM account a WHERE a.id = p.offered_to AND a.confirmed_at IS NULL)) AS new_space,
              (p.account_id IS NULL AND p.offered_to IS NULL) AS spaceless,
              (o.claimed_until IS NOT NULL AND o.claimed_until > $2) AS busy
         FROM outbox o JOIN patient p ON p.id = o.patient_id
        WHERE o.id = ANY(string_to_array($1, ',')::uuid[]) AND o.kind = 'notification' AND o.delivered_at IS NULL
        ORDER BY o.id FOR UPDATE OF o`,
      [ids.join(','), w.now],
    );
    const free = rows.filter((r) => !r.busy);
    const nobody = free.filter((r) => r.email_enc === null || r.spaceless).map((r) => r.id);
    const mails = free.filter((r) => r.email_enc !== null && !r.spaceless);
    await mark(`delivered_at = $2, receipt = 'no-contact', attempts = attempts + 1, last_attempt_at = $2`, nobody, w);
    if (mails.length > 0) {
      await w.tx.query(`UPDATE outbox SET claimed_until = $2 WHERE id = ANY(string_to_array($1, ',')::uuid[])`, [mails.map((r) => r.id).join(','), new Date(w.now.getTime() + claimMs)]);
    }
    return { nobody, mails, busy: rows.length - free.length };
  });
  for (const id of pending.nobody) receipts.set(id, 'no-contact');
  if (pending.mails.length === 0) {
    if (pending.busy > 0) throw new NotificationFailed('in-progress');
    return receipts;
  }

  // 2. Outside any transaction: decrypt each address and hand its mail to the transport.
  const outcome = { sent: [] as string[], failed: [] as string[], undecryptable: [] as string[] };
  const events: (SendEvent & { outcome: 'success' | 'failure' })[] = [];
  await Promise.all(pending.mails.map(async (row) => {
    const event = { action: 'notification.send', resourceType: 'Patient', resourceId: row.patient_id, subjectRef: row.subject_ref, purpose: 'result-notification', tenantId: row.tenant_id } as const;
    let to: string;
    try {
      to = deps.fields.decrypt(`patient.email:${row.patient_id}`, row.email_enc!);
    } catch {
      outcome.undecryptable.push(row.id);
      events.push({ ...event, outcome: 'failure' });
      return;
    }
    try {
      await deps.mailer.send(resultAvailableMail(to, deps.publicUrl, row.offered, row.new_space));
    } catch {
      outcome.failed.push(row.id);
      // The address was read for this attempt: that use is recorded too.
      events.push({ ...event, outcome: 'failure' });
      return;
    }
    outcome.sent.push(row.id);
    events.push({ ...event, outcome: 'success' });
  }));

  // 3. Mark the rows and record every use of an address.
  await deps.uow.run(NOTIFIER, requestId, async (w) => {
    for (const e of events) w.record(e);
    await Promise.all([
      mark(`delivered_at = $2, receipt = 'sent', attempts = attempts + 1, last_attempt_at = $2, last_error = NULL, claimed_until = NULL`, outcome.sent, w),
      mark(`attempts = attempts + 1, last_attempt_at = $2, last_error = 'mail-transport', claimed_until = NULL`, outcome.failed, w),
      mark(`attempts = attempts + 1, last_attempt_at = $2, last_error = 'undecryptable', claimed_until = NULL`, outcome.undecryptable, w),
    ]);
  });
  for (const id of outcome.sent) receipts.set(id, 'sent');
  const failed = outcome.failed.length > 0 ? 'mail-transport' : outcome.undecryptable.length > 0 ? 'undecryptable' : pending.busy > 0 ? 'in-progress' : null;
  if (failed) throw new NotificationFailed(failed);
  return receipts;
}
