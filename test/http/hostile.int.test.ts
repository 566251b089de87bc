import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { seedDemo, demoCredentials, type DemoPrincipal } from '../../src/demo/world.ts';
import { ERRORS } from '../../src/errors/catalogue.ts';
import { buildServer } from '../../src/http/server.ts';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Invariant 9: hostile input gets a 4xx with a stable code, never a 5xx, and nothing stored is lost. */
describe.each(ENGINES)('hostile input on %s', (engine) => {
  let app: TestApp;
  let server: FastifyInstance;
  let staff: DemoPrincipal;
  let counts: () => Promise<string>;
  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
    staff = (await demoCredentials(app)).principals.find((p) => p.name === 'pharmacy-a-staff')!;
    server = await testServer(app);
    counts = async () => JSON.stringify(await app.db.query(`SELECT (SELECT count(*) FROM patient)::int AS p, (SELECT count(*) FROM test_result)::int AS r, (SELECT count(*) FROM document)::int AS d`));
  });
  afterAll(async () => {
    await server?.close();
    await app?.dispose();
  });

  const expectClientError = (res: { statusCode: number; json(): { error: { code: string; message: string } } }, code?: string) => {
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const body = res.json();
    expect(Object.keys(ERRORS)).toContain(body.error.code);
    expect(body.error.message.length).toBeGreaterThan(3);
    if (code) expect(body.error.code).toBe(code);
  };

  it('oversized, malformed, mistyped and unknown-field bodies', async () => {
    const before = await counts();
    const h = { ...staff.headers, 'content-type': 'application/json' };
    const post = (payload: string, headers: Record<string, string> = h) => server.inject({ method: 'POST', url: '/api/patients', headers, payload });
    expectClientError(await post(JSON.stringify({ givenName: 'x'.repeat(200_000) })), 'payload_too_large');
    expectClientError(await post('{"givenName": '), 'invalid_json');
    expectClientError(await post(''), 'invalid_json');
    expectClientError(await post('[]'), 'invalid_request');
    expectClientError(await post('null'), 'invalid_request');
    expectClientError(await post(JSON.stringify({ givenName: 1, familyName: [], birthDate: {} })), 'invalid_request');
    expectClientError(await post(JSON.stringify({ givenName: 'A', familyName: 'B', birthDate: '2001-02-30' })), 'invalid_request');
    const future = await post(JSON.stringify({ givenName: 'A', familyName: 'B', birthDate: '2999-01-01' }));
    expectClientError(future, 'invalid_request');
    expect(future.json().error.issues).toEqual([{ path: 'body.birthDate', code: 'in-future' }]);
    // Names must be text a person can read on a pass: no controls, no hidden bidi overrides, a letter at least.
    for (const [givenName, code] of [['Ann\u0007e', 'control-character'], ['Ann\r\nX-Evil: 1', 'control-character'], ['\u202Eecila', 'control-character'], ['\u200B', 'no-letter'], ['12', 'no-letter']] as const) {
      const res = await post(JSON.stringify({ givenName, familyName: 'B', birthDate: '2001-02-03' }));
      expectClientError(res, 'invalid_request');
      expect(res.json().error.issues, JSON.stringify(givenName)).toEqual([{ path: 'body.givenName', code }]);
    }
    // A lone surrogate (valid JSON, not a character) is refused rather than stored as U+FFFD.
    const lone = await post('{"givenName":"A\\ud800B","familyName":"B","birthDate":"2001-02-03"}');
    expectClientError(lone, 'invalid_request');
    expect(lone.json().error.issues).toEqual([{ path: 'body.givenName', code: 'ill-formed-unicode' }]);
    // Before 1900: no pass could ever encode it (the DCC schema's birth years are 1900–2099).
    for (const old of ['1899-12-31', '0001-01-01', '0000-01-01']) {
      const res = await post(JSON.stringify({ givenName: 'A', familyName: 'B', birthDate: old }));
      expectClientError(res, 'invalid_request');
      expect(res.json().error.issues, old).toEqual([{ path: 'body.birthDate', code: 'before-1900' }]);
    }
    expectClientError(await post(JSON.stringify({ givenName: 'A', familyName: 'B', birthDate: '2001-02-03', admin: true })), 'invalid_request');
    expectClientError(await post('{"givenName":"A","familyName":"B","birthDate":"2001-02-03","__proto__":{"x":1}}'));
    expectClientError(await post(JSON.stringify({ givenName: 'A', familyName: 'B', birthDate: '2001-02-03' }), { ...staff.headers, 'content-type': 'text/plain' }), 'unsupported_media_type');
    expectClientError(await post(`${'['.repeat(5000)}${']'.repeat(5000)}`));
    expect(await counts()).toBe(before);
  });

  it('bad ids and bad query strings', async () => {
    for (const id of ['1', 'null', '..%2F..%2Fetc%2Fpasswd', "1'%20OR%20'1'%3D'1", 'a'.repeat(3000), '%00', '00000000-0000-0000-0000-00000000000g']) {
      const res = await server.inject({ method: 'GET', url: `/api/results/${id}`, headers: staff.headers });
      expectClientError(res);
    }
    expectClientError(await server.inject({ method: 'GET', url: '/api/audit-events?limit=-5', headers: staff.headers }));
    // Refused by the router before any hook runs: still every header an answer carries.
    for (const url of [`/api/results/${'a'.repeat(300)}`, `/register/${'x'.repeat(129)}`]) {
      const res = await server.inject({ method: 'GET', url, headers: { ...staff.headers, accept: 'text/html' } });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-security-policy'], url).toContain("default-src 'none'");
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['cache-control'], url).toBe('no-store');
      expect(res.headers['x-request-id'], url).toBeTruthy();
    }
  });

  it('an id spelled in upper case names the same record, on every route that reads one and on writes', async () => {
    const principals = (await demoCredentials(app)).principals;
    const spec = (await server.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    let checked = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      const m = /^([^{]*)\{(\w+)\}([^{]*)$/.exec(path);
      if (!m || !('get' in ops)) continue;
      const [, head, param, tail] = m as unknown as [string, string, string, string];
      for (const p of principals) {
        for (const id of (p.canAccess as Record<string, string[] | undefined>)[param] ?? []) {
          const lower = await server.inject({ method: 'GET', url: `${head}${id}${tail}`, headers: p.headers });
          const upper = await server.inject({ method: 'GET', url: `${head}${id.toUpperCase()}${tail}`, headers: p.headers });
          expect(lower.statusCode, `${p.name} GET ${path}`).toBeLessThan(300);
          expect(upper.statusCode, `${p.name} GET ${path} with ${id.toUpperCase()}`).toBe(lower.statusCode);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
    const patientId = staff.canAccess.patientId[0]!;
    const res = await server.inject({
      method: 'POST', url: `/api/patients/${patientId.toUpperCase()}/results`, headers: staff.headers,
      payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().patientId).toBe(patientId);
    expect((await server.inject({ method: 'GET', url: `/api/documents/${(res.json().invoiceId as string).toUpperCase()}`, headers: staff.headers })).statusCode).toBe(200);
  });

  it('a NUL character in any text field is refused before it reaches the database', async () => {
    const before = await counts();
    const post = (url: string, payload: object) => server.inject({ method: 'POST', url, headers: { ...staff.headers, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    const nul = await post('/api/api-keys', { label: 'a\u0000b', scopes: ['patients:read'] });
    expectClientError(nul, 'invalid_request');
    // A label is display text: control characters, NUL among them, are refused as such.
    expect(nul.json().error.issues).toEqual([{ path: 'body.label', code: 'control-character' }]);
    // A field that takes any text refuses NUL on its own (the database cannot store it).
    const secret = await server.inject({ method: 'POST', url: '/api/auth/enrolment/complete', payload: { token: 'A'.repeat(32), password: 'pass\u0000word-long-enough', code: '123456' } });
    expectClientError(secret, 'invalid_request');
    expect(secret.json().error.issues).toEqual([{ path: 'body.password', code: 'nul-character' }]);
    expectClientError(await post('/api/patients', { givenName: 'A\u0000', familyName: 'B', birthDate: '2001-02-03' }), 'invalid_request');
    const dpo = (await demoCredentials(app)).principals.find((p) => p.role === 'dpo')!;
    const query = await server.inject({ method: 'GET', url: '/api/audit-events?actorId=a%00b', headers: dpo.headers });
    expectClientError(query, 'invalid_request');
    expect(query.json().error.issues).toEqual([{ path: 'query.actorId', code: 'nul-character' }]);
    expect(await counts()).toBe(before);
  });

  it('deep nesting inside loosely typed input (WebAuthn responses) is a 400, at any depth', async () => {
    const verify = (response: string) => server.inject({
      method: 'POST', url: '/api/auth/passkey/verify', headers: { 'content-type': 'application/json' },
      payload: `{"challengeId":"${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}","response":{"id":"x","rawId":"x","type":"public-key","response":{"a":${response}}}}`,
    });
    const deep = await verify(`${'['.repeat(40)}${']'.repeat(40)}`);
    expectClientError(deep, 'invalid_request');
    expect(deep.json().error.issues[0].code).toBe('too-deep');
    expectClientError(await verify(`${'['.repeat(20_000)}${']'.repeat(20_000)}`));
  });

  it('requests the HTTP parser refuses before routing answer in the same error shape', async () => {
    const real = await buildServer(app);
    await real.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = real.server.address() as AddressInfo;
      const raw = (request: string) => new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(request));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
      const cases: [string, number, string][] = [
        [`GET /api/health?x=${'a'.repeat(65_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'headers_too_large'],
        ['POST /api/patients HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n', 400, 'invalid_request'],
        ['NONSENSE\r\n\r\n', 400, 'invalid_request'],
      ];
      for (const [request, status, code] of cases) {
        const answer = await raw(request);
        expect(answer.slice(0, 12), request.slice(0, 40)).toBe(`HTTP/1.1 ${status}`);
        // The headers every answer carries, here too.
        const head = answer.slice(0, answer.indexOf('\r\n\r\n')).toLowerCase();
        for (const h of ["content-security-policy: default-src 'none'", 'x-content-type-options: nosniff', 'cache-control: no-store', 'referrer-policy: no-referrer']) expect(head, h).toContain(h);
        const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
        expect(body.error.code).toBe(code);
        expect(Object.keys(ERRORS)).toContain(body.error.code);
      }
    } finally {
      await real.close();
    }
  });

  it('a client that stops in the middle of its body is answered 408 and let go, not held for ever', async () => {
    const real = await buildServer(Object.assign(Object.create(app) as typeof app, { config: { ...app.config, requestTimeoutSeconds: 1 } }));
    await real.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = real.server.address() as AddressInfo;
      // Before the timeout existed, this promise never settled (the test ran out of time).
      const answer = await new Promise<string>((resolve, reject) => {
        // Announces 100 bytes, sends 4, then waits.
        const socket = connect(port, '127.0.0.1', () => socket.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"l'));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer.slice(0, 12)).toBe('HTTP/1.1 408');
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('request_timeout');
    } finally {
      await real.close();
    }
  });

  it('an API route without a query string refuses one (lang aside) instead of ignoring it', async () => {
    const refused = await server.inject({ method: 'GET', url: '/api/patients?tenantId=other&limit=5', headers: staff.headers });
    expectClientError(refused, 'invalid_request');
    expect(refused.json().error.issues).toEqual([{ path: 'query', code: 'unrecognized_keys' }]);
    expect((await server.inject({ method: 'GET', url: '/api/patients?lang=fr', headers: staff.headers })).statusCode).toBe(200);
  });

  it('a method a path does not take answers 405 with Allow; an unknown path 404', async () => {
    const doc = staff.canAccess.documentId![0]!;
    const cases: [string, string, string][] = [
      ['DELETE', '/api/patients', 'GET, HEAD, POST'], ['PUT', `/api/documents/${doc}`, 'GET, HEAD'], ['PATCH', '/openapi.json', 'GET, HEAD'], ['GET', '/api/auth/login', 'POST'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await server.inject({ method: method as 'GET', url, headers: staff.headers });
      expectClientError(res, 'method_not_allowed');
      expect(res.headers.allow, `${method} ${url}`).toBe(allow);
    }
    expectClientError(await server.inject({ method: 'PUT', url: '/api/no-such-thing', headers: staff.headers }), 'not_found');
  });

  it('an unknown or malformed address answers a browser with a page, an API client with JSON; a page route always with a page', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const cases: [string, 'negotiated' | 'page' | 'json'][] = [
      ['/no/such/page', 'negotiated'], [`/register/%00..%2F${'A'.repeat(40)}`, 'page'], ['/api/results/%E0%A4%A', 'json'], ['/api/results/not-an-id', 'json'],
    ];
    for (const [url, kind] of cases) {
      for (const headers of [browser, {}, { accept: 'application/json' }, { accept: '*/*' }]) {
        const res = await server.inject({ method: 'GET', url, headers });
        const page = kind === 'page' || (kind === 'negotiated' && headers === browser);
        if (page) {
          expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, url).toBeLessThan(500);
          expect(res.headers['content-type'], url).toMatch(/^text\/html/);
        } else {
          expectClientError(res);
        }
      }
    }
  });

  it('results: bad idempotency keys, future dates, unknown enums', async () => {
    const before = await counts();
    const url = `/api/patients/${staff.canAccess.patientId[0]}/results`;
    const ok = { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() };
    expectClientError(await server.inject({ method: 'POST', url, headers: { ...staff.headers, 'idempotency-key': 'x' }, payload: ok }));
    expectClientError(await server.inject({ method: 'POST', url, headers: staff.headers, payload: { ...ok, sampledAt: '2999-01-01T00:00:00Z' } }));
    expectClientError(await server.inject({ method: 'POST', url, headers: staff.headers, payload: { ...ok, testType: 'saliva-vibes' } }));
    const ancient = await server.inject({ method: 'POST', url, headers: staff.headers, payload: { ...ok, sampledAt: '1896-03-01T10:00:00Z' } });
    expectClientError(ancient, 'invalid_request');
    expect(ancient.json().error.issues).toEqual([{ path: 'body.sampledAt', code: 'before-2020' }]);
    expect(await counts()).toBe(before);
  });

  it('idempotent retries store a result once', async () => {
    const url = `/api/patients/${staff.canAccess.patientId[0]}/results`;
    const payload = { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() };
    const headers = { ...staff.headers, 'idempotency-key': 'lis-order-000123' };
    const a = await server.inject({ method: 'POST', url, headers, payload });
    const b = await server.inject({ method: 'POST', url, headers, payload });
    expect([a.statusCode, b.statusCode]).toEqual([201, 200]);
    expect(b.json().id).toBe(a.json().id);
    // The same key with another result is a mistake, not a retry: refused, nothing stored, the first kept.
    const before = await counts();
    const other = await server.inject({ method: 'POST', url, headers, payload: { ...payload, outcome: 'positive' } });
    expectClientError(other, 'conflict');
    expect(await counts()).toBe(before);
    expect((await server.inject({ method: 'GET', url: `/api/results/${a.json().id}`, headers: staff.headers })).json().outcome).toBe('negative');
  });

  it('random JSON bodies on every write route never cause a 5xx', async () => {
    const routes = ['/api/patients', `/api/patients/${staff.canAccess.patientId[0]}/results`, '/api/api-keys', '/api/auth/login', '/api/auth/totp', '/api/auth/patient/code', '/api/auth/patient/verify', '/api/auth/passkey/verify', '/api/me/passkeys'];
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async (url, body) => {
        const res = await server.inject({ method: 'POST', url, headers: { ...staff.headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        expect(res.statusCode, `${url} ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
    expect(await counts()).toBe(before);
  });
});
