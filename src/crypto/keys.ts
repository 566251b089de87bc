import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * Every long-lived secret derives from one master key (HKDF-SHA256, distinct labels), so a
 * deployment manages one secret; data-encryption keys are random and wrapped by the KEK.
 */
export interface KeyRing {
  /** Wraps data-encryption keys (envelope encryption). */
  kek: Buffer;
  /** Keyed hash for looking up accounts by login without storing logins in clear. */
  lookup: Buffer;
  /** Ed25519 key that signs audit checkpoints. */
  auditSigning: KeyObject;
  auditVerify: KeyObject;
  auditKeyId: string;
}

const derive = (master: Buffer, label: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `saufconduit/${label}`, 32));

// Fixed PKCS#8 prefix for an Ed25519 private key whose 32-byte seed follows (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function deriveKeyRing(masterKeyB64: string): KeyRing {
  const master = Buffer.from(masterKeyB64, 'base64');
  if (master.length !== 32) throw new Error('SAUFCONDUIT_MASTER_KEY must be base64 of exactly 32 bytes');
  const seed = derive(master, 'audit-signing-v1');
  const auditSigning = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const auditVerify = createPublicKey(auditSigning);
  const spki = auditVerify.export({ format: 'der', type: 'spki' });
  const auditKeyId = derive(spki, 'audit-key-id').subarray(0, 8).toString('hex');
  return { kek: derive(master, 'kek-v1'), lookup: derive(master, 'lookup-v1'), auditSigning, auditVerify, auditKeyId };
}
