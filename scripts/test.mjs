// `npm test`: typechecks, starts a throwaway PostgreSQL, runs every test (each database test on PGlite and on
// PostgreSQL), stops it. A missing PostgreSQL or Chromium is a failure, never a skip.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startThrowawayPostgres } from './pg.mjs';

const chromium = process.env.SAUFCONDUIT_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`Chromium not found at ${chromium}: the browser tests need it. Install it: apt-get install -y chromium`);
  process.exit(1);
}
// The whole suite starts with the typecheck (tests run through tsx, which does not check types).
if (process.argv.length === 2) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('typecheck failed (tsc -p .)');
    process.exit(1);
  }
}
let pg;
try {
  pg = await startThrowawayPostgres({ settings: ['-c fsync=off'] });
} catch (err) {
  console.error(String(err.message ?? err));
  process.exit(1);
}
const stop = () => pg.stop();
process.on('exit', stop);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stop(); process.exit(130); });
console.log(`throwaway PostgreSQL on port ${pg.port}`);
const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, SAUFCONDUIT_TEST_PG_URL: pg.url, SAUFCONDUIT_CHROMIUM: chromium },
});
child.on('exit', (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
