import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodError } from 'zod';
import type { App } from '../app.ts';
import type { Lang } from '../errors/messages.ts';
import { html, raw, type Html, type Interpolation } from './html.ts';
import { SIGNED_IN_MARKER, signedInLabel } from './signed-in.ts';
import { isMessageKey, translator, type MessageKey, type Translate } from './i18n.ts';

export const LANG_COOKIE = 'lang';

/** Field name → message key of what is wrong with it. */
export type FieldErrors = Partial<Record<string, MessageKey>>;

export interface PageInput {
  lang: Lang;
  title: string;
  /** Path of this page (no query string), for the language switch link. */
  path: string;
  main: Html;
  /** Logged-in pages show the logout button. */
  signedIn?: boolean;
  /** The page's visible heading when it differs from its title (titles end up in browser history: never a person's name). */
  heading?: string;
}

/** The path of the current request without its query string (query strings never carry personal data here). */
export const pathOf = (req: FastifyRequest): string => (req.url.split('?')[0] ?? '/') || '/';

/** `?lang=` on a page also remembers the choice in a cookie, so the language switch sticks. */
export function rememberLang(app: App, reply: FastifyReply, query: { lang?: Lang | undefined } | undefined): void {
  if (query?.lang) reply.setCookie(LANG_COOKIE, query.lang, { path: '/', sameSite: 'lax', httpOnly: true, secure: app.config.secureCookies, maxAge: 365 * 86_400 });
}

export function page({ lang, title, path, main, signedIn, heading }: PageInput): Html {
  const t = translator(lang);
  const other = t('languageSwitchLang');
  // A form that failed says so in the title too: it is what a screen reader announces first.
  const failed = main.value.includes(' data-form-error');
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${failed ? t('errorTitlePrefix') : ''}${title} — ${t('siteName')}</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/site.css">
<script src="/assets/passkey.js" defer></script>
<script src="/assets/forms.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${t('skipToContent')}</a>
<header class="site">
  <a class="brand" href="/">${t('siteName')}</a>
  <nav aria-label="${t('home')}">
    <a href="${path}?lang=${other}" hreflang="${other}" lang="${other}" data-lang-switch>${t('languageSwitch')}</a>
    ${signedIn ? html`${raw(SIGNED_IN_MARKER)}<form method="post" action="/account/logout" class="inline"><button type="submit" class="link">${t('logout')}</button></form>` : ''}
  </nav>
</header>
<main id="main">
<h1>${heading ?? title}</h1>
${main}
</main>
<footer class="site"><p>${t('tagline')}</p></footer>
</body>
</html>`;
}

/**
 * Pages answer with `Referrer-Policy: same-origin` instead of the API's `no-referrer`: under
 * `no-referrer` browsers send `Origin: null` on same-origin form posts and fetches, which the
 * server's CSRF origin check (rightly) refuses. `same-origin` still sends nothing to other sites,
 * and page URLs carry no personal data.
 */
export const PAGE_REFERRER_POLICY = 'same-origin';

export function sendPage(reply: FastifyReply, body: Html, status = 200): FastifyReply {
  const who = signedInLabel(reply.request);
  const value = body.value.replace(SIGNED_IN_MARKER, who ? html`<span class="signed-in" data-signed-in-as>${who}</span>`.value : '');
  return reply.status(status).header('referrer-policy', PAGE_REFERRER_POLICY).type('text/html; charset=utf-8').send(value);
}

/** Post/redirect/get: a successful form post answers 303 to the page to show next. */
export const seeOther = (reply: FastifyReply, location: string): FastifyReply => reply.redirect(location, 303);

export interface FieldInput {
  name: string;
  label: string;
  type?: string;
  value?: string | undefined;
  error?: MessageKey | undefined;
  required?: boolean;
  autocomplete?: string;
  inputmode?: string;
  hint?: string;
  optionalLabel?: string;
  maxlength?: number;
  pattern?: string;
  /** The first field of a one-purpose form (login, code): typing can start at once. An error summary above takes precedence (it comes first). */
  autofocus?: boolean;
}

const fieldId = (name: string) => `f-${name}`;

function fieldWrapper(t: Translate, f: Pick<FieldInput, 'name' | 'label' | 'error' | 'hint' | 'optionalLabel'>, control: Html): Html {
  const id = fieldId(f.name);
  return html`<div class="field${f.error ? ' has-error' : ''}">
<label for="${id}">${f.label}${f.optionalLabel ? html` <span class="optional">(${f.optionalLabel})</span>` : ''}</label>
${f.hint ? html`<p class="hint" id="${id}-hint">${f.hint}</p>` : ''}
${control}
${f.error ? html`<p class="error" id="${id}-error" data-field-error="${f.name}">${t(f.error)}</p>` : ''}
</div>`;
}

const describedBy = (f: Pick<FieldInput, 'name' | 'error' | 'hint'>): string | null => {
  const ids = [f.hint ? `${fieldId(f.name)}-hint` : '', f.error ? `${fieldId(f.name)}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : null;
};

const attr = (name: string, value: Interpolation): Html | string => (value === undefined || value === null || value === false ? '' : value === true ? html` ${name}` : html` ${name}="${value}"`);

export function field(t: Translate, f: FieldInput): Html {
  const id = fieldId(f.name);
  const control = html`<input id="${id}" name="${f.name}" type="${f.type ?? 'text'}"${attr('value', f.value)}${attr('required', f.required ?? false)}${attr('autocomplete', f.autocomplete)}${attr('inputmode', f.inputmode)}${attr('maxlength', f.maxlength)}${attr('pattern', f.pattern)}${attr('autofocus', f.autofocus ?? false)}${attr('aria-invalid', f.error ? 'true' : undefined)}${attr('aria-describedby', describedBy(f))}>`;
  return fieldWrapper(t, f, control);
}

