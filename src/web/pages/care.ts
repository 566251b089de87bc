import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { route, type RouteContext } from '../../http/route.ts';
import { acceptConsentCode, carePolicyFrom, createConsentCode, createRelationship, endRelationship, listRelationships, type RelationshipView } from '../../domain/care.ts';
import { BREAK_GLASS_REASONS, BreakGlassInput, breakGlassPolicyFrom, endBreakGlass, noticeAddress, openBreakGlass, reviewBreakGlass } from '../../domain/break-glass.ts';
import { isValidRpps } from '../../domain/professionals.ts';
import { listPatients, setProtected, type PatientView } from '../../domain/patients.ts';
import { decideAlert, getAlert } from '../../alerts/store.ts';
import { breakGlassMail, sendLater } from '../../notify/security-notices.ts';
import { AppError } from '../../errors/catalogue.ts';
import type { Lang } from '../../errors/messages.ts';
import type { App } from '../../app.ts';
import { html, type Html } from '../html.ts';
import { formatDateTime, translator, type MessageKey, type Translate } from '../i18n.ts';
import { cardsTable, cleanForm, field, type CardRow, formErrorSummary, page, rememberLang, select, seeOther, sendPage, type FieldErrors } from '../layout.ts';
import { FormText, PageQuery } from './common.ts';

/**
 * Pages of the professionals issue: the patient's care team (relationships, consent codes,
 * protection), the professional's code entry and emergency access, the DPO's alert and review pages.
 * Every action posts, then redirects to a page that confirms it (post/redirect/get), or re-renders
 * its form with an error summary.
 */
const CareQuery = PageQuery.extend({ done: z.enum(['created', 'ended', 'protected']).optional() });
type CareQuery = z.infer<typeof CareQuery>;
const RelationshipParams = z.strictObject({ relationshipId: z.uuid() });
const BreakGlassParams = z.strictObject({ breakGlassId: z.uuid() });
const AlertParams = z.strictObject({ alertId: z.uuid() });
const RecordParams = z.strictObject({ patientId: z.uuid() });
const ChooseForm = z.strictObject({ patientId: FormText, rpps: FormText, days: FormText });
const CodeForm = z.strictObject({ patientId: FormText });
const ProtectForm = z.strictObject({ protected: z.enum(['on', 'off']) });
const EnterCodeForm = z.strictObject({ code: FormText });
const BreakGlassForm = z.strictObject({ patientId: FormText, reason: FormText, justification: FormText });
const DecideForm = z.strictObject({ decision: z.enum(['acknowledge', 'dismiss', 'confirm']), note: FormText });
const ReviewForm = z.strictObject({ decision: z.enum(['accepted', 'rejected']), note: FormText });

type Tenants = Map<string, string>;
const tenantNames = async (tx: { query<T extends object>(sql: string): Promise<T[]> }): Promise<Tenants> =>
  new Map((await tx.query<{ id: string; name: string }>('SELECT id, name FROM tenant')).map((r) => [r.id, r.name]));

const recordLabel = (t: Translate, tenants: Tenants, p: Pick<PatientView, 'tenantId' | 'givenName'>) => `${p.givenName} — ${t('recordAt', { pharmacy: tenants.get(p.tenantId) ?? '' })}`;
const professionLabel = (t: Translate, profession: string) => t(`profession_${profession}` as MessageKey);

interface CareState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
  /** A consent code just made, to show once. */
  code?: { code: string; expiresAt: string };
}

