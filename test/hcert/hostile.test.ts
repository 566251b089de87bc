/**
 * Hostile input, layer by layer: fast-check round-trips and mutations, plus hand-made attacks
 * (decompression bomb, deep nesting, huge declared lengths, oversized text). Every outcome must be
 * a result or an `HcertError` with a catalogued code: never a crash, a hang or unbounded memory.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { deflateSync } from 'node:zlib';
import {
  decodeBase45,
  encodeBase45,
  decodeCbor,
  encodeCbor,
  CborTag,
  parseCoseSign1,
  inflateBounded,
  verifyHc1,
  parseTrustList,
  parseCertificate,
  validateDcc,
  HcertError,
  REASON_CODES,
  DEFAULT_LIMITS,
  type VerifyResult,
} from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC } from './fixtures.ts';

const limits = { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems };
const signer = makeSigner();
const trustList = parseTrustList(trustListJson(signer), nodeBackend);
const at = new Date('2021-07-01T00:00:00Z');
const good = issue(signer);
const verify = (text: string): VerifyResult => verifyHc1(text, { trustList, backend: nodeBackend, validateDcc, at });
const wrap = (cose: Uint8Array) => 'HC1:' + encodeBase45(deflateSync(cose));

/** Run `f`; it may return or throw an HcertError('format'), nothing else. */
function formatOrValue<T>(f: () => T): T | HcertError {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(HcertError);
    expect((e as HcertError).code).toBe('format');
    return e as HcertError;
  }
}

function expectClassified(r: VerifyResult): void {
  if (!r.valid) expect(REASON_CODES).toContain(r.reason);
}

describe('base45', () => {
  it('round-trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      expect(decodeBase45(encodeBase45(b), 1e6)).toEqual(b);
    }));
  });
  it('rejects or decodes any text, never crashing', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => void formatOrValue(() => decodeBase45(s, 1e6))), { numRuns: 2000 });
  });
  it('rejects out-of-range groups and bad lengths (RFC 9285 §4)', () => {
    expect(() => decodeBase45(':::', 100)).toThrow(/base45-range/); // 44+44·45+44·2025 > 65535
    expect(() => decodeBase45('::', 100)).toThrow(/base45-range/);
    expect(() => decodeBase45('A', 100)).toThrow(/base45-length/);
    expect(() => decodeBase45('aa', 100)).toThrow(/base45-alphabet/);
    expect(() => decodeBase45('0000', 2)).toThrow(/base45-length|base45-output-limit/);
  });
});

describe('zlib', () => {
  it('round-trips and rejects corrupted streams as format', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (b, pos, x) => {
        const z = Uint8Array.from(deflateSync(b));
        expect(inflateBounded(nodeBackend, z, 1e6)).toEqual(b);
        z[pos % z.length]! ^= x;
        formatOrValue(() => inflateBounded(nodeBackend, z, 1e6));
      }),
      { numRuns: 500 },
    );
  });
  it('stops a decompression bomb at the output limit, fast and in bounded memory', () => {
    const bomb = deflateSync(Buffer.alloc(50_000_000), { level: 9 }); // 50 MB of zeros in ~50 KB
    const before = process.memoryUsage().arrayBuffers;
    const t = performance.now();
    expect(() => inflateBounded(nodeBackend, bomb, DEFAULT_LIMITS.maxInflatedBytes)).toThrow(/zlib-output-limit/);
    expect(performance.now() - t).toBeLessThan(200);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10_000_000);
    // The same through the whole pipeline, with a bomb small enough to pass the input-length limit.
    const small = deflateSync(Buffer.alloc(5_000_000), { level: 9 });
    const text = 'HC1:' + encodeBase45(small);
    expect(text.length).toBeLessThan(DEFAULT_LIMITS.maxInputLength);
    expect(verify(text)).toMatchObject({ valid: false, reason: 'format', detail: 'zlib-output-limit' });
  });
  it('rejects a non-zlib header before inflating', () => {
    expect(() => inflateBounded(nodeBackend, Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0), 100)).toThrow(/zlib-header/);
  });
});

