import { createPrivateKey } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/**
 * The signing module. Like the EU reference issuance service, it is handed a SHA-256 digest and a
 * key id, never the pass or the person: whoever compromises or audits it learns nothing about
 * holders, and it could run in a separate process or HSM behind the same two-argument interface.
 */
export class DigestSigner {
  private readonly keys = new Map<string, Uint8Array>();

  /** Loads a P-256 private key (PKCS#8 DER) under its kid (base64). */
  add(kid: string, pkcs8: Uint8Array): void {
    const jwk = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    if (jwk.crv !== 'P-256' || !jwk.d) throw new Error('document signer keys must be P-256');
    this.keys.set(kid, new Uint8Array(Buffer.from(jwk.d, 'base64url')));
  }

  has(kid: string): boolean {
    return this.keys.has(kid);
  }

  /** ECDSA P-256 over a precomputed SHA-256 digest; returns r‖s (64 bytes) as COSE wants. */
  signDigest(kid: string, digest: Uint8Array): Uint8Array {
    if (digest.length !== 32) throw new Error('a SHA-256 digest is 32 bytes');
    const key = this.keys.get(kid);
    if (!key) throw new Error('unknown signing key');
    return p256.sign(digest, key, { prehash: false });
  }
}