async function showCare(ctx: RouteContext<unknown, unknown, unknown>, status: number, done: CareQuery['done'], s: CareState = {}): Promise<FastifyReply> {
  const { app, principal, requestId, lang, reply } = ctx;
  const t = translator(lang);
  const { relationships, records, tenants, protectedIds } = await app.uow.run(principal, requestId, async (w) => {
    const records = await listPatients(w);
    const ids = records.map((r) => r.id);
    const prot = ids.length === 0 ? [] : await w.tx.query<{ id: string }>(`SELECT id FROM patient WHERE protected AND id = ANY(string_to_array($1, ',')::uuid[])`, [ids.join(',')]);
    return { relationships: await listRelationships(w), records, tenants: await tenantNames(w.tx), protectedIds: new Set(prot.map((r) => r.id)) };
  });
  const byId = new Map(records.map((r) => [r.id, r]));
  const notice = done === 'created' ? relationships[0] ? t('careCreated', { name: relationships[0].professional.name, when: formatDateTime(relationships[0].until, lang) }) : null
    : done === 'ended' ? t('careEndedNotice') : done === 'protected' ? t('protectDone') : null;
  const recordOptions = records.map((r) => ({ value: r.id, label: recordLabel(t, tenants, r) }));
  const errors = s.errors ?? {};
  return sendPage(reply, page({
    lang, path: '/patient/care', title: t('careTitle'), signedIn: true,
    main: html`<p><a href="/patient">${t('myTitle')}</a></p>
${notice ? html`<p role="status" class="notice" data-care-notice="${done}">${notice}</p>` : ''}
<section aria-labelledby="team-h" data-section="care-team">
<h2 id="team-h">${t('careTitle')}</h2>
<p class="muted">${t('careIntro')}</p>
${relationships.length === 0 ? html`<p class="muted">${t('careNone')}</p>` : cardsTable({
    name: 'care', labelledBy: 'team-h', columns: [t('careProfessional'), t('careRecord'), t('careHow'), t('careFrom'), t('careUntil'), t('careStatus')],
    rows: relationships.map((r) => careRow(t, lang, tenants, byId, r)),
  })}
</section>
<section aria-labelledby="choose-h">
<h2 id="choose-h">${t('careChooseTitle')}</h2>
<form method="post" action="/patient/care" novalidate data-form="care-choose">
${formErrorSummary(t, errors, undefined, { patientId: t('careRecord'), rpps: t('careRpps'), days: t('careDays') })}
<p class="muted">${t('careChooseIntro')}</p>
${select(t, { name: 'patientId', label: t('careRecord'), value: s.values?.patientId, error: errors.patientId, options: recordOptions, required: true })}
${field(t, { name: 'rpps', label: t('careRpps'), value: s.values?.rpps, error: errors.rpps, inputmode: 'numeric', maxlength: 11, required: true })}
${field(t, { name: 'days', label: t('careDays'), value: s.values?.days, error: errors.days, inputmode: 'numeric', maxlength: 4, hint: t('careDaysHint', { days: app.config.careDefaultDays, max: app.config.careMaxDays }) })}
<div class="actions"><button type="submit">${t('careChooseButton')}</button></div>
</form>
</section>
<section aria-labelledby="code-h">
<h2 id="code-h">${t('careCodeTitle')}</h2>
${s.code ? html`<p role="status" class="notice" data-consent-code="${s.code.code}">${t('careCodeShown', { when: formatDateTime(s.code.expiresAt, lang) })}<br><strong class="code">${s.code.code}</strong></p>` : ''}
<form method="post" action="/patient/care/code" data-form="care-code">
<p class="muted">${t('careCodeIntro', { minutes: app.config.consentCodeMinutes })}</p>
${select(t, { name: 'patientId', label: t('careRecord'), options: recordOptions, required: true })}
<div class="actions"><button type="submit" class="secondary">${t('careCodeButton')}</button></div>
</form>
</section>
<section aria-labelledby="protect-h">
<h2 id="protect-h">${t('protectTitle')}</h2>
<p class="muted">${t('protectIntro')}</p>
<ul>${records.map((r) => html`<li data-record="${r.id}">${recordLabel(t, tenants, r)}${protectedIds.has(r.id) ? html` — <strong data-protected>${t('protectedBadge')}</strong>` : ''}
<form method="post" action="/patient/records/${r.id}/protection" class="inline"><input type="hidden" name="protected" value="${protectedIds.has(r.id) ? 'off' : 'on'}"><button type="submit" class="secondary" data-protect-toggle>${t(protectedIds.has(r.id) ? 'protectOff' : 'protectOn')}</button></form></li>`)}</ul>
</section>`,
  }), status);
}

