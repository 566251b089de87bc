import { processIo, type CliIo, EXIT_USAGE } from './io.ts';

type Command = (argv: string[], io: CliIo) => Promise<number>;

// Each command loads lazily so `saufconduit verify` never pays for the server or database code.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.ts')).run,
  start: async () => (await import('./commands/start.ts')).run,
  demo: async () => (await import('./commands/demo.ts')).run,
  migrate: async () => (await import('./commands/migrate.ts')).run,
  audit: async () => (await import('./commands/audit.ts')).run,
  account: async () => (await import('./commands/account.ts')).run,
  tenant: async () => (await import('./commands/tenant.ts')).run,
  'api-key': async () => (await import('./commands/api-key.ts')).run,
  record: async () => (await import('./commands/record.ts')).run,
  verify: async () => (await import('./commands/verify.ts')).run,
  dcc: async () => (await import('./commands/dcc.ts')).run,
  keys: async () => (await import('./commands/keys.ts')).run,
  receiver: async () => (await import('./commands/receiver.ts')).run,
  retention: async () => (await import('./commands/retention.ts')).run,
};

const usage = `usage: saufconduit <command> [options]

commands:
  start                      seed the demo world if needed, then serve (what \`npm start\` runs)
  serve                      serve the platform (PGlite in $SAUFCONDUIT_DATA, or $DATABASE_URL)
  demo [--credentials FILE]  seed the demo world (idempotent) and write API credentials
  migrate                    apply database migrations
  audit verify               check the audit hash chain and signed checkpoints
  tenant create|list         the pharmacies and laboratories of a deployment
  account create --role staff|dpo --login EMAIL --name NAME [--tenant SLUG]
                             enrol a person: prints a one-time link to set a password and TOTP
  account disable LOGIN      disable an account, end all its sessions, revoke the API keys it created
  api-key list|revoke        every pharmacy's API keys (metadata); revoke one
  record unlink PATIENT_ID   take a record out of the patient space that holds (or is offered) it
  keys list|rotate|import    document signer certificates (DSC) for passes
  retention show|run [--dry-run [--at DATE]]  the retention schedule; a run now, or what one at a date would remove
  receiver [list|jwks]       the demo national-reporting receiver (verifies signatures, stores each report once)
  verify --trust FILE ...    verify an EU DCC (HC1:) pass offline
  dcc sign --key PEM --cert PEM PAYLOAD.json   issue an EU DCC pass
`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage);
    return name ? 0 : EXIT_USAGE;
  }
  const load = commands[name];
  if (!load) {
    io.stderr.write(`unknown command: ${name}\n${usage}`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(rest, io);
  } catch (err) {
    // Configuration and connection problems are the operator's to fix: a clear line, not a stack.
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`saufconduit ${name}: ${message}\n`);
    return message.startsWith('invalid configuration') ? EXIT_USAGE : 1;
  }
}
