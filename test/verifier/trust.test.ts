import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { CompactSign, exportJWK } from 'jose';
import { importAnchor, openBundle, freshness, TrustError, BUNDLE_TYP, type TrustAnchor } from '../../src/verifier/trust.ts';
import { checkPass } from '../../src/verifier/check.ts';
import { admissible, RULES } from '../../src/verifier/rules.ts';
import { issue, makeSigner, SAMPLE_DCC, trustListJson } from '../hcert/fixtures.ts';
import type { Json } from '../../src/hcert/index.ts';

/**
 * The trust bundle is checked in a fixed, fail-closed order against the pinned anchor, and its
 * freshness rule refuses expired material; the admission rules; and a scan's verdict carries only
 * the name and date of birth.
 */
const KID = 'anchor-kid-0001';
const keys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { privateKey, publicKey } = keys();

async function anchorJson(pub: KeyObject = publicKey, extra: Record<string, unknown> = {}) {
  return { kid: KID, jwk: { ...(await exportJWK(pub)), alg: 'ES256', use: 'sig', ...extra } };
}

const NOW = Math.floor(Date.now() / 1000);
const payload = (over: Record<string, unknown> = {}) => ({ iss: 'saufconduit', iat: NOW - 60, exp: NOW - 60 + 72 * 3600, dsc: [], revocation: { UCI: [], COUNTRYCODEUCI: [], SIGNATURE: [] }, ...over });

/** A compact ES256 JWS with any header (built by hand: libraries rightly refuse to sign some of these). */
async function sign(body: unknown, header: Record<string, unknown> = { alg: 'ES256', typ: BUNDLE_TYP, kid: KID }, key: KeyObject = privateKey): Promise<string> {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const code = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof TrustError ? e.code : `unexpected ${String(e)}`));

describe('trust anchor', () => {
  it('accepts an ES256 P-256 public JWK and refuses anything else', async () => {
    expect((await importAnchor(await anchorJson())).kid).toBe(KID);
    const jwk = (await anchorJson()).jwk;
    expect(await code(importAnchor({ kid: KID, jwk: { ...jwk, d: 'AAAA' } }))).toBe('anchor');
    expect(await code(importAnchor({ kid: KID, jwk: { ...jwk, crv: 'P-384' } }))).toBe('anchor');
    expect(await code(importAnchor({ kid: KID, jwk: { ...jwk, alg: 'RS256' } }))).toBe('anchor');
    expect(await code(importAnchor({ kid: '', jwk }))).toBe('anchor');
    expect(await code(importAnchor({ kid: KID, jwk: { ...jwk, x: 'AAAA' } }))).toBe('anchor');
    expect(await code(importAnchor(null))).toBe('anchor');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(await code(importAnchor({ kid: KID, jwk: await exportJWK(rsa) }))).toBe('anchor');
  });
});

