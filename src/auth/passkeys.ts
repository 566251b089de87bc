import { randomUUID } from 'node:crypto';
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type RegistrationResponseJSON, type AuthenticatorTransport,
} from '@simplewebauthn/server';
import type { App } from '../app.ts';
import { AppError } from '../errors/catalogue.ts';
import { ANONYMOUS, denyUnknown, type Actor, type Work } from '../domain/work.ts';
import type { Principal } from '../policy/principal.ts';
import type { Queryable } from '../store/db.ts';
import { createSession, deleteAllSessions } from './sessions.ts';
import { accountLogin } from '../domain/accounts.ts';
import { passkeyChangedMail, sendLater } from '../notify/security-notices.ts';
import { revokeKeys } from '../domain/api-keys.ts';
import { sessionPolicy } from './login.ts';

const CHALLENGE_MINUTES = 5;

const rp = (app: App) => {
  const url = new URL(app.config.publicUrl);
  return { rpID: url.hostname, origin: url.origin };
};

async function storeChallenge(app: App, kind: 'webauthn-login' | 'webauthn-register', accountId: string | null, challenge: string): Promise<string> {
  const id = randomUUID();
  await app.db.query('INSERT INTO auth_challenge (id, kind, account_id, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [id, kind, accountId, challenge, new Date(Date.now() + CHALLENGE_MINUTES * 60_000)]);
  return id;
}

/** Single use: the challenge is consumed whether or not the answer verifies. */
async function takeChallenge(db: Queryable, id: string, kind: string, accountId: string | null): Promise<string> {
  const [row] = await db.query<{ secret_hash: string; expires_at: Date; account_id: string | null }>(
    'UPDATE auth_challenge SET used_at = now() WHERE id = $1 AND kind = $2 AND used_at IS NULL RETURNING secret_hash, expires_at, account_id', [id, kind]);
  if (!row || new Date(row.expires_at) <= new Date() || (accountId !== null && row.account_id !== accountId)) throw new AppError('challenge_expired');
  return row.secret_hash;
}

/** Options for a passkey login. Discoverable credentials: no login is asked, so nothing to enumerate. */
export async function passkeyLoginOptions(app: App) {
  const options = await generateAuthenticationOptions({ rpID: rp(app).rpID, userVerification: 'required', allowCredentials: [] });
  return { challengeId: await storeChallenge(app, 'webauthn-login', null, options.challenge), options };
}

/** A passkey with user verification is both factors at once: it yields a full session. */
export async function passkeyLogin(app: App, challengeId: string, response: AuthenticationResponseJSON, requestId: string): Promise<{ token: string }> {
  const challenge = await takeChallenge(app.db, challengeId, 'webauthn-login', null);
  const [cred] = await app.db.query<{ id: string; account_id: string; public_key: string; counter: number; transports: string; disabled_at: Date | null }>(
    'SELECT c.id, c.account_id, c.public_key, c.counter, c.transports, a.disabled_at FROM webauthn_credential c JOIN account a ON a.id = c.account_id WHERE c.id = $1', [response.id]);
  const denied = async () => {
    await app.uow.run(ANONYMOUS, requestId, async (w) => w.record({ action: 'auth.login', resourceType: 'Account', resourceId: cred?.account_id ?? null, subjectRef: null, purpose: 'passkey', outcome: 'denied' }));
    return new AppError('invalid_credentials');
  };
  if (!cred || cred.disabled_at) throw await denied();
  const { rpID, origin } = rp(app);
  const result = await verifyAuthenticationResponse({
    response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: true,
    credential: { id: cred.id, publicKey: Buffer.from(cred.public_key, 'base64url'), counter: Number(cred.counter), transports: cred.transports ? cred.transports.split(',') as AuthenticatorTransport[] : [] },
  }).catch(() => null);
  if (!result?.verified) throw await denied();
  const actor: Actor = { kind: 'authenticating', id: cred.account_id, role: 'authenticating', tenantId: null };
  return app.uow.run(actor, requestId, async (w) => {
    await w.tx.query('UPDATE webauthn_credential SET counter = $2, last_used_at = $3 WHERE id = $1', [cred.id, result.authenticationInfo.newCounter, w.now]);
    w.record({ action: 'auth.login', resourceType: 'Account', resourceId: cred.account_id, subjectRef: null, purpose: 'passkey', outcome: 'success' });
    return { token: await createSession(w.tx, cred.account_id, 'full', 'passkey', w.now, sessionPolicy(app)) };
  });
}

/** The acting principal's own account, as the target of the decisions below (a refusal is a 403, not a 404). */
const SELF = { resourceType: 'Account', resourceId: null, subjectRef: null } as const;

/** A passkey as its holder sees it: an opaque id, when it was added and last used. */
export interface PasskeyView {
  id: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** The passkeys of the logged-in account. */
export async function listPasskeys(w: Work): Promise<PasskeyView[]> {
  w.access('passkey.list', { type: 'self' }, SELF);
  const rows = await w.tx.query<{ ref: string; created_at: Date; last_used_at: Date | null }>(
    'SELECT ref, created_at, last_used_at FROM webauthn_credential WHERE account_id = $1 ORDER BY created_at', [w.actor.id]);
  return rows.map((r) => ({ id: r.ref, createdAt: new Date(r.created_at).toISOString(), lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null }));
}

/**
 * Options to add a passkey to the logged-in account, with a second factor proved in the last
 * minutes (`passkey.manage`): a passkey added with a stolen session would outlive the session.
 * The user handle is the opaque account id.
 */
export async function passkeyRegistrationOptions(app: App, principal: Principal, requestId: string) {
  const options = await app.uow.read(principal, requestId, async (w) => {
    w.access('passkey.manage', { type: 'self' }, SELF);
    const existing = await w.tx.query<{ id: string }>('SELECT id FROM webauthn_credential WHERE account_id = $1', [principal.id]);
    return generateRegistrationOptions({
      rpName: 'Saufconduit', rpID: rp(app).rpID, userName: `${principal.role}-${principal.id.slice(0, 8)}`, userID: new TextEncoder().encode(principal.id),
      attestationType: 'none', excludeCredentials: existing.map((c) => ({ id: c.id })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
  });
  return { challengeId: await storeChallenge(app, 'webauthn-register', principal.id, options.challenge), options };
}

/** Registers the authenticator's answer as a new passkey; its holder is told by mail. */
export async function registerPasskey(app: App, principal: Principal, challengeId: string, response: RegistrationResponseJSON, requestId: string, log: NoticeLog): Promise<{ id: string }> {
  const added = await app.uow.run(principal, requestId, async (w) => {
    w.access('passkey.manage', { type: 'self' }, SELF);
    const challenge = await takeChallenge(w.tx, challengeId, 'webauthn-register', principal.id);
    const { rpID, origin } = rp(app);
    const result = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: true }).catch(() => null);
    if (!result?.verified || !result.registrationInfo) {
      // Returned, not thrown: the challenge stays consumed (single use) and the failure is on record.
      w.record({ action: 'auth.passkey-registered', resourceType: 'Account', resourceId: principal.id, subjectRef: null, purpose: 'security', outcome: 'failure' });
      return null;
    }
    const c = result.registrationInfo.credential;
    const ref = randomUUID();
    await w.tx.query('INSERT INTO webauthn_credential (id, account_id, public_key, counter, transports, ref) VALUES ($1, $2, $3, $4, $5, $6)',
      [c.id, principal.id, Buffer.from(c.publicKey).toString('base64url'), c.counter, (c.transports ?? []).join(','), ref]);
    w.record({ action: 'auth.passkey-registered', resourceType: 'Account', resourceId: principal.id, subjectRef: null, purpose: 'security', outcome: 'success' });
    return { id: ref, at: w.now.toISOString() };
  });
  if (!added) throw new AppError('invalid_request', [{ path: 'response', code: 'webauthn-verification-failed' }]);
  await tellHolder(app, principal.id, 'added', added.at, log);
  return { id: added.id };
}

/** Removes one passkey of the logged-in account (a recent second factor needed); its holder is told. */
export async function removePasskey(app: App, principal: Principal, ref: string, requestId: string, log: NoticeLog): Promise<{ removed: string }> {
  const at = await app.uow.run(principal, requestId, async (w) => {
    const target = { resourceType: 'Passkey', resourceId: ref, subjectRef: null };
    w.access('passkey.manage', { type: 'self' }, SELF);
    const gone = await w.tx.query('DELETE FROM webauthn_credential WHERE ref = $1 AND account_id = $2 RETURNING ref', [ref, principal.id]);
    // Someone else's passkey, or none: the same audited 404.
    if (gone.length === 0) denyUnknown(w, 'passkey.manage', target);
    w.record({ action: 'auth.passkey-removed', resourceType: 'Account', resourceId: principal.id, subjectRef: null, purpose: 'security', outcome: 'success' });
    return w.now.toISOString();
  });
  await tellHolder(app, principal.id, 'removed', at, log);
  return { removed: ref };
}

/**
 * "Log out everywhere and remove passkeys": for someone who fears their account is in other hands.
 * Every passkey is removed, every session ends, this one included, and the API keys made from the
 * account are revoked (a recent second factor is
 * needed, so a stolen session cannot use it against its owner); the holder is told.
 */
export async function lockDown(app: App, principal: Principal, requestId: string, log: NoticeLog): Promise<{ passkeysRemoved: number; sessionsEnded: number; apiKeysRevoked: number }> {
  const out = await app.uow.run(principal, requestId, async (w) => {
    w.access('passkey.manage', { type: 'self' }, SELF);
    const removed = await w.tx.query('DELETE FROM webauthn_credential WHERE account_id = $1 RETURNING ref', [principal.id]);
    const sessionsEnded = await deleteAllSessions(w.tx, principal.id);
    // Keys made from this account may have been made by whoever held it: they go too.
    const keys = await revokeKeys(w.tx, 'created_by = $1', [principal.id], w.now, 'creator-lockdown', principal.id);
    for (const k of keys) w.record({ action: 'api-key.revoke', resourceType: 'ApiKey', resourceId: k.id, subjectRef: null, purpose: 'creator-lockdown', outcome: 'success', tenantId: k.tenant_id });
    w.record({ action: 'auth.lockdown', resourceType: 'Account', resourceId: principal.id, subjectRef: null, purpose: 'security', outcome: 'success' });
    return { passkeysRemoved: removed.length, sessionsEnded, apiKeysRevoked: keys.length, at: w.now.toISOString() };
  });
  await tellHolder(app, principal.id, 'all-removed', out.at, log);
  return { passkeysRemoved: out.passkeysRemoved, sessionsEnded: out.sessionsEnded, apiKeysRevoked: out.apiKeysRevoked };
}

interface NoticeLog {
  warn(obj: { err: unknown }, msg: string): void;
}

async function tellHolder(app: App, accountId: string, change: 'added' | 'removed' | 'all-removed', at: string, log: NoticeLog): Promise<void> {
  const to = await accountLogin(app.db, app.fields, accountId);
  if (to) sendLater(app.mailer, [passkeyChangedMail(to, change, at)], log);
}