export function select(t: Translate, f: Omit<FieldInput, 'type'> & { options: readonly { value: string; label: string }[] }): Html {
  const id = fieldId(f.name);
  const control = html`<select id="${id}" name="${f.name}"${attr('required', f.required ?? false)}${attr('aria-invalid', f.error ? 'true' : undefined)}${attr('aria-describedby', describedBy(f))}>
${f.options.map((o) => html`<option value="${o.value}"${o.value === f.value ? html` selected` : ''}>${o.label}</option>`)}
</select>`;
  return fieldWrapper(t, f, control);
}

/**
 * The summary on top of a form that failed (GOV.UK / DSFR pattern): it takes focus when the page
 * loads (so the eyes and a screen reader start there, whatever the scroll), says what went wrong,
 * and links each problem to its field (/assets/forms.js moves focus into the field). The page's
 * title starts with "Error" (see page()). `labels` names fields whose label is not the message
 * key of the same name.
 */
export const formErrorSummary = (t: Translate, errors: FieldErrors, message?: MessageKey, labels: Partial<Record<string, string>> = {}): Html | '' => {
  const problems = Object.entries(errors).filter((e): e is [string, MessageKey] => e[1] !== undefined);
  if (!message && problems.length === 0) return '';
  const label = (name: string) => labels[name] ?? (isMessageKey(name) ? t(name) : null);
  return html`<div class="error-summary" role="alert" tabindex="-1" autofocus aria-labelledby="error-summary-title" data-form-error>
<h2 id="error-summary-title">${t('errorSummaryTitle')}</h2>
${message ? html`<p>${t(message)}</p>` : ''}
${problems.length ? html`<ul>${problems.map(([name, key]) => html`<li><a href="#${fieldId(name)}" data-error-link="${name}">${label(name) ? `${label(name)}${t('labelSeparator')}` : ''}${t(key)}</a></li>`)}</ul>` : ''}
</div>`;
};

/**
 * Turns zod issues into one message per field. `special` names the message for a field whose
 * format is specific (a social-security number, a phone number).
 */
export function fieldErrorsFromZod(error: ZodError, special: Partial<Record<string, MessageKey>> = {}): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const name = String(issue.path[0] ?? '');
    if (!name || out[name]) continue;
    switch (issue.code) {
      case 'too_big': out[name] = 'errTooLong'; break;
      case 'too_small': out[name] = 'errRequired'; break;
      case 'invalid_type': out[name] = 'errRequired'; break;
      case 'invalid_value': out[name] = 'errChoice'; break;
      default: out[name] = special[name] ?? 'errInvalid';
    }
  }
  return out;
}

/** Form values arrive as strings; blank optional fields mean "not given". */
export function cleanForm<T extends Record<string, unknown>>(body: T | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(body ?? {})) {
    if (typeof v !== 'string') continue;
    const s = v.trim();
    out[k] = s === '' ? undefined : s;
  }
  return out;
}

/** A passkey button, driven by /assets/passkey.js; hidden when the browser has no WebAuthn. */
export function passkeyArea(t: Translate, kind: 'login' | 'register'): Html {
  const status = `passkey-status-${kind}`;
  return html`<div class="card" data-passkey-area hidden>
<p>${kind === 'login' ? t('orPasskey') : t('passkeyAddIntro')}</p>
<button type="button" class="secondary" data-passkey="${kind}" data-status="${status}" data-msg-working="${t('passkeyWorking')}" data-msg-ok="${t('passkeyAdded')}" data-msg-error="${t('passkeyFailed')}" data-msg-stepup="${t('securityStepUpNeeded')}">${kind === 'login' ? t('passkeyLogin') : t('passkeyAdd')}</button>
<p id="${status}" role="status" aria-live="polite"></p>
</div>`;
}

/** One row of a cardsTable: its cells in column order, and data attributes that tests and scripts find it by. */
export interface CardRow { attrs?: Readonly<Record<string, string>>; cells: readonly Interpolation[] }

/**
 * A table that becomes a list of cards on a phone (site.css, `table.cards`): each cell carries its
 * column's name, shown above it when the header row is hidden; explicit ARIA roles keep it a table
 * for screen readers once CSS makes its parts blocks. Scrollable and focusable when it is wider than
 * the screen on a desktop.
 */
export function cardsTable(o: { name: string; labelledBy?: string; label?: string; columns: readonly string[]; rows: readonly CardRow[] }): Html {
  const region = o.labelledBy ? html`aria-labelledby="${o.labelledBy}"` : html`aria-label="${o.label ?? ''}"`;
  const attrs = (a: CardRow['attrs']) => raw(Object.entries(a ?? {}).map(([k, v]) => ` ${/^data-[a-z-]+$/.test(k) ? k : 'data-invalid'}="${html`${v}`.value}"`).join(''));
  return html`<div class="table-wrap" tabindex="0" role="region" ${region}><table data-table="${o.name}" class="cards" role="table">
<thead role="rowgroup"><tr role="row">${o.columns.map((c) => html`<th scope="col" role="columnheader">${c}</th>`)}</tr></thead>
<tbody role="rowgroup">${o.rows.map((r) => html`<tr role="row"${attrs(r.attrs)}>${r.cells.map((c, i) => html`<td role="cell" data-label="${o.columns[i] ?? ''}">${c}</td>`)}</tr>`)}</tbody>
</table></div>`;
}
