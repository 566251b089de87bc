import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { seedDemo, demoCredentials, type DemoPrincipal } from '../../src/demo/world.ts';

/**
 * Broken object-level authorization matrix (DESIGN incidents 3 and 4): every templated route in
 * /openapi.json × every demo principal × every id of that kind that the principal may NOT read
 * → 401/403/404, and nothing changes; every id it may read → 200.
 */
type Kind = keyof DemoPrincipal['canAccess'];

/** A digest per table of everything but the audit trail (which must grow). */
async function snapshot(app: TestApp): Promise<Record<string, string>> {
  const tables = ['tenant', 'account', 'patient', 'test_result', 'document', 'api_key', 'care_relationship', 'webauthn_credential', 'session', 'pass', 'signing_certificate', 'registration_link', 'registration', 'vaccination',
    'professional', 'consent_code', 'break_glass', 'alert'];
  const out: Record<string, string> = {};
  for (const t of tables) {
    const rows = await app.db.query(`SELECT * FROM ${t} ORDER BY 1`);
    out[t] = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
  }
  return out;
}

describe.each(ENGINES)('BOLA matrix on %s', (engine) => {
  let app: TestApp;
  let server: FastifyInstance;
  let principals: DemoPrincipal[];
  let openapi: { paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>> };
  const allIds = {} as Record<Kind, string[]>;

  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
    principals = (await demoCredentials(app)).principals;
    server = await testServer(app);
    openapi = (await server.inject({ method: 'GET', url: '/openapi.json' })).json();
    allIds.patientId = (await app.db.query<{ id: string }>('SELECT id FROM patient')).map((r) => r.id);
    allIds.resultId = (await app.db.query<{ id: string }>('SELECT id FROM test_result')).map((r) => r.id);
    allIds.vaccinationId = (await app.db.query<{ id: string }>('SELECT id FROM vaccination')).map((r) => r.id);
    allIds.documentId = (await app.db.query<{ id: string }>('SELECT id FROM document')).map((r) => r.id);
    allIds.apiKeyId = (await app.db.query<{ id: string }>('SELECT id FROM api_key')).map((r) => r.id);
    allIds.passId = (await app.db.query<{ id: string }>('SELECT id FROM pass')).map((r) => r.id);
    allIds.passkeyId = (await app.db.query<{ id: string }>('SELECT ref AS id FROM webauthn_credential')).map((r) => r.id);
    allIds.relationshipId = (await app.db.query<{ id: string }>('SELECT id FROM care_relationship')).map((r) => r.id);
    allIds.breakGlassId = (await app.db.query<{ id: string }>('SELECT id FROM break_glass')).map((r) => r.id);
    allIds.alertId = (await app.db.query<{ id: string }>('SELECT id FROM alert')).map((r) => r.id);
  });
  afterAll(async () => {
    await server?.close();
    await app?.dispose();
  });

  const templated = () => {
    const out: { path: string; method: string; param: Kind }[] = [];
    for (const [path, ops] of Object.entries(openapi.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const p = op.parameters.find((x) => x.in === 'path');
        if (p) out.push({ path, method: method.toUpperCase(), param: p.name as Kind });
      }
    }
    return out;
  };

  it('the demo world has what the matrix needs', () => {
    expect(principals.map((p) => p.role).sort()).toEqual(['api-key', 'api-key', 'dpo', 'patient', 'patient', 'patient', 'professional', 'professional', 'professional', 'staff', 'staff']);
    expect(templated().length).toBeGreaterThanOrEqual(6);
    for (const kind of ['patientId', 'resultId', 'vaccinationId', 'documentId', 'passId', 'apiKeyId'] as const) expect(allIds[kind].length).toBeGreaterThan(1);
  });

  /**
   * Routes that reach records across principals on purpose: break-the-glass by a professional (an
   * emergency), protection by the DPO (the public figure's record; the same decision, `patient.protect`,
   * through the API or the care page's form). All are audited; their own tests (test/professionals/) cover them.
   */
  const sanctioned = (path: string, role: string) => (path === '/api/patients/{patientId}/break-glass' && role === 'professional')
    || ((path === '/api/patients/{patientId}/protection' || path === '/patient/records/{patientId}/protection') && role === 'dpo');

  const bodyFor = (method: string) => (method === 'POST' ? { payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() } } : {});

  it('every principal reads what it may: own ids answer 200', async () => {
    let own = 0;
    for (const r of templated().filter((x) => x.method === 'GET')) {
      expect(Object.keys(allIds), `unknown path parameter ${r.param} in ${r.path}`).toContain(r.param);
      for (const p of principals) {
        for (const id of p.canAccess[r.param]) {
          const res = await server.inject({ method: 'GET', url: r.path.replace(`{${r.param}}`, id), headers: p.headers });
          expect(res.statusCode, `${p.name} GET ${r.path} ${id}`).toBe(200);
          own += 1;
        }
      }
    }
    expect(own).toBeGreaterThan(20);
  });

  // Runs after the own reads above, which may legitimately cache a rendered invoice PDF.
  it('foreign ids answer 401/403/404 on every method and change nothing', async () => {
    const before = await snapshot(app);
    let foreign = 0;
    for (const r of templated()) {
      expect(Object.keys(allIds), `unknown path parameter ${r.param} in ${r.path}`).toContain(r.param);
      for (const p of principals) {
        const mine = new Set(p.canAccess[r.param]);
        for (const id of allIds[r.param].filter((x) => !mine.has(x))) {
          const res = await server.inject({ method: r.method as 'GET' | 'POST', url: r.path.replace(`{${r.param}}`, id), headers: p.headers, ...bodyFor(r.method) });
          if (sanctioned(r.path, p.role)) {
            // The sanctioned path across principals: reached on purpose (its own tests open it with a
            // valid body, audited); this body is not one, so it is refused as invalid and changes nothing.
            expect(res.statusCode, `${p.name} ${r.method} ${r.path}`).toBe(400);
            continue;
          }
          expect([401, 403, 404], `${p.name} ${r.method} ${r.path} with a foreign ${r.param} → ${res.statusCode}`).toContain(res.statusCode);
          foreign += 1;
          if (r.method === 'POST') {
            // A body that fails validation must not reveal that the foreign record exists either.
            for (const payload of [{}, { unexpected: true }, 'not json']) {
              const bad = await server.inject({ method: 'POST', url: r.path.replace(`{${r.param}}`, id), headers: { ...p.headers, 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
              expect([401, 403, 404], `${p.name} POST ${r.path} foreign ${r.param} with body ${JSON.stringify(payload)} → ${bad.statusCode}`).toContain(bad.statusCode);
            }
          }
        }
      }
      // No credentials at all: 401 whatever the id.
      for (const id of allIds[r.param]) {
        const res = await server.inject({ method: r.method as 'GET' | 'POST', url: r.path.replace(`{${r.param}}`, id), ...bodyFor(r.method) });
        expect(res.statusCode).toBe(401);
      }
    }
    expect(foreign).toBeGreaterThan(100);
    expect(await snapshot(app)).toEqual(before);
  });

  it('a foreign id and a non-existent id are indistinguishable', async () => {
    const a = principals.find((p) => p.name === 'pharmacy-a-staff')!;
    const b = principals.find((p) => p.name === 'pharmacy-b-staff')!;
    const foreignDoc = b.canAccess.documentId.find((id) => !a.canAccess.documentId.includes(id))!;
    const r1 = await server.inject({ method: 'GET', url: `/api/documents/${foreignDoc}`, headers: a.headers });
    const r2 = await server.inject({ method: 'GET', url: '/api/documents/00000000-0000-4000-8000-000000000000', headers: a.headers });
    expect(r1.statusCode).toBe(404);
    expect(r2.statusCode).toBe(404);
    expect(r1.json().error).toEqual(r2.json().error);
  });

  it('a professional without a care relationship cannot read a record; denial is audited', async () => {
    const withCare = principals.find((p) => p.name === 'professional-in-care')!;
    const without = principals.find((p) => p.name === 'professional-no-care')!;
    const patientId = withCare.canAccess.patientId[0]!;
    expect((await server.inject({ method: 'GET', url: `/api/patients/${patientId}`, headers: withCare.headers })).statusCode).toBe(200);
    const res = await server.inject({ method: 'GET', url: `/api/patients/${patientId}`, headers: without.headers });
    expect(res.statusCode).toBe(404);
    const [denied] = await app.db.query<{ outcome: string; purpose: string }>(
      `SELECT outcome, purpose FROM audit_event WHERE resource_id = $1 AND actor_role = 'professional' AND outcome = 'denied' ORDER BY seq DESC LIMIT 1`, [patientId]);
    expect(denied).toEqual({ outcome: 'denied', purpose: 'no-care-relationship' });
  });
});
