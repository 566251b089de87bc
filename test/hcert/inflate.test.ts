/**
 * The pure bounded inflater (src/hcert/inflate.ts) against node:zlib, which is the reference:
 * same output for every valid stream (all levels and strategies, incl. long Huffman codes), same
 * accept/reject decision for corrupted, truncated and random streams, and the output limit honoured
 * exactly and early (decompression bombs).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { constants, deflateSync } from 'node:zlib';
import { inflateZlib } from '../../src/hcert/inflate.ts';
import { agreeWithZlib } from './zlib-oracle.ts';
import { inflateBounded, DEFAULT_LIMITS } from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';

const STRATEGIES = [constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED];

const agree = agreeWithZlib;

/** Bytes with a skewed (geometric) distribution: forces Huffman codes longer than the root table. */
const skewed = fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 4000 }).map((xs) => Uint8Array.from(xs.map((x) => (x * x * 7) & 255)));
const data = fc.oneof(fc.uint8Array({ maxLength: 3000 }), skewed, fc.string({ maxLength: 800 }).map((s) => new TextEncoder().encode(s.repeat(3))));

describe('bounded inflate (differential against node:zlib)', () => {
  it('inflates every valid stream exactly like zlib', () => {
    fc.assert(
      fc.property(data, fc.integer({ min: 0, max: 9 }), fc.constantFrom(...STRATEGIES), (b, level, strategy) => {
        const z = Uint8Array.from(deflateSync(b, { level, strategy }));
        expect(inflateZlib(z, 1 << 20)).toEqual(b);
      }),
      { numRuns: 600 },
    );
  });
  it('decodes codes longer than the lookup table (skewed data, every length up to 15)', () => {
    const b = new Uint8Array(30_000);
    for (let i = 0, v = 0; i < b.length; i++) b[i] = Math.clz32((v = (Math.imul(v, 1103515245) + 12345) >>> 0) | 1) + ((v >>> 7) & 1) * 40; // geometric: rare symbols get long codes
    for (const strategy of STRATEGIES) expect(Buffer.from(inflateZlib(Uint8Array.from(deflateSync(b, { strategy })), 1 << 20)).equals(b)).toBe(true);
  });
  it('accepts and rejects corrupted, truncated and random streams exactly as zlib does', () => {
    fc.assert(
      fc.property(data, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), (b, flips, cut) => {
        const z = Uint8Array.from(deflateSync(b));
        const m = Uint8Array.from(z);
        for (const [pos, x] of flips) m[2 + (pos % (m.length - 2))]! ^= x;
        agree(m);
        agree(z.subarray(0, cut % z.length));
      }),
      { numRuns: 1500 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => agree(Uint8Array.of(0x78, 0x9c, ...junk))), { numRuns: 3000 });
  });
  it('ignores bytes after the Adler-32, like node:zlib', () => {
    const z = deflateSync(Buffer.from('hello hello hello'));
    agree(Uint8Array.from([...z, 1, 2, 3]));
  });
  it('honours the output limit to the byte', () => {
    const b = new Uint8Array(5000).fill(7);
    const z = Uint8Array.from(deflateSync(b));
    expect(inflateZlib(z, 5000)).toEqual(b);
    expect(() => inflateZlib(z, 4999)).toThrow(/zlib-output-limit/);
    const stored = Uint8Array.from(deflateSync(b, { level: 0 }));
    expect(inflateZlib(stored, 5000)).toEqual(b);
    expect(() => inflateZlib(stored, 4999)).toThrow(/zlib-output-limit/);
  });
  it('stops bombs at the limit in well under a millisecond per 64 KiB, whatever their size', () => {
    for (const size of [1_000_000, 5_000_000, 50_000_000]) {
      const bomb = deflateSync(Buffer.alloc(size), { level: 9 });
      const t = performance.now();
      for (let i = 0; i < 20; i++) expect(() => inflateBounded(nodeBackend, bomb, DEFAULT_LIMITS.maxInflatedBytes)).toThrow(/zlib-output-limit/);
      // The work is bounded by the limit, not by the bomb: 20 tries of a 50 MB bomb take as long as of a 1 MB one.
      expect((performance.now() - t) / 20).toBeLessThan(20);
    }
  });
});
