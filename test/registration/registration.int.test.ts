import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { normalizeCode } from '../../src/domain/registrations.ts';

/**
 * Counter self-registration (issue 4, point 1): a single-use, short-lived link bound to a pharmacy
 * and counter; the patient registers from their phone; staff find the record from the code.
 */
const CANARY = { givenName: 'Noémie', familyName: 'Quintard', birthDate: '1987-09-30', email: 'noemie.quintard@example.org', ssn: '287097511234542', phone: '+33 6 98 76 54 32' };

describe.each(ENGINES)('counter self-registration on %s', (engine) => {
  const demo = useDemoServer(engine);
  const newLink = async (p: DemoPrincipal, counter = 'Comptoir 2') => {
    const res = await demo.server.inject({ method: 'POST', url: '/api/registration-links', headers: p.headers, payload: { counter } });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as { id: string; url: string; counter: string; expiresAt: string };
    return { ...body, token: body.url.split('/register/')[1]! };
  };
  const selfRegister = (token: string, payload: object = CANARY) =>
    demo.server.inject({ method: 'POST', url: '/api/self-registrations', headers: { 'x-registration-link': token }, payload });
  const lookup = (p: DemoPrincipal, code: string) => demo.server.inject({ method: 'POST', url: '/api/registrations/lookup', headers: p.headers, payload: { code } });

  it('staff show a link; the patient registers through it once; staff find the record from the code and record the test', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const link = await newLink(staff);
    expect(link.url).toMatch(/\/register\/[A-Za-z0-9_-]{32}$/);
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000 + 5_000);

    const form = await demo.server.inject({ method: 'GET', url: `/register/${link.token}`, headers: { 'accept-language': 'fr-FR' } });
    expect(form.statusCode).toBe(200);
    expect(form.headers['cache-control']).toBe('no-store');
    expect(form.body).toContain('Comptoir 2');
    expect(form.body).toContain('data-form="self-registration"');
    expect(form.body).toContain('lang="fr"');

    const res = await selfRegister(link.token);
    expect(res.statusCode, res.body).toBe(201);
    const { code, expiresAt } = res.json() as { code: string; expiresAt: string };
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());

    // The link is spent: the API says so with its own code, the page with a clear explanation.
    const again = await selfRegister(link.token);
    expect(again.statusCode).toBe(410);
    expect(again.json().error.code).toBe('link_used');
    const page = await demo.server.inject({ method: 'GET', url: `/register/${link.token}?lang=en` });
    expect(page.statusCode).toBe(410);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('data-link-closed="used"');
    expect(page.body).toContain('Ask the pharmacy staff to show you a new QR code');

    // Staff type the code in any reasonable way: lower case, without the dash, O for 0.
    const typed = code.toLowerCase().replace('-', ' ');
    const found = await lookup(staff, typed);
    expect(found.statusCode, found.body).toBe(200);
    const view = found.json() as { counter: string; patient: { id: string; givenName: string; familyName: string; ssnMasked: string; birthDate: string } };
    expect(view.counter).toBe('Comptoir 2');
    expect(view.patient).toMatchObject({ givenName: CANARY.givenName, familyName: CANARY.familyName, birthDate: CANARY.birthDate });
    expect(view.patient.ssnMasked).not.toContain(CANARY.ssn.slice(0, 13));

    const result = await demo.server.inject({
      method: 'POST', url: `/api/patients/${view.patient.id}/results`, headers: staff.headers,
      payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() },
    });
    expect(result.statusCode, result.body).toBe(201);

    // The social-security number is encrypted at rest: no column of the row holds it in clear.
    const [row] = await demo.app.db.query<Record<string, unknown>>('SELECT * FROM patient WHERE id = $1', [view.patient.id]);
    const dump = JSON.stringify(row);
    for (const v of [CANARY.ssn, CANARY.familyName, CANARY.email, CANARY.birthDate]) expect(dump).not.toContain(v);

    // The creation is audited as a self-registration through that link, and the lookup as a read.
    const events = await demo.app.db.query<{ actor_id: string; actor_role: string; action: string; purpose: string; outcome: string }>(
      `SELECT actor_id, actor_role, action, purpose, outcome FROM audit_event WHERE resource_id = $1 OR (action = 'patient.create' AND actor_role = 'registrant') ORDER BY seq`, [view.patient.id]);
    expect(events).toContainEqual({ actor_id: link.id, actor_role: 'registrant', action: 'patient.create', purpose: 'self-registration', outcome: 'success' });
    expect(events.some((e) => e.action === 'patient.read' && e.actor_role === 'staff' && e.outcome === 'success')).toBe(true);
  });

  it('the registration gives the address a patient space, offered the record until its holder has proved the mailbox and accepted it', async () => {
    const link = await newLink(demo.who('pharmacy-b-staff'), 'Cabine 1');
    const email = 'self.registered@example.org';
    expect((await selfRegister(link.token, { ...CANARY, email })).statusCode).toBe(201);
    const [account] = await demo.app.db.query<{ role: string; held: boolean }>(
      `SELECT a.role, p.account_id IS NOT NULL AS held FROM account a JOIN patient p ON p.offered_to = a.id JOIN registration r ON r.patient_id = p.id WHERE r.link_id = $1`, [link.id]);
    expect(account).toEqual({ role: 'patient', held: false });
  });

  it('a code opens nothing at another pharmacy, and an unknown, expired or malformed code is refused', async () => {
    const a = demo.who('pharmacy-a-staff');
    const link = await newLink(a);
    const { code } = (await selfRegister(link.token)).json() as { code: string };
    for (const other of ['pharmacy-b-staff', 'pharmacy-b-api-key', 'patient-camille', 'professional-in-care', 'dpo']) {
      const res = await lookup(demo.who(other), code);
      expect([403, 404], `${other} → ${res.statusCode}`).toContain(res.statusCode);
    }
    expect((await lookup(demo.who('pharmacy-a-api-key'), code)).statusCode).toBe(200);
    expect((await lookup(a, 'ZZZZ-ZZZZ')).statusCode).toBe(404);
    const bad = await lookup(a, 'not a code!');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_request');
    await demo.app.db.query(`UPDATE registration SET expires_at = now() - interval '1 minute' WHERE link_id = $1`, [link.id]);
    expect((await lookup(a, code)).statusCode).toBe(404);
  });

  it('an expired link answers link_expired and a clear page; an unknown one 401 and a clear page', async () => {
    const link = await newLink(demo.who('pharmacy-a-staff'));
    await demo.app.db.query(`UPDATE registration_link SET expires_at = now() - interval '1 second' WHERE id = $1`, [link.id]);
    const res = await selfRegister(link.token);
    expect(res.statusCode).toBe(410);
    expect(res.json().error.code).toBe('link_expired');
    const page = await demo.server.inject({ method: 'GET', url: `/register/${link.token}?lang=fr` });
    expect(page.statusCode).toBe(410);
    expect(page.body).toContain('data-link-closed="expired"');
    expect(page.body).toContain('Demandez au personnel');
    const posted = await demo.server.inject({ method: 'POST', url: `/register/${link.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(CANARY).toString() });
    expect(posted.statusCode).toBe(410);
    expect(posted.body).toContain('data-link-closed="expired"');

    const unknown = await selfRegister('A'.repeat(32));
    expect(unknown.statusCode).toBe(401);
    expect((await selfRegister('')).statusCode).toBe(401);
    expect((await demo.server.inject({ method: 'POST', url: '/api/self-registrations', payload: CANARY })).statusCode).toBe(401);
    const unknownPage = await demo.server.inject({ method: 'GET', url: `/register/${'B'.repeat(32)}` });
    expect(unknownPage.statusCode).toBe(404);
    expect(unknownPage.body).toContain('data-link-closed="unknown"');
  });

  it('two submissions racing on one link: exactly one registers', async () => {
    const link = await newLink(demo.who('pharmacy-a-staff'));
    const [r1, r2] = await Promise.all([selfRegister(link.token), selfRegister(link.token, { ...CANARY, givenName: 'Other' })]);
    expect([r1.statusCode, r2.statusCode].sort()).toEqual([201, 410]);
    const rows = await demo.app.db.query('SELECT 1 FROM registration WHERE link_id = $1', [link.id]);
    expect(rows.length).toBe(1);
  });

  it('a link lets its holder register one patient and nothing else', async () => {
    const link = await newLink(demo.who('pharmacy-a-staff'));
    for (const url of ['/api/patients', '/api/results', '/api/documents', '/api/passes']) {
      expect((await demo.server.inject({ method: 'GET', url, headers: { 'x-registration-link': link.token } })).statusCode, url).toBe(401);
      expect((await demo.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${link.token}` } })).statusCode, url).toBe(401);
    }
    // Still usable afterwards: nothing above spent it.
    expect((await selfRegister(link.token)).statusCode).toBe(201);
  });

  it('invalid forms are refused field by field without spending the link; the web form shows the code', async () => {
    const link = await newLink(demo.who('pharmacy-a-staff'));
    const bad = await selfRegister(link.token, { ...CANARY, ssn: '123', birthDate: 'yesterday', extra: 1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_request');
    const missingEmail = { ...CANARY } as Record<string, string>;
    delete missingEmail.email;
    expect((await selfRegister(link.token, missingEmail)).statusCode).toBe(400);

    const form = (v: Record<string, string>) => demo.server.inject({
      method: 'POST', url: `/register/${link.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' }, payload: new URLSearchParams(v).toString(),
    });
    const rerender = await form({ ...CANARY, ssn: '123' });
    expect(rerender.statusCode).toBe(400);
    expect(rerender.body).toContain('data-field-error="ssn"');
    const ok = await form(CANARY);
    expect(ok.statusCode).toBe(201);
    const shown = /data-registration-code>([^<]+)</.exec(ok.body)?.[1];
    expect(shown && normalizeCode(shown)).toBeTruthy();
    expect(ok.body).toContain('data-registration-code-qr');
  });

  it('staff counter page: a QR for a counter, and a typed code opens the record', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const session = { authorization: staff.headers.authorization! };
    const created = await demo.server.inject({ method: 'POST', url: '/pharmacy/counter/links', headers: { ...session, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'counter=Comptoir+3' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).toMatch(/<img src="data:image\/png;base64,[^"]+"[^>]*data-registration-qr/);
    const url = /data-registration-url>([^<]+)</.exec(created.body)![1]!;
    const token = url.split('/register/')[1]!;
    const { code } = (await selfRegister(token)).json() as { code: string };
    const opened = await demo.server.inject({ method: 'POST', url: '/pharmacy/counter/lookup', headers: { ...session, 'content-type': 'application/x-www-form-urlencoded' }, payload: `code=${encodeURIComponent(code)}` });
    expect(opened.statusCode).toBe(303);
    expect(opened.headers.location).toMatch(/^\/pharmacy\/patients\/[0-9a-f-]{36}\?done=found$/);
    const wrong = await demo.server.inject({ method: 'POST', url: '/pharmacy/counter/lookup', headers: { ...session, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'code=ZZZZ-ZZZZ' });
    expect(wrong.statusCode).toBe(404);
    expect(wrong.body).toContain('data-form-error');
  });
});
