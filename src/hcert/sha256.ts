/**
 * SHA-256 for the per-pass revocation lookups, synchronous in Node and in the browser verifier
 * (a WebCrypto digest is a promise; the core is synchronous). The primitive is @noble/hashes
 * (audited, pure JS): never our own. These helpers only shape its output as the revocation list's
 * keys. Checked against node:crypto in test/hcert/fast-paths.test.ts.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

const encoder = new TextEncoder();

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** The first 16 bytes of a digest, one char per byte (the revocation list's key form). */
const key16 = (h: Uint8Array): string => String.fromCharCode(...h.subarray(0, 16));

/** First 16 bytes of SHA-256(UTF-8 of `text` followed by `more`), one char per byte. */
export function sha256TextKey16(text: string, more = ''): string {
  return key16(nobleSha256(encoder.encode(more.length === 0 ? text : text + more)));
}

/** First 16 bytes of SHA-256(`data[start, end)`), one char per byte. */
export function sha256BytesKey16(data: Uint8Array, start = 0, end = data.length): string {
  return key16(nobleSha256(data.subarray(start, end)));
}
