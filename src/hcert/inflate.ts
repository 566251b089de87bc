/**
 * Bounded zlib (RFC 1950) / DEFLATE (RFC 1951) decoder, pure TypeScript (runs in Node and browsers).
 *
 * Why ours: node:zlib `inflateSync` creates a native zlib handle per call (≈ 10–25 µs, more than
 * everything else in the pipeline bar the signature), and is Node-only. fflate (measured, 0.8.3) is
 * fast when handed an output buffer, but cannot stop early: given a fixed `out` it keeps decoding
 * a bomb to the end of its input with the writes silently dropped (≈ 95 ms for a 6 KB QR-sized
 * bomb), and without `out` it allocates ≥ 128 KiB per call. This decoder checks the limit before
 * every write, so a decompression bomb throws `zlib-output-limit` as soon as its output would pass
 * `maxOutput`: memory ≤ `maxOutput` (the output buffer only grows, by doubling, up to the limit) and
 * CPU ≤ O(input + maxOutput).
 *
 * Behaviour matches zlib's `inflate` on what it accepts and rejects (differential tests in
 * test/hcert/inflate.test.ts): over-subscribed or incomplete Huffman codes (bar the single-code
 * case zlib allows), invalid symbols, distances before the start of the output, stored-block
 * length mismatch, truncation and a wrong Adler-32 are errors; bytes after the Adler-32 are
 * ignored, as node:zlib does. Preset dictionaries (FDICT) are rejected by the header check in
 * zlib.ts, before this runs.
 */
import { formatError } from './errors.ts';

const LBASE = Uint16Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258);
const LEXT = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0);
const DBASE = Uint16Array.of(1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577);
const DEXT = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13);
/** Order in which code-length code lengths are stored (RFC 1951 §3.2.7). */
const CLORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);
const REV8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let r = 0;
  for (let b = 0; b < 8; b++) if (i & (1 << b)) r |= 0x80 >> b;
  REV8[i] = r;
}

/**
 * A decoding table indexed by the next `bits` input bits (LSB first): entry = symbol << 4 | code
 * length; 0 marks a bit pattern that is no code of at most `bits` bits. `bits` is capped at
 * ROOT_BITS so building a table stays cheap (a full 15-bit table is 32 Ki entries, which dominated
 * small dynamic blocks); the rare longer codes are decoded canonically from `count`/`symbol`.
 */
interface Table {
  t: Uint16Array;
  bits: number;
  /** The longest code length (codes longer than `bits` take the slow path). */
  max: number;
  /** Codes per length, and symbols ordered by (length, symbol): the canonical code. */
  count: Uint16Array;
  symbol: Uint16Array;
}

const ROOT_BITS = 9; // as zlib's literal/length root table
const CODES = 0; // the code-length code: must be complete
const LENS_OR_DISTS = 1; // may be incomplete only when it is a single 1-bit code (as zlib allows)

/** A table with room for any code (up to 288 symbols, ROOT_BITS-bit lookup), rebuilt in place. */
function newTable(): Table {
  return { t: new Uint16Array(1 << ROOT_BITS), bits: 1, max: 0, count: new Uint16Array(16), symbol: new Uint16Array(288) };
}

// Scratch for building tables (module state: inflateZlib is synchronous and calls nothing outside
// this module, so one call never sees another's tables).
const OFFS = new Uint16Array(16);

/**
 * Build the decoding table of the code with these `n` code lengths into `tab` (whose arrays are
 * large enough for any code: see newTable). Throws for an over-subscribed or incomplete code.
 */
