/**
 * Foundation benchmark (issue 2), all on one throwaway PostgreSQL with default durability
 * (fsync and synchronous_commit on), in one run of BENCH_ROUNDS rounds (default 5) of 1–3, BENCH_SECONDS each (default 8):
 *   1. pgbench TPC-B (the reference): TPS and p99 latency;
 *   2. result intake over HTTP (POST /api/patients/{id}/results with a pharmacy API key):
 *      each request writes a result, its invoice and an audit event, and is answered after commit;
 *   3. audited document reads over HTTP (GET /api/documents/{id}, PDF): each read appends an audit
 *      event that is durable before the answer;
 *   4. pass issuance over HTTP (POST /api/results/{id}/passes, issue 4), beside the bare ES256 signing rate.
 * then 4 once. The server runs in its own process; the load generator (wrk, else autocannon) in its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir, cpus } from 'node:os';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import postgres from 'postgres';
// @ts-expect-error plain ESM helper shared with the test runner
import { startThrowawayPostgres } from '../../scripts/pg.mjs';
import { median } from '../stats.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
/**
 * Rounds of pgbench → intake → reads, one after the other, each workload's ratio taken against the
 * pgbench run of its own round: this VM's speed drifts by tens of per cent within minutes, so a
 * reference measured once, minutes away, makes a ratio of two different machines.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Server processes (SAUFCONDUIT_WORKERS). One measured best here: two contend for the chain head and the 2 cores. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const root = new URL('../../', import.meta.url).pathname;

export interface Throughput { perSecond: number; p50Ms: number; p99Ms: number; errors: number; total: number }
interface Drain { backlogAfterIntake: number; left: number; seconds: number; perSecond: number }
interface Round {
  pgbench: Throughput & { clients: number }; intake: Throughput; notificationDrain: Drain; reads: Throughput;
  /** The floor server (floor.ts) on the same workloads, in the same round. */
  floorIntake: Throughput; floorReads: Throughput;
  ratios: { intakeVsPgbench: number; readsVsPgbench: number; floorIntakeVsPgbench: number; floorReadsVsPgbench: number };
}

