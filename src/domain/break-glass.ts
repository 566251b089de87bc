import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown, refuse } from './work.ts';
import { asResource, loadFacts } from './facts.ts';
import { professionalsById, type ProfessionalView } from './professionals.ts';
import { raiseAlert } from '../alerts/store.ts';
import { PAD } from '../crypto/fields.ts';
import { AppError } from '../errors/catalogue.ts';
import type { Queryable } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { Config } from '../config/config.ts';
import { accountLogin } from './accounts.ts';

/**
 * Break-the-glass: a professional without a care relationship opens one patient's record in an
 * emergency. It needs a coded reason, a written justification and a second factor proved in the last
 * minutes (the decision point's `break-glass.open`); it lasts a short time and ends by itself; the
 * patient is told at once (mail and history), the DPO gets it to review, and on a protected record
 * it raises a high alert at once. A professional with too many openings awaiting review is refused
 * until the DPO has reviewed them. It is the one sanctioned access across principals.
 */
export const BREAK_GLASS_REASONS = ['emergency-care', 'patient-unable-to-consent', 'covering-colleague', 'other'] as const;
export type BreakGlassReason = (typeof BREAK_GLASS_REASONS)[number];

export const BreakGlassInput = z.strictObject({
  reason: z.enum(BREAK_GLASS_REASONS),
  /** Why, in the professional's words: at least a sentence. Sealed at rest (it may describe the person's state). */
  justification: z.string().trim().min(20, 'too-short').max(2000),
});
export type BreakGlassInput = z.infer<typeof BreakGlassInput>;

/**
 * Where a record's holder is told about an emergency opening: the holder of the space it belongs to,
 * else the address the pharmacy recorded; null when there is nobody to tell by mail (the history
 * shows it anyway).
 */
export async function noticeAddress(db: Queryable, fields: FieldCipher, patientId: string): Promise<string | null> {
  const [row] = await db.query<{ account_id: string | null; email_enc: string | null }>('SELECT account_id, email_enc FROM patient WHERE id = $1', [patientId]);
  if (!row) return null;
  if (row.account_id) return accountLogin(db, fields, row.account_id);
  return row.email_enc ? fields.decrypt(`patient.email:${patientId}`, row.email_enc) : null;
}

export const breakGlassPolicyFrom = (c: Pick<Config, 'breakGlassMinutes' | 'breakGlassPerDay'>): BreakGlassPolicy => ({ minutes: c.breakGlassMinutes, perDay: c.breakGlassPerDay });

export interface BreakGlassPolicy {
  minutes: number;
  /** Openings in 24 hours still awaiting review beyond which the next is refused. */
  perDay: number;
}

export interface BreakGlassView {
  id: string;
  patientId: string;
  professional: ProfessionalView | null;
  reason: BreakGlassReason;
  openedAt: string;
  expiresAt: string;
  endedAt: string | null;
  reviewStatus: 'pending' | 'accepted' | 'rejected';
  /** Only for the DPO reviewing it. */
  justification?: string;
  reviewNote?: string | null;
}

type Row = {
  id: string; professional_id: string; patient_id: string; reason: BreakGlassReason; justification_enc: string; opened_at: Date; expires_at: Date; ended_at: Date | null;
  review_status: BreakGlassView['reviewStatus']; review_note_enc: string | null;
};
const ctx = { justification: (id: string) => `break_glass.justification:${id}`, note: (id: string) => `break_glass.review_note:${id}` };
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/** What the patient must be told, once the opening is committed. */
export interface BreakGlassNotice {
  patientId: string;
  professional: ProfessionalView | null;
  reason: BreakGlassReason;
  openedAt: string;
  expiresAt: string;
}