function buildTable(lengths: Uint8Array, start: number, n: number, kind: number, tab: Table): Table {
  const count = tab.count;
  count.fill(0);
  for (let i = 0; i < n; i++) count[lengths[start + i]!]!++;
  count[0] = 0;
  let max = 15;
  while (max > 0 && count[max] === 0) max--;
  const symbol = tab.symbol;
  tab.max = max;
  // No codes at all: every lookup fails (legal for a distance code of a literal-only block).
  if (max === 0) {
    tab.bits = 1;
    tab.t[0] = 0;
    tab.t[1] = 0;
    return tab;
  }
  let left = 1;
  for (let len = 1; len <= max; len++) {
    left = (left << 1) - count[len]!;
    if (left < 0) throw formatError('zlib-data'); // over-subscribed
  }
  if (left > 0 && (kind === CODES || max !== 1)) throw formatError('zlib-data'); // incomplete
  // Symbols sorted by (length, symbol) — the canonical code order — through where each length starts.
  const offs = OFFS;
  offs[1] = 0;
  for (let len = 2; len <= max; len++) offs[len] = offs[len - 1]! + count[len - 1]!;
  for (let sym = 0; sym < n; sym++) {
    const len = lengths[start + sym]!;
    if (len !== 0) symbol[offs[len]!++] = sym;
  }
  // The table is built one code length at a time, as libdeflate does: at length `len` it has 2^len
  // entries, and each code of that length fills exactly one, at its bit-reversed code (the bit
  // reader is LSB first, Huffman codes MSB first). Going to the next length doubles the table by
  // copying it onto its upper half (a code of length ≤ len repeats every 2^len entries), so the
  // entries are written once each in JavaScript and replicated natively. Unused entries stay 0.
  const bits = max < ROOT_BITS ? max : ROOT_BITS;
  const t = tab.t;
  t[0] = 0;
  t[1] = 0;
  let size = 2;
  let code = 0; // canonical code (RFC 1951 §3.2.2) of the next symbol
  let k = 0; // index in `symbol`
  for (let len = 1; len <= bits; len++) {
    if (len > 1) {
      t.copyWithin(size, 0, size);
      size <<= 1;
    }
    for (let c = count[len]!; c > 0; c--, k++, code++) {
      const rev = ((REV8[code & 0xff]! << 8) | REV8[code >> 8]!) >> (16 - len); // `>>`: see inflateZlib
      t[rev] = (symbol[k]! << 4) | len;
    }
    code <<= 1;
  }
  tab.bits = bits;
  return tab;
}

/**
 * Canonical decode (as zlib's puff.c) of a code longer than the table's root bits, from the next
 * bits of `bitbuf` (at least 15 are buffered by the caller). Returns symbol << 4 | length, or 0.
 */
function decodeLong(tab: Table, bitbuf: number): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= tab.max; len++) {
    code |= bitbuf & 1;
    bitbuf >>= 1;
    const count = tab.count[len]!;
    if (code - count < first) return (tab.symbol[index + (code - first)]! << 4) | len;
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return 0;
}

// Fixed Huffman codes (RFC 1951 §3.2.6), built once; immutable after module load.
const FIXED_LIT = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  return buildTable(l, 0, 288, LENS_OR_DISTS, newTable());
})();
// 32 five-bit codes, of which 30 and 31 are invalid (rejected when decoded, as zlib does).
const FIXED_DIST = buildTable(new Uint8Array(32).fill(5), 0, 32, LENS_OR_DISTS, newTable());
// Tables of the current dynamic block, and its code lengths (rebuilt per block, never allocated).
const DYN_LIT = newTable();
const DYN_DIST = newTable();
const DYN_CL = newTable();
const CL_LENGTHS = new Uint8Array(19);
const LENGTHS = new Uint8Array(286 + 30);

/**
 * Inflate a zlib stream (2-byte header already validated by the caller) into at most `maxOutput`
 * bytes. Throws `HcertError('format')`: `zlib-output-limit` as soon as the output would exceed
 * the limit, `zlib-data` for anything malformed, truncated or failing the Adler-32 check.
 */
