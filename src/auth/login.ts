import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { App } from '../app.ts';
import { AppError } from '../errors/catalogue.ts';
import { ANONYMOUS, GUARD, OPERATOR, type Actor } from '../domain/work.ts';
import { decryptTotpSecret, findAccount, findAccountByLogin, accountLogin, loginHash, principalFor } from '../domain/accounts.ts';
import { checkPassword } from './passwords.ts';
import { checkTotp } from './totp.ts';
import { createSession, deleteAllSessions, deleteSession, findSession, markSecondFactor } from './sessions.ts';
import type { Principal } from '../policy/principal.ts';
import type { Queryable } from '../store/db.ts';
import { clearAttempts, countAttempt, isLocked } from './login-throttle.ts';
import { revokeKeys } from '../domain/api-keys.ts';

/** Roles that must present a second factor (passkeys count as two: possession + user verification). */
const NEEDS_SECOND_FACTOR = new Set(['staff', 'professional', 'dpo']);

const loginEvent = (outcome: 'success' | 'denied' | 'failure', accountId: string | null, purpose: string) => ({
  action: 'auth.login', resourceType: 'Account', resourceId: accountId, subjectRef: null, purpose, outcome,
});

/**
 * First factor for staff, professionals and the DPO. Success yields only a pending session that can
 * do nothing but present the second factor. Unknown login and wrong password answer identically.
 */
export async function passwordLogin(app: App, login: string, password: string, requestId: string): Promise<{ token: string; stage: 'pending' }> {
  const account = await findAccountByLogin(app.db, app.keys, login);
  const ok = await checkPassword(account?.password_hash, password);
  if (!ok || !account || account.disabled_at || !NEEDS_SECOND_FACTOR.has(account.role)) {
    await app.uow.run(ANONYMOUS, requestId, async (w) => w.record(loginEvent('denied', account?.id ?? null, 'password')));
    throw new AppError('invalid_credentials');
  }
  const token = await app.uow.run(asActor(account.id), requestId, async (w) => {
    w.record(loginEvent('success', account.id, 'password'));
    return createSession(w.tx, account.id, 'pending', 'password', w.now, sessionPolicy(app));
  });
  return { token, stage: 'pending' };
}

/** Wrong TOTP codes an account may receive within TOTP_LOCK_MINUTES of each other. */
export const MAX_TOTP_FAILURES = 5;
const TOTP_LOCK_MINUTES = 15;

/**
 * Second factor: a TOTP code on a pending session. The pending session is replaced (rotation).
 * Every attempt counts against the account first, in one atomic statement, and a success clears the
 * count: a password holder gets MAX_TOTP_FAILURES guesses per TOTP_LOCK_MINUTES, however many
 * addresses or concurrent requests they use.
 */
export async function totpLogin(app: App, pendingToken: string, code: string, requestId: string): Promise<{ token: string }> {
  const now = new Date();
  const session = await findSession(app.db, pendingToken, now, sessionPolicy(app));
  if (!session || session.stage !== 'pending') throw new AppError('unauthenticated');
  const step = await judgeTotp(app, session.accountId, code, now, requestId, 'totp');
  return app.uow.run(asActor(session.accountId), requestId, async (w) => {
    await spendTotpStep(w.tx, session.accountId, step);
    await deleteSession(w.tx, pendingToken);
    w.record(loginEvent('success', session.accountId, 'totp'));
    return { token: await createSession(w.tx, session.accountId, 'full', 'password+totp', w.now, sessionPolicy(app)) };
  });
}

/**
 * Judges a TOTP code of an account, counting the attempt first (MAX_TOTP_FAILURES per
 * TOTP_LOCK_MINUTES, whatever the sessions and addresses): the accepted time step, or an audited
 * refusal (`too_many_attempts`, `invalid_credentials`).
 */
