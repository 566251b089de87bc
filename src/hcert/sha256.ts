/**
 * SHA-256 (FIPS 180-4) in plain TypeScript, for the per-pass revocation lookups.
 *
 * Why not the backend's `sha256`: the revocation hashes are over 16–100 bytes, where the cost of a
 * native call dominates. Measured on Node 20 (32–60 byte inputs): node:crypto `hash()` ≈ 1.8 µs
 * per call, `createHash().update().digest()` ≈ 3.5 µs, plus a TextEncoder call and a Buffer per
 * hash; this function ≈ 0.6 µs with no allocation. In a browser a WebCrypto digest is a promise,
 * so a synchronous in-core hash also spares the WebCrypto backend a round.
 *
 * Checked against node:crypto on random inputs of every length around the block boundaries, and
 * against the FIPS 180-4 examples (test/hcert/fast-paths.test.ts).
 */

const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

// Module state, reused by every call: the functions below are synchronous and call nothing
// outside this module, so no call can observe another's intermediate state.
const W = new Int32Array(64);
const H = new Int32Array(8);
/** The message being hashed, followed by its padding; grows (never shrinks) as needed. */
let msg = new Uint8Array(256);
const encoder = new TextEncoder();

function capacity(n: number): Uint8Array {
  if (msg.length < n) msg = new Uint8Array(Math.max(n, msg.length * 2));
  return msg;
}

/**
 * One 64-byte block of `b` at `off` into H. The rounds are unrolled by eight with the working
 * variables renamed round to round instead of shifted (the usual a…h rotation costs eight moves per
 * round); Ch and Maj are in their three-operation forms.
 */
function compress(b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) W[i] = (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let bb = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  // Round i with roles (a, b, c, d, e, f, g, h): t = h + Σ1(e) + Ch(e, f, g) + K[i] + W[i];
  // d += t; h = t + Σ0(a) + Maj(a, b, c). The next round takes (h, a, b, c, d, e, f, g).
  for (let i = 0; i < 64; i += 8) {
    let t = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i]! + W[i]!) | 0;
    d = (d + t) | 0;
    h = (t + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & bb) | (c & (a | bb)))) | 0;
    t = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[i + 1]! + W[i + 1]!) | 0;
    c = (c + t) | 0;
    g = (t + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (bb & (h | a)))) | 0;
    t = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[i + 2]! + W[i + 2]!) | 0;
    bb = (bb + t) | 0;
    f = (t + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    t = (e + (((bb >>> 6) | (bb << 26)) ^ ((bb >>> 11) | (bb << 21)) ^ ((bb >>> 25) | (bb << 7))) + (d ^ (bb & (c ^ d))) + K[i + 3]! + W[i + 3]!) | 0;
    a = (a + t) | 0;
    e = (t + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    t = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (bb ^ c))) + K[i + 4]! + W[i + 4]!) | 0;
    h = (h + t) | 0;
    d = (t + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    t = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (bb ^ (h & (a ^ bb))) + K[i + 5]! + W[i + 5]!) | 0;
    g = (g + t) | 0;
    c = (t + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    t = (bb + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[i + 6]! + W[i + 6]!) | 0;
    f = (f + t) | 0;
    bb = (t + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    t = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[i + 7]! + W[i + 7]!) | 0;
    e = (e + t) | 0;
    a = (t + (((bb >>> 2) | (bb << 30)) ^ ((bb >>> 13) | (bb << 19)) ^ ((bb >>> 22) | (bb << 10))) + ((bb & c) | (d & (bb | c)))) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + bb) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** Hash the first `len` bytes of `msg` (padding is written after them, in place) into H. */
function digestMsg(len: number): void {
  const total = (((len + 8) >>> 6) + 1) << 6; // message, 0x80, zeros, 64-bit length: whole blocks
  const b = msg; // the loaders left room for the padding (total ≤ len + 72)
  b[len] = 0x80;
  b.fill(0, len + 1, total - 8);
  const hi = Math.floor(len / 0x20000000); // bit length = len · 8, big-endian over 8 bytes
  const lo = (len << 3) >>> 0;
  b[total - 8] = hi >>> 24;
  b[total - 7] = hi >>> 16;
  b[total - 6] = hi >>> 8;
  b[total - 5] = hi;
  b[total - 4] = lo >>> 24;
  b[total - 3] = lo >>> 16;
  b[total - 2] = lo >>> 8;
  b[total - 1] = lo;
  H[0] = 0x6a09e667;
  H[1] = 0xbb67ae85 | 0;
  H[2] = 0x3c6ef372;
  H[3] = 0xa54ff53a | 0;
  H[4] = 0x510e527f;
  H[5] = 0x9b05688c | 0;
  H[6] = 0x1f83d9ab;
  H[7] = 0x5be0cd19;
  for (let off = 0; off < total; off += 64) compress(b, off);
}

/** `data[start, end)` copied into `msg` (with room for the padding); returns its length. */
function loadBytes(data: Uint8Array, start: number, end: number): number {
  const n = end - start;
  const b = capacity(n + 72);
  for (let i = 0; i < n; i++) b[i] = data[start + i]!;
  return n;
}

/** UTF-8 of `s` written into `msg`, exactly as `TextEncoder.encode(s)` (lone surrogates → U+FFFD). */
function loadText(s: string): number {
  const n = s.length;
  const b = capacity(3 * n + 72); // ≤ 3 bytes per UTF-16 unit
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    b[i] = c;
  }
  if (i === n) return n;
  return i + encoder.encodeInto(s.slice(i), b.subarray(i, 3 * n)).written;
}

/** UTF-8 of `s + t`, as `loadText(s + t)`; without the concatenation when both are ASCII. */
function loadText2(s: string, t: string): number {
  const n = s.length;
  const m = t.length;
  const b = capacity(3 * (n + m) + 72);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return loadText(s + t); // a pair may span the seam: encode the whole string
    b[i] = c;
  }
  for (let i = 0; i < m; i++) {
    const c = t.charCodeAt(i);
    if (c > 0x7f) return loadText(s + t);
    b[n + i] = c;
  }
  return n + m;
}

/** The first 16 bytes of H, one char per byte (the revocation Set key, see revocation.ts). */
function key16(): string {
  const a = H[0]!;
  const b = H[1]!;
  const c = H[2]!;
  const d = H[3]!;
  return String.fromCharCode(
    a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255,
    b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255,
    c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255,
    d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255,
  );
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  digestMsg(loadBytes(data, 0, data.length));
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = H[i]!;
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = w >>> 16;
    out[4 * i + 2] = w >>> 8;
    out[4 * i + 3] = w;
  }
  return out;
}

/** First 16 bytes of SHA-256(UTF-8 of `text` followed by `more`), one char per byte. */
export function sha256TextKey16(text: string, more = ''): string {
  digestMsg(more.length === 0 ? loadText(text) : loadText2(text, more));
  return key16();
}

/** First 16 bytes of SHA-256(`data[start, end)`), one char per byte. */
export function sha256BytesKey16(data: Uint8Array, start = 0, end = data.length): string {
  digestMsg(loadBytes(data, start, end));
  return key16();
}
