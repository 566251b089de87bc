/**
 * The retention schedule, as code: every category of personal data the platform holds, where it
 * lives (tables and columns), why it is held and on what legal basis, how long, from which event,
 * and what happens at the end. Everything else in the schema is declared not personal, with the
 * reason. A test walks the live schema on both engines and fails for any column that is in neither
 * list, so a new column cannot slip past the schedule (test/retention/schedule.int.test.ts).
 *
 * The periods follow French practice; each names its source. `expired` tells, per table, which rows
 * are past their retention at an instant `$1` (a timestamptz): what `saufconduit retention run
 * --dry-run --at` counts, and what the retention job removes.
 */

/** Where a category lives: a whole table (`*`: every column of its rows), or some of its columns. */
export interface Holding { table: string; columns: '*' | readonly string[] }

/** What happens to a row at the end of its retention. */
export type EndOfRetention = 'delete' | 'anonymise';

export interface Category {
  /** Stable code: the `category` of retention reports and audit events. */
  category: string;
  /** The data, in words. */
  data: string;
  purpose: string;
  legalBasis: string;
  holds: readonly Holding[];
  /** How long, in words (the SQL in `expired` is the rule). */
  period: string;
  /** The event that starts the clock. */
  clock: string;
  end: EndOfRetention;
  /** Where the period comes from. */
  source: string;
  /** Per table: the condition of a row past its retention at `$1`. */
  expired: readonly { table: string; where: string }[];
}

const CARE_BASIS = 'GDPR art. 6(1)(e) and 9(2)(i) (public health), art. 9(2)(h) (care)';
/** How long the audit trail (and what accounts for access) is kept: CNIL délibération n° 2021-122. */
export const AUDIT_RETENTION_MONTHS = 12;
const AUDIT_YEAR = `interval '${AUDIT_RETENTION_MONTHS} months'`;

/**
 * A patient record is done with when nothing of it is kept any more: results, vaccinations,
 * invoices, passes, care relationships and emergency accesses (each by its own rule). Its queued
 * reports and mails go with its results; its registration and consent codes, and its search terms,
 * go with it (src/retention/job.ts).
 */
const PATIENT_DONE = `patient.created_at < $1::timestamptz - interval '6 months'
  AND NOT EXISTS (SELECT 1 FROM test_result r WHERE r.patient_id = patient.id AND r.created_at >= $1::timestamptz - interval '6 months')
  AND NOT EXISTS (SELECT 1 FROM vaccination v WHERE v.patient_id = patient.id AND v.created_at >= $1::timestamptz - interval '10 years')
  AND NOT EXISTS (SELECT 1 FROM document d WHERE d.patient_id = patient.id AND d.created_at >= $1::timestamptz - interval '10 years')
  AND NOT EXISTS (SELECT 1 FROM pass x WHERE x.patient_id = patient.id AND x.keep_until >= $1::timestamptz)
  AND NOT EXISTS (SELECT 1 FROM care_relationship c WHERE c.patient_id = patient.id AND c.until >= $1::timestamptz - interval '12 months')
  AND NOT EXISTS (SELECT 1 FROM break_glass b WHERE b.patient_id = patient.id
    AND NOT (b.review_status <> 'pending' AND coalesce(b.ended_at, b.expires_at) < $1::timestamptz - interval '12 months'))`;

/**
 * An account is done with (and anonymised) 12 months after it was disabled; a patient's space, 12
 * months after it was opened when it holds no record, is offered none, and has no live session.
 * An anonymised one (`login_hash` 'erased:…') is done already.
 */
const ACCOUNT_DONE = `account.login_hash NOT LIKE 'erased:%' AND (account.disabled_at < $1::timestamptz - ${AUDIT_YEAR}
  OR (account.role = 'patient' AND account.created_at < $1::timestamptz - ${AUDIT_YEAR}
    AND NOT EXISTS (SELECT 1 FROM patient p WHERE p.account_id = account.id OR p.offered_to = account.id)
    AND NOT EXISTS (SELECT 1 FROM session s WHERE s.account_id = account.id AND s.expires_at >= $1::timestamptz - ${AUDIT_YEAR})))`;

