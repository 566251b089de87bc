/**
 * Revocation by the EU DCC hash types (EU DCC revocation specification): each entry is the first
 * 16 bytes of a SHA-256 over
 *  - UCI: the `ci` text;
 *  - COUNTRYCODEUCI: the CWT issuer (claim 1, issuing country) followed by `ci`;
 *  - SIGNATURE: the COSE signature, for ES256 only its `r` half (the `s` half is malleable:
 *    (r, n−s) is an equally valid signature, so hashing it would let a revoked pass escape).
 */
import type { AlgorithmName } from './algorithms.ts';
import type { HcertBackend } from './backend.ts';
import { fromBase64, toHex } from './bytes.ts';

/** The three hash types, in the order they are checked. */
export const REVOCATION_HASH_TYPES = ['UCI', 'COUNTRYCODEUCI', 'SIGNATURE'] as const;
export type RevocationHashType = (typeof REVOCATION_HASH_TYPES)[number];

/** A parsed revocation list: hex of 16-byte hashes, per type. */
export type RevocationList = Readonly<Record<RevocationHashType, ReadonlySet<string>>>;

/** An empty list (nothing revoked). */
export const EMPTY_REVOCATION_LIST: RevocationList = Object.freeze({ UCI: new Set<string>(), COUNTRYCODEUCI: new Set<string>(), SIGNATURE: new Set<string>() });

const HASH_BYTES = 16;

/**
 * Parse `{"UCI": [base64…], "COUNTRYCODEUCI": […], "SIGNATURE": […]}` (each key optional). Entries
 * must decode to 16 bytes; a full 32-byte SHA-256 is accepted and truncated. Throws `TypeError`
 * on anything else: a revocation list is operator input, and a silently ignored entry would let a
 * revoked pass through.
 */
export function parseRevocationList(json: unknown): RevocationList {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError('revocation list must be a JSON object');
  const out: Record<RevocationHashType, Set<string>> = { UCI: new Set(), COUNTRYCODEUCI: new Set(), SIGNATURE: new Set() };
  for (const [key, entries] of Object.entries(json)) {
    if (!(REVOCATION_HASH_TYPES as readonly string[]).includes(key)) throw new TypeError(`unknown revocation hash type: ${key}`);
    if (!Array.isArray(entries)) throw new TypeError(`${key} must be an array`);
    for (const e of entries) {
      const b = typeof e === 'string' ? fromBase64(e) : undefined;
      if (!b || (b.length !== HASH_BYTES && b.length !== 32)) throw new TypeError(`${key}: entry is not a base64 16-byte hash: ${String(e)}`);
      out[key as RevocationHashType].add(toHex(b.subarray(0, HASH_BYTES)));
    }
  }
  return out;
}

const utf8 = new TextEncoder();

/** Compute one revocation hash (16 bytes). */
export function revocationHash(
  backend: HcertBackend,
  type: RevocationHashType,
  input: { ci: string; iss: string | undefined; alg: AlgorithmName; signature: Uint8Array },
): Uint8Array {
  let data: Uint8Array;
  if (type === 'UCI') data = utf8.encode(input.ci);
  else if (type === 'COUNTRYCODEUCI') data = utf8.encode((input.iss ?? '') + input.ci);
  else data = input.alg === 'ES256' ? input.signature.subarray(0, input.signature.length / 2) : input.signature;
  return backend.sha256(data).subarray(0, HASH_BYTES);
}

/** The first hash type under which the pass is revoked, or `undefined`. Hashes only non-empty lists. */
export function findRevocation(
  backend: HcertBackend,
  list: RevocationList,
  input: { ci: string; iss: string | undefined; alg: AlgorithmName; signature: Uint8Array },
): RevocationHashType | undefined {
  for (const type of REVOCATION_HASH_TYPES) {
    if (list[type].size === 0) continue;
    if (list[type].has(toHex(revocationHash(backend, type, input)))) return type;
  }
  return undefined;
}
