import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { route, type RouteContext } from '../../http/route.ts';
import { getPatient, registerPatient, PatientInput, type PatientView } from '../../domain/patients.ts';
import { findTenantPatients, PageCursor, planSearch, type PatientPage, type SearchPlan } from '../../domain/patient-search.ts';
import { listPatientResults, recordResult, ResultInput, OUTCOMES, TEST_TYPES, type ResultView } from '../../domain/results.ts';
import { RAT_DEVICES } from '../../domain/rat-devices.ts';
import { AppError } from '../../errors/catalogue.ts';
import type { Lang } from '../../errors/messages.ts';
import type { Principal } from '../../policy/principal.ts';
import { randomToken } from '../../crypto/tokens.ts';
import { html, type Html } from '../html.ts';
import { formatDate, formatDateTime, translator, type MessageKey, type Translate } from '../i18n.ts';
import { cardsTable, cleanForm, field, fieldErrorsFromZod, formErrorSummary, page, passkeyArea, rememberLang, seeOther, select, sendPage, type FieldErrors } from '../layout.ts';
import { patientAccountFor } from '../../domain/patient-accounts.ts';
import { parisLocalNow, parisLocalToIso } from '../paris-time.ts';
import { listPatientVaccinations, recordVaccination, VACCINES, VaccinationInput, type VaccinationView } from '../../domain/vaccinations.ts';
import { issuePass, issueVaccinationPass, listPasses, PASS_KINDS, passOffer, type PassOffer, type PassView } from '../../domain/passes.ts';
import { refreshSigner } from '../../domain/issuer-keys.ts';
import { FormText, PageQuery, type SecurityNotice } from './common.ts';
import { securitySection } from './security.ts';
import { listPasskeys, type PasskeyView } from '../../auth/passkeys.ts';

const PatientParams = z.strictObject({ patientId: z.uuid() });
type PatientParams = z.infer<typeof PatientParams>;

const PatientForm = z.strictObject({
  givenName: FormText, familyName: FormText, birthDate: FormText, ssn: FormText, phone: FormText, email: FormText, address: FormText,
});
const ResultForm = z.strictObject({ testType: FormText, device: FormText, outcome: FormText, sampledAt: FormText, idempotencyKey: FormText });
const VaccinationForm = z.strictObject({ product: FormText, doseNumber: FormText, seriesDoses: FormText, administeredOn: FormText, idempotencyKey: FormText });
// The buttons post the pass kind they show; anything else is refused, not issued as some other kind.
const ResultPassForm = z.strictObject({ kind: z.enum(PASS_KINDS) });
const VaccinationPassForm = z.strictObject({ kind: z.literal('vaccination') });
const ResultParams = z.strictObject({ resultId: z.uuid() });
/** What the staff member just did (post/redirect/get): the record page confirms it. */
const RECORD_DONE = ['registered', 'found', 'result-recorded', 'vaccination-recorded', 'pass-issued'] as const;
type RecordDone = (typeof RECORD_DONE)[number];
const RecordQuery = PageQuery.extend({ done: z.enum(RECORD_DONE).optional() });
const PharmacyQuery = PageQuery.extend({ after: PageCursor.optional() });
const SearchForm = z.strictObject({ q: FormText, after: FormText });
const VaccinationParams = z.strictObject({ vaccinationId: z.uuid() });

type FormState = { values?: Record<string, string | undefined>; errors?: FieldErrors };

export const testTypeLabel = (t: Translate, v: ResultView['testType']) => t(v === 'pcr' ? 'testPcr' : 'testAntigen');
export const outcomeLabel = (t: Translate, v: ResultView['outcome']) => t(v === 'positive' ? 'outcomePositive' : v === 'negative' ? 'outcomeNegative' : 'outcomeInconclusive');
export const outcomeBadge = (t: Translate, v: ResultView['outcome']) => html`<span class="badge ${v}" data-outcome="${v}">${outcomeLabel(t, v)}</span>`;
export const invoiceHref = (documentId: string) => `/api/documents/${encodeURIComponent(documentId)}`;

