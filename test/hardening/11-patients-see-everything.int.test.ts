import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { DEMO } from '../../src/demo/world.ts';

/**
 * Finding 11 (security hardening): staff and API-key list reads of passes and documents were
 * audited without a subject, so the people listed never saw them; security events on a patient's
 * own account (refused logins, passkeys) never reached their history. Now every person a list
 * shows gets an event under their subject, and account events join "who accessed my data".
 */
describe.each(ENGINES)('finding 11: patients see everything that concerns them, on %s', (engine) => {
  const demo = useDemoServer(engine);
  const subjectsOf = async (table: 'pass' | 'document', ids: string[]) =>
    (await demo.app.db.query<{ id: string; subject_ref: string }>(`SELECT x.id, p.subject_ref FROM ${table} x JOIN patient p ON p.id = x.patient_id WHERE x.id = ANY(string_to_array($1, ',')::uuid[])`, [ids.join(',')]));

  for (const who of ['pharmacy-a-staff', 'pharmacy-a-api-key']) {
    it(`${who}: listing passes and documents leaves one event per item, under its holder's subject`, async () => {
      const p = demo.who(who);
      for (const [url, table, action] of [['/api/passes', 'pass', 'pass.read'], ['/api/documents', 'document', 'document.read']] as const) {
        const res = await demo.server.inject({ method: 'GET', url, headers: p.headers });
        expect(res.statusCode, url).toBe(200);
        const shown = (res.json().items as { id: string }[]).map((i) => i.id);
        expect(shown.length, url).toBeGreaterThan(0);
        const events = await demo.app.db.query<{ resource_id: string; subject_ref: string | null }>(
          `SELECT resource_id, subject_ref FROM audit_event WHERE request_id = $1 AND action = $2 AND outcome = 'success'`, [String(res.headers['x-request-id']), action]);
        const expected = await subjectsOf(table, shown);
        expect(events.map((e) => `${e.resource_id} ${e.subject_ref}`).sort(), url).toEqual(expected.map((e) => `${e.id} ${e.subject_ref}`).sort());
      }
    });
  }

  it('the whole history can be read, page after page: many listings since do not push an access out of reach', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const camille = demo.who('patient-camille');
    const read = await demo.server.inject({ method: 'GET', url: `/api/patients/${camille.canAccess.patientId[0]}`, headers: staff.headers });
    expect(read.statusCode).toBe(200);
    const [{ seq: readSeq }] = await demo.app.db.query<{ seq: number }>('SELECT seq FROM audit_event WHERE request_id = $1', [String(read.headers['x-request-id'])]) as [{ seq: number }];
    // Staff then list the pharmacy's passes over and over: each listing adds events to her history.
    for (let i = 0; i < 40; i++) await demo.server.inject({ method: 'GET', url: '/api/passes', headers: staff.headers });
    const first = await demo.server.inject({ method: 'GET', url: '/api/me/access-log?limit=50', headers: camille.headers });
    expect(first.json().items.some((i: { seq: number }) => i.seq === Number(readSeq))).toBe(false);
    let cursor: string | null = first.json().nextCursor;
    const seen = new Set<number>((first.json().items as { seq: number }[]).map((i) => i.seq));
    for (let page = 0; cursor && page < 50; page++) {
      const next = await demo.server.inject({ method: 'GET', url: `/api/me/access-log?limit=50&cursor=${cursor}`, headers: camille.headers });
      expect(next.statusCode).toBe(200);
      for (const i of next.json().items as { seq: number }[]) {
        expect(seen.has(i.seq)).toBe(false);
        seen.add(i.seq);
      }
      cursor = next.json().nextCursor;
    }
    expect(cursor).toBeNull();
    expect(seen.has(Number(readSeq))).toBe(true);
    expect((await demo.server.inject({ method: 'GET', url: '/api/me/access-log?cursor=abc', headers: camille.headers })).statusCode).toBe(400);
  });

  it("the holder's history shows the pharmacy listing their passes and invoices, and the refused logins on their account", async () => {
    const staff = demo.who('pharmacy-a-staff');
    for (const url of ['/api/passes', '/api/documents']) expect((await demo.server.inject({ method: 'GET', url, headers: staff.headers })).statusCode).toBe(200);
    // Someone tries Camille's login code with a wrong code and a wrong birth date.
    const camille = DEMO.patients[0]!;
    const start = await demo.server.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login: camille.login }, remoteAddress: '203.0.113.50' });
    expect(start.statusCode).toBe(202);
    const wrong = await demo.server.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId: start.json().challengeId, code: '000000', birthDate: '1970-01-01' }, remoteAddress: '203.0.113.50' });
    expect(wrong.statusCode).toBe(401);

    const log = await demo.server.inject({ method: 'GET', url: '/api/me/access-log', headers: demo.who('patient-camille').headers });
    expect(log.statusCode).toBe(200);
    const items = log.json().items as { actorRole: string; actorOrganisation: string | null; action: string; purpose: string; outcome: string }[];
    const staffListing = (action: string) => items.some((i) => i.actorRole === 'staff' && i.actorOrganisation === 'Pharmacie des Tilleuls' && i.action === action && i.purpose === 'listing');
    expect(staffListing('pass.read')).toBe(true);
    expect(staffListing('document.read')).toBe(true);
    expect(items.some((i) => i.action === 'auth.login' && i.outcome === 'denied')).toBe(true);
    // Other people's account events do not appear.
    const dominique = await demo.server.inject({ method: 'GET', url: '/api/me/access-log', headers: demo.who('patient-dominique').headers });
    expect((dominique.json().items as { action: string; outcome: string }[]).some((i) => i.action === 'auth.login' && i.outcome === 'denied')).toBe(false);
  });
});
