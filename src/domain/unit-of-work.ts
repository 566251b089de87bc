import type { Db } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { AuditEventInput } from '../audit/event.ts';
import { appendAudit } from '../audit/append.ts';
import { AccessDenied, makeWork, type Actor, type Work } from './work.ts';
import { AppError } from '../errors/catalogue.ts';

/** A read failed inside the batch transaction: retry the batch's operations one by one. */
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
  private running = 0;
  private readonly maxBatch: number;
  private readonly lanes: number;
  private readonly clock: () => Date;

  constructor(private readonly db: Db, private readonly opts: UnitOfWorkOptions) {
    this.maxBatch = opts.maxBatch ?? 128;
    this.lanes = Math.max(1, opts.lanes ?? (db.engine === 'postgres' ? 4 : 1));
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Runs an operation that may write; its writes are undone alone if it fails. */
  run<T>(actor: Actor, requestId: string, fn: (w: Work) => Promise<T>): Promise<T> {
    return this.enqueue(false, actor, requestId, fn);
  }

  /**
   * Runs an operation that only reads (and at most fills a cache). It is audited exactly like run().
   * It gets no savepoint: if it fails with a database error, the whole batch is retried one
   * operation per transaction, so a bad read never costs the others their answers.
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

  private async commit(batch: Item[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction(async (tx) => {
        outcomes.length = 0;
        const now = this.clock();
        const events: AuditEventInput[] = [];
        // Reads run concurrently: on PostgreSQL their queries are pipelined on the transaction's
        // connection, so a batch costs a few round trips instead of two per request. Writes then
        // run one by one, each in its own savepoint. Events are appended in batch order.
        const perItem: AuditEventInput[][] = batch.map(() => []);
        const runOne = async (item: Item, i: number) => {
          const own: AuditEventInput[] = [];
          const w = makeWork(tx, item.actor, item.requestId, now, this.opts.fields, own);
          try {
            const value = item.readOnly ? await item.fn(w) : await tx.savepoint(() => item.fn(w));
            perItem[i] = own;
            outcomes[i] = { ok: true, value };
          } catch (error) {
            // A read that failed below the domain (database error) has aborted the transaction.
            if (item.readOnly && !(error instanceof AppError)) throw new BatchAborted(error);
            // The operation's writes and events are gone with its savepoint; a denial is still recorded.
            perItem[i] = error instanceof AccessDenied ? [error.event] : [];
            outcomes[i] = { ok: false, error };
          }
        };
        await Promise.all(batch.map((item, i) => (item.readOnly ? runOne(item, i) : undefined)));
        for (const [i, item] of batch.entries()) if (!item.readOnly) await runOne(item, i);
        for (const own of perItem) events.push(...own);
        await appendAudit(tx, events, { keys: this.opts.keys, checkpointEvery: this.opts.checkpointEvery, now });
      });
    } catch (error) {
      if (batch.length > 1 && error instanceof BatchAborted) {
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
