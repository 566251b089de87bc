import * as crypto from 'node:crypto';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random URL-safe secret: 32 bytes (256 bits) unless said otherwise. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/**
 * SHA-256 of a high-entropy secret (session token, API key secret). A slow password hash adds
 * nothing for 256-bit random secrets and would cost ~100 ms on every request.
 */
export const hashSecret = (secret: string): string => sha256(secret, 'base64url');

/** SHA-256 of a string, in one shot where Node has crypto.hash (≥ 20.12): no Hash object per call. */
export const sha256: (text: string, encoding: 'hex' | 'base64url') => string = typeof crypto.hash === 'function'
  ? (text, encoding) => crypto.hash('sha256', text, encoding)
  : (text, encoding) => createHash('sha256').update(text).digest(encoding);

export const keyedHash = (key: Buffer, value: string): string => createHmac('sha256', key).update(value).digest('base64url');

/** Constant-time string comparison for secrets of possibly different lengths. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}
