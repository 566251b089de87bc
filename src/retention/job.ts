import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../store/db.ts';
import type { UnitOfWork } from '../domain/unit-of-work.ts';
import type { Actor } from '../domain/work.ts';
import { AUDIT_RETENTION_MONTHS, SCHEDULE } from './schedule.ts';

/** The retention job acts as the system, audited as such. */
export const RETENTION_ACTOR: Actor = { kind: 'system', id: 'system:retention', role: 'system', tenantId: null };

/** Rows removed per transaction: bounded, so that a run never holds locks long and a crash loses one batch at most. */
export const RETENTION_BATCH = 500;
/**
 * A pause between two full batches: a batch holds the unit of work's transaction for some 30 ms, and
 * audited reads queue behind it; a daily job can take twice as long for them not to (measured in
 * docs/benchmarks.md: about half the deletion rate, for reads close to their pace without it).
 */
export const RETENTION_PAUSE_MS = 30;

/** How each table's rows are named in a batch: its key column and that column's type. */
const KEY: Record<string, [string, 'uuid' | 'text']> = {
  test_result: ['id', 'uuid'], vaccination: ['id', 'uuid'], document: ['id', 'uuid'], pass: ['id', 'uuid'], patient: ['id', 'uuid'],
  registration_link: ['id', 'uuid'], registration: ['id', 'uuid'], care_relationship: ['id', 'uuid'], consent_code: ['id', 'uuid'],
  break_glass: ['id', 'uuid'], alert: ['id', 'uuid'], alert_pace: ['actor_id', 'text'], outbox: ['id', 'uuid'], session: ['token_hash', 'text'],
  auth_challenge: ['id', 'uuid'], enrolment: ['id', 'uuid'], login_throttle: ['login_ref', 'text'], api_key: ['id', 'uuid'],
};

/**
 * What must go with (or be unlinked from) a batch of rows before they are deleted: references from
 * rows kept longer, and rows that only make sense with them. `ids` is a JSON array of keys.
 */
const BEFORE: Record<string, (tx: Pick<Tx, 'query'>, ids: string, now: Date) => Promise<unknown>> = {
  // A deleted result's passes are revoked (they leave the published list when they expire), its
  // invoices (kept 10 years) keep no link to it, and a report still queued after 6 months is moot.
  test_result: async (tx, ids, now) => {
    await tx.query(`UPDATE pass SET revoked_at = coalesce(revoked_at, $2), revoked_reason = coalesce(revoked_reason, 'retention'), result_id = NULL, source_key = NULL
      WHERE result_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)`, [ids, now]);
    await tx.query('UPDATE document SET result_id = NULL WHERE result_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)', [ids]);
    await tx.query('DELETE FROM outbox WHERE result_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)', [ids]);
  },
  vaccination: async (tx, ids, now) => {
    await tx.query(`UPDATE pass SET revoked_at = coalesce(revoked_at, $2), revoked_reason = coalesce(revoked_reason, 'retention'), vaccination_id = NULL, source_key = NULL
      WHERE vaccination_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)`, [ids, now]);
  },
  pass: async (tx, ids) => {
    await tx.query('UPDATE pass SET replaced_by = NULL WHERE replaced_by IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)', [ids]);
  },
  // A record's registration codes and consent codes go with it (its search terms by cascade).
  patient: async (tx, ids) => {
    await tx.query('DELETE FROM registration WHERE patient_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)', [ids]);
    await tx.query('DELETE FROM consent_code WHERE patient_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)', [ids]);
  },
  // A spent link's registration goes first (it references the link).
  registration_link: async (tx, ids) => {
    await tx.query('DELETE FROM registration WHERE link_id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::uuid)', [ids]);
  },
};

/** The categories the job enforces: all of the schedule's. */
export const ENFORCED = new Set(SCHEDULE.map((c) => c.category));

export interface RetentionRun { id: string; at: string; removed: Record<string, number> }

