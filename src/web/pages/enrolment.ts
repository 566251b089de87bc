import { z } from 'zod';
import QRCode from 'qrcode';
import type { FastifyReply } from 'fastify';
import { route } from '../../http/route.ts';
import { completeEnrolment, ENROLMENT_TTL_HOURS, inspectEnrolment, type EnrolmentState } from '../../domain/enrolment.ts';
import { AppError } from '../../errors/catalogue.ts';
import type { Lang } from '../../errors/messages.ts';
import { html, type Html } from '../html.ts';
import { formatDateTime, translator, type MessageKey } from '../i18n.ts';
import { cleanForm, field, formErrorSummary, page, rememberLang, sendPage, type FieldErrors } from '../layout.ts';
import { FormText, PageQuery } from './common.ts';

const TokenParams = z.strictObject({ token: z.string().min(1).max(128) });
const EnrolForm = z.strictObject({ password: FormText, confirm: FormText, code: FormText });
type Open = Extract<EnrolmentState, { status: 'open' }>;

/** Pages behind an enrolment link are personal: never cached. */
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

async function enrolPage(lang: Lang, token: string, s: Open, errors: FieldErrors = {}): Promise<Html> {
  const t = translator(lang);
  const qr = await QRCode.toDataURL(s.otpauthUri, { errorCorrectionLevel: 'M', margin: 4, scale: 6 });
  return page({
    lang, path: `/enrol/${token}`, title: t('enrolTitle'),
    main: html`<p>${t('enrolIntro', { login: s.login })}</p>
<p class="muted">${t('enrolExpires', { time: formatDateTime(s.expiresAt, lang) })}</p>
${formErrorSummary(t, errors, undefined, { confirm: t('enrolConfirm'), code: t('totpCode') })}
<section aria-labelledby="totp-h">
<h2 id="totp-h">${t('enrolTotpTitle')}</h2>
<p>${t('enrolTotpIntro')}</p>
<p><img src="${qr}" alt="${t('enrolTotpQrAlt')}" width="240" height="240" data-enrol-qr></p>
<p>${t('enrolTotpSecret')} <code data-totp-secret>${s.totpSecret}</code></p>
</section>
<form method="post" action="/enrol/${token}" novalidate data-form="enrolment">
${field(t, { name: 'password', label: t('enrolPassword'), type: 'password', error: errors.password, required: true, autocomplete: 'new-password', hint: t('enrolPasswordHint') })}
${field(t, { name: 'confirm', label: t('enrolConfirm'), type: 'password', error: errors.confirm, required: true, autocomplete: 'new-password' })}
${field(t, { name: 'code', label: t('totpCode'), error: errors.code, required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6, pattern: '[0-9]{6}' })}
<div class="actions"><button type="submit">${t('enrolSubmit')}</button></div>
</form>`,
  });
}

function closedPage(lang: Lang, token: string, status: 'used' | 'expired' | 'unknown'): Html {
  const t = translator(lang);
  return page({
    lang, path: `/enrol/${token}`, title: t('enrolClosedTitle'),
    main: html`<div class="card" data-enrolment-closed="${status}"><p>${t(status === 'used' ? 'enrolUsed' : status === 'expired' ? 'enrolExpired' : 'enrolUnknown', { hours: ENROLMENT_TTL_HOURS })}</p></div>
<p><a href="/login">${t('homeStaffLink')}</a></p>`,
  });
}

function donePage(lang: Lang, token: string): Html {
  const t = translator(lang);
  return page({
    lang, path: `/enrol/${token}`, title: t('enrolDoneTitle'),
    main: html`<p role="status" class="notice" data-enrolled>${t('enrolDone')}</p>
<p><a class="button" href="/login">${t('homeStaffLink')}</a></p>`,
  });
}

const closedStatus = (status: 'used' | 'expired' | 'unknown') => (status === 'unknown' ? 404 : 410);

/** Why a field was refused, in words (the domain answers codes). */
const ISSUE_TEXT: Record<string, MessageKey> = { 'too-short': 'enrolErrShort', 'too-long': 'errTooLong', 'contains-login': 'enrolErrLogin', 'totp-mismatch': 'errCode' };

export const enrolmentPageRoutes = [
  route<{ token: string }, PageQuery>({
    method: 'GET', url: '/enrol/:token', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', params: TokenParams, query: PageQuery, hidden: true,
    summary: 'Enrolment page a one-time link opens (`saufconduit account create`): set a password and the authenticator app.',
    async handler({ app, reply, lang, params, query }) {
      rememberLang(app, reply, query);
      noStore(reply);
      const state = await inspectEnrolment(app.db, app, params.token, new Date());
      if (state.status !== 'open') return sendPage(reply, closedPage(lang, params.token, state.status), closedStatus(state.status));
      return sendPage(reply, await enrolPage(lang, params.token, state));
    },
  }),
  route<{ token: string }, undefined, z.infer<typeof EnrolForm>>({
    method: 'POST', url: '/enrol/:token', surface: 'web', auth: 'none', policy: 'authentication', produces: 'text/html', form: true, sensitive: true,
    params: TokenParams, body: EnrolForm, hidden: true,
    summary: 'Enrolment form post: the password and a first authenticator code; the account is then ready to log in.',
    async handler({ app, reply, lang, params, body, requestId }) {
      noStore(reply);
      const state = await inspectEnrolment(app.db, app, params.token, new Date());
      if (state.status !== 'open') return sendPage(reply, closedPage(lang, params.token, state.status), closedStatus(state.status));
      const form = cleanForm(body);
      const errors: FieldErrors = {};
      if (!form.password) errors.password = 'errRequired';
      if (form.password && form.confirm !== form.password) errors.confirm = 'enrolErrConfirm';
      if (!form.code || !/^\d{6}$/.test(form.code)) errors.code = 'errCode';
      if (Object.keys(errors).length > 0) return sendPage(reply, await enrolPage(lang, params.token, state, errors), 400);
      try {
        await completeEnrolment(app, params.token, form.password!, form.code!, requestId);
      } catch (e) {
        if (e instanceof AppError && e.code === 'invalid_request') {
          for (const i of e.issues ?? []) errors[i.path] = ISSUE_TEXT[i.code] ?? 'errInvalid';
          return sendPage(reply, await enrolPage(lang, params.token, state, errors), 400);
        }
        if (e instanceof AppError && (e.code === 'link_used' || e.code === 'link_expired')) return sendPage(reply, closedPage(lang, params.token, e.code === 'link_used' ? 'used' : 'expired'), 410);
        throw e;
      }
      return sendPage(reply, donePage(lang, params.token));
    },
  }),
];
