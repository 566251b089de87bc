import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { DEMO, seedDemo } from '../../src/demo/world.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { webRoutes } from '../../src/web/routes.ts';
import { buildServer } from '../../src/http/server.ts';

/**
 * Every page renders for its role in French and English; forms with bad input re-render with a 400
 * and field-level messages, never a 500. Runs in-process (fastify inject), no browser.
 */
const ORIGIN = 'http://localhost:3000';

let app: TestApp;
let server: FastifyInstance;
const cookies: Record<'staff' | 'professional' | 'dpo' | 'patient', string> = { staff: '', professional: '', dpo: '', patient: '' };
let ownPatientId = '';
let foreignPatientId = '';

const sessionCookie = (res: LightMyRequestResponse): string => {
  const c = res.cookies.find((x) => x.name === 'sc_session');
  if (!c) throw new Error(`no session cookie (status ${res.statusCode})`);
  return `sc_session=${c.value}`;
};

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

async function post(url: string, body: Record<string, string>, cookie = '', extra: Record<string, string> = {}) {
  return server.inject({ method: 'POST', url, payload: form(body), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...(cookie ? { cookie } : {}), ...extra } });
}

async function staffLogin(login: string, password: string, totp: string): Promise<{ cookie: string; location: string }> {
  const first = await post('/login', { login, password });
  expect(first.statusCode).toBe(303);
  expect(first.headers.location).toBe('/login/totp');
  const pending = sessionCookie(first);
  const second = await post('/login/totp', { code: await totpNow(totp) }, pending);
  expect(second.statusCode).toBe(303);
  return { cookie: sessionCookie(second), location: String(second.headers.location) };
}

beforeAll(async () => {
  app = await openTestApp('pglite', { publicUrl: ORIGIN });
  await seedDemo(app);
  server = await testServer(app);
  const alice = DEMO.staff[0]!;
  const staff = await staffLogin(alice.login, alice.password, alice.totp);
  expect(staff.location).toBe('/pharmacy');
  cookies.staff = staff.cookie;
  const pro = DEMO.professionals[0]!;
  const p = await staffLogin(pro.login, pro.password, pro.totp);
  expect(p.location).toBe('/professional');
  cookies.professional = p.cookie;
  const dpo = await staffLogin(DEMO.dpo.login, DEMO.dpo.password, DEMO.dpo.totp);
  expect(dpo.location).toBe('/dpo');
  cookies.dpo = dpo.cookie;
  // Patient: e-mail form, then code + birth date from the one-time code e-mail.
  const camille = DEMO.patients[0]!;
  const sent = app.mail.sent.length;
  const step1 = await post('/patient/login', { login: camille.login });
  expect(step1.statusCode).toBe(303);
  expect(step1.headers.location).toBe('/patient/login/code');
  const challenge = step1.cookies.find((c) => c.name === 'sc_login_challenge')!;
  const code = /(\d{6})/.exec((await app.mail.waitFor((m) => m.to === camille.login, { after: sent })).text)![1]!;
  const step2 = await post('/patient/login/code', { code, birthDate: camille.birthDate }, `sc_login_challenge=${challenge.value}`);
  expect(step2.statusCode).toBe(303);
  expect(step2.headers.location).toBe('/patient');
  cookies.patient = sessionCookie(step2);
  const ids = async (tenantSlug: string) => (await app.db.query<{ id: string }>('SELECT p.id FROM patient p JOIN tenant t ON t.id = p.tenant_id WHERE t.slug = $1 ORDER BY p.created_at', [tenantSlug])).map((r) => r.id);
  ownPatientId = (await ids(DEMO.tenants[0]!.slug))[0]!;
  foreignPatientId = (await ids(DEMO.tenants[1]!.slug))[0]!;
});

afterAll(async () => {
  await server?.close();
  await app?.dispose();
});

