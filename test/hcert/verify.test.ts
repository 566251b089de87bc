import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import {
  verifyHc1,
  parseTrustList,
  parseRevocationList,
  validateDcc,
  encodeBase45,
  encodeCbor,
  CborTag,
  KEY_USAGE_OIDS,
  HcertError,
  parseCoseSign1,
  type VerifyOptions,
} from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC, T0, T1 } from './fixtures.ts';

const es = makeSigner({ eku: [KEY_USAGE_OIDS.vaccination[0]!] });
const rsa = makeSigner({ type: 'rsa' });
const other = makeSigner();
const trustList = parseTrustList(trustListJson(es, rsa), nodeBackend);
const at = new Date('2021-07-01T00:00:00Z');
const opts = (o: Partial<VerifyOptions> = {}): VerifyOptions => ({ trustList, backend: nodeBackend, validateDcc, at, ...o });
const sha16 = (s: Uint8Array | string) => createHash('sha256').update(s).digest().subarray(0, 16).toString('base64');

describe('verifyHc1', () => {
  it('accepts ES256 and PS256 passes, reporting type and holder', () => {
    const r = verifyHc1(issue(es).hc1, opts());
    expect(r).toMatchObject({ valid: true, reason: null, type: 'vaccination', holder: { name: 'Marie Dupont', dob: '1985-04-12' } });
    for (const type of ['vaccination', 'test', 'recovery'] as const) {
      const p = verifyHc1(issue(rsa, SAMPLE_DCC[type]).hc1, opts());
      expect(p.valid && p.type).toBe(type);
    }
    // Transliterated names are used when the plain ones are absent.
    expect(verifyHc1(issue(rsa, SAMPLE_DCC.recovery).hc1, opts()).holder).toEqual({ name: 'ANNE LEROY', dob: '1970-01-01' });
  });

  it('rejects an unknown kid, a wrong key under a known kid, and a tampered payload', () => {
    expect(verifyHc1(issue(other).hc1, opts())).toMatchObject({ valid: false, reason: 'unknown-key', holder: null });
    // `other`'s certificate published under es's kid: the kid resolves, the signature does not.
    const forged = parseTrustList([{ kid: Buffer.from(es.kid).toString('base64'), rawData: Buffer.from(other.certificateDer).toString('base64') }], nodeBackend);
    expect(verifyHc1(issue(es).hc1, opts({ trustList: forged })).reason).toBe('signature');
    const { cose } = issue(es);
    // Flip one bit inside the signed payload (located through the parsed envelope's view).
    const msg = parseCoseSign1(cose, { maxDepth: 16, maxItems: 4096 });
    const tampered = Uint8Array.from(cose);
    tampered[msg.payload.byteOffset - cose.byteOffset + 40]! ^= 1;
    const r = verifyHc1('HC1:' + encodeBase45(deflateSync(tampered)), opts());
    expect(r).toMatchObject({ valid: false, reason: 'signature', detail: 'signature', holder: null, type: null });
  });

  it('tries every certificate published under the same kid', () => {
    const dup = parseTrustList([...trustListJson(other).map((e) => ({ ...(e as object), kid: Buffer.from(es.kid).toString('base64') })), ...trustListJson(es)], nodeBackend);
    expect(verifyHc1(issue(es).hc1, opts({ trustList: dup })).valid).toBe(true);
  });

  it('checks exp and iat against the injected instant, with tolerance', () => {
    const { hc1 } = issue(es);
    expect(verifyHc1(hc1, opts({ at: new Date(T1.getTime() + 1000) }))).toMatchObject({ valid: false, reason: 'expired', type: 'vaccination' });
    expect(verifyHc1(hc1, opts({ at: new Date(T1.getTime() + 1000), clockToleranceSeconds: 5 })).valid).toBe(true);
    expect(verifyHc1(hc1, opts({ at: new Date(T0.getTime() - 1000) })).reason).toBe('not-yet-valid');
    expect(verifyHc1(hc1, opts({ at: T1 })).valid).toBe(true); // exp itself is still valid
  });

  it('enforces extended key usage, including the mistaken 1.3.6.1.4.1.0.1847… OIDs', () => {
    expect(verifyHc1(issue(es, SAMPLE_DCC.test).hc1, opts()).reason).toBe('key-usage');
    const mistaken = makeSigner({ eku: ['1.3.6.1.4.1.0.1847.2021.1.1'] });
    const tl = parseTrustList(trustListJson(mistaken), nodeBackend);
    expect(verifyHc1(issue(mistaken, SAMPLE_DCC.test).hc1, opts({ trustList: tl })).valid).toBe(true);
    expect(verifyHc1(issue(mistaken, SAMPLE_DCC.recovery).hc1, opts({ trustList: tl })).reason).toBe('key-usage');
    const serverAuthOnly = makeSigner({ eku: ['1.3.6.1.5.5.7.3.1'] });
    expect(verifyHc1(issue(serverAuthOnly).hc1, opts({ trustList: parseTrustList(trustListJson(serverAuthOnly), nodeBackend) })).valid).toBe(true);
  });

  it('revokes by UCI, COUNTRYCODEUCI and SIGNATURE (r only for ES256)', () => {
    const { hc1, cose } = issue(es);
    const ci = 'URN:UVCI:01:FR:SAUF0000000001#X';
    expect(verifyHc1(hc1, opts({ revocation: parseRevocationList({ UCI: [sha16(ci)] }) }))).toMatchObject({ valid: false, reason: 'revoked' });
    expect(verifyHc1(hc1, opts({ revocation: parseRevocationList({ COUNTRYCODEUCI: [sha16('FR' + ci)] }) })).reason).toBe('revoked');
    const sig = cose.subarray(cose.length - 64);
    expect(verifyHc1(hc1, opts({ revocation: parseRevocationList({ SIGNATURE: [sha16(sig.subarray(0, 32))] }) })).reason).toBe('revoked');
    // The whole signature is NOT the ES256 input: a list built that way would not match.
    expect(verifyHc1(hc1, opts({ revocation: parseRevocationList({ SIGNATURE: [sha16(sig)] }) })).valid).toBe(true);
    const ps = issue(rsa);
    const psSig = ps.cose.subarray(ps.cose.length - 256);
    expect(verifyHc1(ps.hc1, opts({ revocation: parseRevocationList({ SIGNATURE: [sha16(psSig)] }) })).reason).toBe('revoked');
    expect(verifyHc1(hc1, opts({ revocation: parseRevocationList({ UCI: [sha16('other')] }) })).valid).toBe(true);
    expect(() => parseRevocationList({ UCI: ['not base64!'] })).toThrow(TypeError);
    expect(() => parseRevocationList({ BOGUS: [] })).toThrow(TypeError);
  });

  it('stays closed when a trust-list entry, or every object, carries a `valid` property', () => {
    // Regression: step 4 once told a backend failure from a trusted key by `'valid' in signer`, so a
    // key object with `valid` (own or inherited, e.g. by prototype pollution) was returned as the
    // result, valid, skipping schema, key usage, expiry and revocation.
    const expired = issue(es, SAMPLE_DCC.vaccination, T0, new Date('2021-06-30T00:00:00Z')).hc1;
    const list = parseTrustList(trustListJson(es), nodeBackend);
    for (const keys of list.byKid.values()) for (const k of keys) Object.assign(k, { valid: true, reason: null });
    expect(verifyHc1(expired, opts({ trustList: list }))).toMatchObject({ valid: false, reason: 'expired' });
    const proto = Object.prototype as { valid?: unknown };
    proto.valid = true;
    try {
      expect(verifyHc1(expired, opts())).toMatchObject({ valid: false, reason: 'expired' });
      expect(verifyHc1(issue(other).hc1, opts())).toMatchObject({ valid: false, reason: 'unknown-key' });
    } finally {
      delete proto.valid;
    }
  });

  it('refuses to sign, and rejects, a DCC that fails the schema', () => {
    expect(() => issue(es, { ...(SAMPLE_DCC.vaccination as object), dob: '1985-13' } as never)).not.toThrow(); // dob pattern allows it
    expect(() => issue(es, { ver: '1.3.0', nam: { fnt: 'X' }, dob: '1990' })).toThrow(HcertError);
  });

  it('accepts alg in the unprotected header, untagged COSE and the CWT tag 61 wrapper; rejects unlisted alg', () => {
    const { cose } = issue(es);
    // cose = D2 84 <protected bstr> A0 <payload> <sig>; rebuild variants from the parts.
    const inner = cose.subarray(1); // untagged array
    const wrap = (bytes: Uint8Array) => 'HC1:' + encodeBase45(deflateSync(bytes));
    expect(verifyHc1(wrap(inner), opts()).valid).toBe(true);
    expect(verifyHc1(wrap(Uint8Array.from([0xd8, 0x3d, ...cose])), opts()).valid).toBe(true);
    const payload = encodeCbor(new Map<number, unknown>([[1, 'FR'], [4, 1700000000], [6, 1600000000], [-260, new Map([[1, SAMPLE_DCC.vaccination]])]]));
    const ph = encodeCbor(new Map<number, unknown>([[1, -35], [4, es.kid]])); // ES384: not in the allowlist
    expect(verifyHc1(wrap(encodeCbor(new CborTag(18, [ph, new Map(), payload, new Uint8Array(96)]))), opts()).reason).toBe('signature');
  });
});
