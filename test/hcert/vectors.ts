/**
 * Loads the official EU DCC test vectors (../shared/conformance/dcc-testdata, read-only) and
 * evaluates each EXPECTED* flag a vector carries with our own layer functions, plus the full
 * pipeline. Shared by conformance.test.ts and report.ts so the docs table and the test agree.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';

// CommonJS interop: tsx hands us module.exports, whose .default is the function under NodeNext types.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;
import {
  DEFAULT_LIMITS,
  decodeBase45,
  decodeCbor,
  encodeCbor,
  inflateBounded,
  parseCertificate,
  parseCoseSign1,
  coseKid,
  parseCwtClaims,
  trustListFromCertificates,
  unprefix,
  validateDcc,
  explainDcc,
  verifyHc1,
  describe,
  keyUsageAllows,
  CborTag,
  type CborValue,
  type ReasonCode,
  type VerifyResult,
  type VerifyOptions,
} from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { toHex } from '../../src/hcert/bytes.ts';
import { encodeBase45 } from '../../src/hcert/base45.ts';
import { deflateSync } from 'node:zlib';

/** Repo-relative root of the vectors, as CI lays it out (shared/ beside the repo). */
export const TESTDATA_DIR = fileURLToPath(new URL('../../../shared/conformance/dcc-testdata/', import.meta.url));

export const FLAGS = [
  'EXPECTEDPICTUREDECODE',
  'EXPECTEDUNPREFIX',
  'EXPECTEDB45DECODE',
  'EXPECTEDCOMPRESSION',
  'EXPECTEDDECODE',
  'EXPECTEDVALIDJSON',
  'EXPECTEDVERIFY',
  'EXPECTEDSCHEMAVALIDATION',
  'EXPECTEDKEYUSAGE',
  'EXPECTEDEXPIRATIONCHECK',
  'EXPECTEDVALIDOBJECT',
  'EXPECTEDENCODE',
] as const;
export type Flag = (typeof FLAGS)[number];

export interface Vector {
  /** Path relative to dcc-testdata, e.g. `AT/2DCode/raw/1.json`. */
  id: string;
  /** Country folder (`PL/1.3.0` style for the versioned folders). */
  group: string;
  data: Record<string, unknown> & { EXPECTEDRESULTS: Record<string, unknown>; TESTCTX?: Record<string, unknown> };
}

/** Every vector: all `*.json` test vectors plus the extension-less top-level `QR` file. */
export function loadVectors(): Vector[] {
  const files = (readdirSync(TESTDATA_DIR, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json') || f === 'QR')
    .map((f) => f.split('\\').join('/'))
    .sort();
  const out: Vector[] = [];
  for (const id of files) {
    const data = JSON.parse(readFileSync(join(TESTDATA_DIR, id), 'utf8'));
    if (!data || typeof data !== 'object' || !('EXPECTEDRESULTS' in data)) continue; // 6.json: a bare claim set, not a vector
    const parts = id.split('/');
    const group = parts.length === 1 ? '(top-level)' : /^\d+\.\d+\.\d+$/.test(parts[1]!) ? `${parts[0]}/${parts[1]}` : parts[0]!;
    out.push({ id, group, data });
  }
  return out;
}

export interface FlagOutcome {
  flag: Flag;
  expected: boolean;
  actual: boolean;
  /** Why `actual` is what it is (error detail or mismatch). */
  note: string;
}

const limits = DEFAULT_LIMITS;
const cborLimits = { maxDepth: limits.maxCborDepth, maxItems: limits.maxCborItems };

function hexToBytes(hex: unknown): Uint8Array {
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('bad hex');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export const attempt = <T>(f: () => T): { ok: true; value: T } | { ok: false; note: string } => {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, note: (e as { detail?: string }).detail ?? (e as Error).message };
  }
};

// CBOR → comparable JS, mirroring the upstream runner: dates (tag 0/1 or ISO text) normalised to
// whole-second UTC, key order irrelevant.
function normalise(v: unknown): unknown {
  if (v instanceof CborTag) return v.tag === 1 && typeof v.value === 'number' ? new Date(v.value * 1000).toISOString().slice(0, 19) : normalise(v.value);
  if (v instanceof Map) return normalise(Object.fromEntries([...v].map(([k, x]) => [String(k), x])));
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : new Date(t).toISOString().slice(0, 19);
  }
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, normalise((v as Record<string, unknown>)[k])]));
  }
  return v;
}
const sameJson = (a: unknown, b: unknown) => JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));