async function judgeTotp(app: App, accountId: string, code: string, now: Date, requestId: string, purpose: 'totp' | 'step-up'): Promise<number> {
  const [attempt] = await app.db.query<{ n: number }>(
    `UPDATE account SET totp_failures = CASE WHEN totp_failed_at IS NULL OR totp_failed_at < $2 THEN 1 ELSE totp_failures + 1 END, totp_failed_at = $3
     WHERE id = $1 RETURNING totp_failures AS n`,
    [accountId, new Date(now.getTime() - TOTP_LOCK_MINUTES * 60_000), now],
  );
  if (Number(attempt?.n ?? 0) > MAX_TOTP_FAILURES) {
    await app.uow.run(ANONYMOUS, requestId, async (w) => w.record({ ...loginEvent('denied', accountId, `${purpose}-locked`) }));
    throw new AppError('too_many_attempts');
  }
  const account = await findAccount(app.db, accountId);
  const secret = account ? decryptTotpSecret(app.fields, account) : null;
  const step = secret && account ? await checkTotp(secret, code, Number(account.totp_last_step), now) : null;
  if (step === null) {
    await app.uow.run(ANONYMOUS, requestId, async (w) => w.record({ ...loginEvent('denied', accountId, purpose) }));
    throw new AppError('invalid_credentials');
  }
  return step;
}

/** Compare-and-set on the accepted step, clearing the failures: two concurrent uses of one code cannot both win. */
async function spendTotpStep(tx: Queryable, accountId: string, step: number): Promise<void> {
  const won = await tx.query('UPDATE account SET totp_last_step = $2, totp_failures = 0, totp_failed_at = NULL WHERE id = $1 AND totp_last_step < $2 RETURNING id', [accountId, step]);
  if (won.length === 0) throw new AppError('invalid_credentials');
}

/**
 * Step-up: a fresh TOTP code proves the second factor again on the current full session, for the
 * actions that need a recent one (STEP_UP_MINUTES). Accounts without TOTP (patients, passkey-only)
 * log in again instead: a new session is fresh.
 */
export async function stepUp(app: App, principal: Principal, token: string, code: string, requestId: string): Promise<{ secondFactorAt: string }> {
  await app.uow.read(principal, requestId, async (w) => {
    w.access('session.step-up', { type: 'self' }, { resourceType: 'Account', resourceId: null, subjectRef: null });
  });
  const now = new Date();
  const step = await judgeTotp(app, principal.id, code, now, requestId, 'step-up');
  return app.uow.run(principal, requestId, async (w) => {
    await spendTotpStep(w.tx, principal.id, step);
    await markSecondFactor(w.tx, token, w.now);
    w.record({ action: 'auth.step-up', resourceType: 'Account', resourceId: principal.id, subjectRef: null, purpose: 'totp', outcome: 'success' });
    return { secondFactorAt: w.now.toISOString() };
  });
}

export const OTP_MINUTES = 10;
const OTP_MAX_ATTEMPTS = 5;
const otpHash = (challengeId: string, code: string) => createHash('sha256').update(`${challengeId}:${code}`).digest('base64url');

/** Login codes one address may be sent per CODE_WINDOW_MINUTES, asked from one client (the per-IP limit applies as well). */
export const MAX_CODES_PER_WINDOW = 5;
export const CODE_WINDOW_MINUTES = 15;
/** Codes of one address open at once (unused, unexpired), whatever the clients that asked for them. */
export const MAX_OPEN_CODES = 5;

/**
 * Patient login, step 1: a one-time code by e-mail. Nothing in the answer tells whether the address
 * is known: an unknown one gets a challenge as well (stored, counted and expiring like any other,
 * with a secret nobody holds), and the mail is sent after the answer (a failure is logged to `log`),
 * so neither the next steps' answers nor the time taken give the account away.
 * Beyond MAX_CODES_PER_WINDOW codes for one address from one client (`clientRef`, a pseudonymised
 * IP) in the window, no mail leaves (the challenge is stored all the same, unusable): nobody can
 * flood an inbox, and requests from elsewhere do not spend the budget of the patient's own. Earlier
 * codes stay valid until they expire: a new request must not void the code the patient is typing.
 */
