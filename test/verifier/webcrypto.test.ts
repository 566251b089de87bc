import { describe, expect, it } from 'vitest';
import { verifyHc1, trustListFromCertificates, parseTrustList, parseRevocationList, revocationHash, parseCoseSign1, unwrapHc1, DEFAULT_LIMITS, validateDcc, type TrustList } from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { toBase64 } from '../../src/hcert/bytes.ts';
import { importKeys, withWebCrypto, type WebCryptoKey } from '../../src/verifier/webcrypto.ts';
import { importTrustList } from '../../src/verifier/trust.ts';
import { loadVectors, validationClock, type Vector } from '../hcert/vectors.ts';
import { issue, makeSigner, SAMPLE_DCC, T0, trustListJson } from '../hcert/fixtures.ts';

/**
 * The browser backend gives the same answers as node:crypto: WebCrypto (Node's implementation of the
 * same API, as in the browser) run through the record-and-replay adapter over the core's own
 * verification function, on every official vector and on generated ES256/PS256 passes.
 */
/** Like `trustListFromCertificates`, through the browser path (kid computed by the core, keys the browser refuses dropped). */
const webTrust = (ders: Uint8Array[]): Promise<TrustList> => importTrustList(ders.map((der) => ({ certificateType: 'DSC', rawData: toBase64(der) })));

const summary = (r: { valid: boolean; reason: string | null; holder: unknown }) => ({ valid: r.valid, reason: r.reason, holder: r.holder });

describe('WebCrypto backend (record and replay over the synchronous core)', () => {
  it('agrees with node:crypto on every official vector that carries a pass and a certificate', async () => {
    const vectors = loadVectors().filter((v: Vector) => typeof v.data.PREFIX === 'string' && typeof v.data.TESTCTX?.CERTIFICATE === 'string');
    expect(vectors.length).toBeGreaterThan(300);
    let valid = 0;
    for (const v of vectors) {
      const der = Uint8Array.from(Buffer.from(v.data.TESTCTX!.CERTIFICATE as string, 'base64'));
      const at = validationClock(v) ?? new Date(0);
      const text = v.data.PREFIX as string;
      const node = verifyHc1(text, { trustList: trustListFromCertificates([der], nodeBackend), backend: nodeBackend, validateDcc, at });
      const trustList = await webTrust([der]);
      const web = await withWebCrypto((backend) => verifyHc1(text, { trustList, backend, validateDcc, at }));
      expect(summary(web), v.id).toEqual(summary(node));
      if (node.valid) valid++;
    }
    expect(valid).toBeGreaterThan(100);
  });

  it('verifies ES256 and PS256, rejects a flipped signature bit, and finds revocations by every hash type', async () => {
    const ec = makeSigner();
    const rsa = makeSigner({ type: 'rsa' });
    const trustList = await importTrustList(trustListJson(ec, rsa) as unknown[]);
    const at = new Date(T0.getTime() + 1000);
    for (const signer of [ec, rsa]) {
      const pass = issue(signer, SAMPLE_DCC.test);
      const ok = await withWebCrypto((backend) => verifyHc1(pass.hc1, { trustList, backend, validateDcc, at }));
      expect(ok).toMatchObject({ valid: true, holder: { name: 'Paul Martin', dob: '1990' } });

      const cose = unwrapHc1(pass.hc1, DEFAULT_LIMITS, nodeBackend);
      const { signature } = parseCoseSign1(cose, { maxDepth: 16, maxItems: 4096 });
      const alg = signer === ec ? 'ES256' : 'PS256';
      const input = { ci: 'URN:UVCI:01:FR:SAUF0000000002#Y', iss: 'FR', alg, signature } as const;
      for (const type of ['UCI', 'COUNTRYCODEUCI', 'SIGNATURE'] as const) {
        const revocation = parseRevocationList({ [type]: [toBase64(revocationHash(nodeBackend, type, input))] });
        const r = await withWebCrypto((backend) => verifyHc1(pass.hc1, { trustList, backend, validateDcc, at, revocation }));
        expect(r, `${alg} ${type}`).toMatchObject({ valid: false, reason: 'revoked', detail: type });
      }
      const unrelated = parseRevocationList({ UCI: [toBase64(new Uint8Array(16).fill(7))] });
      expect(await withWebCrypto((backend) => verifyHc1(pass.hc1, { trustList, backend, validateDcc, at, revocation: unrelated }))).toMatchObject({ valid: true });
    }
    // A pass signed by a key that is not in the list, under a trusted certificate's kid: signature failure.
    const forger = makeSigner();
    const forged = issue({ ...forger, certificateDer: ec.certificateDer, kid: ec.kid }, SAMPLE_DCC.test);
    expect(await withWebCrypto((backend) => verifyHc1(forged.hc1, { trustList, backend, validateDcc, at }))).toMatchObject({ valid: false, reason: 'signature' });
  });

  it('computes a missing kid from the certificate, as the node backend does', async () => {
    const ec = makeSigner();
    const json = [{ country: 'FR', certificateType: 'DSC', rawData: toBase64(ec.certificateDer) }];
    const web = await importTrustList(json);
    expect([...web.byKid.keys()]).toEqual([...parseTrustList(json, nodeBackend).byKid.keys()]);
    expect([...web.byKid.keys()]).toEqual([toBase64(ec.kid)]);
  });

  it('drops keys the browser cannot import instead of trusting them', async () => {
    const ec = makeSigner();
    const list = await withWebCrypto((b) => trustListFromCertificates([ec.certificateDer], b));
    const handle = [...list.byKid.values()][0]![0]!.key as WebCryptoKey;
    (handle as { spki: Uint8Array }).spki[handle.spki.length - 1]! ^= 0xff; // point no longer on the curve
    expect((await importKeys([handle])).length).toBe(1);
    const pass = issue(ec, SAMPLE_DCC.test);
    expect(await withWebCrypto((backend) => verifyHc1(pass.hc1, { trustList: list, backend, validateDcc, at: T0 }))).toMatchObject({ valid: false, reason: 'signature' });
  });
});
