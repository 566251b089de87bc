import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { CompactSign, exportJWK } from 'jose';
import type { Queryable } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import { COUNTRY, publishedDscs, trustPublisher } from './issuer-keys.ts';

/** The DGCA gateway shape, as verifiers (ours, the CLI, other countries' apps) consume it. */
export interface TrustListEntry {
  kid: string;
  country: string;
  certificateType: 'DSC';
  rawData: string;
}

export interface RevocationLists {
  UCI: string[];
  COUNTRYCODEUCI: string[];
  SIGNATURE: string[];
}

/** Trust material is valid this long after signing; verifiers refuse to pretend beyond it. */
export const BUNDLE_VALIDITY_HOURS = 72;

export async function trustList(db: Queryable, now: Date): Promise<TrustListEntry[]> {
  return (await publishedDscs(db, now)).map((r) => ({ kid: r.kid!, country: COUNTRY, certificateType: 'DSC', rawData: r.certificate_der }));
}

/** Hashes of revoked passes that have not expired yet (an expired pass needs no revocation entry). */
export async function revocationLists(db: Queryable, now: Date): Promise<RevocationLists> {
  const rows = await db.query<{ uci_hash: string; country_uci_hash: string; signature_hash: string }>(
    'SELECT uci_hash, country_uci_hash, signature_hash FROM pass WHERE revoked_at IS NOT NULL AND expires_at > $1 ORDER BY revoked_at', [now]);
  return { UCI: rows.map((r) => r.uci_hash), COUNTRYCODEUCI: rows.map((r) => r.country_uci_hash), SIGNATURE: rows.map((r) => r.signature_hash) };
}

export interface TrustBundlePayload {
  iss: string;
  iat: number;
  exp: number;
  dsc: TrustListEntry[];
  revocation: RevocationLists;
}

/**
 * The signed bundle the offline verifier caches: trust list and revocation list in one ES256 JWS,
 * so that neither can be swapped or replayed alone, with its own expiry.
 */
export async function trustBundle(db: Queryable, fields: FieldCipher, now: Date): Promise<string> {
  const publisher = await trustPublisher(db, fields);
  const payload: TrustBundlePayload = {
    iss: 'saufconduit', iat: Math.floor(now.getTime() / 1000), exp: Math.floor(now.getTime() / 1000) + BUNDLE_VALIDITY_HOURS * 3600,
    dsc: await trustList(db, now), revocation: await revocationLists(db, now),
  };
  const key = createPrivateKey({ key: Buffer.from(publisher.pkcs8), format: 'der', type: 'pkcs8' });
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', typ: 'saufconduit-trust+jws', kid: publisherKid(publisher.der) })
    .sign(key);
}

const publisherKid = (der: Uint8Array) => createHash('sha256').update(der).digest('base64url').slice(0, 16);

/** The public key verifiers pin to check bundles (served at /trust/anchor.json, embedded in /verify). */
export async function trustAnchor(db: Queryable, fields: FieldCipher): Promise<{ kid: string; jwk: Record<string, unknown>; certificate: string }> {
  const publisher = await trustPublisher(db, fields);
  const pub = createPublicKey(createPrivateKey({ key: Buffer.from(publisher.pkcs8), format: 'der', type: 'pkcs8' }));
  return { kid: publisherKid(publisher.der), jwk: { ...(await exportJWK(pub)), alg: 'ES256', use: 'sig' }, certificate: Buffer.from(publisher.der).toString('base64') };
}
