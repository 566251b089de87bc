import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Work } from './work.ts';
import { denyUnknown } from './work.ts';
import { asResource, loadFacts, loadFactsWith } from './facts.ts';
import { AppError } from '../errors/catalogue.ts';
import { OUTBOX_COLUMNS, OUTBOX_IDENTITY_COLUMNS, resultOutboxRows, type OutboxIdentity } from '../reporting/outbox.ts';
import { PANDEMIC_START } from './dates.ts';
import { PAD } from '../crypto/fields.ts';
import { isRatDevice, RAT_DEVICES } from './rat-devices.ts';

export const TEST_TYPES = ['antigen', 'pcr'] as const;
export const OUTCOMES = ['negative', 'positive', 'inconclusive'] as const;

export const ResultInput = z.strictObject({
  testType: z.enum(TEST_TYPES),
  outcome: z.enum(OUTCOMES),
  sampledAt: z.iso.datetime({ offset: true }).refine((s) => Date.parse(s) >= Date.parse(PANDEMIC_START), 'before-2020'),
  /** For an antigen test, the device used: its code in the EU common list (`1232`…), named on the test pass. */
  device: z.string().max(10).optional(),
}).superRefine((r, ctx) => {
  if (r.testType === 'antigen' && r.device === undefined) ctx.addIssue({ code: 'custom', path: ['device'], message: 'device-required' });
  else if (r.testType === 'antigen' && !isRatDevice(r.device!)) ctx.addIssue({ code: 'custom', path: ['device'], message: 'unknown-device' });
  else if (r.testType !== 'antigen' && r.device !== undefined) ctx.addIssue({ code: 'custom', path: ['device'], message: 'device-for-antigen-only' });
});
export type ResultInput = z.infer<typeof ResultInput>;

/** Prices charged for the tests (EUR cents); the invoice is the patient's proof of payment. */
export const PRICES: Record<(typeof TEST_TYPES)[number], number> = { antigen: 2500, pcr: 4389 };

export interface ResultView {
  id: string;
  patientId: string;
  tenantId: string;
  testType: (typeof TEST_TYPES)[number];
  outcome: (typeof OUTCOMES)[number];
  sampledAt: string;
  recordedAt: string;
  invoiceId: string | null;
  /** The antigen test device (EU code) and its name; null for a PCR, or an antigen result recorded before devices were asked. */
  device: string | null;
  deviceName: string | null;
}

type ResultRow = { id: string; patient_id: string; tenant_id: string; test_type_enc: string; outcome_enc: string; sampled_at_enc: string; device_enc: string | null; created_at: Date; invoice_id: string | null };

const SELECT = `SELECT r.id, r.patient_id, r.tenant_id, r.test_type_enc, r.outcome_enc, r.sampled_at_enc, r.device_enc, r.created_at,
  (SELECT d.id FROM document d WHERE d.result_id = r.id AND d.kind = 'invoice' LIMIT 1) AS invoice_id FROM test_result r`;

/** Where each sealed fact of a result lives (the associated data binds it to its row and column). */
export const resultCtx = { testType: (id: string) => `result.test_type:${id}`, sampledAt: (id: string) => `result.sampled_at:${id}`, outcome: (id: string) => `result.outcome:${id}`, device: (id: string) => `result.device:${id}` };

/**
 * Records a result against a patient of the acting tenant, with its invoice and its outbox rows (national
 * report, patient notification), in one transaction. A replayed Idempotency-Key returns the first result
 * and writes nothing.
 */
