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
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { percentile, writeBenchmarkSection } from '../stats.ts';
import { withDemoApp } from '../demo-app.ts';
import { getPatient } from '../../src/domain/patients.ts';
import { runRetention, RETENTION_PAUSE_MS } from '../../src/retention/job.ts';

const EXPIRED = Number(process.env.BENCH_EXPIRED ?? 1_000_000);
const READERS = Number(process.env.BENCH_READERS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const root = new URL('../../', import.meta.url).pathname;


async function main(): Promise<void> {
  await withDemoApp('retention', async ({ app, postgresVersion: version, staff }) => {
    const [owner] = await app.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM patient WHERE tenant_id = $1 ORDER BY created_at LIMIT 1', [staff.tenantId]);
    const seed = async () => {
      const s0 = performance.now();
      for (let done = 0; done < EXPIRED; done += 100_000) {
        await app.db.query(
          `INSERT INTO test_result (id, tenant_id, patient_id, outcome_enc, test_type_enc, sampled_at_enc, recorded_by, created_at)
           SELECT gen_random_uuid(), $1, $2, 'sealed', 'sealed', 'sealed', 'bench', now() - interval '7 months' - (g * interval '1 second') FROM generate_series(1, $3::int) AS g`,
          [owner!.tenant_id, owner!.id, Math.min(100_000, EXPIRED - done)]);
      }
      await app.db.query('ANALYZE test_result');
      const seconds = (performance.now() - s0) / 1000;
      console.log(`${EXPIRED.toLocaleString('en-GB')} expired results inserted in ${seconds.toFixed(1)} s`);
      return seconds;
    };
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
    const measure = async <T>(during: () => Promise<T>) => {
      const stop = { value: false };
      const latencies: number[] = [];
      const t = performance.now();
      const readers = Array.from({ length: READERS }, () => readLoop(stop, latencies));
      const result = await during();
      stop.value = true;
      await Promise.all(readers);
      const seconds = (performance.now() - t) / 1000;
      return { result, seconds, reads: latencies.length, readsPerSecond: latencies.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
    };
    const seedSeconds = await seed();
    const reference = await measure(() => new Promise((r) => setTimeout(r, SECONDS * 1000)));
    console.log(`reference: ${reference.readsPerSecond.toFixed(0)} reads/s, p50 ${reference.p50.toFixed(2)} ms, p99 ${reference.p99.toFixed(2)} ms`);
    const runs: Run[] = [];
    for (const pauseMs of [RETENTION_PAUSE_MS, 0]) {
      if (runs.length > 0) await seed();
      const during = await measure(() => runRetention(app, new Date(), { pauseMs }));
      const removed = during.result.removed['test-results'] ?? 0;
      const [left] = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM test_result WHERE created_at < now() - interval '6 months'`);
      if (left!.n !== 0) throw new Error(`${left!.n} expired results left after the run`);
      const r = { pauseMs, removed, runSeconds: during.seconds, rowsPerSecond: removed / during.seconds, readsPerSecond: during.readsPerSecond, p50: during.p50, p99: during.p99 };
      console.log(`retention (pause ${pauseMs} ms): ${removed.toLocaleString('en-GB')} removed in ${r.runSeconds.toFixed(1)} s (${r.rowsPerSecond.toFixed(0)} rows/s); reads ${r.readsPerSecond.toFixed(0)}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
      runs.push(r);
    }
    const meta = { date: new Date().toISOString().slice(0, 10), node: process.version, postgres: version, cores: cpus().length, expired: EXPIRED, readers: READERS, seedSeconds };
    const out = { ...meta, reference: { readsPerSecond: reference.readsPerSecond, p50: reference.p50, p99: reference.p99, seconds: reference.seconds }, runs };
    writeFileSync(join(root, 'bench/results/retention.json'), JSON.stringify(out, null, 2) + '\n');
    writeDoc(out);
  });
}

interface Run { pauseMs: number; removed: number; runSeconds: number; rowsPerSecond: number; readsPerSecond: number; p50: number; p99: number }
type Out = { date: string; node: string; postgres: string; cores: number; expired: number; readers: number;
  reference: { readsPerSecond: number; p50: number; p99: number; seconds: number }; runs: Run[] };

function writeDoc(o: Out): void {
  const f = (x: number, d = 1) => x.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
  const row = (r: Run) => `| during a run, ${r.pauseMs} ms between batches${r.pauseMs === RETENTION_PAUSE_MS ? ' (as deployed)' : ''} | ${f(r.rowsPerSecond, 0)} | ${f(r.readsPerSecond, 0)} (${f(r.readsPerSecond / o.reference.readsPerSecond, 2)}×) | ${f(r.p50, 2)} | ${f(r.p99, 2)} (${f(r.p99 / o.reference.p99, 2)}×) |`;
  const section = `<!-- retention:start -->
## Retention run beside audited reads (data lifecycle issue)

Measured by \`npm run bench:retention\` (also part of \`npm run bench\`) on ${o.date}: Node ${o.node}, PostgreSQL ${o.postgres}
(throwaway cluster, default durability), ${o.cores} cores shared by the database and the process. The demo world plus
${o.expired.toLocaleString('en-GB')} test results recorded seven months ago (past their 6 months), inserted again before each run. Reads: ${o.readers} concurrent
loops of a pharmacy's staff reading its remaining patient records (audited, one event each, durable before the answer), first
alone for ${f(o.reference.seconds, 0)} s (the reference), then during each whole retention run, in the same process (one unit of work, as in a server).
Batches of 500 rows, each its own transaction with its audit event and the run's counts; no expired result was left. Raw JSON: \`bench/results/retention.json\`.

| | rows removed/s | reads/s | read p50 (ms) | read p99 (ms) |
|---|---|---|---|---|
| reads alone (reference) | | ${f(o.reference.readsPerSecond, 0)} | ${f(o.reference.p50, 2)} | ${f(o.reference.p99, 2)} |
${o.runs.map(row).join('\n')}

A batch holds the unit of work's transaction while it deletes; reads commit in the next one. The pause between batches is
what the deployed job trades of its speed for the reads' pace (a daily run of ${o.expired.toLocaleString('en-GB')} rows takes ${f(o.runs[0]!.runSeconds / 60)} minutes).
<!-- retention:end -->`;
  writeBenchmarkSection('retention', section);
}

await main();
