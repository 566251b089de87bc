import { randomUUID } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { OPERATOR } from '../../domain/work.ts';
import { TenantIdentity } from '../../domain/tenant-identity.ts';

const usage = 'usage: saufconduit tenant create --name NAME --slug SLUG [--kind pharmacy|lab] [--address ADDRESS] [--siret SIRET] [--finess FINESS] [--vat-number FR…]\n       saufconduit tenant list\n';

/** `tenant create|list`: the pharmacies and laboratories of a real deployment (audited as `tenant.create` by `system:operator`). */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(rest, {
    name: { type: 'string' }, slug: { type: 'string' }, kind: { type: 'string' },
    address: { type: 'string' }, siret: { type: 'string' }, finess: { type: 'string' }, 'vat-number': { type: 'string' },
  });
  const v = args.ok ? args.values : null;
  // What its invoices will print: checked here (SIRET's Luhn key, FINESS and VAT formats), so that
  // a typo is caught by the operator rather than on a patient's invoice.
  const identity = v ? TenantIdentity.safeParse({ address: v.address, siret: v.siret, finess: v.finess, vatNumber: v['vat-number'] }) : null;
  const valid = sub === 'list' ? rest.length === 0
    : sub === 'create' && v && identity?.success && v.name?.trim() && v.name.length <= 100 && /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(v.slug ?? '') && (v.kind === undefined || v.kind === 'pharmacy' || v.kind === 'lab');
  if (!valid) {
    const wrong = identity?.error?.issues.map((i) => `--${i.path[0] === 'vatNumber' ? 'vat-number' : String(i.path[0])}: ${i.message}`) ?? [];
    io.stderr.write(wrong.length > 0 ? `${wrong.join('\n')}\n${usage}` : usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { issuer: false });
  try {
    if (sub === 'list') {
      type Listed = { id: string; slug: string; kind: string; name: string; address: string | null; siret: string | null; finess: string | null; vat_number: string | null };
      for (const t of await app.db.query<Listed>('SELECT id, slug, kind, name, address, siret, finess, vat_number FROM tenant ORDER BY slug')) {
        // What its invoices print, so an operator sees which pharmacy still lacks an identifier.
        const ids = [t.siret && `SIRET ${t.siret}`, t.finess && `FINESS ${t.finess}`, t.vat_number && `TVA ${t.vat_number}`, t.address].filter(Boolean);
        io.stdout.write(`${t.id}  ${t.slug}  ${t.kind}  ${t.name}${ids.length > 0 ? `  (${ids.join(', ')})` : ''}\n`);
      }
      return EXIT_OK;
    }
    const id = randomUUID();
    const created = await app.uow.run(OPERATOR, `cli-${randomUUID()}`, async (w) => {
      const ids = identity!.data!;
      const rows = await w.tx.query('INSERT INTO tenant (id, kind, name, slug, address, siret, finess, vat_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (slug) DO NOTHING RETURNING id',
        [id, v!.kind ?? 'pharmacy', v!.name!.trim(), v!.slug!, ids.address ?? null, ids.siret ?? null, ids.finess ?? null, ids.vatNumber ?? null]);
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
