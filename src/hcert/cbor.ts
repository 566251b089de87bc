/**
 * A small bounded CBOR (RFC 8949) decoder and encoder for the HCERT structures.
 *
 * Why not cbor-x for decoding: it cannot bound nesting depth or item counts, and by default it
 * honours extension tags (28/29 shared references, 105 records, typed arrays…) that have no place
 * in a DCC and widen the attack surface. A pre-scan walker to enforce limits would already be most
 * of a decoder, so this file is the decoder: definite and indefinite lengths, tags kept as
 * `CborTag`, limits checked before anything is allocated, duplicate map keys rejected.
 */
import { formatError } from './errors.ts';

/** A tagged CBOR item, kept uninterpreted so callers decide which tags they accept. */
export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

/** Decoded CBOR. Maps are `Map` (keys are integers or text); byte strings are views into the input. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborKey, CborValue>
  | CborTag;

/** Keys we accept in maps: integers and text strings (all HCERT maps use these). */
export type CborKey = number | string;

/** JSON value, as the DCC is decoded (text-keyed maps become plain objects). */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Limits for one decode. */
export interface CborLimits {
  maxDepth: number;
  maxItems: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bounded decoder state; `item` decodes generically, `json` decodes a DCC straight to JSON. */
export class CborReader {
  pos = 0;
  items = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly limits: CborLimits,
  ) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw formatError('cbor-truncated');
    return this.buf[this.pos++]!;
  }

  // Reads the argument of an initial byte; returns -1 for "indefinite" (ai 31).
  argument(ai: number): number | bigint {
    if (ai < 24) return ai;
    if (ai === 24) return this.byte();
    if (ai === 25) return (this.byte() << 8) | this.byte();
    if (ai === 26) return ((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte());
    if (ai === 27) {
      const hi = BigInt(((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte()));
      const lo = BigInt(((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte()));
      const n = (hi << 32n) | lo;
      return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    if (ai === 31) return -1;
    throw formatError('cbor-reserved-ai');
  }

  // A length must be a safe number that fits in what is left of the input (for strings) or in the
  // item budget (for arrays/maps): checked before allocating anything.
  length(ai: number, perItemMinBytes: number): number {
    const n = this.argument(ai);
    if (typeof n === 'bigint') throw formatError('cbor-length');
    if (n === -1) return -1;
    if (n * perItemMinBytes > this.buf.length - this.pos) throw formatError('cbor-length');
    return n;
  }

  count(n: number): void {
    this.items += n;
    if (this.items > this.limits.maxItems) throw formatError('cbor-item-limit');
  }

  bytes(n: number): Uint8Array {
    const start = this.pos;
    this.pos += n;
    return this.buf.subarray(start, this.pos);
  }

  item(depth: number): CborValue {
    if (depth > this.limits.maxDepth) throw formatError('cbor-depth-limit');
    this.count(1);
    const ib = this.byte();
    const major = ib >> 5;
    const ai = ib & 31;
    switch (major) {
      case 0: {
        const n = this.argument(ai);
        if (n === -1) throw formatError('cbor-indefinite-int');
        return n;
      }
      case 1: {
        const n = this.argument(ai);
        if (n === -1) throw formatError('cbor-indefinite-int');
        return typeof n === 'bigint' ? -1n - n : n === Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2:
        return this.string(2, ai);
      case 3:
        return this.text(ai);
      case 4: {
        const n = this.length(ai, 1);
        const out: CborValue[] = [];
        if (n >= 0) {
          for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        } else {
          while (!this.isBreak()) out.push(this.item(depth + 1));
        }
        return out;
      }
      case 5: {
        const n = this.length(ai, 2);
        const out = new Map<CborKey, CborValue>();
        if (n >= 0) {
          for (let i = 0; i < n; i++) this.entry(out, depth);
        } else {
          while (!this.isBreak()) this.entry(out, depth);
        }
        return out;
      }
      case 6: {
        const tag = this.argument(ai);
        if (typeof tag === 'bigint' || tag === -1) throw formatError('cbor-tag');
        return new CborTag(tag, this.item(depth + 1));
      }
      default:
        return this.simple(ai);
    }
  }

  // One map entry (a method, not a closure: no function object per map on the hot path).
  entry(out: Map<CborKey, CborValue>, depth: number): void {
    const k = this.item(depth + 1);
    if (typeof k !== 'number' && typeof k !== 'string') throw formatError('cbor-map-key-type');
    // Duplicate keys make the meaning of a map ambiguous between decoders: reject (RFC 8949 §5.6).
    if (out.has(k)) throw formatError('cbor-duplicate-key');
    out.set(k, this.item(depth + 1));
  }

  /**
   * Decode one item directly as JSON (the DCC), with the same limits and checks as `item`: maps
   * must have text keys and become plain objects, numbers must be finite; tag 0 (RFC 3339 text) is
   * unwrapped and tag 1 (epoch) becomes ISO text, as some issuers encoded dates that way. Saves
   * building a Map tree and converting it afterwards.
   */
  json(depth: number): Json {
    if (depth > this.limits.maxDepth) throw formatError('cbor-depth-limit');
    if (this.pos >= this.buf.length) throw formatError('cbor-truncated');
    const ib = this.buf[this.pos]!;
    const major = ib >> 5;
    if (major === 3) {
      this.pos++;
      this.count(1);
      return this.jsonText(ib & 31);
    }
    if (major === 4) {
      this.pos++;
      this.count(1);
      const n = this.length(ib & 31, 1);
      const out: Json[] = [];
      if (n >= 0) {
        for (let i = 0; i < n; i++) out.push(this.json(depth + 1));
      } else {
        while (!this.isBreak()) out.push(this.json(depth + 1));
      }
      return out;
    }
    if (major === 5) {
      this.pos++;
      this.count(1);
      const n = this.length(ib & 31, 2);
      const out: { [k: string]: Json } = {};
      if (n >= 0) {
        for (let i = 0; i < n; i++) this.jsonEntry(out, depth);
      } else {
        while (!this.isBreak()) this.jsonEntry(out, depth);
      }
      return out;
    }
    if (major === 0 && (ib & 31) < 24) {
      // Small unsigned integer (doses, ranks): what item() returns for it, without the switch.
      this.pos++;
      this.count(1);
      return ib & 31;
    }
    const v = this.item(depth);
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw formatError('dcc-number');
      return v;
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

  jsonEntry(out: { [k: string]: Json }, depth: number): void {
    const k = this.jsonKey(depth + 1);
    if (Object.prototype.hasOwnProperty.call(out, k)) throw formatError('cbor-duplicate-key');
    const v = this.json(depth + 1);
    // defineProperty for "__proto__" so it stays data and cannot change the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }

  /**
   * A DCC map key: must be text. A short definite text is read here, in item()'s order of checks
   * (depth, item count, length), and a known DCC key comes back as the interned string constant,
   * so no string is built and the property store needs no internalization; anything else goes
   * through item() and fails there exactly as before.
   */
  jsonKey(depth: number): string {
    const buf = this.buf;
    const pos = this.pos;
    const ib = pos < buf.length ? buf[pos]! : 0;
    if (ib >> 5 === 3 && (ib & 31) < 24 && depth <= this.limits.maxDepth) {
      const n = ib & 31;
      this.count(1);
      if (n > buf.length - pos - 1) throw formatError('cbor-length');
      this.pos = pos + 1 + n;
      if (n <= 3) {
        const b0 = n > 0 ? buf[pos + 1]! : 0;
        const b1 = n > 1 ? buf[pos + 2]! : 0;
        const b2 = n > 2 ? buf[pos + 3]! : 0;
        const known = DCC_KEYS.get((n << 24) | (b0 << 16) | (b1 << 8) | b2);
        if (known !== undefined) return known;
      }
      return decodeTextRange(buf, pos + 1, pos + 1 + n);
    }
    const k = this.item(depth);
    if (typeof k !== 'string') throw formatError(typeof k === 'number' ? 'dcc-key' : 'cbor-map-key-type');
    return k;
  }

  /**
   * A DCC text value, as `text` returns it: a definite ASCII text is built by `asciiString` (one
   * fromCharCode call per eight characters), anything else as `text` does.
   */
  jsonText(ai: number): string {
    if (ai === 31) return this.text(ai);
    const n = this.length(ai, 1);
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    const buf = this.buf;
    let high = 0;
    for (let i = start; i < end; i++) high |= buf[i]!;
    if (high >= 0x80) return decodeTextRange(buf, start, end);
    return asciiString(buf, start, end);
  }

  isBreak(): boolean {
    if (this.pos >= this.buf.length) throw formatError('cbor-truncated');
    if (this.buf[this.pos] === 0xff) {
      this.pos++;
      return true;
    }
    return false;
  }

  // Text: definite lengths are decoded in place (no subarray view per string).
  text(ai: number): string {
    if (ai === 31) return decodeText(this.string(3, ai));
    const n = this.length(ai, 1);
    const start = this.pos;
    this.pos += n;
    return decodeTextRange(this.buf, start, this.pos);
  }

  string(major: number, ai: number): Uint8Array {
    const n = this.length(ai, 1);
    if (n >= 0) return this.bytes(n);
    // Indefinite length: concatenate definite chunks of the same major type.
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (!this.isBreak()) {
      this.count(1);
      const ib = this.byte();
      if (ib >> 5 !== major || (ib & 31) === 31) throw formatError('cbor-chunk');
      const c = this.bytes(this.length(ib & 31, 1));
      chunks.push(c);
      total += c.length;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  simple(ai: number): CborValue {
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25: {
        const h = (this.byte() << 8) | this.byte();
        return halfToNumber(h);
      }
      case 26: {
        const b = this.bytes(4);
        if (b.length < 4) throw formatError('cbor-truncated');
        return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0);
      }
      case 27: {
        const b = this.bytes(8);
        if (b.length < 8) throw formatError('cbor-truncated');
        return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
      }
      default:
        // Unassigned simple values and a stray "break" are malformed for our purposes.
        throw formatError('cbor-simple');
    }
  }
}

/** The ASCII bytes `buf[start, end)` as a string: one fromCharCode call up to eight characters. */
function asciiString(b: Uint8Array, i: number, end: number): string {
  switch (end - i) {
    case 0:
      return '';
    case 1:
      return String.fromCharCode(b[i]!);
    case 2:
      return String.fromCharCode(b[i]!, b[i + 1]!);
    case 3:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!);
    case 4:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    case 5:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!);
    case 6:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
    case 7:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!);
  }
  let s = '';
  for (; i + 8 <= end; i += 8) s += String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
  return i === end ? s : s + asciiString(b, i, end);
}

function decodeTextRange(buf: Uint8Array, start: number, end: number): string {
  // DCC strings are short and mostly ASCII: building them directly is several times faster than a
  // TextDecoder call per string; eight characters per fromCharCode call, not one.
  if (end - start <= 64) {
    let high = 0;
    for (let i = start; i < end; i++) high |= buf[i]!;
    if (high < 0x80) {
      let s = '';
      let i = start;
      for (; i + 8 <= end; i += 8) s += String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!, buf[i + 4]!, buf[i + 5]!, buf[i + 6]!, buf[i + 7]!);
      if (end - i >= 4) {
        s += String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!);
        i += 4;
      }
      for (; i < end; i++) s += String.fromCharCode(buf[i]!);
      return s;
    }
  }
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw formatError('cbor-utf8');
  }
}

