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

export async function createApiKey(db: Queryable, input: { id: string; tenantId: string; label: string; scopes: readonly Scope[]; createdBy: string | null; expiresAt: Date }): Promise<string> {
  const prefix = randomToken(9);
  const secret = randomToken(32);
  await db.query(
    'INSERT INTO api_key (id, tenant_id, label, prefix, secret_hash, scopes, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [input.id, input.tenantId, input.label, prefix, hashSecret(secret), input.scopes.join(' '), input.createdBy, input.expiresAt],
  );
  return `sck_${prefix}_${secret}`;
}

/** Resolves many presented keys in one query (concurrent requests share a round trip); revoked and expired keys resolve to nothing. */
export async function findApiKeys(db: Queryable, presented: readonly string[], now: Date): Promise<Map<string, ApiKeyIdentity>> {
  const wanted = new Map<string, string>();
  for (const p of presented) {
    const m = FORMAT.exec(p);
    if (m) wanted.set(m[1]!, p);
  }
  const out = new Map<string, ApiKeyIdentity>();
  if (wanted.size === 0) return out;
  // Prefixes match [A-Za-z0-9_-]{12}: a safe array literal on both engines.
  const rows = await db.query<{ id: string; tenant_id: string; prefix: string; secret_hash: string; scopes: string; revoked_at: Date | null; expires_at: Date }>(
    'SELECT id, tenant_id, prefix, secret_hash, scopes, revoked_at, expires_at FROM api_key WHERE prefix = ANY($1::text[])',
    [`{${[...wanted.keys()].join(',')}}`],
  );
  for (const row of rows) {
    const key = wanted.get(row.prefix)!;
    const secret = FORMAT.exec(key)![2]!;
    if (row.revoked_at || new Date(row.expires_at) <= now || !safeEqual(row.secret_hash, hashSecret(secret))) continue;
    const scopes = row.scopes.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
    out.set(key, { id: row.id, tenantId: row.tenant_id, scopes });
  }
  return out;
}

export async function findApiKey(db: Queryable, presented: string, now = new Date()): Promise<ApiKeyIdentity | null> {
  return (await findApiKeys(db, [presented], now)).get(presented) ?? null;
}

export const isApiKeyFormat = (token: string): boolean => token.startsWith('sck_');
