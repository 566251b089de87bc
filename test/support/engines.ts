import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Db } from '../../src/store/db.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { openApp, type App } from '../../src/app.ts';
import { MemoryMailer } from '../../src/notify/mailer.ts';

/** Every database test runs on both engines. */
export const ENGINES = ['pglite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** The throwaway cluster started by `npm test` (scripts/test.mjs). Missing = failure, not a skip. */
export function clusterUrl(): string {
  const url = process.env.SAUFCONDUIT_TEST_PG_URL;
  if (!url) throw new Error('SAUFCONDUIT_TEST_PG_URL is not set: run the tests with `npm test`, which starts a throwaway PostgreSQL');
  return url;
}

export const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/** A new, empty database in the throwaway cluster (its name starts with `prefix`), and how to drop it. */
export async function clusterDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = postgres(clusterUrl(), { max: 1, onnotice: () => undefined });
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  return {
    url: withDatabase(clusterUrl(), name),
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A fresh, empty database: PGlite in memory, or a new database in the throwaway cluster. */
export async function openTestDb(engine: Engine): Promise<{ db: Db; url: string | null; drop(): Promise<void> }> {
  if (engine === 'pglite') {
    const db = await openPglite();
    return { db, url: null, drop: () => db.close() };
  }
  const cluster = await clusterDatabase('t');
  const db = await openPostgres(cluster.url, { max: 4 });
  return {
    db, url: cluster.url,
    async drop() {
      await db.close();
      await cluster.drop();
    },
  };
}

export interface TestApp extends App {
  mail: MemoryMailer;
  dbUrl: string | null;
  dispose(): Promise<void>;
}

export async function openTestApp(engine: Engine, overrides: Parameters<typeof loadConfig>[0] = {}): Promise<TestApp> {
  const t = await openTestDb(engine);
  const config: Config = loadConfig({
    masterKey: randomBytes(32).toString('base64'), auditKey: randomBytes(32).toString('base64'), port: 0, logLevel: 'silent', rateLimitPerMinute: 100_000,
    authRateLimitPerMinute: 10_000, checkpointEvery: 50, dataDir: '/nonexistent', ...overrides,
  }, {});
  const mail = new MemoryMailer();
  const app = await openApp(config, { db: t.db, mailer: mail });
  return Object.assign(app, {
    mail, dbUrl: t.url,
    async dispose() {
      await app.close();
      await t.drop();
    },
  });
}
