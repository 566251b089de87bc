import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openDb } from '../../app.ts';
import { grantAppRole, migrate } from '../../store/migrate.ts';
import { installJobQueue } from '../../reporting/jobs.ts';

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parse(argv, { 'app-role': { type: 'string' } });
  if (!args.ok) {
    io.stderr.write(`${args.error}\nusage: saufconduit migrate [--app-role ROLE]\n`);
    return EXIT_USAGE;
  }
  const config = loadConfig();
  const db = await openDb(config);
  try {
    const applied = await migrate(db);
    io.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
    if (config.databaseUrl) {
      await installJobQueue(config.databaseUrl, config.reportTimeoutSeconds);
      io.stdout.write('job queue schema (pgboss) up to date\n');
    }
    const role = args.values['app-role'];
    if (role) {
      await grantAppRole(db, role);
      io.stdout.write(`granted application privileges to ${role} (audit tables: SELECT, INSERT only; job queue: data only)\n`);
    }
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
