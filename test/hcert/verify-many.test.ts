/**
 * Bulk verification (`verifyHc1Many`) against the single-pass path it batches: for any list of
 * texts — valid, forged, expired, revoked, untrusted, mutated, garbage, oversized — it must give
 * exactly the results `verifyHc1` gives for each text, in order, whatever the batch boundaries.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  verifyHc1,
  verifyHc1Many,
  BATCH_SIZE,
  parseTrustList,
  parseRevocationList,
  revocationHash,
  validateDcc,
  trustListFromCertificates,
  DEFAULT_LIMITS,
  type VerifyOptions,
  type HcertBackend,
} from '../../src/hcert/index.ts';
import { nodeBackend, nodeSigner } from '../../src/hcert/node.ts';
import { encodeCbor, encodeBase45, parseCoseSign1, unwrapHc1 } from '../../src/hcert/index.ts';
import { encodeCoseSign1, sigStructure } from '../../src/hcert/cose.ts';
import { deflateSync } from 'node:zlib';
import { toBase64 } from '../../src/hcert/bytes.ts';
import { loadVectors, vectorOptions } from './vectors.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC, T0, T1 } from './fixtures.ts';

const es = makeSigner();
const ps = makeSigner({ type: 'rsa' });
const stranger = makeSigner({ name: 'stranger' });
const testOnly = makeSigner({ eku: ['1.3.6.1.4.1.1847.2021.1.1'], name: 'test-only' });
const at = new Date('2021-07-01T00:00:00Z');

const revokedPass = issue(es, SAMPLE_DCC.test);
const revokedCi = ((SAMPLE_DCC.test as { t: { ci: string }[] }).t[0]!).ci;
const revocation = parseRevocationList({ UCI: [toBase64(revocationHash(nodeBackend, 'UCI', { ci: revokedCi, iss: 'FR', alg: 'ES256', signature: new Uint8Array(64) }))] });

const options: VerifyOptions = { trustList: parseTrustList(trustListJson(es, ps, testOnly), nodeBackend), backend: nodeBackend, validateDcc, at, revocation };

/** Passes of every outcome. */
const samples: string[] = [
  issue(es).hc1,
  issue(es, SAMPLE_DCC.recovery).hc1,
  issue(ps, SAMPLE_DCC.test).hc1, // revoked too: same ci as the next one
  revokedPass.hc1,
  issue(stranger).hc1, // unknown key
  issue(testOnly).hc1, // key usage
  issue(es, SAMPLE_DCC.vaccination, T0, new Date('2021-06-30T00:00:00Z')).hc1, // expired
  issue(es, SAMPLE_DCC.vaccination, new Date('2021-08-01T00:00:00Z'), T1).hc1, // not yet valid
  signAnything(es, { ...(SAMPLE_DCC.vaccination as object), dob: 'not a date' }), // schema
  'HC1:' + 'A'.repeat(DEFAULT_LIMITS.maxInputLength + 10), // oversized
  'not a pass',
  '',
];
// Forged: a valid pass whose signature no longer matches (defined after signAnything).
samples.push(signAnything(es, SAMPLE_DCC.vaccination, { forge: true }));

/**
 * Sign any DCC, schema-valid or not (issueHc1 refuses to sign an invalid one), optionally with an
 * extra CWT claim (ignored by the verifier) to make the payload as large as wanted, or with a
 * signature that does not match (one bit flipped).
 */
function signAnything(signer: typeof es, dcc: unknown, o: { padding?: number; forge?: boolean } = {}): string {
  const protectedBytes = encodeCbor(new Map<number, unknown>([[1, -7], [4, signer.kid]]));
  const claims = new Map<number, unknown>([[1, 'FR'], [4, T1.getTime() / 1000], [6, T0.getTime() / 1000], [-260, new Map([[1, dcc]])]]);
  if (o.padding) claims.set(99, new Uint8Array(o.padding).fill(7));
  const payload = encodeCbor(claims);
  const signature = nodeSigner(signer.privateKey).sign(sigStructure(protectedBytes, payload));
  if (o.forge) signature[10]! ^= 1;
  const cose = encodeCoseSign1(protectedBytes, new Map(), payload, signature);
  return 'HC1:' + encodeBase45(deflateSync(cose));
}

