import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ENGINES, clusterDatabase, type Engine } from '../support/engines.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openApp, type App } from '../../src/app.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { tempDir } from '../reporting/support.ts';

const BIN = resolve('bin/saufconduit.mjs');
const EXPIRED = 20_000;

/**
 * `kill -9` in the middle of a retention run (data lifecycle issue): the batches committed before
 * the kill are whole, nothing outside the expired set was touched, the trail verifies, and the next
 * run finishes the work.
 */
describe.each(ENGINES)('kill -9 during a retention run on %s', (engine: Engine) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('leaves whole batches only; the next run finishes, and touches nothing younger', async () => {
    const root = await tempDir(`retention-crash-${engine}`);
    cleanups.push(() => root.remove());
    const masterKey = randomBytes(32).toString('base64');
    const auditKey = randomBytes(32).toString('base64');
    let databaseUrl: string | undefined;
    if (engine === 'postgres') {
      const cluster = await clusterDatabase('retention');
      databaseUrl = cluster.url;
      cleanups.push(() => cluster.drop());
    }
    const dataDir = join(root.path, 'data');
    const config = () => loadConfig({ dataDir, masterKey, auditKey, demo: true, checkpointEvery: 200, ...(databaseUrl ? { databaseUrl } : {}) }, {});
    const counts = async (app: App) => {
      const [r] = await app.db.query<{ old: number; young: number; events: number }>(
        `SELECT (SELECT count(*)::int FROM test_result WHERE created_at < now() - interval '6 months') AS old,
                (SELECT count(*)::int FROM test_result WHERE created_at >= now() - interval '6 months') AS young,
                (SELECT count(*)::int FROM audit_event) AS events`);
      return r!;
    };

    // The demo world, and thousands of results recorded seven months ago (their sealed fields are
    // never read by the job: placeholders), for one of the demo's records.
    const seeding = await openApp(config());
    await seedDemo(seeding);
    const [owner] = await seeding.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM patient ORDER BY created_at LIMIT 1');
    await seeding.db.query(
      `INSERT INTO test_result (id, tenant_id, patient_id, outcome_enc, test_type_enc, sampled_at_enc, recorded_by, created_at)
       SELECT gen_random_uuid(), $1, $2, 'sealed', 'sealed', 'sealed', 'test-seed', now() - interval '7 months' - (g * interval '1 second') FROM generate_series(1, ${EXPIRED}) AS g`,
      [owner!.tenant_id, owner!.id]);
    const before = await counts(seeding);
    expect(before.old).toBe(EXPIRED);
    await seeding.close();

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', SAUFCONDUIT_DEMO: '1', SAUFCONDUIT_DATA: dataDir, SAUFCONDUIT_MASTER_KEY: masterKey,
      SAUFCONDUIT_AUDIT_KEY: auditKey, SAUFCONDUIT_CHECKPOINT_EVERY: '200', LOG_LEVEL: 'warn', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    };
    // Killed as soon as it reports its first committed batch of results (a line per batch on stderr).
    const child = spawn(process.execPath, [BIN, 'retention', 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    cleanups.push(() => (child.kill('SIGKILL'), exited));
    await new Promise<void>((resolveFirst) => {
      child.stderr!.on('data', (d: Buffer) => {
        if (/test-results: \d+ removed/.test(d.toString())) {
          child.kill('SIGKILL');
          resolveFirst();
        }
      });
      void exited.then(() => resolveFirst());
    });
    child.kill('SIGKILL');
    await exited;

    const afterKill = await openApp(config());
    const mid = await counts(afterKill);
    // Whole batches only: what went is a multiple of the batch size, and nothing young went.
    expect((EXPIRED - mid.old) % 500).toBe(0);
    console.log(`[retention crash ${engine}] killed after ${EXPIRED - mid.old} of ${EXPIRED} expired results were removed`);
    // The kill landed mid-run: after the first committed batch, before the last.
    expect(mid.old > 0 && mid.old < EXPIRED, `${mid.old} left`).toBe(true);
    expect(mid.young).toBe(before.young);
    await afterKill.close();
    const verify = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    const v1 = verify(['audit', 'verify']);
    expect(v1.status, v1.stdout + v1.stderr).toBe(0);

    // The next run finishes the work.
    const next = verify(['retention', 'run', '--json']);
    expect(next.status, next.stderr).toBe(0);
    const done = await openApp(config());
    const end = await counts(done);
    expect(end.old).toBe(0);
    expect(end.young).toBe(before.young);
    await done.close();
    const v2 = verify(['audit', 'verify']);
    expect(v2.status, v2.stdout + v2.stderr).toBe(0);
  }, 240_000);
});
