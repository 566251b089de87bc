import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE, usageError } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { resolveMasterKey } from '../../app.ts';
import { deriveReportingKeys, trustedKeys } from '../../reporting/signature.ts';
import { startReceiver } from '../../reporting/receiver.ts';
import { Journal } from '../../reporting/journal.ts';

const usage = `usage: saufconduit receiver [--port N] [--host H] [--dir DIR] [--jwks FILE]
       saufconduit receiver list [--dir DIR] [--json]
       saufconduit receiver jwks

  (default)  run the demo national-reporting receiver (POST /fhir, GET /received)
             --jwks: the sender keys to trust; default: this platform's own key (same environment as serve)
  list       print what the receiver stored
  jwks       print this platform's report-signing public key (JWKS) for a receiver to trust
`;

/** `saufconduit receiver`: the bundled national-reporting receiver, for tests and the demo. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv[0] && !argv[0].startsWith('-') ? argv : ['serve', ...argv];
  const config = () => loadConfig();
  const defaultDir = () => join(resolve(config().dataDir), 'receiver');
  if (sub === 'jwks') {
    if (rest.length > 0) return usageError(io, usage);
    const keys = await deriveReportingKeys(await resolveMasterKey(config(), null));
    io.stdout.write(JSON.stringify({ keys: [keys.publicJwk] }, null, 2) + '\n');
    return EXIT_OK;
  }
  if (sub === 'list') {
    const args = parse(rest, { dir: { type: 'string' }, json: { type: 'boolean' } });
    if (!args.ok) return usageError(io, usage, args.error);
    const journal = await Journal.open(args.values.dir ?? defaultDir());
    const items = journal.entries();
    await journal.close();
    if (args.values.json) io.stdout.write(JSON.stringify({ count: items.length, items }) + '\n');
    else {
      for (const e of items) io.stdout.write(`${String(e.seq).padStart(6)}  ${e.receivedAt}  ${e.idempotencyKey}  ${e.observations.join(' ')}\n`);
      io.stdout.write(`${items.length} reports stored\n`);
    }
    return EXIT_OK;
  }
  if (sub !== 'serve') return usageError(io, usage);
  if (!config().demo) {
    // A stand-in for the national endpoint, for tests and the demo: never where real reports go.
    io.stderr.write('saufconduit receiver: the bundled receiver is for the demo and tests only; set SAUFCONDUIT_DEMO=1 to run it\n');
    return EXIT_USAGE;
  }
  const args = parse(rest, { port: { type: 'string' }, host: { type: 'string' }, dir: { type: 'string' }, jwks: { type: 'string' } });
  if (!args.ok) return usageError(io, usage, args.error);
  const port = Number(args.values.port ?? 3001);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError(io, usage, '--port must be 0-65535');
  const trusted = args.values.jwks
    ? trustedKeys(JSON.parse(await readFile(args.values.jwks, 'utf8')))
    : trustedKeys({ keys: [(await deriveReportingKeys(await resolveMasterKey(config(), null))).publicJwk] });
  const receiver = await startReceiver({ dir: args.values.dir ?? defaultDir(), trusted, port, host: args.values.host ?? '127.0.0.1' });
  io.stdout.write(`receiver listening on ${receiver.url} (${receiver.journal.entries().length} reports stored; GET /received lists them)\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await receiver.close();
  return EXIT_OK;
}
