/**
 * The primitives the pure pipeline needs from its host, injected so the core has no I/O and no
 * platform import. `node.ts` provides a synchronous node:crypto implementation (no
 * WebCrypto promise per verification, which costs more than the ECDSA maths on Node); a browser
 * backend can supply WebCrypto-backed equivalents.
 */
import type { AlgorithmName } from './algorithms.ts';

/** An imported public key; opaque to the core (a KeyObject on Node). */
export type PublicKeyHandle = unknown;

export interface HcertBackend {
  /** SHA-256 digest. */
  sha256(data: Uint8Array): Uint8Array;
  /**
   * Optional fast form of `sha256` for the per-pass revocation lookups: the digest of `data` (a
   * string is hashed as its UTF-8, as `TextEncoder` encodes it) as a 32-char string, one char per
   * byte (latin1). Without it the core hashes with @noble/hashes (sha256.ts), synchronously.
   */
  sha256Latin1?(data: string | Uint8Array): string;
  /** Import a DER SubjectPublicKeyInfo for use with `alg`. Called once per trust-list entry. */
  importPublicKey(spki: Uint8Array, alg: AlgorithmName): PublicKeyHandle;
  /** Verify a COSE signature (ES256: raw r‖s, PS256: RSASSA-PSS with SHA-256). Never throws. */
  verify(alg: AlgorithmName, key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Optional zlib (RFC 1950) inflate replacing the core's pure bounded decoder (`inflate.ts`). It
   * must stop as soon as the output would exceed `maxOutput` bytes and throw, so memory stays
   * bounded by that limit and a decompression bomb fails fast. Header and FDICT are checked first.
   */
  inflate?(data: Uint8Array, maxOutput: number): Uint8Array;
  /** zlib deflate (issuance only). */
  deflate?(data: Uint8Array): Uint8Array;
}
