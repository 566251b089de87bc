import type { KeyObject } from 'node:crypto';
import type { Db } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { UnitOfWork } from '../domain/unit-of-work.ts';
import type { Actor } from '../domain/work.ts';
import { FHIR_MEDIA_TYPE, renderReport, type IdentityMode, type ReportFacts } from './fhir.ts';
import { payloadContext } from './outbox.ts';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signRequest } from './signature.ts';

/** The scheduled job that reports results to the national endpoint. */
export const REPORTER: Actor = { kind: 'system', id: 'system:reporter', role: 'system', tenantId: null };

export interface ReportTarget {
  /** The national endpoint (SAUFCONDUIT_REPORT_URL). */
  url: string;
  /** Per-attempt HTTP timeout; the job's expiry is longer, so a hung attempt never runs twice at once. */
  timeoutMs: number;
  identity: IdentityMode;
  signing: KeyObject;
  kid: string;
  pseudonymKey: Uint8Array;
}

export interface DeliverDeps {
  db: Db;
  uow: UnitOfWork;
  fields: FieldCipher;
  target: ReportTarget;
  clock?: () => Date;
}

/** A failed attempt, with a short code that is safe to store and log (never a body or message). */
export class DeliveryFailed extends Error {
  constructor(readonly code: string) {
    super(`report delivery failed: ${code}`);
    this.name = 'DeliveryFailed';
  }
}

type Row = { kind: string; payload_enc: string | null; delivered_at: Date | null; tenant_id: string; result_id: string; subject_ref: string };

/**
 * One attempt to deliver one report: render the frozen facts, sign, POST with the outbox id as
 * Idempotency-Key, and on a 2xx mark the row delivered, erase its payload and record the disclosure
 * in the audit trail in one transaction. Every attempt of a row sends the same bytes under the same
 * key, so a receiver that deduplicates by key stores it once, whatever crashed in between.
 * @returns 'created' | 'duplicate' (the receiver's answer), or 'already' if the row was delivered before
 * @throws DeliveryFailed on a non-2xx answer, a timeout or a network error (the job queue retries)
 */
export async function deliverReport(deps: DeliverDeps, outboxId: string): Promise<string> {
  const now = deps.clock ?? (() => new Date());
  const [row] = await deps.db.query<Row>(
    `SELECT o.kind, o.payload_enc, o.delivered_at, o.tenant_id, o.result_id, p.subject_ref
       FROM outbox o JOIN patient p ON p.id = o.patient_id WHERE o.id = $1`,
    [outboxId],
  );
  if (!row || row.kind !== 'report' || row.delivered_at || row.payload_enc === null) return 'already';
  const facts = JSON.parse(deps.fields.decrypt(payloadContext(outboxId), row.payload_enc)) as ReportFacts;
  const body = renderReport(facts, deps.target.identity, deps.target.pseudonymKey, outboxId);
  const signature = await signRequest(body, deps.target.signing, deps.target.kid, outboxId, now());
  let status: number;
  let answer: unknown = null;
  try {
    const res = await fetch(deps.target.url, {
      method: 'POST',
      headers: { 'content-type': FHIR_MEDIA_TYPE, accept: 'application/json', [IDEMPOTENCY_HEADER]: outboxId, [SIGNATURE_HEADER]: signature },
      body,
      signal: AbortSignal.timeout(deps.target.timeoutMs),
      redirect: 'error',
    });
    status = res.status;
    answer = await res.json().catch(() => null);
  } catch (err) {
    const code = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network';
    await recordFailure(deps, row, outboxId, code);
    throw new DeliveryFailed(code);
  }
  if (status < 200 || status > 299) {
    await recordFailure(deps, row, outboxId, `http-${status}`);
    throw new DeliveryFailed(`http-${status}`);
  }
  const receipt = (answer as { status?: unknown } | null)?.status === 'duplicate' ? 'duplicate' : 'created';
  const marked = await deps.uow.run(REPORTER, `outbox:${outboxId}`, async (w) => {
    const done = await w.tx.query(
      `UPDATE outbox SET delivered_at = $2, receipt = $3, payload_enc = NULL, attempts = attempts + 1, last_attempt_at = $2, last_error = NULL
        WHERE id = $1 AND delivered_at IS NULL RETURNING id`,
      [outboxId, w.now, receipt],
    );
    if (done.length === 0) return false;
    // The disclosure to the national endpoint is recorded once, when it is acknowledged.
    w.record({ action: 'result.report', resourceType: 'Observation', resourceId: row.result_id, subjectRef: row.subject_ref, purpose: 'national-reporting', outcome: 'success', tenantId: row.tenant_id });
    return true;
  });
  return marked ? receipt : 'already';
}

/**
 * A failed attempt: counted on the row, and audited like a success. The identity may have left
 * already (an answer lost to a timeout, a 5xx after the receiver read the body), so every attempt is
 * a possible disclosure the patient's access log must show. Best effort: the job retries anyway.
 */
async function recordFailure(deps: DeliverDeps, row: Row, outboxId: string, code: string): Promise<void> {
  await deps.uow.run(REPORTER, `outbox:${outboxId}`, async (w) => {
    await w.tx.query('UPDATE outbox SET attempts = attempts + 1, last_attempt_at = $2, last_error = $3 WHERE id = $1 AND delivered_at IS NULL', [outboxId, w.now, code]);
    w.record({ action: 'result.report', resourceType: 'Observation', resourceId: row.result_id, subjectRef: row.subject_ref, purpose: 'national-reporting', outcome: 'failure', tenantId: row.tenant_id });
  }).catch(() => undefined);
}
