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
  decodeInto(text, out);
  return out;
}

/**
 * `decodeBase45` into `scratch` when it is large enough (else into a new array): the verification
 * path reuses one buffer instead of allocating one per pass. Same checks, same errors.
 */
export function decodeBase45Into(text: string, maxBytes: number, scratch: Uint8Array): Uint8Array {
  const len = text.length;
  if (len % 3 === 1) throw formatError('base45-length');
  const outLen = Math.floor(len / 3) * 2 + (len % 3 === 2 ? 1 : 0);
  if (outLen > maxBytes) throw formatError('base45-output-limit');
  const out = outLen <= scratch.length ? scratch.subarray(0, outLen) : new Uint8Array(outLen);
  decodeInto(text, out);
  return out;
}

// Fast path: the text is copied to bytes in one native call (TextEncoder.encodeInto; a string read
// with charCodeAt costs a representation check per character in V8, about 3× the whole loop), then
// each group is looked up before any check. Anything wrong — a non-ASCII character, a character
// outside the table, a value out of range — hands over to the strict reference loop below, which
// then throws exactly what it always threw for that input.
const DECODE256 = new Uint8Array(256).fill(255);
DECODE256.set(DECODE);
const encoder = new TextEncoder();
/** The text's bytes (module state: decodeInto is synchronous and calls nothing that re-enters it). */
let raw = new Uint8Array(1024);

function decodeInto(text: string, out: Uint8Array): void {
  const len = text.length;
  if (raw.length < len) raw = new Uint8Array(Math.max(len, raw.length * 2));
  const r = encoder.encodeInto(text, raw);
  if (r.read !== len || r.written !== len) return decodeStrict(text, out); // not all ASCII
  const b = raw;
  const whole = len - (len % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const va = DECODE256[b[i]!]!;
    const vb = DECODE256[b[i + 1]!]!;
    const vc = DECODE256[b[i + 2]!]!;
    if ((va | vb | vc) > 63) return decodeStrict(text, out); // 255 marks "not in the alphabet"
    const n = va + vb * 45 + vc * 2025;
    if (n > 0xffff) return decodeStrict(text, out);
    out[o++] = n >> 8;
    out[o++] = n & 0xff;
  }
  if (whole < len) {
    const va = DECODE256[b[whole]!]!;
    const vb = DECODE256[b[whole + 1]!]!;
    const n = va + vb * 45;
    if ((va | vb) > 63 || n > 0xff) return decodeStrict(text, out);
    out[o] = n;
  }
}

/** The reference decoder: checks each character and group in order; throws on the first fault. */
export function decodeStrict(text: string, out: Uint8Array): void {
  const len = text.length;
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
}

function value(code: number): number {
  const v = code < 128 ? DECODE[code]! : 255;
  if (v === 255) throw formatError('base45-alphabet');
  return v;
}
