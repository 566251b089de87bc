/**
 * Where the time of one full verification goes: each pipeline stage timed separately over the same
 * generated passes (or, with STAGE_SET=official, the official ES256 vectors) (µs per pass, best of several rounds). Not part of `npm run bench:verify`; run
 * `node --import tsx bench/verify/stages.ts` when tuning. For a sampling profile of the whole
 * pipeline: `node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/verify/stages.ts`.
 */
import { verify as cryptoVerify, createPublicKey } from 'node:crypto';
import {
  verifyHc1,
  validateDcc,
  parseTrustList,
  parseRevocationList,
  unprefix,
  decodeBase45,
  inflateBounded,
  parseCoseSign1,
  sigStructure,
  parseCwtClaims,
  revocationHash,
  DEFAULT_LIMITS,
  type TrustList,
} from '../../src/hcert/index.ts';
import { trustListFromCertificates } from '../../src/hcert/trust-list.ts';
import { loadVectors, verifyVector } from '../../test/hcert/vectors.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC } from '../../test/hcert/fixtures.ts';

const ROUNDS = Number(process.env.STAGE_ROUNDS ?? 7);
/** STAGE_SET=official: the official ES256 vectors our verifier accepts (each with its own key and clock). */
const OFFICIAL = process.env.STAGE_SET === 'official';
const passes: string[] = [];
const trustLists: TrustList[] = [];
const ats: Date[] = [];
if (OFFICIAL) {
  for (const v of loadVectors()) {
    const r = verifyVector(v);
    if (!r?.valid) continue;
    const tl = trustListFromCertificates([Uint8Array.from(Buffer.from(String(v.data.TESTCTX?.CERTIFICATE), 'base64'))], nodeBackend);
    if ([...tl.byKid.values()][0]![0]!.alg !== 'ES256') continue;
    passes.push(String(v.data.PREFIX));
    trustLists.push(tl);
    ats.push('EXPECTEDEXPIRATIONCHECK' in v.data.EXPECTEDRESULTS ? new Date(String(v.data.TESTCTX?.VALIDATIONCLOCK)) : new Date(r.claims.iat! * 1000));
  }
} else {
  const signer = makeSigner();
  const trustList = parseTrustList(trustListJson(signer), nodeBackend);
  const kinds = ['vaccination', 'test', 'recovery'] as const;
  for (let i = 0; i < Number(process.env.STAGE_PASSES ?? 2000); i++) {
    const base = SAMPLE_DCC[kinds[i % 3]!] as Record<string, unknown>;
    const group = Object.keys(base).find((k) => k.length === 1)!;
    const entry = { ...(base[group] as object[])[0]!, ci: `URN:UVCI:01:FR:BENCH${String(i).padStart(8, '0')}#A` };
    passes.push(issue(signer, { ...base, nam: { fn: `Nom${i}`, fnt: 'NOM', gn: 'Test', gnt: 'TEST' }, [group]: [entry] } as never).hc1);
    trustLists.push(trustList);
    ats.push(new Date('2021-07-01T00:00:00Z'));
  }
}
const N = passes.length;
const fake = (i: number) => Buffer.alloc(16, i % 251).toString('base64');
const revocation = parseRevocationList({ UCI: Array.from({ length: 1000 }, (_, i) => fake(i)), COUNTRYCODEUCI: Array.from({ length: 1000 }, (_, i) => fake(i + 1)), SIGNATURE: Array.from({ length: 1000 }, (_, i) => fake(i + 2)) });
const L = DEFAULT_LIMITS;
const cl = { maxDepth: L.maxCborDepth, maxItems: L.maxCborItems };

// Precomputed inputs of each stage, so each timer covers one stage only.
const b45 = passes.map((p) => unprefix(p, L));
const zipped = b45.map((t) => decodeBase45(t, L.maxBase45Bytes));
const cose = zipped.map((z) => inflateBounded(nodeBackend, z, L.maxInflatedBytes));
const msgs = cose.map((c) => parseCoseSign1(c, cl));
const sigData = msgs.map((m) => sigStructure(m.protectedBytes, m.payload));
const claims = msgs.map((m) => parseCwtClaims(m.payload, cl));
const tkeys = trustLists.map((t) => [...t.byKid.values()][0]![0]!);
const keys = tkeys.map((k) => createPublicKey({ key: Buffer.from(k.certificate.spki), format: 'der', type: 'spki' }));

let sink = 0;
const stages: [string, (i: number) => void][] = [
  ['unprefix', (i) => (sink += unprefix(passes[i]!, L).length)],
  ['base45', (i) => (sink += decodeBase45(b45[i]!, L.maxBase45Bytes).length)],
  ['inflate', (i) => (sink += inflateBounded(nodeBackend, zipped[i]!, L.maxInflatedBytes).length)],
  ['cose parse', (i) => (sink += parseCoseSign1(cose[i]!, cl).payload.length)],
  ['sig_structure', (i) => (sink += sigStructure(msgs[i]!.protectedBytes, msgs[i]!.payload).length)],
  ['ES256 verify (backend)', (i) => (sink += +nodeBackend.verify('ES256', tkeys[i]!.key, sigData[i]!, msgs[i]!.signature))],
  ['ES256 verify (raw)', (i) => (sink += +cryptoVerify('sha256', sigData[i]!, { key: keys[i]!, dsaEncoding: 'ieee-p1363' }, msgs[i]!.signature))],
  ['cwt + toJson', (i) => (sink += parseCwtClaims(msgs[i]!.payload, cl).exp!)],
  ['schema', (i) => (sink += +validateDcc(claims[i]!.dcc))],
  ['revocation 3 hashes', (i) => {
    const input = { ci: `URN:UVCI:01:FR:BENCH${i}`, iss: claims[i]!.iss, alg: 'ES256' as const, signature: msgs[i]!.signature };
    for (const t of ['UCI', 'COUNTRYCODEUCI', 'SIGNATURE'] as const) sink += revocationHash(nodeBackend, t, input)[0]!;
  }],
  ['full verifyHc1', (i) => (sink += +verifyHc1(passes[i]!, { trustList: trustLists[i]!, backend: nodeBackend, validateDcc, at: ats[i]!, revocation }).valid)],
];

const best = new Map<string, number>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of stages) {
    const t = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    const us = ((performance.now() - t) * 1000) / N;
    if (r > 0) best.set(name, Math.min(best.get(name) ?? Infinity, us)); // round 0 is warm-up
  }
}
let parts = 0;
for (const [name, us] of best) {
  if (!name.startsWith('full') && !name.includes('(raw)') && name !== 'unprefix') parts += us;
  console.log(`${name.padEnd(24)} ${us.toFixed(2).padStart(8)} µs`);
}
console.log(`${'sum of stages'.padEnd(24)} ${parts.toFixed(2).padStart(8)} µs   (sink ${sink % 7})`);
