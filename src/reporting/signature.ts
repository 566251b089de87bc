import { createECDH, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, calculateJwkThumbprint, base64url, type JWK } from 'jose';

/**
 * Signed report requests: a detached JWS (RFC 7515 appendix F), ES256, over the exact body bytes,
 * sent in the `JWS-Signature` header. The protected header binds the request's Idempotency-Key
 * (`idk`) and signing time (`iat`), so a captured request cannot be replayed under another key and
 * a stale one is refused. Any JOSE library verifies it: re-attach base64url(body) as the payload.
 */

export const SIGNATURE_HEADER = 'jws-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** The one algorithm allowlist for report signatures. */
export const REPORT_ALGORITHMS = ['ES256'] as const;
/** Idempotency keys are UUIDs (outbox row ids) on our side; receivers accept this shape. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;

export interface ReportingKeys {
  /** P-256 key that signs report requests. */
  signing: KeyObject;
  /** The public key as a JWK with its kid (RFC 7638 thumbprint): what the receiver trusts. */
  publicJwk: JWK & { kid: string };
  /** Keys the pseudonym sent in pseudonymous mode. */
  pseudonym: Buffer;
}

// P-256 group order: a derived scalar must be in [1, n-1].
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const derive = (master: Buffer, label: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `saufconduit/${label}`, 32));

/**
 * Derives the reporting keys from the master key (HKDF-SHA256, labels distinct from src/crypto/keys.ts),
 * so every process of a deployment signs with the same key and nothing new needs storing.
 * @example const keys = await deriveReportingKeys(process.env.SAUFCONDUIT_MASTER_KEY!)
 */
export async function deriveReportingKeys(masterKeyB64: string): Promise<ReportingKeys> {
  const master = Buffer.from(masterKeyB64, 'base64');
  if (master.length !== 32) throw new Error('SAUFCONDUIT_MASTER_KEY must be base64 of exactly 32 bytes');
  let d: Buffer | undefined;
  // A 256-bit string is at or above n with probability about 2^-32; derive again with a counter then.
  for (let i = 0; !d; i++) {
    const candidate = derive(master, i === 0 ? 'report-signing-v1' : `report-signing-v1/${i}`);
    const v = BigInt(`0x${candidate.toString('hex')}`);
    if (v > 0n && v < P256_N) d = candidate;
  }
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const jwk = { kty: 'EC', crv: 'P-256', x: base64url.encode(pub.subarray(1, 33)), y: base64url.encode(pub.subarray(33, 65)) };
  const signing = createPrivateKey({ key: { ...jwk, d: base64url.encode(d) }, format: 'jwk' });
  const kid = await calculateJwkThumbprint(jwk);
  return { signing, publicJwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, pseudonym: derive(master, 'report-pseudonym-v1') };
}

/**
 * Signs one request body.
 * @returns the compact JWS with an empty payload segment: `header..signature`
 */
export async function signRequest(body: string | Uint8Array, key: KeyObject, kid: string, idempotencyKey: string, now: Date): Promise<string> {
  const payload = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const jws = await new CompactSign(payload)
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'saufconduit-report+jws', idk: idempotencyKey, iat: Math.floor(now.getTime() / 1000) })
    .sign(key);
  const [h, , s] = jws.split('.');
  return `${h}..${s}`;
}

export type SignatureProblem = 'malformed' | 'algorithm' | 'unknown-key' | 'signature' | 'key-mismatch' | 'stale';

export class SignatureError extends Error {
  constructor(readonly problem: SignatureProblem) {
    // No detail beyond the class of failure: a verifier must not become an oracle.
    super(`signature rejected: ${problem}`);
    this.name = 'SignatureError';
  }
}

/** Trusted keys by kid, from a JWKS document (`{"keys":[…]}`); only P-256 signing keys are accepted. */
export function trustedKeys(jwks: unknown): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const list = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS must be an object with a "keys" array');
  for (const k of list as JWK[]) {
    if (k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.kid !== 'string' || 'd' in k) throw new Error('JWKS: only public P-256 keys with a kid are accepted');
    keys.set(k.kid, createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: k.x!, y: k.y! }, format: 'jwk' }));
  }
  return keys;
}

/**
 * Verifies a request, fail-closed, in a fixed order: envelope shape, algorithm allowlist, key, signature,
 * and only then the bound claims (idempotency key, age).
 * @param maxAgeSeconds how old `iat` may be (and how far in the future): bounds replay of a captured request
 */
export async function verifyRequest(
  body: Uint8Array, signature: string | undefined, keys: ReadonlyMap<string, KeyObject>,
  opts: { idempotencyKey: string; now: Date; maxAgeSeconds?: number },
): Promise<{ kid: string }> {
  const parts = signature?.split('.');
  if (!parts || parts.length !== 3 || parts[1] !== '' || !parts[0] || !parts[2]) throw new SignatureError('malformed');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new SignatureError('malformed');
  }
  if (typeof header !== 'object' || header === null) throw new SignatureError('malformed');
  if (!(REPORT_ALGORITHMS as readonly unknown[]).includes(header.alg)) throw new SignatureError('algorithm');
  const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
  if (!key) throw new SignatureError('unknown-key');
  try {
    await compactVerify(`${parts[0]}.${base64url.encode(body)}.${parts[2]}`, key, { algorithms: [...REPORT_ALGORITHMS] });
  } catch {
    throw new SignatureError('signature');
  }
  if (header.idk !== opts.idempotencyKey) throw new SignatureError('key-mismatch');
  const maxAge = opts.maxAgeSeconds ?? 300;
  const now = Math.floor(opts.now.getTime() / 1000);
  if (typeof header.iat !== 'number' || Math.abs(now - header.iat) > maxAge) throw new SignatureError('stale');
  return { kid: header.kid as string };
}
