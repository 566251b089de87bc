import { randomUUID } from 'node:crypto';
import type { Work } from './work.ts';
import { denyUnknown, ownTenant } from './work.ts';
import { createApiKey } from '../auth/api-keys.ts';
import type { Scope } from '../policy/principal.ts';

export interface ApiKeyView {
  id: string;
  label: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

type Row = { id: string; tenant_id: string; label: string; scopes: string; created_at: Date; revoked_at: Date | null };
const view = (r: Row): ApiKeyView => ({ id: r.id, label: r.label, scopes: r.scopes.split(' '), createdAt: new Date(r.created_at).toISOString(), revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null });

/** Issues an API key for the tenant's pharmacy software; the secret is shown once and only its hash is kept. */
export async function issueApiKey(w: Work, label: string, scopes: readonly Scope[]): Promise<ApiKeyView & { key: string }> {
  const id = randomUUID();
  w.access('api-key.manage', ownTenant(w), { resourceType: 'ApiKey', resourceId: null, subjectRef: null });
  const tenantId = w.actor.tenantId!;
  const key = await createApiKey(w.tx, { id, tenantId, label, scopes, createdBy: w.actor.id });
  w.record({ action: 'api-key.create', resourceType: 'ApiKey', resourceId: id, subjectRef: null, purpose: 'tenant-admin', outcome: 'success' });
  return { id, label, scopes: [...scopes], createdAt: w.now.toISOString(), revokedAt: null, key };
}

export async function listApiKeys(w: Work): Promise<ApiKeyView[]> {
  w.access('api-key.manage', ownTenant(w), { resourceType: 'ApiKey', resourceId: null, subjectRef: null });
  return (await w.tx.query<Row>('SELECT * FROM api_key WHERE tenant_id = $1 ORDER BY created_at', [w.actor.tenantId])).map(view);
}

export async function getApiKey(w: Work, id: string): Promise<ApiKeyView> {
  const [row] = await w.tx.query<Row>('SELECT * FROM api_key WHERE id = $1', [id]);
  const target = { resourceType: 'ApiKey', resourceId: id, subjectRef: null };
  if (!row) denyUnknown(w, 'api-key.manage', target);
  w.access('api-key.manage', { type: 'tenant', tenantId: row.tenant_id }, target);
  return view(row);
}

/** Revokes at once: the key stops working for the next request. */
export async function revokeApiKey(w: Work, id: string): Promise<ApiKeyView> {
  const [row] = await w.tx.query<Row>('SELECT * FROM api_key WHERE id = $1', [id]);
  const target = { resourceType: 'ApiKey', resourceId: id, subjectRef: null };
  if (!row) denyUnknown(w, 'api-key.manage', target);
  w.access('api-key.manage', { type: 'tenant', tenantId: row.tenant_id }, target);
  const [updated] = await w.tx.query<Row>('UPDATE api_key SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *', [id, w.now]);
  return view(updated!);
}
