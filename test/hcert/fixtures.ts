/**
 * Test fixtures: P-256 / RSA keys and a tiny self-signed X.509 builder (DER by hand, signed with
 * node:crypto) so tests can mint DSCs with any extended key usage without openssl or a library.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { issueHc1, type Json } from '../../src/hcert/index.ts';
import { nodeBackend, nodeSigner } from '../../src/hcert/node.ts';
import { toBase64 } from '../../src/hcert/bytes.ts';
import { certificateKid } from '../../src/hcert/trust-list.ts';

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return [0x80 | bytes.length, ...bytes];
}
const tlv = (tag: number, ...content: Uint8Array[]) => {
  const body = Buffer.concat(content);
  return Uint8Array.from([tag, ...len(body.length), ...body]);
};
const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
function oid(dotted: string): Uint8Array {
  const p = dotted.split('.').map(Number);
  const out = [40 * p[0]! + p[1]!];
  for (const n of p.slice(2)) {
    const b = [n & 0x7f];
    for (let x = Math.floor(n / 128); x > 0; x = Math.floor(x / 128)) b.unshift(0x80 | (x & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s));
const printable = (s: string) => tlv(0x13, Buffer.from(s));
function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return tlv(0x18, Buffer.from(iso)); // GeneralizedTime: fine for any year
}

export interface TestSigner {
  privateKey: KeyObject;
  certificateDer: Uint8Array;
  certificatePem: string;
  privateKeyPem: string;
  kid: Uint8Array;
}

/** Mint a key pair and a self-signed DSC. */
export function makeSigner(o: { type?: 'ec' | 'rsa'; eku?: string[]; notBefore?: Date; notAfter?: Date; country?: string; name?: string } = {}): TestSigner {
  const { privateKey, publicKey } = o.type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sigAlg = o.type === 'rsa' ? seq(oid('1.2.840.113549.1.1.11'), Uint8Array.of(0x05, 0x00)) : seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(tlv(0x31, seq(oid('2.5.4.6'), printable(o.country ?? 'FR'))), tlv(0x31, seq(oid('2.5.4.3'), utf8(o.name ?? 'Saufconduit test DSC'))));
  const extensions = o.eku ? [tlv(0xa3, seq(seq(oid('2.5.29.37'), tlv(0x04, seq(...o.eku.map(oid))))))] : [];
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
    tlv(0x02, Uint8Array.of(0x01, 0x23, 0x45)),
    sigAlg,
    name,
    seq(time(o.notBefore ?? new Date('2020-01-01T00:00:00Z')), time(o.notAfter ?? new Date('2040-01-01T00:00:00Z'))),
    name,
    new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    ...extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Uint8Array.of(0), signature));
  const b64 = Buffer.from(der).toString('base64');
  return {
    privateKey,
    certificateDer: der,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    kid: certificateKid(nodeBackend, der),
  };
}

/** Trust-list JSON (DGCA gateway shape) for these signers. */
export function trustListJson(...signers: TestSigner[]): unknown[] {
  return signers.map((s) => ({ kid: toBase64(s.kid), country: 'FR', certificateType: 'DSC', rawData: toBase64(s.certificateDer) }));
}

/** Sample DCC payloads, schema 1.3.0. */
export const SAMPLE_DCC: Record<'vaccination' | 'test' | 'recovery', Json> = {
  vaccination: {
    ver: '1.3.0',
    nam: { fn: 'Dupont', fnt: 'DUPONT', gn: 'Marie', gnt: 'MARIE' },
    dob: '1985-04-12',
    v: [{ tg: '840539006', vp: '1119349007', mp: 'EU/1/20/1528', ma: 'ORG-100030215', dn: 2, sd: 2, dt: '2021-06-01', co: 'FR', is: 'Saufconduit test issuer', ci: 'URN:UVCI:01:FR:SAUF0000000001#X' }],
  },
  test: {
    ver: '1.3.0',
    nam: { fn: 'Martin', fnt: 'MARTIN', gn: 'Paul', gnt: 'PAUL' },
    dob: '1990',
    t: [{ tg: '840539006', tt: 'LP6464-4', nm: 'PCR', sc: '2021-06-01T10:00:00Z', tr: '260415000', tc: 'Pharmacie du Centre', co: 'FR', is: 'Saufconduit test issuer', ci: 'URN:UVCI:01:FR:SAUF0000000002#Y' }],
  },
  recovery: {
    ver: '1.3.0',
    nam: { fnt: 'LEROY', gnt: 'ANNE' },
    dob: '1970-01-01',
    r: [{ tg: '840539006', fr: '2021-05-01', co: 'FR', is: 'Saufconduit test issuer', df: '2021-05-12', du: '2021-11-01', ci: 'URN:UVCI:01:FR:SAUF0000000003#Z' }],
  },
};

export const T0 = new Date('2021-06-02T00:00:00Z');
export const T1 = new Date('2022-06-02T00:00:00Z');

/** Issue a pass with a test signer. */
export function issue(signer: TestSigner, dcc: Json = SAMPLE_DCC.vaccination, iat = T0, exp = T1) {
  const s = nodeSigner(signer.privateKey);
  return issueHc1({ dcc, certificateDer: signer.certificateDer, alg: s.alg, sign: s.sign, backend: nodeBackend, issuedAt: iat, expiresAt: exp, issuer: 'FR' });
}