export async function startPatientLogin(app: App, login: string, lang: 'fr' | 'en', requestId: string, clientRef: string, log: MailLog): Promise<{ challengeId: string }> {
  const challengeId = randomUUID();
  const found = await findAccountByLogin(app.db, app.keys, login);
  const account = found && found.role === 'patient' && !found.disabled_at ? found : null;
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const usableHash = account ? otpHash(challengeId, code) : randomBytes(32).toString('base64url');
  const ref = loginHash(app.keys, login);
  const sendable = await app.uow.run(account ? asActor(account.id) : ANONYMOUS, requestId, async (w) => {
    const expiresAt = new Date(w.now.getTime() + OTP_MINUTES * 60_000);
    // One statement counts the window's earlier codes and stores this one: codes asked for at once
    // (one batched transaction) are still counted one after the other.
    // Whatever the clients, at most MAX_OPEN_CODES codes of one address are open at once (the ones
    // already mailed stay valid: they are in the holder's mailbox), and none is mailed while code
    // logins for the address are locked.
    const locked = await isLocked(w.tx, ref, w.now);
    const [stored] = await w.tx.query<{ usable: boolean }>(
      `WITH prior AS (SELECT count(*)::int AS n FROM auth_challenge WHERE login_ref = $4 AND client_ref = $9 AND kind = 'otp' AND expires_at > $5),
            open AS (SELECT count(*)::int AS n FROM auth_challenge WHERE login_ref = $4 AND kind = 'otp' AND usable AND used_at IS NULL AND expires_at > $10),
            verdict AS (SELECT prior.n < $6 AND open.n < $11 AND NOT $12::boolean AS usable FROM prior, open)
       INSERT INTO auth_challenge (id, kind, account_id, login_ref, client_ref, secret_hash, expires_at, usable)
         SELECT $1, 'otp', $2, $4, $9, CASE WHEN verdict.usable THEN $3 ELSE $7 END, $8, verdict.usable FROM verdict
       RETURNING usable`,
      [challengeId, account?.id ?? null, usableHash, ref, new Date(expiresAt.getTime() - CODE_WINDOW_MINUTES * 60_000), MAX_CODES_PER_WINDOW, randomBytes(32).toString('base64url'), expiresAt, clientRef,
        w.now, MAX_OPEN_CODES, locked],
    );
    const send = account !== null && stored!.usable;
    w.record({ action: 'auth.otp-sent', resourceType: 'Account', resourceId: account?.id ?? null, subjectRef: null, purpose: account && !send ? (locked ? 'login-locked' : 'login-code-limit') : 'login', outcome: send ? 'success' : 'denied' });
    return send;
  });
  if (account && sendable) {
    void (async () => {
      const to = (await accountLogin(app.db, app.fields, account.id))!;
      await app.mailer.send(lang === 'fr'
        ? { to, subject: 'Votre code de connexion Saufconduit', text: `Votre code : ${code}\nIl expire dans ${OTP_MINUTES} minutes. Si vous n'avez rien demandé, ignorez ce message.` }
        : { to, subject: 'Your Saufconduit login code', text: `Your code: ${code}\nIt expires in ${OTP_MINUTES} minutes. If you did not ask for it, ignore this message.` });
    })().catch((err: unknown) => log.warn({ err }, 'login code mail not sent'));
  }
  return { challengeId };
}

/** Where a login-code mail that could not be sent is reported (the request's logger). */
interface MailLog {
  warn(obj: { err: unknown }, msg: string): void;
}

/**
 * Patient login, step 2: the code plus a knowledge check (the birth date of one of the records the
 * account holds, or, for a space that holds none yet, of one offered to it). Every attempt counts first against its code (OTP_MAX_ATTEMPTS) and
 * against its address across all codes and clients (login-throttle.ts): past the address's limit
 * attempts wait, then the address is locked and its holder told. Known and unknown addresses
 * answer identically throughout.
 */
