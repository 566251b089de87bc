import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import formbody from '@fastify/formbody';
import { randomUUID, createHash } from 'node:crypto';
import type { Duplex, Writable } from 'node:stream';
import type { App } from '../app.ts';
import { AppError, ERRORS, type ErrorCode, type Issue } from '../errors/catalogue.ts';
import { errorMessage } from '../errors/messages.ts';
import { STATUS_CODES } from 'node:http';
import { IpPseudonymizer } from './ip-pseudonym.ts';
import { issuesFromZod, langOf, sendError, toHttpError } from './errors.ts';
import { presentedToken, requirePrincipal } from './authenticate.ts';
import type { RouteSpec } from './route.ts';
import { allRoutes } from './routes.ts';
import { hashSecret } from '../crypto/tokens.ts';
import { isUuid } from '../store/db.ts';
import { ACTIONS, type Action } from '../policy/authorize.ts';
import { assertMayTarget } from '../domain/visibility.ts';
import { AccessDenied } from '../domain/work.ts';
import type { Principal } from '../policy/principal.ts';
import { buildOpenApi } from './openapi.ts';
import { securityHeaders } from './security-headers.ts';
import { trustFunction } from '../config/trust-proxy.ts';
import { rememberSignedIn } from '../web/signed-in.ts';

export interface ServerOptions {
  /** Where JSON logs go (tests capture them to prove they hold no personal data). */
  logStream?: Writable;
}

/** Marks a JSON body that did not parse (or carried __proto__/constructor poisoning). */
const INVALID_JSON = Symbol('invalid-json');

/** Bodies are small JSON documents; nothing legitimate comes near this. */
const BODY_LIMIT = 64 * 1024;

export async function buildServer(app: App, options: ServerOptions = {}): Promise<FastifyInstance> {
  const ips = new IpPseudonymizer();
  const { config } = app;
  const security = securityHeaders({ secureCookies: config.secureCookies });
  const requestTimeout = Math.round(config.requestTimeoutSeconds * 1000);
  const server = Fastify({
    bodyLimit: BODY_LIMIT,
    // A request must arrive whole within this (a slow or stalled body is answered 408); Node checks
    // open requests every connectionsCheckingInterval, so the 408 comes within 1.25× the timeout.
    requestTimeout,
    http: { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.max(100, Math.round(requestTimeout / 4)) },
    trustProxy: trustFunction(config.trustProxy),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    // Requests Node's HTTP parser refuses before routing answer from our catalogue too.
    clientErrorHandler: clientErrorAnswer(security),
    // Router-level failures (over-long or malformed path parameters) answer from our catalogue too.
    // They skip the request hooks: the headers every answer carries are set here.
    frameworkErrors: (error, req, reply) => {
      reply.headers(security).header('x-request-id', req.id).header('cache-control', 'no-store');
      return sendError(reply, req, error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'invalid_id' : 'invalid_request');
    },
    logger: {
      level: config.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
      // Only what operations need: no bodies, no query strings, no headers, no raw IPs.
      serializers: {
        req: (req) => ({ method: req.method, route: (req as unknown as FastifyRequest).routeOptions?.url ?? 'unmatched', ip: ips.pseudonym(req.ip ?? '') }),
        res: (res) => ({ statusCode: res.statusCode }),
        // Error messages can quote input values (database errors do): keep the type and frames only.
        err: (err) => ({ type: err.name, message: err.name, code: (err as { code?: string }).code, stack: (err.stack ?? '').split('\n').slice(1, 8).join('\n') }),
      },
    },
  });

  await server.register(cookie, { secret: createHash('sha256').update(app.keys.lookup).update('cookie').digest() });
  await server.register(formbody, { bodyLimit: BODY_LIMIT });
  server.addHook('onRequest', (_req, reply, done) => {
    reply.headers(security);
    done();
  });
  await server.register(rateLimit, {
    global: true,
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per credential when one is presented (hashed, never the token itself), else per client IP.
    keyGenerator: (req) => {
      const p = presentedToken(req);
      return p ? hashSecret(p.token) : ips.pseudonym(req.ip);
    },
    errorResponseBuilder: () => new AppError('rate_limited'),
  });
  // Login steps share one budget per client, whichever of the login routes (API, forms, passkeys,
  // one-time codes) they go through: a limit per route multiplied it by the number of routes.
  const loginSteps = server.createRateLimit({ max: config.authRateLimitPerMinute, timeWindow: 60_000, keyGenerator: (req) => `login:${ips.pseudonym(req.ip)}` });
  // Credentials that turn out invalid count against the client: the general limit is per presented
  // credential, so every made-up token would otherwise bring a fresh budget of its own. Beyond this
  // budget a client's unknown credentials are answered 429; valid ones (a colleague behind the same
  // address) are never refused for it. Each unknown credential still costs its (batched) lookup.
  const badCredentials = server.createRateLimit({ max: Math.max(10, Math.floor(config.rateLimitPerMinute / 10)), timeWindow: 60_000, keyGenerator: (req) => `bad:${ips.pseudonym(req.ip)}` });
  const limits: Limits = { loginSteps, ips };

  // Malformed JSON is judged inside the route, after the target record is authorized (see below):
  // the parser marks it instead of failing the request before we know who may see what.
  const defaultJson = server.getDefaultJsonParser('error', 'error');
  server.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    defaultJson(req, body as string, (err, value) => done(null, err ? INVALID_JSON : value));
  });

  server.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Personal data must not linger in shared or browser caches.
    if (!reply.getHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  server.setErrorHandler(async (err, req, reply) => {
    const mapped = toHttpError(err);
    if (mapped.code === 'internal') req.log.error({ err }, 'unhandled error');
    else if (mapped.database) req.log.warn({ err }, 'database refused the request');
    if (mapped.code === 'unauthenticated' && presentedToken(req)) {
      const spent = await badCredentials(req);
      if (!spent.isAllowed && spent.isExceeded) {
        reply.header('retry-after', String(spent.ttlInSeconds));
        return sendError(reply, req, 'rate_limited');
      }
    }
    if (err instanceof AppError && err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
    return sendError(reply, req, mapped.code, mapped.issues, { secureCookies: config.secureCookies });
  });
  const routes = allRoutes();
  // A path that exists under other methods answers 405 with the methods it takes, not 404.
  const shapes = [...routes.map((r) => ({ url: r.url, method: r.method })), { url: '/openapi.json', method: 'GET' }]
    .map((r) => ({ method: r.method, re: new RegExp(`^${r.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}$`) }));
  server.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const methods = new Set(shapes.filter((s) => s.re.test(path)).map((s) => s.method));
    if (methods.size === 0) return sendError(reply, req, 'not_found');
    if (methods.has('GET')) methods.add('HEAD');
    reply.header('allow', [...methods].sort().join(', '));
    return sendError(reply, req, 'method_not_allowed');
  });

  for (const spec of routes) registerRoute(server, app, spec, limits);
  const openapi = buildOpenApi(routes, app.config.publicUrl);
  server.get('/openapi.json', async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(openapi));
  return server;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
