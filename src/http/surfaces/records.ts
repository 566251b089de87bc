import { z } from 'zod';
import { route } from '../route.ts';
import { getPatient, listPatients, registerPatient, PatientInput } from '../../domain/patients.ts';
import { findTenantPatients, PageCursor, planSearch, SearchText } from '../../domain/patient-search.ts';
import { getResult, listMyResults, listPatientResults, recordResult, ResultInput } from '../../domain/results.ts';
import { getDocument, listDocuments } from '../../domain/documents.ts';
import { AppError } from '../../errors/catalogue.ts';
import { patientAccountFor } from '../../domain/patient-accounts.ts';
import { idempotencyKeyOf } from '../idempotency.ts';

const PatientParams = z.strictObject({ patientId: z.uuid() });
const API_PAGE = 200;
const ListQuery = z.strictObject({ after: PageCursor.optional(), lang: z.enum(['fr', 'en']).optional() });
const SearchBody = z.strictObject({ q: SearchText.min(1), after: PageCursor.optional() });
const ResultParams = z.strictObject({ resultId: z.uuid() });
const DocumentParams = z.strictObject({ documentId: z.uuid() });

/**
 * Clinical records, one route per resource for every principal: who may see what is decided by
 * the policy on the record's facts, never by which URL was used.
 */
export const recordRoutes = [
  route<undefined, undefined, PatientInput>({
    method: 'POST', url: '/api/patients', surface: 'records', auth: 'principal', policy: 'patient.create',
    summary: "Registers a patient at the caller's pharmacy (staff or API key with patients:write).",
    body: PatientInput, successStatus: 201,
    async handler({ app, principal, requestId, body }) {
      return app.uow.run(principal, requestId, (w) => registerPatient(w, body, () => patientAccountFor(app, w, body.email, `${body.givenName} ${body.familyName}`)));
    },
  }),
  route<undefined, z.infer<typeof ListQuery>>({
    method: 'GET', url: '/api/patients', surface: 'records', auth: 'principal', policy: 'patient.list', query: ListQuery,
    summary: "Patients the caller may see: a pharmacy's own (newest first, 200 a page: `next` is the `after` of the next page), a professional's patients in care, a patient's own records.",
    async handler({ app, principal, requestId, query }) {
      if (principal.role === 'staff' || principal.role === 'api-key') {
        return app.uow.read(principal, requestId, (w) => findTenantPatients(w, { ...(query.after ? { after: query.after } : {}), limit: API_PAGE }));
      }
      if (query.after) throw new AppError('invalid_request', [{ path: 'query.after', code: 'not-paged' }]);
      return { items: await app.uow.read(principal, requestId, (w) => listPatients(w)), next: null };
    },
  }),
  route<undefined, undefined, z.infer<typeof SearchBody>>({
    method: 'POST', url: '/api/patients/search', surface: 'records', auth: 'principal', policy: 'patient.list', body: SearchBody,
    summary: "Finds the pharmacy's patients by name (first letters of any word), birth date or registration code, newest first (staff or API key with patients:read). A POST, so that names stay out of addresses and logs.",
    async handler({ app, principal, requestId, body }) {
      const plan = planSearch(body.q);
      if (!plan) throw new AppError('invalid_request', [{ path: 'body.q', code: 'nothing-to-search' }]);
      return app.uow.read(principal, requestId, (w) => findTenantPatients(w, { q: plan, ...(body.after ? { after: body.after } : {}), limit: API_PAGE }));
    },
  }),
  route<{ patientId: string }>({
    method: 'GET', url: '/api/patients/:patientId', surface: 'records', auth: 'principal', policy: 'patient.read',
    summary: 'One patient record (social-security number masked).', params: PatientParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.read(principal, requestId, (w) => getPatient(w, params.patientId));
    },
  }),
  route<{ patientId: string }>({
    method: 'GET', url: '/api/patients/:patientId/results', surface: 'records', auth: 'principal', policy: 'result.list',
    summary: "A patient's test results (a pharmacy sees only the results it recorded).", params: PatientParams,
    async handler({ app, principal, requestId, params }) {
      return { items: await app.uow.read(principal, requestId, (w) => listPatientResults(w, params.patientId)) };
    },
  }),
  route<{ patientId: string }, undefined, ResultInput>({
    method: 'POST', url: '/api/patients/:patientId/results', surface: 'records', auth: 'principal', policy: 'result.create',
    summary: 'Records a test result and its invoice. An Idempotency-Key header makes retries safe.', params: PatientParams, body: ResultInput,
    successStatus: 201,
    async handler({ app, principal, requestId, params, body, req, reply }) {
      const key = idempotencyKeyOf(req);
      const out = await app.uow.run(principal, requestId, (w) => recordResult(w, params.patientId, body, key));
      const { replayed, ...view } = out;
      if (replayed) reply.status(200);
      return view;
    },
  }),
  route({
    method: 'GET', url: '/api/results', surface: 'records', auth: 'principal', policy: 'result.list',
    summary: "The logged-in patient's own results, at every pharmacy.",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listMyResults(w)) };
    },
  }),
  route<{ resultId: string }>({
    method: 'GET', url: '/api/results/:resultId', surface: 'records', auth: 'principal', policy: 'result.read',
    summary: 'One test result.', params: ResultParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.read(principal, requestId, (w) => getResult(w, params.resultId));
    },
  }),
  route({
    method: 'GET', url: '/api/documents', surface: 'records', auth: 'principal', policy: 'document.list',
    summary: "Documents (invoices): a patient's own, or a pharmacy's.",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listDocuments(w)) };
    },
  }),
  route<{ documentId: string }>({
    method: 'GET', url: '/api/documents/:documentId', surface: 'records', auth: 'principal', policy: 'document.read',
    summary: 'Downloads a document (PDF): only the patient it is about and the pharmacy that issued it.', params: DocumentParams,
    produces: 'application/pdf',
    async handler({ app, principal, requestId, params, reply, lang }) {
      const doc = await app.uow.read(principal, requestId, (w) => getDocument(w, params.documentId));
      // Named in the reader's language (documents are invoices).
      const filename = lang === 'fr' ? doc.filename.replace(/^invoice-/, 'facture-') : doc.filename;
      return reply.type(doc.mediaType).header('content-disposition', `attachment; filename="${filename}"`).send(doc.bytes);
    },
  }),
];