function careRow(t: Translate, lang: Lang, tenants: Tenants, records: Map<string, PatientView>, r: RelationshipView): CardRow {
  const rec = records.get(r.patientId);
  return { attrs: { 'data-relationship': r.id }, cells: [
    html`${r.professional.name} — ${professionLabel(t, r.professional.profession)}${r.professional.organisation ? html`, ${r.professional.organisation}` : ''}`,
    rec ? recordLabel(t, tenants, rec) : '', t(`careOrigin_${r.origin}` as MessageKey), formatDateTime(r.since, lang), formatDateTime(r.until, lang),
    r.active ? html`${t('careActive')} <form method="post" action="/patient/care/${r.id}/end" class="inline"><button type="submit" class="secondary" data-care-end>${t('careEnd')}</button></form>` : t('careEnded'),
  ] };
}

const isCode = (e: unknown, code: string) => e instanceof AppError && e.code === code;

interface BreakGlassState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
  message?: MessageKey;
}

function breakGlassPage(app: App, lang: Lang, s: BreakGlassState = {}): Html {
  const t = translator(lang);
  const errors = s.errors ?? {};
  return page({
    lang, path: '/professional/break-glass', title: t('bgTitle'), signedIn: true,
    main: html`<p><a href="/professional">${t('professionalTitle')}</a></p>
<div class="alert" data-break-glass-warning><p>${t('bgWarning', { minutes: app.config.breakGlassMinutes })}</p></div>
<form method="post" action="/professional/break-glass" novalidate data-form="break-glass">
${formErrorSummary(t, errors, s.message, { patientId: t('bgRecord'), reason: t('bgReason'), justification: t('bgJustification') })}
${field(t, { name: 'patientId', label: t('bgRecord'), value: s.values?.patientId, error: errors.patientId, hint: t('bgRecordHint'), maxlength: 36, required: true, autocomplete: 'off' })}
${select(t, { name: 'reason', label: t('bgReason'), value: s.values?.reason, error: errors.reason, required: true, options: BREAK_GLASS_REASONS.map((r) => ({ value: r, label: t(`reason_${r}` as MessageKey) })) })}
<div class="field${errors.justification ? ' has-error' : ''}"><label for="f-justification">${t('bgJustification')}</label>
<textarea id="f-justification" name="justification" rows="4" maxlength="2000" required${errors.justification ? html` aria-invalid="true" aria-describedby="f-justification-error"` : ''}>${s.values?.justification ?? ''}</textarea>
${errors.justification ? html`<p class="error" id="f-justification-error" data-field-error="justification">${t(errors.justification)}</p>` : ''}</div>
<div class="actions"><button type="submit" data-break-glass-open>${t('bgButton')}</button></div>
</form>`,
  });
}

