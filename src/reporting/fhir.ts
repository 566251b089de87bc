import { createHmac } from 'node:crypto';

/**
 * The national report of one test result as a FHIR R4 transaction Bundle: a Patient and an
 * Observation. Pure and deterministic: the same facts, mode and key give the same bytes, so every
 * retry of a report sends exactly the body the receiver may already hold under its idempotency key.
 */

/** What a report says, frozen when the result is recorded (stored field-encrypted in the outbox). */
export interface ReportFacts {
  v: 1;
  resultId: string;
  /** The Bundle's local reference for the Patient entry (random, unlinkable to our patient id). */
  patientEntryId: string;
  /** The patient record's pseudonymous reference; only ever sent keyed-hashed (pseudonymous mode). */
  subjectRef: string;
  tenantId: string;
  tenantName: string;
  testType: 'antigen' | 'pcr';
  outcome: 'negative' | 'positive' | 'inconclusive';
  sampledAt: string;
  recordedAt: string;
  identity: {
    givenName: string;
    familyName: string;
    birthDate: string;
    /** French social-security number (NIR), when the pharmacy recorded it. */
    nir: string | null;
    postalCode: string | null;
    city: string | null;
  };
}

/**
 * How much identity the national endpoint receives. SI-DEP (France) needs the person: `identified`
 * sends name, birth date, NIR when known, postal code and city, and never phone, e-mail or street.
 * `pseudonymous` sends a keyed pseudonym, the birth year and the postal code only.
 */
export const IDENTITY_MODES = ['identified', 'pseudonymous'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

/** The one table of test codes (LOINC). Adding a test type is one reviewed line. */
export const TEST_CODES: Record<ReportFacts['testType'], { code: string; display: string }> = {
  antigen: { code: '94558-4', display: 'SARS-CoV-2 (COVID-19) Ag [Presence] in Respiratory specimen by Rapid immunoassay' },
  pcr: { code: '94500-6', display: 'SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection' },
};

/** The one table of outcome codes (SNOMED CT qualifier values). */
export const OUTCOME_CODES: Record<ReportFacts['outcome'], { code: string; display: string }> = {
  negative: { code: '260385009', display: 'Negative' },
  positive: { code: '10828004', display: 'Positive' },
  inconclusive: { code: '419984006', display: 'Inconclusive' },
};

/** INS-NIR, the French national health identifier (ANS OID). */
const NIR_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
/** RFC 3986 identifiers: the value is a URI (`urn:uuid:…`), globally unique without a namespace of ours. */
const URI_SYSTEM = 'urn:ietf:rfc:3986';

export const FHIR_MEDIA_TYPE = 'application/fhir+json; fhirVersion=4.0';

/**
 * Renders the report body.
 * @param facts what was frozen when the result was recorded
 * @param mode how much identity to send (see IDENTITY_MODES)
 * @param pseudonymKey keys the pseudonym in `pseudonymous` mode (derived from the master key)
 * @param bundleId the outbox row id, also the Idempotency-Key of every attempt
 * @example renderReport(facts, 'identified', key, outboxId) // '{"resourceType":"Bundle",…}'
 */
export function renderReport(facts: ReportFacts, mode: IdentityMode, pseudonymKey: Uint8Array, bundleId: string): string {
  const patientUrl = `urn:uuid:${facts.patientEntryId}`;
  const test = TEST_CODES[facts.testType];
  const outcome = OUTCOME_CODES[facts.outcome];
  if (!test || !outcome) throw new Error('report: unknown test type or outcome');
  const observation = {
    resourceType: 'Observation',
    identifier: [{ system: URI_SYSTEM, value: `urn:uuid:${facts.resultId}` }],
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: test.code, display: test.display }] },
    subject: { reference: patientUrl },
    effectiveDateTime: facts.sampledAt,
    issued: facts.recordedAt,
    performer: [{ identifier: { system: URI_SYSTEM, value: `urn:uuid:${facts.tenantId}` }, display: facts.tenantName }],
    valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: outcome.code, display: outcome.display }] },
  };
  const patient = patientResource(facts, mode, pseudonymKey);
  // The person is created once on the receiving side when we know a stable identifier (NIR or pseudonym).
  const patientKey = (patient.identifier as { system: string; value: string }[] | undefined)?.[0];
  const bundle = {
    resourceType: 'Bundle',
    id: bundleId,
    identifier: { system: URI_SYSTEM, value: `urn:uuid:${bundleId}` },
    type: 'transaction',
    timestamp: facts.recordedAt,
    entry: [
      { fullUrl: patientUrl, resource: patient, request: { method: 'POST', url: 'Patient', ...(patientKey ? { ifNoneExist: `identifier=${patientKey.system}|${patientKey.value}` } : {}) } },
      {
        fullUrl: `urn:uuid:${facts.resultId}`, resource: observation,
        // Conditional create: a FHIR server that ignores our Idempotency-Key still stores the result once.
        request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=${URI_SYSTEM}|urn:uuid:${facts.resultId}` },
      },
    ],
  };
  return JSON.stringify(bundle);
}

function patientResource(facts: ReportFacts, mode: IdentityMode, pseudonymKey: Uint8Array): Record<string, unknown> {
  const id = facts.identity;
  if (mode === 'pseudonymous') {
    return {
      resourceType: 'Patient',
      identifier: [{ system: URI_SYSTEM, value: `urn:uuid:${pseudonymUuid(pseudonymKey, facts.subjectRef)}` }],
      birthDate: id.birthDate.slice(0, 4),
      ...(id.postalCode ? { address: [{ postalCode: id.postalCode, country: 'FR' }] } : {}),
    };
  }
  return {
    resourceType: 'Patient',
    ...(id.nir ? { identifier: [{ system: NIR_SYSTEM, value: id.nir }] } : {}),
    name: [{ family: id.familyName, given: [id.givenName] }],
    birthDate: id.birthDate,
    ...(id.postalCode || id.city ? { address: [{ ...(id.postalCode ? { postalCode: id.postalCode } : {}), ...(id.city ? { city: id.city } : {}), country: 'FR' }] } : {}),
  };
}

/** A stable pseudonym per patient record, shaped as a UUID (version 8: custom), unlinkable without the key. */
export function pseudonymUuid(key: Uint8Array, subjectRef: string): string {
  const h = createHmac('sha256', key).update(`report-pseudonym:${subjectRef}`).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Postal code and city from a free-text French address ("12 rue des Lilas, 75011 Paris"): what
 * epidemiology needs, without the street.
 */
export function postalArea(address: string | null): { postalCode: string | null; city: string | null } {
  if (!address) return { postalCode: null, city: null };
  const m = /\b(\d{5})\b\s*([^,\d][^,]*)?/.exec(address);
  if (!m) return { postalCode: null, city: null };
  const city = m[2]?.trim() || null;
  return { postalCode: m[1]!, city: city && city.length <= 100 ? city : null };
}
