/**
 * Every official vector flag on which our result differs from the vector's expectation, with the
 * reason. Two sources:
 *  - `tests/known_issues.csv` of the upstream repository (loaded, not copied), each with its issue;
 *  - defects we found ourselves (OURS below), each with the evidence.
 * conformance.test.ts fails if a vector deviates without an entry here, and if an entry of OURS no
 * longer deviates (so this list cannot go stale).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTDATA_DIR, type Flag, type Vector } from './vectors.ts';

export interface Deviation {
  /** Vector path relative to dcc-testdata; a trailing `/` matches a whole folder. */
  match: string;
  flag: Flag;
  reason: string;
  source: 'known_issues.csv' | 'ours';
}

// Upstream runner test names → the flag each one checks (tests/test_ehealth_certs.py upstream).
const TEST_TO_FLAG: Record<string, Flag> = {
  test_cose_schema: 'EXPECTEDSCHEMAVALIDATION',
  test_cose_json: 'EXPECTEDDECODE',
  test_cbor_json: 'EXPECTEDVALIDJSON',
  test_verification_check: 'EXPECTEDVERIFY',
  test_expiration_check: 'EXPECTEDEXPIRATIONCHECK',
  test_expected_key_usage: 'EXPECTEDKEYUSAGE',
};

/** Deviations listed upstream in tests/known_issues.csv. */
export function knownIssues(): Deviation[] {
  const lines = readFileSync(join(TESTDATA_DIR, 'tests/known_issues.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
  return lines.map((line) => {
    const [test, country, set, url] = line.split(',');
    const flag = TEST_TO_FLAG[test!];
    if (!flag) throw new Error(`unmapped upstream test ${test}`);
    return { match: set ? `${country}/2DCode/raw/${set}.json` : `${country}/`, flag, reason: `upstream known issue ${url}`, source: 'known_issues.csv' as const };
  });
}

const PL_VERSIONS = ['PL/1.0.0', 'PL/1.2.1', 'PL/1.3.0'];
const NO_IMAGE = 'the vector has no `2DCODE` image (FR, IE, B1 never had one; LV renamed it `_2DCODE`), so the picture cannot be decoded here; upstream skipped these';

/** Defects we found in vectors not covered by known_issues.csv. */
export const OURS: Deviation[] = [
  {
    match: 'IS/2DCode/raw/3.json',
    flag: 'EXPECTEDKEYUSAGE',
    reason:
      'expects a key-usage failure, but the DSC has no extended key usage at all ("no key usage" per its own description), which the hcert spec and the upstream runner itself treat as allowed for every type (the upstream runner fails this vector too)',
    source: 'ours',
  },
  ...PL_VERSIONS.flatMap((p) => [
    ...['7', '8', '9'].map((n) => ({
      match: `${p}/2DCode/raw/${n}.json`,
      flag: 'EXPECTEDSCHEMAVALIDATION' as Flag,
      reason:
        'expects a schema failure for a value outside a value set (RAT device "9999", country "XY", manufacturer "ORG-99999999"); no released DCC schema enforces value sets (they are checked by business rules), so the payload is schema-valid',
      source: 'ours' as const,
    })),
    ...['11', '12', '13'].map((n) => ({
      match: `${p}/2DCode/raw/${n}.json`,
      flag: 'EXPECTEDSCHEMAVALIDATION' as Flag,
      reason: 'vaccination date `dt` is a date-time ("2021-03-18T22:54:00+02:00") where every schema release requires `format: date`; the upstream runner did not check formats',
      source: 'ours' as const,
    })),
  ]),
  ...['1', '5'].flatMap((n) =>
    (['EXPECTEDDECODE', 'EXPECTEDVALIDJSON'] as Flag[]).map((flag) => ({
      match: `PL/1.3.0/2DCode/raw/${n}.json`,
      flag,
      reason: 'the vector\'s `JSON` does not match its `CBOR`/`COSE` (fnt "ROGALINSKI<KROL" vs the signed payload); the signed payload itself verifies (see SOURCE.md)',
      source: 'ours' as const,
    })),
  ),
  {
    match: 'SG/2DCode/raw/4.json',
    flag: 'EXPECTEDSCHEMAVALIDATION',
    reason: 'recovery dates `fr`/`df`/`du` are date-times ("2022-01-01T00:00:00.000Z") where the schema requires `format: date`; the upstream runner did not check formats',
    source: 'ours',
  },
  // EXPECTEDVALIDOBJECT (the vector's JSON against the schema) was never run by the upstream runner;
  // these vectors carry the same payload defect for which known_issues.csv already waives the
  // schema check of their signed payload.
  ...[
    ['NL/', 'NL JSON uses lower-case `co`, out-of-range `dob`, or dose numbers 0 (upstream issue #107)'],
    ['BG/2DCode/raw/1.json', 'BG JSON carries more than one certificate group (upstream issue #298)'],
    ['BG/2DCode/raw/2.json', 'BG JSON carries more than one certificate group (upstream issue #298)'],
    ['HU/2DCode/raw/3.json', 'HU JSON has a testing centre name over 80 characters (upstream issue #340)'],
  ].map(([match, reason]) => ({ match: match!, flag: 'EXPECTEDVALIDOBJECT' as Flag, reason: `expects schema-valid JSON, but ${reason}`, source: 'ours' as const })),
  ...['FR/', 'IE/', 'LV/', 'common/2DCode/raw/B1.json'].map((match) => ({ match, flag: 'EXPECTEDPICTUREDECODE' as Flag, reason: NO_IMAGE, source: 'ours' as const })),
];

/** All deviations. */
export function deviations(): Deviation[] {
  return [...knownIssues(), ...OURS];
}

/** The deviation that covers this vector and flag, if any (most specific entry first). */
export function deviationFor(all: readonly Deviation[], v: Vector, flag: Flag): Deviation | undefined {
  const hits = all.filter((d) => d.flag === flag && (d.match.endsWith('/') ? v.id.startsWith(d.match) : v.id === d.match));
  return hits.sort((a, b) => b.match.length - a.match.length)[0];
}
