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
import { unwrapHc1Into, wipeUnwrapScratch, SCRATCH_MAX, type UnwrapScratch } from './hc1.ts';
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
    const opened = open(text, options, scratch, placeInScratch);
    if (!opened.ok) return opened.failure;
    return conclude(opened, signerOf(opened, options.backend), options);
  } finally {
    wipe(scratch);
    scratch.busy = false;
  }
}

/** Passes verified together by `verifyHc1Many`. */
export const BATCH_SIZE = 64;

/**
 * Verify many `HC1:` texts (bulk verification, e.g. `saufconduit verify --jsonl`): the same checks,
 * order and results as `verifyHc1` on each text, in the same order; never throws on bad input.
 *
 * Why not a loop over `verifyHc1`: each ES256 check runs ≈ 80 µs of OpenSSL between two stretches of
 * decoding, so both run with cold caches. Here up to `BATCH_SIZE` passes are opened (envelope, header,
 * key), then their signatures are checked back to back, then their payloads are checked: measured
 * ≈ 7–10 % more verifications per second on one core (docs/benchmarks.md). Nothing of a payload is
 * read before its own signature has held, as in `verifyHc1`.
 *
 * `options` applies to every text, or is an array giving each text its own (e.g. its own instant,
 * when re-checking passes scanned at different times), as long as `texts`.
 */
export function verifyHc1Many(texts: readonly string[], options: VerifyOptions | readonly VerifyOptions[]): VerifyResult[] {
  if (Array.isArray(options) && options.length !== texts.length) throw new RangeError('verifyHc1Many: one options object per text, or one for all');
  const optionsOf = Array.isArray(options) ? (i: number) => options[i]! : () => options as VerifyOptions;
  const results: VerifyResult[] = new Array<VerifyResult>(texts.length);
  const scratch = shared.busy ? newScratch() : shared;
  const arena = sharedArena.busy ? newArena() : sharedArena;
  scratch.busy = arena.busy = true;
  const opened: (Opened | undefined)[] = new Array<Opened | undefined>(BATCH_SIZE);
  const signers: SignerCheck[] = new Array<SignerCheck>(BATCH_SIZE);
  const place = (size: number) => placeInArena(arena, size);
  try {
    for (let from = 0; from < texts.length; from += BATCH_SIZE) {
      const n = Math.min(BATCH_SIZE, texts.length - from);
      wipeArena(arena);
      for (let k = 0; k < n; k++) {
        const o = open(texts[from + k]!, optionsOf(from + k), scratch, place);
        if (o.ok) opened[k] = o;
        else {
          opened[k] = undefined;
          results[from + k] = o.failure;
        }
      }
      for (let k = 0; k < n; k++) {
        const o = opened[k];
        if (o) signers[k] = signerOf(o, optionsOf(from + k).backend);
      }
      for (let k = 0; k < n; k++) {
        const o = opened[k];
        if (o) results[from + k] = conclude(o, signers[k]!, optionsOf(from + k));
      }
    }
    return results;
  } finally {
    opened.fill(undefined);
    wipeArena(arena);
    wipe(scratch);
    scratch.busy = arena.busy = false;
  }
}

interface Scratch extends UnwrapScratch {
  signed: Uint8Array;
  signedUsed: number;
  busy: boolean;
}

const DEFAULT_CBOR_LIMITS = Object.freeze({ maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems });

const newScratch = (): Scratch => ({ compressed: new Uint8Array(0), cose: new Uint8Array(0), signed: new Uint8Array(0), compressedUsed: 0, coseUsed: 0, signedUsed: 0, busy: false });
const shared = newScratch();

/**
 * Zero what a verification wrote to the reused buffers (a few hundred bytes for a real pass): no
 * holder's data stays in memory after its verification, as none is kept anywhere else.
 */
function wipe(scratch: Scratch): void {
  wipeUnwrapScratch(scratch);
  scratch.signed.fill(0, 0, scratch.signedUsed);
  scratch.signedUsed = 0;
}

/**
 * Where the bytes a pass keeps until its signature is checked go in a batch: the Sig_structure
 * (which ends with the payload) and the signature, one after the other in a reused buffer.
 */
interface Arena {
  bytes: Uint8Array;
  used: number;
  busy: boolean;
}
const ARENA_BYTES = 1 << 17; // 64 real passes need ≈ 40 KiB; a larger one gets its own buffer
// Allocated on first use: the browser verifier, which checks one pass at a time, never needs it.
const newArena = (): Arena => ({ bytes: new Uint8Array(0), used: 0, busy: false });
const sharedArena = newArena();

/** `size` bytes that stay untouched until the end of the batch. */
function placeInArena(arena: Arena, size: number): Uint8Array {
  if (arena.bytes.length === 0) arena.bytes = new Uint8Array(ARENA_BYTES);
  if (arena.used + size > arena.bytes.length) return new Uint8Array(size);
  const view = arena.bytes.subarray(arena.used, arena.used + size);
  arena.used += size;
  return view;
}

/** Zero the batch's bytes and make the arena empty again. */
function wipeArena(arena: Arena): void {
  arena.bytes.fill(0, 0, arena.used);
  arena.used = 0;
}

