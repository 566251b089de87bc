import { readFile } from 'node:fs/promises';
import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { importDsc, publishedDscs, rotateDsc } from '../../domain/issuer-keys.ts';

const usage = 'usage: saufconduit keys list | keys rotate | keys import --cert DSC.pem --key KEY.pem\n';

/** Document signer (DSC) management: list, rotate (new demo DSC from our CSCA), import a national DSC. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(rest, { cert: { type: 'string' }, key: { type: 'string' } });
  if (!args.ok || !['list', 'rotate', 'import'].includes(sub ?? '') || (sub === 'import' && (!args.values.cert || !args.values.key))) {
    io.stderr.write(usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig());
  try {
    if (sub === 'rotate') await rotateDsc(app.db, app.fields);
    if (sub === 'import') await importDsc(app.db, app.fields, await readFile(args.values.cert!, 'utf8'), await readFile(args.values.key!, 'utf8'));
    for (const r of await publishedDscs(app.db, new Date())) {
      io.stdout.write(`${r.kid}\t${r.status}\t${new Date(r.not_before).toISOString().slice(0, 10)}..${new Date(r.not_after).toISOString().slice(0, 10)}\n`);
    }
    return EXIT_OK;
  } finally {
    await app.close();
  }
}
