import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../store/db.ts';
import type { Work } from '../domain/work.ts';
import { denyUnknown } from '../domain/work.ts';
import { auditRowsBySeq, type AuditRow } from '../domain/access-log.ts';
import { AppError } from '../errors/catalogue.ts';

/** The rules (src/alerts/rules.ts), each with its stable name (what `GET /api/alerts` answers in `rule`). */
export const ALERT_RULES = ['break-glass-protected', 'break-glass-volume', 'enumeration', 'bulk-read', 'out-of-hours', 'same-surname', 'protected-care-read'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];
export type Severity = 'low' | 'medium' | 'high';
const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3 };

export interface NewAlert {
  rule: AlertRule;
  severity: Severity;
  actorId: string;
  subjectRefs: readonly string[];
  eventSeqs: readonly number[];
  /** A short, non-personal explanation (counts, a reason code). */
  summary: string;
}

/** How many subjects and events an alert keeps as its explanation (the trail has the rest). */
const KEEP = 200;
const merge = (a: string, b: readonly (string | number)[]) => [...new Set([...(a ? a.split(',') : []), ...b.map(String)])].slice(-KEEP).join(',');

/**
 * Raises an alert, or adds to the one of the same rule and actor still open or acknowledged (a burst
 * is one alert, explained by all its events; once the DPO dismissed or confirmed it, a new one opens).
 * `sameSince`: also add to one decided since then (the break-the-glass opening of a protected record
 * raises its alert at once; the rules attach the opening's event to it). In the caller's transaction.
 * @returns the alert's id and whether it is new
 */
export async function raiseAlert(w: { tx: Queryable; now: Date }, a: NewAlert, sameSince?: Date): Promise<{ id: string; created: boolean }> {
  const [open] = await w.tx.query<{ id: string; severity: Severity; subject_refs: string; event_seqs: string }>(
    `SELECT id, severity, subject_refs, event_seqs FROM alert WHERE rule = $1 AND actor_id = $2 AND (status IN ('open', 'acknowledged') OR opened_at >= $3)
      ORDER BY opened_at DESC LIMIT 1`, [a.rule, a.actorId, sameSince ?? w.now]);
  if (open) {
    const severity = RANK[a.severity] > RANK[open.severity] ? a.severity : open.severity;
    await w.tx.query('UPDATE alert SET severity = $2, subject_refs = $3, event_seqs = $4, summary = $5, updated_at = $6 WHERE id = $1',
      [open.id, severity, merge(open.subject_refs, a.subjectRefs), merge(open.event_seqs, a.eventSeqs), a.summary, w.now]);
    return { id: open.id, created: false };
  }
  const id = randomUUID();
  await w.tx.query(
    'INSERT INTO alert (id, rule, severity, actor_id, opened_at, updated_at, subject_refs, event_seqs, summary) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)',
    [id, a.rule, a.severity, a.actorId, w.now, merge('', a.subjectRefs), merge('', a.eventSeqs), a.summary],
  );
  return { id, created: true };
}

export type AlertStatus = 'open' | 'acknowledged' | 'dismissed' | 'confirmed';

export interface AlertView {
  id: string;
  rule: AlertRule;
  severity: Severity;
  /** The account or API key whose accesses fired it (the `actorId` of the audit events). */
  actorId: string;
  status: AlertStatus;
  openedAt: string;
  updatedAt: string;
  /** Pseudonymous subjects concerned (the audit explorer's `subjectRef`). */
  subjectRefs: string[];
  /** The audit events that fired it (their `seq`), newest last. */
  eventSeqs: number[];
  /** A short explanation: counts and thresholds, never personal data. */
  summary: string;
  decidedBy: string | null;
  decidedAt: string | null;
  note: string | null;
}

type AlertRow = {
  id: string; rule: AlertRule; severity: Severity; actor_id: string; status: AlertStatus; opened_at: Date; updated_at: Date; subject_refs: string; event_seqs: string;
  summary: string; decided_by: string | null; decided_at: Date | null; note_enc: string | null;
};
const noteCtx = (id: string) => `alert.note:${id}`;
const list = (s: string) => (s ? s.split(',') : []);