interface Limits {
  loginSteps: Limiter;
  ips: IpPseudonymizer;
}

function registerRoute(server: FastifyInstance, app: App, spec: RouteSpec, limits: Limits): void {
  server.route({
    method: spec.method,
    url: spec.url,
    config: { html: spec.produces === 'text/html' },
    ...(spec.sensitive ? {
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        const state = await limits.loginSteps(req);
        if (!state.isAllowed && state.isExceeded) {
          reply.header('retry-after', String(state.ttlInSeconds));
          throw new AppError('rate_limited');
        }
      },
    } : {}),
    handler: async (req, reply) => {
      const lang = langOf(req);
      const presented = presentedToken(req);
      // Cookie-authenticated writes must come from our own pages (CSRF); bearer tokens cannot be forged cross-site.
      if (presented?.via === 'cookie' && req.method !== 'GET' && !sameOrigin(req, app.config.publicUrl)) throw new AppError('origin_mismatch');
      const principal = spec.auth === 'principal' ? await requirePrincipal(app, presented) : (undefined as never);
      if (principal && spec.produces === 'text/html') await rememberSignedIn(app, req, principal);
      const parse = <T>(schema: RouteSpec['params'], value: unknown, where: string): T => {
        if (!schema) return undefined as T;
        const r = schema.safeParse(where === 'body' ? value ?? {} : canonicalIds(value ?? {}));
        if (!r.success) throw new AppError(where === 'params' ? 'invalid_id' : 'invalid_request', issuesFromZod(r.error, where));
        // PostgreSQL text cannot hold NUL, and loose objects may nest deep: refuse both here, not as a 500.
        const unfit = unfitAt(r.data, where);
        if (unfit) throw new AppError('invalid_request', [unfit]);
        return r.data as T;
      };
      const params = parse(spec.params, req.params, 'params');
      // An API route that declares no query string takes none (but the answer's language): a
      // parameter it would silently ignore is a client's mistake, and says so.
      if (!spec.query && spec.url.startsWith('/api/')) {
        const unknown = Object.keys((req.query ?? {}) as Record<string, unknown>).find((k) => k !== 'lang');
        if (unknown !== undefined) throw new AppError('invalid_request', [{ path: 'query', code: 'unrecognized_keys' }]);
      }
      const query = parse(spec.query, req.query, 'query');
      let body: unknown;
      try {
        if (spec.body && req.body !== undefined && !spec.form && !/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new AppError('unsupported_media_type');
        if (req.body === INVALID_JSON) throw new AppError('invalid_json');
        body = parse(spec.body, req.body, 'body');
      } catch (err) {
        // Someone else's record answers 404 whatever the body: authorize the target before judging the body.
        const [param, id] = Object.entries((params ?? {}) as Record<string, string>)[0] ?? [];
        if (spec.auth === 'principal' && param && id && (ACTIONS as string[]).includes(spec.policy)) {
          await app.uow.read(principal, req.id, (w) => assertMayTarget(w, spec.policy as Action, param, id));
        }
        throw err;
      }
      // Set before the handler so that it can still choose another status (an idempotent replay answers 200).
      if (spec.successStatus) reply.status(spec.successStatus);
      let result: unknown;
      try {
        result = await spec.handler({ app, req, reply, requestId: req.id, lang, params, query, body, principal, token: presented?.token ?? null, clientRef: () => limits.ips.pseudonym(req.ip) });
      } catch (err) {
        if (spec.auth === 'principal') await auditStrayRefusal(app, req, principal, spec, err);
        throw err;
      }
      if (reply.sent) return reply;
      return result;
    },
  });
}

