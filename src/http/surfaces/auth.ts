import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { route } from '../route.ts';
import { SESSION_COOKIE } from '../authenticate.ts';
import { passwordLogin, totpLogin, startPatientLogin, finishPatientLogin, logout, stepUp } from '../../auth/login.ts';
import { listPasskeys, lockDown, passkeyLogin, passkeyLoginOptions, passkeyRegistrationOptions, registerPasskey, removePasskey } from '../../auth/passkeys.ts';
import { AppError } from '../../errors/catalogue.ts';
import { completeEnrolment, inspectEnrolment } from '../../domain/enrolment.ts';
import type { App } from '../../app.ts';

const Login = z.email().max(254);
const PasskeyParams = z.strictObject({ passkeyId: z.uuid() });
const EnrolmentToken = z.string().min(16).max(64).regex(/^[A-Za-z0-9_-]+$/);

/** Sets the session cookie for browsers; API clients use the token from the JSON answer. */
export function setSessionCookie(app: App, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true, secure: app.config.secureCookies, sameSite: 'strict', path: '/', signed: true,
    maxAge: app.config.sessionAbsoluteMinutes * 60,
  });
}

// WebAuthn JSON answers are validated in depth by @simplewebauthn/server; here only their outer shape and size.
const WebAuthnJson = z.looseObject({ id: z.string().max(1024), rawId: z.string().max(1024), type: z.literal('public-key'), response: z.looseObject({}) });

