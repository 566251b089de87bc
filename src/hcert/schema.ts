/**
 * DCC JSON schema check (schema 1.3.3, the latest and backward-compatible release), using the
 * validator precompiled by ajv into `generated/dcc-schema.js`: compiled once at build time, no
 * `eval` at run time.
 */
import { validate } from './generated/dcc-schema.js';

/** One schema finding, as reported by ajv (for diagnostics; verification only needs the boolean). */
export interface SchemaIssue {
  instancePath: string;
  message: string;
}

/** True when `dcc` satisfies the DCC schema. Pure; safe to call concurrently. */
export function validateDcc(dcc: unknown): boolean {
  return validate(dcc) as boolean;
}

/** The first schema finding for `dcc`, or `null` when it is valid. */
export function explainDcc(dcc: unknown): SchemaIssue | null {
  if (validate(dcc)) return null;
  const e = (validate as unknown as { errors?: { instancePath: string; message?: string }[] }).errors?.[0];
  return { instancePath: e?.instancePath ?? '', message: e?.message ?? 'invalid' };
}
