import type { Tx } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { AuditEventInput } from '../audit/event.ts';
import { authorize, type Action, type Resource } from '../policy/authorize.ts';
import type { Principal } from '../policy/principal.ts';
import { AppError, type ErrorCode } from '../errors/catalogue.ts';
import { keyedHash } from '../crypto/tokens.ts';

/** Who is acting when nobody is logged in yet (login attempts, public endpoints). */
export type Actor =
  | Principal
  | { kind: 'anonymous'; id: 'anonymous'; role: 'anonymous'; tenantId: null }
  /** An account proving who it is (login steps): may write auth events, never pass `access()`. */
  | { kind: 'authenticating'; id: string; role: 'authenticating'; tenantId: null }
  /** Operator commands and scheduled jobs (seeding, account disable): audited, never pass `access()`. */
  | { kind: 'system'; id: string; role: 'system'; tenantId: null };
export const ANONYMOUS: Actor = { kind: 'anonymous', id: 'anonymous', role: 'anonymous', tenantId: null };
/** Operator commands (`saufconduit account …`, `api-key revoke`, `record unlink`): audited as such. */
export const OPERATOR: Actor = { kind: 'system', id: 'system:operator', role: 'system', tenantId: null };
/** The platform protecting itself and its users (login locks, the revocation-list watch): audited as such. */
export const GUARD: Actor = { kind: 'system', id: 'system:guard', role: 'system', tenantId: null };

/** What the audit event says about the target of an access. */
export interface AuditTarget {
  resourceType: string;
  resourceId: string | null;
  subjectRef: string | null;
}

/**
 * Everything a domain operation may touch: one transaction, the acting principal, the audit
 * recorder. Domain code reaches personal data only after `access()` allowed it, and `access()`
 * always leaves an audit event in this same transaction.
 */
export interface Work {
  readonly tx: Tx;
  readonly actor: Actor;
  readonly requestId: string;
  readonly now: Date;
  readonly fields: FieldCipher;
  /**
   * A keyed hash of `value` (blind index): equal values give equal references, and nothing about the
   * value can be computed back without the key. Lets the database compare what it must not read.
   */
  blindIndex(value: string): string;
  /**
   * Asks the decision point, records the audit event, and returns the purpose on allow.
   * On deny it throws AccessDenied: the operation's writes are rolled back and only the denial
   * event is kept. `hideAs404` (default when the target has an id) answers as if it did not exist.
   */
  access(action: Action, resource: Resource, target: AuditTarget): string;
  /** Records an event that is not an authorization decision (login, logout, key created). */
  record(event: Omit<AuditEventInput, 'actorId' | 'actorRole' | 'tenantId' | 'requestId'> & { tenantId?: string | null }): void;
}

/** A refused access: carries its audit event so the runner keeps it while rolling back the rest. */
export class AccessDenied extends AppError {
  readonly event: AuditEventInput;
  constructor(event: AuditEventInput, visibleAs: ErrorCode, options: { retryAfterSeconds?: number } = {}) {
    super(visibleAs, undefined, options);
    this.event = event;
  }
}

/**
 * Refuses an operation the decision point allowed but a limit of the domain does not (a daily
 * reissue limit, say): the refusal is audited like a denial (its event survives the rollback) and
 * answered with `code`.
 */
export function refuse(w: Work, action: Action, target: AuditTarget, reason: string, code: ErrorCode, options: { retryAfterSeconds?: number } = {}): never {
  throw new AccessDenied(eventFor(w, action, target, 'denied', reason), code, options);
}

/**
 * The acting principal's own tenant, as the resource of a tenant-wide action (register a patient,
 * manage API keys). A principal without a tenant gets a tenant id that matches none: the rules then
 * refuse it on its role, and the refusal is audited like any other.
 */
export const ownTenant = (w: Work): Resource => ({ type: 'tenant', tenantId: w.actor.tenantId ?? '' });

/** Raised by domain code for a well-formed id that matches nothing; audited like a denial. */
export function denyUnknown(w: Work, action: Action, target: AuditTarget): never {
  throw new AccessDenied(eventFor(w, action, target, 'denied', 'unknown-resource'), 'not_found');
}

export function makeWork(tx: Tx, actor: Actor, requestId: string, now: Date, fields: FieldCipher, lookupKey: Buffer, sink: AuditEventInput[]): Work {
  const w: Work = {
    tx, actor, requestId, now, fields,
    blindIndex: (value) => keyedHash(lookupKey, value),
    access(action, resource, target) {
      if (actor.kind === 'anonymous' || actor.kind === 'authenticating' || actor.kind === 'system') throw new AccessDenied(eventFor(w, action, target, 'denied', 'anonymous'), 'not_found');
      const decision = authorize(actor, action, resource, { now });
      if (!decision.allow) {
        // Allowed but for a stale second factor: say so (the record is the caller's to see anyway).
        const visibleAs = decision.reason === 'step-up' ? 'step_up_required' : target.resourceId ? 'not_found' : 'forbidden';
        throw new AccessDenied(eventFor(w, action, target, 'denied', decision.reason), visibleAs);
      }
      sink.push(eventFor(w, action, target, 'success', decision.purpose));
      return decision.purpose;
    },
    record(event) {
      sink.push({ ...event, actorId: actor.id, actorRole: actor.role, tenantId: event.tenantId ?? actor.tenantId, requestId });
    },
  };
  return w;
}

function eventFor(w: Work, action: Action, target: AuditTarget, outcome: 'success' | 'denied', purpose: string): AuditEventInput {
  return {
    actorId: w.actor.id, actorRole: w.actor.role, tenantId: w.actor.tenantId,
    action, resourceType: target.resourceType, resourceId: target.resourceId, subjectRef: target.subjectRef,
    purpose, outcome, requestId: w.requestId,
  };
}
