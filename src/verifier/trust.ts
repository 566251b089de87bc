/**
 * Trust material of the offline verifier: the pinned anchor (`/trust/anchor.json`) and the signed
 * bundle (`/trust/bundle.jws`: trust list + revocation lists + expiry, ES256 compact JWS).
 *
 * The bundle is checked in a fixed, fail-closed order: JWS envelope, protected header against the
 * pinned anchor (alg, typ, kid, no `crit`), signature, and only then the payload. Freshness is a
 * separate, pure rule over the bundle's own `iat`/`exp` and an injected instant: an expired bundle
 * is never used to say "valid".
 */
import { fromBase64 } from '../hcert/bytes.ts';
import { parseTrustList, type TrustList, type TrustedKey } from '../hcert/trust-list.ts';
import { parseRevocationList, type RevocationList } from '../hcert/revocation.ts';
import { importKeys, withWebCrypto, type WebCryptoKey } from './webcrypto.ts';

/** Why trust material was refused. Stable codes; the UI turns them into words. */
export type TrustErrorCode = 'anchor' | 'format' | 'header' | 'signature' | 'payload';

export class TrustError extends Error {
  override readonly name = 'TrustError';
  constructor(readonly code: TrustErrorCode) {
    super(`trust material refused: ${code}`);
  }
}

/** The bundle's media type marker (set by src/domain/trust.ts). */
export const BUNDLE_TYP = 'saufconduit-trust+jws';
/** Largest bundle accepted (a national trust list with thousands of revocations fits easily). */
const MAX_BUNDLE_CHARS = 8 * 1024 * 1024;
/** A bundle claiming a longer validity than this is refused (the publisher signs 72 h). */
const MAX_VALIDITY_SECONDS = 7 * 86_400;

/** The pinned public key that signs bundles. */
export interface TrustAnchor {
  kid: string;
  key: CryptoKey;
}

/**
 * Parse and import `/trust/anchor.json` (`{kid, jwk}`): an ES256 P-256 public JWK. A JWK carrying a
 * private part or any other key type is refused.
 */
export async function importAnchor(json: unknown, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<TrustAnchor> {
  const a = json as { kid?: unknown; jwk?: Record<string, unknown> } | null;
  const jwk = a?.jwk;
  if (!a || typeof a.kid !== 'string' || !a.kid || typeof jwk !== 'object' || jwk === null) throw new TrustError('anchor');
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk || (jwk.alg !== undefined && jwk.alg !== 'ES256')) throw new TrustError('anchor');
  const coord = (v: unknown) => (typeof v === 'string' ? fromBase64(v) : undefined)?.length === 32;
  if (!coord(jwk.x) || !coord(jwk.y)) throw new TrustError('anchor');
  try {
    const key = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string, ext: true }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return { kid: a.kid, key };
  } catch {
    throw new TrustError('anchor');
  }
}

/** A verified bundle, parsed for the HCERT core. */
export interface TrustBundle {
  /** Signing time and expiry, seconds since the epoch. */
  iat: number;
  exp: number;
  trustList: TrustList;
  revocation: RevocationList;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function jsonPart(part: string): unknown {
  const bytes = fromBase64(part);
  if (!bytes) throw new TrustError('format');
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new TrustError('format');
  }
}

/**
 * Verify a compact JWS bundle against the pinned anchor and parse it. Throws `TrustError`.
 *
 * @example
 * const bundle = await openBundle(await (await fetch('/trust/bundle.jws')).text(), anchor);
 * if (freshness(bundle, new Date()).state !== 'fresh') refuse();
 */
export async function openBundle(jws: string, anchor: TrustAnchor, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<TrustBundle> {
  // 1. Envelope.
  if (typeof jws !== 'string' || jws.length > MAX_BUNDLE_CHARS) throw new TrustError('format');
  const parts = jws.trim().split('.');
  if (parts.length !== 3 || !parts.every((p) => p.length > 0 && B64URL.test(p))) throw new TrustError('format');
  const [h, p, s] = parts as [string, string, string];
  // 2. Protected header against the pin.
  const header = jsonPart(h) as Record<string, unknown>;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new TrustError('header');
  if (header.alg !== 'ES256' || header.typ !== BUNDLE_TYP || header.kid !== anchor.kid || 'crit' in header || 'b64' in header) throw new TrustError('header');
  // 3. Signature (raw r‖s, as JWS ES256 and WebCrypto both use).
  const signature = fromBase64(s);
  if (!signature || signature.length !== 64) throw new TrustError('signature');
  const signed = new TextEncoder().encode(`${h}.${p}`);
  const ok = await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, anchor.key, new Uint8Array(signature), signed).catch(() => false);
  if (!ok) throw new TrustError('signature');
  // 4. Payload, now authenticated.
  const body = jsonPart(p) as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TrustError('payload');
  const { iat, exp, dsc, revocation } = body;
  if (body.iss !== 'saufconduit' || !Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw new TrustError('payload');
  if ((exp as number) <= (iat as number) || (exp as number) - (iat as number) > MAX_VALIDITY_SECONDS) throw new TrustError('payload');
  if (!Array.isArray(dsc)) throw new TrustError('payload');
  let revoked: RevocationList;
  try {
    revoked = parseRevocationList(revocation);
  } catch {
    throw new TrustError('payload');
  }
  return { iat: iat as number, exp: exp as number, trustList: await importTrustList(dsc, subtle), revocation: revoked };
}

/**
 * Parse a DGCA-shaped trust list with the core's own parser, then import every key with WebCrypto.
 * Keys the browser refuses are dropped (and listed in `rejected`): they could never verify anyway.
 */
export async function importTrustList(json: unknown[], subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<TrustList> {
  let list: TrustList;
  try {
    list = await withWebCrypto((backend) => parseTrustList(json, backend), subtle);
  } catch {
    throw new TrustError('payload');
  }
  const all = [...list.byKid.values()].flat();
  const failed = new Set<WebCryptoKey>(await importKeys(all.map((k) => k.key as WebCryptoKey), subtle));
  if (failed.size === 0) return list;
  const byKid = new Map<string, TrustedKey[]>();
  for (const [kid, keys] of list.byKid) {
    const usable = keys.filter((k) => !failed.has(k.key as WebCryptoKey));
    if (usable.length) byKid.set(kid, usable);
  }
  const rejected = [...list.rejected, ...all.filter((k) => failed.has(k.key as WebCryptoKey)).map((k) => ({ index: -1, reason: `key ${k.kid} not importable` }))];
  return { byKid, rejected };
}

/** How usable trust material is at an instant. */
export type Freshness =
  | { state: 'fresh'; ageSeconds: number; expiresInSeconds: number }
  | { state: 'expired'; ageSeconds: number }
  /** Signed after `at` (beyond the tolerance): the device clock is wrong, so no time check can be trusted. */
  | { state: 'future' };

/**
 * The freshness rule: material is usable from `iat` (minus the clock tolerance) until `exp`,
 * exclusive. After `exp` the verifier refuses to give any verdict until it is refreshed.
 */
export function freshness(bundle: Pick<TrustBundle, 'iat' | 'exp'>, at: Date, toleranceSeconds = 300): Freshness {
  const now = Math.floor(at.getTime() / 1000);
  if (bundle.iat - toleranceSeconds > now) return { state: 'future' };
  const ageSeconds = Math.max(0, now - bundle.iat);
  if (now >= bundle.exp) return { state: 'expired', ageSeconds };
  return { state: 'fresh', ageSeconds, expiresInSeconds: bundle.exp - now };
}
