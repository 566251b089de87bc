/**
 * The stable error catalogue of the HTTP API. Codes are part of the contract: clients switch on
 * them, docs/errors.md lists them (a test keeps the two in sync). Never reuse a retired code.
 * Retired codes: none yet.
 */
export const ERRORS = {
  invalid_request: { status: 400 },
  invalid_json: { status: 400 },
  invalid_id: { status: 400 },
  unauthenticated: { status: 401 },
  invalid_credentials: { status: 401 },
  second_factor_required: { status: 401 },
  step_up_required: { status: 401 },
  challenge_expired: { status: 400 },
  forbidden: { status: 403 },
  origin_mismatch: { status: 403 },
  not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  request_timeout: { status: 408 },
  conflict: { status: 409 },
  link_expired: { status: 410 },
  link_used: { status: 410 },
  offer_mismatch: { status: 422 },
  payload_too_large: { status: 413 },
  headers_too_large: { status: 431 },
  unsupported_media_type: { status: 415 },
  rate_limited: { status: 429 },
  too_many_attempts: { status: 429 },
  login_locked: { status: 429 },
  reissue_limit: { status: 429 },
  break_glass_limit: { status: 429 },
  internal: { status: 500 },
  unavailable: { status: 503 },
} as const satisfies Record<string, { status: number }>;

export type ErrorCode = keyof typeof ERRORS;

/** Field-level problems from validation: where, and a machine code; never the rejected value. */
export interface Issue {
  path: string;
  code: string;
}

/** A typed, expected failure. Everything else reaching the HTTP layer is an `internal` 500. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly issues: Issue[] | undefined;
  /** When the client may try again (answered as Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, issues?: Issue[], options: { retryAfterSeconds?: number } = {}) {
    super(code);
    this.name = 'AppError';
    this.code = code;
    this.issues = issues;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
}

export const notFound = () => new AppError('not_found');
