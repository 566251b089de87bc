/**
 * Hard limits applied before any work is done on untrusted input. A real DCC QR holds at most a
 * few kilobytes (QR version 40 at ECC level Q carries ~3,000 alphanumeric characters), so these
 * leave ample headroom while bounding CPU and memory for hostile input.
 */
export interface Limits {
  /** Maximum length of the `HC1:` text, in characters. */
  maxInputLength: number;
  /** Maximum bytes after base45 decoding (implied by the input length, checked anyway). */
  maxBase45Bytes: number;
  /** Maximum bytes zlib may produce; inflation aborts as soon as it would exceed this. */
  maxInflatedBytes: number;
  /** Maximum CBOR nesting depth (arrays, maps, tags). A DCC needs about 6. */
  maxCborDepth: number;
  /** Maximum number of CBOR data items in one decode. A DCC holds a few dozen. */
  maxCborItems: number;
}

/** Defaults: frozen so no caller can widen them for everyone. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxInputLength: 8_192, // 2× the largest QR payload
  maxBase45Bytes: 6_144, // 8,192 × 2/3 rounded up
  maxInflatedBytes: 65_536, // real DCC CWTs are < 2 KiB; a 64 KiB cap stops bombs early
  maxCborDepth: 16,
  maxCborItems: 4_096,
});
