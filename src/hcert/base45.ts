/**
 * Base45 (RFC 9285), strict. Written here rather than taken from the `base45` npm package because
 * that package maps unknown characters to -1 and wraps out-of-range triplets silently, so it
 * "decodes" garbage instead of rejecting it (see docs/hcert.md).
 */
import { formatError } from './errors.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

// Reverse table over the 7-bit range; 255 marks characters outside the alphabet.
const DECODE = new Uint8Array(128).fill(255);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encode bytes as base45 text. */
export function encodeBase45(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 1 < bytes.length; i += 2) {
    const n = (bytes[i]! << 8) | bytes[i + 1]!;
    const e = Math.floor(n / 2025);
    const r = n % 2025;
    out += ALPHABET[r % 45]! + ALPHABET[Math.floor(r / 45)]! + ALPHABET[e]!;
  }
  if (i < bytes.length) {
    const n = bytes[i]!;
    out += ALPHABET[n % 45]! + ALPHABET[Math.floor(n / 45)]!;
  }
  return out;
}

/**
 * Decode base45 text, rejecting characters outside the alphabet, a dangling single character and
 * groups whose value does not fit in their byte count (RFC 9285 §4: such input MUST be rejected).
 */
export function decodeBase45(text: string, maxBytes: number): Uint8Array {
  const len = text.length;
  if (len % 3 === 1) throw formatError('base45-length');
  const outLen = Math.floor(len / 3) * 2 + (len % 3 === 2 ? 1 : 0);
  if (outLen > maxBytes) throw formatError('base45-output-limit');
  const out = new Uint8Array(outLen);
  let o = 0;
  for (let i = 0; i < len; i += 3) {
    const c0 = value(text.charCodeAt(i));
    const c1 = value(text.charCodeAt(i + 1));
    if (i + 2 < len) {
      const n = c0 + c1 * 45 + value(text.charCodeAt(i + 2)) * 2025;
      if (n > 0xffff) throw formatError('base45-range');
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = c0 + c1 * 45;
      if (n > 0xff) throw formatError('base45-range');
      out[o++] = n;
    }
  }
  return out;
}

function value(code: number): number {
  const v = code < 128 ? DECODE[code]! : 255;
  if (v === 255) throw formatError('base45-alphabet');
  return v;
}
