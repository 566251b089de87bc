import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, importJWK } from 'jose';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { verifyWithCli } from '../support/verify-cli.ts';
import { icao, listPasses, reissuePass } from '../../src/domain/passes.ts';
import { principalFor } from '../../src/domain/accounts.ts';
import { rotateDsc } from '../../src/domain/issuer-keys.ts';

const verify = verifyWithCli;

describe.each(ENGINES)('EU DCC passes on %s', (engine) => {
  const demo = useDemoServer(engine);
  const dir = mkdtempSync(join(tmpdir(), 'saufconduit-passes-'));
  const get = (url: string, p?: DemoPrincipal) => demo.server.inject({ method: 'GET', url, headers: p?.headers ?? {} });
  const publish = async () => {
    writeFileSync(join(dir, 'trust.json'), (await get('/trust/dsc.json')).body);
    writeFileSync(join(dir, 'revoked.json'), (await get('/trust/revocation.json')).body);
    return ['--trust', join(dir, 'trust.json'), '--revoked', join(dir, 'revoked.json'), '--json'];
  };

  it('a patient downloads their pass (QR text, PNG, bilingual PDF) and it verifies against the published trust list', async () => {
    const camille = demo.who('patient-camille');
    const all = (await get('/api/passes', camille)).json().items as { id: string; kind: string; hc1?: string }[];
    expect(all.map((x) => x.kind).sort()).toEqual(['test', 'vaccination']);
    const list = all.filter((x) => x.kind === 'test');
    expect(list[0]!.hc1).toBeUndefined();
    const pass = (await get(`/api/passes/${list[0]!.id}`, camille)).json() as { hc1: string };
    expect(pass.hc1).toMatch(/^HC1:/);
    const png = await get(`/api/passes/${list[0]!.id}/qr`, camille);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
    const pdf = await get(`/api/passes/${list[0]!.id}/pdf`, camille);
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const v = await verify([...(await publish()), pass.hc1]);
    expect(v).toEqual({ code: 0, result: { valid: true, reason: null, type: 'test', holder: { name: 'Camille Martin', dob: '1990-04-12' } } });
  });

  it('revoke and reissue: the old pass is refused at once, the new one verifies', async () => {
    const elise = demo.who('patient-elise');
    const [first] = (await get('/api/passes', elise)).json().items as { id: string }[];
    const old = (await get(`/api/passes/${first!.id}`, elise)).json().hc1 as string;
    const res = await demo.server.inject({ method: 'POST', url: `/api/passes/${first!.id}/reissue`, headers: elise.headers });
    expect(res.statusCode).toBe(201);
    const fresh = res.json() as { id: string; hc1: string };
    expect(fresh.hc1).not.toBe(old);
    const args = await publish();
    expect(await verify([...args, old])).toMatchObject({ code: 1, result: { valid: false, reason: 'revoked' } });
    expect(await verify([...args, fresh.hc1])).toMatchObject({ code: 0, result: { valid: true } });
    const again = await demo.server.inject({ method: 'POST', url: `/api/passes/${first!.id}/reissue`, headers: elise.headers });
    expect(again.statusCode).toBe(409);
    const listed = (await get('/api/passes', elise)).json().items as { id: string; revokedAt: string | null; replacedBy: string | null }[];
    expect(listed.find((p) => p.id === first!.id)).toMatchObject({ replacedBy: fresh.id });
  });

  it('a stored record no certificate can encode (birth date before 1900) answers 409 not-encodable, not 500', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const post = (url: string, payload: object) => demo.server.inject({ method: 'POST', url, headers: staff.headers, payload });
    const patient = await post('/api/patients', { givenName: 'Jeanne', familyName: 'Calment', birthDate: '1975-02-21' });
    const id = patient.json().id as string;
    // Written before birth dates were bounded at entry: the value is set behind the API's back.
    await demo.app.db.query('UPDATE patient SET birth_date_enc = $2 WHERE id = $1', [id, demo.app.fields.encrypt(`patient.birth_date:${id}`, '1875-02-21')]);
    const result = await post(`/api/patients/${id}/results`, { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 60_000).toISOString() });
    const issued = await post(`/api/results/${result.json().id}/passes`, { kind: 'test' });
    expect(issued.statusCode, issued.body).toBe(409);
    expect(issued.json().error.issues).toEqual([{ path: 'pass', code: 'not-encodable' }]);
  });

  it('reissues run in one batched transaction sign one new pass, not one each', async () => {
    // Driven through the unit of work: HTTP requests reach it over several turns of the event loop,
    // so whether they share a batch is left to chance. Here they do: the read runs alone (the first
    // operation to reach an idle unit of work commits alone), the reissues queue behind it together.
    const camille = demo.who('patient-camille');
    const before = (await get('/api/passes', camille)).json().items as { id: string; kind: string; revokedAt: string | null }[];
    const target = before.find((p) => p.kind === 'vaccination' && !p.revokedAt)!;
    const [owner] = await demo.app.db.query<{ id: string }>('SELECT p.account_id AS id FROM pass x JOIN patient p ON p.id = x.patient_id WHERE x.id = $1', [target.id]);
    // As if from a session whose second factor was just proved (reissuing needs a recent one).
    const principal = { ...(await principalFor(demo.app.db, owner!.id))!, secondFactorAt: Date.now() };
    const outcomes = await Promise.allSettled([
      demo.app.uow.read(principal, 'reissue-race-1', (w) => listPasses(w)),
      ...[2, 3, 4, 5].map((i) => demo.app.uow.run(principal, `reissue-race-${i}`, (w) => reissuePass(w, demo.app.signer, target.id))),
    ]);
    const reissued = outcomes.slice(1).filter((o): o is PromiseFulfilledResult<Awaited<ReturnType<typeof reissuePass>>> => o.status === 'fulfilled');
    expect(reissued).toHaveLength(1);
    for (const o of outcomes.slice(1)) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'conflict' });
    const after = (await get('/api/passes', camille)).json().items as { id: string; kind: string; revokedAt: string | null; replacedBy: string | null }[];
    expect(after).toHaveLength(before.length + 1);
    expect(after.find((p) => p.id === target.id)).toMatchObject({ replacedBy: reissued[0]!.value.id });
    expect(after.filter((p) => !p.revokedAt && p.kind === 'vaccination').map((p) => p.id)).toEqual([reissued[0]!.value.id]);
  });

  it('the signed bundle carries trust and revocation lists under the pinned anchor, with an expiry', async () => {
    const anchor = (await get('/trust/anchor.json')).json() as { jwk: Record<string, unknown> };
    const jws = (await get('/trust/bundle.jws')).body;
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(anchor.jwk as never, 'ES256'));
    expect(protectedHeader.typ).toBe('saufconduit-trust+jws');
    const body = JSON.parse(new TextDecoder().decode(payload)) as { exp: number; iat: number; dsc: unknown[]; revocation: { UCI: string[] } };
    expect(body.dsc.length).toBeGreaterThanOrEqual(1);
    expect(body.exp - body.iat).toBe(72 * 3600);
    const tampered = jws.replace(/\.([^.]+)\./, (_m, p: string) => `.${p.slice(0, -2)}AA.`);
    await expect(compactVerify(tampered, await importJWK(anchor.jwk as never, 'ES256'))).rejects.toThrow();
    const first = await get('/trust/dsc.json');
    expect(first.headers['cache-control']).toMatch(/public, max-age=\d+/);
    const second = await demo.server.inject({ method: 'GET', url: '/trust/dsc.json', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(second.statusCode).toBe(304);
  });

  it('after a DSC rotation, new passes use the new key and old ones still verify', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const before = (await get('/trust/dsc.json')).json() as { kid: string }[];
    await rotateDsc(demo.app.db, demo.app.fields);
    // A new result (the demo's already have their pass, and a second one is never issued).
    const patientId = staff.canAccess.patientId[0]!;
    const result = await demo.server.inject({ method: 'POST', url: `/api/patients/${patientId}/results`, headers: staff.headers, payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 60_000).toISOString() } });
    const issued = await demo.server.inject({ method: 'POST', url: `/api/results/${result.json().id}/passes`, headers: staff.headers, payload: { kind: 'test' } });
    expect(issued.statusCode).toBe(201);
    const after = (await get('/trust/dsc.json')).json() as { kid: string }[];
    expect(after.length).toBe(before.length + 1);
    const args = await publish();
    expect(await verify([...args, issued.json().hc1])).toMatchObject({ code: 0 });
    const camille = demo.who('patient-camille');
    const [oldId] = ((await get('/api/passes', camille)).json().items as { id: string }[]).map((p) => p.id);
    expect(await verify([...args, (await get(`/api/passes/${oldId}`, camille)).json().hc1])).toMatchObject({ code: 0 });
  });

  it('only the holder and the issuing pharmacy see a pass; professionals and others get 404', async () => {
    const camille = demo.who('patient-camille');
    const [id] = ((await get('/api/passes', camille)).json().items as { id: string }[]).map((p) => p.id);
    for (const name of ['patient-dominique', 'professional-in-care', 'pharmacy-b-staff', 'dpo']) expect((await get(`/api/passes/${id}`, demo.who(name))).statusCode, name).toBe(404);
    expect((await get(`/api/passes/${id}`, demo.who('pharmacy-a-staff'))).statusCode).toBe(200);
  });

  it('recovery passes need a positive PCR 11 to 180 days old; inconclusive results get no pass', async () => {
    const dominique = demo.who('patient-dominique');
    // Her positive PCR of the day (she also has a positive antigen test).
    const views = await Promise.all(dominique.canAccess.resultId.map(async (id) => (await demo.server.inject({ url: `/api/results/${id}`, headers: dominique.headers })).json() as { id: string; testType: string }));
    const resultId = views.find((r) => r.testType === 'pcr')!.id;
    const res = await demo.server.inject({ method: 'POST', url: `/api/results/${resultId}/passes`, headers: dominique.headers, payload: { kind: 'recovery' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.issues[0].code).toBe('recovery-too-early');
  });

  it('the pass text is encrypted at rest', async () => {
    const rows = JSON.stringify(await demo.app.db.query('SELECT * FROM pass'));
    expect(rows).not.toContain('HC1:');
  });
});

describe('ICAO 9303 transliteration', () => {
  it('keeps A-Z and < only', () => {
    expect(icao("d'Červenková Panklová")).toBe('DCERVENKOVA<PANKLOVA');
    expect(icao('Élise-Marie')).toBe('ELISE<MARIE');
    expect(icao('Œdipe Straße')).toBe('OEDIPE<STRASSE');
  });
});
