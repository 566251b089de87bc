import { route } from '../../http/route.ts';
import { listMyResults, type ResultView } from '../../domain/results.ts';
import { listDocuments, type DocumentSummary } from '../../domain/documents.ts';
import { listAuditEvents, myAccessLog, type AccessEntry } from '../../domain/access-log.ts';
import { listBreakGlass, listMyBreakGlass } from '../../domain/break-glass.ts';
import { listAlerts } from '../../alerts/store.ts';
import type { Lang } from '../../errors/messages.ts';
import { listPatients, listPatientsInCare, type PatientView } from '../../domain/patients.ts';
import { listPasses, reissuePass, type PassView } from '../../domain/passes.ts';
import { refreshSigner } from '../../domain/issuer-keys.ts';
import { z } from 'zod';
import { unsignedBounds, verifyAudit } from '../../audit/verify.ts';
import { assertMayTarget } from '../../domain/visibility.ts';
import { AppError } from '../../errors/catalogue.ts';
import { html, type Html } from '../html.ts';
import { formatDate, formatDateTime, translator, type MessageKey, type Translate } from '../i18n.ts';
import { cardsTable, page, rememberLang, sendPage } from '../layout.ts';
import { securitySection } from './security.ts';
import { listPasskeys } from '../../auth/passkeys.ts';
import { FormText, PageQuery } from './common.ts';
import { answerOffer, listMyOffers } from '../../domain/record-offers.ts';
import { invoiceHref, outcomeLabel, resultsTable, testTypeLabel } from './records.ts';
import { AUDIT_RETENTION_MONTHS } from '../../retention/schedule.ts';

