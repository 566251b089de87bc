import { randomUUID } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { OPERATOR } from '../../domain/work.ts';

const usage = 'usage: saufconduit tenant create --name NAME --slug SLUG [--kind pharmacy|lab]\n       saufconduit tenant list\n';

/** `tenant create|list`: the pharmacies and laboratories of a real deployment (audited as `tenant.create` by `system:operator`). */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(rest, { name: { type: 'string' }, slug: { type: 'string' }, kind: { type: 'string' } });
  const v = args.ok ? args.values : null;
  const valid = sub === 'list' ? rest.length === 0
    : sub === 'create' && v && v.name?.trim() && v.name.length <= 100 && /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(v.slug ?? '') && (v.kind === undefined || v.kind === 'pharmacy' || v.kind === 'lab');
  if (!valid) {
    io.stderr.write(usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { issuer: false });
  try {
    if (sub === 'list') {
      for (const t of await app.db.query<{ id: string; slug: string; kind: string; name: string }>('SELECT id, slug, kind, name FROM tenant ORDER BY slug')) {
        io.stdout.write(`${t.id}  ${t.slug}  ${t.kind}  ${t.name}\n`);
      }
      return EXIT_OK;
    }
    const id = randomUUID();
    const created = await app.uow.run(OPERATOR, `cli-${randomUUID()}`, async (w) => {
      const rows = await w.tx.query('INSERT INTO tenant (id, kind, name, slug) VALUES ($1, $2, $3, $4) ON CONFLICT (slug) DO NOTHING RETURNING id', [id, v!.kind ?? 'pharmacy', v!.name!.trim(), v!.slug!]);
      if (rows.length > 0) w.record({ action: 'tenant.create', resourceType: 'Organization', resourceId: id, subjectRef: null, purpose: 'administration', outcome: 'success', tenantId: id });
      return rows.length > 0;
    });
    if (!created) {
      io.stderr.write('a tenant with this slug already exists\n');
      return EXIT_NEGATIVE;
    }
    io.stdout.write(`tenant ${id} created (${v!.kind ?? 'pharmacy'} "${v!.name!.trim()}", slug ${v!.slug}); add its staff with: saufconduit account create --role staff --tenant ${v!.slug} --login … --name …\n`);
    return EXIT_OK;
  } finally {
    await app.close();
  }
}