/** Why a result gives no pass now, in words (the rules are the issuing rules: passOffer). */
const noPass = (t: Translate, lang: Lang, offer: Exclude<PassOffer, { kind: 'test' | 'recovery' }>) => html`<span class="muted" data-no-pass="${offer.reason}">${
  offer.reason === 'recovery-too-early' ? t('passRecoveryFrom', { date: formatDate(offer.from.toISOString().slice(0, 10), lang) })
    : t(offer.reason === 'inconclusive' ? 'passNoneInconclusive' : offer.reason === 'test-too-old' ? 'passNoneTestTooOld' : 'passNoneRecoveryTooLate')}</span>`;

/** A button that issues a pass (staff of the pharmacy that holds the record). */
const issueButton = (t: Translate, action: string, kind: 'test' | 'recovery' | 'vaccination') => html`<form method="post" action="${action}" class="inline" data-form="issue-pass">
<input type="hidden" name="kind" value="${kind}"><button type="submit" class="secondary">${t(kind === 'test' ? 'issueTestPass' : kind === 'recovery' ? 'issueRecoveryPass' : 'issueVaccinationPass')}</button></form>`;

/** The sources (result or vaccination id and pass kind) that have a valid pass now: no button would issue a second one. */
const validPassSources = (passes: readonly PassView[], now = Date.now()) =>
  new Set(passes.filter((p) => !p.revokedAt && Date.parse(p.expiresAt) > now).map((p) => `${p.resultId ?? p.vaccinationId}:${p.kind}`));

/** Where a pass was already issued: its PDF, instead of a button that would issue it again. */
const issuedPass = (t: Translate, passes: readonly PassView[], sourceId: string, kind: string) => {
  const p = passes.find((x) => (x.resultId ?? x.vaccinationId) === sourceId && x.kind === kind && !x.revokedAt);
  return html`<span data-pass-issued>${t('passIssued')}</span>${p ? html` — <a href="/api/passes/${p.id}/pdf" download>${t('passPdf')}</a>` : ''}`;
};

/**
 * A results table; invoice links only for those who may read invoices (not professionals), pass
 * buttons for staff (`passes`: what the pharmacy issued for this patient; a result with a valid pass
 * of its kind shows it instead of a button).
 */
