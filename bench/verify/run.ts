/**
 * `npm run bench:verify` — full verifications per second on one core (decode, schema, signature,
 * expiry, revocation) over (a) the official vectors our verifier accepts and (b) 20,000 generated
 * valid passes; side by side with raw node:crypto ES256 verify of the same signatures (the floor)
 * and the peer library @pathcheck/dcc-sdk (installed only in bench/verify/peer/, GPL-3.0).
 * Writes bench/results/verify.json and the "Pass verification (issue 3)" section of docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  verifyHc1,
  validateDcc,
  parseTrustList,
  parseRevocationList,
  unwrapHc1,
  parseCoseSign1,
  sigStructure,
  DEFAULT_LIMITS,
  type TrustList,
} from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { loadVectors, verifyVector } from '../../test/hcert/vectors.ts';
import { trustListFromCertificates } from '../../src/hcert/trust-list.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC } from '../../test/hcert/fixtures.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const MIN_MS = Number(process.env.BENCH_MS ?? 3000);

interface Case {
  hc1: string;
  trustList: TrustList;
  at: Date;
  certDer: Uint8Array;
}

/** Run `fn` over the cases repeatedly for at least MIN_MS; returns operations per second. */
function measure(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(i); // warm-up
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MIN_MS) {
    for (let i = 0; i < n; i++) fn(i);
    ops += n;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}
async function measureAsync(n: number, fn: (i: number) => Promise<void>, minMs = MIN_MS): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await fn(i);
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    for (let i = 0; i < n && performance.now() - start < minMs * 2; i++) {
      await fn(i);
      ops++;
    }
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/** The ES256 floor: node:crypto verify of exactly the bytes the pipeline verifies. */
function rawSet(cases: Case[]): { data: Uint8Array; sig: Uint8Array; key: KeyObject }[] {
  const out = [];
  for (const c of cases) {
    const msg = parseCoseSign1(unwrapHc1(c.hc1, DEFAULT_LIMITS, nodeBackend), { maxDepth: 16, maxItems: 4096 });
    if (msg.signature.length !== 64) continue;
    const spki = [...c.trustList.byKid.values()][0]![0]!.certificate.spki;
    out.push({ data: sigStructure(msg.protectedBytes, msg.payload), sig: msg.signature, key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }) });
  }
  return out;
}

async function loadPeer(): Promise<{ unpackAndVerify: (qr: string, pem?: string) => Promise<{ status: string }>; addCachedCerts: (m: Record<string, string>) => void } | { error: string }> {
  const dir = here('./peer/');
  try {
    if (!existsSync(here('./peer/node_modules/@pathcheck/dcc-sdk/package.json'))) {
      console.log('installing @pathcheck/dcc-sdk into bench/verify/peer …');
      execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
    }
    // Its lib/index.js bootstraps through the 2019 `esm` loader, which crashes on Node 20; the ESM
    // sources under lib/ load fine through tsx, so we import lib/main.js directly.
    // Path held in a variable: the peer is optional and untyped, so the typechecker must not resolve it.
    const entry = './peer/node_modules/@pathcheck/dcc-sdk/lib/main.js';
    const mod: unknown = await import(entry);
    return mod as never;
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]!.slice(0, 300) };
  }
}