/** Opens the record for `policy.minutes`; answers the opening and what to tell the patient. */
export async function openBreakGlass(w: Work, policy: BreakGlassPolicy, patientId: string, input: BreakGlassInput): Promise<{ view: BreakGlassView; notice: BreakGlassNotice }> {
  const facts = await loadFacts(w.tx, 'patient', patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'break-glass.open', target);
  w.access('break-glass.open', asResource('patient', patientId, facts), target);
  // Over the day's limit of openings awaiting review: refused (audited) until the DPO has reviewed them.
  const [pending] = await w.tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM break_glass WHERE professional_id = $1 AND review_status = 'pending' AND opened_at > $2`,
    [w.actor.id, new Date(w.now.getTime() - 86_400_000)]);
  if (Number(pending!.n) >= policy.perDay) refuse(w, 'break-glass.open', target, 'break-glass-limit', 'break_glass_limit');
  const id = randomUUID();
  const expiresAt = new Date(w.now.getTime() + policy.minutes * 60_000);
  await w.tx.query(
    'INSERT INTO break_glass (id, professional_id, patient_id, reason, justification_enc, opened_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, w.actor.id, patientId, input.reason, w.fields.encrypt(ctx.justification(id), input.justification, { padTo: PAD.report }), w.now, expiresAt],
  );
  w.record({ action: 'break-glass.open', resourceType: 'Patient', resourceId: patientId, subjectRef: facts.subjectRef, purpose: `break-glass:${input.reason}`, outcome: 'success', tenantId: facts.tenantId });
  // A protected record (the public figure's): care comes first, so it opens; and the DPO knows at once.
  if (facts.protected) {
    await raiseAlert(w, { rule: 'break-glass-protected', severity: 'high', actorId: w.actor.id, subjectRefs: [facts.subjectRef], eventSeqs: [], summary: `break-glass:${input.reason}` });
  }
  const professional = (await professionalsById(w.tx, [w.actor.id])).get(w.actor.id) ?? null;
  const view: BreakGlassView = { id, patientId, professional, reason: input.reason, openedAt: w.now.toISOString(), expiresAt: expiresAt.toISOString(), endedAt: null, reviewStatus: 'pending' };
  return { view, notice: { patientId, professional, reason: input.reason, openedAt: view.openedAt, expiresAt: view.expiresAt } };
}

/** The professional closes an opening before its end. */
export async function endBreakGlass(w: Work, id: string): Promise<BreakGlassView> {
  const [row] = await w.tx.query<Row & { subject_ref: string }>('SELECT b.*, p.subject_ref FROM break_glass b JOIN patient p ON p.id = b.patient_id WHERE b.id = $1', [id]);
  const target = { resourceType: 'BreakGlass', resourceId: id, subjectRef: row?.subject_ref ?? null };
  if (!row) denyUnknown(w, 'break-glass.end', target);
  w.access('break-glass.end', { type: 'relationship', patientId: row.patient_id, professionalId: row.professional_id }, target);
  const [ended] = await w.tx.query<Row>('UPDATE break_glass SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL AND expires_at > $2 RETURNING *', [id, w.now]);
  if (ended) w.record({ action: 'break-glass.end', resourceType: 'Patient', resourceId: row.patient_id, subjectRef: row.subject_ref, purpose: `break-glass:${row.reason}`, outcome: 'success' });
  return (await views(w, [ended ?? row], false))[0]!;
}

/** A professional's own openings, newest first (running and past). */
export async function listMyBreakGlass(w: Work, limit = 200): Promise<BreakGlassView[]> {
  w.access('break-glass.list', { type: 'self' }, { resourceType: 'BreakGlass', resourceId: null, subjectRef: null });
  return views(w, await w.tx.query<Row>('SELECT * FROM break_glass WHERE professional_id = $1 ORDER BY opened_at DESC LIMIT $2', [w.actor.id, limit]), false);
}

export const BreakGlassReview = z.strictObject({
  decision: z.enum(['accepted', 'rejected']),
  note: z.string().trim().min(1).max(2000),
});
export type BreakGlassReview = z.infer<typeof BreakGlassReview>;

/** The DPO's review queue: openings awaiting review (oldest first), or all of a status. */
export async function listBreakGlass(w: Work, status: BreakGlassView['reviewStatus'] | undefined, limit = 200): Promise<BreakGlassView[]> {
  w.access('break-glass.review', { type: 'governance' }, { resourceType: 'BreakGlass', resourceId: null, subjectRef: null });
  // Pending ones oldest first (a queue); decided ones newest first (a history).
  const rows = status
    ? await w.tx.query<Row>(`SELECT * FROM break_glass WHERE review_status = $1 ORDER BY opened_at ${status === 'pending' ? 'ASC' : 'DESC'} LIMIT $2`, [status, limit])
    : await w.tx.query<Row>('SELECT * FROM break_glass ORDER BY opened_at DESC LIMIT $1', [limit]);
  return views(w, rows, true);
}

/** The DPO's decision on an opening, with a note (sealed), audited. */
export async function reviewBreakGlass(w: Work, id: string, decision: 'accepted' | 'rejected', note: string): Promise<BreakGlassView> {
  const [row] = await w.tx.query<Row & { subject_ref: string }>('SELECT b.*, p.subject_ref FROM break_glass b JOIN patient p ON p.id = b.patient_id WHERE b.id = $1', [id]);
  const target = { resourceType: 'BreakGlass', resourceId: id, subjectRef: row?.subject_ref ?? null };
  w.access('break-glass.review', { type: 'governance' }, target);
  if (!row) denyUnknown(w, 'break-glass.review', target);
  // A review is final: the professional's limit and the patient's history rely on it.
  if (row.review_status !== 'pending') throw new AppError('conflict');
  const [done] = await w.tx.query<Row>(`UPDATE break_glass SET review_status = $2, reviewed_by = $3, reviewed_at = $4, review_note_enc = $5 WHERE id = $1 RETURNING *`,
    [id, decision, w.actor.id, w.now, w.fields.encrypt(ctx.note(id), note)]);
  w.record({ action: 'break-glass.review', resourceType: 'BreakGlass', resourceId: id, subjectRef: row.subject_ref, purpose: decision, outcome: 'success' });
  return (await views(w, [done!], true))[0]!;
}

async function views(w: Work, rows: Row[], withJustification: boolean): Promise<BreakGlassView[]> {
  const pros = await professionalsById(w.tx, [...new Set(rows.map((r) => r.professional_id))]);
  return rows.map((r) => ({
    id: r.id, patientId: r.patient_id, professional: pros.get(r.professional_id) ?? null, reason: r.reason, openedAt: iso(r.opened_at)!, expiresAt: iso(r.expires_at)!,
    endedAt: iso(r.ended_at), reviewStatus: r.review_status,
    ...(withJustification ? { justification: w.fields.decrypt(ctx.justification(r.id), r.justification_enc), reviewNote: r.review_note_enc ? w.fields.decrypt(ctx.note(r.id), r.review_note_enc) : null } : {}),
  }));
}
