import { z } from 'zod';
import QRCode from 'qrcode';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.ts';
import { route } from '../../http/route.ts';
import { registrationUrl } from '../../http/surfaces/registration.ts';
import {
  createRegistrationLink, displayCode, inspectLink, LinkInput, lookupRegistration, LookupInput, openCounter, registrantFor, selfRegister, SelfRegistrationInput,
  type LinkState, type NewLink,
} from '../../domain/registrations.ts';
import { AppError } from '../../errors/catalogue.ts';
import type { Lang } from '../../errors/messages.ts';
import { html, type Html } from '../html.ts';
import { formatDateTime, translator, type MessageKey } from '../i18n.ts';
import { cleanForm, field, fieldErrorsFromZod, formErrorSummary, page, rememberLang, seeOther, sendPage, type FieldErrors } from '../layout.ts';
import { FormText, PageQuery } from './common.ts';

const LinkParams = z.strictObject({ linkToken: z.string().min(1).max(128) });
type LinkParams = z.infer<typeof LinkParams>;
const CounterForm = z.strictObject({ counter: FormText });
const LookupForm = z.strictObject({ code: FormText });
const SelfRegForm = z.strictObject({
  givenName: FormText, familyName: FormText, birthDate: FormText, ssn: FormText, phone: FormText, email: FormText, address: FormText,
});

type FormState = { values?: Record<string, string | undefined>; errors?: FieldErrors; message?: MessageKey };

/** A QR code as an inline image (the CSP allows data: images), so nothing about it is fetched or cached separately. */
const qrDataUrl = (text: string) => QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 4, scale: 8 });

// ---- Staff side: show a link, find a registration by code ----------------------------------------

function counterPage(lang: Lang, s: { link?: NewLink & { url: string; qr: string }; counter?: FormState; lookup?: FormState }): Html {
  const t = translator(lang);
  const c = s.counter ?? {};
  const l = s.lookup ?? {};
  return page({
    lang, path: '/pharmacy/counter', title: t('counterTitle'), signedIn: true,
    main: html`<p><a href="/pharmacy">${t('backToList')}</a></p>
<p class="muted">${t('counterIntro')}</p>
${s.link ? html`<section aria-labelledby="qr-h" data-registration-link>
<h2 id="qr-h">${t('counterQrTitle', { counter: s.link.counter })}</h2>
<p><img src="${s.link.qr}" alt="${t('counterQrAlt')}" width="320" height="320" data-registration-qr></p>
<p class="muted"><a href="${s.link.url}" data-registration-url>${s.link.url}</a></p>
<p>${t('counterQrExpires', { time: formatDateTime(s.link.expiresAt, lang) })}</p>
</section>` : ''}
<section aria-labelledby="counter-h">
<h2 id="counter-h">${t('counterShowQr')}</h2>
${formErrorSummary(t, c.errors ?? {}, undefined, { counter: t('counterName') })}
<form method="post" action="/pharmacy/counter/links" novalidate data-form="registration-link">
${field(t, { name: 'counter', label: t('counterName'), value: c.values?.counter ?? s.link?.counter, error: c.errors?.counter, required: true, maxlength: 40, hint: t('counterNameHint') })}
<div class="actions"><button type="submit">${t('counterShowQr')}</button></div>
</form>
</section>
<section aria-labelledby="lookup-h">
<h2 id="lookup-h">${t('counterLookupTitle')}</h2>
<p class="muted">${t('counterLookupIntro')}</p>
${formErrorSummary(t, l.errors ?? {}, l.message, { code: t('registrationCode') })}
<form method="post" action="/pharmacy/counter/lookup" novalidate data-form="registration-lookup">
${field(t, { name: 'code', label: t('registrationCode'), value: l.values?.code, error: l.errors?.code, required: true, autocomplete: 'off', maxlength: 20 })}
<div class="actions"><button type="submit">${t('counterFind')}</button></div>
</form>
</section>`,
  });
}

// ---- Patient side: the form behind the QR code ---------------------------------------------------

function selfRegPage(lang: Lang, token: string, link: Extract<LinkState, { status: 'open' }>, s: FormState = {}): Html {
  const t = translator(lang);
  const e = s.errors ?? {};
  const v = s.values ?? {};
  const opt = t('optional');
  return page({
    lang, path: `/register/${token}`, title: t('selfRegTitle'),
    main: html`<p>${t('selfRegIntro', { pharmacy: link.pharmacy, counter: link.counter })}</p>
<p class="muted" data-privacy-notice>${t('selfRegPrivacy')}</p>
${formErrorSummary(t, e)}
<form method="post" action="/register/${token}" novalidate data-form="self-registration">
<div class="grid">
${field(t, { name: 'givenName', label: t('givenName'), value: v.givenName, error: e.givenName, required: true, autocomplete: 'given-name', maxlength: 100 })}
${field(t, { name: 'familyName', label: t('familyName'), value: v.familyName, error: e.familyName, required: true, autocomplete: 'family-name', maxlength: 100 })}
${field(t, { name: 'birthDate', label: t('birthDate'), type: 'date', value: v.birthDate, error: e.birthDate, required: true, autocomplete: 'bday' })}
${field(t, { name: 'email', label: t('email'), type: 'email', value: v.email, error: e.email, required: true, autocomplete: 'email', maxlength: 254, hint: t('selfRegEmailHint') })}
${field(t, { name: 'ssn', label: t('ssn'), value: v.ssn, error: e.ssn, optionalLabel: opt, autocomplete: 'off', inputmode: 'numeric', maxlength: 25, hint: t('ssnHint') })}
${field(t, { name: 'phone', label: t('phone'), type: 'tel', value: v.phone, error: e.phone, optionalLabel: opt, autocomplete: 'tel', maxlength: 20 })}
${field(t, { name: 'address', label: t('address'), value: v.address, error: e.address, optionalLabel: opt, autocomplete: 'street-address', maxlength: 300 })}
</div>
<div class="actions"><button type="submit">${t('selfRegSubmit')}</button></div>
</form>`,
  });
}