/** Single pass: the Sig_structure goes to the scratch buffer; the signature may stay where it was parsed. */
function placeInScratch(size: number, scratch: Scratch): Uint8Array {
  if (scratch.signed.length < size && size <= SCRATCH_MAX) scratch.signed = new Uint8Array(Math.max(size, Math.min(2 * scratch.signed.length, SCRATCH_MAX), 1024));
  if (size > scratch.signed.length) return new Uint8Array(size);
  scratch.signedUsed = Math.max(scratch.signedUsed, size);
  return scratch.signed.subarray(0, size);
}

/** A pass whose envelope, header and key lookup held: what the signature check and the rest need. */
interface Opened {
  ok: true;
  alg: AlgorithmName;
  /** Trusted keys published under the pass's kid. */
  published: readonly TrustedKey[];
  /** The Sig_structure: the exact bytes the signature covers. */
  signed: Uint8Array;
  /** The CWT payload, not yet authenticated (a view of the end of `signed`). */
  payload: Uint8Array;
  signature: Uint8Array;
}

/**
 * Steps 1–3 and the Sig_structure. `place(size, scratch)` gives the buffer the Sig_structure is
 * written to; when it is not the scratch buffer (a batch), the signature is copied there too, so the
 * pass outlives the next use of the scratch buffers.
 */
function open(text: string, options: VerifyOptions, scratch: Scratch, place: (size: number, scratch: Scratch) => Uint8Array): Opened | { ok: false; failure: VerifyFailure } {
  try {
    const limits = options.limits ?? DEFAULT_LIMITS;
    // 1. Envelope.
    const msg = parseCoseSign1(unwrapHc1Into(text, limits, options.backend, scratch), cborLimitsOf(limits));

    // 2. Header against the allowlist. alg is read from the protected header, else the unprotected
    // one (some issuers, and official vector common/CO20, put it there). An unprotected alg could be
    // rewritten, but that gains nothing: each trusted key is bound to exactly one algorithm at
    // import (P-256 ⇒ ES256, RSA ⇒ PS256), so a swapped alg only selects no key and fails.
    const alg = allowedAlgorithm(msg.protectedHeader.get(HEADER_ALG) ?? msg.unprotectedHeader.get(HEADER_ALG));
    if (!alg) return refused('signature', 'alg-not-allowed');

    // 3. Key resolution.
    const kid = coseKid(msg);
    if (!kid) return refused('unknown-key', 'no-kid');
    const published = options.trustList.byKid.get(kidKey(kid));
    if (!published) return refused('unknown-key', 'kid-not-trusted');

    const size = sigStructureLength(msg.protectedBytes, msg.payload);
    const signed = sigStructureInto(msg.protectedBytes, msg.payload, place(size, scratch));
    const payload = signed.subarray(signed.length - msg.payload.length);
    let signature = msg.signature;
    if (signed.buffer !== scratch.signed.buffer) {
      signature = place(msg.signature.length, scratch);
      signature.set(msg.signature);
    }
    return { ok: true, alg: alg.name, published, signed, payload, signature };
  } catch (err) {
    const e = classify(err);
    return refused(e.code, e.detail);
  }
}

const refused = (reason: ReasonCode, detail: string) => ({ ok: false as const, failure: fail(reason, detail) });

function cborLimitsOf(limits: Limits): { maxDepth: number; maxItems: number } {
  return limits === DEFAULT_LIMITS ? DEFAULT_CBOR_LIMITS : { maxDepth: limits.maxCborDepth, maxItems: limits.maxCborItems };
}

/** What step 4 found: the key that verified, or none (`failure` null), or a failure when the backend threw. */
type SignerCheck = { ok: true; key: TrustedKey } | { ok: false; failure: VerifyFailure | null };
const NO_SIGNER: SignerCheck = Object.freeze({ ok: false, failure: null });

/**
 * Step 4: every trusted key published under the kid for this algorithm is tried (kids can collide);
 * each key is bound to one algorithm at import, so only those of this alg. The answer is tagged
 * (`ok`), never told apart by the shape of a trust-list entry: an entry is operator input.
 */
function signerOf(p: Opened, backend: HcertBackend): SignerCheck {
  try {
    for (let i = 0; i < p.published.length; i++) {
      const k = p.published[i]!;
      if (k.alg === p.alg && backend.verify(p.alg, k.key, p.signed, p.signature)) return { ok: true, key: k };
    }
    return NO_SIGNER;
  } catch (err) {
    const e = classify(err);
    return { ok: false, failure: fail(e.code, e.detail) };
  }
}

/** Steps 5–8, once the signature has been checked (and only if it held). */
function conclude(p: Opened, check: SignerCheck, options: VerifyOptions): VerifyResult {
  if (!check.ok) return check.failure ?? fail('signature', 'signature');
  const signer = check.key;
  let known: { type: CertificateType; holder: Holder } | null = null;
  try {
    // 5. Payload, now authenticated.
    const claims = parseCwtClaims(p.payload, cborLimitsOf(options.limits ?? DEFAULT_LIMITS));
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
    const hit = findRevocation(options.backend, options.revocation ?? EMPTY_REVOCATION_LIST, {
      ci: certificateId(claims.dcc, known.type),
      iss: claims.iss,
      alg: p.alg,
      signature: p.signature,
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