async function main(): Promise<void> {
  // (a) Official vectors our pipeline accepts, each with its own certificate and clock.
  const official: Case[] = [];
  for (const v of loadVectors()) {
    const r = verifyVector(v);
    if (!r?.valid) continue;
    const der = Uint8Array.from(Buffer.from(String(v.data.TESTCTX?.CERTIFICATE), 'base64'));
    const iat = r.claims.iat!;
    const at = 'EXPECTEDEXPIRATIONCHECK' in v.data.EXPECTEDRESULTS ? new Date(String(v.data.TESTCTX?.VALIDATIONCLOCK)) : new Date(iat * 1000);
    official.push({ hc1: String(v.data.PREFIX), trustList: trustListFromCertificates([der], nodeBackend), at, certDer: der });
  }

  // (b) 20,000 generated valid passes from one ES256 DSC, with a 1,000-entry revocation list of
  // each hash type so revocation lookups are exercised.
  const N = Number(process.env.BENCH_PASSES ?? 20_000);
  const signer = makeSigner();
  const trustList = parseTrustList(trustListJson(signer), nodeBackend);
  const kinds = ['vaccination', 'test', 'recovery'] as const;
  const generated: Case[] = [];
  for (let i = 0; i < N; i++) {
    const base = SAMPLE_DCC[kinds[i % 3]!] as Record<string, unknown>;
    const group = Object.keys(base).find((k) => k.length === 1)!;
    const entry = { ...(base[group] as object[])[0]!, ci: `URN:UVCI:01:FR:BENCH${String(i).padStart(8, '0')}#A` };
    const dcc = { ...base, nam: { fn: `Nom${i}`, fnt: `NOM`, gn: 'Test', gnt: 'TEST' }, [group]: [entry] };
    generated.push({ hc1: issue(signer, dcc as never).hc1, trustList, at: new Date('2021-07-01T00:00:00Z'), certDer: signer.certificateDer });
  }
  const fake = (i: number) => Buffer.alloc(16, i % 251).toString('base64');
  const revocation = parseRevocationList({ UCI: Array.from({ length: 1000 }, (_, i) => fake(i)), COUNTRYCODEUCI: Array.from({ length: 1000 }, (_, i) => fake(i + 1)), SIGNATURE: Array.from({ length: 1000 }, (_, i) => fake(i + 2)) });

  const run = (cases: Case[]) =>
    measure(cases.length, (i) => {
      const c = cases[i]!;
      const r = verifyHc1(c.hc1, { trustList: c.trustList, backend: nodeBackend, validateDcc, at: c.at, revocation });
      if (!r.valid) throw new Error(`bench pass rejected: ${r.reason}`);
    });
  const runRaw = (set: ReturnType<typeof rawSet>) =>
    measure(set.length, (i) => {
      const s = set[i]!;
      if (!cryptoVerify('sha256', s.data, { key: s.key, dsaEncoding: 'ieee-p1363' }, s.sig)) throw new Error('raw verify failed');
    });

  const officialEs = official.filter((c) => [...c.trustList.byKid.values()][0]![0]!.alg === 'ES256');
  const results: Record<string, unknown> = {};
  console.log(`official vectors accepted: ${official.length} (${officialEs.length} ES256); generated passes: ${generated.length}`);
  const ours = { official: run(official), officialEs256: run(officialEs), generated: run(generated) };
  const raw = { officialEs256: runRaw(rawSet(officialEs)), generated: runRaw(rawSet(generated)) };
  console.log('ours', ours, 'raw ES256', raw);

  // Peer: same generated passes, key supplied as a cached certificate (no network).
  const peer = await loadPeer();
  let peerResult: Record<string, unknown>;
  if ('error' in peer) peerResult = { loaded: false, error: peer.error };
  else {
    peer.addCachedCerts({ [Buffer.from(signer.kid).toString('base64')]: Buffer.from(signer.certificateDer).toString('base64') });
    const first = await peer.unpackAndVerify(generated[0]!.hc1);
    if (first.status !== 'verified') peerResult = { loaded: true, error: `peer did not verify a valid pass: status ${first.status}` };
    else {
      const sub = generated.slice(0, 2000);
      const rate = await measureAsync(sub.length, async (i) => {
        const r = await peer.unpackAndVerify(sub[i]!.hc1);
        if (r.status !== 'verified') throw new Error(`peer status ${r.status}`);
      });
      peerResult = { loaded: true, generated: rate, checks: 'base45, zlib, COSE signature only (no schema, expiry or revocation)' };
    }
  }
  console.log('peer', peerResult);

  const peerRate = typeof peerResult.generated === 'number' ? peerResult.generated : undefined;
  Object.assign(results, {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    oneCore: true,
    durationMsPerMeasurement: MIN_MS,
    counts: { officialAccepted: official.length, officialEs256: officialEs.length, generated: generated.length, revocationEntries: 3000 },
    opsPerSecond: { ours, rawNodeCryptoEs256: raw, peer: peerResult },
    ratios: {
      oursVsRawEs256Generated: ours.generated / raw.generated,
      oursVsRawEs256Official: ours.officialEs256 / raw.officialEs256,
      oursVsPeerGenerated: peerRate ? ours.generated / peerRate : null,
    },
  });
  mkdirSync(here('../results/'), { recursive: true });
  writeFileSync(here('../results/verify.json'), JSON.stringify(results, null, 2) + '\n');
  writeDocs(results);
  console.log(JSON.stringify(results.ratios));
}

