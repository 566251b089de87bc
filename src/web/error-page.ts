import type { ErrorCode } from '../errors/catalogue.ts';
import type { Lang } from '../errors/messages.ts';
import { errorMessage } from '../errors/messages.ts';
import { html } from './html.ts';
import { page } from './layout.ts';

const LOGIN_CODES = new Set<ErrorCode>(['unauthenticated', 'second_factor_required', 'invalid_credentials', 'challenge_expired']);

/** The HTML answer for a failed page request: same code and status as the API, readable by people. */
export function renderErrorPage(code: ErrorCode, lang: Lang, requestId: string): string {
  const fr = lang === 'fr';
  const login = LOGIN_CODES.has(code)
    ? html`<p class="actions"><a class="button" href="/login">${fr ? 'Connexion professionnelle' : 'Staff login'}</a><a class="button" href="/patient/login">${fr ? 'Connexion patient' : 'Patient login'}</a></p>`
    : '';
  return page({
    lang, path: '/', title: fr ? 'Erreur' : 'Error',
    main: html`<section>
<p data-error-code="${code}">${errorMessage(code, lang)}</p>
${login}
<p><a href="/">${fr ? "Retour à l'accueil" : 'Back to the home page'}</a></p>
<p class="muted">${fr ? 'Référence : ' : 'Reference: '}${requestId}</p>
</section>`,
  }).value;
}
