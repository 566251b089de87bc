import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * The long-lived keys of a deployment. Field encryption and lookups derive from the master key
 * (HKDF-SHA256, distinct labels); data-encryption keys are random and wrapped by the KEK. The key
 * that signs audit checkpoints is a secret of its own: someone who holds the data master key (or a
 * copy of it) must not be able to sign a forged history.
 */
export interface KeyRing {
  /** Wraps data-encryption keys (envelope encryption). */
  kek: Buffer;
  /** Keyed hash for looking up accounts by login without storing logins in clear. */
  lookup: Buffer;
  /** Ed25519 key that signs audit checkpoints (SAUFCONDUIT_AUDIT_KEY). */
  auditSigning: KeyObject;
  auditKeyId: string;
  /**
   * The public keys whose checkpoints verify, by key id: the signing key's, and the one older
   * versions derived from the master key (their checkpoints stay verifiable; `audit verify` counts them).
   */
  auditVerifiers: ReadonlyMap<string, KeyObject>;
  /** The key id of the key older versions derived from the master key. */
  legacyAuditKeyId: string;
}

const derive = (master: Buffer, label: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `saufconduit/${label}`, 32));

// Fixed PKCS#8 prefix for an Ed25519 private key whose 32-byte seed follows (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const ed25519 = (seed: Buffer) => {
  const signing = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const verify = createPublicKey(signing);
  const keyId = derive(verify.export({ format: 'der', type: 'spki' }), 'audit-key-id').subarray(0, 8).toString('hex');
  return { signing, verify, keyId };
};

/** base64 of exactly 32 bytes, or a clear error naming the variable. */
function secret(b64: string, name: string): Buffer {
  const bytes = Buffer.from(b64.trim(), 'base64');
  if (bytes.length !== 32) throw new Error(`${name} must be base64 of exactly 32 bytes (openssl rand -base64 32)`);
  return bytes;
}

export function deriveKeyRing(masterKeyB64: string, auditKeyB64: string): KeyRing {
  const master = secret(masterKeyB64, 'SAUFCONDUIT_MASTER_KEY');
  const auditSeed = secret(auditKeyB64, 'SAUFCONDUIT_AUDIT_KEY');
  if (auditSeed.equals(master)) throw new Error('SAUFCONDUIT_AUDIT_KEY must be a secret of its own, not the master key');
  const audit = ed25519(auditSeed);
  const legacy = ed25519(derive(master, 'audit-signing-v1'));
  if (audit.keyId === legacy.keyId) throw new Error('SAUFCONDUIT_AUDIT_KEY must not be derived from the master key');
  return {
    kek: derive(master, 'kek-v1'), lookup: derive(master, 'lookup-v1'),
    auditSigning: audit.signing, auditKeyId: audit.keyId,
    auditVerifiers: new Map([[audit.keyId, audit.verify], [legacy.keyId, legacy.verify]]), legacyAuditKeyId: legacy.keyId,
  };
}
