import type { Db } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { AuditEventInput } from '../audit/event.ts';
import { appendAudit } from '../audit/append.ts';
import { AccessDenied, makeWork, type Actor, type Work } from './work.ts';

interface Item {
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

  run<T>(actor: Actor, requestId: string, fn: (w: Work) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ actor, requestId, fn, resolve: resolve as (v: unknown) => void, reject });
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
        for (const item of batch) {
          const own: AuditEventInput[] = [];
          const w = makeWork(tx, item.actor, item.requestId, now, this.opts.fields, own);
          try {
            const value = await tx.savepoint(() => item.fn(w));
            events.push(...own);
            outcomes.push({ ok: true, value });
          } catch (error) {
            // The operation's writes and events are gone with its savepoint; a denial is still recorded.
            if (error instanceof AccessDenied) events.push(error.event);
            outcomes.push({ ok: false, error });
          }
        }
        await appendAudit(tx, events, { keys: this.opts.keys, checkpointEvery: this.opts.checkpointEvery, now });
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }
}
