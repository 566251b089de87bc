import type { ErrorCode } from '../errors/catalogue.ts';
import type { Lang } from '../errors/messages.ts';
import { errorMessage } from '../errors/messages.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML answer for a failed page request: same code and status as the API, readable by people. */
export function renderErrorPage(code: ErrorCode, lang: Lang, requestId: string): string {
  const title = lang === 'fr' ? 'Erreur' : 'Error';
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} — Saufconduit</title><link rel="stylesheet" href="/assets/site.css"></head><body><main><h1>${title}</h1><p data-error-code="${esc(code)}">${esc(errorMessage(code, lang))}</p><p><a href="/">${lang === 'fr' ? "Retour à l'accueil" : 'Back to the home page'}</a></p><p class="muted">${esc(requestId)}</p></main></body></html>`;
}
