/** Small byte helpers shared by the core (no Buffer: the core also runs in browsers). */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** Decode standard or URL-safe base64 (padding optional); `undefined` when malformed. */
export function fromBase64(text: string): Uint8Array | undefined {
  const s = text.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return undefined;
  const bin = atob(s + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Standard base64 with padding. */
export function toBase64(b: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < b.length; i++) bin += String.fromCharCode(b[i]!);
  return btoa(bin);
}

/** The base64 alphabet as character codes. */
const B64 = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0));

/**
 * `toBase64(kid)` for the per-pass trust-list lookup, built in one call instead of through a binary
 * string and `btoa`: a kid is 8 bytes (hcert spec §3.3.1), i.e. two whole 3-byte groups and a
 * padded pair. Other lengths take `toBase64`.
 */
export function kidKey(b: Uint8Array): string {
  if (b.length !== 8) return toBase64(b);
  const x = (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  const y = (b[3]! << 16) | (b[4]! << 8) | b[5]!;
  const z = (b[6]! << 8) | b[7]!;
  return String.fromCharCode(
    B64[x >> 18]!, B64[(x >> 12) & 63]!, B64[(x >> 6) & 63]!, B64[x & 63]!,
    B64[y >> 18]!, B64[(y >> 12) & 63]!, B64[(y >> 6) & 63]!, B64[y & 63]!,
    B64[z >> 10]!, B64[(z >> 4) & 63]!, B64[(z << 2) & 63]!, 61, // '='
  );
}

/** Constant-shape equality for short byte strings (kids are public, so timing is not a concern). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