/** pgbench from PostgreSQL's versioned bin directory if there, else from PATH. */
function pgbenchPath(bin: string): string {
  const candidates = [join(bin, 'pgbench'), ...readdirSync('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`)];
  return candidates.find((c) => spawnSync(c, ['--version']).status === 0) ?? 'pgbench';
}

function pgbenchInit(bin: string, port: number): void {
  const init = spawnSync(pgbenchPath(bin), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-i', '-q', '-s', '10', 'pgbench'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
}

function pgbench(bin: string, port: number): Throughput & { clients: number } {
  const dir = join(tmpdir(), `pgbench-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const base = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];
  const clients = 16;
  const run = spawnSync(pgbenchPath(bin), [...base, '-c', String(clients), '-j', '2', '-T', String(DURATION), '-M', 'prepared', '-l', '--log-prefix', join(dir, 'tx'), 'pgbench'], { encoding: 'utf8', cwd: dir });
  if (run.status !== 0) throw new Error(`pgbench failed: ${run.stderr}`);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1]);
  const latencies: number[] = [];
  for (const f of readdirSync(dir).filter((x) => x.startsWith('tx'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const cols = line.split(' ');
      if (cols.length > 3) latencies.push(Number(cols[2]) / 1000);
    }
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { perSecond: tps, p50Ms: pct(0.5), p99Ms: pct(0.99), errors: 0, total: latencies.length, clients };
}

export interface LoadOptions { url: string; seconds?: number; requests: { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }[] }

/**
 * HTTP load: wrk (C, like pgbench's client, so the load generator takes little of the 2 cores) when
 * installed (`apt-get install wrk`), else autocannon. The report names which one ran.
 */
const WRK = spawnSync('wrk', ['--version']).error === undefined;
export const loadGenerator = WRK ? 'wrk' : 'autocannon';

export async function load(opts: LoadOptions): Promise<Throughput> {
  if (WRK) return wrk(opts);
  const r = (await autocannon({ url: opts.url, requests: opts.requests, connections: CONNECTIONS, duration: opts.seconds ?? DURATION })) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; timeouts: number };
  return { perSecond: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.non2xx + r.errors + r.timeouts, total: r.requests.total };
}

function wrk(opts: LoadOptions): Throughput {
  const lua = (v: string) => JSON.stringify(v);
  // wrk.format must run inside request(): at load time wrk has not set the Host header yet.
  const reqs = opts.requests.map((r) => `{${lua(r.method)}, ${lua(r.path)}, {${Object.entries(r.headers).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(', ')}}, ${r.body ? lua(r.body) : 'nil'}}`);
  const script = join(tmpdir(), `wrk-${randomBytes(4).toString('hex')}.lua`);
  writeFileSync(script, `local reqs = {${reqs.join(',\n')}}\nlocal i = 0\nrequest = function() i = i + 1; local r = reqs[(i % #reqs) + 1]; return wrk.format(r[1], r[2], r[3], r[4]) end\n`);
  const r = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${opts.seconds ?? DURATION}s`, '--latency', '-s', script, opts.url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const ms = (label: string) => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(r.stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  // A benchmark of error answers measures nothing: refuse to report one.
  if (errors > total * 0.001) throw new Error(`wrk: ${errors} of ${total} requests failed`);
  return { perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]), p50Ms: ms('50'), p99Ms: ms('99'), errors, total };
}

export function cli(env: NodeJS.ProcessEnv, args: string[]): string {
  const r = spawnSync(process.execPath, [join(root, 'bin/saufconduit.mjs'), ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`saufconduit ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A loopback port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function waitUp(url: string) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not start');
}

export async function runFoundationBench() {
  const pg = await startThrowawayPostgres();
  let server: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  let mailSink: Awaited<ReturnType<typeof startMailSink>> | undefined;
  try {
    const admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
    await admin.unsafe('CREATE DATABASE pgbench');
    await admin.unsafe('CREATE DATABASE saufconduit');
    await admin.unsafe('CREATE DATABASE floor');
    const version = String((await admin.unsafe('SHOW server_version'))[0]!.server_version);
    await admin.end();

    pgbenchInit(pg.bin, pg.port);

    const port = await freePort();
    const dbUrl = pg.url.replace(/\/postgres$/, '/saufconduit');
    // Notifications go by SMTP, as in production, to a mail server on loopback in this process.
    mailSink = await startMailSink();
    const env = { ...process.env, SAUFCONDUIT_DEMO: '1', SAUFCONDUIT_AUDIT_KEY: randomBytes(32).toString('base64'), SAUFCONDUIT_MAIL_TRANSPORT: 'smtp', SAUFCONDUIT_SMTP_URL: mailSink.url, DATABASE_URL: dbUrl, SAUFCONDUIT_MASTER_KEY: randomBytes(32).toString('base64'), PORT: String(port), LOG_LEVEL: 'warn', SAUFCONDUIT_RATE_LIMIT: '10000000', SAUFCONDUIT_WORKERS: String(WORKERS) };
    const credsFile = join(tmpdir(), `bench-creds-${randomBytes(4).toString('hex')}.json`);
    cli(env, ['demo', '--credentials', credsFile]);
    const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as { principals: { name: string; headers: { authorization: string }; canAccess: Record<string, string[]> }[] };
    const key = creds.principals.find((p) => p.name === 'pharmacy-a-api-key')!;
    const staff = creds.principals.find((p) => p.name === 'pharmacy-a-staff')!;
    // BENCH_PROFILE=DIR writes a V8 CPU profile of the server process there (for analysis, not the report).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    server = spawn(process.execPath, [...profile, join(root, 'bin/saufconduit.mjs'), 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const base = `http://127.0.0.1:${port}`;
    await waitUp(`${base}/api/health`);

    const body = JSON.stringify({ testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() });
    // Every result also queues a patient notification (outbox → pg-boss → mail + audit), delivered in
    // the background while intake runs. The backlog drains before the next workload, and how fast it
    // went is reported, so each workload is measured on its own.
    const drainNotifications = async () => {
      const db = postgres(dbUrl, { max: 1, onnotice: () => undefined });
      const pending = async () => Number((await db.unsafe(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'notification' AND delivered_at IS NULL`))[0]!.n);
      const start = performance.now();
      const backlog = await pending();
      let left = backlog;
      while (left > 0 && performance.now() - start < 300_000) {
        await new Promise((r) => setTimeout(r, 500));
        left = await pending();
      }
      await db.end();
      const seconds = (performance.now() - start) / 1000;
      return { backlogAfterIntake: backlog, left, seconds, perSecond: backlog > 0 ? (backlog - left) / seconds : 0 };
    };

    const intakeRequests = key.canAccess.patientId!.map((id) => ({ method: 'POST' as const, path: `/api/patients/${id}/results`, headers: { ...key.headers, 'content-type': 'application/json' }, body }));
    // Warm-up, not measured: the server's code paths compiled by the JIT, the documents to read
    // (the tenant's invoices) created and rendered to PDF once.
    console.log('warm-up: intake and reads, 3 s each …');
    await load({ url: base, seconds: 3, requests: intakeRequests });
    await drainNotifications();
    const docs = (await (await fetch(`${base}/api/documents`, { headers: staff.headers })).json() as { items: { id: string }[] }).items.slice(0, 200).map((d) => d.id);
    for (const id of docs) await (await fetch(`${base}/api/documents/${id}`, { headers: staff.headers })).arrayBuffer();
    const readRequests = docs.map((id) => ({ method: 'GET' as const, path: `/api/documents/${id}`, headers: staff.headers }));
    await load({ url: base, seconds: 3, requests: readRequests });

    // The floor server: the same workloads with only their unavoidable database work (see floor.ts),
    // serving blobs the size of our PDFs, warmed up like ours.
    const pdfBytes = (await (await fetch(`${base}/api/documents/${docs[0]}`, { headers: staff.headers })).arrayBuffer()).byteLength;
    const floorPort = await freePort();
    floor = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/foundation/floor.ts')], {
      env: { ...process.env, FLOOR_DATABASE_URL: pg.url.replace(/\/postgres$/, '/floor'), PORT: String(floorPort), FLOOR_DOC_BYTES: String(pdfBytes) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const floorBase = `http://127.0.0.1:${floorPort}`;
    await waitUp(`${floorBase}/floor/ids`);
    const floorIds = await (await fetch(`${floorBase}/floor/ids`)).json() as string[];
    const floorIntakeRequests = key.canAccess.patientId!.map((id) => ({ method: 'POST' as const, path: `/floor/patients/${id}/results`, headers: { 'content-type': 'application/json' }, body }));
    const floorReadRequests = floorIds.map((id) => ({ method: 'GET' as const, path: `/floor/docs/${id}`, headers: {} }));
    await load({ url: floorBase, seconds: 3, requests: floorIntakeRequests });
    await load({ url: floorBase, seconds: 3, requests: floorReadRequests });

    const rounds: Round[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      console.log(`round ${r}/${ROUNDS}: pgbench TPC-B, ${DURATION}s …`);
      const reference = pgbench(pg.bin, pg.port);
      console.log(`round ${r}/${ROUNDS}: intake over HTTP, ${CONNECTIONS} connections, ${DURATION}s …`);
      const intake = await load({ url: base, requests: intakeRequests });
      const drain = await drainNotifications();
      console.log(`notification backlog of ${drain.backlogAfterIntake} drained in ${drain.seconds.toFixed(1)} s`);
      console.log(`round ${r}/${ROUNDS}: audited document reads over HTTP (${docs.length} PDFs), ${CONNECTIONS} connections, ${DURATION}s …`);
      const reads = await load({ url: base, requests: readRequests });
      console.log(`round ${r}/${ROUNDS}: floor server, intake then reads, ${DURATION}s each …`);
      const floorIntake = await load({ url: floorBase, requests: floorIntakeRequests });
      const floorReads = await load({ url: floorBase, requests: floorReadRequests });
      rounds.push({
        pgbench: reference, intake, notificationDrain: drain, reads, floorIntake, floorReads,
        ratios: {
          intakeVsPgbench: intake.perSecond / reference.perSecond, readsVsPgbench: reads.perSecond / reference.perSecond,
          floorIntakeVsPgbench: floorIntake.perSecond / reference.perSecond, floorReadsVsPgbench: floorReads.perSecond / reference.perSecond,
        },
      });
    }
    const summary = (pick: (r: Round) => Throughput): Throughput => ({
      perSecond: median(rounds.map((r) => pick(r).perSecond)), p50Ms: median(rounds.map((r) => pick(r).p50Ms)), p99Ms: median(rounds.map((r) => pick(r).p99Ms)),
      errors: rounds.reduce((a, r) => a + pick(r).errors, 0), total: rounds.reduce((a, r) => a + pick(r).total, 0),
    });
    const reference = { ...summary((r) => r.pgbench), clients: rounds[0]!.pgbench.clients };
    const intake = summary((r) => r.intake);
    const reads = summary((r) => r.reads);
    const floorIntake = summary((r) => r.floorIntake);
    const floorReads = summary((r) => r.floorReads);
    const drain = rounds.at(-1)!.notificationDrain;

    // Pass issuance through the API: each request decrypts the result and the holder's identity,
    // builds and signs a DCC (ES256 over the digest only), stores the encrypted pass and audits it.
    const issuable = (await (async () => {
      const db = postgres(dbUrl, { max: 1, onnotice: () => undefined });
      const rows = await db.unsafe(`SELECT r.id FROM test_result r JOIN tenant t ON t.id = r.tenant_id WHERE t.slug = 'pharmacie-des-tilleuls' LIMIT 500`);
      await db.end();
      return rows.map((r) => String(r.id));
    })());
    console.log(`pass issuance over HTTP (${issuable.length} results), ${CONNECTIONS} connections, ${DURATION}s …`);
    const issuance = await load({
      url: base,
      requests: issuable.map((id) => ({ method: 'POST' as const, path: `/api/results/${id}/passes`, headers: { ...key.headers, 'content-type': 'application/json' }, body: '{"kind":"test"}' })),
    });
    const signFloor = es256SignRate();

    server.kill('SIGTERM');
    floor.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = undefined;
    const audit = cli(env, ['audit', 'verify', '--json']);
    const db = postgres(dbUrl, { max: 1, onnotice: () => undefined });
    const results = Number((await db.unsafe('SELECT count(*)::int AS n FROM test_result'))[0]!.n);
    const events = Number((await db.unsafe('SELECT count(*)::int AS n FROM audit_event'))[0]!.n);
    const passes = Number((await db.unsafe('SELECT count(*)::int AS n FROM pass'))[0]!.n);
    await db.end();

    const out = {
      date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, postgres: version,
      durationSeconds: DURATION, connections: CONNECTIONS, loadGenerator,
      rounds: ROUNDS, pgbench: reference, intake, notificationDrain: drain, reads, floorIntake, floorReads, issuance, es256SignsPerSecond: signFloor,
      // Goal ratios: the median over rounds of each round's workload / that round's pgbench.
      ratios: {
        intakeVsPgbench: median(rounds.map((r) => r.ratios.intakeVsPgbench)), readsVsPgbench: median(rounds.map((r) => r.ratios.readsVsPgbench)),
        floorIntakeVsPgbench: median(rounds.map((r) => r.ratios.floorIntakeVsPgbench)), floorReadsVsPgbench: median(rounds.map((r) => r.ratios.floorReadsVsPgbench)),
        // How much of the floor we reach: our rate over the floor's, per round, median.
        intakeVsFloor: median(rounds.map((r) => r.intake.perSecond / r.floorIntake.perSecond)), readsVsFloor: median(rounds.map((r) => r.reads.perSecond / r.floorReads.perSecond)),
        issuanceVsPgbench: issuance.perSecond / reference.perSecond, issuanceVsSign: issuance.perSecond / signFloor,
      },
      perRound: rounds,
      checks: { resultsStored: results, passesStored: passes, auditEvents: events, mailsReceived: mailSink.received(), auditVerify: JSON.parse(audit.trim().split('\n').at(-1)!) },
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/foundation.json'), JSON.stringify(out, null, 2) + '\n');
    writeSection(out);
    console.log(JSON.stringify({ pgbench: reference.perSecond, intake: intake.perSecond, reads: reads.perSecond, issuance: issuance.perSecond, ratios: out.ratios }, null, 2));
    return out;
  } finally {
    server?.kill('SIGKILL');
    floor?.kill('SIGKILL');
    pg.stop();
    await mailSink?.close();
  }
}

type Out = Awaited<ReturnType<typeof runFoundationBench>>;

/**
 * The mail server notifications are sent to: smtp-server on loopback, counting what it accepts and
 * keeping nothing. (The development file transport is not what production does: on this VM, creating
 * one file per mail cost about a millisecond of kernel time each.)
 */
export async function startMailSink(): Promise<{ url: string; received(): number; close(): Promise<void> }> {
  let received = 0;
  const server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true, logger: false, size: 64 * 1024,
    onData(stream, _session, cb) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received += 1;
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = (server as unknown as { server: Server }).server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}?requireTLS=false`, received: () => received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** ES256 signatures per second with node:crypto on one core: the floor under pass issuance. */
function es256SignRate(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = randomBytes(200);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 2000) {
    sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

function writeSection(o: { loadGenerator: string; date: string; node: string; cpus: number; cpu: string | undefined; postgres: string; durationSeconds: number; connections: number; rounds: number; perRound: Round[]; pgbench: Throughput & { clients: number }; intake: Throughput; notificationDrain: Drain; reads: Throughput; floorIntake: Throughput; floorReads: Throughput; issuance: Throughput; es256SignsPerSecond: number; ratios: { intakeVsPgbench: number; readsVsPgbench: number; floorIntakeVsPgbench: number; floorReadsVsPgbench: number; intakeVsFloor: number; readsVsFloor: number; issuanceVsPgbench: number; issuanceVsSign: number }; checks: { resultsStored: number; passesStored: number; auditEvents: number; mailsReceived?: number; auditVerify: { ok: boolean } } }) {
  const f = (n: number) => Math.round(n).toLocaleString('en');
  const ms = (n: number) => n.toFixed(1);
  const section = `<!-- foundation:start -->
## Intake and audited reads on PostgreSQL (issue 2)

Measured by \`npm run bench\` on ${o.date.slice(0, 10)}: Node ${o.node}, PostgreSQL ${o.postgres} (throwaway cluster, default
durability: fsync and synchronous_commit on), ${o.cpus} cores (${o.cpu ?? 'unknown'}) shared by the database, the server and the
load generator (${o.loadGenerator}). One server process (\`SAUFCONDUIT_WORKERS=1\`; 2 measured worse on 2 cores). HTTP load by ${o.loadGenerator} with ${o.connections} connections; pgbench with ${o.pgbench.clients} clients.
After a 3 s warm-up of intake and reads (not measured), ${o.rounds} rounds of pgbench → intake → reads → floor intake → floor reads, ${o.durationSeconds} s each: this VM's speed drifts by tens of per cent within minutes,
so each workload is compared with the pgbench run of its own round. The table gives medians over the rounds; a ratio is
the median of the per-round ratios. Raw JSON, every round included: \`bench/results/foundation.json\`.

| workload | per second | p50 (ms) | p99 (ms) | errors | ratio to pgbench TPS | goal |
|---|---|---|---|---|---|---|
| pgbench TPC-B (reference) | ${f(o.pgbench.perSecond)} | ${ms(o.pgbench.p50Ms)} | ${ms(o.pgbench.p99Ms)} | 0 | 1.00 | |
| result intake, HTTP + audit (POST) | ${f(o.intake.perSecond)} | ${ms(o.intake.p50Ms)} | ${ms(o.intake.p99Ms)} | ${o.intake.errors} | ${o.ratios.intakeVsPgbench.toFixed(2)} | ≥ 0.5 |
| audited document reads, HTTP (GET PDF) | ${f(o.reads.perSecond)} | ${ms(o.reads.p50Ms)} | ${ms(o.reads.p99Ms)} | ${o.reads.errors} | ${o.ratios.readsVsPgbench.toFixed(2)} | ≥ 2, p99 < 20 ms |
| floor server: intake's unavoidable work (see below) | ${f(o.floorIntake.perSecond)} | ${ms(o.floorIntake.p50Ms)} | ${ms(o.floorIntake.p99Ms)} | ${o.floorIntake.errors} | ${o.ratios.floorIntakeVsPgbench.toFixed(2)} | |
| floor server: reads' unavoidable work (see below) | ${f(o.floorReads.perSecond)} | ${ms(o.floorReads.p50Ms)} | ${ms(o.floorReads.p99Ms)} | ${o.floorReads.errors} | ${o.ratios.floorReadsVsPgbench.toFixed(2)} | |
| pass issuance, HTTP (POST, issue 4; once, after the rounds) | ${f(o.issuance.perSecond)} | ${ms(o.issuance.p50Ms)} | ${ms(o.issuance.p99Ms)} | ${o.issuance.errors} | ${o.ratios.issuanceVsPgbench.toFixed(2)} | (no goal set) |

Per round (pgbench TPS; intake/s and × pgbench; reads/s, × pgbench and p99; the floor's intake and reads, × pgbench):
${o.perRound.map((r, i) => `${i + 1}. ${f(r.pgbench.perSecond)}; intake ${f(r.intake.perSecond)} (${r.ratios.intakeVsPgbench.toFixed(2)}×); reads ${f(r.reads.perSecond)} (${r.ratios.readsVsPgbench.toFixed(2)}×, p99 ${ms(r.reads.p99Ms)} ms); floor ${f(r.floorIntake.perSecond)} (${r.ratios.floorIntakeVsPgbench.toFixed(2)}×) and ${f(r.floorReads.perSecond)} (${r.ratios.floorReadsVsPgbench.toFixed(2)}×, p99 ${ms(r.floorReads.p99Ms)} ms)`).join('\n')}

The floor server (\`bench/foundation/floor.ts\`) runs in every round beside ours, on the same
cluster, with the same libraries (Fastify, postgres.js), the same group commit and the same
durability. It does only what an audited request cannot avoid: a read selects one stored blob the
size of our PDFs (group-committed with one audit row per read); an intake inserts one row and one
audit row. It has no authentication, decision point, hash chain, field encryption, input validation
or delivery pipeline. Ours reached ${(o.ratios.intakeVsFloor * 100).toFixed(0)} % of the floor's intake rate and ${(o.ratios.readsVsFloor * 100).toFixed(0)} % of its read rate
(medians of the per-round ratios). Meeting the goals would take ${(50 / o.ratios.floorIntakeVsPgbench).toFixed(0)} % of the floor's intake rate
(0.5× pgbench against the floor's ${o.ratios.floorIntakeVsPgbench.toFixed(2)}×) and ${(200 / o.ratios.floorReadsVsPgbench).toFixed(0)} % of its read rate (2× against ${o.ratios.floorReadsVsPgbench.toFixed(2)}×), with a p99 the floor itself
has at ${ms(o.floorReads.p99Ms)} ms.

Intake is measured with the whole pipeline a result starts: besides the result, its invoice and its
audit event, each request writes two outbox rows (the national report, with the identity frozen and
encrypted, and the patient notification), and the same process relays them to pg-boss and sends the
notifications (mail + audit event) while the load runs, by SMTP (nodemailer, a pool of five connections) to
a mail server on loopback in the bench process (smtp-server), as production would send them. After the last round's intake, ${f(o.notificationDrain.backlogAfterIntake)} notifications
were still queued; they drained at ${f(o.notificationDrain.perSecond)}/s (${o.notificationDrain.seconds.toFixed(0)} s) before the reads started.

Pass issuance decrypts the result and the holder's identity, builds the DCC, signs its digest (ES256),
encrypts and stores the pass and audits it, per request. For scale: node:crypto alone signs
${f(o.es256SignsPerSecond)} ES256 signatures/s on one core here, so issuance runs at ${(o.ratios.issuanceVsSign * 100).toFixed(0)} % of the bare signing rate.

After the run: ${f(o.checks.resultsStored)} results stored, ${f(o.checks.passesStored)} passes stored, ${f(o.checks.auditEvents)} audit events, ${f(o.checks.mailsReceived ?? 0)} mails received by the SMTP server, chain verification ${o.checks.auditVerify.ok ? 'passed' : 'FAILED'}.

How: every request's audit event is committed in the same transaction as its data, and no answer leaves
before that commit. Requests are grouped (src/domain/unit-of-work.ts): the requests queued while a
transaction commits run together in the next one, concurrently, so their statements are pipelined on
one connection (prepared statements; BEGIN pipelined too). Their ownership lookups (the facts the
decision point needs) are coalesced into one \`= ANY\` query per kind (src/store/lookups.ts); their events
are chained and written in one statement, as one JSON parameter, that moves the chain head by
compare-and-set; the batch commits once. A failing request that had written anything makes the batch
replay one request per transaction. Session and API-key lookups of concurrent requests share one query.
A result, its invoice and its two outbox rows are one statement; the identity its report freezes comes
with the access facts.

Status against the goals in this run (medians over the rounds): intake ${o.ratios.intakeVsPgbench.toFixed(2)}× pgbench (goal ≥ 0.5×: ${o.ratios.intakeVsPgbench >= 0.5 ? 'met' : '**not met**'}); audited
reads ${o.ratios.readsVsPgbench.toFixed(2)}× with p99 ${ms(o.reads.p99Ms)} ms (goal ≥ 2× and p99 < 20 ms: ${o.ratios.readsVsPgbench >= 2 && o.reads.p99Ms < 20 ? 'met' : '**not met**'}).

What changed in the third session, measured against the previous commit on one throwaway cluster in
alternating 6–8 s runs (the same wrk load, so machine noise hits both; this VM's speed drifts by tens of
per cent within minutes, so only side-by-side runs compare): audited reads 1,650–1,920/s → 2,780–2,950/s,
server CPU per read 450–590 µs → 280–295 µs; intake 490–520/s → 580–810/s, server CPU per result
1.8–2.0 ms → 1.0–1.5 ms. The gains: security headers computed once (@fastify/helmet rebuilt them per
request: ≈ 8 % of the server's time); coalesced ownership lookups (on this VM postgres.js spends ≈ 60 µs
of CPU per pipelined statement, more than a row); the audit batch as one parameter instead of 14 per
event; intake's result, invoice and outbox rows in one statement; for delivery, pending outbox rows
indexed by kind and read in index order (with reporting off, undelivered reports made every relay pass
scan them: 22 ms a probe), and one pg-boss job per 100 notifications (10 reports) instead of one per row:
a job costs pg-boss an insert, a fetch that sorts the queue's waiting jobs (4–16 ms a fetch under a
backlog) and a completion, which at one job per row took more database time than the deliveries.

Fourth session: a job's notifications are sent set-based (one read, one update per outcome; since the
fifth session in two transactions with the mails handed to the transport between them) instead of two
statements a notification (pg_stat_statements during intake: the
per-row update and read took 58 + 29 µs of database time a result, next to 350 µs for the result's own
insert of 4 rows with their 8 foreign-key checks, and 97 µs for its share of the audit batch). Side by
side on one throwaway cluster, alternating 8 s runs: intake 552–607/s → 630–729/s, server CPU per result
1.39–1.55 ms → 1.11–1.29 ms, database CPU per result 774–846 µs → 667–744 µs, every notification still
delivered during the load. Also measured and dropped this session: two transaction lanes without the
carried chain head (no gain, p99 up; the batch's audit insert and commit serialize on the head row
anyway), and a corked database socket so that a tick's pipelined statements leave in one write
(slower: 596–691/s against 663–883/s uncorked, alternating runs; the statements reach the database
later and overlap less with the server's own work).

Fifth session, one-off experiments on one throwaway cluster (alternating 8 s runs), all dropped: a
separate process for the outbox relay and workers (intake 594–706/s against 608–794/s in one process:
the HTTP process saved ≈ 12 % of its CPU per result, but the database spent more, the two processes'
audit appends taking turns on the chain head); two server processes each appending to a chain of its
own, so that they never wait on one head row (reads +10 % at 64 connections, p99 160–180 ms, and
at 32 connections no gain: smaller batches per process raised the database's CPU per read from
91–96 µs to 136–143 µs); COMMIT pipelined behind the audit insert, a moved chain head raising an error
inside the insert so that the COMMIT cannot commit without its events (reads 2,003–2,560/s against
2,111–2,307/s, within the noise); \`wal_init_zero = off\` (no change: the long batches were not WAL
segment creation). What they showed: during reads the server's one JavaScript thread runs at 0.78–0.83
of a core while the machine is about 34 % idle (vmstat), so the limit is that thread's CPU per request,
not the database; in the database, the audit insert is 80–85 % of statement time (≈ 43 µs an event,
of which ≈ 7 µs is reading the JSON parameter and ≈ 10 µs the subject and actor indexes). A bare floor
server (below) ran again in the same minutes as ours: 5,430 and 7,840 reads/s against our 3,060 and
2,720, 39–56 % of the floor.

Sixth session: the floor server joined the rounds (the rows above), so that every run says how far
the unavoidable work alone goes on this machine. Notifications now go by SMTP to a mail server on
loopback, as production sends them. The development file transport the bench used before cost about
1 ms of kernel time per mail (creating one \`.eml\` file on this VM's ext4 volume: 0.45–0.63 of a core
of the server's system time during intake, measured with strace and /proc), and earlier runs had left
375,000 files in its directory. In alternating 10 s runs on one throwaway cluster, intake ran at
453–482/s with the file transport against 652–653/s with the console one. With SMTP, the mails
compete with intake for the server's one event loop (each message takes several round trips on its
connection): during an intake burst most notifications wait, and the backlog drains once the burst
is over, at the rate given above. Also fixed this session, outside the hot paths: the offer and
reissue races, login and rate-limit gaps and input checks that a code review and a black-box probe
found (see the closing note of issue 2).

Where the goals stand, and why. In this run the floor reached ${o.ratios.floorReadsVsPgbench.toFixed(2)}× pgbench on reads and
${o.ratios.floorIntakeVsPgbench.toFixed(2)}× on intake. Reads: the goal needs ${(200 / o.ratios.floorReadsVsPgbench).toFixed(0)} % of the floor and ours reached ${(o.ratios.readsVsFloor * 100).toFixed(0)} %; the
rest is per-request work in one Node process that the two cores cannot absorb: authentication, the
decision point, field decryption, the hash chain, and the HTTP plumbing around them. Intake is
different: the goal needs only ${(50 / o.ratios.floorIntakeVsPgbench).toFixed(0)} % of the floor, and ours reached ${(o.ratios.intakeVsFloor * 100).toFixed(0)} %. What separates
them is our own per-result work: four rows (result, invoice, two outbox rows) with eight foreign-key
checks, field encryption, the identity frozen for the report, and the delivery pipeline (outbox relay,
pg-boss, mail) running in the same process: with the relay and workers switched off (a one-off
experiment in an earlier session), intake reached 940–1,090/s in runs where it reached 600–700/s with them.
Measured and dropped: two transaction lanes with the chain head carried from one batch to the next
(a batch's reads overlapping the previous batch's commit; safe because the compare-and-set waits on
the head row): batches got smaller and cost more per request than the overlap saved (1,760–2,470/s
against 2,030–2,580/s with one lane, p99 up to 100 ms); two server processes (\`SAUFCONDUIT_WORKERS=2\`):
they contend for the chain head and for the two cores. Earlier sessions: prepared statements (≈ 3×), wrk
instead of autocannon (autocannon took CPU from the server), facts and content of a document in one
round trip. The pgbench reference itself moved between 1,280 and 3,600 TPS across runs on this VM.
<!-- foundation:end -->`;
  const file = join(root, 'docs/benchmarks.md');
  let doc = '# Benchmarks\n';
  try { doc = readFileSync(file, 'utf8'); } catch { /* new file */ }
  doc = /<!-- foundation:start -->[\s\S]*<!-- foundation:end -->/.test(doc)
    ? doc.replace(/<!-- foundation:start -->[\s\S]*<!-- foundation:end -->/, section)
    : doc.replace(/^# Benchmarks\n/, `# Benchmarks\n\n${section}\n`);
  writeFileSync(file, doc);
}

export type { Out };

/** Rewrites the foundation section of docs/benchmarks.md from bench/results/foundation.json, without measuring. */
export function rewriteFoundationDocs(): void {
  writeSection(JSON.parse(readFileSync(join(root, 'bench/results/foundation.json'), 'utf8')) as Out);
}
