// `npm run bench`: every benchmark of the project, one after the other (results in bench/results/,
// summary in docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { runFoundationBench } from './foundation/run.ts';

await runFoundationBench();
const verify = spawnSync(process.execPath, ['--import', 'tsx', new URL('./verify/run.ts', import.meta.url).pathname], { stdio: 'inherit' });
process.exit(verify.status ?? 1);