/**
 * The map keys of the DCC schema (1.3.3: every property name at any level), by their bytes packed
 * as length << 24 | bytes: a known key is returned as this constant instead of a fresh string.
 */
const DCC_KEYS: ReadonlyMap<number, string> = new Map(
  ['ver', 'nam', 'dob', 'v', 't', 'r', 'fn', 'fnt', 'gn', 'gnt', 'tg', 'vp', 'mp', 'ma', 'dn', 'sd', 'dt', 'co', 'is', 'ci', 'tt', 'nm', 'sc', 'tr', 'tc', 'fr', 'df', 'du'].map((k) => {
    let code = k.length << 24;
    for (let i = 0; i < k.length; i++) code |= k.charCodeAt(i) << (16 - 8 * i);
    return [code, k] as const;
  }),
);

function decodeText(bytes: Uint8Array): string {
  // DCC strings are short and mostly ASCII: building them directly is several times faster than a
  // TextDecoder call per string (measured: CWT decoding 21 µs → ~6 µs per pass).
  if (bytes.length <= 64) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw formatError('cbor-utf8');
  }
}

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}

/**
 * Decode exactly one CBOR item occupying all of `bytes`. Throws `HcertError('format')` on any
 * malformation, on trailing bytes, or when a limit is hit.
 */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits): CborValue {
  const r = new CborReader(bytes, limits);
  // Bound the declared-length checks even if the caller passes a view on a larger buffer.
  const value = r.item(0);
  if (r.pos > bytes.length) throw formatError('cbor-truncated');
  if (r.pos !== bytes.length) throw formatError('cbor-trailing-bytes');
  return value;
}

