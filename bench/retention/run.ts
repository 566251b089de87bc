/**
 * Retention benchmark (data lifecycle issue, point 2): how fast the retention job removes expired
 * rows on PostgreSQL, and what it does to audited reads of the rows that remain while it runs.
 *
 * One throwaway PostgreSQL (default durability) and the demo world, plus BENCH_EXPIRED (default
 * 1,000,000) test results recorded seven months ago (their sealed fields are placeholders: the job
 * never reads them). Reads: BENCH_READERS (default 8) concurrent loops of a pharmacy's staff reading
 * one of its remaining patient records (audited, one event each, durable before the answer), for
 * BENCH_SECONDS (default 10) without retention (the reference), then during the whole retention
 * run, side by side in one process. Writes bench/results/retention.json and the retention section of
 * docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, cpus } from 'node:os';
// @ts-expect-error plain ESM helper shared with the test runner
import { startThrowawayPostgres } from '../../scripts/pg.mjs';
import postgres from 'postgres';
import { loadConfig } from '../../src/config/config.ts';
import { openApp } from '../../src/app.ts';
import { seedDemo, DEMO } from '../../src/demo/world.ts';
import { findAccountByLogin, principalFor } from '../../src/domain/accounts.ts';
import { getPatient } from '../../src/domain/patients.ts';
import { runRetention } from '../../src/retention/job.ts';
import type { Principal } from '../../src/policy/principal.ts';

const EXPIRED = Number(process.env.BENCH_EXPIRED ?? 1_000_000);
const READERS = Number(process.env.BENCH_READERS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const root = new URL('../../', import.meta.url).pathname;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)] ?? 0;
};

async function main(): Promise<void> {
  const pg = await startThrowawayPostgres();
  try {
    const admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
    await admin.unsafe('CREATE DATABASE saufconduit');
    const version = String((await admin.unsafe('SHOW server_version'))[0]!.server_version);
    await admin.end();
    const env = {
      ...process.env, SAUFCONDUIT_DEMO: '1', DATABASE_URL: pg.url.replace(/\/postgres$/, '/saufconduit'), LOG_LEVEL: 'warn',
      SAUFCONDUIT_DATA: mkdtempSync(join(tmpdir(), 'bench-retention-')), SAUFCONDUIT_AUDIT_KEY: randomBytes(32).toString('base64'),
      SAUFCONDUIT_MASTER_KEY: randomBytes(32).toString('base64'), SAUFCONDUIT_MAIL_TRANSPORT: 'console',
    };
    const app = await openApp(loadConfig({}, env));
    try {
      await seedDemo(app);
      const account = await findAccountByLogin(app.db, app.keys, DEMO.staff[0]!.login);
      const staff = (await principalFor(app.db, account!.id))! as Principal;
      const [owner] = await app.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM patient WHERE tenant_id = $1 ORDER BY created_at LIMIT 1', [staff.tenantId]);
      const s0 = performance.now();
      for (let done = 0; done < EXPIRED; done += 100_000) {
        await app.db.query(
          `INSERT INTO test_result (id, tenant_id, patient_id, outcome_enc, test_type_enc, sampled_at_enc, recorded_by, created_at)
           SELECT gen_random_uuid(), $1, $2, 'sealed', 'sealed', 'sealed', 'bench', now() - interval '7 months' - (g * interval '1 second') FROM generate_series(1, $3::int) AS g`,
          [owner!.tenant_id, owner!.id, Math.min(100_000, EXPIRED - done)]);
      }
      await app.db.query('ANALYZE test_result');
      const seedSeconds = (performance.now() - s0) / 1000;
      console.log(`${EXPIRED.toLocaleString('en-GB')} expired results inserted in ${seedSeconds.toFixed(1)} s`);
      const readable = (await app.db.query<{ id: string }>('SELECT id FROM patient WHERE tenant_id = $1', [staff.tenantId])).map((r) => r.id);

      // Readers: audited reads of the remaining records until told to stop.
      const readLoop = async (stop: { value: boolean }, latencies: number[]) => {
        let i = 0;
        while (!stop.value) {
          const t = performance.now();
          await app.uow.read(staff, 'bench', (w) => getPatient(w, readable[i++ % readable.length]!));
          latencies.push(performance.now() - t);
        }
      };
      const measure = async (during: () => Promise<unknown>) => {
        const stop = { value: false };
        const latencies: number[] = [];
        const t = performance.now();
        const readers = Array.from({ length: READERS }, () => readLoop(stop, latencies));
        const result = await during();
        stop.value = true;
        await Promise.all(readers);
        const seconds = (performance.now() - t) / 1000;
        return { result, seconds, reads: latencies.length, readsPerSecond: latencies.length / seconds, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
      };
      const reference = await measure(() => new Promise((r) => setTimeout(r, SECONDS * 1000)));
      console.log(`reference: ${reference.readsPerSecond.toFixed(0)} reads/s, p50 ${reference.p50.toFixed(2)} ms, p99 ${reference.p99.toFixed(2)} ms`);
      const during = await measure(() => runRetention(app, new Date()));
      const removed = (during.result as Awaited<ReturnType<typeof runRetention>>).removed['test-results'] ?? 0;
      const rowsPerSecond = removed / during.seconds;
      console.log(`retention: ${removed.toLocaleString('en-GB')} results removed in ${during.seconds.toFixed(1)} s (${rowsPerSecond.toFixed(0)} rows/s); reads ${during.readsPerSecond.toFixed(0)}/s, p50 ${during.p50.toFixed(2)} ms, p99 ${during.p99.toFixed(2)} ms`);
      const [left] = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM test_result WHERE created_at < now() - interval '6 months'`);
      if (left!.n !== 0) throw new Error(`${left!.n} expired results left after the run`);
      const meta = { date: new Date().toISOString().slice(0, 10), node: process.version, postgres: version, cores: cpus().length, expired: EXPIRED, readers: READERS, seedSeconds };
      const out = { ...meta, removed, runSeconds: during.seconds, rowsPerSecond, reference: { ...reference, result: undefined }, during: { ...during, result: undefined } };
      writeFileSync(join(root, 'bench/results/retention.json'), JSON.stringify(out, null, 2) + '\n');
      writeDoc(out);
    } finally {
      await app.close();
    }
  } finally {
    pg.stop();
  }
}

type Out = { date: string; node: string; postgres: string; cores: number; expired: number; readers: number; removed: number; runSeconds: number; rowsPerSecond: number;
  reference: { readsPerSecond: number; p50: number; p99: number; seconds: number }; during: { readsPerSecond: number; p50: number; p99: number; seconds: number } };

function writeDoc(o: Out): void {
  const f = (x: number, d = 1) => x.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
  const section = `<!-- retention:start -->
## Retention run beside audited reads (data lifecycle issue)

Measured by \`npm run bench:retention\` (also part of \`npm run bench\`) on ${o.date}: Node ${o.node}, PostgreSQL ${o.postgres}
(throwaway cluster, default durability), ${o.cores} cores shared by the database and the process. The demo world plus
${o.expired.toLocaleString('en-GB')} test results recorded seven months ago (past their 6 months). Reads: ${o.readers} concurrent loops of a pharmacy's staff
reading its remaining patient records (audited, one event each, durable before the answer), first alone for ${f(o.reference.seconds, 0)} s (the
reference), then during the whole retention run, in the same process. Raw JSON: \`bench/results/retention.json\`.

| | reads/s | p50 (ms) | p99 (ms) |
|---|---|---|---|
| reads alone (reference) | ${f(o.reference.readsPerSecond, 0)} | ${f(o.reference.p50, 2)} | ${f(o.reference.p99, 2)} |
| reads during the retention run | ${f(o.during.readsPerSecond, 0)} | ${f(o.during.p50, 2)} | ${f(o.during.p99, 2)} |
| during / alone | ${f(o.during.readsPerSecond / o.reference.readsPerSecond, 2)}× | ${f(o.during.p50 / o.reference.p50, 2)}× | ${f(o.during.p99 / o.reference.p99, 2)}× |

The run removed ${o.removed.toLocaleString('en-GB')} results in ${f(o.runSeconds)} s: **${f(o.rowsPerSecond, 0)} rows/s**, in batches of 500, each its own
transaction with its audit event and the run's counts. No expired result was left.
<!-- retention:end -->`;
  const path = join(root, 'docs/benchmarks.md');
  let doc = readFileSync(path, 'utf8');
  doc = /<!-- retention:start -->[\s\S]*<!-- retention:end -->/.test(doc)
    ? doc.replace(/<!-- retention:start -->[\s\S]*<!-- retention:end -->/, () => section)
    : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, doc);
}

await main();