// Each layer from its own field when the vector has it, else derived from the layer above: several
// vectors omit intermediate fields (COMPRESSED, COSE, CBOR), and the upstream runner then skipped the
// check; we run it on the derived bytes instead so every present flag is exercised.
function layerBase45(d: Vector['data']): string {
  return typeof d.BASE45 === 'string' ? d.BASE45 : unprefix(String(d.PREFIX), limits);
}
function layerCompressed(d: Vector['data']): Uint8Array {
  return typeof d.COMPRESSED === 'string' ? hexToBytes(d.COMPRESSED) : decodeBase45(layerBase45(d), limits.maxBase45Bytes);
}
function layerCose(d: Vector['data']): Uint8Array {
  return typeof d.COSE === 'string' ? hexToBytes(d.COSE) : inflateBounded(nodeBackend, layerCompressed(d), limits.maxInflatedBytes);
}
function layerClaims(d: Vector['data']) {
  return parseCwtClaims(parseCoseSign1(layerCose(d), cborLimits).payload, cborLimits);
}
function layerCbor(d: Vector['data']): Uint8Array {
  return typeof d.CBOR === 'string' ? hexToBytes(d.CBOR) : parseCoseSign1(layerCose(d), cborLimits).payload;
}

function certificateDer(v: Vector): Uint8Array | undefined {
  const c = v.data.TESTCTX?.CERTIFICATE;
  return typeof c === 'string' ? Uint8Array.from(Buffer.from(c, 'base64')) : undefined;
}

/** The instant a vector is verified at: TESTCTX.VALIDATIONCLOCK, else the pass's own iat. */
export function validationClock(v: Vector): Date | undefined {
  const c = v.data.TESTCTX?.VALIDATIONCLOCK;
  if (typeof c === 'string' && !Number.isNaN(Date.parse(c))) return new Date(c);
  const r = attempt(() => layerClaims(v.data));
  return r.ok && r.value.iat !== undefined ? new Date(r.value.iat * 1000) : undefined;
}

/**
 * Run our pipeline on a vector's PREFIX with its certificate as the only trusted key. The vector's
 * VALIDATIONCLOCK is used only when the vector tests expiry; otherwise its clock is arbitrary
 * (several ES/FR/LU vectors carry one before their own iat) and we verify at the pass's iat.
 */
export function verifyVector(v: Vector): VerifyResult | undefined {
  const o = vectorOptions(v);
  return o && verifyHc1(v.data.PREFIX as string, o);
}

/** What `verifyVector` verifies a vector's PREFIX with; `undefined` without a PREFIX, certificate or clock. */
export function vectorOptions(v: Vector): VerifyOptions | undefined {
  const der = certificateDer(v);
  const claims = attempt(() => layerClaims(v.data));
  const at = 'EXPECTEDEXPIRATIONCHECK' in v.data.EXPECTEDRESULTS ? validationClock(v) : claims.ok && claims.value.iat !== undefined ? new Date(claims.value.iat * 1000) : validationClock(v);
  if (typeof v.data.PREFIX !== 'string' || !der || !at) return undefined;
  return { trustList: trustListFromCertificates([der], nodeBackend), backend: nodeBackend, validateDcc, at };
}

/** HC1 text whose COSE is the vector's own COSE field when present (else its PREFIX as is). */
function rewrap(d: Vector['data']): string {
  if (typeof d.COSE !== 'string') return String(d.PREFIX);
  return 'HC1:' + encodeBase45(Uint8Array.from(deflateSync(hexToBytes(d.COSE))));
}

function decodeQrPng(b64: string): string | undefined {
  const png = PNG.sync.read(Buffer.from(b64, 'base64'));
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height, { inversionAttempts: 'dontInvert' });
  return code?.data;
}

