import { verify as verifySignature } from 'node:crypto';
import type { KeyRing } from '../crypto/keys.ts';
import type { Queryable } from '../store/db.ts';
import { chainHash, checkpointMessage, GENESIS_HASH } from './event.ts';
import type { Checkpoint } from './export.ts';

export interface AuditVerdict {
  ok: boolean;
  eventsChecked: number;
  checkpointsChecked: number;
  /** Exported checkpoints (`--expect`) the trail was held against. */
  exportedChecked?: number;
  /** Checkpoints signed with the key older versions derived from the master key (still verified). */
  legacyCheckpoints?: number;
  /** The first event (by sequence) where the chain breaks, and why. */
  firstBad?: { seq: number; problem: string };
  /** The trail was pruned (retention) up to this event; it is verified from the signed checkpoint there. */
  prunedBefore?: number;
}

interface Row {
  seq: number; at: Date; actor_id: string; actor_role: string; tenant_id: string | null; action: string;
  resource_type: string; resource_id: string | null; subject_ref: string | null; purpose: string;
  outcome: 'success' | 'denied' | 'failure'; request_id: string; prev_hash: string; hash: string;
}

const PAGE = 5000;

export interface VerifyOptions {
  /** Checkpoints exported outside the database as they were made: the trail must reach and match each. */
  expected?: readonly Checkpoint[];
  /**
   * The longest unsigned tail the platform ever leaves (it signs every N events and every few
   * seconds): a longer one means signed checkpoints were deleted, and the events after the last one
   * standing could have been rewritten with no key at all (the chain's hashes need none).
   */
  unsigned?: { maxEvents: number; maxSeconds: number; now: Date };
  /**
   * The trail is pruned at the front by whole segments ending at a signed checkpoint, once they are
   * past retention (src/retention/job.ts): the checkpoint that ended the last pruned segment stays
   * as the anchor the rest starts from. Given, the anchor must be at least this old at `now`:
   * a younger one means events were cut before their time, not pruned.
   */
  pruned?: { retentionMonths: number; now: Date };
}

/** The unsigned-tail bounds of a deployment's checkpoint settings (see VerifyOptions.unsigned). */
export const unsignedBounds = (c: { checkpointEvery: number; checkpointSeconds: number }, now: Date) =>
  ({ maxEvents: 2 * c.checkpointEvery + 128, maxSeconds: 3 * c.checkpointSeconds + 60, now });

/**
 * Recomputes the whole chain: a modified field changes that event's hash, a deleted or inserted
 * event breaks the sequence or the link to the previous hash, a reordering breaks both; signed
 * checkpoints pin the head at their sequence, so rewriting the whole tail consistently still fails
 * without the signing key. Checkpoints stored in the database can be deleted along with the events
 * after them by the database's owner: held against the checkpoints exported elsewhere as they were
 * made (`expected`), the trail must also reach the newest of them and agree with every one.
 */