export function inflateZlib(data: Uint8Array, maxOutput: number, scratch?: Uint8Array): Uint8Array {
  // Shifts use `>>`, not `>>>`: the bit buffer never holds more than 28 bits, so both give the same
  // value, but `>>>` types it as uint32 and V8 then keeps it as a float64 (measured 2× slower).
  const n = data.length;
  let ip = 2; // after CMF, FLG
  let bitbuf = 0;
  let bitcnt = 0;
  // Bits appended past the end of the input (as zeros) so table lookups never need a length check;
  // consuming any of them means the stream is truncated.
  let phantom = 0;
  // Output goes to `scratch` when given (the verification path reuses one buffer; stale bytes in it
  // are never read: a match may only copy from what this call has written, `distance > op` fails).
  // `cap` never exceeds `maxOutput`, so every write past the limit goes through grow(), which throws.
  let out: Uint8Array = scratch ?? new Uint8Array(Math.min(maxOutput, Math.max(1024, n * 4)));
  let cap = Math.min(maxOutput, out.length);
  let op = 0;

  let final = 0;
  do {
    while (bitcnt < 3) {
      if (ip < n) bitbuf |= data[ip++]! << bitcnt;
      else phantom += 8;
      bitcnt += 8;
    }
    final = bitbuf & 1;
    const type = (bitbuf >> 1) & 3;
    bitbuf >>= 3;
    bitcnt -= 3;
    if (bitcnt < phantom) throw formatError('zlib-data');

    if (type === 0) {
      // Stored block: skip to a byte boundary, LEN, NLEN, then LEN raw bytes.
      bitbuf >>= bitcnt & 7;
      bitcnt -= bitcnt & 7;
      if (phantom > 0) throw formatError('zlib-data');
      ip -= bitcnt >> 3; // give back the whole bytes still buffered
      bitbuf = 0;
      bitcnt = 0;
      if (ip + 4 > n) throw formatError('zlib-data');
      const len = data[ip]! | (data[ip + 1]! << 8);
      const nlen = data[ip + 2]! | (data[ip + 3]! << 8);
      ip += 4;
      if (len !== (~nlen & 0xffff)) throw formatError('zlib-data');
      if (ip + len > n) throw formatError('zlib-data');
      if (op + len > cap) cap = (out = grow(out, op, op + len, maxOutput)).length;
      out.set(data.subarray(ip, ip + len), op);
      op += len;
      ip += len;
      continue;
    }

    let lit: Table;
    let dist: Table;
    if (type === 1) {
      lit = FIXED_LIT;
      dist = FIXED_DIST;
    } else if (type === 2) {
      // Dynamic block header (RFC 1951 §3.2.7).
      while (bitcnt < 14) {
        if (ip < n) bitbuf |= data[ip++]! << bitcnt;
        else phantom += 8;
        bitcnt += 8;
      }
      const nlen = (bitbuf & 31) + 257;
      const ndist = ((bitbuf >> 5) & 31) + 1;
      const ncode = ((bitbuf >> 10) & 15) + 4;
      bitbuf >>= 14;
      bitcnt -= 14;
      if (bitcnt < phantom || nlen > 286 || ndist > 30) throw formatError('zlib-data');
      const cl = CL_LENGTHS;
      cl.fill(0);
      for (let i = 0; i < ncode; i++) {
        while (bitcnt < 3) {
          if (ip < n) bitbuf |= data[ip++]! << bitcnt;
          else phantom += 8;
          bitcnt += 8;
        }
        cl[CLORDER[i]!] = bitbuf & 7;
        bitbuf >>= 3;
        bitcnt -= 3;
      }
      if (bitcnt < phantom) throw formatError('zlib-data');
      const clt = buildTable(cl, 0, 19, CODES, DYN_CL);
      const clmask = (1 << clt.bits) - 1;
      const lengths = LENGTHS; // every entry up to nlen + ndist is written before it is read
      for (let i = 0; i < nlen + ndist; ) {
        while (bitcnt < 14) {
          if (ip < n) bitbuf |= data[ip++]! << bitcnt;
          else phantom += 8;
          bitcnt += 8;
        }
        let e = clt.t[bitbuf & clmask]!;
        if (e === 0 && (e = decodeLong(clt, bitbuf)) === 0) throw formatError('zlib-data');
        bitbuf >>= e & 15;
        bitcnt -= e & 15;
        const sym = e >> 4;
        if (sym < 16) {
          lengths[i++] = sym;
          continue;
        }
        let repeat: number;
        let value = 0;
        if (sym === 16) {
          if (i === 0) throw formatError('zlib-data');
          value = lengths[i - 1]!;
          repeat = 3 + (bitbuf & 3);
          bitbuf >>= 2;
          bitcnt -= 2;
        } else if (sym === 17) {
          repeat = 3 + (bitbuf & 7);
          bitbuf >>= 3;
          bitcnt -= 3;
        } else {
          repeat = 11 + (bitbuf & 127);
          bitbuf >>= 7;
          bitcnt -= 7;
        }
        if (i + repeat > nlen + ndist) throw formatError('zlib-data');
        while (repeat--) lengths[i++] = value;
      }
      if (bitcnt < phantom) throw formatError('zlib-data');
      if (lengths[256] === 0) throw formatError('zlib-data'); // no end-of-block code
      lit = buildTable(lengths, 0, nlen, LENS_OR_DISTS, DYN_LIT);
      dist = buildTable(lengths, nlen, ndist, LENS_OR_DISTS, DYN_DIST);
    } else throw formatError('zlib-data');

    // Compressed data: literal/length symbols, each length followed by a distance.
    const lt = lit.t;
    const lmask = (1 << lit.bits) - 1;
    const dt = dist.t;
    const dmask = (1 << dist.bits) - 1;
    block: for (;;) {
      // Fast loop, as zlib's inflate_fast: while 8 input bytes remain (one literal/length code with
      // its extra bits and one distance code with its extra bits take at most 48 bits) and the
      // longest match (258 bytes) fits below `cap`, neither the input nor the output can run out,
      // so the end-of-input (`phantom` is 0 here) and output-room checks are skipped. Every check
      // on the data itself is the same, in the same order, as in the careful loop below.
      while (ip + 8 <= n && op + 258 <= cap) {
        if (bitcnt < 15) {
          bitbuf |= (data[ip]! | (data[ip + 1]! << 8)) << bitcnt; // ≤ 30 bits buffered
          ip += 2;
          bitcnt += 16;
        }
        let e = lt[bitbuf & lmask]!;
        if (e === 0 && (e = decodeLong(lit, bitbuf)) === 0) throw formatError('zlib-data');
        bitbuf >>= e & 15;
        bitcnt -= e & 15;
        const sym = e >> 4;
        if (sym < 256) {
          out[op++] = sym;
          continue;
        }
        if (sym === 256) break block;
        const li = sym - 257;
        if (li >= 29) throw formatError('zlib-data'); // 286, 287 are not valid codes
        while (bitcnt < 20) {
          bitbuf |= data[ip++]! << bitcnt;
          bitcnt += 8;
        }
        const le = LEXT[li]!;
        const len = LBASE[li]! + (bitbuf & ((1 << le) - 1));
        bitbuf >>= le;
        bitcnt -= le;
        let d = dt[bitbuf & dmask]!;
        if (d === 0 && (d = decodeLong(dist, bitbuf)) === 0) throw formatError('zlib-data');
        bitbuf >>= d & 15;
        bitcnt -= d & 15;
        const di = d >> 4;
        if (di >= 30) throw formatError('zlib-data'); // 30, 31 are not valid codes
        while (bitcnt < 13) {
          bitbuf |= data[ip++]! << bitcnt;
          bitcnt += 8;
        }
        const de = DEXT[di]!;
        const distance = DBASE[di]! + (bitbuf & ((1 << de) - 1));
        bitbuf >>= de;
        bitcnt -= de;
        if (distance > op) throw formatError('zlib-data'); // before the start of the output
        for (let from = op - distance, end = op + len; op < end; ) out[op++] = out[from++]!;
      }
      while (bitcnt < 15) {
        if (ip < n) bitbuf |= data[ip++]! << bitcnt;
        else phantom += 8;
        bitcnt += 8;
      }
      let e = lt[bitbuf & lmask]!;
      if (e === 0 && (e = decodeLong(lit, bitbuf)) === 0) throw formatError('zlib-data');
      bitbuf >>= e & 15;
      bitcnt -= e & 15;
      if (bitcnt < phantom) throw formatError('zlib-data');
      const sym = e >> 4;
      if (sym < 256) {
        if (op >= cap) cap = (out = grow(out, op, op + 1, maxOutput)).length;
        out[op++] = sym;
        continue;
      }
      if (sym === 256) break block;
      const li = sym - 257;
      if (li >= 29) throw formatError('zlib-data'); // 286, 287 are not valid codes
      while (bitcnt < 20) {
        if (ip < n) bitbuf |= data[ip++]! << bitcnt;
        else phantom += 8;
        bitcnt += 8;
      }
      const le = LEXT[li]!;
      const len = LBASE[li]! + (bitbuf & ((1 << le) - 1));
      bitbuf >>= le;
      bitcnt -= le;
      let d = dt[bitbuf & dmask]!;
      if (d === 0 && (d = decodeLong(dist, bitbuf)) === 0) throw formatError('zlib-data');
      bitbuf >>= d & 15;
      bitcnt -= d & 15;
      const di = d >> 4;
      if (di >= 30) throw formatError('zlib-data'); // 30, 31 are not valid codes
      while (bitcnt < 13) {
        if (ip < n) bitbuf |= data[ip++]! << bitcnt;
        else phantom += 8;
        bitcnt += 8;
      }
      const de = DEXT[di]!;
      const distance = DBASE[di]! + (bitbuf & ((1 << de) - 1));
      bitbuf >>= de;
      bitcnt -= de;
      if (bitcnt < phantom) throw formatError('zlib-data');
      if (distance > op) throw formatError('zlib-data'); // before the start of the output
      const end = op + len;
      if (end > cap) cap = (out = grow(out, op, end, maxOutput)).length;
      for (let from = op - distance; op < end; ) out[op++] = out[from++]!;
    }
  } while (!final);

  // Adler-32 trailer (big-endian), right after the byte holding the last bit of the stream.
  bitcnt -= bitcnt & 7;
  if (phantom > bitcnt) throw formatError('zlib-data');
  ip -= (bitcnt - phantom) >> 3;
  if (ip + 4 > n) throw formatError('zlib-data');
  const expected = ((data[ip]! << 24) | (data[ip + 1]! << 16) | (data[ip + 2]! << 8) | data[ip + 3]!) >>> 0;
  if (adler32(out, op) !== expected) throw formatError('zlib-data');
  return out.subarray(0, op);
}

/** A larger output buffer holding the first `used` bytes: doubled, at least `need`, at most `max`. */
function grow(out: Uint8Array, used: number, need: number, max: number): Uint8Array {
  // The only place output memory grows: past the limit, stop before allocating anything.
  if (need > max) throw formatError('zlib-output-limit');
  const next = new Uint8Array(Math.min(max, Math.max(out.length * 2, need)));
  next.set(out.subarray(0, used));
  return next;
}

/** Adler-32 (RFC 1950 §8) of the first `len` bytes. */
function adler32(b: Uint8Array, len: number): number {
  let a = 1;
  let s = 0;
  let i = 0;
  while (i < len) {
    // Runs of at most 2,600 bytes keep both sums below 2^30 (s ≤ 65520 + 65520·n + 255·n(n+1)/2 for
    // n bytes), so they stay small integers; four bytes per step.
    const end = Math.min(i + 2600, len);
    const end4 = end - ((end - i) & 3);
    for (; i < end4; i += 4) {
      a += b[i]!;
      s += a;
      a += b[i + 1]!;
      s += a;
      a += b[i + 2]!;
      s += a;
      a += b[i + 3]!;
      s += a;
    }
    for (; i < end; i++) {
      a += b[i]!;
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}
