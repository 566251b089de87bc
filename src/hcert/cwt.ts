/**
 * CWT claims (RFC 8392) carried by an HCERT: iss (1), exp (4), iat (6) and hcert (-260) whose key
 * 1 holds the EU DCC. The DCC is converted to plain JSON here so the schema can check it.
 */
import { CborReader, CborTag, decodeCbor, type CborKey, type CborLimits, type CborValue, type Json } from './cbor.ts';
import { formatError } from './errors.ts';

export const CLAIM_ISS = 1;
export const CLAIM_EXP = 4;
export const CLAIM_IAT = 6;
export const CLAIM_HCERT = -260;
export const HCERT_EU_DCC_V1 = 1;

/** JSON value as produced from the DCC CBOR. */
export type { Json };

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

/**
 * Decode the COSE payload bytes as a CWT claim set and pull out the HCERT claims. The claim set
 * and the hcert map are walked here; the DCC itself is decoded straight to JSON by the bounded
 * reader (same depth/item limits, duplicate keys rejected) instead of as a Map tree converted
 * afterwards.
 */
export function parseCwtClaims(payload: Uint8Array, limits: CborLimits): HcertClaims {
  const r = new CborReader(payload, limits);
  if (payload.length === 0 || payload[0]! >> 5 !== 5) {
    decodeCbor(payload, limits); // a malformed item reports its own CBOR error first
    throw formatError('cwt-not-map');
  }
  // Keys seen so far in each map (duplicates are rejected), and the three claims kept in locals
  // rather than a Map of every claim.
  const seen = CLAIM_KEYS.reset();
  let iss: CborValue;
  let iat: CborValue;
  let exp: CborValue;
  let dcc: Json | undefined;
  let hcertSeen = false;
  r.count(1);
  const n = r.length(r.byte() & 31, 2);
  for (let i = 0; n < 0 ? !r.isBreak() : i < n; i++) {
    const k = claimKey(r, seen, 1);
    if (k === CLAIM_HCERT && r.pos < payload.length && payload[r.pos]! >> 5 === 5) {
      // hcert: { 1: DCC, … }
      hcertSeen = true;
      const inner = HCERT_KEYS.reset();
      r.count(1);
      const m = r.length(r.byte() & 31, 2);
      for (let j = 0; m < 0 ? !r.isBreak() : j < m; j++) {
        const hk = claimKey(r, inner, 2);
        if (hk === HCERT_EU_DCC_V1) {
          const v = r.json(2);
          if (typeof v !== 'object' || v === null || Array.isArray(v)) throw formatError('cwt-dcc-missing');
          dcc = v;
        } else r.item(2);
      }
    } else {
      const v = r.item(1);
      if (k === CLAIM_ISS) iss = v;
      else if (k === CLAIM_IAT) iat = v;
      else if (k === CLAIM_EXP) exp = v;
    }
  }
  if (r.pos !== payload.length) throw formatError('cbor-trailing-bytes');
  if (iss !== undefined && typeof iss !== 'string') throw formatError('cwt-iss');
  if (!hcertSeen) throw formatError('cwt-hcert-missing');
  if (dcc === undefined) throw formatError('cwt-dcc-missing');
  return { iss, iat: numericDate(iat, 'iat'), exp: numericDate(exp, 'exp'), dcc };
}

/** The keys of one map so far: a short list (a CWT has a handful of claims), a Set past 16 keys. */
class SeenKeys {
  list: CborKey[] = [];
  set: Set<CborKey> | null = null;
  reset(): this {
    this.list.length = 0;
    this.set = null;
    return this;
  }
  /** Record `k`; false if it was already there. */
  add(k: CborKey): boolean {
    if (this.set) {
      if (this.set.has(k)) return false;
      this.set.add(k);
      return true;
    }
    if (this.list.includes(k)) return false;
    this.list.push(k);
    if (this.list.length > 16) this.set = new Set(this.list); // a hostile map of thousands stays linear
    return true;
  }
}

// Reused by every call (module state: parseCwtClaims is synchronous and nothing it calls re-enters it).
const CLAIM_KEYS = new SeenKeys();
const HCERT_KEYS = new SeenKeys();

// A map key at `depth`: integer or text, not seen before in this map (`seen` collects them).
function claimKey(r: CborReader, seen: SeenKeys, depth: number): CborKey {
  const k = r.item(depth);
  if (typeof k !== 'number' && typeof k !== 'string') throw formatError('cbor-map-key-type');
  if (!seen.add(k)) throw formatError('cbor-duplicate-key');
  return k;
}

// NumericDate (RFC 8392 §2): integer or floating-point seconds; a tag 1 wrapper is tolerated.
function numericDate(v: CborValue, name: string): number | undefined {
  if (v instanceof CborTag && v.tag === 1) v = v.value;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw formatError(`cwt-${name}`);
  return v;
}