/**
 * Removes what is past its retention at `at` (the schedule's rules), category by category, in
 * bounded batches, each in its own transaction with its audit event (`retention.delete` on the
 * table, naming the run) and the run's counts per category (never the data). Idempotent and
 * resumable: a batch is whole or not at all, and the next run (or the rest of this one) finds what
 * is still expired. Dependents go before what they depend on (the schedule's order).
 */
export async function runRetention(deps: { db: Db; uow: UnitOfWork }, at: Date, opts: { onBatch?: (category: string, rows: number) => void; pauseMs?: number } = {}): Promise<RetentionRun> {
  const pause = opts.pauseMs ?? RETENTION_PAUSE_MS;
  const id = randomUUID();
  await deps.db.query('INSERT INTO retention_run (id, at, started_at) VALUES ($1, $2, $3)', [id, at, new Date()]);
  const removed: Record<string, number> = {};
  const failed: { category: string; err: unknown }[] = [];

  const retainCategory = async (c: (typeof SCHEDULE)[number]): Promise<number> => {
    if (c.category === 'audit-trail') return pruneAudit(deps, at, id);
    if (c.category === 'accounts') return anonymiseAccounts(deps, at, id, c.expired[0]!.where);
    let total = 0;
    for (const rule of c.expired) {
      // patient_search_term rows go with their patient (ON DELETE CASCADE).
      const keyed = KEY[rule.table];
      if (!keyed) continue;
      const [key, type] = keyed;
      for (;;) {
        const n = await deps.uow.run(RETENTION_ACTOR, `retention:${id}`, async (w) => {
          const rows = await w.tx.query<{ k: string }>(`SELECT ${key}::text AS k FROM ${rule.table} WHERE ${rule.where} LIMIT ${RETENTION_BATCH}`, [at]);
          if (rows.length === 0) return 0;
          const ids = JSON.stringify(rows.map((r) => r.k));
          await BEFORE[rule.table]?.(w.tx, ids, w.now);
          const gone = await w.tx.query(`DELETE FROM ${rule.table} WHERE ${key} IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::${type}) RETURNING 1`, [ids]);
          await w.tx.query(`UPDATE retention_run SET removed = jsonb_set(removed, ARRAY[$2::text], to_jsonb(coalesce((removed->>$2)::int, 0) + $3::int)) WHERE id = $1`, [id, c.category, gone.length]);
          w.record({ action: 'retention.delete', resourceType: rule.table, resourceId: id, subjectRef: null, purpose: 'retention', outcome: 'success' });
          return gone.length;
        });
        total += n;
        if (n > 0) opts.onBatch?.(c.category, n);
        // Room for the reads and writes of people at work between two batches (see bench/retention).
        if (n === RETENTION_BATCH && pause > 0) await new Promise((r) => setTimeout(r, pause));
        if (n < RETENTION_BATCH) break;
      }
    }
    return total;
  };

  for (const c of SCHEDULE) {
    if (!ENFORCED.has(c.category)) continue;
    try {
      removed[c.category] = await retainCategory(c);
    } catch (err) {
      // One category that fails (a lock, a privilege) does not hold up the others; the run stays
      // unfinished, so the next housekeeping pass runs again.
      failed.push({ category: c.category, err });
    }
  }
  if (failed.length > 0) throw new AggregateError(failed.map((f) => f.err), `retention failed for ${failed.map((f) => f.category).join(', ')}`);
  await deps.db.query('UPDATE retention_run SET finished_at = $2 WHERE id = $1', [id, new Date()]);
  return { id, at: at.toISOString(), removed };
}

/**
 * Prunes the audit trail at the front, segment by segment, each ending at a signed checkpoint: after
 * every committed batch the trail starts right after a checkpoint that stays as its anchor, so it
 * verifies at any moment, a crash included (src/audit/verify.ts). Only segments whose last event is
 * past retention go; the boundary is chosen once per run.
 */
