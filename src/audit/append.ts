import { sign } from 'node:crypto';
import type { Tx } from '../store/db.ts';
import type { KeyRing } from '../crypto/keys.ts';
import { chainHash, checkpointMessage, type AuditEventInput } from './event.ts';

export interface AppendOptions {
  keys: Pick<KeyRing, 'auditSigning' | 'auditKeyId'>;
  /** Sign a checkpoint whenever the sequence crosses a multiple of this. */
  checkpointEvery: number;
  now: Date;
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

/** The chain head moved under us (another process appended): the caller must retry from the database. */
export class StaleChainHead extends Error {
  constructor() {
    super('audit chain head changed concurrently');
  }
}

export async function appendAudit(tx: Tx, events: readonly AuditEventInput[], opts: AppendOptions, known?: ChainHead): Promise<ChainHead | undefined> {
  if (events.length === 0) return known;
  let head = known;
  if (!head) {
    const [row] = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
    if (!row) throw new Error('audit head missing: database not migrated');
    head = { seq: Number(row.seq), hash: row.hash };
  }
  let seq = head.seq;
  let prev = head.hash;
  const cols = 14;
  const values: (string | number | Date | null)[] = [];
  const rows: string[] = [];
  for (const e of events) {
    seq += 1;
    const at = opts.now;
    const hash = chainHash(prev, { ...e, seq, at });
    const base = rows.length * cols;
    rows.push(`(${Array.from({ length: cols }, (_, i) => `$${base + i + 1}`).join(', ')})`);
    values.push(seq, at, e.actorId, e.actorRole, e.tenantId, e.action, e.resourceType, e.resourceId, e.subjectRef, e.purpose, e.outcome, e.requestId, prev, hash);
    prev = hash;
  }
  // Moving the head is a compare-and-set on the sequence we chained from: it takes the row lock
  // (so appenders in other processes queue behind us) and fails if the head we knew is stale.
  // The insert is sent in the same round trip.
  const [moved] = await Promise.all([
    tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4 RETURNING seq', [seq, prev, head.seq, head.hash]),
    tx.query(
      `INSERT INTO audit_event (seq, at, actor_id, actor_role, tenant_id, action, resource_type, resource_id, subject_ref, purpose, outcome, request_id, prev_hash, hash) VALUES ${rows.join(', ')}`,
      values,
    ),
  ]).catch((err: unknown) => {
    // A stale head also shows as a duplicate sequence number on insert.
    if (known && (err as { code?: string }).code === '23505') throw new StaleChainHead();
    throw err;
  });
  if (moved.length !== 1) throw new StaleChainHead();
  if (Math.floor(seq / opts.checkpointEvery) > Math.floor(head.seq / opts.checkpointEvery)) {
    await writeCheckpoint(tx, seq, prev, opts);
  }
  return { seq, hash: prev };
}

/** Signs the current head (Ed25519) so that rewriting history before it needs the signing key. */
export async function writeCheckpoint(tx: Tx, seq: number, hash: string, opts: Pick<AppendOptions, 'keys' | 'now'>): Promise<void> {
  const signature = sign(null, checkpointMessage(seq, hash), opts.keys.auditSigning).toString('base64url');
  await tx.query(
    'INSERT INTO audit_checkpoint (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING',
    [seq, hash, opts.now, opts.keys.auditKeyId, signature],
  );
}

/** Signs a checkpoint at the current head if none exists there yet (shutdown, `audit checkpoint`). */
export async function checkpointHead(tx: Tx, opts: Pick<AppendOptions, 'keys' | 'now'>): Promise<number> {
  const [head] = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
  if (!head || Number(head.seq) === 0) return 0;
  await writeCheckpoint(tx, Number(head.seq), head.hash, opts);
  return Number(head.seq);
}
