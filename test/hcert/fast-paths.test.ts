/**
 * The verification fast paths against the reference paths they stand in for (property tests):
 * every fast path must give the same value, or fail with the same `HcertError` code and detail,
 * as the straightforward code it replaced (kept here, verbatim where it was ours) or as the
 * platform (node:crypto, node:zlib, regular expressions, `for…of`).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { constants, deflateSync } from 'node:zlib';
import {
  decodeBase45,
  encodeBase45,
  encodeCbor,
  CborTag,
  parseCwtClaims,
  parseCoseSign1,
  unwrapHc1,
  verifyHc1,
  parseTrustList,
  parseRevocationList,
  revocationHash,
  validateDcc,
  algorithmFor,
  keyUsageAllows,
  KEY_USAGE_OIDS,
  HcertError,
  DEFAULT_LIMITS,
  type Json,
  type CertificateType,
  type VerifyOptions,
} from '../../src/hcert/index.ts';
import { decodeBase45Into, decodeStrict } from '../../src/hcert/base45.ts';
import { CborReader, decodeCbor, type CborKey, type CborLimits, type CborValue } from '../../src/hcert/cbor.ts';
import { sigStructure, sigStructureInto, sigStructureLength } from '../../src/hcert/cose.ts';
import { inflateZlib } from '../../src/hcert/inflate.ts';
import { allowedAlgorithm } from '../../src/hcert/algorithms.ts';
import { kidKey, toBase64 } from '../../src/hcert/bytes.ts';
import { isDate, isDateTime } from '../../src/hcert/formats.ts';
import { agreeWithZlib } from './zlib-oracle.ts';
import { sha256, sha256BytesKey16, sha256TextKey16 } from '../../src/hcert/sha256.ts';
import { findRevocation, revocationKey, REVOCATION_HASH_TYPES } from '../../src/hcert/revocation.ts';
import { formatError } from '../../src/hcert/errors.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { UCS2LENGTH } from './generate-schema.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC } from './fixtures.ts';

const limits: CborLimits = { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems };

/** Value or error (code and detail) of `f`: what two paths must agree on. */
function outcome<T>(f: () => T): { value: T } | { error: string } {
  try {
    return { value: f() };
  } catch (e) {
    if (!(e instanceof HcertError)) throw e;
    return { error: `${e.code}:${e.detail}` };
  }
}

/** Strings mixing ASCII, Latin-1, BMP, astral characters and lone surrogates. */
const anyText = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '0', '#', ':', ' '), fc.constantFrom('é', 'ß', '\u00ff', '€', '中', '😀', '\ud800', '\udc00', '\udbff')), maxLength: 80 });

