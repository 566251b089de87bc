import { route } from '../../http/route.ts';
import { listMyResults } from '../../domain/results.ts';
import { listDocuments } from '../../domain/documents.ts';
import { listAuditEvents, myAccessLog } from '../../domain/access-log.ts';
import { listPatientsInCare } from '../../domain/patients.ts';
import { listPasses, reissuePass } from '../../domain/passes.ts';
import { refreshSigner } from '../../domain/issuer-keys.ts';
import { z } from 'zod';
import { unsignedBounds, verifyAudit } from '../../audit/verify.ts';
import { assertMayTarget } from '../../domain/visibility.ts';
import { AppError } from '../../errors/catalogue.ts';
import { html } from '../html.ts';
import { formatDate, formatDateTime, translator } from '../i18n.ts';
import { page, rememberLang, sendPage } from '../layout.ts';
import { securitySection } from './security.ts';
import { listPasskeys } from '../../auth/passkeys.ts';
import { FormText, PageQuery } from './common.ts';
import { answerOffer, listMyOffers } from '../../domain/record-offers.ts';
import { invoiceHref, resultsTable } from './records.ts';

const OfferParams = z.strictObject({ patientId: z.uuid() });
const PatientPageQuery = PageQuery.extend({ offer: z.enum(['accepted', 'declined', 'mismatch', 'invalid']).optional(), reissue: z.enum(['done', 'step-up-needed', 'limit']).optional() });
type PatientPageQuery = z.infer<typeof PatientPageQuery>;