export function resultsTable(t: Translate, lang: Lang, results: readonly ResultView[], withInvoices: boolean, passes?: readonly PassView[], pharmacies?: ReadonlyMap<string, string>): Html {
  const withPassButtons = passes !== undefined;
  const now = new Date();
  const valid = validPassSources(passes ?? [], now.getTime());
  if (results.length === 0) return html`<p class="muted" data-empty="results">${t('noResults')}</p>`;
  // A table that may scroll sideways is a focusable, named region: keyboard users can scroll it too (WCAG 2.1.1).
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="${t('results')}"><table data-table="results" class="cards" role="table">
<thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">${t('sampledAt')}</th><th scope="col" role="columnheader">${t('testType')}</th><th scope="col" role="columnheader">${t('outcome')}</th>${pharmacies ? html`<th scope="col" role="columnheader">${t('pharmacyCol')}</th>` : ''}<th scope="col" role="columnheader">${t('recordedAt')}</th>${withInvoices ? html`<th scope="col" role="columnheader">${t('invoice')}</th>` : ''}${withPassButtons ? html`<th scope="col" role="columnheader">${t('pass')}</th>` : ''}</tr></thead>
<tbody role="rowgroup">
${results.map((r) => {
    const offer = passOffer({ testType: r.testType, outcome: r.outcome, sampledAt: new Date(r.sampledAt) }, now);
    // A pass already issued shows, whatever the offer now (a test pass stays valid its 72 hours).
    const kind = offer.kind ?? (['test', 'recovery'] as const).find((k) => valid.has(`${r.id}:${k}`)) ?? null;
    return html`<tr role="row" data-result-id="${r.id}"><td role="cell" data-label="${t('sampledAt')}">${formatDateTime(r.sampledAt, lang)}</td><td role="cell" data-label="${t('testType')}">${testTypeLabel(t, r.testType)}${r.deviceName ? html`<br><span class="muted" data-device="${r.device}">${r.deviceName}</span>` : ''}</td><td role="cell" data-label="${t('outcome')}">${outcomeBadge(t, r.outcome)}</td>${pharmacies ? html`<td role="cell" data-pharmacy data-label="${t('pharmacyCol')}">${pharmacies.get(r.tenantId) ?? t('none')}</td>` : ''}<td role="cell" data-label="${t('recordedAt')}">${formatDateTime(r.recordedAt, lang)}</td>${withInvoices ? html`<td role="cell" data-label="${t('invoice')}">${r.invoiceId ? html`<a href="${invoiceHref(r.invoiceId)}" download data-invoice-link>${t('downloadInvoice')}</a>` : t('none')}</td>` : ''}${withPassButtons ? html`<td role="cell" data-label="${t('pass')}">${kind && valid.has(`${r.id}:${kind}`) ? issuedPass(t, passes ?? [], r.id, kind) : offer.kind ? issueButton(t, `/pharmacy/results/${r.id}/passes`, offer.kind) : noPass(t, lang, offer)}</td>` : ''}</tr>`;
  })}
</tbody></table></div>`;
}

/** Vaccinations of a patient, with a pass button for staff (unless a valid pass exists: then its PDF). */
function vaccinationsTable(t: Translate, lang: Lang, items: readonly VaccinationView[], passes?: readonly PassView[]): Html {
  const withPassButtons = passes !== undefined;
  const valid = validPassSources(passes ?? []);
  if (items.length === 0) return html`<p class="muted" data-empty="vaccinations">${t('noVaccinations')}</p>`;
  return cardsTable({
    name: 'vaccinations', label: t('vaccinations'), columns: [t('administeredOn'), t('vaccine'), t('dose'), ...(withPassButtons ? [t('pass')] : [])],
    rows: items.map((v) => ({ attrs: { 'data-vaccination-id': v.id }, cells: [formatDate(v.administeredOn, lang), v.productName, `${v.doseNumber}/${v.seriesDoses}`,
      ...(withPassButtons ? [valid.has(`${v.id}:vaccination`) ? issuedPass(t, passes ?? [], v.id, 'vaccination') : issueButton(t, `/pharmacy/vaccinations/${v.id}/passes`, 'vaccination')] : [])] })),
  });
}

/** Passes this pharmacy issued for the patient: the PDF to print for someone without a smartphone. */
function passesList(t: Translate, lang: Lang, passes: readonly PassView[]): Html {
  if (passes.length === 0) return html`<p class="muted" data-empty="passes">${t('noPasses')}</p>`;
  return html`<ul data-list="patient-passes">${passes.map((x) => html`<li data-pass="${x.id}"><strong>${t(`passKind_${x.kind}`)}</strong> — ${t('issuedAt')} ${formatDateTime(x.issuedAt, lang)}${x.revokedAt ? html` — <span class="badge positive" data-pass-revoked>${t('passRevoked')}</span>` : html` — <a href="/api/passes/${x.id}/pdf" download data-pass-pdf>${t('passPdf')}</a>`}</li>`)}</ul>`;
}

/** The patients part of the pharmacy page: a search, a page of patients (or what the search found), and the way on. */
interface PatientsState { page: PatientPage; q?: string; searched?: boolean; searchError?: MessageKey; after?: string }

function patientsSection(t: Translate, lang: Lang, st: PatientsState): Html {
  const { page: list, q } = st;
  const found = st.searched ? html`<p role="status" data-search-count="${list.items.length}">${list.items.length === 0 ? t('searchNone') : t(list.next ? 'searchManyFirst' : 'searchSome', { count: list.items.length })}
 <a href="/pharmacy" data-search-clear>${t('searchClear')}</a></p>` : '';
  const table = list.items.length === 0
    ? (st.searched ? '' : html`<p class="muted">${t('noPatients')}</p>`)
    : cardsTable({
      name: 'patients', labelledBy: 'patients-h', columns: [t('name'), t('birthDate'), t('registeredAt')],
      rows: list.items.map((p) => ({ cells: [html`<a href="/pharmacy/patients/${p.id}" data-patient-link>${p.familyName} ${p.givenName}</a>`, formatDate(p.birthDate, lang), formatDateTime(p.createdAt, lang)] })),
    });
  // The next page of a search is asked for by a form post too: what was typed (a name) never goes
  // into an address, where it would stay in the browser's history and in logs.
  const more = !list.next ? '' : st.searched
    ? html`<form method="post" action="/pharmacy/search" class="inline" data-form="search-more"><input type="hidden" name="q" value="${q ?? ''}"><input type="hidden" name="after" value="${list.next}"><button type="submit" class="secondary">${t('searchMore')}</button></form>`
    : html`<p><a href="/pharmacy?after=${encodeURIComponent(list.next)}" data-page-next>${t('patientsOlder')}</a></p>`;
  const errors = st.searchError ? { q: st.searchError } : {};
  return html`<section aria-labelledby="patients-h">
<h2 id="patients-h">${t('patients')}</h2>
${formErrorSummary(t, errors, undefined, { q: t('searchLabel') })}
<form method="post" action="/pharmacy/search" role="search" novalidate data-form="patient-search">
${field(t, { name: 'q', label: t('searchLabel'), value: q, error: errors.q, hint: t('searchHint'), autocomplete: 'off', maxlength: 100 })}
<div class="actions"><button type="submit">${t('searchButton')}</button></div>
</form>
${found}
${st.after && !st.searched ? html`<p><a href="/pharmacy" data-page-first>${t('patientsNewest')}</a></p>` : ''}
${table}
${more}
</section>`;
}

function pharmacyPage(lang: Lang, principal: Principal, patients: PatientsState, passkeys: readonly PasskeyView[], s: FormState = {}, notice?: SecurityNotice): Html {
  const t = translator(lang);
  const e = s.errors ?? {};
  const v = s.values ?? {};
  const opt = t('optional');
  return page({
    lang, path: '/pharmacy', title: t('pharmacyTitle'), signedIn: true,
    main: html`<p><a href="/pharmacy/counter" data-counter-link>${t('counterLink')}</a></p>
${patientsSection(t, lang, patients)}
<section aria-labelledby="register-h">
<h2 id="register-h">${t('registerTitle')}</h2>
${formErrorSummary(t, e)}
<form method="post" action="/pharmacy/patients" novalidate data-form="register-patient">
<div class="grid">
${field(t, { name: 'givenName', label: t('givenName'), value: v.givenName, error: e.givenName, required: true, autocomplete: 'off', maxlength: 100 })}
${field(t, { name: 'familyName', label: t('familyName'), value: v.familyName, error: e.familyName, required: true, autocomplete: 'off', maxlength: 100 })}
${field(t, { name: 'birthDate', label: t('birthDate'), type: 'date', value: v.birthDate, error: e.birthDate, required: true, autocomplete: 'off' })}
${field(t, { name: 'ssn', label: t('ssn'), value: v.ssn, error: e.ssn, optionalLabel: opt, autocomplete: 'off', inputmode: 'numeric', maxlength: 25 })}
${field(t, { name: 'phone', label: t('phone'), type: 'tel', value: v.phone, error: e.phone, optionalLabel: opt, autocomplete: 'off', maxlength: 20 })}
${field(t, { name: 'email', label: t('email'), type: 'email', value: v.email, error: e.email, optionalLabel: opt, autocomplete: 'off', maxlength: 254 })}
${field(t, { name: 'address', label: t('address'), value: v.address, error: e.address, optionalLabel: opt, autocomplete: 'off', maxlength: 300 })}
</div>
<div class="actions"><button type="submit">${t('register')}</button></div>
</form>
</section>
${securitySection(t, lang, principal, passkeys, notice)}`,
  });
}

interface PatientRecord { patient: PatientView; results: ResultView[]; vaccinations: VaccinationView[]; passes: PassView[] }

function patientPage(lang: Lang, principal: Principal, base: string, { patient, results, vaccinations, passes }: PatientRecord, s: FormState = {}, vs: FormState = {}, done?: RecordDone): Html {
  const t = translator(lang);
  const e = s.errors ?? {};
  const v = s.values ?? {};
  const isStaff = principal.role === 'staff';
  const back = principal.role === 'professional' ? '/professional' : '/pharmacy';
  return page({
    lang, path: `${base}/${patient.id}`, title: t('patientRecordTitle'), heading: `${patient.givenName} ${patient.familyName}`, signedIn: true,
    main: html`${done ? html`<p role="status" class="notice" data-done="${done}">${t(`done_${done}` as MessageKey)}</p>` : ''}<p><a href="${back}">${t('backToList')}</a></p>
<section aria-labelledby="patient-h">
<h2 id="patient-h">${t('patientTitle')}</h2>
<dl class="facts">
<dt>${t('name')}</dt><dd>${patient.familyName} ${patient.givenName}</dd>
<dt>${t('birthDate')}</dt><dd>${formatDate(patient.birthDate, lang)}</dd>
<dt>${t('ssn')}</dt><dd data-field="ssn">${patient.ssnMasked ?? t('none')}</dd>
<dt>${t('phone')}</dt><dd>${patient.phone ?? t('none')}</dd>
<dt>${t('email')}</dt><dd>${patient.email ?? t('none')}</dd>
<dt>${t('address')}</dt><dd>${patient.address ?? t('none')}</dd>
</dl>
</section>
<section aria-labelledby="results-h">
<h2 id="results-h">${t('results')}</h2>
${resultsTable(t, lang, results, principal.role !== 'professional', isStaff ? passes : undefined)}
</section>
<section aria-labelledby="vaccinations-h">
<h2 id="vaccinations-h">${t('vaccinations')}</h2>
${vaccinationsTable(t, lang, vaccinations, isStaff ? passes : undefined)}
</section>
${isStaff ? html`<section aria-labelledby="passes-h">
<h2 id="passes-h">${t('passesIssued')}</h2>
<p class="muted">${t('passesIssuedHelp')}</p>
${passesList(t, lang, passes)}
</section>` : ''}
${isStaff ? html`<section aria-labelledby="record-h">
<h2 id="record-h">${t('recordTitle')}</h2>
${formErrorSummary(t, e)}
<form method="post" action="/pharmacy/patients/${patient.id}/results" novalidate data-form="record-result">
<input type="hidden" name="idempotencyKey" value="${v.idempotencyKey ?? `web-${randomToken(16)}`}">
<div class="grid">
${select(t, { name: 'testType', label: t('testType'), value: v.testType ?? 'antigen', error: e.testType, required: true, options: TEST_TYPES.map((x) => ({ value: x, label: testTypeLabel(t, x) })) })}
${select(t, { name: 'device', label: t('testDevice'), value: v.device ?? '', error: e.device, hint: t('testDeviceHint'), options: [{ value: '', label: '—' }, ...[...RAT_DEVICES].map(([value, label]) => ({ value, label }))] })}
${select(t, { name: 'outcome', label: t('outcome'), value: v.outcome ?? '', error: e.outcome, required: true, options: [{ value: '', label: '—' }, ...OUTCOMES.map((x) => ({ value: x, label: outcomeLabel(t, x) }))] })}
${field(t, { name: 'sampledAt', label: t('sampledAt'), type: 'datetime-local', value: v.sampledAt ?? parisLocalNow(), error: e.sampledAt, required: true, hint: t('sampledAtHint') })}
</div>
<div class="actions"><button type="submit">${t('record')}</button></div>
</form>
</section>
<section aria-labelledby="vaccinate-h">
<h2 id="vaccinate-h">${t('vaccinateTitle')}</h2>
${formErrorSummary(t, vs.errors ?? {}, undefined, { product: t('vaccine') })}
<form method="post" action="/pharmacy/patients/${patient.id}/vaccinations" novalidate data-form="record-vaccination">
<input type="hidden" name="idempotencyKey" value="${vs.values?.idempotencyKey ?? `web-${randomToken(16)}`}">
<div class="grid">
${select(t, { name: 'product', label: t('vaccine'), value: vs.values?.product ?? 'EU/1/20/1528', error: vs.errors?.product, required: true, options: Object.entries(VACCINES).map(([value, v]) => ({ value, label: v.name })) })}
${field(t, { name: 'doseNumber', label: t('doseNumber'), type: 'number', value: vs.values?.doseNumber ?? '1', error: vs.errors?.doseNumber, required: true, inputmode: 'numeric', maxlength: 1 })}
${field(t, { name: 'seriesDoses', label: t('seriesDoses'), type: 'number', value: vs.values?.seriesDoses ?? '2', error: vs.errors?.seriesDoses, required: true, inputmode: 'numeric', maxlength: 1 })}
${field(t, { name: 'administeredOn', label: t('administeredOn'), type: 'date', value: vs.values?.administeredOn ?? parisLocalNow().slice(0, 10), error: vs.errors?.administeredOn, required: true })}
</div>
<div class="actions"><button type="submit">${t('recordVaccination')}</button></div>
</form>
</section>` : ''}`,
  });
}

async function showPatient(ctx: RouteContext<PatientParams, unknown, unknown>, base: string, status: number, s: FormState = {}, vs: FormState = {}, done?: RecordDone): Promise<FastifyReply> {
  const { app, principal, requestId, params, lang, reply } = ctx;
  const record = await app.uow.run(principal, requestId, async (w): Promise<PatientRecord> => {
    const patient = await getPatient(w, params.patientId);
    const passes = principal.role === 'staff' ? await listPasses(w, params.patientId) : [];
    return { patient, results: await listPatientResults(w, params.patientId), vaccinations: await listPatientVaccinations(w, params.patientId), passes };
  });
  return sendPage(reply, patientPage(lang, principal, base, record, s, vs, done), status);
}

async function showPharmacy(ctx: RouteContext<unknown, unknown, unknown>, status: number, s: FormState = {}, notice?: SecurityNotice,
  find: { q?: string; plan?: SearchPlan | null; after?: string; searchError?: MessageKey } = {}): Promise<FastifyReply> {
  const { app, principal, requestId, lang, reply } = ctx;
  const searched = find.plan !== undefined && find.plan !== null;
  const { list, passkeys } = await app.uow.run(principal, requestId, async (w) => ({
    list: find.searchError ? { items: [], next: null } : await findTenantPatients(w, { ...(searched ? { q: find.plan } : {}), ...(find.after ? { after: find.after } : {}) }),
    passkeys: await listPasskeys(w),
  }));
  const patients: PatientsState = { page: list, searched, ...(find.q !== undefined ? { q: find.q } : {}), ...(find.after ? { after: find.after } : {}), ...(find.searchError ? { searchError: find.searchError } : {}) };
  return sendPage(reply, pharmacyPage(lang, principal, patients, passkeys, s, notice), status);
}

const issueMessages = (e: AppError): FieldErrors => {
  const out: FieldErrors = {};
  for (const i of e.issues ?? []) out[i.path.split('.').pop()!] = (i.code === 'in-future' ? 'errFuture' : 'errInvalid') satisfies MessageKey;
  return out;
};

export const recordPageRoutes = [
  route<undefined, z.infer<typeof PharmacyQuery>>({
    method: 'GET', url: '/pharmacy', surface: 'web', auth: 'principal', policy: 'patient.list', produces: 'text/html', query: PharmacyQuery,
    summary: "Pharmacy staff page: the pharmacy's patients (newest first, a page at a time), a search, and the form to register one.",
    async handler(ctx) {
      rememberLang(ctx.app, ctx.reply, ctx.query);
      return showPharmacy(ctx, 200, {}, ctx.query.security, ctx.query.after ? { after: ctx.query.after } : {});
    },
  }),
  route<undefined, undefined, z.infer<typeof SearchForm>>({
    method: 'POST', url: '/pharmacy/search', surface: 'web', auth: 'principal', policy: 'patient.list', produces: 'text/html', form: true, body: SearchForm,
    summary: "Finds the pharmacy's patients by name, birth date or registration code (staff); what is typed stays out of addresses.",
    async handler(ctx) {
      const form = cleanForm(ctx.body);
      const q = (form.q ?? '').slice(0, 100);
      const plan = planSearch(q);
      const after = PageCursor.safeParse(form.after);
      if (!plan) return showPharmacy(ctx, 400, {}, undefined, { q, searchError: q.trim() === '' ? 'errSearchEmpty' : 'errSearchShort' });
      return showPharmacy(ctx, 200, {}, undefined, { q, plan, ...(after.success ? { after: after.data } : {}) });
    },
  }),
  route<undefined, undefined, z.infer<typeof PatientForm>>({
    method: 'POST', url: '/pharmacy/patients', surface: 'web', auth: 'principal', policy: 'patient.create', produces: 'text/html', form: true, body: PatientForm,
    summary: "Register-a-patient form (staff): on success, a redirect to the patient's page; invalid fields re-render the form.",
    async handler(ctx) {
      const { app, principal, requestId, body, reply } = ctx;
      const form = cleanForm(body);
      const parsed = PatientInput.safeParse(form);
      if (!parsed.success) {
        return showPharmacy(ctx, 400, { values: form, errors: fieldErrorsFromZod(parsed.error, { birthDate: 'errDate', ssn: 'errSsn', phone: 'errPhone', email: 'errEmail' }) });
      }
      const input = parsed.data;
      const patient = await app.uow.run(principal, requestId, (w) => registerPatient(w, input, () => patientAccountFor(app, w, input.email, `${input.givenName} ${input.familyName}`)));
      return seeOther(reply, `/pharmacy/patients/${patient.id}?done=registered`);
    },
  }),
  route<PatientParams, z.infer<typeof RecordQuery>>({
    method: 'GET', url: '/pharmacy/patients/:patientId', surface: 'web', auth: 'principal', policy: 'patient.read', produces: 'text/html', params: PatientParams, query: RecordQuery,
    summary: "A patient's page for the pharmacy: identity (social-security number masked), results with invoices, and the form to record a result.",
    async handler(ctx) {
      rememberLang(ctx.app, ctx.reply, ctx.query);
      return showPatient(ctx, '/pharmacy/patients', 200, {}, {}, ctx.query.done);
    },
  }),
  route<PatientParams, undefined, z.infer<typeof ResultForm>>({
    method: 'POST', url: '/pharmacy/patients/:patientId/results', surface: 'web', auth: 'principal', policy: 'result.create', produces: 'text/html', form: true,
    params: PatientParams, body: ResultForm,
    summary: 'Record-a-result form (staff): on success, a redirect to the patient page; invalid fields re-render the form.',
    async handler(ctx) {
      const { app, principal, requestId, params, body, reply } = ctx;
      const form = cleanForm(body);
      // A browser sends Paris wall time (datetime-local); a script may send an ISO instant with its offset.
      const iso = form.sampledAt ? (parisLocalToIso(form.sampledAt) ?? (z.iso.datetime({ offset: true }).safeParse(form.sampledAt).success ? form.sampledAt : null)) : undefined;
      // The device list stays on screen whatever the test type: it counts for an antigen test only.
      const parsed = ResultInput.safeParse({ testType: form.testType, outcome: form.outcome, sampledAt: iso === null ? 'invalid' : iso, ...(form.testType === 'antigen' && form.device ? { device: form.device } : {}) });
      const key = form.idempotencyKey && /^web-[A-Za-z0-9_-]{8,64}$/.test(form.idempotencyKey) ? form.idempotencyKey : null;
      if (!parsed.success) {
        // The patient page is loaded (and access checked) first: a foreign id answers 404, never a form.
        const errors = fieldErrorsFromZod(parsed.error, { sampledAt: 'errDateTime', device: 'errDevice' });
        // The device rule runs only on an otherwise valid result: say every problem at once.
        if (form.testType === 'antigen' && !form.device && !errors.device) errors.device = 'errDevice';
        return showPatient(ctx, '/pharmacy/patients', 400, { values: form, errors });
      }
      try {
        await app.uow.run(principal, requestId, (w) => recordResult(w, params.patientId, parsed.data, key));
      } catch (e) {
        if (e instanceof AppError && e.code === 'invalid_request' && e.issues) return showPatient(ctx, '/pharmacy/patients', 400, { values: form, errors: issueMessages(e) });
        throw e;
      }
      return seeOther(reply, `/pharmacy/patients/${params.patientId}?done=result-recorded`);
    },
  }),
  route<PatientParams, undefined, z.infer<typeof VaccinationForm>>({
    method: 'POST', url: '/pharmacy/patients/:patientId/vaccinations', surface: 'web', auth: 'principal', policy: 'vaccination.create', produces: 'text/html', form: true,
    params: PatientParams, body: VaccinationForm,
    summary: 'Record-a-vaccination form (staff): on success, back to the patient page; invalid fields re-render the form.',
    async handler(ctx) {
      const { app, principal, requestId, params, body, reply } = ctx;
      const form = cleanForm(body);
      const int = (v: string | undefined) => (v !== undefined && /^\d{1,2}$/.test(v) ? Number(v) : v);
      const parsed = VaccinationInput.safeParse({ product: form.product, doseNumber: int(form.doseNumber), seriesDoses: int(form.seriesDoses), administeredOn: form.administeredOn });
      const key = form.idempotencyKey && /^web-[A-Za-z0-9_-]{8,64}$/.test(form.idempotencyKey) ? form.idempotencyKey : null;
      if (!parsed.success) return showPatient(ctx, '/pharmacy/patients', 400, {}, { values: form, errors: fieldErrorsFromZod(parsed.error, { administeredOn: 'errDate' }) });
      try {
        await app.uow.run(principal, requestId, (w) => recordVaccination(w, params.patientId, parsed.data, key));
      } catch (e) {
        if (e instanceof AppError && e.code === 'invalid_request' && e.issues) return showPatient(ctx, '/pharmacy/patients', 400, {}, { values: form, errors: issueMessages(e) });
        throw e;
      }
      return seeOther(reply, `/pharmacy/patients/${params.patientId}?done=vaccination-recorded`);
    },
  }),
  route<{ resultId: string }, undefined, z.infer<typeof ResultPassForm>>({
    method: 'POST', url: '/pharmacy/results/:resultId/passes', surface: 'web', auth: 'principal', policy: 'pass.issue', produces: 'text/html', form: true,
    params: ResultParams, body: ResultPassForm,
    summary: 'Issue-a-pass button on a result (staff): a test or recovery pass, then back to the patient page.',
    async handler({ app, principal, requestId, params, body, reply }) {
      const signer = await refreshSigner(app.db, app.fields, app.signer);
      const pass = await app.uow.run(principal, requestId, (w) => issuePass(w, signer, params.resultId, body.kind));
      return seeOther(reply, `/pharmacy/patients/${pass.patientId}?done=pass-issued`);
    },
  }),
  route<{ vaccinationId: string }, undefined, z.infer<typeof VaccinationPassForm>>({
    method: 'POST', url: '/pharmacy/vaccinations/:vaccinationId/passes', surface: 'web', auth: 'principal', policy: 'pass.issue', produces: 'text/html', form: true,
    params: VaccinationParams, body: VaccinationPassForm,
    summary: 'Issue-a-pass button on a vaccination (staff), then back to the patient page.',
    async handler({ app, principal, requestId, params, reply }) {
      const signer = await refreshSigner(app.db, app.fields, app.signer);
      const pass = await app.uow.run(principal, requestId, (w) => issueVaccinationPass(w, signer, params.vaccinationId));
      return seeOther(reply, `/pharmacy/patients/${pass.patientId}?done=pass-issued`);
    },
  }),
  route<PatientParams, PageQuery>({
    method: 'GET', url: '/professional/patients/:patientId', surface: 'web', auth: 'principal', policy: 'patient.read', produces: 'text/html', params: PatientParams, query: PageQuery,
    summary: "A patient's page for a health professional in care: identity and results.",
    async handler(ctx) {
      rememberLang(ctx.app, ctx.reply, ctx.query);
      return showPatient(ctx, '/professional/patients', 200);
    },
  }),
];
