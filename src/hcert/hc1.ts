/**
 * Unwrapping the transport layers of an HCERT QR text: `HC1:` prefix → base45 → zlib → COSE bytes.
 */
import type { HcertBackend } from './backend.ts';
import { decodeBase45 } from './base45.ts';
import { formatError } from './errors.ts';
import type { Limits } from './limits.ts';
import { inflateBounded } from './zlib.ts';

/** The context identifier of an EU DCC v1 QR (hcert spec §3.4.1). */
export const HC1_PREFIX = 'HC1:';

/** Strip the `HC1:` prefix. Leading/trailing ASCII whitespace (from scanners, pasted text) is ignored. */
export function unprefix(text: string, limits: Limits): string {
  if (typeof text !== 'string') throw formatError('input-type');
  if (text.length > limits.maxInputLength) throw formatError('input-length');
  const t = text.trim();
  if (!t.startsWith(HC1_PREFIX)) throw formatError('prefix');
  return t.slice(HC1_PREFIX.length);
}

/** HC1 text → COSE bytes (prefix, base45, bounded inflate). */
export function unwrapHc1(text: string, limits: Limits, backend: HcertBackend): Uint8Array {
  const compressed = decodeBase45(unprefix(text, limits), limits.maxBase45Bytes);
  return inflateBounded(backend, compressed, limits.maxInflatedBytes);
}