export async function recordResult(w: Work, patientId: string, input: ResultInput, idempotencyKey: string | null): Promise<ResultView & { replayed: boolean }> {
  // The identity the national report freezes comes with the facts (one lookup); it is used only
  // after the decision point allowed the access.
  const found = await loadFactsWith<OutboxIdentity>(w.tx, 'patient', patientId, w.now, OUTBOX_IDENTITY_COLUMNS);
  const facts = found?.facts;
  const target = { resourceType: 'Observation', resourceId: null, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'result.create', { ...target, resourceType: 'Patient', resourceId: patientId });
  w.access('result.create', asResource('patient', patientId, facts), { ...target, resourceType: 'Patient', resourceId: patientId });
  const sampledAt = new Date(input.sampledAt);
  if (sampledAt.getTime() > w.now.getTime() + 5 * 60_000) throw new AppError('invalid_request', [{ path: 'sampledAt', code: 'in-future' }]);
  if (idempotencyKey) {
    const [prior] = await w.tx.query<ResultRow>(`${SELECT} WHERE r.tenant_id = $1 AND r.idempotency_key = $2`, [facts.tenantId, idempotencyKey]);
    if (prior) {
      if (prior.patient_id !== patientId) throw new AppError('conflict');
      const view = toView(w, prior);
      // The same key with another result is a client's mistake, not a retry: refuse it rather than answer with the first.
      if (view.testType !== input.testType || view.outcome !== input.outcome || view.sampledAt !== sampledAt.toISOString() || view.device !== (input.device ?? null)) throw new AppError('conflict');
      return { ...view, replayed: true };
    }
  }
  const id = randomUUID();
  const invoiceId = randomUUID();
  // The invoice's content is rendered to PDF on first download (see documents.ts); here we keep its facts.
  const invoice = JSON.stringify({ resultId: id, testType: input.testType, amountCents: PRICES[input.testType], currency: 'EUR', issuedAt: w.now.toISOString() });
  // The type, outcome and sampling time are health facts: sealed, never in clear columns.
  const params: (string | Date | null)[] = [id, facts.tenantId, patientId, w.fields.encrypt(resultCtx.testType(id), input.testType, { padTo: PAD.code }),
    w.fields.encrypt(resultCtx.outcome(id), input.outcome, { padTo: PAD.code }), w.fields.encrypt(resultCtx.sampledAt(id), sampledAt.toISOString(), { padTo: PAD.instant }),
    w.actor.id, idempotencyKey, w.now, invoiceId, w.fields.encrypt(`document.content:${invoiceId}`, invoice, { padTo: PAD.invoice }),
    input.device === undefined ? null : w.fields.encrypt(resultCtx.device(id), input.device, { padTo: PAD.code })];
  // The national report and the patient's notification (transactional outbox), written with the result;
  // their parameters follow the ones above.
  const outbox = resultOutboxRows(w, { resultId: id, patientId, tenantId: facts.tenantId, testType: input.testType, outcome: input.outcome, sampledAt }, facts.subjectRef, found!.row, params.length + 1);
  // Result, invoice and outbox rows in one statement: one round trip, all or nothing.
  await w.tx.query(
    `WITH result AS (
       INSERT INTO test_result (id, tenant_id, patient_id, test_type_enc, outcome_enc, sampled_at_enc, recorded_by, idempotency_key, created_at, device_enc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $12) RETURNING id),
     invoice AS (
       INSERT INTO document (id, tenant_id, patient_id, result_id, kind, media_type, content_enc, created_at)
       SELECT $10, $2, $3, result.id, 'invoice', 'application/json', $11, $9 FROM result RETURNING id)
     INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT * FROM (VALUES ${outbox.values}) AS o WHERE EXISTS (SELECT 1 FROM invoice)`,
    [...params, ...outbox.params],
  );
  w.record({ action: 'result.create', resourceType: 'Observation', resourceId: id, subjectRef: facts.subjectRef, purpose: 'tenant-service', outcome: 'success', tenantId: facts.tenantId });
  return {
    id, patientId, tenantId: facts.tenantId, testType: input.testType, outcome: input.outcome, sampledAt: sampledAt.toISOString(),
    recordedAt: w.now.toISOString(), invoiceId, device: input.device ?? null, deviceName: input.device === undefined ? null : RAT_DEVICES.get(input.device) ?? null, replayed: false,
  };
}

export async function getResult(w: Work, id: string): Promise<ResultView> {
  const facts = await loadFacts(w.tx, 'result', id, w.now);
  const target = { resourceType: 'Observation', resourceId: id, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'result.read', target);
  w.access('result.read', asResource('result', id, facts), target);
  const [row] = await w.tx.query<ResultRow>(`${SELECT} WHERE r.id = $1`, [id]);
  return toView(w, row!);
}

/** Results of one patient, for whoever may read that patient's record. */
export async function listPatientResults(w: Work, patientId: string): Promise<ResultView[]> {
  const facts = await loadFacts(w.tx, 'patient', patientId, w.now);
  const target = { resourceType: 'Patient', resourceId: patientId, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'result.list', target);
  w.access('result.list', asResource('patient', patientId, facts), target);
  // Staff and API keys see only their own tenant's results, even for a patient known elsewhere.
  const rows = w.actor.role === 'staff' || w.actor.role === 'api-key'
    ? await w.tx.query<ResultRow>(`${SELECT} WHERE r.patient_id = $1 AND r.tenant_id = $2`, [patientId, w.actor.tenantId])
    : await w.tx.query<ResultRow>(`${SELECT} WHERE r.patient_id = $1`, [patientId]);
  return newestSampledFirst(rows.map((r) => toView(w, r)));
}

/** A patient's own results across every pharmacy they were tested at. */
export async function listMyResults(w: Work): Promise<ResultView[]> {
  w.access('result.list', { type: 'self' }, { resourceType: 'Observation', resourceId: null, subjectRef: null });
  const rows = await w.tx.query<ResultRow & { subject_ref: string }>(
    `${SELECT.replace('FROM test_result r', ', p.subject_ref FROM test_result r JOIN patient p ON p.id = r.patient_id')} WHERE p.account_id = $1`,
    [w.actor.id],
  );
  for (const r of rows) w.record({ action: 'result.read', resourceType: 'Observation', resourceId: r.id, subjectRef: r.subject_ref, purpose: 'own-record', outcome: 'success' });
  return newestSampledFirst(rows.map((r) => toView(w, r)));
}

/** Newest sample first: ordered here, the sampling time being sealed (a patient has a few results, not thousands). */
const newestSampledFirst = (views: ResultView[]) => views.sort((a, b) => b.sampledAt.localeCompare(a.sampledAt) || b.recordedAt.localeCompare(a.recordedAt));

function toView(w: Work, r: ResultRow): ResultView {
  const device = r.device_enc === null ? null : w.fields.decrypt(resultCtx.device(r.id), r.device_enc);
  return {
    device, deviceName: device === null ? null : RAT_DEVICES.get(device) ?? null,
    id: r.id, patientId: r.patient_id, tenantId: r.tenant_id, testType: w.fields.decrypt(resultCtx.testType(r.id), r.test_type_enc) as ResultView['testType'],
    outcome: w.fields.decrypt(resultCtx.outcome(r.id), r.outcome_enc) as ResultView['outcome'],
    sampledAt: w.fields.decrypt(resultCtx.sampledAt(r.id), r.sampled_at_enc), recordedAt: new Date(r.created_at).toISOString(), invoiceId: r.invoice_id,
  };
}
