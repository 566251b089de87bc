import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { seedDemo, demoCredentials, type DemoPrincipal } from '../../src/demo/world.ts';

/** Invariant 4: canary personal data pushed through every flow never reaches the application log. */
const CANARY = {
  givenName: 'Zéphyrine',
  familyName: 'Canarinovska',
  birthDate: '1911-11-11',
  ssn: '185117511234528',
  phone: '+33 7 99 88 77 66',
  email: 'zephyrine.canary@example.net',
  address: '77 impasse du Canari, 99999 Nulle-Part',
};
const needles = [CANARY.givenName, CANARY.familyName, CANARY.birthDate, CANARY.ssn, CANARY.phone, '799887766', CANARY.email, 'impasse du Canari', '127.0.0.1'];

describe.each(ENGINES)('application logs hold no personal data on %s', (engine) => {
  let app: TestApp;
  let server: FastifyInstance;
  let principals: DemoPrincipal[];
  const lines: string[] = [];
  beforeAll(async () => {
    app = await openTestApp(engine, { logLevel: 'trace' });
    await seedDemo(app);
    principals = (await demoCredentials(app)).principals;
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    server = await testServer(app, sink);
  });
  afterAll(async () => {
    await server?.close();
    await app?.dispose();
  });

  it('registering, recording, reading, failing and logging in with canary data logs none of it', async () => {
    const staff = principals.find((p) => p.name === 'pharmacy-a-staff')!;
    const created = await server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: CANARY });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json().ssnMasked).not.toContain(CANARY.ssn.slice(0, 10));
    const result = await server.inject({ method: 'POST', url: `/api/patients/${id}/results`, headers: staff.headers, payload: { testType: 'pcr', outcome: 'positive', sampledAt: new Date().toISOString() } });
    expect(result.statusCode).toBe(201);
    await server.inject({ method: 'GET', url: `/api/patients/${id}`, headers: staff.headers });
    await server.inject({ method: 'GET', url: '/api/patients', headers: staff.headers });
    await server.inject({ method: 'GET', url: `/api/documents/${result.json().invoiceId}`, headers: staff.headers });
    // Failures that echo input in many frameworks: bad fields, bad types, unknown fields, query strings.
    await server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { ...CANARY, ssn: CANARY.ssn.slice(0, 14) } });
    await server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { ...CANARY, birthDate: CANARY.phone } });
    await server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { ...CANARY, nickname: CANARY.familyName } });
    await server.inject({ method: 'GET', url: `/api/patients?name=${encodeURIComponent(CANARY.familyName)}`, headers: staff.headers });
    await server.inject({ method: 'GET', url: `/api/patients/${encodeURIComponent(CANARY.email)}`, headers: staff.headers });
    await server.inject({ method: 'POST', url: '/api/auth/login', payload: { login: CANARY.email, password: CANARY.ssn } });
    await server.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login: CANARY.email } });
    await server.inject({ method: 'POST', url: '/api/patients', headers: { ...staff.headers, 'content-type': 'application/json' }, payload: `{"givenName": "${CANARY.givenName}", ` });
    expect(lines.length).toBeGreaterThan(20);
    const log = lines.join('');
    for (const n of needles) expect(log, `log contains ${n}`).not.toContain(n);
    // Client addresses appear only as rotating pseudonyms.
    expect(log).toMatch(/"ip":"ip_[A-Za-z0-9_-]{16}"/);
  });

  it('sensitive fields are encrypted at rest: the database alone does not reveal them', async () => {
    for (const table of ['patient', 'test_result', 'document', 'account']) {
      const dump = JSON.stringify(await app.db.query(`SELECT * FROM ${table}`));
      for (const n of [CANARY.givenName, CANARY.familyName, CANARY.ssn, CANARY.phone, CANARY.email, CANARY.address, CANARY.birthDate]) expect(dump, `${table} holds ${n}`).not.toContain(n);
      expect(dump).not.toContain('"positive"');
    }
  });
});
