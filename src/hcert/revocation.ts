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
import { fromBase64 } from './bytes.ts';
import { sha256BytesKey16, sha256TextKey16 } from './sha256.ts';

/** The three hash types, in the order they are checked. */
export const REVOCATION_HASH_TYPES = ['UCI', 'COUNTRYCODEUCI', 'SIGNATURE'] as const;
export type RevocationHashType = (typeof REVOCATION_HASH_TYPES)[number];

/**
 * A parsed revocation list: per type, the 16-byte hashes as `revocationKey` strings (one char per
 * byte: built in one call and hashed flat by the Set, cheaper than hex on the per-pass path).
 */
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
      out[key as RevocationHashType].add(revocationKey(b));
    }
  }
  return out;
}

const utf8 = new TextEncoder();

/** The Set key of a revocation hash: its first 16 bytes, one char per byte. */
export function revocationKey(h: Uint8Array): string {
  return String.fromCharCode(h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, h[8]!, h[9]!, h[10]!, h[11]!, h[12]!, h[13]!, h[14]!, h[15]!);
}

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

/**
 * The first hash type under which the pass is revoked, or `undefined`. Hashes only non-empty lists.
 * The hashes come from the backend's `sha256Latin1` when it has one (Node: node:crypto, returning
 * the key form directly), else from @noble/hashes (sha256.ts), synchronously in the browser too;
 * `revocationHash` above, through the backend's `sha256`, is the reference both are tested against.
 */
export function findRevocation(
  backend: HcertBackend,
  list: RevocationList,
  input: { ci: string; iss: string | undefined; alg: AlgorithmName; signature: Uint8Array },
): RevocationHashType | undefined {
  const s = input.signature;
  const sigEnd = input.alg === 'ES256' ? s.length >> 1 : s.length; // the r half, as subarray(0, length / 2)
  if (backend.sha256Latin1) {
    if (list.UCI.size !== 0 && list.UCI.has(backend.sha256Latin1(input.ci).slice(0, HASH_BYTES))) return 'UCI';
    if (list.COUNTRYCODEUCI.size !== 0 && list.COUNTRYCODEUCI.has(backend.sha256Latin1((input.iss ?? '') + input.ci).slice(0, HASH_BYTES))) return 'COUNTRYCODEUCI';
    if (list.SIGNATURE.size !== 0 && list.SIGNATURE.has(backend.sha256Latin1(sigEnd === s.length ? s : s.subarray(0, sigEnd)).slice(0, HASH_BYTES))) return 'SIGNATURE';
    return undefined;
  }
  if (list.UCI.size !== 0 && list.UCI.has(sha256TextKey16(input.ci))) return 'UCI';
  if (list.COUNTRYCODEUCI.size !== 0 && list.COUNTRYCODEUCI.has(sha256TextKey16(input.iss ?? '', input.ci))) return 'COUNTRYCODEUCI';
  if (list.SIGNATURE.size !== 0 && list.SIGNATURE.has(sha256BytesKey16(s, 0, sigEnd))) return 'SIGNATURE';
  return undefined;
}