/** The patient's space, the professional's patients in care and the DPO's governance page. */
export const spacePageRoutes = [
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
      const { offers, results, documents, passes, accesses, passkeys } = await app.uow.run(principal, requestId, async (w) => ({
        offers: await listMyOffers(w), results: await listMyResults(w), documents: await listDocuments(w), passes: await listPasses(w), accesses: await myAccessLog(w, 50),
        passkeys: await listPasskeys(w),
      }));
      const t = translator(lang);
      const notice = query.offer ? ({ accepted: t('offerAccepted'), declined: t('offerDeclined'), mismatch: t('offerMismatch'), invalid: t('offerInvalidDate') } as const)[query.offer] : null;
      const reissueNotice = query.reissue ? ({ done: t('reissueDone'), 'step-up-needed': t('reissueStepUp'), limit: t('reissueLimit') } as const)[query.reissue] : null;
      return sendPage(reply, page({
        lang, path: '/patient', title: t('myTitle'), signedIn: true,
        main: html`${notice ? html`<p role="status" class="${query.offer === 'mismatch' || query.offer === 'invalid' ? 'error' : 'notice'}" data-offer-notice="${query.offer}">${notice}</p>` : ''}
${reissueNotice ? html`<p role="status" class="${query.reissue === 'done' ? 'notice' : 'alert'}" data-reissue-notice="${query.reissue}">${reissueNotice}</p>` : ''}
${offers.length === 0 ? '' : html`<section aria-labelledby="offers-h" data-list="record-offers">
<h2 id="offers-h">${t('offersTitle')}</h2>
<p class="muted">${t('offersIntro')}</p>
<ul>${offers.map((o) => html`<li data-offer="${o.patientId}">${t('offerFrom')} <strong>${o.pharmacy}</strong> — ${formatDateTime(o.offeredAt, lang)}
<form method="post" action="/patient/record-offers/${o.patientId}/accept"><label>${t('birthDate')} <input type="date" name="birthDate" required></label> <button type="submit" data-offer-accept>${t('offerAccept')}</button></form>
<form method="post" action="/patient/record-offers/${o.patientId}/decline"><button type="submit" data-offer-decline>${t('offerDecline')}</button></form></li>`)}</ul>
</section>`}
<section aria-labelledby="results-h">
<h2 id="results-h">${t('myResults')}</h2>
${resultsTable(t, lang, results, true)}
</section>
<section aria-labelledby="invoices-h">
<h2 id="invoices-h">${t('myInvoices')}</h2>
${documents.length === 0 ? html`<p class="muted">${t('noInvoices')}</p>` : html`<ul data-list="invoices">${documents.map((d) => html`<li><a href="${invoiceHref(d.id)}" download data-document-link>${t('invoice')} ${d.id.slice(0, 8).toUpperCase()}</a> — ${t('issuedAt')} ${formatDateTime(d.createdAt, lang)}</li>`)}</ul>`}
</section>
<section aria-labelledby="passes-h">
<h2 id="passes-h">${t('myPasses')}</h2>
${passes.length === 0 ? html`<p class="muted">${t('noPasses')}</p>` : html`<p class="muted">${t('passReissueHelp')}</p><ul data-list="passes">${passes.map((x) => html`<li data-pass="${x.id}"><strong>${t(`passKind_${x.kind}`)}</strong> — ${t('issuedAt')} ${formatDateTime(x.issuedAt, lang)}${x.revokedAt
    ? html` — <span class="muted" data-pass-revoked>${t('passRevoked')}</span>`
    : html`<br><img src="/api/passes/${x.id}/qr" alt="${t('passQrAlt')}" width="240" height="240"><br><a href="/api/passes/${x.id}/pdf" download data-pass-pdf>${t('passPdf')}</a>
<form method="post" action="/patient/passes/${x.id}/reissue"><button type="submit" data-pass-reissue>${t('passReissue')}</button></form>`}</li>`)}</ul>`}
</section>
<section aria-labelledby="access-h">
<h2 id="access-h">${t('accessLogTitle')}</h2>
<p class="muted">${t('accessLogIntro')}</p>
${accesses.length === 0 ? html`<p class="muted">${t('noAccess')}</p>` : html`<div class="table-wrap"><table data-table="access-log">
<thead><tr><th scope="col">${t('when')}</th><th scope="col">${t('who')}</th><th scope="col">${t('what')}</th><th scope="col">${t('why')}</th><th scope="col">${t('outcomeCol')}</th></tr></thead>
<tbody>${accesses.map((a) => html`<tr><td>${formatDateTime(a.at, lang)}</td><td>${a.actorRole === 'you' ? t('you') : a.actorRole}${a.actorOrganisation ? html` — ${a.actorOrganisation}` : ''}</td><td>${a.action}</td><td>${a.purpose}</td><td>${a.outcome}</td></tr>`)}</tbody>
</table></div>`}
</section>
${securitySection(t, lang, principal, passkeys, query.security)}`,
      }));
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/professional', surface: 'web', auth: 'principal', policy: 'patient.list-in-care', produces: 'text/html', query: PageQuery,
    summary: "A health professional's page: the patients in their care.",
    async handler({ app, principal, requestId, lang, reply, query }) {
      rememberLang(app, reply, query);
      const { patients, passkeys } = await app.uow.run(principal, requestId, async (w) => ({ patients: await listPatientsInCare(w), passkeys: await listPasskeys(w) }));
      const t = translator(lang);
      return sendPage(reply, page({
        lang, path: '/professional', title: t('professionalTitle'), signedIn: true,
        main: html`<section>
<p class="muted">${t('professionalIntro')}</p>
${patients.length === 0 ? html`<p class="muted">${t('noPatients')}</p>` : html`<div class="table-wrap"><table data-table="patients">
<thead><tr><th scope="col">${t('name')}</th><th scope="col">${t('birthDate')}</th></tr></thead>
<tbody>${patients.map((p) => html`<tr><td><a href="/professional/patients/${p.id}" data-patient-link>${p.familyName} ${p.givenName}</a></td><td>${formatDate(p.birthDate, lang)}</td></tr>`)}</tbody>
</table></div>`}
</section>
${securitySection(t, lang, principal, passkeys, query.security)}`,
      }));
    },
  }),
  route<undefined, PageQuery>({
    method: 'GET', url: '/dpo', surface: 'web', auth: 'principal', policy: 'audit.read', produces: 'text/html', query: PageQuery,
    summary: "The data-protection officer's page: audit-chain verification and recent audit events.",
    async handler({ app, principal, requestId, lang, reply, query }) {
      rememberLang(app, reply, query);
      const { events, passkeys } = await app.uow.run(principal, requestId, async (w) => ({ events: await listAuditEvents(w, { limit: 50 }), passkeys: await listPasskeys(w) }));
      const verdict = await verifyAudit(app.db, app.keys, { unsigned: unsignedBounds(app.config, new Date()) });
      const t = translator(lang);
      return sendPage(reply, page({
        lang, path: '/dpo', title: t('dpoTitle'), signedIn: true,
        main: html`<section aria-labelledby="chain-h">
<h2 id="chain-h">${t('auditChain')}</h2>
${verdict.ok
    ? html`<p class="notice" data-audit-ok="true">${t('auditOk', { events: verdict.eventsChecked, checkpoints: verdict.checkpointsChecked })}</p>`
    : html`<p class="alert" data-audit-ok="false">${t('auditBad', { seq: verdict.firstBad?.seq ?? '?', problem: verdict.firstBad?.problem ?? '' })}</p>`}
</section>
<section aria-labelledby="events-h">
<h2 id="events-h">${t('recentEvents')}</h2>
<div class="table-wrap"><table data-table="audit-events">
<thead><tr><th scope="col">${t('seq')}</th><th scope="col">${t('when')}</th><th scope="col">${t('actor')}</th><th scope="col">${t('action')}</th><th scope="col">${t('subject')}</th><th scope="col">${t('purpose')}</th><th scope="col">${t('outcomeCol')}</th></tr></thead>
<tbody>${events.map((e) => html`<tr><td>${e.seq}</td><td>${formatDateTime(e.at, lang)}</td><td>${e.actorRole}</td><td>${e.action}</td><td>${e.subjectRef ?? t('none')}</td><td>${e.purpose}</td><td>${e.outcome}</td></tr>`)}</tbody>
</table></div>
</section>
${securitySection(t, lang, principal, passkeys, query.security)}`,
      }));
    },
  }),
];
