import { z } from 'zod';
import { route } from '../route.ts';
import type { App } from '../../app.ts';
import { acceptConsentCode, carePolicyFrom, createConsentCode, createRelationship, endRelationship, listRelationships, NewConsentCode, NewRelationship } from '../../domain/care.ts';
import { BreakGlassInput, BreakGlassReview, breakGlassPolicyFrom, endBreakGlass, listBreakGlass, listMyBreakGlass, noticeAddress, openBreakGlass, reviewBreakGlass } from '../../domain/break-glass.ts';
import { isValidRpps, lookupProfessional } from '../../domain/professionals.ts';
import { setProtected } from '../../domain/patients.ts';
import { breakGlassMail, sendLater } from '../../notify/security-notices.ts';

const carePolicy = (app: App) => carePolicyFrom(app.config);
const breakGlassPolicy = (app: App) => breakGlassPolicyFrom(app.config);

const RelationshipParams = z.strictObject({ relationshipId: z.uuid() });
const BreakGlassParams = z.strictObject({ breakGlassId: z.uuid() });
const PatientParams = z.strictObject({ patientId: z.uuid() });
const AcceptCode = z.strictObject({ code: z.string().min(1).max(20) });
const Protection = z.strictObject({ protected: z.boolean() });
const LookupQuery = z.strictObject({ rpps: z.string().refine(isValidRpps, 'invalid-rpps'), lang: z.enum(['fr', 'en']).optional() });
const ReviewQuery = z.strictObject({ status: z.enum(['pending', 'accepted', 'rejected', 'all']).default('pending'), lang: z.enum(['fr', 'en']).optional() });

/**
 * Governed access by health professionals: care relationships (created by the patient, or by the
 * professional entering the code the patient showed), break-the-glass openings, protected records.
 */