describe('SHA-256 (sha256.ts over @noble/hashes) against node:crypto', () => {
  const ref = (b: Uint8Array) => createHash('sha256').update(b).digest();
  it('hashes the FIPS 180-4 examples', () => {
    expect(Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(Buffer.from(sha256(new Uint8Array(0))).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const two = new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    expect(Buffer.from(sha256(two)).toString('hex')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  it('agrees on every length across the block boundaries, and on long inputs', () => {
    for (let n = 0; n <= 200; n++) {
      const b = randomBytes(n);
      expect(Buffer.from(sha256(b)).equals(ref(b))).toBe(true);
      expect(sha256BytesKey16(b)).toBe(revocationKey(ref(b)));
    }
    const big = randomBytes(70_000);
    expect(Buffer.from(sha256(big)).equals(ref(big))).toBe(true);
  });
  it('hashes a byte range as the bytes of that range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (b, x, y) => {
        const start = b.length ? x % (b.length + 1) : 0;
        const end = start + (b.length - start ? y % (b.length - start + 1) : 0);
        expect(sha256BytesKey16(b, start, end)).toBe(revocationKey(ref(b.subarray(start, end))));
      }),
      { numRuns: 500 },
    );
  });
  it('hashes text as TextEncoder UTF-8, a pair split across the two parts included', () => {
    fc.assert(
      fc.property(anyText, anyText, (s, t) => {
        const utf8 = (x: string) => new TextEncoder().encode(x);
        expect(sha256TextKey16(s)).toBe(revocationKey(ref(utf8(s))));
        expect(sha256TextKey16(s, t)).toBe(revocationKey(ref(utf8(s + t))));
      }),
      { numRuns: 1000 },
    );
    expect(sha256TextKey16('x\ud83d', '\ude00y')).toBe(revocationKey(ref(new TextEncoder().encode('x😀y'))));
  });
});

describe('revocation lookup (findRevocation) against the backend hashes (revocationHash)', () => {
  const { sha256Latin1: _omitted, ...withoutLatin1 } = nodeBackend;
  it('the node backend sha256Latin1 is the digest of TextEncoder UTF-8, as latin1', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.uint8Array({ maxLength: 300 })), (d) => {
        const bytes = typeof d === 'string' ? new TextEncoder().encode(d) : d;
        expect(nodeBackend.sha256Latin1!(d)).toBe(createHash('sha256').update(bytes).digest('binary'));
      }),
      { numRuns: 2000 },
    );
  });
  it('finds exactly the hash types whose list holds the reference hash', () => {
    const input = fc.record({
      ci: anyText,
      iss: fc.option(anyText, { nil: undefined }),
      alg: fc.constantFrom('ES256' as const, 'PS256' as const),
      signature: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    });
    fc.assert(
      fc.property(input, fc.subarray([...REVOCATION_HASH_TYPES]), fc.boolean(), (inp, listed, noise) => {
        if (inp.alg === 'ES256') inp.signature = inp.signature.subarray(0, 64);
        const json: Record<string, string[]> = {};
        for (const t of REVOCATION_HASH_TYPES) {
          json[t] = noise ? [Buffer.alloc(16, 7).toString('base64')] : [];
          if (listed.includes(t)) json[t]!.push(Buffer.from(revocationHash(nodeBackend, t, inp)).toString('base64'));
        }
        const expected = REVOCATION_HASH_TYPES.find((t) => listed.includes(t));
        const list = parseRevocationList(json);
        expect(findRevocation(nodeBackend, list, inp)).toBe(expected); // node:crypto sha256Latin1
        expect(findRevocation(withoutLatin1, list, inp)).toBe(expected); // @noble/hashes fallback
      }),
      { numRuns: 600 },
    );
  });
});

