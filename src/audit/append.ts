import { sign } from 'node:crypto';
import type { Tx } from '../store/db.ts';
import type { KeyRing } from '../crypto/keys.ts';
import { chainHash, checkpointMessage, type AuditEventInput } from './event.ts';
import type { Checkpoint } from './export.ts';

export interface AppendOptions {
  keys: Pick<KeyRing, 'auditSigning' | 'auditKeyId'>;
  /** Sign a checkpoint whenever the sequence crosses a multiple of this. */
  checkpointEvery: number;
  now: Date;
  /**
   * The newest checkpoint exported outside the database: no checkpoint is signed over a chain that
   * does not reach it or does not match it (someone who owns the database rewrote the trail below
   * it: signing what they left would bless the forgery). `onRefused` is told why.
   */
  anchor?: () => { seq: number; hash: string } | null;
  onRefused?: (reason: string) => void;
}

/**
 * Appends events to the chain inside the caller's transaction and returns the new head. Without a
 * known head it reads and locks the head row first; with one (the head this process committed
 * last) it saves that round trip and relies on the compare-and-set below. Either way concurrent
 * transactions, even from other processes, extend the chain one after the other, and the events
 * become visible, and the caller may answer, only when that transaction commits.
 */
export interface ChainHead {
  seq: number;
  hash: string;
}

export interface Appended {
  head: ChainHead | undefined;
  /** The checkpoint this append signed, if it crossed a multiple of checkpointEvery (to export once committed). */
  checkpoint?: Checkpoint;
}

export async function appendAudit(tx: Tx, events: readonly AuditEventInput[], opts: AppendOptions, known?: ChainHead): Promise<Appended> {
  if (events.length === 0) return { head: known };
  if (known) {
    // Fast path, one round trip: move the head by compare-and-set on the head this process last
    // committed (the UPDATE takes the row lock, so other processes' appends queue behind ours),
    // and insert the events only if it moved.
    const next = await tryAppend(tx, events, known, opts.now);
    if (next) return finish(tx, known, next, opts);
  }
  // Slow path: the head is unknown or another process moved it: read it under lock.
  const [row] = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
  if (!row) throw new Error('audit head missing: database not migrated');
  const head = { seq: Number(row.seq), hash: row.hash };
  const next = await tryAppend(tx, events, head, opts.now);
  if (!next) throw new Error('audit head changed while locked');
  return finish(tx, head, next, opts);
}

const COLUMNS = 'seq, at, actor_id, actor_role, tenant_id, action, resource_type, resource_id, subject_ref, purpose, outcome, request_id, prev_hash, hash';
const RECORD = `seq bigint, at timestamptz, actor_id text, actor_role text, tenant_id text, action text, resource_type text,
  resource_id text, subject_ref text, purpose text, outcome text, request_id text, prev_hash text, hash text`;
/**
 * One statement whatever the number of events: the rows travel as one JSON parameter, typed text so
 * that neither driver re-encodes it as a JSON string (a batch of 100 events as 1,400 parameters
 * cost more to encode than the rest of the batch's audit work).
 */
const APPEND = `WITH moved AS (UPDATE audit_head SET seq = $3, hash = $4 WHERE id = 1 AND seq = $1 AND hash = $2 RETURNING 1),
  added AS (INSERT INTO audit_event (${COLUMNS}) SELECT ${COLUMNS} FROM json_to_recordset($5::text::json) AS v(${RECORD})
    WHERE EXISTS (SELECT 1 FROM moved) RETURNING 1)
  SELECT count(*)::int AS n FROM added`;

/** Chains the events after `head` and writes them in one statement if the head is still `head`. */
async function tryAppend(tx: Tx, events: readonly AuditEventInput[], head: ChainHead, at: Date): Promise<ChainHead | null> {
  let seq = head.seq;
  let prev = head.hash;
  const iso = at.toISOString();
  const rows: unknown[] = [];
  for (const e of events) {
    seq += 1;
    const hash = chainHash(prev, { ...e, seq, at });
    rows.push({
      seq, at: iso, actor_id: e.actorId, actor_role: e.actorRole, tenant_id: e.tenantId, action: e.action, resource_type: e.resourceType,
      resource_id: e.resourceId, subject_ref: e.subjectRef, purpose: e.purpose, outcome: e.outcome, request_id: e.requestId, prev_hash: prev, hash,
    });
    prev = hash;
  }
  const [r] = await tx.query<{ n: number }>(APPEND, [head.seq, head.hash, seq, prev, JSON.stringify(rows)]);
  return Number(r?.n) === events.length ? { seq, hash: prev } : null;
}

async function finish(tx: Tx, from: ChainHead, to: ChainHead, opts: AppendOptions): Promise<Appended> {
  if (Math.floor(to.seq / opts.checkpointEvery) > Math.floor(from.seq / opts.checkpointEvery)) {
    const checkpoint = await writeCheckpoint(tx, to.seq, to.hash, opts);
    return checkpoint ? { head: to, checkpoint } : { head: to };
  }
  return { head: to };
}

/**
 * Signs the current head (Ed25519) so that rewriting history before it needs the signing key; null
 * (nothing signed) when the chain does not reach or match the newest exported checkpoint.
 */
export async function writeCheckpoint(tx: Tx, seq: number, hash: string, opts: Pick<AppendOptions, 'keys' | 'now' | 'anchor' | 'onRefused'>): Promise<Checkpoint | null> {
  const anchor = opts.anchor?.() ?? null;
  if (anchor) {
    const [at] = anchor.seq === seq ? [{ hash }] : await tx.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = $1', [anchor.seq]);
    if (seq < anchor.seq || at?.hash !== anchor.hash) {
      opts.onRefused?.(seq < anchor.seq ? `the trail ends at event ${seq}, before the exported checkpoint at event ${anchor.seq}` : `the chain disagrees with the exported checkpoint at event ${anchor.seq}`);
      return null;
    }
  }
  const signature = sign(null, checkpointMessage(seq, hash), opts.keys.auditSigning).toString('base64url');
  await tx.query(
    'INSERT INTO audit_checkpoint (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING',
    [seq, hash, opts.now, opts.keys.auditKeyId, signature],
  );
  return { seq, hash, signedAt: opts.now.toISOString(), keyId: opts.keys.auditKeyId, signature };
}

/**
 * Signs a checkpoint at the current head if none exists there yet (shutdown, `audit checkpoint`, the
 * checkpoint timer): the checkpoint, or null when the head is already signed or the trail is empty.
 */
export async function checkpointHead(tx: Tx, opts: Pick<AppendOptions, 'keys' | 'now' | 'anchor' | 'onRefused'>): Promise<Checkpoint | null> {
  const [head] = await tx.query<{ seq: number; hash: string; signed: boolean }>(
    'SELECT h.seq, h.hash, EXISTS (SELECT 1 FROM audit_checkpoint c WHERE c.seq = h.seq) AS signed FROM audit_head h WHERE h.id = 1 FOR UPDATE');
  if (!head || Number(head.seq) === 0 || head.signed) return null;
  return writeCheckpoint(tx, Number(head.seq), head.hash, opts);
}
