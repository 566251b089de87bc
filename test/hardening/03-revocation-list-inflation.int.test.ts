import { describe, expect, it } from 'vitest';
import { ENGINES, openTestApp } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { testServer } from '../support/http.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { hashSecret } from '../../src/crypto/tokens.ts';
import { MAX_REISSUES_PER_PATIENT, MAX_REISSUES_PER_SOURCE, MAX_REISSUES_PER_TENANT, TEST_VALID_HOURS } from '../../src/domain/passes.ts';
import { revocationLists } from '../../src/domain/trust.ts';
import { checkRevocationGrowth } from '../../src/domain/trust-watch.ts';

/**
 * Finding 3 (security hardening): a patient could revoke and reissue in a loop (about 80 a second),
 * each round adding hashes to /trust/revocation.json and /trust/bundle.jws for the pass's whole
 * (one-year) validity, until every verifier kept a stale bundle and then gave no verdict at all; the
 * bundle was re-signed per request so its ETag never matched. Now reissues are limited per source and
 * per patient a day and need a recent second factor, a test pass is valid 72 hours after sampling
 * (so its revocation leaves the list), abnormal growth is reported, and the bundle is signed once per
 * change and served with a stable ETag by every process.
 */
describe.each(ENGINES)('finding 3: the revocation list cannot be inflated, on %s', (engine) => {
  const demo = useDemoServer(engine);
  // One of the person's passes still valid (the demo replaced one of Élise's, as if it had leaked).
  const validPass = async (ids: readonly string[]) => (await demo.app.db.query<{ id: string }>(
    `SELECT id::text FROM pass WHERE id::text IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND revoked_at IS NULL ORDER BY issued_at, id LIMIT 1`, [JSON.stringify(ids)]))[0]!.id;
  const reissue = (id: string, p: DemoPrincipal) => demo.server.inject({ method: 'POST', url: `/api/passes/${id}/reissue`, headers: p.headers });
  const get = (url: string, headers: Record<string, string> = {}) => demo.server.inject({ method: 'GET', url, headers });

  it('a reissue loop stops at the daily limits, with Retry-After; each refusal is audited', async () => {
    const camille = demo.who('patient-camille');
    const passes = (await get('/api/passes', camille.headers)).json().items as { id: string; kind: string; revokedAt: string | null }[];
    let test = passes.find((p) => p.kind === 'test' && !p.revokedAt)!.id;
    let vaccination = passes.find((p) => p.kind === 'vaccination' && !p.revokedAt)!.id;
    const statuses: number[] = [];
    for (let i = 0; i < MAX_REISSUES_PER_SOURCE + 1; i++) {
      const r = await reissue(test, camille);
      statuses.push(r.statusCode);
      if (r.statusCode === 201) test = r.json().id;
      else {
        expect(r.json().error.code).toBe('reissue_limit');
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(23 * 3600);
        const [event] = await demo.app.db.query<{ outcome: string; purpose: string }>('SELECT outcome, purpose FROM audit_event WHERE request_id = $1', [String(r.headers['x-request-id'])]);
        expect(event).toEqual({ outcome: 'denied', purpose: 'reissue-limit' });
      }
    }
    expect(statuses).toEqual([...Array(MAX_REISSUES_PER_SOURCE).fill(201), 429]);
    // The patient's other pass has its own source budget, until the patient's limit is reached.
    for (let i = MAX_REISSUES_PER_SOURCE; i < MAX_REISSUES_PER_PATIENT; i++) {
      const r = await reissue(vaccination, camille);
      expect(r.statusCode).toBe(201);
      vaccination = r.json().id;
    }
    expect((await reissue(vaccination, camille)).statusCode).toBe(429);
  });

  it(`a pharmacy's reissues are capped a day too (${MAX_REISSUES_PER_TENANT}): a rogue staff session cannot register patients and reissue theirs in a loop`, async () => {
    const staff = demo.who('pharmacy-b-staff');
    const [one] = await demo.app.db.query<{ id: string; tenant_id: string; patient_id: string }>(`SELECT id, tenant_id, patient_id FROM pass WHERE tenant_id = (SELECT tenant_id FROM pass WHERE id = $1) AND revoked_at IS NULL LIMIT 1`, [staff.canAccess.passId[0]!]);
    // The day's history: as many reissues as the cap, on another patient's passes of the pharmacy (as a loop over new patients would leave).
    const other = staff.canAccess.patientId.find((p) => p !== one!.patient_id)!;
    for (let i = 0; i < MAX_REISSUES_PER_TENANT; i++) {
      await demo.app.db.query(`INSERT INTO pass (id, tenant_id, patient_id, kind_enc, kid, hc1_enc, issued_at, expires_at_enc, keep_until, uci_hash, country_uci_hash, signature_hash, revoked_at, revoked_reason)
        VALUES (gen_random_uuid(), $1, $2, 'x', 'k', 'x', now(), 'x', now() + interval '1 day', 'u', 'c', 's', now() - interval '1 minute', 'reissue')`, [one!.tenant_id, other]);
    }
    const r = await reissue(one!.id, staff);
    expect(r.statusCode, r.body).toBe(429);
    expect(r.json().error.code).toBe('reissue_limit');
    await demo.app.db.query(`DELETE FROM pass WHERE kind_enc = 'x'`);
  });

  it('a session without a recent second factor may not reissue: step_up_required', async () => {
    const elise = demo.who('patient-elise');
    await demo.app.db.query(`UPDATE session SET second_factor_at = now() - interval '1 hour' WHERE token_hash = $1`, [hashSecret(elise.headers.authorization.slice(7))]);
    const r = await reissue(await validPass(elise.canAccess.passId), elise);
    expect(r.statusCode).toBe(401);
    expect(r.json().error.code).toBe('step_up_required');
  });

  it(`a test pass is valid ${TEST_VALID_HOURS} h after sampling, so its revocation leaves the published list then`, async () => {
    const staff = demo.who('pharmacy-a-staff');
    // A patient of their own: the demo patients' daily reissue budgets are spent by the test above.
    const patientId = (await demo.server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { givenName: 'Léon', familyName: 'Soixante-Douze', birthDate: '1980-07-02' } })).json().id as string;
    const sampledAt = new Date(Date.now() - 2 * 3_600_000);
    const result = await demo.server.inject({ method: 'POST', url: `/api/patients/${patientId}/results`, headers: staff.headers, payload: { testType: 'pcr', outcome: 'negative', sampledAt: sampledAt.toISOString() } });
    const issued = await demo.server.inject({ method: 'POST', url: `/api/results/${result.json().id}/passes`, headers: staff.headers, payload: { kind: 'test' } });
    expect(issued.statusCode, issued.body).toBe(201);
    expect(Date.parse(issued.json().expiresAt)).toBe(sampledAt.getTime() + TEST_VALID_HOURS * 3_600_000);
    // A sample too old to be accepted anywhere gives no pass at all.
    const old = await demo.server.inject({ method: 'POST', url: `/api/patients/${patientId}/results`, headers: staff.headers, payload: { testType: 'pcr', outcome: 'negative', sampledAt: new Date(Date.now() - (TEST_VALID_HOURS + 1) * 3_600_000).toISOString() } });
    const refused = await demo.server.inject({ method: 'POST', url: `/api/results/${old.json().id}/passes`, headers: staff.headers, payload: { kind: 'test' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.issues).toEqual([{ path: 'result.sampledAt', code: 'test-too-old' }]);
    // Revoked (reissued at the counter), its hashes are listed, until the pass would have expired.
    const reissued = await reissue(issued.json().id, staff);
    expect(reissued.statusCode, reissued.body).toBe(201);
    const [hash] = await demo.app.db.query<{ uci_hash: string }>('SELECT uci_hash FROM pass WHERE id = $1', [issued.json().id]);
    expect((await revocationLists(demo.app.db, demo.app.fields, new Date())).UCI).toContain(hash!.uci_hash);
    const later = new Date(sampledAt.getTime() + (TEST_VALID_HOURS + 1) * 3_600_000);
    expect((await revocationLists(demo.app.db, demo.app.fields, later)).UCI).not.toContain(hash!.uci_hash);
  });

  it('the bundle is signed once per change: the same bytes and ETag until a revocation, then a new one; 304 when unchanged', async () => {
    const a = await get('/trust/bundle.jws');
    const b = await get('/trust/bundle.jws');
    expect(a.statusCode).toBe(200);
    expect(b.body).toBe(a.body);
    expect(b.headers.etag).toBe(a.headers.etag);
    expect((await get('/trust/bundle.jws', { 'if-none-match': String(a.headers.etag) })).statusCode).toBe(304);
    // A weak tag, or a list of tags, is compared too (RFC 9110).
    expect((await get('/trust/bundle.jws', { 'if-none-match': `W/${String(a.headers.etag)}` })).statusCode).toBe(304);
    expect((await get('/trust/bundle.jws', { 'if-none-match': `"other", ${String(a.headers.etag)}` })).statusCode).toBe(304);
    const revocation = await get('/trust/revocation.json');
    expect((await get('/trust/revocation.json', { 'if-none-match': String(revocation.headers.etag) })).statusCode).toBe(304);
    // A revocation changes the content: a new bundle, signed once, with the new entry.
    const elise = demo.who('patient-elise');
    await demo.app.db.query(`UPDATE session SET second_factor_at = now() WHERE token_hash = $1`, [hashSecret(elise.headers.authorization.slice(7))]);
    expect((await reissue(await validPass(elise.canAccess.passId), elise)).statusCode).toBe(201);
    const c = await get('/trust/bundle.jws');
    expect(c.headers.etag).not.toBe(a.headers.etag);
    expect((await get('/trust/bundle.jws')).body).toBe(c.body);
    expect(Number((await demo.app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM trust_publication'))[0]!.n)).toBeLessThanOrEqual(3);
  });

  it('abnormal growth of the list is reported once an hour, in the audit trail', async () => {
    const now = new Date();
    const first = await checkRevocationGrowth(demo.app.db, demo.app.uow, { perHour: 2, listed: 1_000_000 }, now, null);
    expect(first).toMatchObject({ abnormal: true, alerted: true });
    expect(first.lastHour).toBeGreaterThan(2);
    const again = await checkRevocationGrowth(demo.app.db, demo.app.uow, { perHour: 2, listed: 1_000_000 }, new Date(now.getTime() + 60_000), now);
    expect(again).toMatchObject({ abnormal: true, alerted: false });
    const quiet = await checkRevocationGrowth(demo.app.db, demo.app.uow, { perHour: 1_000, listed: 1_000_000 }, now, null);
    expect(quiet).toMatchObject({ abnormal: false, alerted: false });
    const events = await demo.app.db.query<{ actor_id: string; outcome: string }>(`SELECT actor_id, outcome FROM audit_event WHERE action = 'trust.revocation-growth'`);
    expect(events).toEqual([{ actor_id: 'system:guard', outcome: 'failure' }]);
  });
});

describe('finding 3: processes sharing one PostgreSQL serve the very same bundle', () => {
  it('two app processes answer the same bytes and ETag (one signature per content, stored)', async () => {
    const one = await openTestApp('postgres');
    try {
      const two = await (await import('../../src/app.ts')).openApp(one.config, { db: await (await import('../../src/store/postgres.ts')).openPostgres(one.dbUrl!, { max: 2 }) });
      try {
        const [s1, s2] = [await testServer(one), await testServer(two)];
        const [a, b] = [await s1.inject({ method: 'GET', url: '/trust/bundle.jws' }), await s2.inject({ method: 'GET', url: '/trust/bundle.jws' })];
        expect(a.statusCode).toBe(200);
        expect(b.body).toBe(a.body);
        expect(b.headers.etag).toBe(a.headers.etag);
        await s1.close();
        await s2.close();
      } finally {
        await two.db.close();
      }
    } finally {
      await one.dispose();
    }
  });
});
