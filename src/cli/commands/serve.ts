import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp, type App } from '../../app.ts';
import { buildServer } from '../../http/server.ts';

export async function run(argv: string[], io: CliIo): Promise<number> {
  if (argv.length > 0) {
    io.stderr.write('usage: saufconduit serve   (configuration comes from the environment; see README)\n');
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig());
  await serveUntilSignal(app, io);
  return EXIT_OK;
}

/** Listens, then shuts down cleanly on SIGINT/SIGTERM: stop accepting, finish in-flight work, sign the audit head. */
export async function serveUntilSignal(app: App, io: CliIo, banner?: string): Promise<void> {
  const server = await buildServer(app);
  const address = await server.listen({ port: app.config.port, host: app.config.host });
  io.stdout.write(`${banner ?? ''}listening on ${address} (${app.db.engine})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await app.close();
}
