import { sha256 } from '../crypto/tokens.ts';

/**
 * What an audit event says. Deliberately no health data and no direct identity: the subject is a
 * pseudonymous reference, the actor an account or API-key id.
 */
export interface AuditEventInput {
  actorId: string;
  actorRole: string;
  tenantId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  subjectRef: string | null;
  /** Why: 'care', 'own-record', 'tenant-service', 'break-glass:<reason-ref>', 'governance' … */
  purpose: string;
  outcome: 'success' | 'denied' | 'failure';
  requestId: string;
}

export interface AuditEvent extends AuditEventInput {
  seq: number;
  at: Date;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The chained hash: SHA-256 over the previous hash and every field in a fixed order. */
export function chainHash(prevHash: string, e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  const canonical = JSON.stringify([
    e.seq, e.at.toISOString(), e.actorId, e.actorRole, e.tenantId, e.action, e.resourceType,
    e.resourceId, e.subjectRef, e.purpose, e.outcome, e.requestId,
  ]);
  return sha256(`${prevHash}\n${canonical}`, 'hex');
}

/** What a checkpoint signature covers. */
export const checkpointMessage = (seq: number, hash: string) => Buffer.from(`saufconduit-audit-checkpoint:v1:${seq}:${hash}`);
