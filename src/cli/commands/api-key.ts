import { randomUUID } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, usageError } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { allApiKeys, revokeKeys } from '../../domain/api-keys.ts';
import { OPERATOR } from '../../domain/work.ts';
import { isUuid } from '../../store/db.ts';

const usage = `usage: saufconduit api-key list [--tenant ID|SLUG] [--json]
       saufconduit api-key revoke ID
`;

/**
 * `api-key list|revoke`: the operator's view of every pharmacy's API keys (metadata, never a
 * secret), and a revocation that works even when nobody is left at the pharmacy to do it. Audited
 * as `api-key.revoke` by `system:operator`.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const args = parse(rest, { tenant: { type: 'string' }, json: { type: 'boolean' } });
    if (!args.ok) return usageError(io, usage, args.error);
    const app = await openApp(loadConfig(), { issuer: false });
    try {
      let tenantId: string | undefined;
      if (args.values.tenant) {
        const t = args.values.tenant;
        const [row] = await app.db.query<{ id: string }>(isUuid(t) ? 'SELECT id FROM tenant WHERE id = $1' : 'SELECT id FROM tenant WHERE slug = $1', [t]);
        if (!row) {
          io.stderr.write('no tenant has this id or slug\n');
          return EXIT_NEGATIVE;
        }
        tenantId = row.id;
      }
      const keys = await allApiKeys(app.db, new Date(), tenantId);
      if (args.values.json) io.stdout.write(JSON.stringify({ items: keys }) + '\n');
      else {
        for (const k of keys) {
          // The label is quoted as JSON: a label stored before control characters were refused cannot drive the terminal.
          io.stdout.write(`${k.id}  ${k.status.padEnd(7)}  tenant ${k.tenantId}  ${JSON.stringify(k.label).replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}  ${k.scopes.join(',')}  created ${k.createdAt.slice(0, 16)} by ${k.createdBy ?? 'operator'}  expires ${k.expiresAt.slice(0, 10)}${k.revokedReason ? `  (${k.revokedReason})` : ''}\n`);
        }
        io.stdout.write(`${keys.length} keys, ${keys.filter((k) => k.status === 'active').length} active\n`);
      }
      return EXIT_OK;
    } finally {
      await app.close();
    }
  }
  if (sub === 'revoke') {
    const [id, ...extra] = rest;
    if (!id || extra.length > 0 || !isUuid(id)) return usageError(io, usage);
    const app = await openApp(loadConfig(), { issuer: false });
    try {
      const revoked = await app.uow.run(OPERATOR, `cli-${randomUUID()}`, async (w) => {
        const [known] = await w.tx.query<{ tenant_id: string; revoked_at: Date | null }>('SELECT tenant_id, revoked_at FROM api_key WHERE id = $1', [id.toLowerCase()]);
        if (!known) return 'unknown' as const;
        const rows = await revokeKeys(w.tx, 'id = $1', [id.toLowerCase()], w.now, 'revoked', OPERATOR.id);
        if (rows.length === 0) return 'already' as const;
        w.record({ action: 'api-key.revoke', resourceType: 'ApiKey', resourceId: id.toLowerCase(), subjectRef: null, purpose: 'administration', outcome: 'success', tenantId: known.tenant_id });
        return 'revoked' as const;
      });
      if (revoked === 'unknown') {
        io.stderr.write('no API key has this id\n');
        return EXIT_NEGATIVE;
      }
      io.stdout.write(revoked === 'revoked' ? `API key ${id} revoked; it stops working at once\n` : `API key ${id} was already revoked\n`);
      return EXIT_OK;
    } finally {
      await app.close();
    }
  }
  return usageError(io, usage);
}
