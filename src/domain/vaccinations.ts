import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown } from './work.ts';
import { asResource, loadFacts } from './facts.ts';
import { AppError } from '../errors/catalogue.ts';
import { PANDEMIC_START } from './dates.ts';
import { PAD } from '../crypto/fields.ts';

/**
 * COVID-19 vaccines authorised in the EU, as coded in the EU DCC value sets
 * (vaccines-covid-19-names → marketing-authorisation holder and prophylaxis type). The pharmacy
 * picks the product; the rest of the coding follows from it, so it cannot be inconsistent.
 */
export const VACCINES = {
  'EU/1/20/1528': { name: 'Comirnaty', ma: 'ORG-100030215', vp: '1119349007' },
  'EU/1/20/1507': { name: 'Spikevax', ma: 'ORG-100031184', vp: '1119349007' },
  'EU/1/21/1529': { name: 'Vaxzevria', ma: 'ORG-100001699', vp: '29061000087103' },
  'EU/1/20/1525': { name: 'Jcovden', ma: 'ORG-100001417', vp: '29061000087103' },
  'EU/1/21/1618': { name: 'Nuvaxovid', ma: 'ORG-100032020', vp: '1162643001' },
  'EU/1/21/1580': { name: 'VidPrevtyn Beta', ma: 'ORG-100000788', vp: '1162643001' },
  'EU/1/22/1709': { name: 'Bimervax', ma: 'ORG-100036914', vp: '1162643001' },
  'EU/1/21/1624': { name: 'COVID-19 Vaccine Valneva', ma: 'ORG-100036422', vp: '1157024006' },
} as const;
export type VaccineProduct = keyof typeof VACCINES;
const PRODUCTS = Object.keys(VACCINES) as [VaccineProduct, ...VaccineProduct[]];

export const VaccinationInput = z.strictObject({
  product: z.enum(PRODUCTS),
  /** Dose number and doses in the series, as the EU guidelines encode them (a booster after 2 doses is 3/3). */
  doseNumber: z.int().min(1).max(9),
  seriesDoses: z.int().min(1).max(9),
  administeredOn: z.iso.date().refine((d) => d >= PANDEMIC_START, 'before-2020'),
});
export type VaccinationInput = z.infer<typeof VaccinationInput>;

export interface VaccinationView {
  id: string;
  patientId: string;
  tenantId: string;
  product: VaccineProduct;
  productName: string;
  doseNumber: number;
  seriesDoses: number;
  administeredOn: string;
  recordedAt: string;
}

type Row = { id: string; patient_id: string; tenant_id: string; details_enc: string; created_at: Date };
const detailsCtx = (id: string) => `vaccination.details:${id}`;

export async function recordVaccination(w: Work, patientId: string, input: VaccinationInput, idempotencyKey: string | null): Promise<VaccinationView & { replayed: boolean }> {
  const facts = await loadFacts(w.tx, 'patient', patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'vaccination.create', target);
  w.access('vaccination.create', asResource('patient', patientId, facts), target);
  // Paris day of today at the latest: a dose is recorded after it is given.
  if (input.administeredOn > new Date(w.now.getTime() + 14 * 3_600_000).toISOString().slice(0, 10)) {
    throw new AppError('invalid_request', [{ path: 'administeredOn', code: 'in-future' }]);
  }
  if (idempotencyKey) {
    const [prior] = await w.tx.query<Row>('SELECT * FROM vaccination WHERE tenant_id = $1 AND idempotency_key = $2', [facts.tenantId, idempotencyKey]);
    if (prior) {
      if (prior.patient_id !== patientId) throw new AppError('conflict');
      const view = toView(w, prior);
      // The same key with another dose is a client's mistake, not a retry: refuse it rather than answer with the first.
      if (view.product !== input.product || view.doseNumber !== input.doseNumber || view.seriesDoses !== input.seriesDoses || view.administeredOn !== input.administeredOn) throw new AppError('conflict');
      return { ...view, replayed: true };
    }
  }
  const id = randomUUID();
  const details = JSON.stringify({ product: input.product, doseNumber: input.doseNumber, seriesDoses: input.seriesDoses, administeredOn: input.administeredOn });
  await w.tx.query(
    'INSERT INTO vaccination (id, tenant_id, patient_id, details_enc, recorded_by, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, facts.tenantId, patientId, w.fields.encrypt(detailsCtx(id), details, { padTo: PAD.details }), w.actor.id, idempotencyKey, w.now],
  );
  w.record({ action: 'vaccination.create', resourceType: 'Immunization', resourceId: id, subjectRef: facts.subjectRef, purpose: 'tenant-service', outcome: 'success', tenantId: facts.tenantId });
  return {
    id, patientId, tenantId: facts.tenantId, product: input.product, productName: VACCINES[input.product].name, doseNumber: input.doseNumber,
    seriesDoses: input.seriesDoses, administeredOn: input.administeredOn, recordedAt: w.now.toISOString(), replayed: false,
  };
}

export async function getVaccination(w: Work, id: string): Promise<VaccinationView> {
  const facts = await loadFacts(w.tx, 'vaccination', id, w.now);
  const target = { resourceType: 'Immunization', resourceId: id, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'vaccination.read', target);
  w.access('vaccination.read', asResource('vaccination', id, facts), target);
  const [row] = await w.tx.query<Row>('SELECT * FROM vaccination WHERE id = $1', [id]);
  return toView(w, row!);
}

/** A patient's vaccinations, for whoever may read the record (a pharmacy sees only those it recorded). */
export async function listPatientVaccinations(w: Work, patientId: string): Promise<VaccinationView[]> {
  const facts = await loadFacts(w.tx, 'patient', patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'vaccination.list', target);
  w.access('vaccination.list', asResource('patient', patientId, facts), target);
  const rows = w.actor.role === 'staff' || w.actor.role === 'api-key'
    ? await w.tx.query<Row>('SELECT * FROM vaccination WHERE patient_id = $1 AND tenant_id = $2 ORDER BY created_at DESC', [patientId, w.actor.tenantId])
    : await w.tx.query<Row>('SELECT * FROM vaccination WHERE patient_id = $1 ORDER BY created_at DESC', [patientId]);
  return rows.map((r) => toView(w, r)).sort((a, b) => b.administeredOn.localeCompare(a.administeredOn));
}

function toView(w: Work, r: Row): VaccinationView {
  const d = JSON.parse(w.fields.decrypt(detailsCtx(r.id), r.details_enc)) as { product: VaccineProduct; doseNumber: number; seriesDoses: number; administeredOn: string };
  return {
    id: r.id, patientId: r.patient_id, tenantId: r.tenant_id, product: d.product, productName: VACCINES[d.product].name,
    doseNumber: d.doseNumber, seriesDoses: d.seriesDoses, administeredOn: d.administeredOn, recordedAt: new Date(r.created_at).toISOString(),
  };
}

/** A vaccination with its pharmacy's name, for pass issuance; the caller has already been authorized. */
export async function vaccinationForPass(w: Work, id: string): Promise<VaccinationView & { tenantName: string }> {
  const [row] = await w.tx.query<Row & { tenant_name: string }>('SELECT v.*, t.name AS tenant_name FROM vaccination v JOIN tenant t ON t.id = v.tenant_id WHERE v.id = $1', [id]);
  return { ...toView(w, row!), tenantName: row!.tenant_name };
}