function writeDocs(r: Record<string, any>): void {
  const path = here('../../docs/benchmarks.md');
  const title = '## Pass verification (issue 3)';
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  const o = r.opsPerSecond;
  const section = [
    title,
    '',
    `Measured by \`npm run bench:verify\` (${r.date.slice(0, 10)}, Node ${r.node}, ${r.cpu}, one core, single thread). Full verification = prefix, base45,`,
    'bounded zlib, COSE, ES256/PS256 signature, CWT, DCC schema, key usage, expiry, revocation lookup (3 × 1,000 entries). Raw JSON: `bench/results/verify.json`.',
    '',
    '| workload | ours (full verify/s) | raw node:crypto ES256 verify/s | @pathcheck/dcc-sdk verify/s | ours / raw | ours / peer |',
    '|---|---|---|---|---|---|',
    `| ${r.counts.generated.toLocaleString('en-US')} generated ES256 passes | ${f(o.ours.generated)} | ${f(o.rawNodeCryptoEs256.generated)} | ${o.peer.generated ? f(o.peer.generated) : 'n/a'} | ${(100 * r.ratios.oursVsRawEs256Generated).toFixed(0)} % | ${r.ratios.oursVsPeerGenerated ? r.ratios.oursVsPeerGenerated.toFixed(1) + '×' : 'n/a'} |`,
    `| ${r.counts.officialEs256} official vectors, ES256 | ${f(o.ours.officialEs256)} | ${f(o.rawNodeCryptoEs256.officialEs256)} | | ${(100 * r.ratios.oursVsRawEs256Official).toFixed(0)} % | |`,
    `| ${r.counts.officialAccepted} official vectors, ES256 + PS256 | ${f(o.ours.official)} | | | | |`,
    '',
    'Notes: the raw ES256 floor moves by ±15 % between workloads and runs on this shared core, so read the',
    'ours/raw column with that margin. The largest fixed costs left in our pipeline are node:zlib `inflateSync`',
    '(~25 µs per pass: a native zlib handle is created per call) and CBOR decoding; a bounded pure-JS inflate',
    '(which the browser verifier needs anyway) is the next step if the official-vector ratio must reach 75 %.',
    'The peer needed no npm `overrides`: its 2021 WebCrypto dependencies install and run on Node 20; what fails is',
    'only its `esm`-loader entry point (see below).',
    '',
    o.peer.loaded === false || o.peer.error ? `Peer: not measured — ${o.peer.error}` : `Peer: @pathcheck/dcc-sdk 0.0.27 (bench/verify/peer, pinned lockfile), same passes, key given as a cached certificate; it checks ${o.peer.checks}. Its \`lib/index.js\` boots through the \`esm\` loader, which crashes on Node 20, so the bench imports its ESM sources (\`lib/main.js\`) through tsx; nothing else is patched.`,
    '',
  ].join('\n');
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const start = doc.indexOf(title);
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + title.length);
    doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next + 1) : '');
  } else doc = doc.trimEnd() + '\n\n' + section;
  writeFileSync(path, doc);
}

await main();