/** A valid vaccination DCC of a named holder. */
const named = (fn: string) => ({ ...(SAMPLE_DCC.vaccination as object), nam: { fn, fnt: 'NOM', gn: 'Test', gnt: 'TEST' } });

const one = (texts: readonly string[], o: VerifyOptions = options) => texts.map((t) => verifyHc1(t, o));

/** A text mutated by substitution, insertion, deletion or truncation. */
const mutated = fc
  .tuple(fc.constantFrom(...samples.slice(0, 9)), fc.nat(), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'), fc.constantFrom('sub', 'ins', 'del', 'cut', 'none'))
  .map(([s, pos, ch, op]) => {
    const i = 4 + (pos % (s.length - 4));
    return op === 'sub' ? s.slice(0, i) + ch + s.slice(i + 1) : op === 'ins' ? s.slice(0, i) + ch + s.slice(i) : op === 'del' ? s.slice(0, i) + s.slice(i + 1) : op === 'cut' ? s.slice(0, i) : s;
  });

describe('verifyHc1Many', () => {
  it('gives, in order, the results verifyHc1 gives for every pass, across batch boundaries', () => {
    const list = Array.from({ length: 3 * BATCH_SIZE + 7 }, (_, i) => samples[i % samples.length]!);
    const many = verifyHc1Many(list, options);
    expect(many).toEqual(one(list));
    // Each kind of outcome is there, so the test covers every step.
    expect(new Set(many.map((r) => r.reason))).toEqual(new Set([null, 'signature', 'unknown-key', 'key-usage', 'expired', 'not-yet-valid', 'schema', 'revoked', 'format']));
    expect(verifyHc1Many([], options)).toEqual([]);
  });

  it('agrees with verifyHc1 on any mix of mutated, garbage and valid texts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated, fc.constantFrom(...samples), fc.string({ maxLength: 200 })), { maxLength: 2 * BATCH_SIZE + 3 }), (list) => {
        expect(verifyHc1Many(list, options)).toEqual(one(list));
      }),
      { numRuns: 60 },
    );
  });

  it('agrees with verifyHc1 on every official vector, with one trust list and clock for all or each with its own', () => {
    const texts: string[] = [];
    const ders: Uint8Array[] = [];
    for (const v of loadVectors()) {
      if (typeof v.data.PREFIX === 'string') texts.push(v.data.PREFIX);
      const c = v.data.TESTCTX?.CERTIFICATE;
      if (typeof c === 'string') ders.push(Uint8Array.from(Buffer.from(c, 'base64')));
    }
    const o: VerifyOptions = { trustList: trustListFromCertificates(ders, nodeBackend), backend: nodeBackend, validateDcc, at: new Date('2021-06-15T00:00:00Z') };
    const many = verifyHc1Many(texts, o);
    expect(many).toEqual(one(texts, o));
    expect(many.filter((r) => r.valid).length).toBeGreaterThan(100);

    // Each vector with its own options (its certificate, its clock), as the conformance test runs it.
    const vectors = loadVectors().flatMap((v) => {
      const opts = vectorOptions(v);
      return opts ? [{ text: v.data.PREFIX as string, opts }] : [];
    });
    const own = verifyHc1Many(vectors.map((v) => v.text), vectors.map((v) => v.opts));
    expect(own).toEqual(vectors.map((v) => verifyHc1(v.text, v.opts)));
    expect(own.filter((r) => r.valid).length).toBeGreaterThan(400);
    expect(() => verifyHc1Many(['a', 'b'], [options])).toThrow(RangeError);
  });

  it('keeps each pass intact when a batch outgrows its shared buffer', () => {
    // 64 valid passes of ≈ 3 KiB of payload each (≈ 190 KiB: more than the batch's buffer), each
    // with its own holder; a forged one among them. A pass overwritten by a later one would show
    // another holder, or fail its signature.
    const list = Array.from({ length: BATCH_SIZE }, (_, i) => signAnything(es, named(`Nom${i}`), { padding: 3000, forge: i === 40 }));
    const many = verifyHc1Many(list, options);
    expect(many).toEqual(one(list));
    many.forEach((r, i) => {
      if (i === 40) expect(r.reason).toBe('signature');
      else expect(r.valid ? r.holder.name : `${r.reason}:${r.detail}`).toBe(`Test Nom${i}`);
    });
  });

  it('tries every key under a shared kid, and checks SIGNATURE revocation on the copied signature', () => {
    // The first key published under es's kid is another one: it fails, the second verifies.
    const shared = parseTrustList([{ ...(trustListJson(stranger)[0] as object), kid: toBase64(es.kid) }, ...trustListJson(es)], nodeBackend);
    const a = signAnything(es, named('Alpha'));
    const b = signAnything(es, named('Beta'));
    const sigOf = (hc1: string) => parseCoseSign1(unwrapHc1(hc1, DEFAULT_LIMITS, nodeBackend), { maxDepth: 16, maxItems: 4096 }).signature;
    const bySignature = parseRevocationList({ SIGNATURE: [toBase64(revocationHash(nodeBackend, 'SIGNATURE', { ci: '', iss: 'FR', alg: 'ES256', signature: sigOf(b) }))] });
    const o: VerifyOptions = { ...options, trustList: shared, revocation: bySignature };
    const list = [a, b, a, samples[0]!, b];
    const many = verifyHc1Many(list, o);
    expect(many).toEqual(one(list, o));
    expect(many.map((r) => r.reason)).toEqual([null, 'revoked', null, null, 'revoked']);
  });

  it('answers a backend that throws as verifyHc1 does, and may be nested', () => {
    const throwing: HcertBackend = { ...nodeBackend, verify: () => { throw new Error('boom'); } };
    const o: VerifyOptions = { ...options, backend: throwing };
    expect(verifyHc1Many(samples, o)).toEqual(one(samples, o));
    // A validator that itself verifies in bulk (the shared buffers are busy): results unchanged.
    const nested: VerifyOptions = { ...options, validateDcc: (dcc) => verifyHc1Many(samples.slice(0, 2), options).every((r) => r.valid) && validateDcc(dcc) };
    expect(verifyHc1Many(samples, nested)).toEqual(one(samples));
    // A validator that throws fails its pass as verifyHc1 does (format, internal), and only its pass.
    let calls = 0;
    const flaky: VerifyOptions = { ...options, validateDcc: (dcc) => { if (++calls % 2 === 0) throw new Error('boom'); return validateDcc(dcc); } };
    const many = verifyHc1Many(samples, flaky);
    calls = 0;
    expect(many).toEqual(one(samples, flaky));
    expect(many.some((r) => r.reason === 'format' && !r.valid && r.detail === 'internal')).toBe(true);
  });

  it('leaves no byte of a pass in the buffers it reused', () => {
    // The backend sees the signed bytes in the verifier's reused buffers: once the call returns,
    // those must be zeroes.
    const seen: Uint8Array[] = [];
    const spying: HcertBackend = { ...nodeBackend, verify: (alg, key, data, sig) => (seen.push(data, sig), nodeBackend.verify(alg, key, data, sig)) };
    const o: VerifyOptions = { ...options, backend: spying };
    const zeroed = () => {
      expect(seen.length).toBeGreaterThan(1);
      for (const b of seen.splice(0)) expect(b.every((x) => x === 0)).toBe(true);
    };
    expect(verifyHc1(samples[0]!, o).valid).toBe(true);
    zeroed();
    expect(verifyHc1Many(samples.slice(0, 4), o).filter((r) => r.valid).length).toBe(2);
    zeroed();
  });
});
