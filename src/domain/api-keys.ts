import { randomUUID } from 'node:crypto';
import type { Work } from './work.ts';
import { denyUnknown, ownTenant } from './work.ts';
import { createApiKey } from '../auth/api-keys.ts';
import type { Scope } from '../policy/principal.ts';
import type { Queryable } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';

/** How long a new key lives unless its creator asks for less (days), and the most it may be given. */
export const DEFAULT_KEY_DAYS = 90;
export const MAX_KEY_DAYS = 365;

export interface ApiKeyView {
  id: string;
  label: string;
  scopes: string[];
  createdAt: string;
  /** The account that created it (null for keys made by an operator command). */
  createdBy: string | null;
  expiresAt: string;
  revokedAt: string | null;
  /** Why it was revoked: `revoked` (by staff or an operator), `creator-disabled`, `demo-credentials`. */
  revokedReason: string | null;
  status: 'active' | 'expired' | 'revoked';
}

type Row = { id: string; tenant_id: string; label: string; scopes: string; created_at: Date; created_by: string | null; expires_at: Date; revoked_at: Date | null; revoked_reason: string | null };
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
export const keyView = (r: Row, now: Date): ApiKeyView => ({
  id: r.id, label: r.label, scopes: r.scopes.split(' '), createdAt: iso(r.created_at)!, createdBy: r.created_by, expiresAt: iso(r.expires_at)!,
  revokedAt: iso(r.revoked_at), revokedReason: r.revoked_reason,
  status: r.revoked_at ? 'revoked' : new Date(r.expires_at) <= now ? 'expired' : 'active',
});

/** Who must hear of a new key: the pharmacy's enabled staff (their logins, for the notice mail). */
export interface KeyNotice {
  tenantName: string;
  label: string;
  scopes: string[];
  expiresAt: string;
  createdAt: string;
  recipients: string[];
}

/**
 * Issues an API key for the tenant's pharmacy software; the secret is shown once and only its hash
 * is kept. Staff only, with a recent second factor (the decision point's `api-key.create`); the
 * key ends after `days`. Every enabled staff member of the pharmacy is told (`notice`, mailed by
 * the caller after the commit): a key created with a stolen session does not go unseen.
 */
export async function issueApiKey(w: Work, fields: FieldCipher, label: string, scopes: readonly Scope[], days = DEFAULT_KEY_DAYS): Promise<{ key: ApiKeyView & { key: string }; notice: KeyNotice }> {
  const id = randomUUID();
  w.access('api-key.create', ownTenant(w), { resourceType: 'ApiKey', resourceId: null, subjectRef: null });
  const tenantId = w.actor.tenantId!;
  const expiresAt = new Date(w.now.getTime() + days * 86_400_000);
  const key = await createApiKey(w.tx, { id, tenantId, label, scopes, createdBy: w.actor.id, expiresAt });
  w.record({ action: 'api-key.create', resourceType: 'ApiKey', resourceId: id, subjectRef: null, purpose: 'tenant-admin', outcome: 'success' });
  const staff = await w.tx.query<{ id: string; login_enc: string }>(`SELECT id, login_enc FROM account WHERE tenant_id = $1 AND role = 'staff' AND disabled_at IS NULL`, [tenantId]);
  const [tenant] = await w.tx.query<{ name: string }>('SELECT name FROM tenant WHERE id = $1', [tenantId]);
  // Reading the staff's addresses to tell them is itself on record.
  for (const s of staff) w.record({ action: 'api-key.notice', resourceType: 'Account', resourceId: s.id, subjectRef: null, purpose: 'security', outcome: 'success' });
  const view: ApiKeyView = { id, label, scopes: [...scopes], createdAt: w.now.toISOString(), createdBy: w.actor.id, expiresAt: expiresAt.toISOString(), revokedAt: null, revokedReason: null, status: 'active' };
  return {
    key: { ...view, key },
    notice: { tenantName: tenant!.name, label, scopes: [...scopes], expiresAt: view.expiresAt, createdAt: view.createdAt, recipients: staff.map((s) => fields.decrypt(`account.login:${s.id}`, s.login_enc)) },
  };
}

export async function listApiKeys(w: Work): Promise<ApiKeyView[]> {
  w.access('api-key.manage', ownTenant(w), { resourceType: 'ApiKey', resourceId: null, subjectRef: null });
  return (await w.tx.query<Row>('SELECT * FROM api_key WHERE tenant_id = $1 ORDER BY created_at', [w.actor.tenantId])).map((r) => keyView(r, w.now));
}

export async function getApiKey(w: Work, id: string): Promise<ApiKeyView> {
  const [row] = await w.tx.query<Row>('SELECT * FROM api_key WHERE id = $1', [id]);
  const target = { resourceType: 'ApiKey', resourceId: id, subjectRef: null };
  if (!row) denyUnknown(w, 'api-key.manage', target);
  w.access('api-key.manage', { type: 'tenant', tenantId: row.tenant_id }, target);
  return keyView(row, w.now);
}

/** Revokes at once: the key stops working for the next request. */
export async function revokeApiKey(w: Work, id: string): Promise<ApiKeyView> {
  const [row] = await w.tx.query<Row>('SELECT * FROM api_key WHERE id = $1', [id]);
  const target = { resourceType: 'ApiKey', resourceId: id, subjectRef: null };
  if (!row) denyUnknown(w, 'api-key.manage', target);
  w.access('api-key.manage', { type: 'tenant', tenantId: row.tenant_id }, target);
  const [updated] = await revokeKeys(w.tx, 'id = $1', [id], w.now, 'revoked', w.actor.id);
  if (updated) w.record({ action: 'api-key.revoke', resourceType: 'ApiKey', resourceId: id, subjectRef: null, purpose: 'tenant-admin', outcome: 'success' });
  return keyView(updated ?? row, w.now);
}

/** Revokes the live keys matching `where` ($1… in `params`); answers the rows it revoked. */
export async function revokeKeys(db: Queryable, where: string, params: (string | null)[], now: Date, reason: string, by: string): Promise<Row[]> {
  const n = params.length;
  return db.query<Row>(
    `UPDATE api_key SET revoked_at = $${n + 1}, revoked_reason = $${n + 2}, revoked_by = $${n + 3} WHERE (${where}) AND revoked_at IS NULL RETURNING *`,
    [...params, now, reason, by],
  );
}

/** Every key (operators): of one tenant, or of all. */
export async function allApiKeys(db: Queryable, now: Date, tenantId?: string): Promise<(ApiKeyView & { tenantId: string })[]> {
  const rows = tenantId
    ? await db.query<Row>('SELECT * FROM api_key WHERE tenant_id = $1 ORDER BY created_at', [tenantId])
    : await db.query<Row>('SELECT * FROM api_key ORDER BY tenant_id, created_at');
  return rows.map((r) => ({ ...keyView(r, now), tenantId: r.tenant_id }));
}
