/**
 * CWT claims (RFC 8392) carried by an HCERT: iss (1), exp (4), iat (6) and hcert (-260) whose key
 * 1 holds the EU DCC. The DCC is converted to plain JSON here so the schema can check it.
 */
import { CborTag, decodeCbor, type CborKey, type CborLimits, type CborValue } from './cbor.ts';
import { formatError } from './errors.ts';

export const CLAIM_ISS = 1;
export const CLAIM_EXP = 4;
export const CLAIM_IAT = 6;
export const CLAIM_HCERT = -260;
export const HCERT_EU_DCC_V1 = 1;

/** JSON value as produced from the DCC CBOR. */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** The claims we use, after type checks. */
export interface HcertClaims {
  /** Issuer country (ISO 3166-1 alpha-2), optional in the spec. */
  iss: string | undefined;
  /** Issued-at, seconds since the epoch. */
  iat: number | undefined;
  /** Expiry, seconds since the epoch. */
  exp: number | undefined;
  /** The EU DCC payload as JSON (not yet schema-checked). */
  dcc: Json;
}

/** Decode the COSE payload bytes as a CWT claim set and pull out the HCERT claims. */
export function parseCwtClaims(payload: Uint8Array, limits: CborLimits): HcertClaims {
  const claims = decodeCbor(payload, limits);
  if (!(claims instanceof Map)) throw formatError('cwt-not-map');
  const iss = claims.get(CLAIM_ISS);
  if (iss !== undefined && typeof iss !== 'string') throw formatError('cwt-iss');
  const hcert = claims.get(CLAIM_HCERT);
  if (!(hcert instanceof Map)) throw formatError('cwt-hcert-missing');
  const dcc = hcert.get(HCERT_EU_DCC_V1);
  if (!(dcc instanceof Map)) throw formatError('cwt-dcc-missing');
  return { iss, iat: numericDate(claims.get(CLAIM_IAT), 'iat'), exp: numericDate(claims.get(CLAIM_EXP), 'exp'), dcc: toJson(dcc, 0) };
}

// NumericDate (RFC 8392 §2): integer or floating-point seconds; a tag 1 wrapper is tolerated.
function numericDate(v: CborValue, name: string): number | undefined {
  if (v instanceof CborTag && v.tag === 1) v = v.value;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw formatError(`cwt-${name}`);
  return v;
}

/**
 * CBOR → JSON for the DCC. Only JSON-representable data is accepted: text-keyed maps, arrays,
 * text, finite numbers, booleans, null. Tag 0 (RFC 3339 date text) is unwrapped to its text, tag 1
 * (epoch) to an ISO string: some issuers encoded dates that way and the schema checks the text.
 */
function toJson(v: CborValue, depth: number): Json {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw formatError('dcc-number');
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
  if (v instanceof Map) {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of v as Map<CborKey, CborValue>) {
      if (typeof k !== 'string') throw formatError('dcc-key');
      // defineProperty for "__proto__" so it stays data and cannot change the prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: toJson(x, depth + 1), enumerable: true, writable: true, configurable: true });
      else out[k] = toJson(x, depth + 1);
    }
    return out;
  }
  if (v instanceof CborTag) {
    if (v.tag === 0 && typeof v.value === 'string') return v.value;
    if (v.tag === 1 && typeof v.value === 'number' && Number.isFinite(v.value)) {
      const d = new Date(v.value * 1000);
      if (Number.isNaN(d.getTime())) throw formatError('dcc-date');
      return d.toISOString().replace('.000Z', 'Z');
    }
  }
  throw formatError('dcc-type');
}
