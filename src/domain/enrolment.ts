import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { App } from '../app.ts';
import type { Queryable } from '../store/db.ts';
import type { KeyRing } from '../crypto/keys.ts';
import { keyedHash, randomToken } from '../crypto/tokens.ts';
import { createAccount, findAccountByLogin, normaliseLogin, type AccountRole } from './accounts.ts';
import { hashPassword } from '../auth/passwords.ts';
import { checkTotp, newTotpSecret, totpUri } from '../auth/totp.ts';
import { AppError } from '../errors/catalogue.ts';
import { OPERATOR, type Actor } from './work.ts';
import { familyNameLabel, type ProfessionalInput } from './professionals.ts';

/**
 * Accounts created by an operator (`saufconduit account create`): staff of a pharmacy and DPOs. The
 * operator never learns a password: the command prints a one-time enrolment link, where the person
 * chooses a password and sets up their authenticator app (TOTP), proving it with a first code. The
 * account cannot log in before: no account is ever usable without its second factor. Passkeys can be
 * added after the first login.
 */

/** Long enough to reach someone by mail and a working day; short enough that a forwarded link goes stale. */
export const ENROLMENT_TTL_HOURS = 72;
/** Roles an operator enrols (patients enrol themselves by logging in with a code). */
export const ENROLLED_ROLES = ['staff', 'professional', 'dpo'] as const;
export type EnrolledRole = (typeof ENROLLED_ROLES)[number];

/** A password someone chooses for a health-data account: long (NIST SP 800-63B), bounded, not the login. */
export const NewPassword = z.string().min(12, 'too-short').max(256, 'too-long');

const tokenHash = (keys: Pick<KeyRing, 'lookup'>, token: string) => keyedHash(keys.lookup, `enrolment:${token}`);
export const enrolmentUrl = (publicUrl: string, token: string) => `${publicUrl.replace(/\/$/, '')}/enrol/${token}`;

export interface NewEnrolment {
  accountId: string;
  url: string;
  expiresAt: string;
  /** The account existed, not enrolled yet: a new link replaces the earlier ones. */
  renewed: boolean;
}

/**
 * Creates the account (or, for one not enrolled yet, renews its link) and its one-time enrolment
 * link. Audited as `account.create` (or `account.enrolment-renewed`) by `system:operator`.
 */
