/**
 * Verify an EU DCC pass, in a fixed fail-closed order:
 *
 *  1. envelope: input length, `HC1:` prefix, base45, bounded zlib, COSE_Sign1 structure → `format`
 *  2. header: `alg` (protected, else unprotected), looked up in the allowlist → `signature`
 *  3. key: kid (protected, else unprotected) in the trust list → `unknown-key`
 *  4. signature over the Sig_structure, trying every key under that kid → `signature`
 *  5. only now the payload: CWT claims and DCC → `format`; DCC schema → `schema`
 *  6. signer's extended key usage vs the DCC type → `key-usage`
 *  7. time: exp / iat against the injected `at` ± tolerance → `expired` / `not-yet-valid`
 *  8. revocation hashes → `revoked`
 *
 * Nothing from the payload is looked at before the signature holds, and nothing is returned about
 * the holder unless the signature and schema hold. Any unexpected exception while handling input is
 * reported as `format`: the function never throws for hostile input.
 */
import { allowedAlgorithm, type AlgorithmName } from './algorithms.ts';
import type { HcertBackend } from './backend.ts';
import { parseCoseSign1, coseKid, sigStructureInto, sigStructureLength, HEADER_ALG } from './cose.ts';
import { parseCwtClaims, type HcertClaims, type Json } from './cwt.ts';
import { HcertError, classify, type ReasonCode } from './errors.ts';
import { unwrapHc1Into, SCRATCH_MAX, type UnwrapScratch } from './hc1.ts';
import { keyUsageAllows, type CertificateType } from './key-usage.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { EMPTY_REVOCATION_LIST, findRevocation, type RevocationList } from './revocation.ts';
import type { TrustList, TrustedKey } from './trust-list.ts';
import { kidKey } from './bytes.ts';

/** A DCC validator: true when the payload satisfies the DCC JSON schema. */
export type DccValidator = (dcc: unknown) => boolean;

/** Inputs of a verification. Time is always given: the checks never read a clock. */
export interface VerifyOptions {
  trustList: TrustList;
  backend: HcertBackend;
  /** Validates the DCC JSON against the schema (see `schema.ts`). */
  validateDcc: DccValidator;
  /** The instant to verify at. */
  at: Date;
  /** Allowed clock skew in seconds for exp / iat (default 0). */
  clockToleranceSeconds?: number;
  revocation?: RevocationList;
  limits?: Limits;
}

/** The holder as shown to a verifier: display name and date of birth as written in the DCC. */
export interface Holder {
  /** "<given name> <family name>" from `nam.gn`/`nam.fn`, falling back to the transliterated fields. */
  name: string;
  dob: string;
}

/** Successful verification. */
export interface VerifySuccess {
  valid: true;
  reason: null;
  type: CertificateType;
  holder: Holder;
  dcc: Json;
  claims: Omit<HcertClaims, 'dcc'>;
  signer: { kid: string; country: string | undefined };
}

/** Failed verification, with the stable reason code. */
export interface VerifyFailure {
  valid: false;
  reason: ReasonCode;
  /** Short machine-readable hint, e.g. `zlib-output-limit`; fixed to `signature` for signature failures. */
  detail: string;
  /** Known only once signature and schema held (e.g. for an expired or revoked pass). */
  type: CertificateType | null;
  holder: Holder | null;
}

export type VerifyResult = VerifySuccess | VerifyFailure;

/**
 * Verify an `HC1:` QR text. Never throws on bad input; returns a classified result.
 *
 * @example
 * const r = verifyHc1(qrText, { trustList, backend: nodeBackend, validateDcc, at: new Date() });
 * if (!r.valid) console.log(r.reason); // 'expired', 'signature', …
 */
export function verifyHc1(text: string, options: VerifyOptions): VerifyResult {
  // The intermediate bytes (base45 output, COSE bytes, Sig_structure) go to reused buffers: none of
  // them outlives this call (the result holds strings and numbers only). A nested call — a backend
  // or validator that itself verifies a pass — gets buffers of its own.
  const scratch = shared.busy ? newScratch() : shared;
  scratch.busy = true;
  try {
    return verifyWith(text, options, scratch);
  } finally {
    scratch.busy = false;
  }
}

interface Scratch extends UnwrapScratch {
  signed: Uint8Array;
  busy: boolean;
}

const DEFAULT_CBOR_LIMITS = Object.freeze({ maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems });

const newScratch = (): Scratch => ({ compressed: new Uint8Array(0), cose: new Uint8Array(0), signed: new Uint8Array(0), busy: false });
const shared = newScratch();

