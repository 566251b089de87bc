/**
 * COSE_Sign1 (RFC 9052 §4.2) as used by HCERT: accepted tagged (tag 18) or untagged, optionally
 * wrapped in the CWT tag 61 (RFC 8392 §6). Only the envelope is parsed here; the payload stays
 * opaque bytes until the signature has been checked (fail-closed order, see verify.ts).
 */
import { CborTag, decodeCbor, encodeCbor, type CborKey, type CborLimits, type CborValue } from './cbor.ts';
import { formatError } from './errors.ts';

/** COSE header labels we read (RFC 9052 §3.1). */
export const HEADER_ALG = 1;
export const HEADER_CRIT = 2;
export const HEADER_KID = 4;

const TAG_COSE_SIGN1 = 18;
const TAG_CWT = 61;

/** A parsed, not yet verified, COSE_Sign1 envelope. */
export interface CoseSign1 {
  /** The serialized protected header exactly as received: it is what the signature covers. */
  protectedBytes: Uint8Array;
  protectedHeader: Map<CborKey, CborValue>;
  unprotectedHeader: Map<CborKey, CborValue>;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** Parse a COSE_Sign1 message from CBOR bytes. Throws `format` on anything unexpected. */
export function parseCoseSign1(bytes: Uint8Array, limits: CborLimits): CoseSign1 {
  let item = decodeCbor(bytes, limits);
  if (item instanceof CborTag && item.tag === TAG_CWT) item = item.value;
  if (item instanceof CborTag) {
    if (item.tag !== TAG_COSE_SIGN1) throw formatError('cose-tag');
    item = item.value;
  }
  if (!Array.isArray(item) || item.length !== 4) throw formatError('cose-structure');
  const [p, u, payload, signature] = item;
  if (!(p instanceof Uint8Array)) throw formatError('cose-protected');
  if (!(u instanceof Map)) throw formatError('cose-unprotected');
  // A detached payload (nil) is meaningless for a QR pass.
  if (!(payload instanceof Uint8Array)) throw formatError('cose-payload');
  if (!(signature instanceof Uint8Array)) throw formatError('cose-signature');
  let protectedHeader: Map<CborKey, CborValue>;
  if (p.length === 0) protectedHeader = new Map();
  else {
    const decoded = decodeCbor(p, limits);
    if (!(decoded instanceof Map)) throw formatError('cose-protected');
    protectedHeader = decoded;
  }
  // RFC 9052 §3.1: a critical header we do not understand means we must not accept the message.
  if (protectedHeader.has(HEADER_CRIT)) throw formatError('cose-crit');
  return { protectedBytes: p, protectedHeader, unprotectedHeader: u, payload, signature };
}

/**
 * The key id: from the protected header, or else the unprotected one (hcert spec §3.3.1 allows
 * both; the protected one wins when both are present because only it is signed).
 */
export function coseKid(msg: CoseSign1): Uint8Array | undefined {
  const kid = msg.protectedHeader.get(HEADER_KID) ?? msg.unprotectedHeader.get(HEADER_KID);
  if (kid === undefined) return undefined;
  if (!(kid instanceof Uint8Array)) throw formatError('cose-kid');
  return kid;
}

/**
 * The bytes a COSE_Sign1 signature covers: Sig_structure = ["Signature1", protected, h'', payload]
 * (RFC 9052 §4.4). Built by hand because it is a fixed shape and sits on the hot path.
 */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return sigStructureInto(protectedBytes, payload, new Uint8Array(sigStructureLength(protectedBytes, payload)));
}

/** Length of the Sig_structure of `protectedBytes` and `payload`. */
export function sigStructureLength(protectedBytes: Uint8Array, payload: Uint8Array): number {
  return 1 + SIGNATURE1.length + headLength(protectedBytes.length) + protectedBytes.length + 1 + headLength(payload.length) + payload.length;
}

/**
 * The Sig_structure written at the start of `out` (at least `sigStructureLength` bytes long: the
 * verification path passes a reused buffer); returns the view of the bytes written.
 */
export function sigStructureInto(protectedBytes: Uint8Array, payload: Uint8Array, out: Uint8Array): Uint8Array {
  let o = 0;
  out[o++] = 0x84;
  for (let i = 0; i < SIGNATURE1.length; i++) out[o++] = SIGNATURE1[i]!;
  o = writeHead(out, o, 2, protectedBytes.length);
  out.set(protectedBytes, o);
  o += protectedBytes.length;
  out[o++] = 0x40; // external_aad: empty byte string
  o = writeHead(out, o, 2, payload.length);
  out.set(payload, o);
  o += payload.length;
  return o === out.length ? out : out.subarray(0, o);
}

const SIGNATURE1 = encodeCbor('Signature1');

function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** The CBOR head of major type `major` with argument `n` (< 2^32) at `o`; returns the next offset. */
function writeHead(out: Uint8Array, o: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) out[o++] = m | n;
  else if (n < 0x100) {
    out[o++] = m | 24;
    out[o++] = n;
  } else if (n < 0x10000) {
    out[o++] = m | 25;
    out[o++] = n >> 8;
    out[o++] = n & 0xff;
  } else {
    out[o++] = m | 26;
    out[o++] = n >>> 24;
    out[o++] = (n >> 16) & 0xff;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  return o;
}

/** Serialize a COSE_Sign1 (issuance), tagged 18 as the hcert spec recommends. */
export function encodeCoseSign1(protectedBytes: Uint8Array, unprotected: Map<CborKey, CborValue>, payload: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeCbor(new CborTag(TAG_COSE_SIGN1, [protectedBytes, unprotected, payload, signature]));
}
