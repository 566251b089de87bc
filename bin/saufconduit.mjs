#!/usr/bin/env node
// Entry point of the `saufconduit` command. Sources are TypeScript run through tsx, so the
// package needs no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