/** Evaluate one flag on one vector. */
export function evaluate(v: Vector, flag: Flag): FlagOutcome {
  const expected = v.data.EXPECTEDRESULTS[flag] === true;
  const d = v.data;
  const out = (actual: boolean, note = '') => ({ flag, expected, actual, note });
  switch (flag) {
    case 'EXPECTEDPICTUREDECODE': {
      if (typeof d['2DCODE'] !== 'string') return out(false, 'no 2DCODE field');
      const r = attempt(() => decodeQrPng(d['2DCODE'] as string));
      if (!r.ok) return out(false, r.note);
      return out(r.value === d.PREFIX, r.value === undefined ? 'no QR found' : r.value === d.PREFIX ? '' : 'QR text differs from PREFIX');
    }
    case 'EXPECTEDUNPREFIX': {
      const r = attempt(() => unprefix(String(d.PREFIX), limits));
      if (!r.ok) return out(false, r.note);
      if (typeof d.BASE45 === 'string') return out(r.value === d.BASE45, r.value === d.BASE45 ? '' : 'unprefixed text differs from BASE45');
      return out(true);
    }
    case 'EXPECTEDB45DECODE': {
      const r = attempt(() => decodeBase45(layerBase45(d), limits.maxBase45Bytes));
      if (!r.ok) return out(false, r.note);
      if (typeof d.COMPRESSED === 'string') return out(toHex(r.value) === d.COMPRESSED.toLowerCase(), 'compare with COMPRESSED');
      if (typeof d.COSE === 'string') {
        const inflated = attempt(() => inflateBounded(nodeBackend, r.value, limits.maxInflatedBytes));
        return out(inflated.ok && toHex(inflated.value) === d.COSE.toLowerCase(), 'compare inflated with COSE');
      }
      return out(true);
    }
    case 'EXPECTEDCOMPRESSION': {
      const r = attempt(() => inflateBounded(nodeBackend, layerCompressed(d), limits.maxInflatedBytes));
      if (!r.ok) return out(false, r.note);
      if (typeof d.COSE !== 'string') return out(true);
      return out(toHex(r.value) === d.COSE.toLowerCase(), 'compare with COSE');
    }
    case 'EXPECTEDDECODE': {
      const r = attempt(() => layerClaims(d));
      if (!r.ok) return out(false, r.note);
      if (d.JSON === undefined) return out(true);
      return out(sameJson(r.value.dcc, d.JSON), 'COSE payload DCC vs JSON');
    }
    case 'EXPECTEDVALIDJSON': {
      const r = attempt(() => decodeCbor(layerCbor(d), cborLimits));
      if (!r.ok) return out(false, r.note);
      let value: CborValue = r.value;
      const hcert = value instanceof Map ? value.get(-260) : undefined;
      if (hcert instanceof Map) value = hcert.get(1); // some vectors put the whole claim set in CBOR
      return out(sameJson(value, d.JSON), 'CBOR vs JSON');
    }
    case 'EXPECTEDVERIFY': {
      const der = certificateDer(v);
      if (!der) return out(false, 'no certificate');
      // Our pipeline on the vector's COSE (re-wrapped as HC1 when the vector has its own COSE field),
      // with its certificate as the only trusted key: "verify" holds when neither the envelope, the
      // kid lookup nor the signature failed.
      const r = attempt(() => rewrap(d));
      if (!r.ok) return out(false, r.note);
      const res = verifyHc1(r.value, { trustList: trustListFromCertificates([der], nodeBackend), backend: nodeBackend, validateDcc, at: validationClock(v) ?? new Date(0) });
      const failedEarly = !res.valid && ['format', 'signature', 'unknown-key'].includes(res.reason);
      return out(!failedEarly, !res.valid ? `${res.reason}/${res.detail}` : '');
    }
    case 'EXPECTEDSCHEMAVALIDATION': {
      const r = attempt(() => layerClaims(d));
      if (!r.ok) return out(false, r.note);
      return out(validateDcc(r.value.dcc) && describe(r.value.dcc) !== null, 'schema 1.3.3');
    }
    case 'EXPECTEDKEYUSAGE': {
      const der = certificateDer(v);
      const r = attempt(() => {
        const dcc = layerClaims(d).dcc;
        const type = describe(dcc)?.type;
        if (!type || !der) throw new Error('no type or certificate');
        return keyUsageAllows(parseCertificate(der).extendedKeyUsage, type);
      });
      return r.ok ? out(r.value) : out(false, r.note);
    }
    case 'EXPECTEDEXPIRATIONCHECK': {
      const at = validationClock(v);
      const r = attempt(() => layerClaims(d));
      if (!r.ok || !at) return out(false, r.ok ? 'no clock' : r.note);
      const now = at.getTime() / 1000;
      const { exp, iat } = r.value;
      if (exp === undefined) return out(false, 'no exp');
      if (exp < now) return out(false, 'expired');
      if (iat !== undefined && iat > now) return out(false, 'not yet valid');
      return out(true);
    }
    case 'EXPECTEDVALIDOBJECT': {
      // The vector's JSON against the schema our verifier enforces (1.3.3, backward compatible).
      // The README says "the schema referenced in TESTCTX.SCHEMA", but the old releases carry
      // value-set enums that 1.3.x dropped, and the upstream runner never checked this flag.
      return out(validateDcc(d.JSON) && describe(d.JSON as never) !== null, `JSON vs schema 1.3.3: ${JSON.stringify(explainDcc(d.JSON))}`);
    }
    case 'EXPECTEDENCODE': {
      const r = attempt(() => decodeCbor(layerCbor(d), cborLimits));
      if (!r.ok) return out(false, r.note);
      let value: CborValue = r.value;
      const hcert = value instanceof Map ? value.get(-260) : undefined;
      if (hcert instanceof Map) value = hcert.get(1);
      const ours = decodeCbor(encodeCbor(d.JSON), cborLimits);
      return out(sameJson(ours, value), 'encode(JSON) vs CBOR');
    }
  }
}

