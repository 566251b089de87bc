import type { FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import type { Principal } from '../policy/principal.ts';

/**
 * Who is logged in, as every signed-in page says in its header ("Alice Durand · Pharmacie des
 * Tilleuls"): at a shared counter the person must see whose session this is and for which pharmacy
 * they act. The page leaves a marker; sendPage fills it for the request that renders it.
 */
export const SIGNED_IN_MARKER = '<!--signed-in-as-->';
const labels = new WeakMap<FastifyRequest, string>();

/** The account's own name, and its organisation's for staff: nobody else's data, so no audit event. */
export async function rememberSignedIn(app: App, req: FastifyRequest, principal: Principal): Promise<void> {
  if (principal.kind !== 'account') return;
  const [row] = await app.db.query<{ display_name_enc: string; tenant_name: string | null }>(
    'SELECT a.display_name_enc, t.name AS tenant_name FROM account a LEFT JOIN tenant t ON t.id = a.tenant_id WHERE a.id = $1', [principal.id]);
  if (!row) return;
  const name = app.fields.decrypt(`account.display_name:${principal.id}`, row.display_name_enc);
  labels.set(req, row.tenant_name ? `${name} · ${row.tenant_name}` : name);
}

export const signedInLabel = (req: FastifyRequest): string | undefined => labels.get(req);
