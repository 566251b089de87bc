import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { route } from '../../http/route.ts';
import { SESSION_COOKIE } from '../../http/authenticate.ts';
import { lockDown, removePasskey, type PasskeyView } from '../../auth/passkeys.ts';
import { stepUp } from '../../auth/login.ts';
import { AppError } from '../../errors/catalogue.ts';
import type { Lang } from '../../errors/messages.ts';
import type { Principal } from '../../policy/principal.ts';
import { html, type Html } from '../html.ts';
import { formatDateTime, type Translate } from '../i18n.ts';
import { cleanForm, passkeyArea, seeOther } from '../layout.ts';
import { FormText, ROLE_HOME, type SecurityNotice } from './common.ts';

/** What the security section confirms after an action (post/redirect/get: `?security=`). */
const NOTICE_TEXT = {
  'passkey-removed': 'securityPasskeyRemoved', confirmed: 'securityConfirmed', 'step-up-needed': 'securityStepUpNeeded', 'code-wrong': 'securityCodeWrong', 'locked-down': 'securityLockedDown',
} as const satisfies Record<SecurityNotice, string>;

/**
 * The "Security" section of every signed-in space: the account's passkeys with a button to remove
 * each, the button to add one, "log out everywhere and remove passkeys", and, for accounts with an
 * authenticator app, the form that proves the second factor again (step-up) for these actions.
 */
export function securitySection(t: Translate, lang: Lang, principal: Principal, passkeys: readonly PasskeyView[], notice?: SecurityNotice): Html {
  const withTotp = principal.role !== 'patient';
  return html`<section aria-labelledby="security-h" data-section="security">
<h2 id="security-h">${t('security')}</h2>
${notice ? securityNotice(t, notice) : ''}
<p class="muted">${t(withTotp ? 'securityIntro' : 'securityIntroPatient')}</p>
<h3>${t('passkeysTitle')}</h3>
${passkeys.length === 0 ? html`<p class="muted" data-empty="passkeys">${t('noPasskeys')}</p>` : html`<ul data-list="passkeys">${passkeys.map((p) => html`<li data-passkey-id="${p.id}">${t('passkeyAddedOn', { when: formatDateTime(p.createdAt, lang) })}${p.lastUsedAt ? html` — ${t('passkeyLastUsed', { when: formatDateTime(p.lastUsedAt, lang) })}` : ''}
<form method="post" action="/account/passkeys/${p.id}/remove" class="inline"><button type="submit" class="secondary" data-passkey-remove>${t('passkeyRemove')}</button></form></li>`)}</ul>`}
${passkeyArea(t, 'register')}
${withTotp ? html`<form method="post" action="/account/step-up" novalidate data-form="step-up" class="card">
<p>${t('stepUpIntro')}</p>
<div class="field"><label for="f-step-up-code">${t('totpCode')}</label><input id="f-step-up-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}" required></div>
<div class="actions"><button type="submit" class="secondary">${t('stepUpButton')}</button></div>
</form>` : ''}
<form method="post" action="/account/lockdown" data-form="lockdown" class="card">
<p>${t('lockdownIntro')}</p>
<div class="actions"><button type="submit" class="secondary" data-lockdown>${t('lockdownButton')}</button></div>
</form>
</section>`;
}

/** The confirmation (or the problem) of a security action, where it led back to. */
export const securityNotice = (t: Translate, notice: SecurityNotice): Html =>
  html`<p role="status" class="${notice === 'step-up-needed' || notice === 'code-wrong' ? 'alert' : 'notice'}" data-security-notice="${notice}">${t(NOTICE_TEXT[notice])}</p>`;

const home = (p: Principal) => ROLE_HOME[p.role];
const back = (reply: FastifyReply, p: Principal, notice: SecurityNotice) => seeOther(reply, `${home(p)}?security=${notice}`);
const isAppError = (e: unknown, code: string): e is AppError => e instanceof AppError && e.code === code;

export const securityPageRoutes = [
  route<{ passkeyId: string }>({
    method: 'POST', url: '/account/passkeys/:passkeyId/remove', surface: 'web', auth: 'principal', policy: 'passkey.manage', produces: 'text/html', form: true,
    params: z.strictObject({ passkeyId: z.uuid() }),
    summary: 'Remove-a-passkey button of the security section (a recent second factor needed): back to the space with a confirmation.',
    async handler({ app, req, reply, principal, requestId, params }) {
      try {
        await removePasskey(app, principal, params.passkeyId, requestId, req.log);
      } catch (e) {
        if (isAppError(e, 'step_up_required')) return back(reply, principal, 'step-up-needed');
        throw e;
      }
      return back(reply, principal, 'passkey-removed');
    },
  }),
  route({
    method: 'POST', url: '/account/lockdown', surface: 'web', auth: 'principal', policy: 'passkey.manage', produces: 'text/html', form: true,
    summary: 'Log out everywhere and remove passkeys (a recent second factor needed): then back to the home page, logged out.',
    async handler({ app, req, reply, principal, requestId }) {
      try {
        await lockDown(app, principal, requestId, req.log);
      } catch (e) {
        if (isAppError(e, 'step_up_required')) return back(reply, principal, 'step-up-needed');
        throw e;
      }
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return seeOther(reply, '/?security=locked-down');
    },
  }),
  route<undefined, undefined, { code?: string | undefined }>({
    method: 'POST', url: '/account/step-up', surface: 'web', auth: 'principal', policy: 'session.step-up', produces: 'text/html', form: true, sensitive: true,
    body: z.strictObject({ code: FormText }),
    summary: 'Step-up form of the security section: a fresh authenticator code; back to the space with a confirmation.',
    async handler({ app, reply, principal, requestId, body, token }) {
      const code = cleanForm(body).code ?? '';
      if (!token || !/^\d{6}$/.test(code)) return back(reply, principal, 'code-wrong');
      try {
        await stepUp(app, principal, token, code, requestId);
      } catch (e) {
        if (isAppError(e, 'invalid_credentials') || isAppError(e, 'too_many_attempts')) return back(reply, principal, 'code-wrong');
        throw e;
      }
      return back(reply, principal, 'confirmed');
    },
  }),
];
