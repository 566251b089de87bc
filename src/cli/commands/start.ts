import type { CliIo } from '../io.ts';
import { EXIT_OK } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { seedDemo } from '../../demo/world.ts';
import { demoLoginHelp } from './demo.ts';
import { serveUntilSignal } from './serve.ts';

/** `npm start`: migrate, seed the demo world on first start, print how to log in, serve. */
export async function run(_argv: string[], io: CliIo): Promise<number> {
  const app = await openApp(loadConfig());
  if (await seedDemo(app)) io.stdout.write('first start: demo world seeded\n');
  await serveUntilSignal(app, io, demoLoginHelp(app.config.publicUrl));
  return EXIT_OK;
}