// ---------------------------------------------------------------------------------------------
// Encoder (issuance and tests only; input is our own data, so no limits are needed).

const utf8enc = new TextEncoder();

class Writer {
  buf = new Uint8Array(512);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  head(major: number, n: number): void {
    this.ensure(9);
    const m = major << 5;
    if (n < 24) this.buf[this.pos++] = m | n;
    else if (n < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.buf[this.pos++] = n >> 8;
      this.buf[this.pos++] = n & 0xff;
    } else if (n < 0x100000000) {
      this.buf[this.pos++] = m | 26;
      new DataView(this.buf.buffer).setUint32(this.pos, n);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = m | 27;
      new DataView(this.buf.buffer).setBigUint64(this.pos, BigInt(n));
      this.pos += 8;
    }
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  value(v: unknown): void {
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        if (v >= 0) this.head(0, v);
        else this.head(1, -1 - v);
      } else {
        this.ensure(9);
        this.buf[this.pos++] = 0xfb;
        new DataView(this.buf.buffer).setFloat64(this.pos, v);
        this.pos += 8;
      }
    } else if (typeof v === 'string') {
      const b = utf8enc.encode(v);
      this.head(3, b.length);
      this.raw(b);
    } else if (v instanceof Uint8Array) {
      this.head(2, v.length);
      this.raw(v);
    } else if (Array.isArray(v)) {
      this.head(4, v.length);
      for (const x of v) this.value(x);
    } else if (v instanceof Map) {
      this.head(5, v.size);
      for (const [k, x] of v) {
        this.value(k);
        this.value(x);
      }
    } else if (v instanceof CborTag) {
      this.head(6, v.tag);
      this.value(v.value);
    } else if (v === null) this.raw(Uint8Array.of(0xf6));
    else if (v === true) this.raw(Uint8Array.of(0xf5));
    else if (v === false) this.raw(Uint8Array.of(0xf4));
    else if (v === undefined) this.raw(Uint8Array.of(0xf7));
    else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      this.head(5, entries.length);
      for (const [k, x] of entries) {
        this.value(k);
        this.value(x);
      }
    } else throw new TypeError(`cannot CBOR-encode ${typeof v}`);
  }
}

/** Encode a value (numbers, strings, bytes, arrays, Maps, plain objects, CborTag) as CBOR. */
export function encodeCbor(value: unknown): Uint8Array {
  const w = new Writer();
  w.value(value);
  return w.buf.slice(0, w.pos);
}
