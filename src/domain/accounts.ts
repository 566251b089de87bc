import { randomUUID } from 'node:crypto';
import type { Queryable } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import type { KeyRing } from '../crypto/keys.ts';
import { keyedHash } from '../crypto/tokens.ts';
import type { Principal } from '../policy/principal.ts';

export type AccountRole = 'staff' | 'professional' | 'patient' | 'dpo';

export interface AccountRow {
  id: string;
  role: AccountRole;
  tenant_id: string | null;
  password_hash: string | null;
  totp_secret_enc: string | null;
  totp_last_step: number;
  disabled_at: Date | null;
}

/** Logins are e-mail addresses, compared case-insensitively; only a keyed hash is indexed. */
export const normaliseLogin = (login: string): string => login.trim().toLowerCase();
export const loginHash = (keys: Pick<KeyRing, 'lookup'>, login: string): string => keyedHash(keys.lookup, normaliseLogin(login));

export async function findAccountByLogin(db: Queryable, keys: Pick<KeyRing, 'lookup'>, login: string): Promise<AccountRow | null> {
  const [row] = await db.query<AccountRow>(
    'SELECT id, role, tenant_id, password_hash, totp_secret_enc, totp_last_step, disabled_at FROM account WHERE login_hash = $1',
    [loginHash(keys, login)],
  );
  return row ?? null;
}

export async function findAccount(db: Queryable, id: string): Promise<AccountRow | null> {
  const [row] = await db.query<AccountRow>('SELECT id, role, tenant_id, password_hash, totp_secret_enc, totp_last_step, disabled_at FROM account WHERE id = $1', [id]);
  return row ?? null;
}

export interface NewAccount {
  id?: string;
  role: AccountRole;
  tenantId: string | null;
  login: string;
  displayName: string;
  passwordHash: string | null;
  totpSecret: string | null;
}

export async function createAccount(db: Queryable, keys: KeyRing, fields: FieldCipher, a: NewAccount): Promise<string> {
  const id = a.id ?? randomUUID();
  await db.query(
    `INSERT INTO account (id, role, tenant_id, login_hash, login_enc, display_name_enc, password_hash, totp_secret_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [id, a.role, a.tenantId, loginHash(keys, a.login), fields.encrypt(`account.login:${id}`, normaliseLogin(a.login)),
      fields.encrypt(`account.display_name:${id}`, a.displayName), a.passwordHash,
      a.totpSecret === null ? null : fields.encrypt(`account.totp:${id}`, a.totpSecret)],
  );
  return id;
}

export const decryptTotpSecret = (fields: FieldCipher, row: AccountRow): string | null =>
  row.totp_secret_enc ? fields.decrypt(`account.totp:${row.id}`, row.totp_secret_enc) : null;

export async function accountLogin(db: Queryable, fields: FieldCipher, id: string): Promise<string | null> {
  const [row] = await db.query<{ login_enc: string }>('SELECT login_enc FROM account WHERE id = $1', [id]);
  return row ? fields.decrypt(`account.login:${id}`, row.login_enc) : null;
}

/** Builds the principal for an account, or null if the account is unknown or disabled. */
export async function principalFor(db: Queryable, accountId: string): Promise<Principal | null> {
  const row = await findAccount(db, accountId);
  if (!row || row.disabled_at) return null;
  const own = row.role === 'patient' ? (await db.query<{ id: string }>('SELECT id FROM patient WHERE account_id = $1', [row.id])).map((r) => r.id) : [];
  return principalOf({ id: row.id, role: row.role, tenantId: row.tenant_id, patientIds: own });
}

/**
 * The principal for an enabled account whose role, tenant and own patient records are known, with
 * the time its session last proved a second factor when it comes from a session.
 */
export function principalOf(a: { id: string; role: AccountRole; tenantId: string | null; patientIds: readonly string[]; secondFactorAt?: Date | null }): Principal | null {
  const fresh = a.secondFactorAt ? { secondFactorAt: a.secondFactorAt.getTime() } : {};
  switch (a.role) {
    case 'staff':
      return a.tenantId ? { kind: 'account', id: a.id, role: 'staff', tenantId: a.tenantId, ...fresh } : null;
    case 'patient':
      return { kind: 'account', id: a.id, role: 'patient', tenantId: null, patientIds: a.patientIds, ...fresh };
    case 'professional':
      return { kind: 'account', id: a.id, role: 'professional', tenantId: null, ...fresh };
    case 'dpo':
      return { kind: 'account', id: a.id, role: 'dpo', tenantId: null, ...fresh };
  }
}
