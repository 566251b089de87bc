import { randomUUID } from 'node:crypto';
import type { Work } from '../domain/work.ts';
import { postalArea, type ReportFacts } from './fhir.ts';

/** What leaves the platform when a result is recorded; one outbox row of each per result. */
export const OUTBOX_KINDS = ['report', 'notification'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];

/** Field-encryption context of a report's frozen facts: bound to its outbox row. */
export const payloadContext = (outboxId: string) => `outbox.payload:${outboxId}`;

export interface RecordedResult {
  resultId: string;
  patientId: string;
  tenantId: string;
  testType: ReportFacts['testType'];
  outcome: ReportFacts['outcome'];
  sampledAt: Date;
}

type IdentityRow = {
  subject_ref: string; given_name_enc: string; family_name_enc: string; birth_date_enc: string;
  ssn_enc: string | null; address_enc: string | null; tenant_name: string;
};

/**
 * Writes the result's outbox rows (national report, patient notification) in the caller's
 * transaction: they exist if and only if the result does. Called by recordResult after the access
 * decision; a replayed idempotent request returns before this, and UNIQUE (kind, result_id)
 * would refuse a second row anyway.
 *
 * The report's facts are frozen now (the identity as recorded with this result, not as it may be
 * later), encrypted, and erased once delivered; only what the national endpoint needs is kept:
 * no phone, no e-mail, no street.
 */
export async function enqueueResultOutbox(w: Work, r: RecordedResult): Promise<void> {
  const [row] = await w.tx.query<IdentityRow>(
    `SELECT p.subject_ref, p.given_name_enc, p.family_name_enc, p.birth_date_enc, p.ssn_enc, p.address_enc, t.name AS tenant_name
       FROM patient p JOIN tenant t ON t.id = $2 WHERE p.id = $1`,
    [r.patientId, r.tenantId],
  );
  if (!row) throw new Error('outbox: patient or tenant vanished inside the transaction');
  const dec = (field: string, v: string | null) => (v === null ? null : w.fields.decrypt(`patient.${field}:${r.patientId}`, v));
  const area = postalArea(dec('address', row.address_enc));
  const reportId = randomUUID();
  const facts: ReportFacts = {
    v: 1, resultId: r.resultId, patientEntryId: randomUUID(), subjectRef: row.subject_ref, tenantId: r.tenantId, tenantName: row.tenant_name,
    testType: r.testType, outcome: r.outcome, sampledAt: r.sampledAt.toISOString(), recordedAt: w.now.toISOString(),
    identity: {
      givenName: dec('given_name', row.given_name_enc)!, familyName: dec('family_name', row.family_name_enc)!, birthDate: dec('birth_date', row.birth_date_enc)!,
      nir: dec('ssn', row.ssn_enc), postalCode: area.postalCode, city: area.city,
    },
  };
  await w.tx.query(
    `INSERT INTO outbox (id, kind, tenant_id, patient_id, result_id, payload_enc, created_at)
     VALUES ($1, 'report', $3, $4, $5, $6, $7), ($2, 'notification', $3, $4, $5, NULL, $7)`,
    [reportId, randomUUID(), r.tenantId, r.patientId, r.resultId, w.fields.encrypt(payloadContext(reportId), JSON.stringify(facts)), w.now],
  );
}