describe('base45 fast decoder against the strict reference loop', () => {
  /** The decoder as it was: one checked character at a time (decodeStrict), into a fresh array. */
  function reference(text: string, maxBytes: number): Uint8Array {
    if (text.length % 3 === 1) throw formatError('base45-length');
    const outLen = Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0);
    if (outLen > maxBytes) throw formatError('base45-output-limit');
    const out = new Uint8Array(outLen);
    decodeStrict(text, out);
    return out;
  }
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  const b45ish = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((b) => encodeBase45(b)),
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 300 }), // includes out-of-range groups
    fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.constantFrom('a', 'é', '😀', '\u0100', '\uffff', '\u0080', '#', '_')).map(([b, at, c]) => {
      const s = encodeBase45(b);
      const i = s.length ? at % s.length : 0;
      return s.slice(0, i) + c + s.slice(i + 1);
    }),
    fc.string({ maxLength: 60 }),
  );
  it('decodes, or fails with the same detail, exactly as the reference', () => {
    const scratch = new Uint8Array(64).fill(0xee);
    fc.assert(
      fc.property(b45ish, fc.integer({ min: 0, max: 400 }), (s, max) => {
        const ref = outcome(() => reference(s, max));
        expect(outcome(() => decodeBase45(s, max))).toEqual(ref);
        // Into a reused buffer (too small ones fall back to a fresh array): same bytes.
        const into = outcome(() => Uint8Array.from(decodeBase45Into(s, max, scratch)));
        expect(into).toEqual(ref);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('inflate into a reused buffer, with the fast loop, against node:zlib', () => {
  const garbage = () => Uint8Array.from(randomBytes(1 << 16));
  const agree = agreeWithZlib;
  const data = fc.oneof(
    fc.uint8Array({ maxLength: 2000 }),
    fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3000 }).map((xs) => Uint8Array.from(xs.map((x) => (x * 37) & 255))),
    fc.string({ maxLength: 600 }).map((s) => new TextEncoder().encode(s.repeat(4))),
  );
  it('gives the same output or rejection, whatever the stale bytes and size of the buffer', () => {
    const strategies = [constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE];
    fc.assert(
      fc.property(data, fc.constantFrom(...strategies), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 5000 }), fc.constantFrom(0, 1, 300, 4096, 1 << 16), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 2 }), fc.nat(), (b, strategy, level, max, scratchLen, flips, cut) => {
        const z = Uint8Array.from(deflateSync(b, { strategy, level }));
        const scratch = garbage().subarray(0, scratchLen);
        agree(z, max, scratch);
        const m = Uint8Array.from(z);
        for (const [pos, x] of flips) m[2 + (pos % (m.length - 2))]! ^= x;
        agree(m, 1 << 20, scratch);
        agree(z.subarray(0, cut % (z.length + 1)), 1 << 20, scratch);
      }),
      { numRuns: 1500 },
    );
  });
  /**
   * A fixed-Huffman stream written by hand from literals and matches whose distance may reach
   * before the start of the output (which zlib never emits, so corrupted streams rarely hit it).
   */
  function fixedStream(ops: ({ lit: number } | { len: number; back: number })[]): Uint8Array {
    const bytes: number[] = [0x78, 0x01];
    let acc = 0;
    let nbits = 0;
    const put = (v: number, n: number) => {
      for (let i = 0; i < n; i++) {
        acc |= ((v >> i) & 1) << nbits++;
        if (nbits === 8) bytes.push(acc), (acc = 0), (nbits = 0);
      }
    };
    const code = (c: number, n: number) => { for (let i = n - 1; i >= 0; i--) put((c >> i) & 1, 1); }; // Huffman codes MSB first
    const litlen = (sym: number) => (sym < 144 ? code(0x30 + sym, 8) : sym < 256 ? code(0x190 + sym - 144, 9) : sym < 280 ? code(sym - 256, 7) : code(0xc0 + sym - 280, 8));
    const LB = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
    const LE = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    const DB = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
    const DE = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    put(1, 1); // BFINAL
    put(1, 2); // BTYPE = fixed
    const out: number[] = [];
    for (const op of ops) {
      if ('lit' in op) {
        litlen(op.lit);
        out.push(op.lit);
        continue;
      }
      const dist = Math.max(1, out.length + op.back);
      let li = LB.length - 1;
      while (LB[li]! > op.len) li--;
      litlen(257 + li);
      put(op.len - LB[li]!, LE[li]!);
      let di = DB.length - 1;
      while (DB[di]! > dist) di--;
      code(di, 5);
      put(dist - DB[di]!, DE[di]!);
      for (let k = 0; k < op.len; k++) out.push(dist <= out.length ? out[out.length - dist]! : 0);
    }
    litlen(256);
    if (nbits) bytes.push(acc);
    let a = 1;
    let b = 0;
    for (const x of out) (a = (a + x) % 65521), (b = (b + a) % 65521);
    const adler = ((b << 16) | a) >>> 0;
    bytes.push(adler >>> 24, (adler >> 16) & 255, (adler >> 8) & 255, adler & 255);
    return Uint8Array.from(bytes);
  }
  it('rejects a match reaching before the output start as zlib does, in and out of the fast loop', () => {
    const op = fc.oneof(fc.integer({ min: 0, max: 287 }).filter((x) => x < 256).map((lit) => ({ lit })), fc.record({ len: fc.integer({ min: 3, max: 258 }), back: fc.integer({ min: -40, max: 2 }) }));
    const scratch = Uint8Array.from(randomBytes(1 << 16));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 4000 }), (ops, max) => {
        const z = fixedStream(ops);
        agree(z, 1 << 20, scratch);
        agree(z, max, scratch);
      }),
      { numRuns: 3000 },
    );
  });
  it('honours the output limit to the byte in the fast loop too', () => {
    const b = new Uint8Array(20_000);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7919) % 251;
    const z = Uint8Array.from(deflateSync(b));
    const scratch = new Uint8Array(1 << 16);
    expect(Buffer.from(inflateZlib(z, 20_000, scratch)).equals(b)).toBe(true);
    expect(() => inflateZlib(z, 19_999, scratch)).toThrow(/zlib-output-limit/);
    expect(() => inflateZlib(z, 19_999)).toThrow(/zlib-output-limit/);
  });
});

