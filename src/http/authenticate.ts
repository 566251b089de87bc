import type { FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import type { Principal } from '../policy/principal.ts';
import { AppError } from '../errors/catalogue.ts';
import { findApiKeys, isApiKeyFormat, type ApiKeyIdentity } from '../auth/api-keys.ts';
import { findSessions, type LiveSession } from '../auth/sessions.ts';
import { BatchLoader } from '../store/batch-loader.ts';
import { sessionPolicy } from '../auth/login.ts';
import { principalOf } from '../domain/accounts.ts';
import { closedLinkError, inspectLink, registrantFor, type LinkState } from '../domain/registrations.ts';

export const SESSION_COOKIE = 'sc_session';

export interface Presented {
  token: string;
  via: 'bearer' | 'cookie';
}

/** The credential a request carries: an Authorization bearer token first, else the session cookie. */
export function presentedToken(req: FastifyRequest): Presented | null {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    const m = /^bearer ([A-Za-z0-9_-]{10,200})$/i.exec(h);
    return m ? { token: m[1]!, via: 'bearer' } : null;
  }
  const c = req.cookies?.[SESSION_COOKIE];
  if (c) {
    const unsigned = req.unsignCookie(c);
    if (unsigned.valid && unsigned.value) return { token: unsigned.value, via: 'cookie' };
  }
  return null;
}

interface Loaders {
  sessions: BatchLoader<string, LiveSession>;
  apiKeys: BatchLoader<string, ApiKeyIdentity>;
}
const loaders = new WeakMap<App, Loaders>();
function loadersFor(app: App): Loaders {
  let l = loaders.get(app);
  if (!l) {
    l = {
      sessions: new BatchLoader((tokens) => findSessions(app.db, tokens, new Date(), sessionPolicy(app))),
      apiKeys: new BatchLoader((keys) => findApiKeys(app.db, keys, new Date())),
    };
    loaders.set(app, l);
  }
  return l;
}

/** Resolves a full principal (full session or API key), or throws 401. A pending session is not enough. */
export async function requirePrincipal(app: App, p: Presented | null): Promise<Principal> {
  if (!p) throw new AppError('unauthenticated');
  if (isApiKeyFormat(p.token)) {
    // API keys are for machines: never accepted from a browser cookie.
    const key = p.via === 'bearer' ? await loadersFor(app).apiKeys.load(p.token) : undefined;
    if (!key) throw new AppError('unauthenticated');
    return { kind: 'api-key', id: key.id, role: 'api-key', tenantId: key.tenantId, scopes: key.scopes };
  }
  const session = await loadersFor(app).sessions.load(p.token);
  if (!session) throw new AppError('unauthenticated');
  if (session.stage !== 'full') throw new AppError('second_factor_required');
  const principal = principalOf({ id: session.accountId, role: session.role, tenantId: session.tenantId, patientIds: session.patientIds, secondFactorAt: session.secondFactorAt });
  if (!principal) throw new AppError('unauthenticated');
  return principal;
}

/**
 * The registrant behind a counter registration link (auth mode `link`): an open link becomes a
 * principal that may register one patient at the link's pharmacy; a used or expired one answers
 * its own 410 code, an unknown one 401.
 */
export async function linkPrincipal(app: App, token: string | undefined): Promise<{ principal: Principal; link: Extract<LinkState, { status: 'open' }> }> {
  if (!token) throw new AppError('unauthenticated');
  const link = await inspectLink(app.db, app.keys, token, new Date());
  if (link.status !== 'open') throw closedLinkError(link.status);
  return { principal: registrantFor(link), link };
}