export async function finishPatientLogin(app: App, challengeId: string, code: string, birthDate: string, requestId: string, log?: MailLog): Promise<{ token: string }> {
  const now = new Date();
  const fail = async (accountId: string | null, code: 'invalid_credentials' | 'challenge_expired' = 'invalid_credentials') => {
    await app.uow.run(ANONYMOUS, requestId, async (w) => w.record(loginEvent('denied', accountId, 'otp+knowledge')));
    return new AppError(code);
  };
  const [ch] = await app.db.query<{ account_id: string | null; login_ref: string | null; secret_hash: string; attempts: number; expires_at: Date; used_at: Date | null }>(
    `UPDATE auth_challenge SET attempts = attempts + 1 WHERE id = $1 AND kind = 'otp' RETURNING account_id, login_ref, secret_hash, attempts, expires_at, used_at`, [challengeId]);
  if (!ch) throw await fail(null);
  if (ch.used_at || new Date(ch.expires_at) <= now || ch.attempts > OTP_MAX_ATTEMPTS) throw await fail(ch.account_id, 'challenge_expired');
  // Codes are stored with their address's keyed hash since migration 013; older ones have expired.
  if (!ch.login_ref) throw await fail(ch.account_id, 'challenge_expired');
  const verdict = await countAttempt(app.db, ch.login_ref, now);
  if (!verdict.judged) {
    await app.uow.run(ANONYMOUS, requestId, async (w) => w.record(loginEvent('denied', ch.account_id, 'otp-throttled')));
    throw new AppError('login_locked', undefined, { retryAfterSeconds: Math.max(1, Math.ceil((verdict.retryAt.getTime() - now.getTime()) / 1000)) });
  }
  // The birth dates of the records the space holds; only a space that holds none yet (its holder's
  // first login) is checked against the records offered to it. Anyone with a counter link can offer
  // a record with a birth date of their choosing: that must not open a space that holds records.
  const births = ch.account_id
    ? await app.db.query<{ id: string; birth_date_enc: string }>(
      `SELECT id, birth_date_enc FROM patient WHERE account_id = $1
        UNION ALL SELECT id, birth_date_enc FROM patient WHERE offered_to = $1 AND NOT EXISTS (SELECT 1 FROM patient WHERE account_id = $1)`, [ch.account_id])
    : [];
  const knows = births.some((b) => app.fields.decrypt(`patient.birth_date:${b.id}`, b.birth_date_enc) === birthDate);
  if (ch.secret_hash !== otpHash(challengeId, code) || !knows) {
    const error = await fail(ch.account_id);
    if (verdict.justLocked) await lockedOut(app, ch.account_id, verdict.lockedUntil!, requestId, log);
    throw error;
  }
  const accountId = ch.account_id!;
  return app.uow.run(asActor(accountId), requestId, async (w) => {
    const claimed = await w.tx.query('UPDATE auth_challenge SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id', [challengeId, w.now]);
    if (claimed.length === 0) throw new AppError('challenge_expired');
    await clearAttempts(w.tx, ch.login_ref!);
    // The code reached this mailbox: the space may now hold the records its holder accepts.
    await w.tx.query('UPDATE account SET confirmed_at = COALESCE(confirmed_at, $2) WHERE id = $1', [accountId, w.now]);
    w.record(loginEvent('success', accountId, 'otp+knowledge'));
    return { token: await createSession(w.tx, accountId, 'full', 'otp+knowledge', w.now, sessionPolicy(app)) };
  });
}

/**
 * The address just got locked: the lock goes on the account's record (its holder sees it in their
 * history) and the holder gets a mail, after the answer. An unknown address has nobody to tell.
 */
