// `npm run bench`: every benchmark of the project, one after the other (results in bench/results/,
// summary in docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { runFoundationBench } from './foundation/run.ts';

await runFoundationBench();
const run = (script: string) => spawnSync(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname], { stdio: 'inherit' }).status ?? 1;
const verify = run('./verify/run.ts');
const verifier = run('./verifier/run.ts');
const alerts = run('./alerts/run.ts');
const search = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./search/run.ts', import.meta.url).pathname], { stdio: 'inherit' }).status ?? 1;
const retention = run('./retention/run.ts');
process.exit(verify || verifier || alerts || search || retention);