function verifyWith(text: string, options: VerifyOptions, scratch: Scratch): VerifyResult {
  let known: { type: CertificateType; holder: Holder } | null = null;
  try {
    const limits = options.limits ?? DEFAULT_LIMITS;
    const cborLimits = limits === DEFAULT_LIMITS ? DEFAULT_CBOR_LIMITS : { maxDepth: limits.maxCborDepth, maxItems: limits.maxCborItems };
    const { backend } = options;

    // 1. Envelope.
    const msg = parseCoseSign1(unwrapHc1Into(text, limits, backend, scratch), cborLimits);

    // 2. Header against the allowlist. alg is read from the protected header, else the unprotected
    // one (some issuers, and official vector common/CO20, put it there). An unprotected alg could be
    // rewritten, but that gains nothing: each trusted key is bound to exactly one algorithm at
    // import (P-256 ⇒ ES256, RSA ⇒ PS256), so a swapped alg only selects no key and fails.
    const alg = allowedAlgorithm(msg.protectedHeader.get(HEADER_ALG) ?? msg.unprotectedHeader.get(HEADER_ALG));
    if (!alg) return fail('signature', 'alg-not-allowed');

    // 3. Key resolution.
    const kid = coseKid(msg);
    if (!kid) return fail('unknown-key', 'no-kid');
    const published = options.trustList.byKid.get(kidKey(kid));
    if (!published) return fail('unknown-key', 'kid-not-trusted');

    // 4. Signature: every trusted key published under this kid for this algorithm is tried (kids
    // can collide); each key is bound to one algorithm at import, so only those of this alg.
    const size = sigStructureLength(msg.protectedBytes, msg.payload);
    if (scratch.signed.length < size && size <= SCRATCH_MAX) scratch.signed = new Uint8Array(Math.max(size, Math.min(2 * scratch.signed.length, SCRATCH_MAX), 1024));
    const data = sigStructureInto(msg.protectedBytes, msg.payload, size <= scratch.signed.length ? scratch.signed.subarray(0, size) : new Uint8Array(size));
    let signer: TrustedKey | undefined;
    for (let i = 0; i < published.length; i++) {
      const k = published[i]!;
      if (k.alg === alg.name && backend.verify(alg.name, k.key, data, msg.signature)) {
        signer = k;
        break;
      }
    }
    if (!signer) return fail('signature', 'signature');

    // 5. Payload, now authenticated.
    const claims = parseCwtClaims(msg.payload, cborLimits);
    if (!options.validateDcc(claims.dcc)) return fail('schema', 'dcc-schema');
    known = describe(claims.dcc);
    if (!known) return fail('schema', 'dcc-type');

    // 6. Key usage.
    if (!keyUsageAllows(signer.certificate.extendedKeyUsage, known.type)) return fail('key-usage', 'eku', known);

    // 7. Time, from the injected instant.
    const now = options.at.getTime() / 1000;
    const tol = options.clockToleranceSeconds ?? 0;
    if (claims.exp === undefined) return fail('format', 'cwt-exp-missing');
    if (claims.exp + tol < now) return fail('expired', 'exp', known);
    if (claims.iat !== undefined && claims.iat - tol > now) return fail('not-yet-valid', 'iat', known);

    // 8. Revocation.
    const hit = findRevocation(backend, options.revocation ?? EMPTY_REVOCATION_LIST, {
      ci: certificateId(claims.dcc, known.type),
      iss: claims.iss,
      alg: alg.name,
      signature: msg.signature,
    });
    if (hit) return fail('revoked', hit, known);

    return {
      valid: true,
      reason: null,
      type: known.type,
      holder: known.holder,
      dcc: claims.dcc,
      claims: { iss: claims.iss, iat: claims.iat, exp: claims.exp },
      signer: { kid: signer.kid, country: signer.country },
    };
  } catch (err) {
    const e = classify(err);
    return fail(e.code, e.detail, known);
  }
}

function fail(reason: ReasonCode, detail: string, known: { type: CertificateType; holder: Holder } | null = null): VerifyFailure {
  return { valid: false, reason, detail, type: known?.type ?? null, holder: known?.holder ?? null };
}

const GROUPS: readonly [string, CertificateType][] = [
  ['v', 'vaccination'],
  ['t', 'test'],
  ['r', 'recovery'],
];

/** Type and holder of a schema-valid DCC; `null` unless exactly one non-empty group is present. */
export function describe(dcc: Json): { type: CertificateType; holder: Holder } | null {
  if (typeof dcc !== 'object' || dcc === null || Array.isArray(dcc)) return null;
  // Plain loops and no closures: this runs once per verification.
  let type: CertificateType | undefined;
  for (let i = 0; i < GROUPS.length; i++) {
    const g = dcc[GROUPS[i]![0]];
    if (!Array.isArray(g) || g.length === 0) continue;
    if (type !== undefined) return null;
    type = GROUPS[i]![1];
  }
  if (type === undefined) return null;
  const nam = (typeof dcc.nam === 'object' && dcc.nam !== null && !Array.isArray(dcc.nam) ? dcc.nam : {}) as Record<string, Json>;
  const gn = trimmed(nam.gn) || trimmed(nam.gnt);
  const fn = trimmed(nam.fn) || trimmed(nam.fnt);
  return { type, holder: { name: gn && fn ? `${gn} ${fn}` : gn || fn, dob: trimmed(dcc.dob) } };
}

function trimmed(v: Json | undefined): string {
  return typeof v === 'string' ? v.trim() : '';
}

function certificateId(dcc: Json, type: CertificateType): string {
  const key = type === 'vaccination' ? 'v' : type === 'test' ? 't' : 'r';
  const entry = ((dcc as Record<string, Json>)[key] as Json[])[0] as Record<string, Json>;
  return typeof entry.ci === 'string' ? entry.ci : '';
}

/** Re-throwable form, for callers that prefer exceptions: throws `HcertError` with the reason. */
export function assertValid(result: VerifyResult): asserts result is VerifySuccess {
  if (!result.valid) throw new HcertError(result.reason, result.detail);
}
