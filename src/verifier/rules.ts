/**
 * Admission rules of the venue verifier, applied after the pass itself verified (signature, schema,
 * expiry, revocation). A pass can be authentic and still not admit its holder: a positive test, a
 * test that is too old, an incomplete vaccination. The certificate's technical validity (`exp`)
 * says nothing about these; the verifier decides, at an injected instant.
 *
 * The figures follow the French health-pass rules of 2021 (décret n° 2021-699, art. 2-2): a negative
 * RT-PCR or antigen test less than 72 hours old, a recovery certificate within its validity window,
 * a complete vaccination schedule 7 days after the last dose (28 days for a single-dose vaccine).
 * They are constants here so that a change of rule is one reviewed line.
 */
import type { CertificateType } from '../hcert/key-usage.ts';
import type { Json } from '../hcert/cwt.ts';

export const RULES = Object.freeze({
  testMaxAgeHours: 72,
  /** A sample time this far in the future is tolerated (clock skew between devices). */
  clockToleranceMinutes: 5,
  vaccinationWaitDays: 7,
  singleDoseWaitDays: 28,
});

/** SNOMED CT "Not detected": the only admissible test result (EU value set test-result). */
const TEST_NOT_DETECTED = '260415000';
/** Test types accepted (EU value set test-type): NAAT (RT-PCR) and rapid antigen tests. */
const TEST_TYPES = new Set(['LP6464-4', 'LP217198-3']);
/** Single-dose schedules (EU value set vaccine-medicinal-product): COVID-19 Vaccine Janssen. */
const SINGLE_DOSE_PRODUCTS = new Set(['EU/1/20/1525']);

/** Why an authentic pass does not admit its holder now. */
export type RuleFailure =
  | 'test-result'
  | 'test-type'
  | 'test-too-old'
  | 'test-in-future'
  | 'recovery-not-yet'
  | 'recovery-over'
  | 'vaccination-incomplete'
  | 'vaccination-too-recent';

const HOUR = 3_600_000;
const DAY = 86_400_000;

const entryOf = (dcc: Json, key: 'v' | 't' | 'r'): Record<string, Json> => ((dcc as Record<string, Json>)[key] as Json[])[0] as Record<string, Json>;
/** Milliseconds of an ISO date or date-time; NaN when absent or malformed. */
const time = (v: Json | undefined): number => (typeof v === 'string' ? Date.parse(v) : NaN);

/** Days after the last dose before a complete schedule admits: longer for a single-dose vaccine. */
const waitDays = (v: Record<string, Json>, dn: number, sd: number): number =>
  sd === 1 && dn === 1 && typeof v.mp === 'string' && SINGLE_DOSE_PRODUCTS.has(v.mp) ? RULES.singleDoseWaitDays : RULES.vaccinationWaitDays;

/**
 * `null` when a schema-valid DCC of `type` admits its holder at `at`, else the rule it fails.
 *
 * @example
 * admissible('test', { t: [{ tr: '260415000', tt: 'LP6464-4', sc: '2021-08-01T10:00:00Z' }] }, new Date('2021-08-02T10:00:00Z')); // null
 */
export function admissible(type: CertificateType, dcc: Json, at: Date): RuleFailure | null {
  const now = at.getTime();
  if (type === 'test') {
    const t = entryOf(dcc, 't');
    if (t.tr !== TEST_NOT_DETECTED) return 'test-result';
    if (typeof t.tt !== 'string' || !TEST_TYPES.has(t.tt)) return 'test-type';
    const sc = time(t.sc);
    if (!(sc <= now + RULES.clockToleranceMinutes * 60_000)) return 'test-in-future';
    if (now - sc > RULES.testMaxAgeHours * HOUR) return 'test-too-old';
    return null;
  }
  if (type === 'recovery') {
    const r = entryOf(dcc, 'r');
    const from = time(r.df);
    const until = time(r.du);
    // df and du are whole days: valid from the start of df to the end of du (UTC).
    if (!(from <= now)) return 'recovery-not-yet';
    if (!(now < until + DAY)) return 'recovery-over';
    return null;
  }
  const v = entryOf(dcc, 'v');
  const dn = typeof v.dn === 'number' ? v.dn : 0;
  const sd = typeof v.sd === 'number' ? v.sd : Infinity;
  if (!(dn >= sd)) return 'vaccination-incomplete';
  const wait = waitDays(v, dn, sd);
  if (!(now >= time(v.dt) + wait * DAY)) return 'vaccination-too-recent';
  return null;
}

/**
 * When a DCC of `type` admits its holder by the rules above, as an interval of instants (ms since
 * the epoch, from `from` up to `until`, `null` for no end); `null` when it never does (a positive test, an
 * incomplete schedule). A printed pass tells its holder this, the way a venue will apply it; it
 * reads the same fields and figures as `admissible` (the clock tolerance aside).
 *
 * @example
 * admissionWindow('test', { t: [{ tr: '260415000', tt: 'LP6464-4', sc: '2021-08-01T10:00:00Z' }] }); // { from: sc, until: sc + 72 h }
 */
export function admissionWindow(type: CertificateType, dcc: Json): { from: number; until: number | null } | null {
  if (type === 'test') {
    const t = entryOf(dcc, 't');
    if (t.tr !== TEST_NOT_DETECTED || typeof t.tt !== 'string' || !TEST_TYPES.has(t.tt)) return null;
    const sc = time(t.sc);
    return Number.isNaN(sc) ? null : { from: sc, until: sc + RULES.testMaxAgeHours * HOUR };
  }
  if (type === 'recovery') {
    const r = entryOf(dcc, 'r');
    const from = time(r.df);
    const until = time(r.du);
    return Number.isNaN(from) || Number.isNaN(until) ? null : { from, until: until + DAY };
  }
  const v = entryOf(dcc, 'v');
  const dn = typeof v.dn === 'number' ? v.dn : 0;
  const sd = typeof v.sd === 'number' ? v.sd : Infinity;
  if (!(dn >= sd)) return null;
  const dt = time(v.dt);
  return Number.isNaN(dt) ? null : { from: dt + waitDays(v, dn, sd) * DAY, until: null };
}