const OfferParams = z.strictObject({ patientId: z.uuid() });
const PatientPageQuery = PageQuery.extend({
  offer: z.enum(['accepted', 'declined', 'mismatch', 'invalid']).optional(), reissue: z.enum(['done', 'step-up-needed', 'limit']).optional(),
  /** The history's next page: events before this one (its place in the trail). */
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
/** Audit events per page of the patient's history (own reads are counted, not listed, and repeats grouped). */
const ACCESS_PAGE = 100;
type PatientPageQuery = z.infer<typeof PatientPageQuery>;
const ProfessionalQuery = PageQuery.extend({ done: z.enum(['code-accepted', 'code-wrong', 'break-glass-opened', 'break-glass-ended']).optional() });
type ProfessionalQuery = z.infer<typeof ProfessionalQuery>;
const DpoQuery = PageQuery.extend({ done: z.enum(['reviewed', 'review-note-missing']).optional() });
type DpoQuery = z.infer<typeof DpoQuery>;

const WHO = new Set(['you', 'staff', 'api-key', 'professional', 'dpo', 'system', 'patient', 'anonymous', 'authenticating']);
/** Purposes (and reasons for a refusal) said in words; any other says "other reason", never its code. */
const WHY = new Set(['care', 'tenant-service', 'listing', 'search', 'own-record', 'national-reporting', 'other-tenant', 'not-own', 'no-care-relationship', 'unknown-resource', 'role', 'step-up', 'login', 'record-offer',
  'issuance', 'issuance-repeated', 'holder-request', 'patient-registration', 'result-notification', 'security', 'seed', 'governance']);
/** What an event did, in words: the first pattern that matches its action (never the raw code). */
const WHAT: readonly [RegExp, MessageKey][] = [
  [/^break-glass\.open$/, 'accessWhat_breakGlassOpen'], [/^break-glass\.end$/, 'accessWhat_breakGlassEnd'], [/^break-glass\./, 'accessWhat_breakGlassReview'],
  [/^patient\.protect/, 'accessWhat_protect'], [/^patient\./, 'accessWhat_record'],
  [/^result\.create$/, 'accessWhat_resultCreate'], [/^result\./, 'accessWhat_results'], [/^document\./, 'accessWhat_invoice'],
  [/^pass\.(issue|create)/, 'accessWhat_passIssue'], [/^pass\.(revoke|reissue)/, 'accessWhat_passRevoke'], [/^pass\./, 'accessWhat_pass'],
  [/^vaccination\.create$/, 'accessWhat_vaccinationCreate'], [/^vaccination\./, 'accessWhat_vaccination'], [/^(care|consent-code)\./, 'accessWhat_care'],
  [/^auth\.login-locked$/, 'accessWhat_loginLocked'], [/^auth\.login$/, 'accessWhat_login'], [/^auth\.otp-sent$/, 'accessWhat_code'],
  [/^auth\.passkey-registered$/, 'accessWhat_passkeyAdd'], [/^auth\.passkey-removed$/, 'accessWhat_passkeyRemove'], [/^auth\.lockdown$/, 'accessWhat_lockdown'],
  [/^auth\.step-up$/, 'accessWhat_identity'], [/^record-offer\.create$/, 'accessWhat_offer'], [/^record-offer\.read$/, 'accessWhat_offerSeen'], [/^record-offer\./, 'accessWhat_offerAnswer'], [/^report/, 'accessWhat_report'],
];
const whatOf = (action: string): MessageKey => WHAT.find(([re]) => re.test(action))?.[1] ?? 'accessWhat_other';

/** One line of "Who accessed my data": repeated identical events of one day are one line. */
interface AccessLine { newest: AccessEntry; oldest: AccessEntry; count: number; who: string; what: MessageKey; why: string }

/**
 * The history in words: who (a named professional, a pharmacy), what, why. The person's own reads
 * of their own data are counted, not listed (they drowned everything else); repeated reads are
 * grouped; emergencies and refusals stand out.
 */
function accessLines(t: Translate, entries: readonly AccessEntry[]): { lines: AccessLine[]; ownReads: number } {
  const lines: AccessLine[] = [];
  let ownReads = 0;
  for (const a of entries) {
    if (a.actorRole === 'you' && (a.purpose === 'own-record' || a.purpose === 'listing')) {
      ownReads += 1;
      continue;
    }
    const who = a.professional
      ? `${a.professional.name} — ${t(`profession_${a.professional.profession}` as MessageKey)}${a.professional.organisation ? `, ${a.professional.organisation}` : ''}`
      : `${t((WHO.has(a.actorRole) ? `accessWho_${a.actorRole}` : 'accessWho_system') as MessageKey)}${a.actorOrganisation ? ` — ${a.actorOrganisation}` : ''}`;
    const why = a.purpose === 'break-glass'
      ? t('accessWhy_break-glass', { reason: t(`reason_${a.reason ?? 'other'}` as MessageKey) })
      : WHY.has(a.purpose) ? t(`accessWhy_${a.purpose}` as MessageKey) : t('accessWhy_unlisted');
    const what = whatOf(a.action);
    const prev = lines.at(-1);
    if (prev && prev.who === who && prev.what === what && prev.why === why && prev.newest.outcome === a.outcome && prev.newest.highlight === a.highlight && prev.newest.at.slice(0, 10) === a.at.slice(0, 10)) {
      prev.count += 1;
      prev.oldest = a;
      continue;
    }
    lines.push({ newest: a, oldest: a, count: 1, who, what, why });
  }
  return { lines, ownReads };
}

function accessRow(t: Translate, lang: Lang, l: AccessLine): Html {
  const a = l.newest;
  const refused = a.outcome === 'denied';
  const mark = a.highlight ? 'break-glass' : refused ? 'refused' : null;
  const outcome = ['success', 'denied', 'failure'].includes(a.outcome) ? t(`accessOutcome_${a.outcome}` as MessageKey) : a.outcome;
  const when = l.count > 1 ? html`${formatDateTime(a.at, lang)}<br><span class="muted" data-count="${l.count}">${t('accessTimes', { count: l.count, from: formatDateTime(l.oldest.at, lang), to: formatDateTime(a.at, lang) })}</span>` : formatDateTime(a.at, lang);
  return html`<tr role="row"${mark ? html` class="highlight" data-highlight="${mark}"` : ''}><td role="cell" data-label="${t('when')}">${when}</td><td role="cell" data-label="${t('who')}">${a.highlight ? html`<strong>${t('accessEmergency')}</strong> — ` : refused ? html`<strong>${t('accessRefused')}</strong> — ` : ''}${l.who}</td><td role="cell" data-what="${a.action}" data-label="${t('what')}">${t(l.what)}</td><td role="cell" data-label="${t('why')}">${l.why}</td><td role="cell" data-label="${t('outcomeCol')}">${outcome}</td></tr>`;
}

interface Person { name: string; birthDate: string; ids: Set<string> }

/**
 * The people whose records a space holds, one per person: a parent's space holds their children's
 * records too, and one person tested at two pharmacies has two records (same name, same birth date).
 */
function peopleOf(records: readonly PatientView[]): Person[] {
  const people = new Map<string, Person>();
  for (const r of records) {
    const key = `${r.givenName}\u0000${r.familyName}\u0000${r.birthDate}`;
    const p = people.get(key) ?? { name: `${r.givenName} ${r.familyName}`, birthDate: r.birthDate, ids: new Set<string>() };
    p.ids.add(r.id);
    people.set(key, p);
  }
  return [...people.values()];
}

/** What a pass certifies, in words, from the result it was issued for. */
function certifies(t: Translate, lang: Lang, pass: PassView, results: readonly ResultView[]): string {
  const r = results.find((x) => x.id === pass.resultId);
  if (pass.kind === 'vaccination' || !r) return t('passCertifies_vaccination');
  const date = formatDateTime(r.sampledAt, lang);
  return pass.kind === 'recovery' ? t('passCertifies_recovery', { date })
    : t('passCertifies_test', { outcome: outcomeLabel(t, r.outcome).toLowerCase(), testType: testTypeLabel(t, r.testType), date });
}

/** One person's results (with the pharmacy), passes and invoices, under their name. */
function personSection(t: Translate, lang: Lang, i: number, person: Person, items: { results: readonly ResultView[]; passes: readonly PassView[]; documents: readonly DocumentSummary[]; pharmacies: ReadonlyMap<string, string> }): Html {
  const { results, passes, documents, pharmacies } = items;
  return html`<section aria-labelledby="person-${i}-h" data-person="${person.name}">
<h2 id="person-${i}-h">${person.name}</h2>
<p class="muted">${t('personBorn', { date: formatDate(person.birthDate, lang) })}</p>
<h3 id="results-h-${i}">${t('personResults')}</h3>
${resultsTable(t, lang, results, true, undefined, pharmacies)}
<h3 id="passes-h-${i}">${t('personPasses')}</h3>
${passes.length === 0 ? html`<p class="muted">${t('noPasses')}</p>` : html`<ul data-list="passes">${passes.map((x) => html`<li data-pass="${x.id}"><strong>${t(`passKind_${x.kind}`)}</strong> — ${person.name} — ${t('issuedAt')} ${formatDateTime(x.issuedAt, lang)}${x.revokedAt
    ? html` — <span class="muted" data-pass-revoked>${t('passRevoked')}</span>`
    : html`<br>${certifies(t, lang, x, results)}<br><span data-pass-until>${Date.parse(x.expiresAt) > Date.now() ? t('passAcceptedUntil', { date: formatDateTime(x.expiresAt, lang) }) : t('passExpired', { date: formatDateTime(x.expiresAt, lang) })}</span>
<br><img src="/api/passes/${x.id}/qr" alt="${t('passQrAlt')}" width="240" height="240"><br><a href="/api/passes/${x.id}/pdf" download data-pass-pdf>${t('passPdf')}</a>
<br><a href="/patient/passes/${x.id}/reissue" class="muted" data-pass-replace>${t('passReplaceLink')}</a>`}</li>`)}</ul>`}
<h3 id="invoices-h-${i}">${t('personInvoices')}</h3>
${documents.length === 0 ? html`<p class="muted">${t('noInvoices')}</p>` : html`<ul data-list="invoices">${documents.map((d) => html`<li><a href="${invoiceHref(d.id)}" download data-document-link>${t('invoice')} ${d.id.slice(0, 8).toUpperCase()}</a> — ${pharmacies.get(d.tenantId) ?? ''} — ${t('issuedAt')} ${formatDateTime(d.createdAt, lang)}</li>`)}</ul>`}
</section>`;
}

/** The patient's space, the professional's patients in care and the DPO's governance page. */
export const spacePageRoutes = [
  route<{ passId: string }, PageQuery>({
    method: 'GET', url: '/patient/passes/:passId/reissue', surface: 'web', auth: 'principal', policy: 'pass.read', produces: 'text/html',
    params: z.strictObject({ passId: z.uuid() }), query: PageQuery,
    summary: 'Confirmation before replacing a QR code: what revoking does, then the button (the POST below), or keep it.',
    async handler({ app, principal, requestId, params, lang, reply }) {
      // Someone else's pass answers 404 here too (the decision point, audited).
      await app.uow.read(principal, requestId, (w) => assertMayTarget(w, 'pass.read', 'passId', params.passId));
      const t = translator(lang);
      return sendPage(reply, page({
        lang, path: `/patient/passes/${params.passId}/reissue`, title: t('reissueConfirmTitle'), signedIn: true,
        main: html`<section data-reissue-confirm>
<p>${t('reissueConfirmWhat')}</p>
<p class="muted">${t('reissueConfirmLimit')}</p>
<form method="post" action="/patient/passes/${params.passId}/reissue" class="actions"><button type="submit" data-pass-reissue>${t('reissueConfirmButton')}</button><a href="/patient" data-reissue-cancel>${t('reissueCancel')}</a></form>
</section>`,
      }));
    },
  }),
  route<{ passId: string }>({
    method: 'POST', url: '/patient/passes/:passId/reissue', surface: 'web', auth: 'principal', policy: 'pass.reissue', produces: 'text/html', form: true,
    params: z.strictObject({ passId: z.uuid() }),
    summary: 'Revoke-and-reissue button of the patient space: on success, back to the space with the new QR code.',
    async handler({ app, principal, requestId, params, reply }) {
      const signer = await refreshSigner(app.db, app.fields, app.signer);
      try {
        await app.uow.run(principal, requestId, (w) => reissuePass(w, signer, params.passId));
      } catch (e) {
        // Refusals the holder can act on come back to the space with what to do.
        if (e instanceof AppError && e.code === 'step_up_required') return reply.redirect('/patient?reissue=step-up-needed', 303);
        if (e instanceof AppError && e.code === 'reissue_limit') return reply.redirect('/patient?reissue=limit', 303);
        throw e;
      }
      return reply.redirect('/patient?reissue=done', 303);
    },
  }),
  route<{ patientId: string }, undefined, { birthDate: string }>({
    method: 'POST', url: '/patient/record-offers/:patientId/accept', surface: 'web', auth: 'principal', policy: 'record-offer.answer', produces: 'text/html', form: true,
    params: OfferParams, body: z.strictObject({ birthDate: FormText }).transform((b) => ({ birthDate: b.birthDate ?? '' })),
    summary: 'Accept button of a record offered to the patient (with its birth date): back to the space with the outcome.',
    async handler({ app, principal, requestId, params, body, reply }) {
      // Something that is no date (a blank field) is not a guess: it must not count towards withdrawing the offer.
      const birthDate = body.birthDate.trim();
      if (!z.iso.date().safeParse(birthDate).success) {
        // Someone else's record still answers 404: authorize the target before judging the date.
        await app.uow.read(principal, requestId, (w) => assertMayTarget(w, 'record-offer.answer', 'patientId', params.patientId));
        return reply.redirect('/patient?offer=invalid', 303);
      }
      const r = await app.uow.run(principal, requestId, (w) => answerOffer(w, params.patientId, { accept: true, birthDate }));
      return reply.redirect(`/patient?offer=${r.status}`, 303);
    },
  }),
  route<{ patientId: string }>({
    method: 'POST', url: '/patient/record-offers/:patientId/decline', surface: 'web', auth: 'principal', policy: 'record-offer.answer', produces: 'text/html', form: true,
    params: OfferParams,
    summary: 'Decline button of a record offered to the patient: back to the space.',
    async handler({ app, principal, requestId, params, reply }) {
      const r = await app.uow.run(principal, requestId, (w) => answerOffer(w, params.patientId, { accept: false }));
      return reply.redirect(`/patient?offer=${r.status}`, 303);
    },
  }),
  route<undefined, PatientPageQuery>({
    method: 'GET', url: '/patient', surface: 'web', auth: 'principal', policy: 'result.list', produces: 'text/html', query: PatientPageQuery,
    summary: "The patient's space: own results, invoices, who accessed my data, passkeys.",
    async handler({ app, principal, requestId, lang, reply, query }) {
      rememberLang(app, reply, query);
      const { offers, records, results, documents, passes, accesses, passkeys } = await app.uow.run(principal, requestId, async (w) => ({
        offers: await listMyOffers(w), records: await listPatients(w), results: await listMyResults(w), documents: await listDocuments(w), passes: await listPasses(w),
        accesses: await myAccessLog(w, ACCESS_PAGE, query.before ?? null), passkeys: await listPasskeys(w),
      }));
      // Pharmacy names are public: which pharmacy tested whom is what the patient needs to see.
      const tenantIds = [...new Set([...results.map((r) => r.tenantId), ...documents.map((d) => d.tenantId)])];
      const pharmacies = new Map((tenantIds.length ? await app.db.query<{ id: string; name: string }>('SELECT id::text, name FROM tenant WHERE id::text = ANY(string_to_array($1, \',\'))', [tenantIds.join(',')]) : []).map((r) => [r.id, r.name]));
      const people = peopleOf(records);
      const t = translator(lang);
      const history = accessLines(t, accesses);
      const notice = query.offer ? ({ accepted: t('offerAccepted'), declined: t('offerDeclined'), mismatch: t('offerMismatch'), invalid: t('offerInvalidDate') } as const)[query.offer] : null;
      const reissueNotice = query.reissue ? ({ done: t('reissueDone'), 'step-up-needed': t('reissueStepUp'), limit: t('reissueLimit') } as const)[query.reissue] : null;
      return sendPage(reply, page({
        lang, path: '/patient', title: t('myTitle'), signedIn: true,
        main: html`${notice ? html`<p role="status" class="${query.offer === 'mismatch' || query.offer === 'invalid' ? 'error' : 'notice'}" data-offer-notice="${query.offer}">${notice}</p>` : ''}
${reissueNotice ? html`<p role="status" class="${query.reissue === 'done' ? 'notice' : 'alert'}" data-reissue-notice="${query.reissue}">${reissueNotice}</p>` : ''}
${offers.length === 0 ? '' : html`<section aria-labelledby="offers-h" data-list="record-offers">
<h2 id="offers-h">${t('offersTitle')}</h2>
<p class="muted">${t('offersIntro')}</p>
<ul>${offers.map((o) => html`<li data-offer="${o.patientId}">${t('offerFrom')} <strong>${o.pharmacy}</strong> — ${formatDateTime(o.offeredAt, lang)} — <span data-offer-initial>${t('offerInitial', { initial: o.initial })}</span>
<form method="post" action="/patient/record-offers/${o.patientId}/accept"><label>${t('birthDate')} <input type="date" name="birthDate" required></label> <button type="submit" data-offer-accept>${t('offerAccept')}</button></form>
<form method="post" action="/patient/record-offers/${o.patientId}/decline"><button type="submit" data-offer-decline>${t('offerDecline')}</button></form></li>`)}</ul>
</section>`}
<p><a href="/patient/care" data-care-link>${t('careLink')}</a></p>
${people.map((person, i) => personSection(t, lang, i, person, {
        results: results.filter((r) => person.ids.has(r.patientId)), passes: passes.filter((x) => person.ids.has(x.patientId)),
        documents: documents.filter((d) => person.ids.has(d.patientId)), pharmacies,
      }))}
<section aria-labelledby="access-h">
<h2 id="access-h">${t('accessLogTitle')}</h2>
<p class="muted">${t('accessLogIntro')}</p>
${history.lines.length === 0 ? html`<p class="muted">${t('noAccess')}</p>` : html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="access-h"><table data-table="access-log" class="cards" role="table">
<thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">${t('when')}</th><th scope="col" role="columnheader">${t('who')}</th><th scope="col" role="columnheader">${t('what')}</th><th scope="col" role="columnheader">${t('why')}</th><th scope="col" role="columnheader">${t('outcomeCol')}</th></tr></thead>
<tbody role="rowgroup">${history.lines.map((l) => accessRow(t, lang, l))}</tbody>
</table></div>`}
${history.ownReads > 0 ? html`<p class="muted" data-own-reads="${history.ownReads}">${t('accessOwnFolded', { count: history.ownReads })}</p>` : ''}
<p class="actions">${accesses.length === ACCESS_PAGE ? html`<a href="/patient?before=${accesses.at(-1)!.seq}#access-h" data-access-older>${t('accessOlder')}</a>` : ''}${query.before ? html`<a href="/patient#access-h">${t('accessNewest')}</a>` : ''}</p>
</section>
${securitySection(t, lang, principal, passkeys, query.security)}`,
      }));
    },
  }),
  route<undefined, ProfessionalQuery>({
    method: 'GET', url: '/professional', surface: 'web', auth: 'principal', policy: 'patient.list-in-care', produces: 'text/html', query: ProfessionalQuery,
    summary: "A health professional's page: the patients in their care, a patient's code to enter, emergency access and its history.",
    async handler({ app, principal, requestId, lang, reply, query }) {
      rememberLang(app, reply, query);
      const { patients, passkeys, emergencies } = await app.uow.run(principal, requestId, async (w) => ({ patients: await listPatientsInCare(w), passkeys: await listPasskeys(w), emergencies: await listMyBreakGlass(w, 20) }));
      const t = translator(lang);
      const notice = query.done ? ({ 'code-accepted': t('consentAccepted'), 'code-wrong': t('errConsentCode'), 'break-glass-ended': t('bgEndedNotice'),
        'break-glass-opened': emergencies[0] ? t('bgOpened', { when: formatDateTime(emergencies[0].expiresAt, lang) }) : '' } as const)[query.done] : null;
      const now = Date.now();
      return sendPage(reply, page({
        lang, path: '/professional', title: t('professionalTitle'), signedIn: true,
        main: html`${notice ? html`<p role="status" class="${query.done === 'code-wrong' ? 'alert' : 'notice'}" data-professional-notice="${query.done}">${notice}</p>` : ''}
<section>
<p class="muted">${t('professionalIntro')}</p>
${patients.length === 0 ? html`<p class="muted">${t('noPatients')}</p>` : cardsTable({
    name: 'patients', label: t('professionalTitle'), columns: [t('name'), t('birthDate')],
    rows: patients.map((p) => ({ cells: [html`<a href="/professional/patients/${p.id}" data-patient-link>${p.familyName} ${p.givenName}</a>`, formatDate(p.birthDate, lang)] })),
  })}
</section>
<section aria-labelledby="code-h">
<h2 id="code-h">${t('consentEnterTitle')}</h2>
<form method="post" action="/professional/consent-code" data-form="consent-code">
<p class="muted">${t('consentEnterIntro')}</p>
<div class="field"><label for="f-code">${t('consentCode')}</label><input id="f-code" name="code" type="text" autocomplete="off" autocapitalize="characters" maxlength="9" required></div>
<div class="actions"><button type="submit">${t('consentEnterButton')}</button></div>
</form>
</section>
<section aria-labelledby="bg-h">
<h2 id="bg-h">${t('bgMine')}</h2>
<p><a href="/professional/break-glass" data-break-glass-link>${t('bgLink')}</a></p>
${emergencies.length === 0 ? html`<p class="muted">${t('bgNone')}</p>` : html`<ul data-list="break-glass">${emergencies.map((b) => {
    const running = !b.endedAt && Date.parse(b.expiresAt) > now;
    return html`<li data-break-glass="${b.id}">${t(`reason_${b.reason}` as MessageKey)} — ${formatDateTime(b.openedAt, lang)} → ${formatDateTime(b.endedAt ?? b.expiresAt, lang)} — ${t(`bgReview_${b.reviewStatus}` as MessageKey)}${running
      ? html` — <a href="/professional/patients/${b.patientId}">${t('careRecord')}</a> <form method="post" action="/professional/break-glass/${b.id}/end" class="inline"><button type="submit" class="secondary" data-break-glass-end>${t('bgEnd')}</button></form>` : ''}</li>`;
  })}</ul>`}
</section>
${securitySection(t, lang, principal, passkeys, query.security)}`,
      }));
    },
  }),
  route<undefined, DpoQuery>({
    method: 'GET', url: '/dpo', surface: 'web', auth: 'principal', policy: 'audit.read', produces: 'text/html', query: DpoQuery,
    summary: "The data-protection officer's page: open access alerts, emergency accesses to review, audit-chain verification and recent audit events.",
    async handler({ app, principal, requestId, lang, reply, query }) {
      rememberLang(app, reply, query);
      const { events, passkeys, alerts, reviews } = await app.uow.run(principal, requestId, async (w) => ({
        events: await listAuditEvents(w, { limit: 50 }), passkeys: await listPasskeys(w),
        alerts: await listAlerts(w, { status: 'open', limit: 100, cursor: null }), reviews: await listBreakGlass(w, 'pending', 50),
      }));
      const verdict = await verifyAudit(app.db, app.keys, { unsigned: unsignedBounds(app.config, new Date()), pruned: { retentionMonths: AUDIT_RETENTION_MONTHS, now: new Date() } });
      const t = translator(lang);
      return sendPage(reply, page({
        lang, path: '/dpo', title: t('dpoTitle'), signedIn: true,
        main: html`${query.done ? html`<p role="status" class="${query.done === 'reviewed' ? 'notice' : 'alert'}" data-dpo-notice="${query.done}">${t(query.done === 'reviewed' ? 'reviewDone' : 'errNote')}</p>` : ''}
<section aria-labelledby="alerts-h" data-section="alerts">
<h2 id="alerts-h">${t('alertsTitle')}</h2>
<p class="muted">${t('alertsIntro')}</p>
${alerts.length === 0 ? html`<p class="muted">${t('alertsNone')}</p>` : cardsTable({
    name: 'alerts', labelledBy: 'alerts-h', columns: [t('alertOpened'), t('alertRule'), t('alertSeverity'), t('alertSubjects'), t('alertOpen')],
    rows: alerts.map((a) => ({ attrs: { 'data-alert': a.id, 'data-severity': a.severity }, cells: [formatDateTime(a.openedAt, lang), t(`rule_${a.rule}` as MessageKey), t(`severity_${a.severity}` as MessageKey), a.subjectRefs.length,
      html`<a href="/dpo/alerts/${a.id}">${t('alertOpen')}<span class="visually-hidden"> — ${t(`rule_${a.rule}` as MessageKey)}, ${formatDateTime(a.openedAt, lang)}</span></a>`] })),
  })}
</section>
<section aria-labelledby="reviews-h" data-section="break-glass-reviews">
<h2 id="reviews-h">${t('reviewTitle')}</h2>
${reviews.length === 0 ? html`<p class="muted">${t('reviewNone')}</p>` : html`<ul data-list="break-glass-reviews">${reviews.map((b) => html`<li data-break-glass="${b.id}">
<p><strong>${b.professional?.name ?? ''}</strong>${b.professional ? html` — ${t(`profession_${b.professional.profession}` as MessageKey)}${b.professional.organisation ? html`, ${b.professional.organisation}` : ''}` : ''} — ${formatDateTime(b.openedAt, lang)}</p>
<p>${t(`reason_${b.reason}` as MessageKey)} : « ${b.justification ?? ''} »</p>
<form method="post" action="/dpo/break-glass/${b.id}/review" data-form="review">
<div class="field"><label for="f-review-${b.id}">${t('alertNote')}</label><input id="f-review-${b.id}" name="note" type="text" maxlength="2000" required></div>
<div class="actions"><button type="submit" name="decision" value="accepted" class="secondary">${t('reviewAccept')}</button> <button type="submit" name="decision" value="rejected">${t('reviewReject')}</button></div>
</form></li>`)}</ul>`}
</section>
<section aria-labelledby="chain-h">
<h2 id="chain-h">${t('auditChain')}</h2>
${verdict.ok
    ? html`<p class="notice" data-audit-ok="true">${t('auditOk', { events: verdict.eventsChecked, checkpoints: verdict.checkpointsChecked })}</p>`
    : html`<p class="alert" data-audit-ok="false">${t('auditBad', { seq: verdict.firstBad?.seq ?? '?', problem: verdict.firstBad?.problem ?? '' })}</p>`}
</section>
<section aria-labelledby="events-h">
<h2 id="events-h">${t('recentEvents')}</h2>
${cardsTable({
    name: 'audit-events', labelledBy: 'events-h', columns: [t('seq'), t('when'), t('actor'), t('action'), t('subject'), t('purpose'), t('outcomeCol')],
    rows: events.map((e) => ({ cells: [e.seq, formatDateTime(e.at, lang), e.actorRole, e.action, e.subjectRef ?? t('none'), e.purpose, e.outcome] })),
  })}
</section>
${securitySection(t, lang, principal, passkeys, query.security)}`,
      }));
    },
  }),
];
