import { isReadOnlySql, type Db, type Tx } from '../store/db.ts';
import { Lookups } from '../store/lookups.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { AuditEventInput } from '../audit/event.ts';
import { appendAudit, type AppendOptions, type ChainHead } from '../audit/append.ts';
import type { Checkpoint } from '../audit/export.ts';
import { AccessDenied, makeWork, type Actor, type Work } from './work.ts';
import { AppError } from '../errors/catalogue.ts';

/** The batch cannot be committed as is: replay its operations one per transaction. */
class BatchAborted extends Error {
  constructor(override readonly cause: unknown) {
    super('batch aborted by a failing read');
  }
}

interface Item {
  /** Reads run without a savepoint of their own (two round trips fewer); see commit(). */
  readOnly: boolean;
  actor: Actor;
  requestId: string;
  fn: (w: Work) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface UnitOfWorkOptions {
  fields: FieldCipher;
  keys: KeyRing;
  checkpointEvery: number;
  /** Most operations committed together; bounds the latency one batch adds to the next. */
  maxBatch?: number;
  /**
   * Transactions in flight at once. They overlap their reads and writes and queue only for the
   * chain head lock at the end, so a few lanes keep the database busy; one on PGlite (one connection).
   */
  lanes?: number;
  clock?: () => Date;
  /** Called with each checkpoint the batches sign, once it is committed (to export it). */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
  /** The newest exported checkpoint, and who hears of a checkpoint refused against it (see writeCheckpoint). */
  anchor?: AppendOptions['anchor'];
  onRefused?: AppendOptions['onRefused'];
}

/**
 * Runs domain operations with group commit. Operations queue up while a transaction is in flight;
 * the next transaction runs each of them in its own savepoint, appends all their audit events to the
 * chain (one head lock, one multi-row insert) and commits once. No caller is answered before that
 * commit, so nothing is ever shown or acknowledged without its durable audit event, while the chain
 * lock and the WAL flush are paid once per batch instead of once per request.
 */
export class UnitOfWork {
  private queue: Item[] = [];
  /** The chain head as of our last commit; forgotten on any failure (then read from the database). */
  private head: ChainHead | undefined;
  private running = 0;
  private readonly maxBatch: number;
  private readonly lanes: number;
  private readonly clock: () => Date;

  constructor(private readonly db: Db, private readonly opts: UnitOfWorkOptions) {
    this.maxBatch = opts.maxBatch ?? 128;
    this.lanes = Math.max(1, opts.lanes ?? 1);
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Runs an operation that may write; its writes are undone alone if it fails. */
  run<T>(actor: Actor, requestId: string, fn: (w: Work) => Promise<T>): Promise<T> {
    return this.enqueue(false, actor, requestId, fn);
  }

  /**
   * Runs an operation that only reads (and at most fills a cache). It is audited exactly like run();
   * the difference matters only when it runs alone: a read needs no savepoint of its own.
   */
  read<T>(actor: Actor, requestId: string, fn: (w: Work) => Promise<T>): Promise<T> {
    return this.enqueue(true, actor, requestId, fn);
  }

  private enqueue<T>(readOnly: boolean, actor: Actor, requestId: string, fn: (w: Work) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ readOnly, actor, requestId, fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.running < this.lanes) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.running += 1;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commit(batch);
      }
    } finally {
      this.running -= 1;
    }
  }

  /**
   * Commits one batch. Every operation runs concurrently in the batch's transaction, so on
   * PostgreSQL their queries are pipelined on its connection: a batch costs a handful of round
   * trips instead of several per request. That is safe because a failure can be undone cheaply in
   * only two cases, which we check: the operation failed with a domain error (AppError, including
   * a denial) before writing anything, so there is nothing to undo. Anything else (a database
   * error, or a domain error after a write) aborts the batch, and its operations are replayed one
   * per transaction, where each gets a savepoint and fails alone. Events are appended in batch order.
   */
  private async commit(batch: Item[]): Promise<void> {
    const single = batch.length === 1;
    let newHead: ChainHead | undefined;
    let checkpoint: Checkpoint | undefined;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction(async (tx) => {
        outcomes.length = 0;
        const now = this.clock();
        const perItem: AuditEventInput[][] = batch.map(() => []);
        // Shared by the batch's operations: their concurrent lookups become one query each.
        const lookups = new Lookups();
        const runOne = async (item: Item, i: number) => {
          const own: AuditEventInput[] = [];
          let wrote = false;
          const tracked: Tx = {
            query: (sql, params) => {
              // An operation that only ran reads may fail without undo.
              if (!isReadOnlySql(sql)) wrote = true;
              return tx.query(sql, params);
            },
            savepoint: (fn) => tx.savepoint(fn),
            lookups,
          };
          const w = makeWork(tracked, item.actor, item.requestId, now, this.opts.fields, this.opts.keys.lookup, own);
          try {
            const value = single && !item.readOnly ? await tx.savepoint(() => item.fn(w)) : await item.fn(w);
            perItem[i] = own;
            outcomes[i] = { ok: true, value };
          } catch (error) {
            if (!single && (!(error instanceof AppError) || wrote)) throw new BatchAborted(error);
            if (single && item.readOnly && !(error instanceof AppError)) throw new BatchAborted(error);
            // Nothing of the operation remains (no write, or its savepoint rolled back); a denial is still recorded.
            perItem[i] = error instanceof AccessDenied ? [error.event] : [];
            outcomes[i] = { ok: false, error };
          }
        };
        const settled = await Promise.allSettled(batch.map(runOne));
        const aborted = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (aborted) throw aborted.reason instanceof BatchAborted ? aborted.reason : new BatchAborted(aborted.reason);
        ({ head: newHead, checkpoint } = await appendAudit(tx, perItem.flat(), {
          keys: this.opts.keys, checkpointEvery: this.opts.checkpointEvery, now,
          ...(this.opts.anchor ? { anchor: this.opts.anchor } : {}), ...(this.opts.onRefused ? { onRefused: this.opts.onRefused } : {}),
        }, this.head));
      });
      this.head = newHead;
      if (checkpoint) this.opts.onCheckpoint?.(checkpoint);
    } catch (error) {
      this.head = undefined;
      if (!single && error instanceof BatchAborted) {
        for (const item of batch) await this.commit([item]);
        return;
      }
      for (const item of batch) item.reject(error instanceof BatchAborted ? error.cause : error);
      return;
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }
}