async function lockedOut(app: App, accountId: string | null, until: Date, requestId: string, log?: MailLog): Promise<void> {
  if (!accountId) return;
  await app.uow.run(GUARD, requestId, async (w) => w.record({ action: 'auth.login-locked', resourceType: 'Account', resourceId: accountId, subjectRef: null, purpose: 'too-many-wrong-codes', outcome: 'success' }));
  void (async () => {
    const to = await accountLogin(app.db, app.fields, accountId);
    if (to) await app.mailer.send(loginLockedMail(to, until));
  })().catch((err: unknown) => log?.warn({ err }, 'login lock notice not sent'));
}

/** The lock notice: bilingual (the language of whoever triggered it is not the holder's), no health data. */
function loginLockedMail(to: string, until: Date): { to: string; subject: string; text: string } {
  const fr = until.toLocaleString('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'long', timeStyle: 'short' });
  const en = until.toLocaleString('en-GB', { timeZone: 'Europe/Paris', dateStyle: 'long', timeStyle: 'short' });
  return {
    to,
    subject: 'Connexion par code suspendue / Code login paused — Saufconduit',
    text: `Trop de codes erronés ont été saisis pour votre adresse. Par sécurité, la connexion par code est suspendue jusqu'au ${fr} (heure de Paris). `
      + `Si ce n'était pas vous, vos données restent protégées : personne ne s'est connecté. Une clé d'accès (passkey) fonctionne toujours.\n\n`
      + `Too many wrong codes were entered for your address. For your safety, logging in by code is paused until ${en} (Paris time). `
      + `If it was not you, your data is still protected: nobody logged in. A passkey still works.\n`,
  };
}

/**
 * Logout. A full session ends every session of the account, on every device. A session that passed
 * only the first factor ends itself alone: a password without the second factor must not be enough
 * to log the account's owner out everywhere.
 * @returns false when the token names no live session
 */
export async function logout(app: App, token: string, requestId: string): Promise<boolean> {
  const session = await findSession(app.db, token, new Date(), sessionPolicy(app));
  if (!session) return false;
  const actor = await principalFor(app.db, session.accountId);
  await app.uow.run(actor ?? ANONYMOUS, requestId, async (w) => {
    if (session.stage === 'full') await deleteAllSessions(w.tx, session.accountId);
    else await deleteSession(w.tx, token);
    w.record({ action: 'auth.logout', resourceType: 'Account', resourceId: session.accountId, subjectRef: null, purpose: session.stage === 'full' ? 'logout' : 'logout-unfinished-login', outcome: 'success' });
  });
  return true;
}

/**
 * Disables an account (operator command): all its sessions end at once, its logins are refused, and
 * the API keys it created are revoked (`creator-disabled`): a departed or compromised staff member's
 * keys must not outlive them, possibly with nobody left at the pharmacy to revoke them.
 * @returns whether it was enabled, and the ids of the keys revoked
 */
export async function disableAccount(app: App, accountId: string, requestId: string): Promise<{ changed: boolean; revokedKeys: string[] }> {
  return app.uow.run(OPERATOR, requestId, async (w) => {
    const rows = await w.tx.query('UPDATE account SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL RETURNING id', [accountId, w.now]);
    await deleteAllSessions(w.tx, accountId);
    w.record({ action: 'account.disable', resourceType: 'Account', resourceId: accountId, subjectRef: null, purpose: 'administration', outcome: rows.length ? 'success' : 'failure' });
    const keys = await revokeKeys(w.tx, 'created_by = $1', [accountId], w.now, 'creator-disabled', OPERATOR.id);
    for (const k of keys) w.record({ action: 'api-key.revoke', resourceType: 'ApiKey', resourceId: k.id, subjectRef: null, purpose: 'creator-disabled', outcome: 'success', tenantId: k.tenant_id });
    return { changed: rows.length > 0, revokedKeys: keys.map((k) => k.id) };
  });
}


export const sessionPolicy = (app: App) => ({ idleMinutes: app.config.sessionIdleMinutes, absoluteMinutes: app.config.sessionAbsoluteMinutes });

/** An actor for auth events: the account acting on itself, before a full principal exists. */
const asActor = (id: string): Actor => ({ kind: 'authenticating', id, role: 'authenticating', tenantId: null });