function toView(w: Work, r: AlertRow): AlertView {
  return {
    id: r.id, rule: r.rule, severity: r.severity, actorId: r.actor_id, status: r.status, openedAt: new Date(r.opened_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString(),
    subjectRefs: list(r.subject_refs), eventSeqs: list(r.event_seqs).map(Number), summary: r.summary,
    decidedBy: r.decided_by, decidedAt: r.decided_at ? new Date(r.decided_at).toISOString() : null, note: r.note_enc ? w.fields.decrypt(noteCtx(r.id), r.note_enc) : null,
  };
}

const GOVERNANCE = { type: 'governance' } as const;

/**
 * The DPO's alerts of one status (open by default), newest first, a page at a time: `cursor` is the
 * last alert of the previous page (keyset on opened_at, id).
 */
export async function listAlerts(w: Work, q: { status: AlertStatus; limit: number; cursor: { openedAt: Date; id: string } | null }): Promise<AlertView[]> {
  w.access('alert.read', GOVERNANCE, { resourceType: 'Alert', resourceId: null, subjectRef: null });
  const rows = q.cursor
    ? await w.tx.query<AlertRow>('SELECT * FROM alert WHERE status = $1 AND (opened_at, id) < ($2, $3) ORDER BY opened_at DESC, id DESC LIMIT $4', [q.status, q.cursor.openedAt, q.cursor.id, q.limit])
    : await w.tx.query<AlertRow>('SELECT * FROM alert WHERE status = $1 ORDER BY opened_at DESC, id DESC LIMIT $2', [q.status, q.limit]);
  return rows.map((r) => toView(w, r));
}

/** One alert with the audit events that explain it. */
export async function getAlert(w: Work, id: string): Promise<AlertView & { events: AuditRow[] }> {
  const [row] = await w.tx.query<AlertRow>('SELECT * FROM alert WHERE id = $1', [id]);
  const target = { resourceType: 'Alert', resourceId: id, subjectRef: null };
  if (!row) denyUnknown(w, 'alert.read', target);
  w.access('alert.read', GOVERNANCE, target);
  const seqs = list(row.event_seqs).map(Number);
  const events = seqs.length > 0 ? await auditRowsBySeq(w.tx, seqs) : [];
  return { ...toView(w, row), events };
}

export const AlertDecision = z.strictObject({
  /** What the DPO found: a word or a sentence, kept sealed with the alert. */
  note: z.string().trim().min(1).max(2000),
});
export type AlertDecision = z.infer<typeof AlertDecision>;
const STATUS_OF = { acknowledge: 'acknowledged', dismiss: 'dismissed', confirm: 'confirmed' } as const;

/**
 * The DPO's decision on an alert, with a note (audited): acknowledged (being looked at), dismissed
 * (explained, no misuse) or confirmed (misuse: a breach record may follow). A decided alert
 * (dismissed or confirmed) is final: deciding it again is a conflict.
 */
export async function decideAlert(w: Work, id: string, decision: keyof typeof STATUS_OF, input: AlertDecision): Promise<AlertView> {
  const [row] = await w.tx.query<AlertRow>('SELECT * FROM alert WHERE id = $1 FOR UPDATE', [id]);
  const target = { resourceType: 'Alert', resourceId: id, subjectRef: null };
  if (!row) denyUnknown(w, 'alert.decide', target);
  w.access('alert.decide', GOVERNANCE, target);
  if (row.status === 'dismissed' || row.status === 'confirmed') throw new AppError('conflict');
  const [done] = await w.tx.query<AlertRow>('UPDATE alert SET status = $2, decided_by = $3, decided_at = $4, updated_at = $4, note_enc = $5 WHERE id = $1 RETURNING *',
    [id, STATUS_OF[decision], w.actor.id, w.now, w.fields.encrypt(noteCtx(id), input.note)]);
  w.record({ action: `alert.${decision}`, resourceType: 'Alert', resourceId: id, subjectRef: null, purpose: 'governance', outcome: 'success' });
  return toView(w, done!);
}
