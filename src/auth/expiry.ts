import type { App } from '../app.ts';
import type { Actor } from '../domain/work.ts';
import { CODE_WINDOW_MINUTES, OTP_MINUTES, sessionPolicy } from './login.ts';
import { checkRevocationGrowth } from '../domain/trust-watch.ts';
import { runRetention, type RetentionRun } from '../retention/job.ts';

/** The scheduled job that removes credentials nobody can use any more; audited as itself. */
export const HOUSEKEEPER: Actor = { kind: 'system', id: 'system:housekeeper', role: 'system', tenantId: null };

export interface Purged {
  sessions: number;
  challenges: number;
}

/**
 * Deletes the sessions that can no longer authenticate (past their absolute lifetime, or idle too
 * long) and the login challenges past their expiry (one-time codes, passkey challenges, used or
 * not). Without it they would be kept for ever: a session row is only deleted when its token is
 * presented again, which a lost or abandoned device never does. Each kind purged is one audit event.
 */
export async function purgeExpiredCredentials(app: App): Promise<Purged> {
  const { idleMinutes } = sessionPolicy(app);
  return app.uow.run(HOUSEKEEPER, `purge:${Date.now()}`, async (w) => {
    const count = async (sql: string, params: Date[]) => Number((await w.tx.query<{ n: number }>(`WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, params))[0]!.n);
    const purged = {
      sessions: await count('DELETE FROM session WHERE expires_at <= $1 OR last_seen_at <= $2', [w.now, new Date(w.now.getTime() - idleMinutes * 60_000)]),
      // One-time codes stay until their sending window is over: they count against the next ones.
      challenges: await count(`DELETE FROM auth_challenge WHERE expires_at <= $1 AND (kind <> 'otp' OR expires_at <= $2)`, [w.now, new Date(w.now.getTime() - (CODE_WINDOW_MINUTES - OTP_MINUTES) * 60_000)]),
    };
    const event = { resourceId: null, subjectRef: null, purpose: 'retention', outcome: 'success' } as const;
    if (purged.sessions > 0) w.record({ ...event, action: 'session.purge', resourceType: 'Session' });
    if (purged.challenges > 0) w.record({ ...event, action: 'auth-challenge.purge', resourceType: 'AuthChallenge' });
    return purged;
  });
}

/**
 * The daily retention run (src/retention/): due when no run has finished in the last 24 hours, so a
 * run cut short (a crash, a restart) is taken up again at the next pass, and finishes the work.
 */
export async function retentionIfDue(app: App, now: Date): Promise<RetentionRun | null> {
  const [last] = await app.db.query<{ at: Date | null }>('SELECT max(started_at) AS at FROM retention_run WHERE finished_at IS NOT NULL');
  if (last?.at && now.getTime() - new Date(last.at).getTime() < 24 * 3_600_000) return null;
  return runRetention(app, now);
}

/** Structured log sink (pino-compatible): counts only. */
interface Log {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Runs the housekeeping now and then every `everyMs` until stopped: the purge of expired
 * credentials, the watch on the revocation list's growth (see trust-watch.ts), and the daily
 * retention run.
 */
export function startHousekeeping(app: App, log: Log & { warn(obj: object, msg: string): void }, everyMs = 10 * 60_000): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let lastAlertAt: Date | null = null;
  const pass = () => {
    const purge = purgeExpiredCredentials(app).then(
      (purged) => (purged.sessions + purged.challenges > 0 ? log.info(purged, 'expired credentials purged') : undefined),
      (err: unknown) => log.error({ type: (err as Error).name }, 'purge of expired credentials failed; retried next pass'),
    );
    const watch = checkRevocationGrowth(app.db, app.uow, { perHour: app.config.revocationAlertPerHour, listed: app.config.revocationAlertListed }, new Date(), lastAlertAt).then(
      (g) => {
        if (!g.alerted) return;
        lastAlertAt = new Date();
        log.warn({ listed: g.listed, lastHour: g.lastHour }, 'abnormal growth of the revocation list');
      },
      (err: unknown) => log.error({ type: (err as Error).name }, 'revocation-list watch failed; retried next pass'),
    );
    const retention = retentionIfDue(app, new Date()).then(
      (run) => (run ? log.info({ removed: run.removed }, 'retention run') : undefined),
      (err: unknown) => log.error({ type: (err as Error).name }, 'retention run failed; resumed next pass'),
    );
    running = Promise.all([purge, watch, retention]);
  };
  pass();
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