export async function verifyAudit(db: Queryable, keys: Pick<KeyRing, 'auditVerifiers' | 'legacyAuditKeyId'>, options: VerifyOptions = {}): Promise<AuditVerdict> {
  const verifiers = keys.auditVerifiers;
  const checkpoints = await db.query<{ seq: number; hash: string; key_id: string; signature: string; signed_at: Date }>('SELECT seq, hash, key_id, signature, signed_at FROM audit_checkpoint ORDER BY seq');
  const checkpointAt = new Map<number, { hash: string; key_id: string; signature: string; signed_at: Date }>();
  for (const c of checkpoints) checkpointAt.set(Number(c.seq), c);
  const expectedAt = new Map((options.expected ?? []).map((c) => [c.seq, c]));
  const newestExpected = Math.max(0, ...expectedAt.keys());
  let expectedChecked = 0;
  let legacy = 0;
  let currentKeySeen = false;
  let expectedSeq = 1;
  let lastSigned = 0;
  let firstUnsignedAt: Date | null = null;
  let prev = GENESIS_HASH;
  let checked = 0;
  let checkpointsChecked = 0;
  const extra = () => ({ ...(options.expected ? { exportedChecked: expectedChecked } : {}), legacyCheckpoints: legacy, ...(anchor ? { prunedBefore: anchor } : {}) });
  const fail = (seq: number, problem: string): AuditVerdict => ({ ok: false, eventsChecked: checked, checkpointsChecked, ...extra(), firstBad: { seq, problem } });
  // A pruned trail starts after a signed checkpoint (the anchor): its signature vouches for the hash
  // the first remaining event links to.
  let anchor = 0;
  const [oldest] = await db.query<{ seq: number | null }>('SELECT min(seq) AS seq FROM audit_event');
  const [headRow] = await db.query<{ seq: number }>('SELECT seq FROM audit_head WHERE id = 1');
  const first = oldest?.seq != null ? Number(oldest.seq) : Number(headRow?.seq ?? 0) + 1;
  if (first > 1) {
    anchor = first - 1;
    const cp = checkpointAt.get(anchor);
    if (!cp) return fail(1, `events 1 to ${anchor} are missing and no signed checkpoint at ${anchor} anchors the rest (front of the trail deleted)`);
    const key = verifiers.get(cp.key_id);
    if (!key || !verifySignature(null, checkpointMessage(anchor, cp.hash), key, Buffer.from(cp.signature, 'base64url'))) return fail(anchor, 'the checkpoint the pruned trail starts from is not validly signed');
    const p = options.pruned;
    if (p) {
      const cutoff = new Date(p.now);
      cutoff.setMonth(cutoff.getMonth() - p.retentionMonths);
      // A day's slack: the checkpoint is signed a moment after the event it covers.
      if (new Date(cp.signed_at).getTime() > cutoff.getTime() + 86_400_000) return fail(anchor, `the trail was cut at event ${anchor}, signed ${new Date(cp.signed_at).toISOString()}: younger than its ${p.retentionMonths}-month retention (events deleted before their time)`);
    }
    if (cp.key_id !== keys.legacyAuditKeyId) currentKeySeen = true;
    checkpointsChecked += 1;
    lastSigned = anchor;
    prev = cp.hash;
    expectedSeq = first;
    const exported = expectedAt.get(anchor);
    if (exported) {
      if (exported.hash !== cp.hash) return fail(anchor, 'the chain disagrees with the checkpoint exported at this event (rewritten)');
      expectedChecked += 1;
    }
  }
  for (;;) {
    const rows = await db.query<Row>('SELECT * FROM audit_event WHERE seq >= $1 ORDER BY seq LIMIT $2', [expectedSeq, PAGE]);
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expectedSeq) return fail(expectedSeq, `event ${expectedSeq} is missing (next present is ${seq})`);
      if (r.prev_hash !== prev) return fail(seq, 'previous-hash link broken (event inserted, deleted or reordered)');
      const hash = chainHash(prev, {
        seq, at: new Date(r.at), actorId: r.actor_id, actorRole: r.actor_role, tenantId: r.tenant_id, action: r.action,
        resourceType: r.resource_type, resourceId: r.resource_id, subjectRef: r.subject_ref, purpose: r.purpose,
        outcome: r.outcome, requestId: r.request_id,
      });
      if (hash !== r.hash) return fail(seq, 'content does not match its hash (event modified)');
      const cp = checkpointAt.get(seq);
      if (cp) {
        const key = verifiers.get(cp.key_id);
        if (!key) return fail(seq, `signed checkpoint uses an unknown key (${cp.key_id})`);
        if (cp.hash !== hash || !verifySignature(null, checkpointMessage(seq, cp.hash), key, Buffer.from(cp.signature, 'base64url'))) {
          return fail(seq, 'signed checkpoint does not match the chain');
        }
        if (cp.key_id === keys.legacyAuditKeyId) {
          // The master-derived key signed checkpoints before the audit key had a secret of its own.
          // Whoever holds the master key can still compute it: a checkpoint of it after one of the
          // current key's is a forgery, not history.
          if (currentKeySeen) return fail(seq, 'checkpoint signed with the retired master-derived key after the audit key took over (forged)');
          legacy += 1;
        } else currentKeySeen = true;
        checkpointsChecked += 1;
        lastSigned = seq;
        firstUnsignedAt = null;
      } else if (firstUnsignedAt === null) firstUnsignedAt = new Date(r.at);
      const exported = expectedAt.get(seq);
      if (exported) {
        if (exported.hash !== hash) return fail(seq, 'the chain disagrees with the checkpoint exported at this event (rewritten)');
        expectedChecked += 1;
      }
      prev = hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (rows.length < PAGE) break;
  }
  const lastSeq = expectedSeq - 1;
  for (const [seq] of checkpointAt) {
    if (seq > lastSeq) return fail(lastSeq + 1, `events up to signed checkpoint ${seq} are missing (tail deleted)`);
  }
  if (newestExpected > lastSeq) return fail(lastSeq + 1, `the trail ends at event ${lastSeq}, before the checkpoint exported at event ${newestExpected} (tail deleted)`);
  const u = options.unsigned;
  if (u && lastSeq > lastSigned) {
    if (lastSeq - lastSigned > u.maxEvents) return fail(lastSigned + 1, `${lastSeq - lastSigned} events after the last signed checkpoint, more than the platform ever leaves unsigned (${u.maxEvents}): checkpoints deleted?`);
    if (firstUnsignedAt && u.now.getTime() - firstUnsignedAt.getTime() > u.maxSeconds * 1000) {
      return fail(lastSigned + 1, `events unsigned for more than ${u.maxSeconds} s after the last signed checkpoint: checkpoints deleted, or the platform stopped uncleanly (start it: it signs the head)`);
    }
  }
  const [head] = await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1');
  if (!head || Number(head.seq) !== lastSeq || head.hash !== prev) {
    return fail(lastSeq + 1, `chain head (seq ${head ? Number(head.seq) : '?'}) does not match the last event (seq ${lastSeq})`);
  }
  return { ok: true, eventsChecked: checked, checkpointsChecked, ...extra() };
}
