import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Action } from '../policy/authorize.ts';
import type { Principal } from '../policy/principal.ts';
import type { App } from '../app.ts';
import type { Lang } from '../errors/messages.ts';

/**
 * How a route authenticates its caller:
 * - `none`: public, no personal data;
 * - `pending`: a session that passed only the first factor (the second-factor step itself);
 * - `principal`: a full session or an API key;
 * - `link`: a single-use registration link (path `:linkToken` or header `X-Registration-Link`),
 *   resolved by the handler into a `registrant` principal that may only register one patient.
 */
export type AuthMode = 'none' | 'pending' | 'principal' | 'link';

/**
 * Every route says which policy governs it. `Action` routes reach personal data and call the
 * decision point with that action; `authentication` routes are the login steps; `public` routes
 * touch no personal data. There is no default: a route without one does not type-check, and a test
 * walks the registry to make sure each declared action exists in the policy table.
 */
export type RoutePolicy = Action | 'authentication' | 'public';

export interface RouteContext<P, Q, B> {
  app: App;
  req: FastifyRequest;
  reply: FastifyReply;
  requestId: string;
  lang: Lang;
  params: P;
  query: Q;
  body: B;
  /** Present for `principal` routes. */
  principal: Principal;
  /** The raw session token for `pending` routes and logout. */
  token: string | null;
  /** The client's pseudonymised IP (keyed hash, rotating key), for limits kept in the database. */
  clientRef(): string;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  surface: 'auth' | 'pharmacy' | 'patient' | 'professional' | 'dpo' | 'records' | 'public' | 'web' | 'verifier' | 'registration';
  summary: string;
  auth: AuthMode;
  policy: RoutePolicy;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Tighter rate limit (login steps). */
  sensitive?: boolean;
  /** Media type of a successful answer (JSON unless said). */
  produces?: 'application/json' | 'application/pdf' | 'text/html' | 'image/png' | 'application/jose';
  /** Accept HTML form posts as well as JSON (web pages). */
  form?: boolean;
  /** Omitted from /openapi.json (HTML pages and assets). */
  hidden?: boolean;
  successStatus?: number;
  handler(ctx: RouteContext<P, Q, B>): Promise<unknown>;
}

/** Identity function that keeps the generic types of one route together. */
export const route = <P = undefined, Q = undefined, B = undefined>(spec: RouteSpec<P, Q, B>): RouteSpec => spec as unknown as RouteSpec;
