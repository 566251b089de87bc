import type { Queryable } from '../store/db.ts';
import type { Work } from './work.ts';
import { professionalsById, type ProfessionalView } from './professionals.ts';

export interface AccessEntry {
  /** The event's place in the audit trail (pages through the history: see `before`). */
  seq: number;
  at: string;
  /** Who, as the patient may know them: a role and an organisation, or "you". */
  actorRole: string;
  actorOrganisation: string | null;
  /** A health professional, named: who they are, their profession, their organisation. */
  professional: ProfessionalView | null;
  action: string;
  /**
   * Why: `care` (a care relationship), `break-glass` (an emergency opening, see `reason`),
   * `tenant-service` (the pharmacy's service), `listing`, `own-record`, `national-report`…
   */
  purpose: string;
  /** For `break-glass`: the coded reason the professional gave. */
  reason?: string;
  /** An access the patient should notice (an emergency opening): shown highlighted. */
  highlight: boolean;
  outcome: string;
}

/**
 * "Who accessed my data": every audit event about any of the patient's records, and about their
 * account itself (logins refused, passkeys added, locks), newest first.
 */
export async function myAccessLog(w: Work, limit = 200, before: number | null = null): Promise<AccessEntry[]> {
  w.access('access-log.read', { type: 'self' }, { resourceType: 'AuditEvent', resourceId: null, subjectRef: null });
  // Keyset paging: events before `before` (the last seq of the previous page), so the whole history
  // can be read however many events a listing added since.
  const rows = await w.tx.query<{ seq: number; at: Date; actor_role: string; tenant_name: string | null; action: string; purpose: string; outcome: string; actor_id: string }>(
    // Newest first per record of the patient (the subject index) and for the account (its own
    // index), then merged: filtering the whole trail in seq order would read every event newer than
    // the patient's oldest one.
    `SELECT e.seq, e.at, e.actor_role, t.name AS tenant_name, e.action, e.purpose, e.outcome, e.actor_id
       FROM (SELECT e.* FROM patient p
               CROSS JOIN LATERAL (SELECT * FROM audit_event a WHERE a.subject_ref = p.subject_ref AND a.seq < $3 ORDER BY a.seq DESC LIMIT $2) e
              WHERE p.account_id = $1
             UNION ALL
             (SELECT * FROM audit_event a WHERE a.resource_type = 'Account' AND a.resource_id = $1::text AND a.seq < $3 ORDER BY a.seq DESC LIMIT $2)) e
       LEFT JOIN tenant t ON t.id::text = e.tenant_id
      ORDER BY e.seq DESC LIMIT $2`,
    [w.actor.id, limit, before ?? Number.MAX_SAFE_INTEGER],
  );
  const pros = await professionalsById(w.tx, [...new Set(rows.filter((r) => r.actor_role === 'professional').map((r) => r.actor_id))]);
  return rows.map((r) => {
    const emergency = r.purpose.startsWith('break-glass:') ? r.purpose.slice('break-glass:'.length) : null;
    const professional = r.actor_role === 'professional' ? pros.get(r.actor_id) ?? null : null;
    return {
      seq: Number(r.seq), at: new Date(r.at).toISOString(),
      actorRole: r.actor_id === w.actor.id ? 'you' : r.actor_role,
      actorOrganisation: professional?.organisation ?? r.tenant_name,
      professional,
      action: r.action, purpose: emergency === null ? r.purpose : 'break-glass', ...(emergency === null ? {} : { reason: emergency }),
      highlight: emergency !== null && r.outcome === 'success',
      outcome: r.outcome,
    };
  });
}

export interface AuditRow {
  seq: number; at: string; actorId: string; actorRole: string; tenantId: string | null; action: string;
  resourceType: string; resourceId: string | null; subjectRef: string | null; purpose: string; outcome: string; requestId: string;
}

/** The DPO's audit explorer: events, newest first, optionally for one subject or actor. */
export async function listAuditEvents(w: Work, filter: { subjectRef?: string | undefined; actorId?: string | undefined; limit: number }): Promise<AuditRow[]> {
  w.access('audit.read', { type: 'governance' }, { resourceType: 'AuditEvent', resourceId: null, subjectRef: filter.subjectRef ?? null });
  // Only the filters given, so that each shape gets its own plan (a prepared "$1 IS NULL OR …" plan
  // walks the whole trail in seq order instead of using the subject or actor index).
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.subjectRef !== undefined) where.push(`subject_ref = $${params.push(filter.subjectRef)}`);
  if (filter.actorId !== undefined) where.push(`actor_id = $${params.push(filter.actorId)}`);
  const rows = await w.tx.query<TrailRow>(
    `SELECT * FROM audit_event ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.push(filter.limit)}`,
    params,
  );
  return rows.map(toAuditRow);
}

type TrailRow = { seq: number; at: Date; actor_id: string; actor_role: string; tenant_id: string | null; action: string; resource_type: string; resource_id: string | null; subject_ref: string | null; purpose: string; outcome: string; request_id: string };
const toAuditRow = (r: TrailRow): AuditRow => ({
  seq: Number(r.seq), at: new Date(r.at).toISOString(), actorId: r.actor_id, actorRole: r.actor_role, tenantId: r.tenant_id, action: r.action,
  resourceType: r.resource_type, resourceId: r.resource_id, subjectRef: r.subject_ref, purpose: r.purpose, outcome: r.outcome, requestId: r.request_id,
});

/** Audit events by sequence number, in trail order (an alert's explanation); the caller is authorized. */
export async function auditRowsBySeq(tx: Queryable, seqs: readonly number[]): Promise<AuditRow[]> {
  const rows = await tx.query<TrailRow>("SELECT * FROM audit_event WHERE seq = ANY(string_to_array($1, ',')::bigint[]) ORDER BY seq", [seqs.join(',')]);
  return rows.map(toAuditRow);
}