async function pruneAudit(deps: { db: Db; uow: UnitOfWork }, at: Date, runId: string): Promise<number> {
  const cutoff = `$1::timestamptz - interval '${AUDIT_RETENTION_MONTHS} months'`;
  const [bound] = await deps.db.query<{ seq: string | null }>(
    `SELECT max(c.seq)::text AS seq FROM audit_checkpoint c JOIN audit_event e ON e.seq = c.seq WHERE e.at < ${cutoff}`, [at]);
  let total = 0;
  if (bound?.seq) {
    for (;;) {
      const n = await deps.uow.run(RETENTION_ACTOR, `retention:${runId}`, async (w) => {
        const [seg] = await w.tx.query<{ end: string | null }>(
          `SELECT min(c.seq)::text AS end FROM audit_checkpoint c WHERE c.seq >= (SELECT min(seq) FROM audit_event) AND c.seq <= $1::bigint`, [bound.seq]);
        if (!seg?.end) return 0;
        // Through the owner's function: the application's role holds no DELETE on the trail, and the
        // function deletes only up to a signed checkpoint past the cutoff (migration 030).
        const [pruned] = await w.tx.query<{ n: number }>(`SELECT audit_prune($2::bigint, ${cutoff}) AS n`, [at, seg.end]);
        const gone = { length: Number(pruned!.n) };
        await w.tx.query(`UPDATE retention_run SET removed = jsonb_set(removed, '{audit-trail}', to_jsonb(coalesce((removed->>'audit-trail')::int, 0) + $2::int)) WHERE id = $1`, [runId, gone.length]);
        w.record({ action: 'retention.delete', resourceType: 'audit_event', resourceId: runId, subjectRef: null, purpose: 'retention', outcome: 'success' });
        return gone.length;
      });
      total += n;
      if (n === 0) break;
    }
  }
  await deps.db.query(`DELETE FROM audit_minute WHERE minute < ${cutoff}`, [at]);
  return total;
}

/**
 * Anonymises accounts past retention: the row stays (audit events, alerts, care and emergency
 * records name it by id), what identifies the person goes: login and name replaced by a placeholder
 * (sealed like any other, so every page that shows a name still reads one), password and second
 * factor removed, passkeys and sessions deleted, a professional's RPPS, name and organisation erased.
 */
async function anonymiseAccounts(deps: { db: Db; uow: UnitOfWork }, at: Date, runId: string, where: string): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deps.uow.run(RETENTION_ACTOR, `retention:${runId}`, async (w) => {
      const rows = await w.tx.query<{ id: string }>(`SELECT id::text FROM account WHERE ${where} LIMIT ${RETENTION_BATCH}`, [at]);
      for (const { id } of rows) {
        await w.tx.query(`UPDATE account SET login_hash = $2, login_enc = $3, display_name_enc = $4, password_hash = NULL, totp_secret_enc = NULL, disabled_at = coalesce(disabled_at, $5) WHERE id = $1`,
          [id, `erased:${id}`, w.fields.encrypt(`account.login:${id}`, `erased-${id}@invalid`), w.fields.encrypt(`account.display_name:${id}`, ERASED_NAME), w.now]);
        await w.tx.query(`UPDATE professional SET rpps = $2, display_name = $3, organisation = NULL, family_name_ref = $2 WHERE account_id = $1`, [id, `erased:${id}`, ERASED_NAME]);
        await w.tx.query('DELETE FROM webauthn_credential WHERE account_id = $1', [id]);
        await w.tx.query('DELETE FROM session WHERE account_id = $1', [id]);
      }
      if (rows.length === 0) return 0;
      await w.tx.query(`UPDATE retention_run SET removed = jsonb_set(removed, '{accounts}', to_jsonb(coalesce((removed->>'accounts')::int, 0) + $2::int)) WHERE id = $1`, [runId, rows.length]);
      w.record({ action: 'retention.anonymise', resourceType: 'account', resourceId: runId, subjectRef: null, purpose: 'retention', outcome: 'success' });
      return rows.length;
    });
    total += n;
    if (n < RETENTION_BATCH) return total;
  }
}

/** What an anonymised account is called wherever a name is shown. */
export const ERASED_NAME = 'Compte supprimé / Deleted account';
