import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { DEMO, type DemoPrincipal } from '../../src/demo/world.ts';
import { UnitOfWork } from '../../src/domain/unit-of-work.ts';

/**
 * Care relationships with a lifecycle (professionals issue, point 2): created by the patient from
 * their space (by RPPS number) or at the point of care (a short-lived, single-use code the
 * professional enters); seen and ended by the patient at once, after which the professional's next
 * request answers 404. Professionals list only the patients in their care, and cannot search.
 */
describe.each(ENGINES)('care relationships on %s', (engine) => {
  const demo = useDemoServer(engine);
  const get = (url: string, p: DemoPrincipal) => demo.server.inject({ method: 'GET', url, headers: p.headers });
  const post = (url: string, p: DemoPrincipal, payload?: object) => demo.server.inject({ method: 'POST', url, headers: p.headers, ...(payload ? { payload } : {}) });
  const moreau = DEMO.professionals.find((p) => p.name === 'professional-no-care')!;

  it('the patient puts a record in the care of a professional chosen by RPPS number; ending it answers 404 at the next request', async () => {
    const camille = demo.who('patient-camille');
    const pro = demo.who('professional-no-care');
    const record = camille.canAccess.patientId[0]!;
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
    // The patient finds the professional by RPPS number: one answer, named, never a search.
    const found = await get(`/api/professionals?rpps=${moreau.rpps}`, camille);
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().items).toEqual([{ id: pro.id, name: 'Dr Gilles Moreau', profession: 'physician', organisation: 'Centre hospitalier du Port' }]);
    expect((await get('/api/professionals?name=Moreau', camille)).statusCode).toBe(400);
    expect((await get(`/api/professionals?rpps=${moreau.rpps}`, pro)).statusCode).toBe(403);

    const made = await post('/api/care-relationships', camille, { patientId: record, rpps: moreau.rpps, days: 30 });
    expect(made.statusCode, made.body).toBe(201);
    const rel = made.json();
    expect(rel).toMatchObject({ patientId: record, origin: 'patient', purpose: 'care', active: true, professional: { id: pro.id, name: 'Dr Gilles Moreau' } });
    expect(Date.parse(rel.until) - Date.parse(rel.since)).toBe(30 * 86_400_000);
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(200);
    expect((await get(`/api/patients/${record}/results`, pro)).statusCode).toBe(200);
    // The professional lists the patients in their care, and them only.
    const listed = (await get('/api/patients', pro)).json().items.map((p: { id: string }) => p.id);
    expect(listed).toEqual([record]);
    expect((await get('/api/care-relationships', pro)).json().items.map((r: { id: string }) => r.id)).toEqual([rel.id]);
    // The patient sees it, with who created it and how.
    const mine = (await get('/api/care-relationships', camille)).json().items as { id: string; origin: string; active: boolean }[];
    expect(mine.find((r) => r.id === rel.id)).toMatchObject({ origin: 'patient', active: true });

    const ended = await post(`/api/care-relationships/${rel.id}/end`, camille);
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json()).toMatchObject({ id: rel.id, active: false, endedBy: camille.id });
    for (const url of [`/api/patients/${record}`, `/api/patients/${record}/results`, `/api/results/${camille.canAccess.resultId[0]}`]) {
      expect((await get(url, pro)).statusCode, url).toBe(404);
    }
    expect((await get('/api/patients', pro)).json().items).toEqual([]);
    // Audited: created and ended, each with its actor.
    const events = await demo.app.db.query<{ action: string; actor_id: string; purpose: string }>(`SELECT action, actor_id, purpose FROM audit_event WHERE resource_id = $1 ORDER BY seq`, [rel.id]);
    expect(events).toEqual([{ action: 'care.create', actor_id: camille.id, purpose: 'patient' }, { action: 'care.end', actor_id: camille.id, purpose: 'own-record' }]);
  });

  it('at the point of care: the patient shows a code, the professional enters it, once; a wrong, used or stale code answers 404', async () => {
    const dominique = demo.who('patient-dominique');
    const pro = demo.who('professional-in-care');
    const record = dominique.canAccess.patientId[0]!;
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
    const code = await post('/api/consent-codes', dominique, { patientId: record });
    expect(code.statusCode, code.body).toBe(201);
    const { code: shown, expiresAt } = code.json();
    expect(shown).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(demo.app.config.consentCodeMinutes * 60_000);
    // Typed from the screen in lower case without the dash: the same code.
    const accepted = await post('/api/consent-codes/accept', pro, { code: shown.replace('-', '').toLowerCase() });
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect(accepted.json()).toMatchObject({ patientId: record, origin: 'consent-code', active: true });
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(200);
    // Single use: a second professional entering it gets nothing.
    const other = demo.who('professional-nurse');
    const again = await post('/api/consent-codes/accept', other, { code: shown });
    expect(again.statusCode).toBe(404);
    expect((await post('/api/consent-codes/accept', other, { code: 'ZZZZ-ZZZZ' })).statusCode).toBe(404);
    // A stale code (its minutes passed) answers the same.
    const stale = (await post('/api/consent-codes', dominique, { patientId: record })).json().code;
    const later = new UnitOfWork(demo.app.db, { fields: demo.app.fields, keys: demo.app.keys, checkpointEvery: 1000, clock: () => new Date(Date.now() + (demo.app.config.consentCodeMinutes + 1) * 60_000) });
    const uow = demo.app.uow;
    demo.app.uow = later;
    try {
      expect((await post('/api/consent-codes/accept', other, { code: stale })).statusCode).toBe(404);
    } finally {
      demo.app.uow = uow;
    }
    // Refused codes are audited refusals (what the enumeration rule counts).
    const refused = await demo.app.db.query(`SELECT 1 FROM audit_event WHERE actor_id = $1 AND action = 'care.accept-code' AND outcome = 'denied'`, [other.id]);
    expect(refused.length).toBe(3);
    // The professional may end their own relationship; nobody else's.
    const relId = accepted.json().id;
    expect((await post(`/api/care-relationships/${relId}/end`, other)).statusCode).toBe(404);
    expect((await post(`/api/care-relationships/${relId}/end`, pro)).statusCode).toBe(200);
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
  });

  it('a relationship ends by itself at its end date (default and maximum are configuration)', async () => {
    const elise = demo.who('patient-elise');
    const record = elise.canAccess.patientId.find((id) => !demo.who('professional-in-care').canAccess.patientId.includes(id))!;
    const nurse = DEMO.professionals.find((p) => p.name === 'professional-nurse')!;
    const long = await post('/api/care-relationships', elise, { patientId: record, rpps: nurse.rpps, days: 3650 });
    expect(long.statusCode, long.body).toBe(201);
    // Capped at the maximum.
    expect(Date.parse(long.json().until) - Date.parse(long.json().since)).toBe(demo.app.config.careMaxDays * 86_400_000);
    const byDefault = await post('/api/care-relationships', elise, { patientId: record, rpps: nurse.rpps });
    expect(Date.parse(byDefault.json().until) - Date.parse(byDefault.json().since)).toBe(demo.app.config.careDefaultDays * 86_400_000);
    // The new one replaced the running one (one running relationship per professional and record).
    const mine = (await get('/api/care-relationships', elise)).json().items as { id: string; active: boolean }[];
    expect(mine.find((r) => r.id === long.json().id)!.active).toBe(false);
    const pro = demo.who('professional-nurse');
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(200);
    const later = new UnitOfWork(demo.app.db, { fields: demo.app.fields, keys: demo.app.keys, checkpointEvery: 1000, clock: () => new Date(Date.now() + (demo.app.config.careDefaultDays + 1) * 86_400_000) });
    const uow = demo.app.uow;
    demo.app.uow = later;
    try {
      expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
    } finally {
      demo.app.uow = uow;
    }
  });

  it('bad input: unknown or malformed RPPS numbers, another patient\'s record, a professional creating for a patient', async () => {
    const camille = demo.who('patient-camille');
    const record = camille.canAccess.patientId[0]!;
    const unknown = await post('/api/care-relationships', camille, { patientId: record, rpps: '10000000009' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.issues).toEqual([{ path: 'body.rpps', code: 'unknown-professional' }]);
    const bad = await post('/api/care-relationships', camille, { patientId: record, rpps: '12345678901' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.issues).toEqual([{ path: 'body.rpps', code: 'invalid-rpps' }]);
    const foreign = demo.who('patient-dominique').canAccess.patientId[0]!;
    expect((await post('/api/care-relationships', camille, { patientId: foreign, rpps: moreau.rpps })).statusCode).toBe(404);
    expect((await post('/api/consent-codes', camille, { patientId: foreign })).statusCode).toBe(404);
    expect((await post('/api/care-relationships', demo.who('professional-no-care'), { patientId: record, rpps: moreau.rpps })).statusCode).toBe(404);
    expect((await post('/api/care-relationships', demo.who('pharmacy-a-staff'), { patientId: record, rpps: moreau.rpps })).statusCode).toBe(404);
  });
});
