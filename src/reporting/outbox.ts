import { randomUUID } from 'node:crypto';
import type { Work } from '../domain/work.ts';
import { PAD } from '../crypto/fields.ts';
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

/** The patient's identity as stored (encrypted), read with the access decision's facts (see recordResult). */
export type OutboxIdentity = {
  given_name_enc: string; family_name_enc: string; birth_date_enc: string;
  ssn_enc: string | null; address_enc: string | null; tenant_name: string;
};

/** Columns of `patient p` that make an OutboxIdentity (for loadFactsWith on a patient). */
export const OUTBOX_IDENTITY_COLUMNS =
  'p.given_name_enc, p.family_name_enc, p.birth_date_enc, p.ssn_enc, p.address_enc, (SELECT t.name FROM tenant t WHERE t.id = p.tenant_id) AS tenant_name';

/**
 * The result's outbox rows (national report, patient notification), to be inserted in the caller's
 * transaction by recordResult, with the result itself: they exist if and only if the result does.
 * Built after the access decision; a replayed idempotent request returns before this, and
 * UNIQUE (kind, result_id) would refuse a second row anyway.
 *
 * The report's facts are frozen now (the identity as recorded with this result, not as it may be
 * later), encrypted, and erased once delivered; only what the national endpoint needs is kept:
 * no phone, no e-mail, no street.
 * @returns the SQL VALUES of the two rows for `INSERT INTO outbox (${OUTBOX_COLUMNS})` and their parameters,
 *   numbered from `first`
 */
export function resultOutboxRows(w: Work, r: RecordedResult, subjectRef: string, who: OutboxIdentity, first: number): { values: string; params: (string | Date | null)[] } {
  const dec = (field: string, v: string | null) => (v === null ? null : w.fields.decrypt(`patient.${field}:${r.patientId}`, v));
  const area = postalArea(dec('address', who.address_enc));
  const reportId = randomUUID();
  const facts: ReportFacts = {
    v: 1, resultId: r.resultId, patientEntryId: randomUUID(), subjectRef, tenantId: r.tenantId, tenantName: who.tenant_name,
    testType: r.testType, outcome: r.outcome, sampledAt: r.sampledAt.toISOString(), recordedAt: w.now.toISOString(),
    identity: {
      givenName: dec('given_name', who.given_name_enc)!, familyName: dec('family_name', who.family_name_enc)!, birthDate: dec('birth_date', who.birth_date_enc)!,
      nir: dec('ssn', who.ssn_enc), postalCode: area.postalCode, city: area.city,
    },
  };
  const $ = (i: number) => `$${first + i}`;
  return {
    values: `(${$(0)}::uuid, 'report', ${$(2)}::uuid, ${$(3)}::uuid, ${$(4)}::uuid, ${$(5)}, ${$(6)}::timestamptz), (${$(1)}::uuid, 'notification', ${$(2)}::uuid, ${$(3)}::uuid, ${$(4)}::uuid, NULL, ${$(6)}::timestamptz)`,
    params: [reportId, randomUUID(), r.tenantId, r.patientId, r.resultId, w.fields.encrypt(payloadContext(reportId), JSON.stringify(facts), { padTo: PAD.report }), w.now],
  };
}

export const OUTBOX_COLUMNS = 'id, kind, tenant_id, patient_id, result_id, payload_enc, created_at';
