import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { route } from '../../http/route.ts';
import { setSessionCookie } from '../../http/surfaces/auth.ts';
import { presentedToken, requirePrincipal, SESSION_COOKIE } from '../../http/authenticate.ts';
import { finishPatientLogin, logout, passwordLogin, sessionPolicy, startPatientLogin, totpLogin } from '../../auth/login.ts';
import { findSession } from '../../auth/sessions.ts';
import { findAccount } from '../../domain/accounts.ts';
import { AppError } from '../../errors/catalogue.ts';
import type { Lang } from '../../errors/messages.ts';
import type { App } from '../../app.ts';
import { html } from '../html.ts';
import { translator, type MessageKey } from '../i18n.ts';
import { field, fieldErrorsFromZod, formErrorSummary, cleanForm, page, passkeyArea, pathOf, rememberLang, seeOther, sendPage, type FieldErrors } from '../layout.ts';
import { FormText, PageQuery, ROLE_HOME, type SecurityNotice } from './common.ts';
import { securityNotice } from './security.ts';
import { takeContinuation } from '../continuation.ts';
import { patientLoginForm, staffLoginForm } from '../login-forms.ts';

/** The patient's pending one-time-code challenge: an opaque id in a signed, HttpOnly cookie, never in the URL. */
const CHALLENGE_COOKIE = 'sc_login_challenge';
const CHALLENGE_PATH = '/patient/login';

const LoginForm = z.strictObject({ login: FormText, password: FormText });
const TotpForm = z.strictObject({ code: FormText });
const EmailForm = z.strictObject({ login: FormText });
const CodeForm = z.strictObject({ code: FormText, birthDate: FormText });

const Email = z.email().max(254);
const Code = z.string().regex(/^\d{6}$/);
const LoginInput = z.object({ login: Email, password: z.string().min(1).max(256) });
const PatientCodeInput = z.object({ code: Code, birthDate: z.iso.date() });

type FormState = { values?: Record<string, string | undefined>; errors?: FieldErrors; message?: MessageKey };

// ——— renderers ———

function homePage(lang: Lang, path: string, notice?: SecurityNotice) {
  const t = translator(lang);
  return page({
    lang, path, title: t('homeTitle'),
    main: html`${notice ? securityNotice(t, notice) : ''}<p>${t('tagline')}</p>
<div class="choices">
<section><h2>${t('homeStaff')}</h2><p><a class="button" href="/login" data-link="staff-login">${t('homeStaffLink')}</a></p></section>
<section><h2>${t('homePatient')}</h2><p><a class="button" href="/patient/login" data-link="patient-login">${t('homePatientLink')}</a></p></section>
</div>`,
  });
}

function loginPage(lang: Lang, s: FormState = {}) {
  const t = translator(lang);
  return page({ lang, path: '/login', title: t('loginTitle'), main: staffLoginForm(t, s) });
}

function totpPage(lang: Lang, s: FormState = {}) {
  const t = translator(lang);
  const e = s.errors ?? {};
  return page({
    lang, path: '/login/totp', title: t('totpTitle'),
    main: html`<section>
<p>${t('totpIntro')}</p>
${formErrorSummary(t, e, s.message, { code: t('totpCode') })}
<form method="post" action="/login/totp" novalidate>
${field(t, { name: 'code', label: t('totpCode'), error: e.code, required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6, pattern: '[0-9]{6}', autofocus: true })}
<div class="actions"><button type="submit">${t('verify')}</button><a href="/login">${t('startAgain')}</a></div>
</form>
</section>`,
  });
}

function patientLoginPage(lang: Lang, s: FormState = {}) {
  const t = translator(lang);
  return page({ lang, path: '/patient/login', title: t('patientLoginTitle'), main: patientLoginForm(t, s) });
}

function patientCodePage(lang: Lang, s: FormState = {}) {
  const t = translator(lang);
  const e = s.errors ?? {};
  return page({
    lang, path: '/patient/login/code', title: t('patientCodeTitle'),
    main: html`<section>
<p>${t('patientCodeIntro')}</p>
${formErrorSummary(t, e, s.message, { code: t('oneTimeCode') })}
<form method="post" action="/patient/login/code" novalidate>
${field(t, { name: 'code', label: t('oneTimeCode'), error: e.code, required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6, pattern: '[0-9]{6}', autofocus: true })}
${field(t, { name: 'birthDate', label: t('birthDate'), type: 'date', value: s.values?.birthDate, error: e.birthDate, required: true, autocomplete: 'bday' })}
<div class="actions"><button type="submit">${t('verify')}</button><a href="/patient/login">${t('startAgain')}</a></div>
</form>
</section>`,
  });
}

