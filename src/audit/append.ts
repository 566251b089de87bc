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
 * Appends events to the chain inside the caller's transaction. The head row is locked first, so
 * concurrent transactions (even from other processes) extend the chain one after the other; the
 * events become visible, and the caller may answer, only when that transaction commits.
 */
export async function appendAudit(tx: Tx, events: readonly AuditEventInput[], opts: AppendOptions): Promise<number> {
  if (events.length === 0) return 0;
  const [head] = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
  if (!head) throw new Error('audit head missing: database not migrated');
  let seq = Number(head.seq);
  let prev = head.hash;
  const startSeq = seq;
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
  await tx.query(
    `INSERT INTO audit_event (seq, at, actor_id, actor_role, tenant_id, action, resource_type, resource_id, subject_ref, purpose, outcome, request_id, prev_hash, hash) VALUES ${rows.join(', ')}`,
    values,
  );
  await tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, prev]);
  if (Math.floor(seq / opts.checkpointEvery) > Math.floor(startSeq / opts.checkpointEvery)) {
    await writeCheckpoint(tx, seq, prev, opts);
  }
  return seq;
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
