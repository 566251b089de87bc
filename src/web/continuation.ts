import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Where a person was going when a page asked them to log in (a link in a mail, a bookmark, a
 * session that expired): remembered in a short-lived signed cookie, never in the URL, and used once
 * after the login that follows. Only a path of our own pages under the landing page of the role
 * that logs in is followed, so the cookie can never send anyone to another site or another space.
 */
export const NEXT_COOKIE = 'sc_next';
const NEXT_TTL_SECONDS = 15 * 60;
/** A path of ours: no scheme, no host, no `//`, no dot segments; a plain query string at most. */
const SAFE_PATH = /^\/[a-z][a-z0-9-]*(?:\/[A-Za-z0-9_-]+)*(?:\?[A-Za-z0-9=&_.%-]{0,200})?$/;
const NOT_AFTER_LOGIN = /^\/(?:patient\/)?login(?:[/?]|$)/;

export function rememberContinuation(req: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  const target = req.url;
  if (req.method !== 'GET' || target.length > 400 || !SAFE_PATH.test(target) || NOT_AFTER_LOGIN.test(target)) return;
  reply.setCookie(NEXT_COOKIE, target, { path: '/', httpOnly: true, sameSite: 'lax', secure, signed: true, maxAge: NEXT_TTL_SECONDS });
}

/** After a login that lands on `home`: the remembered page if it lies in that space, else `home`. Used once. */
export function takeContinuation(req: FastifyRequest, reply: FastifyReply, home: string): string {
  const raw = req.cookies?.[NEXT_COOKIE];
  if (!raw) return home;
  reply.clearCookie(NEXT_COOKIE, { path: '/' });
  const u = req.unsignCookie(raw);
  if (!u.valid || !u.value || !SAFE_PATH.test(u.value) || home === '/') return home;
  const inSpace = u.value === home || u.value.startsWith(`${home}/`) || u.value.startsWith(`${home}?`);
  return inSpace && !NOT_AFTER_LOGIN.test(u.value) ? u.value : home;
}