// ——— helpers ———

async function roleHomeOf(app: App, token: string): Promise<string> {
  const session = await findSession(app.db, token, new Date(), sessionPolicy(app));
  const account = session ? await findAccount(app.db, session.accountId) : null;
  return account ? ROLE_HOME[account.role] : '/';
}

function readChallenge(req: FastifyRequest): string | null {
  const c = req.cookies?.[CHALLENGE_COOKIE];
  if (!c) return null;
  const u = req.unsignCookie(c);
  return u.valid && u.value && z.uuid().safeParse(u.value).success ? u.value : null;
}

const clearChallenge = (reply: FastifyReply) => reply.clearCookie(CHALLENGE_COOKIE, { path: CHALLENGE_PATH });

const isAppError = (e: unknown, ...codes: string[]): e is AppError => e instanceof AppError && codes.includes(e.code);

// ——— routes ———

export const authPageRoutes = [
  route<undefined, PageQuery>({
    method: 'GET', url: '/', surface: 'web', auth: 'none', policy: 'public', produces: 'text/html', query: PageQuery,
    summary: 'Home page: links to the staff and patient logins, language switch.',
    async handler({ app, req, reply, lang, query }) {
      rememberLang(app, reply, query);
      // Someone logged in (from a mail's link, a bookmark) lands in their space, not on login buttons.
      const presented = presentedToken(req);
      if (presented?.via === 'cookie' && !query.security) {
        const principal = await requirePrincipal(app, presented).catch(() => null);
        const home = principal ? ROLE_HOME[principal.role] : '/';
        // …or on the page that asked them to log in, when there was one (see continuation.ts).
        if (home !== '/') return seeOther(reply, takeContinuation(req, reply, home));
      }
      return sendPage(reply, homePage(lang, pathOf(req), query.security));
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/login', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', query: PageQuery,
    summary: 'Staff, professional and DPO login page (password, then TOTP; or a passkey).',
    async handler({ app, reply, lang, query }) {
      rememberLang(app, reply, query);
      return sendPage(reply, loginPage(lang));
    },
  }),
  route<undefined, undefined, z.infer<typeof LoginForm>>({
    method: 'POST', url: '/login', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', form: true, sensitive: true, body: LoginForm,
    summary: 'Login form, first factor: on success a pending session and a redirect to the second-factor page.',
    async handler({ app, reply, lang, body, requestId }) {
      const form = cleanForm(body);
      const parsed = LoginInput.safeParse(form);
      const values = { login: form.login };
      if (!parsed.success) return sendPage(reply, loginPage(lang, { values, errors: fieldErrorsFromZod(parsed.error, { login: 'errEmail' }) }), 400);
      try {
        const { token } = await passwordLogin(app, parsed.data.login, parsed.data.password, requestId);
        setSessionCookie(app, reply, token);
        return seeOther(reply, '/login/totp');
      } catch (e) {
        if (isAppError(e, 'invalid_credentials')) return sendPage(reply, loginPage(lang, { values, message: 'errCredentials' }), 401);
        throw e;
      }
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/login/totp', surface: 'web', auth: 'pending', policy: 'authentication', produces: 'text/html', query: PageQuery,
    summary: 'Second-factor page: the TOTP code form.',
    async handler({ app, reply, lang, query }) {
      rememberLang(app, reply, query);
      return sendPage(reply, totpPage(lang));
    },
  }),
  route<undefined, undefined, z.infer<typeof TotpForm>>({
    method: 'POST', url: '/login/totp', surface: 'web', auth: 'pending', policy: 'authentication', produces: 'text/html', form: true, sensitive: true, body: TotpForm,
    summary: 'Second-factor form: a valid TOTP code rotates the session and redirects to the home page of the role.',
    async handler({ app, req, reply, lang, body, requestId, token }) {
      const form = cleanForm(body);
      const parsed = z.object({ code: Code }).safeParse(form);
      if (!parsed.success) return sendPage(reply, totpPage(lang, { errors: { code: 'errCode' } }), 400);
      if (!token) return sendPage(reply, loginPage(lang, { message: 'errSessionExpired' }), 401);
      try {
        const out = await totpLogin(app, token, parsed.data.code, requestId);
        setSessionCookie(app, reply, out.token);
        return seeOther(reply, takeContinuation(req, reply, await roleHomeOf(app, out.token)));
      } catch (e) {
        if (isAppError(e, 'unauthenticated')) return sendPage(reply, loginPage(lang, { message: 'errSessionExpired' }), 401);
        if (isAppError(e, 'invalid_credentials')) return sendPage(reply, totpPage(lang, { message: 'errCredentials' }), 401);
        if (isAppError(e, 'too_many_attempts')) return sendPage(reply, totpPage(lang, { message: 'errTooManyCodes' }), 429);
        throw e;
      }
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/patient/login', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', query: PageQuery,
    summary: 'Patient login page: e-mail for a one-time code, or a passkey.',
    async handler({ app, reply, lang, query }) {
      rememberLang(app, reply, query);
      return sendPage(reply, patientLoginPage(lang));
    },
  }),
  route<undefined, undefined, z.infer<typeof EmailForm>>({
    method: 'POST', url: '/patient/login', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', form: true, sensitive: true, body: EmailForm,
    summary: 'Patient login step 1: e-mails a one-time code (same answer whether or not the address is known).',
    async handler({ app, req, reply, lang, body, requestId, clientRef }) {
      const form = cleanForm(body);
      const parsed = z.object({ login: Email }).safeParse(form);
      if (!parsed.success) return sendPage(reply, patientLoginPage(lang, { values: { login: form.login }, errors: { login: form.login ? 'errEmail' : 'errRequired' } }), 400);
      const { challengeId } = await startPatientLogin(app, parsed.data.login, lang, requestId, clientRef(), req.log);
      reply.setCookie(CHALLENGE_COOKIE, challengeId, { path: CHALLENGE_PATH, httpOnly: true, sameSite: 'strict', secure: app.config.secureCookies, signed: true, maxAge: 600 });
      return seeOther(reply, '/patient/login/code');
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/patient/login/code', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', query: PageQuery,
    summary: 'Patient login step 2 page: the one-time code and the date of birth.',
    async handler({ app, req, reply, lang, query }) {
      rememberLang(app, reply, query);
      if (!readChallenge(req)) return seeOther(reply, '/patient/login');
      return sendPage(reply, patientCodePage(lang));
    },
  }),
  route<undefined, undefined, z.infer<typeof CodeForm>>({
    method: 'POST', url: '/patient/login/code', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', form: true, sensitive: true, body: CodeForm,
    summary: 'Patient login step 2: the one-time code plus the date of birth; on success a session and a redirect to the patient space.',
    async handler({ app, req, reply, lang, body, requestId }) {
      const form = cleanForm(body);
      const parsed = PatientCodeInput.safeParse(form);
      const values = { birthDate: form.birthDate };
      if (!parsed.success) return sendPage(reply, patientCodePage(lang, { values, errors: fieldErrorsFromZod(parsed.error, { code: 'errCode', birthDate: 'errDate' }) }), 400);
      const challengeId = readChallenge(req);
      if (!challengeId) return sendPage(reply, patientLoginPage(lang, { message: 'errExpired' }), 400);
      try {
        const out = await finishPatientLogin(app, challengeId, parsed.data.code, parsed.data.birthDate, requestId, req.log);
        clearChallenge(reply);
        setSessionCookie(app, reply, out.token);
        return seeOther(reply, takeContinuation(req, reply, '/patient'));
      } catch (e) {
        if (isAppError(e, 'invalid_credentials')) return sendPage(reply, patientCodePage(lang, { values, message: 'errCredentials' }), 401);
        if (isAppError(e, 'login_locked')) {
          if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
          return sendPage(reply, patientCodePage(lang, { values, message: 'errLoginLocked' }), 429);
        }
        if (isAppError(e, 'challenge_expired')) {
          clearChallenge(reply);
          return sendPage(reply, patientLoginPage(lang, { message: 'errExpired' }), 400);
        }
        throw e;
      }
    },
  }),
  route({
    method: 'POST', url: '/account/logout', surface: 'web', auth: 'pending', policy: 'authentication', produces: 'text/html', form: true,
    summary: 'Logout form: ends every session of the account, on every device (a session short of its second factor: itself only), then back to the home page.',
    async handler({ app, reply, requestId, token }) {
      if (token) await logout(app, token, requestId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return seeOther(reply, '/');
    },
  }),
];