describe('web pages', () => {
  it('are all declared as HTML pages or public hidden assets, and pages are listed in OpenAPI', async () => {
    const openapi = (await server.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    for (const r of webRoutes) {
      expect(r.surface).toBe('web');
      if (r.url.startsWith('/assets/')) {
        expect(r.policy).toBe('public');
        expect(r.hidden).toBe(true);
        expect(openapi.paths[r.url]).toBeUndefined();
      } else if (r.auth === 'link' || r.url === '/enrol/:token') {
        // The self-registration and enrolment pages' paths hold a single-use credential, not a record
        // id: the API documents the same steps (POST /api/self-registrations with a header,
        // POST /api/auth/enrolment with the token in the body) instead.
        expect(r.produces, r.url).toBe('text/html');
        expect(r.hidden, r.url).toBe(true);
      } else {
        expect(r.produces, r.url).toBe('text/html');
        expect(r.hidden).toBeFalsy();
        expect(openapi.paths[r.url.replace(/:([A-Za-z]+)/g, '{$1}')], r.url).toBeDefined();
      }
    }
  });

  it('serves the assets with a public cache lifetime', async () => {
    for (const [url, type] of [['/assets/site.css', 'text/css'], ['/assets/passkey.js', 'text/javascript'], ['/assets/icon.svg', 'image/svg+xml']] as const) {
      const res = await server.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain(type);
      expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    }
  });

  const pages: { role: keyof typeof cookies | null; url: () => string; fr: string; en: string }[] = [
    { role: null, url: () => '/', fr: 'Connexion patient', en: 'Patient login' },
    { role: null, url: () => '/login', fr: 'Connexion professionnelle', en: 'Staff login' },
    { role: null, url: () => '/login/totp', fr: 'Second facteur', en: 'Second factor' },
    { role: null, url: () => '/patient/login', fr: 'Recevoir un code', en: 'Send me a code' },
    { role: 'staff', url: () => '/pharmacy', fr: 'Enregistrer un patient', en: 'Register a patient' },
    { role: 'staff', url: () => `/pharmacy/patients/${ownPatientId}`, fr: 'Saisir un résultat', en: 'Record a result' },
    { role: 'patient', url: () => '/patient', fr: 'Qui a consulté mes données', en: 'Who accessed my data' },
    { role: 'professional', url: () => '/professional', fr: 'Patients suivis', en: 'Patients in my care' },
    { role: 'professional', url: () => `/professional/patients/${ownPatientId}`, fr: 'Résultats de tests', en: 'Test results' },
    { role: 'dpo', url: () => '/dpo', fr: "La chaîne d'audit est intègre", en: 'The audit chain verifies' },
  ];

  for (const p of pages) {
    for (const lang of ['fr', 'en'] as const) {
      it(`renders ${p.url().replace(/\/$/, '/:patientId')} for ${p.role ?? 'anyone'} in ${lang}`, async () => {
        const res = await server.inject({ url: `${p.url()}?lang=${lang}`, headers: p.role ? { cookie: cookies[p.role] } : {} });
        expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
        expect(res.headers['content-type']).toContain('text/html');
        expect(res.headers['content-security-policy']).toContain("script-src 'self'");
        expect(res.headers['cache-control']).toBe('no-store');
        // Same-origin form posts must carry a real Origin for the CSRF check (no-referrer would send "null").
        expect(res.headers['referrer-policy']).toBe('same-origin');
        expect(res.body).toContain(`<html lang="${lang}">`);
        expect(res.body).toContain(lang === 'fr' ? p.fr.replace(/'/g, '&#39;') : p.en);
        // The language switch remembers the choice.
        expect(res.cookies.find((c) => c.name === 'lang')?.value).toBe(lang);
        // No inline scripts, styles or event handlers (they would be blocked by the CSP anyway).
        expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=/i);
      });
    }
  }

  it('picks the language from the cookie, then Accept-Language', async () => {
    expect((await server.inject({ url: '/', headers: { 'accept-language': 'fr-FR,fr;q=0.9' } })).body).toContain('<html lang="fr">');
    expect((await server.inject({ url: '/', headers: { 'accept-language': 'de-DE' } })).body).toContain('<html lang="en">');
    expect((await server.inject({ url: '/', headers: { 'accept-language': 'en', cookie: 'lang=fr' } })).body).toContain('<html lang="fr">');
  });

  it('shows the masked social-security number, never the full one', async () => {
    const res = await server.inject({ url: `/pharmacy/patients/${ownPatientId}`, headers: { cookie: cookies.staff } });
    expect(res.body).toContain('••• 345 60');
    expect(res.body).not.toContain(DEMO.patients[0]!.ssn);
  });

  it("answers 404 for another pharmacy's patient, and 401 with a page when not logged in", async () => {
    const foreign = await server.inject({ url: `/pharmacy/patients/${foreignPatientId}`, headers: { cookie: cookies.staff } });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.headers['content-type']).toContain('text/html');
    const post404 = await post(`/pharmacy/patients/${foreignPatientId}/results`, { testType: 'pcr', outcome: 'positive', sampledAt: '2024-01-01T10:00' }, cookies.staff);
    expect(post404.statusCode).toBe(404);
    const post404Invalid = await post(`/pharmacy/patients/${foreignPatientId}/results`, {}, cookies.staff);
    expect(post404Invalid.statusCode).toBe(404);
    const anon = await server.inject({ url: '/pharmacy' });
    expect(anon.statusCode).toBe(401);
    // The login the page needs, right there (then the page itself: see the continuation test).
    expect(anon.body).toContain('form method="post" action="/login"');
    expect(anon.body).toContain('data-login-to-continue');
    expect((await server.inject({ url: '/patient', headers: { cookie: cookies.staff } })).statusCode).toBe(403);
    expect((await server.inject({ url: '/dpo', headers: { cookie: cookies.patient } })).statusCode).toBe(403);
  });

  it('error pages are no dead end: the way back to the page the person came from (ours only), and when to retry in words', async () => {
    const foreign = await server.inject({ url: `/pharmacy/patients/${foreignPatientId}`, headers: { cookie: cookies.staff, referer: 'http://localhost:3000/pharmacy', host: 'localhost:3000', 'accept-language': 'fr' } });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body).toContain('<a href="/pharmacy" data-back>Revenir à la page précédente</a>');
    expect(foreign.body).toContain('<header class="site">');
    const elsewhere = await server.inject({ url: `/pharmacy/patients/${foreignPatientId}`, headers: { cookie: cookies.staff, referer: 'https://evil.example/pharmacy', host: 'localhost:3000' } });
    expect(elsewhere.body).not.toContain('data-back');
    // Over the login-step budget: the page says when to try again, not "Retry-After".
    const strict = await buildServer(Object.assign(Object.create(app) as TestApp, { config: { ...app.config, authRateLimitPerMinute: 2 } }));
    try {
      let limited;
      for (let i = 0; i < 5 && limited?.statusCode !== 429; i++) {
        limited = await strict.inject({ method: 'POST', url: '/login', payload: form({ login: 'nobody@nowhere.example', password: 'wrong-password' }), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, 'accept-language': 'en' } });
      }
      expect(limited!.statusCode).toBe(429);
      expect(limited!.body).toMatch(/You can try again in \d+ (second|minute)s?\./);
      expect(limited!.body).not.toContain('Retry-After');
    } finally {
      await strict.close();
    }
  });

  it('the home page sends someone logged in to their space', async () => {
    for (const [who, home] of [['staff', '/pharmacy'], ['patient', '/patient'], ['dpo', '/dpo'], ['professional', '/professional']] as const) {
      const res = await server.inject({ url: '/', headers: { cookie: cookies[who] } });
      expect(res.statusCode, who).toBe(303);
      expect(res.headers.location, who).toBe(home);
    }
    expect((await server.inject({ url: '/' })).statusCode).toBe(200);
    expect((await server.inject({ url: '/', headers: { cookie: 'sc_session=not-a-session' } })).statusCode).toBe(200);
  });

  it('downloads are named in the reader\'s language', async () => {
    const docs = await server.inject({ url: '/api/documents', headers: { cookie: cookies.staff } });
    const id = (docs.json() as { items: { id: string }[] }).items[0]!.id;
    const fr = await server.inject({ url: `/api/documents/${id}?lang=fr`, headers: { cookie: cookies.staff } });
    expect(fr.headers['content-disposition']).toMatch(/filename="facture-[0-9a-f]{8}\.pdf"/);
    const en = await server.inject({ url: `/api/documents/${id}?lang=en`, headers: { cookie: cookies.staff } });
    expect(en.headers['content-disposition']).toMatch(/filename="invoice-[0-9a-f]{8}\.pdf"/);
  });

  it('re-renders the login forms with field messages on bad input', async () => {
    const bad = await post('/login', { login: 'not-an-email', password: '' }, '', { 'accept-language': 'fr' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('data-field-error="login"');
    expect(bad.body).toContain('Saisissez une adresse e-mail valide.');
    expect(bad.body).toContain('data-field-error="password"');
    const wrong = await post('/login', { login: DEMO.staff[0]!.login, password: 'wrong-password' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('These credentials are not valid.');
    const unknown = await post('/login', { login: 'nobody@nowhere.example', password: 'wrong-password' });
    expect(unknown.statusCode).toBe(401);
    const neutral = (b: string) => b.replace(/value="[^"]*"/, '');
    expect(neutral(unknown.body)).toBe(neutral(wrong.body));
    const totp = await post('/login/totp', { code: '12ab' });
    expect(totp.statusCode).toBe(400);
    expect(totp.body).toContain('data-field-error="code"');
    const email = await post('/patient/login', { login: 'nope' });
    expect(email.statusCode).toBe(400);
    expect(email.body).toContain('data-field-error="login"');
    const code = await post('/patient/login/code', { code: '1', birthDate: '1990-13-45' });
    expect(code.statusCode).toBe(400);
    expect(code.body).toContain('data-field-error="code"');
    expect(code.body).toContain('data-field-error="birthDate"');
    const noChallenge = await post('/patient/login/code', { code: '123456', birthDate: '1990-01-01' });
    expect(noChallenge.statusCode).toBe(400);
    expect(noChallenge.body).toContain('data-form-error');
  });

  it('re-renders the register-a-patient form with field messages, keeping what was typed', async () => {
    const res = await post('/pharmacy/patients', { givenName: '', familyName: 'Zorglub', birthDate: '31/12/1990', ssn: '123', phone: 'abc', email: 'x@', address: '' }, cookies.staff, { 'accept-language': 'fr' });
    expect(res.statusCode).toBe(400);
    for (const f of ['givenName', 'birthDate', 'ssn', 'phone', 'email']) expect(res.body, f).toContain(`data-field-error="${f}"`);
    expect(res.body).not.toContain('data-field-error="familyName"');
    expect(res.body).toContain('Ce champ est obligatoire.');
    expect(res.body).toContain('value="Zorglub"');
    const tooLong = await post('/pharmacy/patients', { givenName: 'x'.repeat(150), familyName: 'Y', birthDate: '1990-01-01' }, cookies.staff);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain('This is too long.');
  });

  it('refuses hostile form bodies with a 4xx, never a 500', async () => {
    const arrays = await server.inject({ method: 'POST', url: '/pharmacy/patients', payload: 'givenName=a&givenName=b', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, cookie: cookies.staff } });
    expect(arrays.statusCode).toBe(400);
    expect(arrays.headers['content-type']).toContain('text/html');
    const unknown = await post('/pharmacy/patients', { givenName: 'a', isAdmin: 'true' }, cookies.staff);
    expect(unknown.statusCode).toBe(400);
    const huge = await post('/login', { login: 'a'.repeat(70_000), password: 'x' });
    expect(huge.statusCode).toBe(413);
    const crossSite = await post('/pharmacy/patients', { givenName: 'A', familyName: 'B', birthDate: '1990-01-01' }, cookies.staff, { origin: 'https://evil.example' });
    expect(crossSite.statusCode).toBe(403);
    const badId = await server.inject({ url: '/pharmacy/patients/not-a-uuid', headers: { cookie: cookies.staff } });
    expect(badId.statusCode).toBe(400);
    const badQuery = await server.inject({ url: '/?lang=de' });
    expect(badQuery.statusCode).toBe(400);
  });

  it('registers a patient and records a result through the forms, with field messages on a bad result', async () => {
    const reg = await post('/pharmacy/patients', { givenName: 'Zoé', familyName: 'Quentin', birthDate: '1988-08-08', ssn: '', phone: '+33 6 00 00 00 01', email: 'zoe.quentin@example.org', address: '' }, cookies.staff);
    expect(reg.statusCode).toBe(303);
    // Post/redirect/get with a confirmation: the record page says the patient is registered.
    expect(String(reg.headers.location)).toMatch(/^\/pharmacy\/patients\/[0-9a-f-]{36}\?done=registered$/);
    const location = String(reg.headers.location).split('?')[0]!;
    const confirmed = await server.inject({ url: String(reg.headers.location), headers: { cookie: cookies.staff, 'accept-language': 'en' } });
    expect(confirmed.body).toContain('<p role="status" class="notice" data-done="registered">The patient is registered.');
    const bad = await post(`${location}/results`, { testType: 'flu', outcome: '', sampledAt: 'yesterday' }, cookies.staff, { 'accept-language': 'en' });
    expect(bad.statusCode).toBe(400);
    for (const f of ['testType', 'outcome', 'sampledAt']) expect(bad.body, f).toContain(`data-field-error="${f}"`);
    // An antigen test with nothing chosen: every problem at once, the missing device included.
    const empty = await post(`${location}/results`, { testType: 'antigen', device: '', outcome: '', sampledAt: '2024-05-01T09:30' }, cookies.staff, { 'accept-language': 'en' });
    expect(empty.statusCode).toBe(400);
    for (const f of ['device', 'outcome']) expect(empty.body, f).toContain(`data-field-error="${f}"`);
    const future = await post(`${location}/results`, { testType: 'pcr', outcome: 'negative', sampledAt: '2999-01-01T10:00' }, cookies.staff);
    expect(future.statusCode).toBe(400);
    expect(future.body).toContain('This cannot be in the future.');
    const ok = await post(`${location}/results`, { testType: 'pcr', outcome: 'negative', sampledAt: '2024-05-01T09:30', idempotencyKey: 'web-abcdefghijkl' }, cookies.staff);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe(`${location}?done=result-recorded`);
    const again = await post(`${location}/results`, { testType: 'pcr', outcome: 'negative', sampledAt: '2024-05-01T09:30', idempotencyKey: 'web-abcdefghijkl' }, cookies.staff);
    expect(again.statusCode).toBe(303);
    const view = await server.inject({ url: location, headers: { cookie: cookies.staff, 'accept-language': 'fr' } });
    expect(view.body.match(/data-result-id=/g)).toHaveLength(1);
    expect(view.body).toContain('Test PCR');
    expect(view.body).toContain('1 mai 2024, 09:30');
    expect(view.body).toMatch(/href="\/api\/documents\/[0-9a-f-]{36}"/);
    // A 2024 negative test is far past its 72 hours: no button that would end on a conflict, the reason instead.
    expect(view.body).toContain('data-no-pass="test-too-old"');
    expect(view.body).not.toContain('data-form="issue-pass"');
  });

  it('offers a recovery pass only when the rules allow one, and says from when otherwise (no dead end)', async () => {
    const reg = await post('/pharmacy/patients', { givenName: 'Rémi', familyName: 'Onzejours', birthDate: '1979-03-03', ssn: '', phone: '', email: '', address: '' }, cookies.staff);
    const location = String(reg.headers.location).split('?')[0]!;
    // Today's positive PCR: a recovery pass only from day 11.
    const sampled = new Date(Date.now() - 3600_000);
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(sampled).replace(' ', 'T');
    expect((await post(`${location}/results`, { testType: 'pcr', outcome: 'positive', sampledAt: local }, cookies.staff)).statusCode).toBe(303);
    const view = await server.inject({ url: location, headers: { cookie: cookies.staff, 'accept-language': 'en' } });
    expect(view.body).toContain('data-no-pass="recovery-too-early"');
    expect(view.body).toMatch(/Recovery pass from \d{1,2} \w+ \d{4} \(11 days after the positive sample/);
    expect(view.body).not.toContain('data-form="issue-pass"');
  });

  it('a page that asked for a login (a link in a mail, an expired session) continues there once logged in; only within the space that logged in', async () => {
    const passId = (await app.db.query<{ id: string }>(`SELECT x.id FROM pass x JOIN patient p ON p.id = x.patient_id WHERE p.account_id IS NOT NULL AND x.revoked_at IS NULL ORDER BY x.issued_at LIMIT 1`))[0]!.id;
    const target = `/patient/passes/${passId}/reissue`;
    const asked = await server.inject({ url: target, headers: { accept: 'text/html' } });
    expect(asked.statusCode).toBe(401);
    expect(asked.body).toContain('form method="post" action="/patient/login"');
    const next = asked.cookies.find((c) => c.name === 'sc_next')!;
    expect(next.httpOnly).toBe(true);
    expect(next.maxAge).toBeLessThanOrEqual(900);
    // The patient logs in with the code and the birth date: the space opens on the page asked for.
    const camille = DEMO.patients[0]!;
    const sent = app.mail.sent.length;
    const step1 = await post('/patient/login', { login: camille.login }, `sc_next=${next.value}`);
    const challenge = step1.cookies.find((c) => c.name === 'sc_login_challenge')!;
    const code = /(\d{6})/.exec((await app.mail.waitFor((m) => m.to === camille.login, { after: sent })).text)![1]!;
    const step2 = await post('/patient/login/code', { code, birthDate: camille.birthDate }, `sc_login_challenge=${challenge.value}; sc_next=${next.value}`);
    expect(step2.statusCode).toBe(303);
    expect(step2.headers.location).toBe(target);
    expect(step2.cookies.find((c) => c.name === 'sc_next')?.value).toBe('');
    // A continuation into another space is not followed: staff asked for a patient page land at home.
    const alice = DEMO.staff[0]!;
    const first = await post('/login', { login: alice.login, password: alice.password }, `sc_next=${next.value}`);
    // The next time step: the current one was spent by the login before all tests (no replay).
    const second = await post('/login/totp', { code: await totpNow(alice.totp, new Date(Date.now() + 30_000)) }, `${sessionCookie(first)}; sc_next=${next.value}`);
    expect(second.headers.location).toBe('/pharmacy');
    // A forged (unsigned) continuation, or one to another site, is never followed.
    for (const forged of ['/patient/passes', 'https://evil.example/patient', '//evil.example/patient']) {
      const step = await post('/patient/login', { login: camille.login });
      const c = step.cookies.find((x) => x.name === 'sc_login_challenge')!;
      const before = app.mail.sent.length;
      const otp = /(\d{6})/.exec((await app.mail.waitFor((m) => m.to === camille.login, { after: before - 1 })).text)![1]!;
      const done = await post('/patient/login/code', { code: otp, birthDate: camille.birthDate }, `sc_login_challenge=${c.value}; sc_next=${encodeURIComponent(forged)}`);
      expect(done.headers.location, forged).toBe('/patient');
    }
  });
});
