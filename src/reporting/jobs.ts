import PgBoss from 'pg-boss';
import type { App } from '../app.ts';
import type { Db, SqlParam, Tx } from '../store/db.ts';
import { deliverReport, DeliveryFailed, type ReportTarget } from './deliver.ts';
import { NotificationFailed, sendResultNotifications } from '../notify/result-available.ts';
import type { OutboxKind } from './outbox.ts';
import { jobLeaseSeconds } from '../config/config.ts';

/**
 * Background delivery of the outbox on pg-boss (a PostgreSQL-backed job queue), on both engines.
 *
 *   recordResult ──(same tx)──▶ outbox rows ──relay (tx: claim rows SKIP LOCKED + pg-boss send)──▶ jobs
 *   jobs ──worker──▶ POST to the national endpoint / mail to the patient ──(tx)──▶ row delivered + audit
 *
 * The outbox table is the source of truth: a row is undelivered until a worker marked it delivered.
 * The relay hands rows to pg-boss, many to a job (ROWS_PER_JOB), inside one transaction (a row is
 * marked queued if and only if a job carries it), pg-boss retries failed attempts with exponential backoff and re-runs jobs whose
 * worker died (expiry), and the relay re-queues a row whose jobs all gave up (`rearmAfterMs`).
 * Every attempt of a report carries the same body and Idempotency-Key, so the receiver stores it once.
 */

export const QUEUES: Record<OutboxKind, string> = { report: 'saufconduit-report', notification: 'saufconduit-notification' };

/** Structured log sink (pino-compatible). Fields are codes and counts only: never ids or personal data. */
export interface JobLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
const silent: JobLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface JobsOptions {
  /** PostgreSQL only: pg-boss's connection string, when the app's store was opened from elsewhere (tests). Default: config. */
  connectionString?: string;
  /** National endpoint; null keeps reports queued in the outbox (nothing is lost, nothing is sent). Default: config. */
  reportUrl?: string | null;
  log?: JobLog;
  /** Retries after the first attempt; delays grow as 1-2 s, 2-4 s, … 2^n s (pg-boss backoff with jitter). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** How often the relay looks for new outbox rows. */
  relayIntervalMs?: number;
  /** How often workers look for jobs queued by other processes or due for a retry (the relay wakes local ones at once). */
  pollingIntervalSeconds?: number;
  /** Re-queue a row still undelivered this long after it was queued (its jobs have exhausted their retries). */
  rearmAfterMs?: number;
  batchSize?: number;
}

export interface Jobs {
  /** Where reports go, or null when reporting is off. */
  readonly reportUrl: string | null;
  stop(): Promise<void>;
}

/** The production retry policy: 13 attempts over about 2-4 h, then re-armed every 6 h until delivered. */
export const RETRY_DEFAULTS = { retryLimit: 12, retryDelaySeconds: 1, rearmAfterMs: 6 * 3600_000 } as const;

/**
 * Starts pg-boss, the workers and the relay for this process. Several processes may run it at once
 * on PostgreSQL (rows are claimed with SKIP LOCKED; jobs are fetched with SKIP LOCKED).
 */
