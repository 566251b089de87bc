/**
 * The stable catalogue of reasons a pass is rejected. Codes are part of the public contract (CLI
 * JSON output, browser verifier, audit records): never rename or reuse one. `docs/hcert.md` lists
 * them and `test/hcert/errors.test.ts` keeps the two in sync.
 *
 * Retired codes: none yet.
 */
export const REASON_CODES = [
  'format',
  'signature',
  'unknown-key',
  'expired',
  'not-yet-valid',
  'revoked',
  'schema',
  'key-usage',
] as const;

/** One of the stable rejection reasons. */
export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * Typed failure carrying a stable `code`. `detail` is a short machine-readable hint (e.g.
 * `zlib-output-limit`) for logs and tests; it is never shown for signature failures beyond a fixed
 * string, so a forger learns nothing about which step failed.
 */
export class HcertError extends Error {
  override readonly name = 'HcertError';
  constructor(
    readonly code: ReasonCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** Shorthand used by the parsers: every malformed-input path goes through here. */
export function formatError(detail: string): HcertError {
  return new HcertError('format', detail);
}

/**
 * Classify anything thrown while handling hostile input. Our own errors keep their code; anything
 * else (a RangeError from a typed-array view, a library bug) is a `format` failure, never an
 * unclassified crash.
 */
export function classify(err: unknown): HcertError {
  if (err instanceof HcertError) return err;
  return formatError('internal');
}