describe('CBOR', () => {
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.integer(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 20 }),
      fc.double({ noNaN: true }),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.uniqueArray(fc.tuple(fc.oneof(fc.integer(), fc.string()), tie('v')), { maxLength: 4, selector: ([k]) => k }).map((e) => new Map(e)),
      fc.tuple(fc.integer({ min: 0, max: 1000 }), tie('v')).map(([t, x]) => new CborTag(t, x as never)),
    ),
  })).v;

  it('round-trips encode → decode', () => {
    fc.assert(fc.property(value, (v) => {
      expect(decodeCbor(encodeCbor(v), { maxDepth: 64, maxItems: 1e5 })).toEqual(v);
    }), { numRuns: 500 });
  });
  it('decodes or rejects any bytes and any mutation of valid CBOR', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void formatOrValue(() => decodeCbor(b, limits))), { numRuns: 3000 });
    fc.assert(
      fc.property(value, fc.nat(), fc.integer({ min: 1, max: 255 }), (v, pos, x) => {
        const b = encodeCbor(v);
        b[pos % b.length]! ^= x;
        formatOrValue(() => decodeCbor(b, limits));
      }),
      { numRuns: 1000 },
    );
  });
  it('enforces depth and item limits before allocating', () => {
    const deep = new Uint8Array(100_000).fill(0x81); // [[[[…
    expect(() => decodeCbor(deep, limits)).toThrow(/cbor-depth-limit/);
    const deepTags = new Uint8Array(100_000).fill(0xc1);
    expect(() => decodeCbor(deepTags, limits)).toThrow(/cbor-depth-limit/);
    const indefinite = new Uint8Array(100_000).fill(0x9f);
    expect(() => decodeCbor(indefinite, limits)).toThrow(/cbor-depth-limit/);
    const many = encodeCbor(new Array(10_000).fill(0));
    expect(() => decodeCbor(many, limits)).toThrow(/cbor-item-limit/);
    // Declared lengths far beyond the input are refused without allocating them.
    expect(() => decodeCbor(Uint8Array.of(0x9b, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff), limits)).toThrow(/cbor-length/);
    expect(() => decodeCbor(Uint8Array.of(0x5a, 0xff, 0xff, 0xff, 0xff), limits)).toThrow(/cbor-length/);
    expect(() => decodeCbor(Uint8Array.of(0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), limits)).toThrow(/cbor-length/);
    expect(() => decodeCbor(Uint8Array.of(0xa2, 0x01, 0x00, 0x01, 0x00), limits)).toThrow(/cbor-duplicate-key/);
    expect(() => decodeCbor(Uint8Array.of(0x00, 0x00), limits)).toThrow(/cbor-trailing-bytes/);
  });
});

describe('COSE', () => {
  it('rejects or parses any mutation of a valid message; only an unchanged signed content verifies', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        const b = Uint8Array.from(good.cose);
        b[pos % b.length]! ^= x;
        formatOrValue(() => parseCoseSign1(b, limits));
        const r = verify(wrap(b));
        expectClassified(r);
        if (r.valid) expect(r.dcc).toEqual(SAMPLE_DCC.vaccination);
      }),
      { numRuns: 600 },
    );
  });
  it('rejects structurally wrong envelopes as format', () => {
    const wrong = [encodeCbor(new CborTag(98, [])), encodeCbor([1, 2, 3]), encodeCbor(new CborTag(18, [new Uint8Array(), new Map(), null, new Uint8Array()])), encodeCbor(new CborTag(18, [encodeCbor(new Map([[2, [1]]])), new Map(), new Uint8Array(), new Uint8Array()]))];
    for (const w of wrong) expect(verify(wrap(w)).reason).toBe('format');
  });
});

describe('full HC1 text', () => {
  it('classifies every mutation (substitution, insertion, deletion, truncation)', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...alphabet), fc.constantFrom('sub', 'ins', 'del', 'cut'), (pos, ch, op) => {
        const s = good.hc1;
        const i = 4 + (pos % (s.length - 4));
        const m = op === 'sub' ? s.slice(0, i) + ch + s.slice(i + 1) : op === 'ins' ? s.slice(0, i) + ch + s.slice(i) : op === 'del' ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i);
        const r = verify(m);
        expectClassified(r);
        if (r.valid) expect(r.dcc).toEqual(SAMPLE_DCC.vaccination);
      }),
      { numRuns: 1000 },
    );
  });
  it('classifies arbitrary text and rejects oversized input before decoding', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      expectClassified(verify(s));
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      expectClassified(verify("HC1:" + s));
    }), { numRuns: 2000 });
    const t = performance.now();
    expect(verify('HC1:' + 'A'.repeat(10_000_000))).toMatchObject({ valid: false, reason: 'format', detail: 'input-length' });
    expect(performance.now() - t).toBeLessThan(100);
    expect(verify(undefined as never).reason).toBe('format');
  });
});

describe('trust material', () => {
  it('never throws on garbage certificates; unusable entries are reported, not trusted', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void formatOrValue(() => parseCertificate(b))), { numRuns: 2000 });
    const tl = parseTrustList([{ rawData: 'AAAA' }, { rawData: 42 }, null, { certificateType: 'CSCA', rawData: 'x' }, ...trustListJson(signer)], nodeBackend);
    expect(tl.rejected).toHaveLength(4);
    expect(tl.byKid.size).toBe(1);
  });
});