function closedLinkPage(lang: Lang, token: string, status: 'used' | 'expired' | 'unknown'): Html {
  const t = translator(lang);
  return page({
    lang, path: `/register/${token}`, title: t('linkClosedTitle'),
    main: html`<div class="card" data-link-closed="${status}">
<p>${t(status === 'used' ? 'linkUsed' : status === 'expired' ? 'linkExpired' : 'linkUnknown')}</p>
<p><strong>${t('linkClosedNext')}</strong></p>
</div>`,
  });
}

async function donePage(lang: Lang, token: string, code: string, expiresAt: string): Promise<Html> {
  const t = translator(lang);
  const shown = displayCode(code);
  return page({
    lang, path: `/register/${token}`, title: t('selfRegDoneTitle'),
    main: html`<section aria-labelledby="code-h" data-replay-as-get>
<h2 id="code-h">${t('selfRegDoneIntro')}</h2>
<p class="reg-code" data-registration-code>${shown}</p>
<p><img src="${await qrDataUrl(shown)}" alt="${t('selfRegCodeAlt')}" width="240" height="240" data-registration-code-qr></p>
<p class="muted">${t('selfRegDoneExpires', { time: formatDateTime(expiresAt, lang) })}</p>
</section>
<p>${t('selfRegDoneNext')}</p>
<p><a href="/patient/login">${t('homePatientLink')}</a></p>`,
  });
}

/** Pages behind a registration link are personal to one visit: never cached, never in history caches. */
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

/**
 * The registration code must survive a reload, the back button or a closed tab on the phone for its
 * 24 hours, without the phone keeping anything personal: the phone keeps a receipt, the code sealed
 * under the server's field key (it cannot read it), bound to this link and sent only to its page.
 * Opening the spent link again on that phone shows the code again; any other device gets "used".
 */
const RECEIPT_COOKIE = 'sc_registration';
const Receipt = z.strictObject({ code: z.string().max(20), expiresAt: z.iso.datetime() });
const receiptContext = (token: string) => `registration-receipt:${token}`;

function keepReceipt(app: App, reply: FastifyReply, token: string, code: string, expiresAt: string): void {
  const maxAge = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
  if (maxAge <= 0) return;
  reply.setCookie(RECEIPT_COOKIE, app.fields.encrypt(receiptContext(token), JSON.stringify({ code, expiresAt })), {
    path: `/register/${token}`, httpOnly: true, sameSite: 'strict', secure: app.config.secureCookies, maxAge,
  });
}

/** The code this phone was given for this link, while it is valid; null otherwise (never an error). */
function readReceipt(app: App, req: FastifyRequest, token: string): z.infer<typeof Receipt> | null {
  const sealed = req.cookies?.[RECEIPT_COOKIE];
  if (!sealed || sealed.length > 1000) return null;
  try {
    const r = Receipt.safeParse(JSON.parse(app.fields.decrypt(receiptContext(token), sealed)));
    return r.success && Date.parse(r.data.expiresAt) > Date.now() ? r.data : null;
  } catch {
    return null;
  }
}

const closedStatus = (status: 'used' | 'expired' | 'unknown') => (status === 'unknown' ? 404 : 410);

