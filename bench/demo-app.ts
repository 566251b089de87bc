import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import postgres from 'postgres';
// @ts-expect-error plain ESM helper shared with the test runner
import { startThrowawayPostgres } from '../scripts/pg.mjs';
import { loadConfig } from '../src/config/config.ts';
import { openApp, type App } from '../src/app.ts';
import { seedDemo, DEMO } from '../src/demo/world.ts';
import { findAccountByLogin, principalFor } from '../src/domain/accounts.ts';
import type { Principal } from '../src/policy/principal.ts';

/**
 * For benchmarks that drive the domain in-process: a throwaway PostgreSQL (default durability), the
 * demo world on it, and the first demo pharmacy's staff member; torn down after `fn`.
 */
export async function withDemoApp<T>(label: string, fn: (ctx: { app: App; postgresVersion: string; staff: Principal }) => Promise<T>): Promise<T> {
  const pg = await startThrowawayPostgres();
  try {
    const admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
    await admin.unsafe('CREATE DATABASE saufconduit');
    const postgresVersion = String((await admin.unsafe('SHOW server_version'))[0]!.server_version);
    await admin.end();
    const env = {
      ...process.env, SAUFCONDUIT_DEMO: '1', DATABASE_URL: pg.url.replace(/\/postgres$/, '/saufconduit'), LOG_LEVEL: 'warn',
      SAUFCONDUIT_DATA: mkdtempSync(join(tmpdir(), `bench-${label}-`)), SAUFCONDUIT_AUDIT_KEY: randomBytes(32).toString('base64'),
      SAUFCONDUIT_MASTER_KEY: randomBytes(32).toString('base64'), SAUFCONDUIT_MAIL_TRANSPORT: 'console',
    };
    const app = await openApp(loadConfig({}, env));
    try {
      await seedDemo(app);
      const account = await findAccountByLogin(app.db, app.keys, DEMO.staff[0]!.login);
      const staff = (await principalFor(app.db, account!.id))!;
      return await fn({ app, postgresVersion, staff });
    } finally {
      await app.close();
    }
  } finally {
    pg.stop();
  }
}
