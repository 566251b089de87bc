import { html, type Html } from './html.ts';
import type { MessageKey, Translate } from './i18n.ts';
import { field, formErrorSummary, passkeyArea, type FieldErrors } from './layout.ts';

type FormState = { values?: Record<string, string | undefined>; errors?: FieldErrors; message?: MessageKey };

/**
 * The first step of each login, as a block: on its own page, and on the page that answers a request
 * for a page behind a login (a link in a mail, a bookmark), so that the person logs in right there
 * and then lands on the page they asked for (continuation.ts).
 */
export function staffLoginForm(t: Translate, s: FormState = {}): Html {
  const e = s.errors ?? {};
  return html`<section>
<p>${t('loginIntro')}</p>
${formErrorSummary(t, e, s.message, { login: t('email') })}
<form method="post" action="/login" novalidate>
${field(t, { name: 'login', label: t('email'), type: 'email', value: s.values?.login, error: e.login, required: true, autocomplete: 'username webauthn', autofocus: true })}
${field(t, { name: 'password', label: t('password'), type: 'password', error: e.password, required: true, autocomplete: 'current-password' })}
<div class="actions"><button type="submit">${t('next')}</button></div>
</form>
</section>
${passkeyArea(t, 'login')}`;
}

export function patientLoginForm(t: Translate, s: FormState = {}): Html {
  const e = s.errors ?? {};
  return html`<section>
<p>${t('patientLoginIntro')}</p>
${formErrorSummary(t, e, s.message, { login: t('email') })}
<form method="post" action="/patient/login" novalidate>
${field(t, { name: 'login', label: t('email'), type: 'email', value: s.values?.login, error: e.login, required: true, autocomplete: 'email webauthn', autofocus: true })}
<div class="actions"><button type="submit">${t('sendCode')}</button></div>
</form>
</section>
${passkeyArea(t, 'login')}`;
}
