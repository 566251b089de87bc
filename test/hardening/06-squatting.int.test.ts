import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { bearer } from '../support/http.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { openApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { sendResultNotifications } from '../../src/notify/result-available.ts';

/**
 * Finding 6 (security hardening): the first registration with an unused e-mail created a space that
 * held that record at once; when the real owner registered later, their records were only offered,
 * and the login knowledge check used the squatter's birth date: the owner was locked out for good.
 * Now no space holds a record before its holder has proved the mailbox (a login by one-time code)
 * and accepted the record with its birth date: every record is an offer until then, and the login
 * accepts the birth date of any record offered to the space. Operators can unlink a record.
 */
const OWNER = { givenName: 'Inès', familyName: 'Vrai', birthDate: '1984-05-06', email: 'ines.vrai@example.org' };
const SQUATTER = { givenName: 'Usurpateur', familyName: 'Faux', birthDate: '1970-01-01', email: OWNER.email };

describe.each(ENGINES)('finding 6: nobody squats a patient space, on %s', (engine) => {
  const demo = useDemoServer(engine);
  const selfRegister = async (staff: DemoPrincipal, person: object) => {
    const link = await demo.server.inject({ method: 'POST', url: '/api/registration-links', headers: staff.headers, payload: { counter: 'Comptoir' } });
    const token = new URL(link.json().url as string).pathname.split('/').pop()!;
    const res = await demo.server.inject({ method: 'POST', url: '/api/self-registrations', headers: { 'x-registration-link': token }, payload: person });
    expect(res.statusCode, res.body).toBe(201);
    return (await demo.app.db.query<{ patient_id: string }>('SELECT r.patient_id FROM registration r JOIN registration_link l ON l.id = r.link_id ORDER BY r.created_at DESC LIMIT 1'))[0]!.patient_id;
  };

  it('the first registration with an address holds nothing; the real owner logs in with their own birth date, keeps their record and declines the squatter\'s', async () => {
    const squatted = await selfRegister(demo.who('pharmacy-a-staff'), SQUATTER);
    const [first] = await demo.app.db.query<{ account_id: string | null; offered_to: string | null }>('SELECT account_id, offered_to FROM patient WHERE id = $1', [squatted]);
    expect(first!.account_id).toBeNull();
    expect(first!.offered_to).not.toBeNull();
    const own = await selfRegister(demo.who('pharmacy-b-staff'), OWNER);

    // The owner proves the mailbox (the one-time code) with their own birth date.
    const sent = demo.app.mail.sent.length;
    const start = await demo.server.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login: OWNER.email } });
    const mail = await demo.app.mail.waitFor((m) => m.to === OWNER.email && /\d{6}/.test(m.text), { after: sent });
    const login = await demo.server.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId: start.json().challengeId, code: /(\d{6})/.exec(mail.text)![1], birthDate: OWNER.birthDate } });
    expect(login.statusCode, login.body).toBe(200);
    const me = bearer(login.json().token as string);
    const offers = (await demo.server.inject({ method: 'GET', url: '/api/me/record-offers', headers: me })).json().items as { patientId: string }[];
    expect(offers.map((o) => o.patientId).sort()).toEqual([own, squatted].sort());
    // Nothing is readable before it is accepted.
    expect((await demo.server.inject({ method: 'GET', url: `/api/patients/${own}`, headers: me })).statusCode).toBe(404);
    expect((await demo.server.inject({ method: 'POST', url: `/api/me/record-offers/${own}/accept`, headers: me, payload: { birthDate: OWNER.birthDate } })).json().status).toBe('accepted');
    expect((await demo.server.inject({ method: 'POST', url: `/api/me/record-offers/${squatted}/decline`, headers: me })).json().status).toBe('declined');
    expect((await demo.server.inject({ method: 'GET', url: `/api/patients/${own}`, headers: me })).statusCode).toBe(200);
    expect((await demo.server.inject({ method: 'GET', url: `/api/patients/${squatted}`, headers: me })).statusCode).toBe(404);
  });

  it("a record offered with a birth date of someone's choosing does not open a space that holds records (the login checks the held ones)", async () => {
    // Camille's space holds her record; someone plants an offer with a birth date they know.
    await selfRegister(demo.who('pharmacy-b-staff'), { givenName: 'Mallory', familyName: 'Plante', birthDate: '2000-01-01', email: 'camille.martin@example.org' });
    const tryLogin = async (birthDate: string) => {
      const sent = demo.app.mail.sent.length;
      const start = await demo.server.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login: 'camille.martin@example.org' } });
      const mail = await demo.app.mail.waitFor((m) => m.to === 'camille.martin@example.org' && /\d{6}/.test(m.text), { after: sent });
      return (await demo.server.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId: start.json().challengeId, code: /(\d{6})/.exec(mail.text)![1], birthDate } })).statusCode;
    };
    expect(await tryLogin('2000-01-01')).toBe(401);
    expect(await tryLogin('1990-04-12')).toBe(200);
  });

  it('the first result mail to a new address says how to start, and puts nothing in the space', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const created = await demo.server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { givenName: 'Nouveau', familyName: 'Venu', birthDate: '1999-01-01', email: 'nouveau.venu@example.org' } });
    const held = await demo.app.db.query('SELECT 1 FROM patient WHERE id = $1 AND account_id IS NOT NULL', [created.json().id]);
    expect(held).toEqual([]);
    await demo.server.inject({ method: 'POST', url: `/api/patients/${created.json().id}/results`, headers: staff.headers, payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 60_000).toISOString() } });
    const outbox = await demo.app.db.query<{ id: string }>(`SELECT id FROM outbox WHERE patient_id = $1 AND kind = 'notification'`, [created.json().id]);
    const sent = demo.app.mail.sent.length;
    await sendResultNotifications({ uow: demo.app.uow, fields: demo.app.fields, mailer: demo.app.mail, publicUrl: 'http://localhost' }, outbox.map((o) => o.id));
    const mail = await demo.app.mail.waitFor((m) => m.to === 'nouveau.venu@example.org', { after: sent });
    expect(mail.text).toContain('A pharmacy recorded a test result for you');
    expect(mail.text).toContain('confirm the result with the birth date given at the pharmacy');
  });
});

describe('finding 6: saufconduit record unlink', () => {
  it('takes a record out of the space that holds it: its holder can no longer read it, and the unlink is in the record\'s history', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-unlink-'));
    const env = { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' };
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env, encoding: 'utf8' });
    const creds = join(data, 'creds.json');
    expect(cli('demo', '--credentials', creds).status).toBe(0);
    const camille = (JSON.parse(readFileSync(creds, 'utf8')) as { principals: DemoPrincipal[] }).principals.find((p) => p.name === 'patient-camille')!;
    const record = camille.canAccess.patientId[0]!;
    const out = cli('record', 'unlink', record);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/unlinked from the patient space it was held by/);
    expect(cli('record', 'unlink', 'nope').status).toBe(2);
    const app = await openApp(loadConfig({ dataDir: data, logLevel: 'silent', demo: true }, {}), { issuer: false });
    try {
      const { buildServer } = await import('../../src/http/server.ts');
      const server = await buildServer(app);
      expect((await server.inject({ method: 'GET', url: `/api/patients/${record}`, headers: camille.headers })).statusCode).toBe(404);
      await server.close();
      const [event] = await app.db.query<{ actor_id: string; resource_id: string }>(`SELECT actor_id, resource_id FROM audit_event WHERE action = 'record.unlink'`);
      expect(event).toEqual({ actor_id: 'system:operator', resource_id: record });
    } finally {
      await app.close();
    }
  });
});
