import { z } from 'zod';
import { route } from '../route.ts';
import { idempotencyKeyOf } from '../idempotency.ts';
import { getVaccination, listPatientVaccinations, recordVaccination, VaccinationInput } from '../../domain/vaccinations.ts';
import { issueVaccinationPass } from '../../domain/passes.ts';
import { refreshSigner } from '../../domain/issuer-keys.ts';
import { answerIssued } from './passes.ts';

const PatientParams = z.strictObject({ patientId: z.uuid() });
const VaccinationParams = z.strictObject({ vaccinationId: z.uuid() });

/** Vaccinations recorded by a pharmacy, and the vaccination passes issued from them. */
export const vaccinationRoutes = [
  route<{ patientId: string }, undefined, VaccinationInput>({
    method: 'POST', url: '/api/patients/:patientId/vaccinations', surface: 'records', auth: 'principal', policy: 'vaccination.create',
    summary: 'Records a COVID-19 vaccination given at the pharmacy (product from the EU value set; dose n of the series). An Idempotency-Key header makes retries safe.',
    params: PatientParams, body: VaccinationInput, successStatus: 201,
    async handler({ app, principal, requestId, params, body, req, reply }) {
      const key = idempotencyKeyOf(req);
      const { replayed, ...view } = await app.uow.run(principal, requestId, (w) => recordVaccination(w, params.patientId, body, key));
      if (replayed) reply.status(200);
      return view;
    },
  }),
  route<{ patientId: string }>({
    method: 'GET', url: '/api/patients/:patientId/vaccinations', surface: 'records', auth: 'principal', policy: 'vaccination.list',
    summary: "A patient's vaccinations (a pharmacy sees only those it recorded; a professional only with a care relationship).", params: PatientParams,
    async handler({ app, principal, requestId, params }) {
      return { items: await app.uow.read(principal, requestId, (w) => listPatientVaccinations(w, params.patientId)) };
    },
  }),
  route<{ vaccinationId: string }>({
    method: 'GET', url: '/api/vaccinations/:vaccinationId', surface: 'records', auth: 'principal', policy: 'vaccination.read',
    summary: 'One vaccination.', params: VaccinationParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.read(principal, requestId, (w) => getVaccination(w, params.vaccinationId));
    },
  }),
  route<{ vaccinationId: string }, undefined, Record<string, never>>({
    method: 'POST', url: '/api/vaccinations/:vaccinationId/passes', surface: 'records', auth: 'principal', policy: 'pass.issue',
    summary: 'Issues an EU DCC vaccination pass from a recorded vaccination (valid a year). One valid pass per vaccination: issuing again answers the existing one with 200.',
    params: VaccinationParams, body: z.strictObject({}), successStatus: 201,
    async handler({ app, principal, requestId, params, reply }) {
      const signer = await refreshSigner(app.db, app.fields, app.signer);
      return answerIssued(reply, await app.uow.run(principal, requestId, (w) => issueVaccinationPass(w, signer, params.vaccinationId)));
    },
  }),
];
