/**
 * Just enough DER / X.509 (RFC 5280) reading to use a Document Signer Certificate: the
 * SubjectPublicKeyInfo, the validity period and the extended key usage OIDs. Pure (no node:crypto
 * X509Certificate) so the browser verifier parses trust lists the same way. The certificate's own
 * signature is not checked: trust comes from the trust list, as in the EU gateway model.
 */
import { formatError } from './errors.ts';

/** The parts of a DSC the verifier needs. */
export interface ParsedCertificate {
  /** DER SubjectPublicKeyInfo, ready for key import. */
  spki: Uint8Array;
  /** `ec` (id-ecPublicKey) or `rsa` (rsaEncryption / RSASSA-PSS); anything else is `other`. */
  keyType: 'ec' | 'rsa' | 'other';
  /** Validity period, milliseconds since the epoch. */
  notBefore: number;
  notAfter: number;
  /** Extended key usage OIDs in dotted form, or `undefined` when the extension is absent. */
  extendedKeyUsage: string[] | undefined;
}

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
  headerStart: number;
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw formatError('der-truncated');
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) throw formatError('der-tag'); // multi-byte tags never occur in X.509
  let len = der[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw formatError('der-length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[p++]!;
  }
  if (p + len > limit) throw formatError('der-length');
  return { tag, start: p, end: p + len, headerStart: pos };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.start;
  while (p < parent.end) {
    const t = readTlv(der, p, parent.end);
    out.push(t);
    p = t.end;
    if (out.length > 64) throw formatError('der-too-many');
  }
  return out;
}

/** Decode an OBJECT IDENTIFIER's content bytes to dotted text. */
export function oidToString(bytes: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function parseTime(der: Uint8Array, t: Tlv): number {
  const s = String.fromCharCode(...der.subarray(t.start, t.end));
  let m: RegExpExecArray | null;
  if (t.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/.exec(s))) {
    const yy = Number(m[1]);
    // RFC 5280 §4.1.2.5.1: two-digit years 50–99 are 19xx, 00–49 are 20xx.
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s))) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  throw formatError('der-time');
}

const OID_EC = '1.2.840.10045.2.1';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_EKU = '2.5.29.37';

/** Parse a DER X.509 certificate. Throws `format` when it is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== 0x30) throw formatError('der-certificate');
  const [tbs] = children(der, cert);
  if (!tbs || tbs.tag !== 0x30) throw formatError('der-tbs');
  const f = children(der, tbs);
  let i = f[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  i += 2; // serialNumber, signature AlgorithmIdentifier
  i += 1; // issuer
  const validity = f[i++];
  i += 1; // subject
  const spki = f[i++];
  if (!validity || validity.tag !== 0x30 || !spki || spki.tag !== 0x30) throw formatError('der-tbs');
  const [nb, na] = children(der, validity);
  if (!nb || !na) throw formatError('der-validity');

  const [algId] = children(der, spki);
  const algOid = algId && children(der, algId)[0];
  const keyOid = algOid && algOid.tag === 0x06 ? oidToString(der.subarray(algOid.start, algOid.end)) : '';
  const keyType = keyOid === OID_EC ? 'ec' : keyOid === OID_RSA || keyOid === OID_RSA_PSS ? 'rsa' : 'other';

  let extendedKeyUsage: string[] | undefined;
  for (; i < f.length; i++) {
    const field = f[i]!;
    if (field.tag !== 0xa3) continue; // [3] extensions
    const [exts] = children(der, field);
    if (!exts) continue;
    for (const ext of children(der, exts)) {
      const parts = children(der, ext);
      const id = parts[0];
      const value = parts[parts.length - 1];
      if (!id || id.tag !== 0x06 || !value || value.tag !== 0x04) throw formatError('der-extension');
      if (oidToString(der.subarray(id.start, id.end)) !== OID_EKU) continue;
      const seq = readTlv(der, value.start, value.end);
      extendedKeyUsage = children(der, seq)
        .filter((t) => t.tag === 0x06)
        .map((t) => oidToString(der.subarray(t.start, t.end)));
    }
  }
  return {
    spki: der.slice(spki.headerStart, spki.end),
    keyType,
    notBefore: parseTime(der, nb),
    notAfter: parseTime(der, na),
    extendedKeyUsage,
  };
}