export const SCHEDULE: readonly Category[] = [
  {
    category: 'test-results', data: 'Test results: test type, device, outcome, sampling time, who recorded them',
    purpose: "Giving the patient their result and pass, reporting to the national system", legalBasis: CARE_BASIS,
    holds: [{ table: 'test_result', columns: '*' }], period: '6 months', clock: 'the result is recorded', end: 'delete',
    source: 'Décret n° 2020-551 (SI-DEP) as amended by décret n° 2021-1058: 3 months after collection, 6 months for a positive result. '
      + 'One period for every outcome, the longer one, so that the date of deletion does not tell a positive from a negative; '
      + 'a recovery pass needs the positive PCR up to day 180 (EU regulation 2021/953).',
    expired: [{ table: 'test_result', where: "created_at < $1::timestamptz - interval '6 months'" }],
  },
  {
    category: 'vaccinations', data: 'Vaccinations: product, dose, date, who recorded them',
    purpose: 'Vaccination passes and the traceability of vaccination', legalBasis: CARE_BASIS,
    holds: [{ table: 'vaccination', columns: '*' }], period: '10 years', clock: 'the vaccination is recorded', end: 'delete',
    source: 'Décret n° 2020-1690 (« Vaccin Covid »): 10 years, for the traceability of vaccination.',
    expired: [{ table: 'vaccination', where: "created_at < $1::timestamptz - interval '10 years'" }],
  },
  {
    category: 'invoices', data: "Invoices: the patient's name and address, the test, the amount",
    purpose: "The pharmacy's accounts", legalBasis: 'GDPR art. 6(1)(c) (legal obligation)',
    holds: [{ table: 'document', columns: '*' }], period: '10 years', clock: 'the invoice is issued', end: 'delete',
    source: 'Code de commerce, art. L123-22: accounting documents are kept 10 years.',
    expired: [{ table: 'document', where: "created_at < $1::timestamptz - interval '10 years'" }],
  },
  {
    category: 'passes', data: 'Passes (the signed QR code, its kind and validity) and their revocation entries',
    purpose: 'Proving a status at a venue; publishing revocations', legalBasis: CARE_BASIS,
    holds: [{ table: 'pass', columns: '*' }], period: 'until the pass and its revocation entry have expired (at most 400 days)', clock: 'the pass is issued', end: 'delete',
    source: 'A pass is useless once expired (72 h for a test, 180 days for a recovery, 365 days for a vaccination); its revocation entry is published until then.',
    expired: [{ table: 'pass', where: 'keep_until < $1::timestamptz' }],
  },
  {
    category: 'patient-identity', data: "Patients' identity and contacts: names, birth date, social-security number, phone, e-mail, address; their search index",
    purpose: 'Identifying the person tested or vaccinated', legalBasis: CARE_BASIS,
    holds: [{ table: 'patient', columns: '*' }, { table: 'patient_search_term', columns: '*' }],
    period: 'as long as a result, vaccination, invoice or pass of the record is kept, and at least 6 months', clock: 'the record is registered', end: 'delete',
    source: 'Kept only as long as what it identifies (data minimisation, GDPR art. 5(1)(e)).',
    expired: [
      { table: 'patient', where: PATIENT_DONE },
      { table: 'patient_search_term', where: `patient_id IN (SELECT patient.id FROM patient WHERE ${PATIENT_DONE})` },
    ],
  },
  {
    category: 'registrations', data: 'Counter registration links and registration codes (keyed hashes)',
    purpose: 'Self-registration at the counter', legalBasis: CARE_BASIS,
    holds: [{ table: 'registration_link', columns: '*' }, { table: 'registration', columns: '*' }], period: '1 day after they expire (15 minutes and 24 hours)',
    clock: 'the link or code expires', end: 'delete', source: 'They serve one visit to the pharmacy.',
    expired: [
      { table: 'registration_link', where: "expires_at < $1::timestamptz - interval '1 day'" },
      { table: 'registration', where: "expires_at < $1::timestamptz - interval '1 day'" },
    ],
  },
  {
    category: 'care', data: 'Care relationships and consent codes', purpose: 'Giving professionals access to the patients in their care',
    legalBasis: CARE_BASIS, holds: [{ table: 'care_relationship', columns: '*' }, { table: 'consent_code', columns: '*' }],
    period: '12 months after the relationship ends; a consent code 1 day after it expires', clock: 'the relationship ends', end: 'delete',
    source: 'Who could read a record is evidence for as long as the audit trail that shows the reads (12 months).',
    expired: [
      { table: 'care_relationship', where: `until < $1::timestamptz - ${AUDIT_YEAR}` },
      { table: 'consent_code', where: "expires_at < $1::timestamptz - interval '1 day'" },
    ],
  },
  {
    category: 'break-glass', data: 'Emergency accesses: who, which record, the reason given, the review',
    purpose: 'Accountability of emergency access', legalBasis: 'GDPR art. 6(1)(c) and 32 (security of processing)',
    holds: [{ table: 'break_glass', columns: '*' }], period: '12 months after it ended, once reviewed', clock: 'the access ends', end: 'delete',
    source: "CNIL recommendation on logging (délibération n° 2021-122): 6 months to 1 year; an unreviewed one waits for its review.",
    expired: [{ table: 'break_glass', where: `review_status <> 'pending' AND coalesce(ended_at, expires_at) < $1::timestamptz - ${AUDIT_YEAR}` }],
  },
  {
    category: 'alerts', data: 'Access alerts on actors and the DPO decisions; the pace of readers', purpose: 'Detecting misuse of access',
    legalBasis: 'GDPR art. 6(1)(c) and 32 (security of processing)', holds: [{ table: 'alert', columns: '*' }, { table: 'alert_pace', columns: '*' }],
    period: '12 months after the decision (open ones are kept)', clock: 'the DPO decides', end: 'delete',
    source: 'CNIL recommendation on logging (délibération n° 2021-122): 6 months to 1 year.',
    expired: [
      { table: 'alert', where: `status <> 'open' AND decided_at < $1::timestamptz - ${AUDIT_YEAR}` },
      { table: 'alert_pace', where: `updated_at < $1::timestamptz - ${AUDIT_YEAR}` },
    ],
  },
  {
    category: 'audit-trail', data: 'The audit trail: who read or changed what, when, why (pseudonymous references)',
    purpose: 'Accountability and security of processing; the patient\'s access history', legalBasis: 'GDPR art. 5(2), 6(1)(c) and 32',
    holds: [{ table: 'audit_event', columns: '*' }, { table: 'audit_checkpoint', columns: '*' }, { table: 'audit_minute', columns: '*' }],
    period: '12 months, pruned by whole segments that end at a signed checkpoint', clock: 'the event', end: 'delete',
    source: 'CNIL recommendation on logging (délibération n° 2021-122): 6 months to 1 year.',
    expired: [
      // Whole segments only: up to the newest signed checkpoint older than the period, which stays as the anchor.
      { table: 'audit_event', where: `seq <= (SELECT max(c.seq) FROM audit_checkpoint c JOIN audit_event e ON e.seq = c.seq WHERE e.at < $1::timestamptz - ${AUDIT_YEAR})` },
      { table: 'audit_checkpoint', where: `seq < (SELECT max(c.seq) FROM audit_checkpoint c JOIN audit_event e ON e.seq = c.seq WHERE e.at < $1::timestamptz - ${AUDIT_YEAR})` },
      { table: 'audit_minute', where: `minute < $1::timestamptz - ${AUDIT_YEAR}` },
    ],
  },
  {
    category: 'reports-and-mail', data: 'The outbox of national reports and result notifications (payloads are erased once delivered)',
    purpose: 'Reporting to the national system; telling the patient a result is ready', legalBasis: 'GDPR art. 6(1)(c) (reporting duty), 6(1)(e)',
    holds: [{ table: 'outbox', columns: '*' }], period: '3 months after delivery', clock: 'the report or mail is delivered', end: 'delete',
    source: 'Proof of delivery is in the audit trail; the row is only the queue. Undelivered rows wait for delivery.',
    expired: [{ table: 'outbox', where: "delivered_at < $1::timestamptz - interval '3 months'" }],
  },
  {
    category: 'sessions', data: 'Sessions, login challenges, enrolment links', purpose: 'Logging in', legalBasis: 'GDPR art. 6(1)(b) and 32',
    holds: [{ table: 'session', columns: '*' }, { table: 'auth_challenge', columns: '*' }, { table: 'enrolment', columns: '*' }],
    period: 'until they expire (an enrolment link: 1 day after)', clock: 'they expire', end: 'delete', source: 'They serve one login or one enrolment.',
    expired: [
      { table: 'session', where: 'expires_at < $1::timestamptz' },
      { table: 'auth_challenge', where: 'expires_at < $1::timestamptz' },
      { table: 'enrolment', where: "expires_at < $1::timestamptz - interval '1 day'" },
    ],
  },
  {
    category: 'login-limits', data: 'Wrong-code counts and locks per login (keyed hash of the address)', purpose: 'Stopping guessing attacks',
    legalBasis: 'GDPR art. 6(1)(f) and 32', holds: [{ table: 'login_throttle', columns: '*' }], period: '30 days after the last attempt or lock',
    clock: 'the last attempt', end: 'delete', source: 'A lock lasts at most 7 days; a month covers the escalation of repeated locks.',
    expired: [{ table: 'login_throttle', where: "greatest(last_attempt_at, coalesce(locked_until, last_attempt_at)) < $1::timestamptz - interval '30 days'" }],
  },
  {
    category: 'accounts', data: 'Accounts (login, name, second factor), professionals (RPPS, profession), passkeys',
    purpose: 'Knowing who acts', legalBasis: 'GDPR art. 6(1)(b) (the service), 6(1)(c) for professionals (RPPS)',
    holds: [{ table: 'account', columns: '*' }, { table: 'professional', columns: '*' }, { table: 'webauthn_credential', columns: '*' }],
    period: "while the account is open; 12 months after it is disabled (a patient's: 12 months after it last held a record or logged in)",
    clock: 'the account is disabled, or last used', end: 'anonymise',
    source: 'Audit events name accounts by id: the id stays, what identifies the person goes after the audit period.',
    expired: [
      { table: 'account', where: ACCOUNT_DONE },
      { table: 'professional', where: `account_id IN (SELECT account.id FROM account WHERE ${ACCOUNT_DONE})` },
      { table: 'webauthn_credential', where: `account_id IN (SELECT account.id FROM account WHERE ${ACCOUNT_DONE})` },
    ],
  },
  {
    category: 'api-keys', data: "Pharmacy software keys: label, who created or revoked them", purpose: "Pharmacy software's access",
    legalBasis: 'GDPR art. 6(1)(b) and 32', holds: [{ table: 'api_key', columns: '*' }], period: '12 months after revocation or expiry',
    clock: 'the key is revoked or expires', end: 'delete', source: 'Audit events name keys by id: kept as long as the trail that names them.',
    expired: [{ table: 'api_key', where: `coalesce(revoked_at, expires_at) < $1::timestamptz - ${AUDIT_YEAR}` }],
  },
];