describe('trust bundle', () => {
  let anchor: TrustAnchor;
  const open = async (jws: string) => code(openBundle(jws, (anchor ??= await importAnchor(await anchorJson()))));

  it('opens a bundle signed by the anchor, with its trust list and revocations', async () => {
    const ec = makeSigner();
    anchor = await importAnchor(await anchorJson());
    const b = await openBundle(await sign(payload({ dsc: trustListJson(ec), revocation: { UCI: [Buffer.alloc(16, 1).toString('base64')] } })), anchor);
    expect(b.exp - b.iat).toBe(72 * 3600);
    expect(b.trustList.byKid.size).toBe(1);
    expect(b.revocation.UCI.size).toBe(1);
  });

  it('refuses, in order: envelope, header (alg, typ, kid, crit), signature, then payload', async () => {
    const good = await sign(payload());
    const [h, p, s] = good.split('.') as [string, string, string];
    expect(await open(good)).toBe('accepted');
    expect(await open('not a jws')).toBe('format');
    expect(await open(`${h}.${p}`)).toBe('format');
    expect(await open(`${h}.${p}.${s}.x`)).toBe('format');
    expect(await open(`${h}.${p}.${s}+`)).toBe('format');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: BUNDLE_TYP, kid: KID })).toString('base64url')}.${p}.`;
    expect(await open(none)).toBe('format');
    expect(await open(`${Buffer.from(JSON.stringify({ alg: 'none', typ: BUNDLE_TYP, kid: KID })).toString('base64url')}.${p}.${s}`)).toBe('header');
    expect(await open(await sign(payload(), { alg: 'ES256', typ: 'JWT', kid: KID }))).toBe('header');
    expect(await open(await sign(payload(), { alg: 'ES256', typ: BUNDLE_TYP, kid: 'other' }))).toBe('header');
    expect(await open(await sign(payload(), { alg: 'ES256', typ: BUNDLE_TYP, kid: KID, crit: ['exp'], exp: 1 }))).toBe('header');
    const hs = new CompactSign(new TextEncoder().encode('{}')).setProtectedHeader({ alg: 'HS256', typ: BUNDLE_TYP, kid: KID } as { alg: string });
    expect(await open(await hs.sign(new Uint8Array(32)))).toBe('header');
    // A bundle signed by another key, and a payload changed after signing.
    expect(await open(await sign(payload(), undefined, keys().privateKey))).toBe('signature');
    const tampered = Buffer.from(JSON.stringify(payload({ revocation: {} }))).toString('base64url');
    expect(await open(`${h}.${tampered}.${s}`)).toBe('signature');
    expect(await open(`${h}.${p}.${s.slice(0, -4)}`)).toBe('signature');
    // Authentic but unusable payloads.
    expect(await open(await sign(payload({ iss: 'someone' })))).toBe('payload');
    expect(await open(await sign(payload({ exp: NOW - 120 })))).toBe('payload');
    expect(await open(await sign(payload({ exp: NOW + 30 * 86_400 })))).toBe('payload');
    expect(await open(await sign(payload({ dsc: {} })))).toBe('payload');
    expect(await open(await sign(payload({ revocation: { UCI: ['not base64!'] } })))).toBe('payload');
    expect(await open(await sign(payload({ revocation: { SHA1: [] } })))).toBe('payload');
    expect(await open(await sign([1, 2]))).toBe('payload');
  });

  it('is fresh from iat until exp, refused after exp, and refused when the device clock is far behind', () => {
    const b = { iat: 1_000_000, exp: 1_000_000 + 72 * 3600 };
    expect(freshness(b, new Date(1_000_000 * 1000 + 3_600_000))).toEqual({ state: 'fresh', ageSeconds: 3600, expiresInSeconds: 71 * 3600 });
    expect(freshness(b, new Date(b.exp * 1000 - 1000)).state).toBe('fresh');
    expect(freshness(b, new Date(b.exp * 1000))).toEqual({ state: 'expired', ageSeconds: 72 * 3600 });
    expect(freshness(b, new Date((b.iat - 200) * 1000)).state).toBe('fresh');
    expect(freshness(b, new Date((b.iat - 400) * 1000))).toEqual({ state: 'future' });
  });
});

describe('a scan to a verdict', () => {
  const ec = makeSigner();
  const at = new Date();
  const test = (over: Record<string, Json> = {}): Json => {
    const base = SAMPLE_DCC.test as { t: Record<string, Json>[] };
    return { ...(SAMPLE_DCC.test as object), t: [{ ...base.t[0]!, sc: new Date(at.getTime() - 3_600_000).toISOString(), ...over }] } as Json;
  };
  const pass = (dcc: Json) => issue(ec, dcc, new Date(at.getTime() - 60_000), new Date(at.getTime() + 86_400_000)).hc1;

  it('valid: only the name and date of birth; refused (no verdict) once the trust material expired', async () => {
    const anchor = await importAnchor(await anchorJson());
    const bundle = await openBundle(await sign(payload({ dsc: trustListJson(ec) })), anchor);
    expect(await checkPass(pass(test()), bundle, at)).toEqual({ verdict: 'valid', name: 'Paul Martin', dob: '1990' });
    expect(await checkPass(pass(test({ tr: '260373001' })), bundle, at)).toEqual({ verdict: 'invalid', category: 'not-valid-now' });
    expect(await checkPass('HC1:NOTAPASS', bundle, at)).toEqual({ verdict: 'invalid', category: 'unreadable' });
    expect(await checkPass(pass(test()), bundle, new Date(bundle.exp * 1000 + 1000))).toEqual({ verdict: 'refused', why: 'trust-expired' });
    expect(await checkPass(pass(test()), bundle, new Date(bundle.iat * 1000 - 3_600_000))).toEqual({ verdict: 'refused', why: 'clock' });
    const other = await openBundle(await sign(payload({ dsc: trustListJson(makeSigner()) })), anchor);
    expect(await checkPass(pass(test()), other, at)).toEqual({ verdict: 'invalid', category: 'not-authentic' });
  });
});

describe('admission rules', () => {
  const at = new Date('2021-08-10T12:00:00Z');
  const h = (hours: number) => new Date(at.getTime() - hours * 3_600_000).toISOString();
  const t = (o: Record<string, Json>) => ({ t: [{ tr: '260415000', tt: 'LP217198-3', sc: h(1), ...o }] });
  const v = (o: Record<string, Json>) => ({ v: [{ mp: 'EU/1/20/1528', dn: 2, sd: 2, dt: '2021-07-01', ...o }] });
  const r = (o: Record<string, Json>) => ({ r: [{ df: '2021-07-01', du: '2021-12-28', ...o }] });

  it('tests: negative, PCR or antigen, under 72 hours old', () => {
    expect(admissible('test', t({}), at)).toBeNull();
    expect(admissible('test', t({ tt: 'LP6464-4', sc: h(RULES.testMaxAgeHours - 0.1) }), at)).toBeNull();
    expect(admissible('test', t({ sc: h(RULES.testMaxAgeHours + 0.1) }), at)).toBe('test-too-old');
    expect(admissible('test', t({ tr: '260373001' }), at)).toBe('test-result');
    expect(admissible('test', t({ tt: 'LP0000-0' }), at)).toBe('test-type');
    expect(admissible('test', t({ sc: h(-1) }), at)).toBe('test-in-future');
    expect(admissible('test', t({ sc: 'garbage' }), at)).toBe('test-in-future');
  });
  it('recovery: within df..du', () => {
    expect(admissible('recovery', r({}), at)).toBeNull();
    expect(admissible('recovery', r({ df: '2021-08-11' }), at)).toBe('recovery-not-yet');
    expect(admissible('recovery', r({ du: '2021-08-10' }), at)).toBeNull();
    expect(admissible('recovery', r({ du: '2021-08-09' }), at)).toBe('recovery-over');
  });
  it('vaccination: complete schedule, 7 days after the last dose (28 for a single-dose vaccine)', () => {
    expect(admissible('vaccination', v({}), at)).toBeNull();
    expect(admissible('vaccination', v({ dn: 1 }), at)).toBe('vaccination-incomplete');
    expect(admissible('vaccination', v({ dt: '2021-08-05' }), at)).toBe('vaccination-too-recent');
    expect(admissible('vaccination', v({ mp: 'EU/1/20/1525', dn: 1, sd: 1, dt: '2021-07-20' }), at)).toBe('vaccination-too-recent');
    expect(admissible('vaccination', v({ mp: 'EU/1/20/1525', dn: 1, sd: 1, dt: '2021-07-01' }), at)).toBeNull();
    expect(admissible('vaccination', v({ dn: 3, sd: 2 }), at)).toBeNull();
  });
});

