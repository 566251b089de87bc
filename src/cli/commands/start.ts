import { join, resolve } from 'node:path';
import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { seedDemo } from '../../demo/world.ts';
import { demoLoginHelp, writeDemoPasses } from './demo.ts';
import { DEMO_BANNER, serveUntilSignal } from './serve.ts';
import { startReceiver, type Receiver } from '../../reporting/receiver.ts';
import { trustedKeys } from '../../reporting/signature.ts';

/**
 * `npm start`: migrate, seed the demo world on first start, print how to log in, serve. Without
 * SAUFCONDUIT_REPORT_URL it also runs the bundled national-reporting receiver (next port up, journal
 * in $SAUFCONDUIT_DATA/receiver) and reports to it, so the whole chain is visible on a laptop.
 */
export async function run(_argv: string[], io: CliIo): Promise<number> {
  // `npm start` is the demo: it sets the flag; run directly, the command asks for it.
  if (!loadConfig().demo) {
    io.stderr.write('saufconduit start serves the demo world: set SAUFCONDUIT_DEMO=1 (npm start does), or use saufconduit serve\n');
    return EXIT_USAGE;
  }
  // The demo's terminal is for the logins: request logs only from warnings up, unless LOG_LEVEL says otherwise.
  const app = await openApp(loadConfig(process.env.LOG_LEVEL ? {} : { logLevel: 'warn' }));
  const seeded = await seedDemo(app);
  if (seeded) {
    await writeDemoPasses(app.config.dataDir, seeded);
    io.stdout.write('first start: demo world seeded\n');
  }
  let receiver: Receiver | undefined;
  if (!app.config.reportUrl) {
    const options = { dir: join(resolve(app.config.dataDir), 'receiver'), trusted: trustedKeys({ keys: [app.reporting.publicJwk] }), host: '127.0.0.1' };
    receiver = await startReceiver({ ...options, port: app.config.port === 0 ? 0 : app.config.port + 1 })
      .catch(() => startReceiver({ ...options, port: 0 }));
  }
  const banner = DEMO_BANNER + demoLoginHelp(app.config.publicUrl, app.config.dataDir) + (receiver
    ? `\nNational reporting: the bundled demo receiver listens on ${receiver.url}; see what it received at ${receiver.url.replace(/\/fhir$/, '/received')}\n\n`
    : '\n');
  try {
    await serveUntilSignal(app, io, { banner, ...(receiver ? { reportUrl: receiver.url } : {}) });
  } finally {
    await receiver?.close();
  }
  return EXIT_OK;
}
