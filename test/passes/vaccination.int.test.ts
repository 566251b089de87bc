import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { verifyWithCli } from '../support/verify-cli.ts';
import { DEFAULT_LIMITS, parseCoseSign1, parseCwtClaims, unwrapHc1 } from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';

const verify = verifyWithCli;

/** Vaccinations recorded at the pharmacy and the EU DCC vaccination passes issued from them. */
describe.each(ENGINES)('vaccination passes on %s', (engine) => {
  const demo = useDemoServer(engine);
  const dir = mkdtempSync(join(tmpdir(), 'saufconduit-vacc-'));
  const get = (url: string, p?: DemoPrincipal) => demo.server.inject({ method: 'GET', url, headers: p?.headers ?? {} });
  const post = (url: string, p: DemoPrincipal, payload: object = {}, headers: Record<string, string> = {}) =>
    demo.server.inject({ method: 'POST', url, headers: { ...p.headers, ...headers }, payload });
  const publish = async () => {
    writeFileSync(join(dir, 'trust.json'), (await get('/trust/dsc.json')).body);
    writeFileSync(join(dir, 'revoked.json'), (await get('/trust/revocation.json')).body);
    return ['--trust', join(dir, 'trust.json'), '--revoked', join(dir, 'revoked.json'), '--json'];
  };
  const dose = { product: 'EU/1/20/1528', doseNumber: 1, seriesDoses: 2, administeredOn: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) };

  it('staff record a dose; the pass they issue carries the EU coding and verifies as a vaccination', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const patientId = staff.canAccess.patientId[0]!;
    const rec = await post(`/api/patients/${patientId}/vaccinations`, staff, dose, { 'idempotency-key': 'vacc-test-0001' });
    expect(rec.statusCode, rec.body).toBe(201);
    const v = rec.json() as { id: string; productName: string };
    expect(v.productName).toBe('Comirnaty');
    const replay = await post(`/api/patients/${patientId}/vaccinations`, staff, dose, { 'idempotency-key': 'vacc-test-0001' });
    expect(replay.statusCode).toBe(200);
    expect(replay.json().id).toBe(v.id);
    // The same key with another dose is refused, not answered with the first.
    const other = await post(`/api/patients/${patientId}/vaccinations`, staff, { ...dose, doseNumber: dose.doseNumber + 1 }, { 'idempotency-key': 'vacc-test-0001' });
    expect(other.statusCode, other.body).toBe(409);
    expect(other.json().error.code).toBe('conflict');

    const issued = await post(`/api/vaccinations/${v.id}/passes`, staff);
    expect(issued.statusCode, issued.body).toBe(201);
    const pass = issued.json() as { kind: string; vaccinationId: string; hc1: string };
    expect(pass).toMatchObject({ kind: 'vaccination', vaccinationId: v.id });
    const limits = { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems };
    const claims = parseCwtClaims(parseCoseSign1(unwrapHc1(pass.hc1, DEFAULT_LIMITS, nodeBackend), limits).payload, limits);
    const entry = (claims.dcc as { v: Record<string, unknown>[] }).v[0];
    expect(entry).toMatchObject({ tg: '840539006', vp: '1119349007', mp: 'EU/1/20/1528', ma: 'ORG-100030215', dn: 1, sd: 2, dt: dose.administeredOn, co: 'FR' });
    expect(await verify([...(await publish()), pass.hc1])).toMatchObject({ code: 0, result: { valid: true, type: 'vaccination' } });
  });

  it('the holder can revoke and reissue a vaccination pass: the old one is refused at once', async () => {
    const camille = demo.who('patient-camille');
    const passes = (await get('/api/passes', camille)).json().items as { id: string; kind: string; revokedAt: string | null }[];
    const vacc = passes.find((p) => p.kind === 'vaccination' && !p.revokedAt)!;
    const old = (await get(`/api/passes/${vacc.id}`, camille)).json().hc1 as string;
    const res = await post(`/api/passes/${vacc.id}/reissue`, camille);
    expect(res.statusCode, res.body).toBe(201);
    const args = await publish();
    expect(await verify([...args, old])).toMatchObject({ code: 1, result: { reason: 'revoked' } });
    expect(await verify([...args, res.json().hc1])).toMatchObject({ code: 0, result: { type: 'vaccination' } });
  });

  it('who sees a vaccination: the pharmacy that recorded it, the patient, a professional in care; nobody else', async () => {
    const id = demo.who('patient-camille').canAccess.vaccinationId[0]!;
    for (const name of ['pharmacy-a-staff', 'pharmacy-a-api-key', 'patient-camille', 'professional-in-care']) expect((await get(`/api/vaccinations/${id}`, demo.who(name))).statusCode, name).toBe(200);
    for (const name of ['pharmacy-b-staff', 'pharmacy-b-api-key', 'patient-elise', 'professional-no-care', 'dpo']) expect((await get(`/api/vaccinations/${id}`, demo.who(name))).statusCode, name).toBe(404);
    // Care opens the clinical record, not the patient's papers: no pass for the professional.
    expect((await post(`/api/vaccinations/${id}/passes`, demo.who('professional-in-care'))).statusCode).toBe(404);
  });

  it('refuses unknown products, doses in the future and malformed input with stable codes', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const url = `/api/patients/${staff.canAccess.patientId[0]}/vaccinations`;
    for (const bad of [{ ...dose, product: 'Sputnik-V' }, { ...dose, doseNumber: 0 }, { ...dose, seriesDoses: '2' }, { ...dose, extra: true }, { ...dose, administeredOn: '2026-02-30' }]) {
      const res = await post(url, staff, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
    const future = await post(url, staff, { ...dose, administeredOn: new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10) });
    expect(future.statusCode).toBe(400);
    expect(future.json().error.issues[0].code).toBe('in-future');
    for (const old of ['2019-12-31', '0001-01-01']) {
      const res = await post(url, staff, { ...dose, administeredOn: old });
      expect(res.statusCode, old).toBe(400);
      expect(res.json().error.issues).toEqual([{ path: 'body.administeredOn', code: 'before-2020' }]);
    }
  });

  it('vaccination details are encrypted at rest', async () => {
    const rows = JSON.stringify(await demo.app.db.query('SELECT * FROM vaccination'));
    expect(rows).not.toContain('1528');
    expect(rows).not.toContain('Comirnaty');
  });
});
