import { parseArgs, type ParseArgsConfig } from 'node:util';

/** node:util parseArgs, answering a usage error instead of throwing on unknown or missing options. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return { ok: true as const, ...parseArgs({ args: argv, options, allowPositionals, strict: true }) };
  } catch (err) {
    return { ok: false as const, error: (err as Error).message };
  }
}