export const careRoutes = [
  route({
    method: 'GET', url: '/api/care-relationships', surface: 'professional', auth: 'principal', policy: 'care.list',
    summary: "Care relationships: a patient sees all of their records' (running and ended); a professional sees their running ones (the patients in their care).",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listRelationships(w)) };
    },
  }),
  route<undefined, undefined, NewRelationship>({
    method: 'POST', url: '/api/care-relationships', surface: 'patient', auth: 'principal', policy: 'care.create',
    summary: 'The patient puts one of their records in the care of a professional, named by RPPS number, until an end date (days; default and maximum are configuration). A running relationship with the same professional is replaced.',
    body: NewRelationship, successStatus: 201,
    async handler({ app, principal, requestId, body }) {
      return app.uow.run(principal, requestId, (w) => createRelationship(w, carePolicy(app), body));
    },
  }),
  route<{ relationshipId: string }>({
    method: 'POST', url: '/api/care-relationships/:relationshipId/end', surface: 'professional', auth: 'principal', policy: 'care.end',
    summary: "Ends a care relationship at once (the patient, or the professional): the professional's next request about that record answers 404.",
    params: RelationshipParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.run(principal, requestId, (w) => endRelationship(w, params.relationshipId));
    },
  }),
  route<undefined, undefined, NewConsentCode>({
    method: 'POST', url: '/api/consent-codes', surface: 'patient', auth: 'principal', policy: 'consent-code.create',
    summary: 'A short-lived, single-use code (and the same as a QR code on the page) that the patient shows a professional at the point of care: whoever enters it is put in care of that record.',
    body: NewConsentCode, successStatus: 201,
    async handler({ app, principal, requestId, body }) {
      return app.uow.run(principal, requestId, (w) => createConsentCode(w, carePolicy(app), body));
    },
  }),
  route<undefined, undefined, z.infer<typeof AcceptCode>>({
    method: 'POST', url: '/api/consent-codes/accept', surface: 'professional', auth: 'principal', policy: 'care.accept-code',
    summary: 'The professional enters the code the patient showed: the care relationship starts. A wrong, used or expired code answers 404 (and counts as a refused attempt).',
    body: AcceptCode, successStatus: 201,
    async handler({ app, principal, requestId, body }) {
      return app.uow.run(principal, requestId, (w) => acceptConsentCode(w, carePolicy(app), body.code));
    },
  }),
  route<undefined, z.infer<typeof LookupQuery>>({
    method: 'GET', url: '/api/professionals', surface: 'patient', auth: 'principal', policy: 'professional.lookup',
    summary: 'The professional with this RPPS number (patients choosing whom to put in care): one item or none, never a search.',
    query: LookupQuery,
    async handler({ app, principal, requestId, query }) {
      return { items: await app.uow.read(principal, requestId, (w) => lookupProfessional(w, query.rpps)) };
    },
  }),
  route<{ patientId: string }, undefined, BreakGlassInput>({
    method: 'POST', url: '/api/patients/:patientId/break-glass', surface: 'professional', auth: 'principal', policy: 'break-glass.open',
    summary: "Break the glass: a professional without a care relationship opens one patient's record in an emergency, with a coded reason and a written justification (at least 20 characters), and a second factor proved in the last 15 minutes (step_up_required otherwise). The record's usual routes then answer for a short time (expiresAt). The patient is told at once; the DPO reviews it. Over the daily limit of openings awaiting review: 429 break_glass_limit.",
    params: PatientParams, body: BreakGlassInput, successStatus: 201,
    async handler({ app, req, principal, requestId, params, body }) {
      const { view, notice } = await app.uow.run(principal, requestId, (w) => openBreakGlass(w, breakGlassPolicy(app), params.patientId, body));
      const to = await noticeAddress(app.db, app.fields, notice.patientId);
      if (to) sendLater(app.mailer, [breakGlassMail(to, notice, app.config.publicUrl)], req.log);
      return { id: view.id, patientId: view.patientId, expiresAt: view.expiresAt, reason: view.reason, openedAt: view.openedAt };
    },
  }),
  route({
    method: 'GET', url: '/api/me/break-glass', surface: 'professional', auth: 'principal', policy: 'break-glass.list',
    summary: "The professional's own emergency openings, newest first, with their review status.",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listMyBreakGlass(w)) };
    },
  }),
  route<{ breakGlassId: string }>({
    method: 'POST', url: '/api/break-glass/:breakGlassId/end', surface: 'professional', auth: 'principal', policy: 'break-glass.end',
    summary: 'The professional closes their emergency opening before it ends by itself.',
    params: BreakGlassParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.run(principal, requestId, (w) => endBreakGlass(w, params.breakGlassId));
    },
  }),
  route<undefined, z.infer<typeof ReviewQuery>>({
    method: 'GET', url: '/api/break-glass', surface: 'dpo', auth: 'principal', policy: 'break-glass.review',
    summary: "The DPO's review queue of emergency openings: pending ones oldest first (default), or decided ones newest first, each with the professional's justification.",
    query: ReviewQuery,
    async handler({ app, principal, requestId, query }) {
      return { items: await app.uow.read(principal, requestId, (w) => listBreakGlass(w, query.status === 'all' ? undefined : query.status)) };
    },
  }),
  route<{ breakGlassId: string }, undefined, BreakGlassReview>({
    method: 'POST', url: '/api/break-glass/:breakGlassId/review', surface: 'dpo', auth: 'principal', policy: 'break-glass.review',
    summary: "The DPO's decision on an emergency opening (accepted or rejected) with a note; final. Reviewed openings no longer count towards the professional's daily limit.",
    params: BreakGlassParams, body: BreakGlassReview,
    async handler({ app, principal, requestId, params, body }) {
      return app.uow.run(principal, requestId, (w) => reviewBreakGlass(w, params.breakGlassId, body.decision, body.note));
    },
  }),
  route<{ patientId: string }, undefined, z.infer<typeof Protection>>({
    method: 'POST', url: '/api/patients/:patientId/protection', surface: 'patient', auth: 'principal', policy: 'patient.protect',
    summary: "Marks a record protected, or not (its holder, or the DPO): a break-the-glass opening of a protected record raises a high alert at once.",
    params: PatientParams, body: Protection,
    async handler({ app, principal, requestId, params, body }) {
      return app.uow.run(principal, requestId, (w) => setProtected(w, params.patientId, body.protected));
    },
  }),
];