export const carePageRoutes = [
  route<undefined, CareQuery>({
    method: 'GET', url: '/patient/care', surface: 'web', auth: 'principal', policy: 'care.list', produces: 'text/html', query: CareQuery,
    summary: "The patient's care team: relationships (end any at once), choosing a professional, a consent code, protected records.",
    async handler(ctx) {
      rememberLang(ctx.app, ctx.reply, ctx.query);
      return showCare(ctx, 200, ctx.query.done);
    },
  }),
  route<undefined, undefined, z.infer<typeof ChooseForm>>({
    method: 'POST', url: '/patient/care', surface: 'web', auth: 'principal', policy: 'care.create', produces: 'text/html', form: true, body: ChooseForm,
    summary: 'Choose-a-professional form: on success, back to the care team with a confirmation; problems re-render the form.',
    async handler(ctx) {
      const { app, principal, requestId, body, reply } = ctx;
      const form = cleanForm(body);
      const errors: FieldErrors = {};
      if (!form.rpps || !isValidRpps(form.rpps.replace(/\s/g, ''))) errors.rpps = 'errRpps';
      const days = form.days === undefined ? undefined : /^\d{1,4}$/.test(form.days) && Number(form.days) >= 1 ? Number(form.days) : NaN;
      if (Number.isNaN(days)) errors.days = 'errDays';
      if (!form.patientId || !z.uuid().safeParse(form.patientId).success) errors.patientId = 'errChoice';
      if (Object.keys(errors).length > 0) return showCare(ctx, 400, undefined, { values: form, errors });
      try {
        await app.uow.run(principal, requestId, (w) => createRelationship(w, carePolicyFrom(app.config), { patientId: form.patientId!, rpps: form.rpps!.replace(/\s/g, ''), ...(days !== undefined ? { days } : {}) }));
      } catch (e) {
        if (isCode(e, 'invalid_request')) return showCare(ctx, 400, undefined, { values: form, errors: { rpps: 'errUnknownProfessional' } });
        throw e;
      }
      return seeOther(reply, '/patient/care?done=created');
    },
  }),
  route<undefined, undefined, z.infer<typeof CodeForm>>({
    method: 'POST', url: '/patient/care/code', surface: 'web', auth: 'principal', policy: 'consent-code.create', produces: 'text/html', form: true, body: CodeForm,
    summary: 'Show-a-code button: the care-team page with a single-use code to show the professional (shown once, never stored in clear).',
    async handler(ctx) {
      const { app, principal, requestId, body } = ctx;
      const patientId = body.patientId ?? '';
      if (!z.uuid().safeParse(patientId).success) return showCare(ctx, 400, undefined, { errors: {} });
      const code = await app.uow.run(principal, requestId, (w) => createConsentCode(w, carePolicyFrom(app.config), { patientId }));
      return showCare(ctx, 200, undefined, { code });
    },
  }),
  route<{ relationshipId: string }>({
    method: 'POST', url: '/patient/care/:relationshipId/end', surface: 'web', auth: 'principal', policy: 'care.end', produces: 'text/html', form: true, params: RelationshipParams,
    summary: 'End-now button of a care relationship (the patient): back to the care team with a confirmation.',
    async handler({ app, principal, requestId, params, reply }) {
      await app.uow.run(principal, requestId, (w) => endRelationship(w, params.relationshipId));
      return seeOther(reply, '/patient/care?done=ended');
    },
  }),
  route<{ patientId: string }, undefined, z.infer<typeof ProtectForm>>({
    method: 'POST', url: '/patient/records/:patientId/protection', surface: 'web', auth: 'principal', policy: 'patient.protect', produces: 'text/html', form: true, params: RecordParams, body: ProtectForm,
    summary: 'Protect (or stop protecting) one of the patient\'s records: back to the care team with a confirmation.',
    async handler({ app, principal, requestId, params, body, reply }) {
      await app.uow.run(principal, requestId, (w) => setProtected(w, params.patientId, body.protected === 'on'));
      return seeOther(reply, '/patient/care?done=protected');
    },
  }),
  route<undefined, undefined, z.infer<typeof EnterCodeForm>>({
    method: 'POST', url: '/professional/consent-code', surface: 'web', auth: 'principal', policy: 'care.accept-code', produces: 'text/html', form: true, body: EnterCodeForm,
    summary: "Enter-a-patient's-code form (professional): on success, back to the patient list with a confirmation; a wrong code says so.",
    async handler({ app, principal, requestId, body, reply }) {
      try {
        await app.uow.run(principal, requestId, (w) => acceptConsentCode(w, carePolicyFrom(app.config), body.code ?? ''));
      } catch (e) {
        if (isCode(e, 'not_found')) return seeOther(reply, '/professional?done=code-wrong');
        throw e;
      }
      return seeOther(reply, '/professional?done=code-accepted');
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/professional/break-glass', surface: 'web', auth: 'principal', policy: 'break-glass.list', produces: 'text/html', query: PageQuery,
    summary: 'The emergency-access form (break the glass), with its warning.',
    async handler({ app, lang, reply, query }) {
      rememberLang(app, reply, query);
      return sendPage(reply, breakGlassPage(app, lang));
    },
  }),
  route<undefined, undefined, z.infer<typeof BreakGlassForm>>({
    method: 'POST', url: '/professional/break-glass', surface: 'web', auth: 'principal', policy: 'break-glass.open', produces: 'text/html', form: true, body: BreakGlassForm,
    summary: 'Open a record in an emergency: on success, back to the professional page with the access and until when; problems re-render the form.',
    async handler({ app, req, principal, requestId, lang, body, reply }) {
      const form = cleanForm(body);
      const errors: FieldErrors = {};
      const patientId = (form.patientId ?? '').toLowerCase();
      if (!z.uuid().safeParse(patientId).success) errors.patientId = 'errRecordId';
      const parsed = BreakGlassInput.safeParse({ reason: form.reason, justification: body.justification ?? '' });
      if (!parsed.success) {
        for (const i of parsed.error.issues) errors[String(i.path[0])] = i.path[0] === 'justification' ? 'errJustification' : 'errChoice';
      }
      if (Object.keys(errors).length > 0 || !parsed.success) return sendPage(reply, breakGlassPage(app, lang, { values: { ...form, justification: body.justification }, errors }), 400);
      try {
        const { notice } = await app.uow.run(principal, requestId, (w) => openBreakGlass(w, breakGlassPolicyFrom(app.config), patientId, parsed.data));
        const to = await noticeAddress(app.db, app.fields, notice.patientId);
        if (to) sendLater(app.mailer, [breakGlassMail(to, notice, app.config.publicUrl)], req.log);
      } catch (e) {
        const message = isCode(e, 'step_up_required') ? 'bgStepUp' : isCode(e, 'break_glass_limit') ? 'bgLimit' : isCode(e, 'not_found') ? 'bgNotFound' : null;
        if (message) return sendPage(reply, breakGlassPage(app, lang, { values: { ...form, justification: body.justification }, message }), isCode(e, 'not_found') ? 404 : isCode(e, 'break_glass_limit') ? 429 : 401);
        throw e;
      }
      return seeOther(reply, '/professional?done=break-glass-opened');
    },
  }),
  route<{ breakGlassId: string }>({
    method: 'POST', url: '/professional/break-glass/:breakGlassId/end', surface: 'web', auth: 'principal', policy: 'break-glass.end', produces: 'text/html', form: true, params: BreakGlassParams,
    summary: 'End-now button of an emergency access (its professional): back with a confirmation.',
    async handler({ app, principal, requestId, params, reply }) {
      await app.uow.run(principal, requestId, (w) => endBreakGlass(w, params.breakGlassId));
      return seeOther(reply, '/professional?done=break-glass-ended');
    },
  }),
  route<{ alertId: string }, PageQuery & { done?: string }>({
    method: 'GET', url: '/dpo/alerts/:alertId', surface: 'web', auth: 'principal', policy: 'alert.read', produces: 'text/html', params: AlertParams,
    query: PageQuery.extend({ done: z.enum(['acknowledged', 'dismissed', 'confirmed']).optional(), error: z.enum(['note']).optional() }),
    summary: 'One alert for the DPO: its rule, actor, subjects, the audit events behind it, and the decision form.',
    async handler({ app, principal, requestId, params, lang, reply, query }) {
      rememberLang(app, reply, query);
      const t = translator(lang);
      const a = await app.uow.read(principal, requestId, (w) => getAlert(w, params.alertId));
      const q = query as { done?: string; error?: string };
      const decided = a.status === 'dismissed' || a.status === 'confirmed';
      const status = t(`alertStatus_${a.status}` as MessageKey);
      return sendPage(reply, page({
        lang, path: `/dpo/alerts/${a.id}`, title: t('alertTitle'), signedIn: true,
        main: html`<p><a href="/dpo">${t('dpoTitle')}</a></p>
${q.done ? html`<p role="status" class="notice" data-alert-notice="${q.done}">${t('alertDecided', { status })}</p>` : ''}
<section aria-labelledby="alert-h" data-alert="${a.id}">
<h2 id="alert-h">${t(`rule_${a.rule}` as MessageKey)}</h2>
<dl class="facts">
<dt>${t('alertSeverity')}</dt><dd data-severity="${a.severity}">${t(`severity_${a.severity}` as MessageKey)}</dd>
<dt>${t('alertActor')}</dt><dd><code>${a.actorId}</code></dd>
<dt>${t('alertOpened')}</dt><dd>${formatDateTime(a.openedAt, lang)}</dd>
<dt>${t('alertStatus')}</dt><dd data-status="${a.status}">${status}</dd>
<dt>${t('alertSummary')}</dt><dd>${a.summary}</dd>
<dt>${t('alertSubjects')}</dt><dd>${a.subjectRefs.length}</dd>
</dl>
</section>
<section aria-labelledby="alert-events-h">
<h2 id="alert-events-h">${t('alertEvents')}</h2>
${cardsTable({
    name: 'alert-events', labelledBy: 'alert-events-h', columns: [t('seq'), t('when'), t('action'), t('subject'), t('purpose'), t('outcomeCol')],
    rows: a.events.map((e) => ({ cells: [e.seq, formatDateTime(e.at, lang), e.action, e.subjectRef ?? t('none'), e.purpose, t(`accessOutcome_${e.outcome}` as MessageKey)] })),
  })}
</section>
<section aria-labelledby="decide-h">
<h2 id="decide-h">${t('alertDecide')}</h2>
${decided ? html`<p data-alert-final>${t('alertFinal', { status })}</p>` : html`<form method="post" action="/dpo/alerts/${a.id}/decide" novalidate data-form="alert-decide">
${q.error ? formErrorSummary(t, { note: 'errNote' }, undefined, { note: t('alertNote') }) : ''}
<div class="field${q.error ? ' has-error' : ''}"><label for="f-note">${t('alertNote')}</label><textarea id="f-note" name="note" rows="3" maxlength="2000" required${q.error ? html` aria-invalid="true"` : ''}></textarea></div>
<div class="actions"><button type="submit" name="decision" value="acknowledge" class="secondary">${t('alertAck')}</button>
<button type="submit" name="decision" value="dismiss" class="secondary">${t('alertDismiss')}</button>
<button type="submit" name="decision" value="confirm">${t('alertConfirm')}</button></div>
</form>`}
</section>`,
      }));
    },
  }),
  route<{ alertId: string }, undefined, z.infer<typeof DecideForm>>({
    method: 'POST', url: '/dpo/alerts/:alertId/decide', surface: 'web', auth: 'principal', policy: 'alert.decide', produces: 'text/html', form: true, params: AlertParams, body: DecideForm,
    summary: "The DPO's decision on an alert, with a note: back to the alert with a confirmation.",
    async handler({ app, principal, requestId, params, body, reply }) {
      const note = (body.note ?? '').trim();
      if (!note) return seeOther(reply, `/dpo/alerts/${params.alertId}?error=note`);
      const done = await app.uow.run(principal, requestId, (w) => decideAlert(w, params.alertId, body.decision, { note }));
      return seeOther(reply, `/dpo/alerts/${params.alertId}?done=${done.status}`);
    },
  }),
  route<{ breakGlassId: string }, undefined, z.infer<typeof ReviewForm>>({
    method: 'POST', url: '/dpo/break-glass/:breakGlassId/review', surface: 'web', auth: 'principal', policy: 'break-glass.review', produces: 'text/html', form: true, params: BreakGlassParams, body: ReviewForm,
    summary: "The DPO's review of an emergency access (accept or reject, with a note): back to the DPO page with a confirmation.",
    async handler({ app, principal, requestId, params, body, reply }) {
      const note = (body.note ?? '').trim();
      if (!note) return seeOther(reply, '/dpo?done=review-note-missing');
      await app.uow.run(principal, requestId, (w) => reviewBreakGlass(w, params.breakGlassId, body.decision, note));
      return seeOther(reply, '/dpo?done=reviewed');
    },
  }),
];