export async function createEnrolment(app: App, input: {
  role: EnrolledRole; login: string; displayName: string; tenantId: string | null; professional?: Omit<ProfessionalInput, 'displayName'>;
  /** The demo world's published authenticator secrets; otherwise a new one. */
  totpSecret?: string;
}, requestId: string): Promise<NewEnrolment> {
  if ((input.role === 'staff') !== (input.tenantId !== null)) throw new Error(input.role === 'staff' ? 'staff need --tenant' : 'only staff belong to a tenant');
  if ((input.role === 'professional') !== (input.professional !== undefined)) throw new Error('a professional needs a profession and an RPPS number (and only a professional has them)');
  const token = randomToken(24);
  return app.uow.run(OPERATOR, requestId, async (w) => {
    const existing = await findAccountByLogin(w.tx, app.keys, input.login);
    if (existing && (existing.role !== input.role || existing.password_hash !== null)) throw new Error('an account with this login already exists');
    const accountId = existing?.id ?? await createAccount(w.tx, app.keys, app.fields, {
      role: input.role as AccountRole, tenantId: input.tenantId, login: normaliseLogin(input.login), displayName: input.displayName, passwordHash: null, totpSecret: input.totpSecret ?? newTotpSecret(),
    });
    if (input.professional && !existing) {
      const p = input.professional;
      const taken = await w.tx.query('SELECT 1 FROM professional WHERE rpps = $1', [p.rpps]);
      if (taken.length > 0) throw new Error('a professional with this RPPS number already exists');
      await w.tx.query('INSERT INTO professional (account_id, profession, rpps, display_name, organisation, family_name_ref) VALUES ($1, $2, $3, $4, $5, $6)',
        [accountId, p.profession, p.rpps, input.displayName, p.organisation ?? null, w.blindIndex(familyNameLabel(p.familyName))]);
    }
    // Earlier links of this account stop working: only the newest one enrols.
    await w.tx.query('UPDATE enrolment SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL', [accountId, w.now]);
    const expiresAt = new Date(w.now.getTime() + ENROLMENT_TTL_HOURS * 3_600_000);
    await w.tx.query('INSERT INTO enrolment (id, account_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [randomUUID(), accountId, tokenHash(app.keys, token), w.now, expiresAt]);
    w.record({ action: existing ? 'account.enrolment-renewed' : 'account.create', resourceType: 'Account', resourceId: accountId, subjectRef: null, purpose: 'enrolment', outcome: 'success', tenantId: input.tenantId });
    return { accountId, url: enrolmentUrl(app.config.publicUrl, token), expiresAt: expiresAt.toISOString(), renewed: existing !== null };
  });
}

export type EnrolmentState =
  | { status: 'open'; id: string; accountId: string; login: string; role: string; totpSecret: string; otpauthUri: string; expiresAt: string }
  | { status: 'used' | 'expired' | 'unknown' };

/** What an enrolment link is worth now, with what its holder needs to set up their account. */
export async function inspectEnrolment(db: Queryable, app: Pick<App, 'keys' | 'fields'>, token: string, now: Date): Promise<EnrolmentState> {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return { status: 'unknown' };
  const [row] = await db.query<{ id: string; account_id: string; expires_at: Date; used_at: Date | null; role: string; login_enc: string; totp_secret_enc: string | null; disabled_at: Date | null }>(
    `SELECT e.id, e.account_id, e.expires_at, e.used_at, a.role, a.login_enc, a.totp_secret_enc, a.disabled_at FROM enrolment e JOIN account a ON a.id = e.account_id WHERE e.token_hash = $1`,
    [tokenHash(app.keys, token)]);
  if (!row || row.disabled_at || !row.totp_secret_enc) return { status: 'unknown' };
  if (row.used_at) return { status: 'used' };
  if (new Date(row.expires_at) <= now) return { status: 'expired' };
  const login = app.fields.decrypt(`account.login:${row.account_id}`, row.login_enc);
  const totpSecret = app.fields.decrypt(`account.totp:${row.account_id}`, row.totp_secret_enc);
  return { status: 'open', id: row.id, accountId: row.account_id, login, role: row.role, totpSecret, otpauthUri: totpUri(totpSecret, login), expiresAt: new Date(row.expires_at).toISOString() };
}

/**
 * Enrols: the password chosen, and a first code of the authenticator proving it is set up. The link
 * is spent atomically (a concurrent use answers link_used). Audited as `account.enrol`.
 */
export async function completeEnrolment(app: App, token: string, password: string, code: string, requestId: string): Promise<{ accountId: string }> {
  const state = await inspectEnrolment(app.db, app, token, new Date());
  if (state.status !== 'open') throw new AppError(state.status === 'used' ? 'link_used' : state.status === 'expired' ? 'link_expired' : 'unauthenticated');
  const problems: { path: string; code: string }[] = [];
  const pw = NewPassword.safeParse(password);
  if (!pw.success) problems.push({ path: 'password', code: pw.error.issues[0]!.message });
  else if (password.toLowerCase().includes(state.login.split('@')[0]!.toLowerCase())) problems.push({ path: 'password', code: 'contains-login' });
  const step = await checkTotp(state.totpSecret, code, 0, new Date());
  if (step === null) problems.push({ path: 'code', code: 'totp-mismatch' });
  if (problems.length > 0) throw new AppError('invalid_request', problems);
  const passwordHash = await hashPassword(password);
  const actor: Actor = { kind: 'authenticating', id: state.accountId, role: 'authenticating', tenantId: null };
  return app.uow.run(actor, requestId, async (w) => {
    const spent = await w.tx.query('UPDATE enrolment SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id', [state.id, w.now]);
    if (spent.length === 0) throw new AppError('link_used');
    await w.tx.query('UPDATE account SET password_hash = $2, totp_last_step = $3, enrolled_at = $4 WHERE id = $1', [state.accountId, passwordHash, step, w.now]);
    w.record({ action: 'account.enrol', resourceType: 'Account', resourceId: state.accountId, subjectRef: null, purpose: 'password+totp', outcome: 'success' });
    return { accountId: state.accountId };
  });
}
