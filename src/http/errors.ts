import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, ERRORS, type ErrorCode, type Issue } from '../errors/catalogue.ts';
import { errorMessage, type Lang } from '../errors/messages.ts';
import { renderErrorPage } from '../web/error-page.ts';
import { rememberContinuation } from '../web/continuation.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves pages: its errors are answered as an HTML page. */
    html?: boolean;
  }
}

export const langOf = (req: FastifyRequest): Lang => {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (q === 'fr' || q === 'en') return q;
  const cookie = req.cookies?.lang;
  if (cookie === 'fr' || cookie === 'en') return cookie;
  return /^fr\b/i.test(req.headers['accept-language'] ?? '') ? 'fr' : 'en';
};

/** Fastify's own failures (body parsing, limits) mapped onto our catalogue. */
const FASTIFY: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

/**
 * Database failures that describe the moment, not a bug: another process won a race to the same
 * unique value (two processes handed the same idempotency key or new e-mail at once), a
 * serialization failure or deadlock, or a database going away. Retrying is the answer: the
 * transaction rolled back (a connection lost during COMMIT leaves it unknown, and an idempotent
 * retry then answers with what was stored).
 */
const SQLSTATE: Record<string, ErrorCode> = {
  '23505': 'conflict', // unique_violation
  '40001': 'conflict', // serialization_failure
  '40P01': 'conflict', // deadlock_detected
  '57P01': 'unavailable', // admin_shutdown
  '57P02': 'unavailable', // crash_shutdown
  '57P03': 'unavailable', // cannot_connect_now
  '53300': 'unavailable', // too_many_connections
  ECONNREFUSED: 'unavailable',
  ECONNRESET: 'unavailable',
  CONNECTION_CLOSED: 'unavailable', // postgres.js
  CONNECTION_ENDED: 'unavailable', // postgres.js
  CONNECT_TIMEOUT: 'unavailable', // postgres.js
};

export function issuesFromZod(e: ZodError, prefix: string): Issue[] {
  return e.issues.slice(0, 20).map((i) => ({ path: [prefix, ...i.path.map(String)].join('.'), code: i.code === 'custom' ? (i.message || 'custom') : i.code }));
}

/**
 * The one place where errors become HTTP answers: typed errors keep their code and status, known
 * framework errors are mapped, anything else is a 500 `internal` that reveals nothing.
 */
export function toHttpError(err: unknown): { code: ErrorCode; issues?: Issue[]; database?: true } {
  if (err instanceof AppError) return err.issues ? { code: err.code, issues: err.issues } : { code: err.code };
  const fe = err as Partial<FastifyError> & { type?: string };
  if (fe.code && FASTIFY[fe.code]) return { code: FASTIFY[fe.code]! };
  // Logged by the caller (a unique-index race is expected now and then; a stream of them is a bug).
  if (fe.code && Object.hasOwn(SQLSTATE, fe.code)) return { code: SQLSTATE[fe.code]!, database: true };
  if (fe.statusCode === 429) return { code: 'rate_limited' };
  if (fe instanceof SyntaxError || fe.type === 'entity.parse.failed') return { code: 'invalid_json' };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { code: fe.statusCode === 413 ? 'payload_too_large' : fe.statusCode === 415 ? 'unsupported_media_type' : 'invalid_request' };
  return { code: 'internal' };
}

/** Where the person came from, when it was one of our pages (a path only; never another site). */
function backTo(req: FastifyRequest): string | null {
  const referer = req.headers.referer;
  if (!referer || !req.headers.host) return null;
  try {
    const from = new URL(referer);
    const here = req.url.split('?')[0];
    return from.host === req.headers.host && from.pathname !== here && !from.pathname.startsWith('/api/') ? from.pathname : null;
  } catch {
    return null;
  }
}

export function sendError(reply: FastifyReply, req: FastifyRequest, code: ErrorCode, issues?: Issue[], opts: { secureCookies?: boolean } = {}): FastifyReply {
  if (wantsPage(req)) {
    // A page that needs a login (a mail's link, a bookmark, an expired session) is where the person
    // lands again once logged in.
    if (code === 'unauthenticated' || code === 'second_factor_required') rememberContinuation(req, reply, opts.secureCookies ?? true);
    const retry = Number(reply.getHeader('retry-after'));
    const back = backTo(req);
    const path = req.url.split('?')[0] ?? '/';
    const login = req.method !== 'GET' ? undefined : /^\/patient(?:\/|$)/.test(path) ? 'patient' : /^\/(?:pharmacy|professional|dpo|account)(?:\/|$)/.test(path) ? 'staff' : undefined;
    return reply.status(ERRORS[code].status).type('text/html; charset=utf-8').send(renderErrorPage(code, langOf(req), req.id, {
      ...(Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : {}),
      ...(back ? { back } : {}),
      ...(login ? { login } : {}),
    }));
  }
  const body: Record<string, unknown> = { code, message: errorMessage(code, langOf(req)) };
  if (issues) body.issues = issues;
  return reply.status(ERRORS[code].status).type('application/json; charset=utf-8').send({ error: body, requestId: req.id });
}

/**
 * An HTML page for the web pages' routes; and where no route matched (an unknown or malformed
 * address) outside the API, for a browser: one that asks for HTML ahead of JSON.
 */
function wantsPage(req: FastifyRequest): boolean {
  const html = req.routeOptions?.config?.html;
  if (html !== undefined) return html;
  if (req.url.startsWith('/api/') || req.url === '/openapi.json') return false;
  const accept = req.headers.accept ?? '';
  return /\btext\/html\b/.test(accept) && !/\bapplication\/json\b/.test(accept);
}
