import type { Queryable } from '../store/db.ts';
import { hashSecret, randomToken, safeEqual } from '../crypto/tokens.ts';
import { SCOPES, type Scope } from '../policy/principal.ts';

/** Key format `sck_<prefix>_<secret>`: the prefix finds the row, the secret is compared by hash. */
const FORMAT = /^sck_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyIdentity {
  id: string;
  tenantId: string;
  scopes: Scope[];
}

export async function createApiKey(db: Queryable, input: { id: string; tenantId: string; label: string; scopes: readonly Scope[]; createdBy: string | null }): Promise<string> {
  const prefix = randomToken(9);
  const secret = randomToken(32);
  await db.query(
    'INSERT INTO api_key (id, tenant_id, label, prefix, secret_hash, scopes, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [input.id, input.tenantId, input.label, prefix, hashSecret(secret), input.scopes.join(' '), input.createdBy],
  );
  return `sck_${prefix}_${secret}`;
}

export async function findApiKey(db: Queryable, presented: string): Promise<ApiKeyIdentity | null> {
  const m = FORMAT.exec(presented);
  if (!m) return null;
  const [row] = await db.query<{ id: string; tenant_id: string; secret_hash: string; scopes: string; revoked_at: Date | null }>(
    'SELECT id, tenant_id, secret_hash, scopes, revoked_at FROM api_key WHERE prefix = $1',
    [m[1]!],
  );
  if (!row || row.revoked_at || !safeEqual(row.secret_hash, hashSecret(m[2]!))) return null;
  const scopes = row.scopes.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return { id: row.id, tenantId: row.tenant_id, scopes };
}

export const isApiKeyFormat = (token: string): boolean => token.startsWith('sck_');