/** Which flags speak for each step of our pipeline, in our verification order. */
export const STEPS: readonly { reasons: readonly (ReasonCode | 'valid')[]; flags: readonly Flag[] }[] = [
  { reasons: ['format'], flags: ['EXPECTEDUNPREFIX', 'EXPECTEDB45DECODE', 'EXPECTEDCOMPRESSION', 'EXPECTEDDECODE'] },
  { reasons: ['signature', 'unknown-key'], flags: ['EXPECTEDVERIFY'] },
  { reasons: ['schema'], flags: ['EXPECTEDSCHEMAVALIDATION'] },
  { reasons: ['key-usage'], flags: ['EXPECTEDKEYUSAGE'] },
  { reasons: ['expired', 'not-yet-valid'], flags: ['EXPECTEDEXPIRATIONCHECK'] },
];

/**
 * Whether the full pipeline's verdict agrees with the per-flag outcomes (`outcome(flag)` is the
 * layer result we established, already reconciled with the vector's expectation or a listed
 * deviation). Returns a problem description, or `null` when consistent:
 *  - valid ⇒ no step flag is false;
 *  - rejected at step S ⇒ every earlier step's flags hold, and S's flags, when present, include a
 *    false one (a `format` rejection also answers EXPECTEDVERIFY=false: the envelope is part of
 *    what "verify" needs). A rejection at a step the vector does not test is reported as untested.
 */
export function pipelineProblem(v: Vector, result: VerifyResult, outcome: (f: Flag) => boolean | undefined): string | null {
  const present = (f: Flag) => outcome(f) !== undefined;
  if (result.valid) {
    const bad = STEPS.flatMap((s) => s.flags).filter((f) => outcome(f) === false);
    return bad.length ? `valid, but ${bad.join(', ')} is false` : null;
  }
  const idx = STEPS.findIndex((s) => s.reasons.includes(result.reason));
  for (const s of STEPS.slice(0, idx)) for (const f of s.flags) if (outcome(f) === false) return `rejected with ${result.reason}, but ${f} is false (an earlier step)`;
  const step = STEPS[idx]!;
  const flags = step.flags.filter(present);
  if (flags.length === 0) return null; // untested step
  if (flags.some((f) => outcome(f) === false)) return null;
  if (result.reason === 'format' && outcome('EXPECTEDVERIFY') === false) return null;
  return `rejected with ${result.reason} (${result.detail}), but ${flags.join(', ')} hold`;
}

/** The reason our pipeline should give, derived from the flags (first failing step in our order). */
export function expectedReasons(v: Vector): readonly (ReasonCode | 'valid')[] {
  const e = v.data.EXPECTEDRESULTS;
  if (e.EXPECTEDUNPREFIX === false || e.EXPECTEDB45DECODE === false || e.EXPECTEDCOMPRESSION === false || e.EXPECTEDDECODE === false) return ['format'];
  // A signature that cannot be checked against the given certificate: wrong key under the right
  // kid (signature) or a kid that names no trusted certificate (unknown-key).
  if (e.EXPECTEDVERIFY === false) return ['signature', 'unknown-key'];
  if (e.EXPECTEDSCHEMAVALIDATION === false) return ['schema'];
  if (e.EXPECTEDKEYUSAGE === false) return ['key-usage'];
  if (e.EXPECTEDEXPIRATIONCHECK === false) return ['expired', 'not-yet-valid'];
  return ['valid'];
}

export const relativeId = (abs: string) => relative(TESTDATA_DIR, abs);