/**
 * Refusals are the decision point's (Work.access), which audits them. A refusal raised anywhere
 * else would leave no trace: this net records it all the same (outcome `denied`, purpose
 * `outside-decision-point`) and logs a warning, so a handler that decides on its own shows up in
 * the trail and in the logs; the route × role test fails on any such event.
 */
async function auditStrayRefusal(app: App, req: FastifyRequest, principal: Principal, spec: RouteSpec, err: unknown): Promise<void> {
  if (!(err instanceof AppError) || err instanceof AccessDenied || (err.code !== 'forbidden' && err.code !== 'not_found')) return;
  req.log.warn({ route: spec.url }, 'refusal outside the decision point');
  await app.uow.run(principal, req.id, async (w) => w.record({
    action: spec.policy, resourceType: 'Route', resourceId: null, subjectRef: null, purpose: 'outside-decision-point', outcome: 'denied',
  }));
}

/**
 * A request Node's parser refused (headers over 16 KiB, a malformed request line, conflicting
 * Content-Length and Transfer-Encoding, a timeout): our error shape with the security headers every
 * answer carries, then the connection is closed. There is no request yet, so no request id and no
 * language: English.
 */
function clientErrorAnswer(security: Record<string, string>): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  const headers = Object.entries({ ...security, 'cache-control': 'no-store' }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'invalid_request';
    const status = ERRORS[code].status;
    const body = JSON.stringify({ error: { code, message: errorMessage(code, 'en') } });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`);
  };
}

/**
 * Ids in paths and query strings, lower-cased: PostgreSQL matches a uuid whatever its case, but an
 * id is also text where it binds a ciphertext to its row (associated data) and names audited
 * resources, so one record must have one spelling from the boundary inward.
 */
function canonicalIds(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' && isUuid(v) ? v.toLowerCase() : v]));
}

/** Nesting deeper than this in accepted input is refused (our schemas nest a few levels). */
const MAX_DEPTH = 32;

/**
 * The first problem of a validated value that the database cannot take: a string holding a NUL
 * character, or nesting deeper than MAX_DEPTH (loose objects, such as WebAuthn extensions, pass
 * through the schemas). Iterative: hostile nesting must not exhaust the stack.
 */
function unfitAt(value: unknown, path: string): Issue | null {
  const stack: [unknown, string, number][] = [[value, path, 0]];
  while (stack.length > 0) {
    const [v, at, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { path: at, code: 'nul-character' };
      // A lone surrogate half is no character: stored as UTF-8 it would come back as U+FFFD.
      if (/\p{Cs}/u.test(v)) return { path: at, code: 'ill-formed-unicode' };
    } else if (typeof v === 'object' && v !== null) {
      if (depth >= MAX_DEPTH) return { path: at, code: 'too-deep' };
      for (const [k, c] of Object.entries(v)) stack.push([c, `${at}.${k}`, depth + 1]);
    }
  }
  return null;
}

/**
 * CSRF defence for cookie-authenticated writes. A real Origin must be ours; browsers send
 * `Origin: null` under strict referrer policies, so then (or with no Origin) we require the
 * `Sec-Fetch-Site: same-origin` header, which a page on another site cannot forge.
 */
function sameOrigin(req: FastifyRequest, publicUrl: string): boolean {
  const origin = req.headers.origin;
  if (origin && origin !== 'null') return origin === new URL(publicUrl).origin || origin === `http://${req.headers.host}` || origin === `https://${req.headers.host}`;
  return req.headers['sec-fetch-site'] === 'same-origin';
}