/**
 * Tables (or columns) that hold no personal data, and why. Together with SCHEDULE they must cover
 * every column of the schema.
 */
export const NOT_PERSONAL: readonly (Holding & { why: string })[] = [
  { table: 'tenant', columns: '*', why: "A pharmacy's business identity (name, address, SIRET, FINESS): public company data" },
  { table: 'signing_certificate', columns: '*', why: 'Document signer certificates and their (encrypted) keys' },
  { table: 'data_key', columns: '*', why: 'Wrapped field-encryption keys' },
  { table: 'trust_publication', columns: '*', why: 'The signed public trust bundle (certificates and revocation hashes)' },
  { table: 'installation_flag', columns: '*', why: 'Installation switches (a demo store)' },
  { table: 'schema_migration', columns: '*', why: 'Applied migrations' },
  { table: 'audit_head', columns: '*', why: 'The position and hash of the newest audit event' },
  { table: 'alert_cursor', columns: '*', why: 'How far the alert rules have read the trail' },
  { table: 'retention_run', columns: '*', why: 'When retention ran and how many rows of each category it removed (counts only)' },
];

/** Every table the schedule names, with the category that holds each of its columns. */
export function classified(): Map<string, { category: string | null; columns: '*' | readonly string[] }[]> {
  const m = new Map<string, { category: string | null; columns: '*' | readonly string[] }[]>();
  const add = (table: string, category: string | null, columns: '*' | readonly string[]) => m.set(table, [...(m.get(table) ?? []), { category, columns }]);
  for (const c of SCHEDULE) for (const h of c.holds) add(h.table, c.category, h.columns);
  for (const n of NOT_PERSONAL) add(n.table, null, n.columns);
  return m;
}
