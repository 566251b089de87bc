import cluster from 'node:cluster';
import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { isDemoStore, openApp, type App } from '../../app.ts';
import type { Config } from '../../config/config.ts';
import { startCheckpointTimer } from '../../audit/checkpoint-timer.ts';
import { buildServer } from '../../http/server.ts';
import { startJobs } from '../../reporting/jobs.ts';
import { startHousekeeping } from '../../auth/expiry.ts';
import { startAlertEvaluator } from '../../alerts/evaluate.ts';

export async function run(argv: string[], io: CliIo): Promise<number> {
  if (argv.length > 0) {
    io.stderr.write('usage: saufconduit serve   (configuration comes from the environment; see README)\n');
    return EXIT_USAGE;
  }
  const config = loadConfig();
  refuseDemoOnlySettings(config);
  if (config.workers > 1) {
    if (!config.databaseUrl) throw new Error('invalid configuration: SAUFCONDUIT_WORKERS > 1 needs DATABASE_URL (PGlite is single-process)');
    if (cluster.isPrimary) {
      // Migrate and check the store once, then fork: workers share the listening socket.
      await (await openServable(config)).close();
      for (let i = 0; i < config.workers; i++) cluster.fork();
      io.stdout.write(`started ${config.workers} workers\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
          let left = workers.length;
          if (left === 0) resolve();
          for (const w of workers) {
            w.once('exit', () => --left === 0 && resolve());
            w.process.kill('SIGTERM');
          }
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return EXIT_OK;
    }
  }
  const app = await openServable(config);
  await serveUntilSignal(app, io, config.demo ? { banner: DEMO_BANNER } : {});
  // A worker's IPC channel to the primary would keep it alive after a clean shutdown.
  if (cluster.isWorker) process.exit(EXIT_OK);
  return EXIT_OK;
}

/**
 * Outside the demo, `serve` refuses what is for the demo only: the file and console mail
 * transports (login codes in files or on a terminal); the demo world, and keys generated into the
 * data directory, are refused when the store is opened (app.ts, and below).
 */
export function refuseDemoOnlySettings(config: Config): void {
  if (config.demo) return;
  if (config.mailTransport !== 'smtp') {
    throw new Error(`invalid configuration: SAUFCONDUIT_MAIL_TRANSPORT=${config.mailTransport} writes login codes and notifications to ${config.mailTransport === 'file' ? 'files' : 'the terminal'}: for the demo only (SAUFCONDUIT_DEMO=1); set SAUFCONDUIT_MAIL_TRANSPORT=smtp and SAUFCONDUIT_SMTP_URL`);
  }
}

/** Opens the store `serve` will serve: outside the demo, never the demo world. */
async function openServable(config: Config): Promise<App> {
  const app = await openApp(config);
  if (!config.demo && (await isDemoStore(app.db))) {
    await app.close();
    throw new Error('invalid configuration: this store holds the fictitious demo world; serve it with SAUFCONDUIT_DEMO=1 (npm start), or point serve at a real store');
  }
  return app;
}

/** What `serve` prints in the demo: loudly, what must never meet a real patient. */
export const DEMO_BANNER = [
  '*** DEMO MODE (SAUFCONDUIT_DEMO=1): for trying Saufconduit, never for real patients. ***',
  '    Demo-only: the fictitious demo world and its published logins, mails written to files or the',
  '    terminal, keys generated into the data directory, the bundled national-reporting receiver.',
  '',
].join('\n') + '\n';

export interface ServeOptions {
  /** Printed before the listening line. */
  banner?: string;
  /** Report here instead of SAUFCONDUIT_REPORT_URL (`start` points it at its bundled receiver). */
  reportUrl?: string | null;
}

/**
 * Listens and runs the outbox workers (national reports, patient notifications), the purge of
 * expired credentials and the access-alert rules, then shuts down cleanly on SIGINT/SIGTERM: stop accepting, finish in-flight
 * requests, let in-flight deliveries finish or hand them back to the queue, sign the audit head.
 */
export async function serveUntilSignal(app: App, io: CliIo, options: ServeOptions = {}): Promise<void> {
  const server = await buildServer(app);
  const address = await server.listen({ port: app.config.port, host: app.config.host });
  const jobs = await startJobs(app, { log: server.log.child({ component: 'jobs' }), ...(options.reportUrl !== undefined ? { reportUrl: options.reportUrl } : {}) });
  const housekeeping = startHousekeeping(app, server.log.child({ component: 'housekeeping' }));
  const checkpoints = startCheckpointTimer(app, app.config.checkpointSeconds, server.log.child({ component: 'audit' }));
  // Access alerts: the rules judge new audit events within seconds (src/alerts/).
  const alerts = app.config.alertIntervalMs > 0 ? startAlertEvaluator(app.db, app.config, server.log.child({ component: 'alerts' }), app.config.alertIntervalMs) : null;
  // The banner comes last, once everything has started: the logins are what a newcomer looks for.
  io.stdout.write(`listening on ${address} (${app.db.engine}; national reporting ${jobs.reportUrl ? `to ${jobs.reportUrl}` : 'off: reports wait in the outbox'})\n${options.banner ?? ''}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await housekeeping.stop();
  await checkpoints.stop();
  await alerts?.stop();
  await jobs.stop();
  await app.close();
}