describe('Sig_structure into a reused buffer against the generic CBOR encoder', () => {
  it('is the encoding of ["Signature1", protected, h\'\', payload]', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(23, 24, 255, 256, 65_535, 65_536, 70_000).map((n) => randomBytes(n))), (p, payload) => {
        const ref = Buffer.from(encodeCbor(['Signature1', p, new Uint8Array(0), payload]));
        expect(ref.equals(sigStructure(p, payload))).toBe(true);
        expect(sigStructureLength(p, payload)).toBe(ref.length);
        const buf = new Uint8Array(ref.length + 10).fill(0xaa);
        expect(ref.equals(sigStructureInto(p, payload, buf))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('small per-pass lookups against their general forms', () => {
  it('kidKey is toBase64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), (b) => {
        expect(kidKey(b)).toBe(toBase64(b));
      }),
      { numRuns: 2000 },
    );
  });
  it('allowedAlgorithm describes what algorithmFor does', () => {
    for (const v of [-7, -37, -8, 0, -0, 1, -257, NaN, 7, '-7', null, undefined, 1.5, -7n]) {
      const a = algorithmFor(v);
      const b = allowedAlgorithm(v);
      expect(b === undefined ? undefined : { ...b }).toEqual(a);
    }
  });
  it('keyUsageAllows decides as the filter/some formulation', () => {
    const reference = (eku: readonly string[] | undefined, type: CertificateType): boolean => {
      if (!eku) return true;
      const all = new Set(Object.values(KEY_USAGE_OIDS).flat());
      const dcc = eku.filter((o) => all.has(o));
      return dcc.length === 0 || dcc.some((o) => KEY_USAGE_OIDS[type].includes(o));
    };
    const oid = fc.constantFrom(...Object.values(KEY_USAGE_OIDS).flat(), '1.3.6.1.5.5.7.3.2', '2.5.29.37.0', '1.3.6.1.4.1.1847.2021.1.4');
    fc.assert(
      fc.property(fc.option(fc.array(oid, { maxLength: 5 }), { nil: undefined }), fc.constantFrom<CertificateType>('vaccination', 'test', 'recovery'), (eku, type) => {
        expect(keyUsageAllows(eku, type)).toBe(reference(eku, type));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('schema helpers against what they replace', () => {
  const DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
  const DATE_TIME = /^(\d{4}-\d\d-\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|([+-])(\d\d):(\d\d))$/;
  const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  function refDate(s: string): boolean {
    const m = DATE.exec(s);
    if (!m) return false;
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    return mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && !leap(y) ? 28 : DAYS[mo]!);
  }
  function refDateTime(s: string): boolean {
    const m = DATE_TIME.exec(s);
    if (!m || !refDate(m[1]!)) return false;
    const h = Number(m[2]);
    const mi = Number(m[3]);
    const sec = Number(m[4]);
    if (h > 23 || mi > 59 || sec > 60) return false;
    return m[5] === undefined || (Number(m[6]) <= 23 && Number(m[7]) <= 59);
  }
  // Near-miss strings: valid shapes with characters replaced, inserted or dropped.
  // Two digits, mostly around the limits the checks care about (months, days, hours, minutes, seconds).
  const dd = fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constantFrom(0, 1, 12, 13, 23, 24, 28, 29, 30, 31, 32, 59, 60, 61)).map((n) => String(n).padStart(2, '0'));
  const year = fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1900, 2000, 2020, 2021, 2023, 2024, 2100)).map((n) => String(n).padStart(4, '0'));
  const date = fc.tuple(year, fc.integer({ min: 0, max: 13 }).map((n) => String(n).padStart(2, '0')), dd).map(([y, m, d]) => `${y}-${m}-${d}`);
  const zone = fc.oneof(fc.constantFrom('Z', 'z', '', '+5:00', 'UTC'), fc.tuple(fc.constantFrom('+', '-'), dd, dd).map(([sg, h, m]) => `${sg}${h}:${m}`));
  const datetime = fc
    .tuple(date, fc.constantFrom('T', 't', 'T', ' '), dd, dd, dd, fc.constantFrom('', '', '.5', '.123456', '.'), zone)
    .map(([d, t, h, m, s, f, z]) => `${d}${t}${h}:${m}:${s}${f}${z}`);
  const mutate = (g: fc.Arbitrary<string>) =>
    fc.tuple(g, fc.nat(), fc.constantFrom('', '0', '9', '-', ':', 'T', 'Z', 'x', '٣', ' ', '\n'), fc.boolean()).map(([s, at, c, insert]) => {
      const i = s.length ? at % s.length : 0;
      return insert ? s.slice(0, i) + c + s.slice(i) : s.slice(0, i) + c + s.slice(i + 1);
    });
  const dateish = fc.oneof(date, { arbitrary: datetime, weight: 5 }, mutate(date), { arbitrary: mutate(datetime), weight: 2 }, mutate(mutate(datetime)), fc.string({ maxLength: 30 }));
  it('isDate and isDateTime decide as the regular expressions', () => {
    fc.assert(
      fc.property(dateish, (s) => {
        expect(isDate(s)).toBe(refDate(s));
        expect(isDateTime(s)).toBe(refDateTime(s));
      }),
      { numRuns: 20_000 },
    );
    for (const s of ['2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '2021-04-31', '2021-13-01', '2021-00-10', '2021-05-00', '2021-05-29T23:59:60Z', '2021-05-29T23:59:61Z', '2021-05-29T23:60:00Z', '2021-05-29T24:00:00Z', '2021-05-29T10:00:00.Z', '2021-05-29T10:00:00+23:59', '2021-05-29T10:00:00-24:00', '2021-05-29T10:00:00+00:60'])
      expect([s, isDate(s), isDateTime(s)]).toEqual([s, refDate(s), refDateTime(s)]);
  });
  it('the generated ucs2length counts code points as for…of does', () => {
    const ucs2length = new Function(`${UCS2LENGTH}; return ucs2length;`)() as (s: string) => number;
    fc.assert(
      fc.property(anyText, (s) => {
        let n = 0;
        for (const _c of s) n++;
        expect(ucs2length(s)).toBe(n);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('CWT and DCC decoding against the reference decoder', () => {
  /**
   * The reference: the DCC decoder as it was before the fast paths (key via item(), text built from
   * its bytes) and the claim set collected in Maps, verbatim but for the names.
   */
  class ReferenceReader extends CborReader {
    override json(depth: number): Json {
      if (depth > this.limits.maxDepth) throw formatError('cbor-depth-limit');
      if (this.pos >= this.buf.length) throw formatError('cbor-truncated');
      const ib = this.buf[this.pos]!;
      const major = ib >> 5;
      if (major === 3) {
        this.pos++;
        this.count(1);
        return this.text(ib & 31);
      }
      if (major === 4) {
        this.pos++;
        this.count(1);
        const n = this.length(ib & 31, 1);
        const out: Json[] = [];
        if (n >= 0) {
          for (let i = 0; i < n; i++) out.push(this.json(depth + 1));
        } else {
          while (!this.isBreak()) out.push(this.json(depth + 1));
        }
        return out;
      }
      if (major === 5) {
        this.pos++;
        this.count(1);
        const n = this.length(ib & 31, 2);
        const out: { [k: string]: Json } = {};
        if (n >= 0) {
          for (let i = 0; i < n; i++) this.jsonEntry(out, depth);
        } else {
          while (!this.isBreak()) this.jsonEntry(out, depth);
        }
        return out;
      }
      const v = this.item(depth);
      if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) throw formatError('dcc-number');
        return v;
      }
      if (v instanceof CborTag) {
        if (v.tag === 0 && typeof v.value === 'string') return v.value;
        if (v.tag === 1 && typeof v.value === 'number' && Number.isFinite(v.value)) {
          const d = new Date(v.value * 1000);
          if (Number.isNaN(d.getTime())) throw formatError('dcc-date');
          return d.toISOString().replace('.000Z', 'Z');
        }
      }
      throw formatError('dcc-type');
    }
    override jsonEntry(out: { [k: string]: Json }, depth: number): void {
      const k = this.item(depth + 1);
      if (typeof k !== 'string') throw formatError(typeof k === 'number' ? 'dcc-key' : 'cbor-map-key-type');
      if (Object.prototype.hasOwnProperty.call(out, k)) throw formatError('cbor-duplicate-key');
      const v = this.json(depth + 1);
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    override text(ai: number): string {
      const s = this.string(3, ai);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(s);
      } catch {
        throw formatError('cbor-utf8');
      }
    }
  }

  function referenceClaims(payload: Uint8Array, lim: CborLimits) {
    const r = new ReferenceReader(payload, lim);
    if (payload.length === 0 || payload[0]! >> 5 !== 5) {
      decodeCbor(payload, lim);
      throw formatError('cwt-not-map');
    }
    const claimKey = (seen: Map<CborKey, CborValue>, depth: number): CborKey => {
      const k = r.item(depth);
      if (typeof k !== 'number' && typeof k !== 'string') throw formatError('cbor-map-key-type');
      if (seen.has(k)) throw formatError('cbor-duplicate-key');
      return k;
    };
    const numericDate = (v: CborValue, name: string): number | undefined => {
      if (v instanceof CborTag && v.tag === 1) v = v.value;
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw formatError(`cwt-${name}`);
      return v;
    };
    const claims = new Map<CborKey, CborValue>();
    let dcc: Json | undefined;
    let hcertSeen = false;
    r.count(1);
    const n = r.length(r.byte() & 31, 2);
    for (let i = 0; n < 0 ? !r.isBreak() : i < n; i++) {
      const k = claimKey(claims, 1);
      if (k === -260 && r.pos < payload.length && payload[r.pos]! >> 5 === 5) {
        hcertSeen = true;
        claims.set(k, null);
        const inner = new Map<CborKey, CborValue>();
        r.count(1);
        const m = r.length(r.byte() & 31, 2);
        for (let j = 0; m < 0 ? !r.isBreak() : j < m; j++) {
          const hk = claimKey(inner, 2);
          if (hk === 1) {
            const v = r.json(2);
            if (typeof v !== 'object' || v === null || Array.isArray(v)) throw formatError('cwt-dcc-missing');
            dcc = v;
            inner.set(hk, null);
          } else inner.set(hk, r.item(2));
        }
      } else claims.set(k, r.item(1));
    }
    if (r.pos !== payload.length) throw formatError('cbor-trailing-bytes');
    const iss = claims.get(1);
    if (iss !== undefined && typeof iss !== 'string') throw formatError('cwt-iss');
    if (!hcertSeen) throw formatError('cwt-hcert-missing');
    if (dcc === undefined) throw formatError('cwt-dcc-missing');
    return { iss, iat: numericDate(claims.get(6), 'iat'), exp: numericDate(claims.get(4), 'exp'), dcc };
  }

  // DCC-like values: the schema's keys and unknown ones, ASCII and non-ASCII text, numbers, dates as tags.
  const key = fc.oneof(fc.constantFrom('ver', 'nam', 'fn', 'fnt', 'gn', 'gnt', 'dob', 'v', 't', 'r', 'tg', 'dn', 'sd', 'ci', 'co', 'is', 'df', 'du', 'fr', 'sc'), fc.constantFrom('', 'x', 'vx', 'ver2', '__proto__', 'constructor', 'é', 'vé'), fc.string({ maxLength: 6 }));
  const leaf = fc.oneof(fc.string({ maxLength: 70 }), anyText, fc.integer({ min: -1000, max: 100_000 }), fc.double(), fc.boolean(), fc.constant(null), fc.integer({ min: 0, max: 2e9 }).map((s) => new CborTag(1, s)), fc.string({ maxLength: 25 }).map((s) => new CborTag(0, s)));
  const { value: dccValue } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((es) => new Map(es))),
  }));
  const claimSet = fc
    .record({ iss: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), iat: fc.oneof(fc.integer({ min: 0, max: 2e9 }), fc.double()), exp: fc.integer({ min: 0, max: 2e9 }), dcc: dccValue, extra: fc.array(fc.tuple(fc.oneof(fc.integer({ min: -300, max: 300 }), fc.string({ maxLength: 3 })), leaf), { maxLength: 3 }) })
    .map(({ iss, iat, exp, dcc, extra }) => new Map<unknown, unknown>([[1, iss], [6, iat], [4, exp], ...extra, [-260, new Map([[1, dcc]])]]));
  const mutated = fc.tuple(claimSet, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }), fc.nat(), fc.boolean()).map(([m, flips, cut, doCut]) => {
    const b = Uint8Array.from(encodeCbor(m));
    for (const [pos, x] of flips) b[pos % b.length]! ^= x;
    return doCut ? b.subarray(0, cut % (b.length + 1)) : b;
  });
  const tight = fc.constantFrom<CborLimits>(limits, { maxDepth: 4, maxItems: 4096 }, { maxDepth: 16, maxItems: 12 });

  it('decodes, or fails with the same detail, exactly as the reference', () => {
    fc.assert(
      fc.property(fc.oneof(claimSet.map((m) => encodeCbor(m)), mutated, fc.uint8Array({ maxLength: 200 })), tight, (payload, lim) => {
        const ref = outcome(() => referenceClaims(payload, lim));
        const ours = outcome(() => parseCwtClaims(payload, lim));
        expect(ours).toEqual(ref);
        if ('value' in ours && 'value' in ref) expect(JSON.stringify(ours.value.dcc)).toBe(JSON.stringify(ref.value.dcc)); // key order too
      }),
      { numRuns: 4000 },
    );
  });
  it('decodes the sample DCCs as the reference', () => {
    for (const dcc of Object.values(SAMPLE_DCC)) {
      const payload = encodeCbor(new Map<unknown, unknown>([[1, 'FR'], [6, 1], [4, 2], [-260, new Map([[1, dcc]])]]));
      expect(parseCwtClaims(payload, limits)).toEqual(referenceClaims(payload, limits));
    }
  });
});

describe('verifyHc1 with its reused buffers', () => {
  const signer = makeSigner();
  const trustList = parseTrustList(trustListJson(signer), nodeBackend);
  const at = new Date('2021-07-01T00:00:00Z');
  const small = issue(signer).hc1;
  const large = issue(signer, { ...(SAMPLE_DCC.test as Record<string, Json>), nam: { fn: 'X'.repeat(80), fnt: 'X'.repeat(80), gn: 'Y'.repeat(80), gnt: 'Y'.repeat(80) } } as never).hc1;
  const opts = (o: Partial<VerifyOptions> = {}): VerifyOptions => ({ trustList, backend: nodeBackend, validateDcc, at, ...o });
  it('gives the same answers whatever was verified before, and to a nested verification', () => {
    const first = [verifyHc1(small, opts()), verifyHc1(large, opts())];
    let inner: unknown;
    const nested = verifyHc1(large, opts({ validateDcc: (d) => ((inner = verifyHc1(small, opts())), validateDcc(d)) }));
    expect(nested).toEqual(first[1]);
    expect(inner).toEqual(first[0]);
    // The outer signature is still needed after the nested call (SIGNATURE revocation hash): it must
    // not have been overwritten by the nested verification's bytes.
    const sig = parseCoseSign1(unwrapHc1(large, DEFAULT_LIMITS, nodeBackend), limits).signature;
    const revocation = parseRevocationList({ SIGNATURE: [Buffer.from(revocationHash(nodeBackend, 'SIGNATURE', { ci: '', iss: undefined, alg: 'ES256', signature: sig })).toString('base64')] });
    const revoked = verifyHc1(large, opts({ revocation, validateDcc: (d) => (verifyHc1(small, opts()), validateDcc(d)) }));
    expect([revoked.valid, revoked.reason]).toEqual([false, 'revoked']);
    expect([verifyHc1(large, opts()), verifyHc1(small, opts()), verifyHc1(small.slice(0, -3), opts()).valid]).toEqual([first[1], first[0], false]);
    // Limits above the reused buffers' size: the same answer from freshly allocated buffers.
    const wide = { ...DEFAULT_LIMITS, maxBase45Bytes: 1 << 20, maxInflatedBytes: 1 << 20 };
    expect(verifyHc1(large, opts({ limits: wide }))).toEqual(first[1]);
  });
});
