/**
 * Unwrapping the transport layers of an HCERT QR text: `HC1:` prefix → base45 → zlib → COSE bytes.
 */
import type { HcertBackend } from './backend.ts';
import { decodeBase45, decodeBase45Into } from './base45.ts';
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

/** Reusable buffers for `unwrapHc1Into` (and the Sig_structure, in verify.ts). */
export interface UnwrapScratch {
  compressed: Uint8Array;
  cose: Uint8Array;
  /** How far the last call may have written into each buffer, so the caller can wipe just that. */
  compressedUsed: number;
  coseUsed: number;
}

/**
 * `unwrapHc1` writing the base45 and inflate outputs into `scratch` (grown up to 64 KiB, after which
 * larger outputs are allocated as before): same checks and errors, no allocation per pass. The
 * result is a view of `scratch.cose`, valid until the next call with the same scratch.
 */
export function unwrapHc1Into(text: string, limits: Limits, backend: HcertBackend, scratch: UnwrapScratch): Uint8Array {
  const t = unprefix(text, limits);
  if (scratch.compressed.length < limits.maxBase45Bytes && scratch.compressed.length < SCRATCH_MAX) {
    scratch.compressed = new Uint8Array(Math.min(limits.maxBase45Bytes, SCRATCH_MAX));
  }
  // Until a step succeeds, assume it wrote all it could (a failure may stop anywhere).
  scratch.compressedUsed = scratch.compressed.length;
  const compressed = decodeBase45Into(t, limits.maxBase45Bytes, scratch.compressed);
  scratch.compressedUsed = compressed.length;
  if (scratch.cose.length < limits.maxInflatedBytes && scratch.cose.length < SCRATCH_MAX) {
    scratch.cose = new Uint8Array(Math.min(limits.maxInflatedBytes, SCRATCH_MAX));
  }
  scratch.coseUsed = scratch.cose.length;
  const cose = inflateBounded(backend, compressed, limits.maxInflatedBytes, scratch.cose);
  scratch.coseUsed = cose.length;
  return cose;
}

/** Zero what the last `unwrapHc1Into` wrote: nothing of a pass outlives its verification. */
export function wipeUnwrapScratch(scratch: UnwrapScratch): void {
  scratch.compressed.fill(0, 0, scratch.compressedUsed);
  scratch.cose.fill(0, 0, scratch.coseUsed);
  scratch.compressedUsed = scratch.coseUsed = 0;
}

/** Largest reused buffer: beyond it (only with limits far above the defaults) outputs are allocated. */
export const SCRATCH_MAX = 1 << 16;