export const authRoutes = [
  route<undefined, undefined, { login: string; password: string }>({
    method: 'POST', url: '/api/auth/login', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'First factor for staff, professionals and the DPO: login and password. Answers a pending session that needs a second factor.',
    body: z.strictObject({ login: Login, password: z.string().min(1).max(256) }),
    async handler({ app, body, requestId, reply }) {
      const { token } = await passwordLogin(app, body.login, body.password, requestId);
      setSessionCookie(app, reply, token);
      return { status: 'second-factor-required', methods: ['totp'], token };
    },
  }),
  route<undefined, undefined, { code: string }>({
    method: 'POST', url: '/api/auth/totp', surface: 'auth', auth: 'pending', policy: 'authentication', sensitive: true,
    summary: 'Second factor: a TOTP code (RFC 6238) on the pending session. Rotates the session and answers a full one.',
    body: z.strictObject({ code: z.string().regex(/^\d{6}$/) }),
    async handler({ app, body, requestId, reply, token }) {
      if (!token) throw new AppError('unauthenticated');
      const out = await totpLogin(app, token, body.code, requestId);
      setSessionCookie(app, reply, out.token);
      return { status: 'authenticated', token: out.token };
    },
  }),
  route<undefined, undefined, { login: string; lang?: 'fr' | 'en' | undefined }>({
    method: 'POST', url: '/api/auth/patient/code', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'Patient login step 1: e-mails a one-time code. Answers the same whether or not the address is known.',
    body: z.strictObject({ login: Login, lang: z.enum(['fr', 'en']).optional() }),
    successStatus: 202,
    async handler({ app, req, body, requestId, lang, clientRef }) {
      return startPatientLogin(app, body.login, body.lang ?? lang, requestId, clientRef(), req.log);
    },
  }),
  route<undefined, undefined, { challengeId: string; code: string; birthDate: string }>({
    method: 'POST', url: '/api/auth/patient/verify', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'Patient login step 2: the one-time code plus a knowledge check (birth date).',
    body: z.strictObject({ challengeId: z.uuid().toLowerCase(), code: z.string().regex(/^\d{6}$/), birthDate: z.iso.date() }),
    async handler({ app, req, body, requestId, reply }) {
      const out = await finishPatientLogin(app, body.challengeId, body.code, body.birthDate, requestId, req.log);
      setSessionCookie(app, reply, out.token);
      return { status: 'authenticated', token: out.token };
    },
  }),
  route({
    method: 'POST', url: '/api/auth/passkey/options', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'Passkey login step 1: WebAuthn request options (discoverable credentials, user verification required).',
    async handler({ app }) {
      return passkeyLoginOptions(app);
    },
  }),
  route<undefined, undefined, { challengeId: string; response: z.infer<typeof WebAuthnJson> }>({
    method: 'POST', url: '/api/auth/passkey/verify', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'Passkey login step 2: the signed assertion. A verified passkey yields a full session.',
    body: z.strictObject({ challengeId: z.uuid().toLowerCase(), response: WebAuthnJson }),
    async handler({ app, body, requestId, reply }) {
      const out = await passkeyLogin(app, body.challengeId, body.response as never, requestId);
      setSessionCookie(app, reply, out.token);
      return { status: 'authenticated', token: out.token };
    },
  }),
  route({
    method: 'GET', url: '/api/me/passkeys', surface: 'auth', auth: 'principal', policy: 'passkey.list',
    summary: "The logged-in account's passkeys: id, when added, when last used.",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listPasskeys(w)) };
    },
  }),
  route({
    method: 'POST', url: '/api/me/passkeys/options', surface: 'auth', auth: 'principal', policy: 'passkey.manage',
    summary: 'Options to register a new passkey on the logged-in account (a second factor proved in the last 15 minutes: step_up_required otherwise).',
    async handler(ctx) {
      return passkeyRegistrationOptions(ctx.app, ctx.principal, ctx.requestId);
    },
  }),
  route<{ passkeyId: string }>({
    method: 'POST', url: '/api/me/passkeys/:passkeyId/remove', surface: 'auth', auth: 'principal', policy: 'passkey.manage',
    summary: 'Removes one passkey of the logged-in account (a recent second factor needed); the holder is told by mail.',
    params: PasskeyParams,
    async handler({ app, req, principal, requestId, params }) {
      return removePasskey(app, principal, params.passkeyId, requestId, req.log);
    },
  }),
  route({
    method: 'POST', url: '/api/me/lockdown', surface: 'auth', auth: 'principal', policy: 'passkey.manage',
    summary: 'Log out everywhere and remove passkeys: every passkey of the account is removed and every session ends, this one included (a recent second factor needed); the holder is told by mail.',
    async handler({ app, req, reply, principal, requestId }) {
      const out = await lockDown(app, principal, requestId, req.log);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return out;
    },
  }),
  route<undefined, undefined, { code: string }>({
    method: 'POST', url: '/api/auth/step-up', surface: 'auth', auth: 'principal', policy: 'session.step-up', sensitive: true,
    summary: 'Step-up: a fresh TOTP code proves the second factor again on this session, for the actions that need one proved in the last 15 minutes. Accounts without TOTP log in again instead.',
    body: z.strictObject({ code: z.string().regex(/^\d{6}$/) }),
    async handler({ app, principal, requestId, body, token }) {
      if (!token) throw new AppError('unauthenticated');
      return stepUp(app, principal, token, body.code, requestId);
    },
  }),
  route<undefined, undefined, { challengeId: string; response: z.infer<typeof WebAuthnJson> }>({
    method: 'POST', url: '/api/me/passkeys', surface: 'auth', auth: 'principal', policy: 'passkey.manage',
    summary: 'Registers a passkey from the authenticator answer (a recent second factor needed); the holder is told by mail.',
    body: z.strictObject({ challengeId: z.uuid().toLowerCase(), response: WebAuthnJson }),
    successStatus: 201,
    async handler(ctx) {
      return registerPasskey(ctx.app, ctx.principal, ctx.body.challengeId, ctx.body.response as never, ctx.requestId, ctx.req.log);
    },
  }),
  route<undefined, undefined, { token: string }>({
    method: 'POST', url: '/api/auth/enrolment', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'Enrolment, step 1: what a one-time enrolment link (from `saufconduit account create`) sets up: the login, the role, and the TOTP secret to add to an authenticator app. A used link answers 410 link_used, an expired one 410 link_expired.',
    body: z.strictObject({ token: EnrolmentToken }),
    async handler({ app, body }) {
      const state = await inspectEnrolment(app.db, app, body.token, new Date());
      if (state.status !== 'open') throw new AppError(state.status === 'used' ? 'link_used' : state.status === 'expired' ? 'link_expired' : 'unauthenticated');
      return { login: state.login, role: state.role, totpSecret: state.totpSecret, otpauthUri: state.otpauthUri, expiresAt: state.expiresAt };
    },
  }),
  route<undefined, undefined, { token: string; password: string; code: string }>({
    method: 'POST', url: '/api/auth/enrolment/complete', surface: 'auth', auth: 'none', policy: 'authentication', sensitive: true,
    summary: 'Enrolment, step 2: the password chosen (12 characters at least, not containing the login) and a first code of the authenticator. The account can then log in (password, then TOTP).',
    body: z.strictObject({ token: EnrolmentToken, password: z.string().min(1).max(256), code: z.string().regex(/^\d{6}$/) }),
    async handler({ app, body, requestId }) {
      await completeEnrolment(app, body.token, body.password, body.code, requestId);
      return { status: 'enrolled' };
    },
  }),
  route({
    method: 'POST', url: '/api/auth/logout', surface: 'auth', auth: 'pending', policy: 'authentication',
    summary: 'Logs out: ends every session of the account, on every device (a session short of its second factor: itself only).',
    async handler(ctx) {
      if (!ctx.token || !(await logout(ctx.app, ctx.token, ctx.requestId))) throw new AppError('unauthenticated');
      ctx.reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { status: 'logged-out' };
    },
  }),
  route({
    method: 'GET', url: '/api/me', surface: 'auth', auth: 'principal', policy: 'authentication',
    summary: 'Who am I: role and tenant of the current principal (no personal data).',
    async handler({ principal }) {
      return { id: principal.id, kind: principal.kind, role: principal.role, tenantId: principal.tenantId };
    },
  }),
];
