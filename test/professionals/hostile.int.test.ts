import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { ERRORS } from '../../src/errors/catalogue.ts';

/**
 * Invariant 9 on the professionals' routes (care relationships, consent codes, break-the-glass,
 * protection, alerts): hostile input gets a 4xx with a stable code and a message, never a 5xx, and
 * nothing stored changes.
 */
describe.each(ENGINES)('hostile input on the professionals routes on %s', (engine) => {
  const demo = useDemoServer(engine);
  const inject = (method: 'GET' | 'POST', url: string, p: DemoPrincipal, payload?: string) =>
    demo.server.inject({ method, url, headers: { ...p.headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) });
  const state = async () => JSON.stringify(await demo.app.db.query(`SELECT
      (SELECT count(*) FROM care_relationship)::int AS rel, (SELECT count(*) FROM care_relationship WHERE ended_by IS NOT NULL)::int AS ended,
      (SELECT count(*) FROM consent_code)::int AS codes, (SELECT count(*) FROM break_glass)::int AS bg,
      (SELECT count(*) FROM break_glass WHERE review_status <> 'pending')::int AS reviewed,
      (SELECT count(*) FROM alert WHERE status <> 'open')::int AS decided, (SELECT count(*) FROM patient WHERE protected)::int AS protected`));
  const expectClientError = (res: { statusCode: number; body: string; json(): { error: { code: string; message: string; issues?: unknown } } }, code?: string) => {
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, res.body).toBeLessThan(500);
    const body = res.json();
    expect(Object.keys(ERRORS)).toContain(body.error.code);
    expect(body.error.message.length).toBeGreaterThan(3);
    if (code) expect(body.error.code, res.body).toBe(code);
    return body.error;
  };

  /**
   * Each write route that takes a body, with the principal it is for, so bodies reach validation
   * rather than the policy. (Routes that take no body, the two `/end`, ignore one.)
   */
  const writes = () => {
    const camille = demo.who('patient-camille');
    const record = camille.canAccess.patientId[0]!;
    const dpo = demo.who('dpo');
    const alertId = dpo.canAccess.alertId![0]!;
    const breakGlassId = dpo.canAccess.breakGlassId![0]!;
    return [
      { url: '/api/care-relationships', who: camille },
      { url: '/api/consent-codes', who: camille },
      { url: '/api/consent-codes/accept', who: demo.who('professional-no-care') },
      { url: `/api/patients/${record}/break-glass`, who: demo.who('professional-no-care') },
      { url: `/api/break-glass/${breakGlassId}/review`, who: dpo },
      { url: `/api/patients/${record}/protection`, who: camille },
      { url: `/api/alerts/${alertId}/acknowledge`, who: dpo },
      { url: `/api/alerts/${alertId}/dismiss`, who: dpo },
      { url: `/api/alerts/${alertId}/confirm`, who: dpo },
    ];
  };

  it('malformed, oversized, mistyped and unknown-field bodies on each write route', async () => {
    const before = await state();
    const camille = demo.who('patient-camille');
    const record = camille.canAccess.patientId[0]!;
    const pro = demo.who('professional-no-care');
    const validRpps = '10003456786'; // Dr Haddad's, a real demo professional
    const justification = 'Unconscious at the emergency department; checking recent results.';
    const cases: [string, DemoPrincipal, unknown, string?][] = [
      ['/api/care-relationships', camille, { patientId: record, rpps: '10003456787' }, 'body.rpps'], // Luhn fails
      ['/api/care-relationships', camille, { patientId: record, rpps: '1000345678' }, 'body.rpps'],
      ['/api/care-relationships', camille, { patientId: record, rpps: validRpps, days: 0 }, 'body.days'],
      ['/api/care-relationships', camille, { patientId: record, rpps: validRpps, days: 1.5 }, 'body.days'],
      ['/api/care-relationships', camille, { patientId: record, rpps: validRpps, purpose: 'x'.repeat(101) }, 'body.purpose'],
      ['/api/care-relationships', camille, { patientId: 'not-an-id', rpps: validRpps }, 'body.patientId'],
      ['/api/care-relationships', camille, { patientId: record, rpps: validRpps, professionalId: record }],
      ['/api/consent-codes', camille, { patientId: record, days: -3 }, 'body.days'],
      ['/api/consent-codes', camille, {}, 'body.patientId'],
      ['/api/consent-codes/accept', pro, { code: '' }, 'body.code'],
      ['/api/consent-codes/accept', pro, { code: 'x'.repeat(21) }, 'body.code'],
      ['/api/consent-codes/accept', pro, { code: 123456 }, 'body.code'],
      [`/api/patients/${record}/break-glass`, pro, { reason: 'EMERGENCY-CARE', justification }, 'body.reason'],
      [`/api/patients/${record}/break-glass`, pro, { reason: 'other', justification: 'x'.repeat(2001) }, 'body.justification'],
      [`/api/patients/${record}/break-glass`, pro, { reason: ['other'], justification }, 'body.reason'],
      [`/api/patients/${record}/break-glass`, pro, { reason: 'other', justification, expiresAt: '2999-01-01T00:00:00Z' }],
      [`/api/patients/${record}/protection`, camille, { protected: 'yes' }, 'body.protected'],
      [`/api/patients/${record}/protection`, camille, {}, 'body.protected'],
    ];
    for (const [url, who, body, path] of cases) {
      const error = expectClientError(await inject('POST', url, who, JSON.stringify(body)), 'invalid_request');
      if (path) expect((error.issues as { path: string }[]).map((i) => i.path), `${url} ${JSON.stringify(body)}`).toContain(path);
    }
    for (const { url, who } of writes()) {
      expectClientError(await inject('POST', url, who, '{"note": '), 'invalid_json');
      expectClientError(await inject('POST', url, who, '[]'), 'invalid_request');
      expectClientError(await inject('POST', url, who, JSON.stringify({ note: 'x'.repeat(200_000) })), 'payload_too_large');
      expectClientError(await inject('POST', url, who, `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`));
    }
    const dpo = demo.who('dpo');
    const alertId = dpo.canAccess.alertId![0]!;
    for (const note of ['', '   ', 'x'.repeat(2001)]) expectClientError(await inject('POST', `/api/alerts/${alertId}/confirm`, dpo, JSON.stringify({ note })), 'invalid_request');
    const bg = dpo.canAccess.breakGlassId![0]!;
    expectClientError(await inject('POST', `/api/break-glass/${bg}/review`, dpo, JSON.stringify({ decision: 'maybe', note: 'n' })), 'invalid_request');
    expect(await state()).toBe(before);
  });

  it('bad ids and bad query strings on each new route', async () => {
    const dpo = demo.who('dpo');
    const camille = demo.who('patient-camille');
    const pro = demo.who('professional-in-care');
    for (const id of ['1', 'null', '..%2F..%2Fetc', "1'%20OR%20'1'%3D'1", '%00', '00000000-0000-0000-0000-00000000000g']) {
      expectClientError(await inject('GET', `/api/alerts/${id}`, dpo));
      expectClientError(await inject('POST', `/api/alerts/${id}/acknowledge`, dpo, JSON.stringify({ note: 'n' })));
      expectClientError(await inject('POST', `/api/break-glass/${id}/review`, dpo, JSON.stringify({ decision: 'accepted', note: 'n' })));
      expectClientError(await inject('POST', `/api/break-glass/${id}/end`, pro));
      expectClientError(await inject('POST', `/api/care-relationships/${id}/end`, camille));
      expectClientError(await inject('POST', `/api/patients/${id}/break-glass`, demo.who('professional-no-care'), JSON.stringify({ reason: 'other', justification: 'x'.repeat(30) })));
    }
    const queries: [string, DemoPrincipal, string][] = [
      ['/api/alerts?status=everything', dpo, 'query.status'],
      ['/api/alerts?limit=0', dpo, 'query.limit'],
      ['/api/alerts?limit=100000', dpo, 'query.limit'],
      ['/api/alerts?limit=ten', dpo, 'query.limit'],
      ['/api/alerts?cursor=last', dpo, 'query.cursor'],
      ['/api/break-glass?status=open', dpo, 'query.status'],
      ['/api/professionals?rpps=12345678901', camille, 'query.rpps'],
      ['/api/professionals?rpps=%00', camille, 'query.rpps'],
    ];
    for (const [url, who, path] of queries) {
      const error = expectClientError(await inject('GET', url, who), 'invalid_request');
      expect((error.issues as { path: string }[]).map((i) => i.path), url).toContain(path);
    }
    for (const url of ['/api/alerts?actorId=x', '/api/care-relationships?patientName=Martin', '/api/me/break-glass?all=1']) {
      const who = url.startsWith('/api/alerts') ? dpo : pro;
      expectClientError(await inject('GET', url, who), 'invalid_request');
    }
  });

  it('random JSON bodies on every new write route never cause a 5xx nor change anything', async () => {
    const before = await state();
    const routes = writes();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async ({ url, who }, body) => {
        const res = await inject('POST', url, who, JSON.stringify(body));
        expect(res.statusCode, `${url} ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
        expect(res.statusCode, `${url} ${JSON.stringify(body).slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 200 },
    );
    expect(await state()).toBe(before);
  });
});
