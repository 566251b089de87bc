/**
 * One scan to one verdict, entirely in the page: no network, no storage. The verdict carries the
 * minimum a venue may see (DESIGN.md invariant 7): valid with the holder's name and date of birth,
 * or invalid with a coarse category. Nothing about tests, vaccines, dates or identifiers leaves
 * this function, and nothing derived from the pass is kept after it returns.
 */
import { verifyHc1 } from '../hcert/verify.ts';
import { validateDcc } from '../hcert/schema.ts';
import type { ReasonCode } from '../hcert/errors.ts';
import { withWebCrypto } from './webcrypto.ts';
import { freshness, type TrustBundle } from './trust.ts';
import { admissible } from './rules.ts';

/**
 * Why a pass is refused, as shown at the door. Deliberately coarse: a category says what to do
 * (ask for another code, refuse entry), not what the pass contains.
 */
export type RejectCategory = 'unreadable' | 'not-authentic' | 'revoked' | 'not-valid-now';

export type Verdict =
  | { verdict: 'valid'; name: string; dob: string }
  | { verdict: 'invalid'; category: RejectCategory }
  /** No verdict at all: the trust material is too old (or the clock is wrong). Never shown as green or red. */
  | { verdict: 'refused'; why: 'trust-expired' | 'clock' };

const CATEGORY: Readonly<Record<ReasonCode, RejectCategory>> = {
  format: 'unreadable',
  signature: 'not-authentic',
  'unknown-key': 'not-authentic',
  schema: 'not-authentic',
  'key-usage': 'not-authentic',
  revoked: 'revoked',
  expired: 'not-valid-now',
  'not-yet-valid': 'not-valid-now',
};

/** Clock skew tolerated between the issuer and this device for the pass's iat/exp (seconds). */
const CLOCK_TOLERANCE_SECONDS = 300;

/**
 * Verify scanned QR text at `at` against trust material. Refuses (no verdict) unless the material
 * is fresh at that instant.
 *
 * @example
 * const v = await checkPass(text, bundle, new Date());
 * if (v.verdict === 'valid') show(v.name, v.dob);
 */
export async function checkPass(text: string, trust: TrustBundle, at: Date): Promise<Verdict> {
  const fresh = freshness(trust, at);
  if (fresh.state === 'expired') return { verdict: 'refused', why: 'trust-expired' };
  if (fresh.state === 'future') return { verdict: 'refused', why: 'clock' };
  const r = await withWebCrypto((backend) => verifyHc1(text, {
    trustList: trust.trustList, revocation: trust.revocation, backend, validateDcc, at, clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  }));
  if (!r.valid) return { verdict: 'invalid', category: CATEGORY[r.reason] ?? 'unreadable' };
  if (admissible(r.type, r.dcc, at) !== null) return { verdict: 'invalid', category: 'not-valid-now' };
  return { verdict: 'valid', name: r.holder.name, dob: r.holder.dob };
}
