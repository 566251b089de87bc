import type { ErrorCode } from '../errors/catalogue.ts';
import type { Lang } from '../errors/messages.ts';
import { errorMessage } from '../errors/messages.ts';
import { html } from './html.ts';
import { page } from './layout.ts';
import { translator } from './i18n.ts';
import { patientLoginForm, staffLoginForm } from './login-forms.ts';

const LOGIN_CODES = new Set<ErrorCode>(['unauthenticated', 'second_factor_required', 'invalid_credentials', 'challenge_expired']);

export interface ErrorPageContext {
  /** From Retry-After: when to try again, said in words. */
  retryAfterSeconds?: number;
  /** The page the person came from (one of ours), to go back to. */
  back?: string;
  /** The login the asked-for page needs (by its space): offered right here, and the page follows it. */
  login?: 'patient' | 'staff';
}

/** "in 3 minutes" / "dans 3 minutes": rounded up, never raw seconds past a minute. */
function inWords(seconds: number, fr: boolean): string {
  if (seconds < 60) return fr ? `dans ${seconds} seconde${seconds > 1 ? 's' : ''}` : `in ${seconds} second${seconds > 1 ? 's' : ''}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return fr ? `dans ${minutes} minute${minutes > 1 ? 's' : ''}` : `in ${minutes} minute${minutes > 1 ? 's' : ''}`;
  const hours = Math.ceil(minutes / 60);
  return fr ? `dans ${hours} heures` : `in ${hours} hours`;
}

/**
 * The HTML answer for a failed page request: same code and status as the API, readable by people,
 * never a dead end: the site's header, the way back to where the person was, and when to retry.
 */
export function renderErrorPage(code: ErrorCode, lang: Lang, requestId: string, context: ErrorPageContext = {}): string {
  const fr = lang === 'fr';
  const retry = context.retryAfterSeconds;
  if (code === 'unauthenticated' && context.login) return loginHere(lang, context.login);
  const login = LOGIN_CODES.has(code)
    ? html`<p class="actions"><a class="button" href="/login">${fr ? 'Connexion professionnelle' : 'Staff login'}</a><a class="button" href="/patient/login">${fr ? 'Connexion patient' : 'Patient login'}</a></p>`
    : '';
  return page({
    lang, path: '/', title: fr ? 'Erreur' : 'Error',
    main: html`<section>
<p data-error-code="${code}">${code === 'login_locked' ? (fr ? 'Trop de codes erronés pour cette adresse : la connexion par code est suspendue. Une clé d’accès (passkey) fonctionne toujours.' : 'Too many wrong codes for this address: logging in by code is paused. A passkey still works.') : errorMessage(code, lang)}</p>
${retry ? html`<p data-retry-after="${retry}">${fr ? `Vous pourrez réessayer ${inWords(retry, true)}.` : `You can try again ${inWords(retry, false)}.`}</p>` : ''}
${login}
<p class="actions">${context.back ? html`<a href="${context.back}" data-back>${fr ? 'Revenir à la page précédente' : 'Back to the previous page'}</a>` : ''}<a href="/">${fr ? "Retour à l'accueil" : 'Back to the home page'}</a></p>
<p class="muted">${fr ? 'Référence : ' : 'Reference: '}${requestId}</p>
</section>`,
  }).value;
}

/** A page behind a login, asked for without one: its login form, then the page itself. */
function loginHere(lang: Lang, kind: 'patient' | 'staff'): string {
  const t = translator(lang);
  const other = kind === 'patient'
    ? html`<p><a href="/login" data-link="staff-login">${t('homeStaffLink')}</a></p>`
    : html`<p><a href="/patient/login" data-link="patient-login">${t('homePatientLink')}</a></p>`;
  return page({
    lang, path: kind === 'patient' ? '/patient/login' : '/login', title: t(kind === 'patient' ? 'patientLoginTitle' : 'loginTitle'),
    main: html`<p class="notice" role="status" data-error-code="unauthenticated" data-login-to-continue>${t('loginToContinue')}</p>
${kind === 'patient' ? patientLoginForm(t) : staffLoginForm(t)}
${other}`,
  }).value;
}