export const registrationPageRoutes = [
  route<undefined, PageQuery>({
    method: 'GET', url: '/pharmacy/counter', surface: 'web', auth: 'principal', policy: 'registration-link.create', produces: 'text/html', query: PageQuery,
    summary: 'Counter page (staff): show a self-registration QR code, find a registration by its code.',
    async handler(ctx) {
      rememberLang(ctx.app, ctx.reply, ctx.query);
      await ctx.app.uow.read(ctx.principal, ctx.requestId, (w) => openCounter(w));
      return sendPage(ctx.reply, counterPage(ctx.lang, {}));
    },
  }),
  route<undefined, undefined, z.infer<typeof CounterForm>>({
    method: 'POST', url: '/pharmacy/counter/links', surface: 'web', auth: 'principal', policy: 'registration-link.create', produces: 'text/html', form: true, body: CounterForm,
    summary: 'Creates a registration link for a counter and shows it as a QR code (staff).',
    async handler(ctx) {
      const { app, principal, requestId, lang, reply } = ctx;
      const form = cleanForm(ctx.body);
      const parsed = LinkInput.safeParse(form);
      if (!parsed.success) return sendPage(reply, counterPage(lang, { counter: { values: form, errors: fieldErrorsFromZod(parsed.error) } }), 400);
      const link = await app.uow.run(principal, requestId, (w) => createRegistrationLink(w, app.keys, parsed.data));
      const url = registrationUrl(app.config.publicUrl, link.token);
      noStore(reply);
      return sendPage(reply, counterPage(lang, { link: { ...link, url, qr: await qrDataUrl(url) } }), 201);
    },
  }),
  route<undefined, undefined, z.infer<typeof LookupForm>>({
    method: 'POST', url: '/pharmacy/counter/lookup', surface: 'web', auth: 'principal', policy: 'patient.read', produces: 'text/html', form: true, body: LookupForm,
    summary: "Opens the record behind a registration code (staff of the pharmacy the patient registered at).",
    async handler(ctx) {
      const { app, principal, requestId, lang, reply } = ctx;
      const form = cleanForm(ctx.body);
      const parsed = LookupInput.safeParse(form);
      if (!parsed.success) return sendPage(reply, counterPage(lang, { lookup: { values: form, errors: { code: 'errRegCode' } } }), 400);
      try {
        const found = await app.uow.read(principal, requestId, (w) => lookupRegistration(w, app.keys, parsed.data));
        return seeOther(reply, `/pharmacy/patients/${found.patient.id}?done=found`);
      } catch (e) {
        if (e instanceof AppError && e.code === 'not_found') return sendPage(reply, counterPage(lang, { lookup: { values: form, message: 'errCodeUnknown' } }), 404);
        throw e;
      }
    },
  }),
  route<LinkParams, PageQuery>({
    method: 'GET', url: '/register/:linkToken', surface: 'web', auth: 'link', policy: 'patient.create', produces: 'text/html', params: LinkParams, query: PageQuery, hidden: true,
    summary: 'The self-registration form a counter QR code opens on the patient phone; a used or expired link gets a clear page.',
    async handler({ app, req, lang, reply, params, query }) {
      rememberLang(app, reply, query);
      noStore(reply);
      const link = await inspectLink(app.db, app.keys, params.linkToken, new Date());
      const receipt = link.status === 'used' ? readReceipt(app, req, params.linkToken) : null;
      if (receipt) return sendPage(reply, await donePage(lang, params.linkToken, receipt.code, receipt.expiresAt));
      if (link.status !== 'open') return sendPage(reply, closedLinkPage(lang, params.linkToken, link.status), closedStatus(link.status));
      return sendPage(reply, selfRegPage(lang, params.linkToken, link));
    },
  }),
  route<LinkParams, undefined, z.infer<typeof SelfRegForm>>({
    method: 'POST', url: '/register/:linkToken', surface: 'web', auth: 'link', policy: 'patient.create', produces: 'text/html', form: true, sensitive: true,
    params: LinkParams, body: SelfRegForm, hidden: true,
    summary: 'Self-registration form post: registers the patient through the link and shows the registration code.',
    async handler({ app, req, lang, reply, params, requestId, body }) {
      noStore(reply);
      const state = await inspectLink(app.db, app.keys, params.linkToken, new Date());
      // A reload of the page that showed the code posts the form again: show the code again.
      const receipt = state.status === 'used' ? readReceipt(app, req, params.linkToken) : null;
      if (receipt) return sendPage(reply, await donePage(lang, params.linkToken, receipt.code, receipt.expiresAt));
      if (state.status !== 'open') return sendPage(reply, closedLinkPage(lang, params.linkToken, state.status), closedStatus(state.status));
      const form = cleanForm(body);
      const parsed = SelfRegistrationInput.safeParse(form);
      if (!parsed.success) {
        return sendPage(reply, selfRegPage(lang, params.linkToken, state, { values: form, errors: fieldErrorsFromZod(parsed.error, { birthDate: 'errDate', ssn: 'errSsn', phone: 'errPhone', email: 'errEmail' }) }), 400);
      }
      try {
        // The link was inspected above; selfRegister spends it atomically (a concurrent use answers link_used).
        const done = await app.uow.run(registrantFor(state), requestId, (w) => selfRegister(w, app, state.id, parsed.data));
        keepReceipt(app, reply, params.linkToken, done.code, done.expiresAt);
        return sendPage(reply, await donePage(lang, params.linkToken, done.code, done.expiresAt), 201);
      } catch (e) {
        // Used by a concurrent submission, or expired while the form was being filled.
        if (e instanceof AppError && (e.code === 'link_used' || e.code === 'link_expired')) {
          return sendPage(reply, closedLinkPage(lang, params.linkToken, e.code === 'link_used' ? 'used' : 'expired'), 410);
        }
        throw e;
      }
    },
  }),
];