export async function startJobs(app: App, options: JobsOptions = {}): Promise<Jobs> {
  const log = options.log ?? silent;
  const reportUrl = options.reportUrl === undefined ? (app.config.reportUrl ?? null) : options.reportUrl;
  const timeoutMs = app.config.reportTimeoutSeconds * 1000;
  const expireInSeconds = jobLeaseSeconds(app.config.reportTimeoutSeconds);
  const retryLimit = options.retryLimit ?? RETRY_DEFAULTS.retryLimit;
  const retryDelay = options.retryDelaySeconds ?? RETRY_DEFAULTS.retryDelaySeconds;
  const rearmAfterMs = options.rearmAfterMs ?? RETRY_DEFAULTS.rearmAfterMs;
  const relayIntervalMs = options.relayIntervalMs ?? 200;
  // Jobs per fetch. A job carries up to ROWS_PER_JOB outbox rows (see Relay), and all the rows of
  // the jobs fetched together are attempted concurrently.
  const batchSize = options.batchSize ?? 2;

  const boss = new PgBoss({
    ...(app.db.engine === 'pglite'
      // PGlite is one connection: pg-boss shares it through the store's serialised query path.
      ? { db: sharedConnection(app.db) }
      : { connectionString: connectionString(app, options), max: 3, application_name: 'saufconduit-jobs' }),
    schedule: false,
    supervise: true,
    // Maintenance expires the jobs of dead workers: as often as a lease lasts.
    maintenanceIntervalSeconds: expireInSeconds,
  });
  boss.on('error', (err: Error) => log.error({ type: err.name }, 'job queue error'));
  await boss.start();
  const queueOptions = { retryLimit, retryDelay, retryBackoff: true, expireInSeconds };
  for (const name of Object.values(QUEUES)) await ensureQueue(boss, name, queueOptions);

  if (app.db.engine === 'pglite') {
    // One process owns a PGlite directory: a job still active at start was held by a previous run
    // that died (kill -9, power loss). Hand it back to pg-boss's retry now instead of after its lease,
    // and lift the claims that run left on notifications it was sending.
    await app.db.query('UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL');
    for (const name of Object.values(QUEUES)) {
      const orphans = await app.db.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = $1 AND state = 'active'`, [name]);
      if (orphans.length > 0) {
        for (const o of orphans) await boss.fail(name, o.id, { code: 'orphaned-by-restart' });
        log.info({ queue: name, count: orphans.length }, 'requeued jobs of a previous run');
      }
    }
  }

  const target: ReportTarget | null = reportUrl
    ? { url: reportUrl, timeoutMs, identity: app.config.reportIdentity, signing: app.reporting.signing, kid: app.reporting.publicJwk.kid, pseudonymKey: app.reporting.pseudonym }
    : null;
  if (!target) log.warn({}, 'SAUFCONDUIT_REPORT_URL is not set: national reports stay queued in the outbox');

  const workerIds: string[] = [];
  const workerOf: Record<string, string> = {};
  const pollingIntervalSeconds = options.pollingIntervalSeconds ?? 2;
  type Data = { outboxIds?: unknown; outboxId?: unknown };
  const handle = (queue: string, run: (outboxIds: string[]) => Promise<unknown>) => async (jobs: PgBoss.Job<Data>[]) => {
    await Promise.all(jobs.map(async (job) => {
      try {
        // Every row of the job is attempted. If one fails, the job fails and is retried as a whole;
        // its rows delivered meanwhile are skipped then (each delivery checks and marks its rows), so
        // a retry only repeats what did not go through.
        await run(outboxIdsOf(job.data));
      } catch (err) {
        const code = err instanceof DeliveryFailed || err instanceof NotificationFailed ? err.code : (err as Error).name;
        log.warn({ queue, code }, 'delivery attempt failed; the queue retries it');
        // Only this job is retried; the batch's other jobs complete normally.
        await boss.fail(queue, job.id, { code }).catch(() => undefined);
      }
    }));
    // A full batch means a backlog: fetch the next one at once instead of sleeping the polling
    // interval (which would cap delivery at batchSize per interval, about 8/s).
    const worker = workerOf[queue];
    if (jobs.length >= batchSize && worker) boss.notifyWorker(worker);
  };
  if (target) {
    const deps = { db: app.db, uow: app.uow, fields: app.fields, target };
    // Reports one request each, all of a job's at once.
    const deliverAll = async (ids: string[]) => {
      const failed = (await Promise.allSettled(ids.map((id) => deliverReport(deps, id)))).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    };
    workerIds.push(workerOf[QUEUES.report] = await boss.work<Data>(QUEUES.report, { batchSize, pollingIntervalSeconds }, handle(QUEUES.report, deliverAll)));
  }
  // A row stays claimed for two leases: an attempt pg-boss starts when the first one's lease ran out
  // (a slow mail server) leaves its rows alone; one left by a dead process is free again soon after.
  const notifyDeps = { uow: app.uow, fields: app.fields, mailer: app.mailer, publicUrl: app.config.publicUrl, claimMs: 2 * expireInSeconds * 1000 };
  // A job's notifications: set-based, and no mail waited for inside a transaction (see sendResultNotifications).
  workerIds.push(workerOf[QUEUES.notification] = await boss.work<Data>(QUEUES.notification, { batchSize, pollingIntervalSeconds }, handle(QUEUES.notification, (ids) => sendResultNotifications(notifyDeps, ids))));

  const kinds: OutboxKind[] = target ? ['report', 'notification'] : ['notification'];
  const relay = new Relay(app.db, boss, kinds, rearmAfterMs, () => workerIds.forEach((w) => boss.notifyWorker(w)));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    running = relay.pass().then(
      (more) => more,
      (err: Error) => (log.error({ type: err.name }, 'outbox relay failed'), false),
    ).then((more) => {
      // A full batch means more may be waiting: go again at once.
      if (!stopped) timer = setTimeout(loop, more ? 0 : relayIntervalMs);
    });
  };
  loop();
  log.info({ reporting: target ? 'on' : 'off' }, 'outbox delivery started');

  return {
    reportUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await running;
      // Lets in-flight attempts finish (bounded), then hands unfinished jobs back for retry.
      await boss.stop({ graceful: true, timeout: timeoutMs + 1000 });
    },
  };
}

/**
 * Outbox rows per job. A job is the queue's unit of work: each costs pg-boss an insert, a fetch (which
 * sorts the queue's waiting jobs) and a completion, far more than delivering a notification, so
 * rows travel in groups. Reports go in small groups: each row is a request to the national endpoint,
 * and all of a job's rows are attempted at once.
 */
export const ROWS_PER_JOB: Readonly<Record<OutboxKind, number>> = { report: 10, notification: 100 };

/** The outbox rows a job carries; a job queued by an earlier version carries one, as `outboxId`. */
function outboxIdsOf(data: { outboxIds?: unknown; outboxId?: unknown } | undefined): string[] {
  const ids = data?.outboxIds;
  if (Array.isArray(ids) && ids.length > 0 && ids.length <= Relay.BATCH && ids.every((x) => typeof x === 'string')) return ids as string[];
  if (typeof data?.outboxId === 'string') return [data.outboxId];
  throw new DeliveryFailed('bad-job');
}

/** Moves undelivered outbox rows to pg-boss jobs, one transaction per batch. */
class Relay {
  static readonly BATCH = 100;
  constructor(
    private readonly db: Db,
    private readonly boss: PgBoss,
    private readonly kinds: readonly OutboxKind[],
    private readonly rearmAfterMs: number,
    private readonly wake: () => void,
  ) {}

  /** One pass over every kind; true when a kind filled a whole batch, so more may be waiting. */
  async pass(): Promise<boolean> {
    const stale = new Date(Date.now() - this.rearmAfterMs);
    let moved = 0;
    let more = false;
    for (const kind of this.kinds) {
      const n = await this.move(kind, stale);
      moved += n;
      if (n >= Relay.BATCH) more = true;
    }
    if (moved > 0) this.wake();
    return more;
  }

  /**
   * One kind at a time, oldest first: each query then reads the pending index (kind, created_at) in
   * order. (A probe over several kinds without an order let the planner pick a sequential scan of
   * the whole outbox, expecting an early hit, and read every row when there was none.)
   */
  private async move(kind: OutboxKind, stale: Date): Promise<number> {
    const where = `kind = $2 AND delivered_at IS NULL AND (queued_at IS NULL OR queued_at < $1)`;
    // A cheap probe first: most passes find nothing and should not open a transaction.
    const probe = await this.db.query(`SELECT 1 FROM outbox WHERE ${where} ORDER BY created_at LIMIT 1`, [stale, kind]);
    if (probe.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string }>(
        `SELECT id FROM outbox WHERE ${where} ORDER BY created_at LIMIT ${Relay.BATCH} FOR UPDATE SKIP LOCKED`, [stale, kind]);
      if (rows.length === 0) return 0;
      const db = transactionConnection(tx);
      // Same transaction as the mark below: a row is marked queued if and only if a job carries it.
      const jobs: string[][] = [];
      for (let i = 0; i < rows.length; i += ROWS_PER_JOB[kind]) jobs.push(rows.slice(i, i + ROWS_PER_JOB[kind]).map((r) => r.id));
      // Sent together, so the inserts are pipelined on the transaction's connection.
      const jobIds = await Promise.all(jobs.map((ids) => this.boss.send(QUEUES[kind], { outboxIds: ids }, { db })));
      if (jobIds.some((id) => !id)) throw new Error('job queue refused a job (queue missing?)');
      await tx.query(`UPDATE outbox SET queued_at = $2 WHERE id = ANY(string_to_array($1, ',')::uuid[])`, [rows.map((r) => r.id).join(','), new Date()]);
      return rows.length;
    });
  }
}

function connectionString(app: App, options: JobsOptions): string {
  const url = options.connectionString ?? app.config.databaseUrl;
  if (!url) throw new Error('job queue: no PostgreSQL connection string');
  return url;
}

/**
 * Creates pg-boss's schema and our queues on PostgreSQL, as the schema owner (`saufconduit migrate`),
 * so that an application role with data privileges only (`--app-role`) can run the workers.
 */
export async function installJobQueue(connectionString: string, reportTimeoutSeconds: number): Promise<void> {
  const boss = new PgBoss({ connectionString, max: 1, schedule: false, supervise: false, application_name: 'saufconduit-migrate' });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    const options = { retryLimit: RETRY_DEFAULTS.retryLimit, retryDelay: RETRY_DEFAULTS.retryDelaySeconds, retryBackoff: true, expireInSeconds: jobLeaseSeconds(reportTimeoutSeconds) };
    for (const name of Object.values(QUEUES)) await ensureQueue(boss, name, options);
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

async function ensureQueue(boss: PgBoss, name: string, options: Omit<PgBoss.Queue, 'name'>): Promise<void> {
  if (!(await boss.getQueue(name))) {
    // Two processes starting together may race to create it: the loser updates instead.
    try {
      await boss.createQueue(name, { name, ...options });
      return;
    } catch (err) {
      if (!(await boss.getQueue(name))) throw err;
    }
  }
  await boss.updateQueue(name, { name, ...options });
}

type PgBossDb = { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };

/**
 * pg-boss on the app's PGlite store: parameterised statements through `query`, and its
 * parameterless scripts (migrations, maintenance wrapped in BEGIN … COMMIT) through `exec`.
 * Both go through the store's queue, so they never interleave with an app transaction.
 */
function sharedConnection(db: Db): PgBossDb {
  return {
    async executeSql(text, values) {
      if ((values && values.length > 0) || !text.includes(';')) return { rows: await db.query(text, (values ?? []) as SqlParam[]) };
      try {
        await db.exec(text);
      } catch (err) {
        // A failed script may leave its BEGIN open on the shared connection.
        await db.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
      return { rows: [] };
    },
  };
}

/**
 * pg-boss statements inside one of our transactions (PGlite or PostgreSQL). Job data stays an object:
 * both drivers serialise it for its jsonb parameter (a pre-serialised string would be stored as a JSON string).
 */
function transactionConnection(tx: Tx): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const params = values.map((v) => (v === undefined ? null : v)) as SqlParam[];
      return { rows: await tx.query(text, params) };
    },
  };
}
