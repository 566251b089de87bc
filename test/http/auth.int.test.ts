import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { bearer, testServer } from '../support/http.ts';
import { DEMO, seedDemo, demoCredentials } from '../../src/demo/world.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { disableAccount, MAX_CODES_PER_WINDOW, MAX_TOTP_FAILURES } from '../../src/auth/login.ts';
import { findAccountByLogin } from '../../src/domain/accounts.ts';

const alice = DEMO.staff[0]!;
const camille = DEMO.patients[0]!;

describe.each(ENGINES)('authentication on %s', (engine) => {
  let app: TestApp;
  let server: FastifyInstance;
  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
    server = await testServer(app);
  });
  afterAll(async () => {
    await server?.close();
    await app?.dispose();
  });
  // The per-address limit on code logins (test/hardening/01-…) would carry wrong guesses from one
  // test to the next: each test here starts with a clean count.
  beforeEach(async () => {
    if (app) await app.db.query('DELETE FROM login_throttle');
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) => server.inject({ method: 'POST', url, payload, headers });
  const login = async (who: { login: string; password: string; totp: string }, at = new Date()) => {
    const first = await post('/api/auth/login', { login: who.login, password: who.password });
    expect(first.statusCode).toBe(200);
    const pending = first.json().token as string;
    const second = await post('/api/auth/totp', { code: await totpNow(who.totp, at) }, bearer(pending));
    return { pending, second };
  };

  it('unknown login and wrong password answer identically (no enumeration)', async () => {
    const a = await post('/api/auth/login', { login: 'nobody@nowhere.example', password: 'x-wrong-password' });
    const b = await post('/api/auth/login', { login: alice.login, password: 'x-wrong-password' });
    expect(a.statusCode).toBe(401);
    expect(b.statusCode).toBe(401);
    expect(a.json().error).toEqual(b.json().error);
    const c = await post('/api/auth/patient/code', { login: 'nobody@nowhere.example' });
    const d = await post('/api/auth/patient/code', { login: camille.login });
    expect([c.statusCode, d.statusCode]).toEqual([202, 202]);
    expect(Object.keys(c.json())).toEqual(Object.keys(d.json()));
  });

  it('a one-time code challenge for an unknown address answers its attempts exactly like a real one', async () => {
    // Each answer, attempt after attempt, must be the same: a challenge that never runs out (or runs
    // out differently) would tell which addresses have an account.
    const attempts = async (login: string) => {
      const start = await post('/api/auth/patient/code', { login });
      expect(start.statusCode).toBe(202);
      const challengeId = start.json().challengeId as string;
      const answers: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await post('/api/auth/patient/verify', { challengeId, code: '000000', birthDate: '1980-01-01' });
        answers.push(`${r.statusCode} ${r.json().error.code} ${r.json().error.message}`);
      }
      return answers;
    };
    const known = await attempts(camille.login);
    expect(known.slice(0, 5).every((a) => a.startsWith('401 invalid_credentials'))).toBe(true);
    expect(known.slice(5).every((a) => a.startsWith('400 challenge_expired'))).toBe(true);
    expect(await attempts('nobody-at-all@nowhere.example')).toEqual(known);
  });

  it(`login codes: no more than ${MAX_CODES_PER_WINDOW} mails per address and client; earlier codes stay valid; other clients keep their own budget`, async () => {
    const fresh = await openTestApp(engine);
    await seedDemo(fresh);
    const s = await testServer(fresh);
    try {
      const dominique = DEMO.patients.find((p) => p.key === 'dominique')!;
      const ask = (login: string, remoteAddress = '203.0.113.7') => s.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login }, remoteAddress });
      const run = async (login: string) => {
        const sent = fresh.mail.sent.length;
        const ids: string[] = [];
        for (let i = 0; i < MAX_CODES_PER_WINDOW + 2; i++) {
          const r = await ask(login);
          expect(r.statusCode).toBe(202);
          ids.push(r.json().challengeId as string);
        }
        // The mails leave after the answers: wait for the allowed ones, then a moment for any extra.
        if (login === dominique.login) await fresh.mail.waitFor(() => fresh.mail.sent.length - sent >= MAX_CODES_PER_WINDOW);
        await new Promise((r) => setTimeout(r, 100));
        const first = await s.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId: ids[0], code: '000000', birthDate: '1980-01-01' } });
        return { mails: fresh.mail.sent.slice(sent).filter((m) => m.to === login).length, first: `${first.statusCode} ${first.json().error.code}` };
      };
      // The first challenge is still alive (a wrong code is judged, not "expired"): later requests do not void it.
      expect(await run(dominique.login)).toEqual({ mails: MAX_CODES_PER_WINDOW, first: '401 invalid_credentials' });
      expect(await run('no-such-patient@nowhere.example')).toEqual({ mails: 0, first: '401 invalid_credentials' });
      // Five codes of one address are open at most, whoever asks: a request from elsewhere gets none
      // now, but the codes already mailed are in the holder's mailbox and still log in; once one is
      // used, a new one leaves again.
      const sent = fresh.mail.sent.length;
      expect((await ask(dominique.login, '198.51.100.23')).statusCode).toBe(202);
      await new Promise((r) => setTimeout(r, 100));
      expect(fresh.mail.sent.slice(sent).filter((m) => m.to === dominique.login)).toEqual([]);
      // Which mailed code belongs to which challenge (mails leave after the answers, in any order).
      const firstCode = /(\d{6})/.exec(fresh.mail.sent.find((m) => m.to === dominique.login)!.text)![1]!;
      const challenges = await fresh.db.query<{ id: string; secret_hash: string }>(`SELECT id, secret_hash FROM auth_challenge WHERE kind = 'otp' AND account_id IS NOT NULL`);
      const owner = challenges.find((c) => createHash('sha256').update(`${c.id}:${firstCode}`).digest('base64url') === c.secret_hash)!;
      const used = await s.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId: owner.id, code: firstCode, birthDate: dominique.birthDate } });
      expect(used.statusCode, used.body).toBe(200);
      expect((await ask(dominique.login, '198.51.100.24')).statusCode).toBe(202);
      const mail = await fresh.mail.waitFor((m) => m.to === dominique.login, { after: sent });
      expect(/(\d{6})/.exec(mail.text)![1]).toMatch(/^\d{6}$/);
    } finally {
      await s.close();
      await fresh.dispose();
    }
  });

  it('a password alone never reaches data: the second factor cannot be skipped', async () => {
    const first = await post('/api/auth/login', { login: alice.login, password: alice.password });
    const pending = first.json().token as string;
    expect(first.json().status).toBe('second-factor-required');
    for (const url of ['/api/patients', '/api/me', '/api/documents']) {
      const res = await server.inject({ method: 'GET', url, headers: bearer(pending) });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe('second_factor_required');
    }
    const wrong = await post('/api/auth/totp', { code: '000000' }, bearer(pending));
    expect(wrong.statusCode).toBe(401);
  });

  it(`TOTP guesses are limited per account (${MAX_TOTP_FAILURES} per 15 minutes), whatever the sessions and however many at once`, async () => {
    // An account no other test here logs in with: each success uses up its TOTP time step.
    const who = DEMO.professionals[0]!;
    const pendingFor = async () => (await post('/api/auth/login', { login: who.login, password: who.password })).json().token as string;
    const right = await totpNow(who.totp);
    const wrong = right === '000000' ? '111111' : '000000';
    // Two wrong codes, then the right one: a success clears the count.
    for (let i = 0; i < 2; i++) expect((await post('/api/auth/totp', { code: wrong }, bearer(await pendingFor()))).statusCode).toBe(401);
    expect((await post('/api/auth/totp', { code: right }, bearer(await pendingFor()))).statusCode).toBe(200);
    const account = (await findAccountByLogin(app.db, app.keys, who.login))!;
    const counter = async () => (await app.db.query<{ n: number }>('SELECT totp_failures AS n FROM account WHERE id = $1', [account.id]))[0]!.n;
    expect(Number(await counter())).toBe(0);

    // Eight guesses sent at once on several pending sessions: five are judged, three refused unjudged.
    const sessions = await Promise.all([1, 2, 3, 4].map(() => pendingFor()));
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/api/auth/totp', { code: wrong }, bearer(sessions[i % 4]!))));
    expect(answers.map((a) => a.json().error.code).sort()).toEqual([...Array(MAX_TOTP_FAILURES).fill('invalid_credentials'), ...Array(8 - MAX_TOTP_FAILURES).fill('too_many_attempts')].sort());
    expect(answers.find((a) => a.statusCode === 429)!.json().error.message).toMatch(/15 minutes/);
    // Now even the right code, on a fresh pending session, is refused without being judged.
    const locked = await post('/api/auth/totp', { code: await totpNow(who.totp, new Date(Date.now() + 30_000)) }, bearer(await pendingFor()));
    expect(locked.statusCode).toBe(429);
    // Fifteen minutes after the last attempt, the account's codes are judged again.
    await app.db.query(`UPDATE account SET totp_failed_at = totp_failed_at - interval '16 minutes' WHERE id = $1`, [account.id]);
    const after = await post('/api/auth/totp', { code: await totpNow(who.totp, new Date(Date.now() + 30_000)) }, bearer(await pendingFor()));
    expect(after.statusCode, after.body).toBe(200);
    expect(Number(await counter())).toBe(0);
  });

  it('the Authorization scheme is case-insensitive (RFC 9110): "bearer" and "BEARER" work like "Bearer"', async () => {
    const staff = (await demoCredentials(app)).principals.find((p) => p.name === 'pharmacy-a-staff')!;
    const token = staff.headers.authorization!.replace(/^Bearer /, '');
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await server.inject({ method: 'GET', url: '/api/me', headers: { authorization: `${scheme} ${token}` } })).statusCode, scheme).toBe(200);
    }
  });

  it('password + TOTP gives a rotated full session; the same code cannot be replayed', async () => {
    const at = new Date();
    const { pending, second } = await login(alice, at);
    expect(second.statusCode).toBe(200);
    const full = second.json().token as string;
    expect(full).not.toBe(pending);
    expect((await server.inject({ method: 'GET', url: '/api/patients', headers: bearer(full) })).statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/api/me', headers: bearer(pending) })).statusCode).toBe(401);
    // Same code again, on a new pending session: refused.
    const again = await post('/api/auth/login', { login: alice.login, password: alice.password });
    const replay = await post('/api/auth/totp', { code: await totpNow(alice.totp, at) }, bearer(again.json().token));
    expect(replay.statusCode).toBe(401);
    const cookie = second.headers['set-cookie'];
    expect(String(cookie)).toMatch(/HttpOnly/i);
    expect(String(cookie)).toMatch(/SameSite=Strict/i);
  });

  it('logout ends every session of the account; none survives', async () => {
    const creds = await demoCredentials(app);
    const s1 = creds.principals.find((p) => p.name === 'pharmacy-b-staff')!.headers;
    const { second } = await login(DEMO.staff[1]!);
    const s2 = bearer(second.json().token);
    for (const h of [s1, s2]) expect((await server.inject({ method: 'GET', url: '/api/me', headers: h })).statusCode).toBe(200);
    expect((await server.inject({ method: 'POST', url: '/api/auth/logout', headers: s2 })).statusCode).toBe(200);
    for (const h of [s1, s2]) expect((await server.inject({ method: 'GET', url: '/api/patients', headers: h })).statusCode).toBe(401);
  });

  it('a session short of its second factor logs out itself only: a password alone cannot end the owner\'s sessions', async () => {
    const creds = await demoCredentials(app);
    const full = creds.principals.find((p) => p.name === 'pharmacy-a-staff')!.headers;
    const first = await post('/api/auth/login', { login: alice.login, password: alice.password });
    expect(first.statusCode).toBe(200);
    const pending = bearer(first.json().token as string);
    expect((await server.inject({ method: 'POST', url: '/api/auth/logout', headers: pending })).statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/api/me', headers: full })).statusCode).toBe(200);
    // The pending session itself is gone: it can no longer take a second factor.
    expect((await post('/api/auth/totp', { code: await totpNow(alice.totp) }, pending)).statusCode).toBe(401);
    expect((await server.inject({ method: 'POST', url: '/api/auth/logout', headers: pending })).statusCode).toBe(401);
  });

  it('disabling an account kills its sessions at once', async () => {
    const creds = await demoCredentials(app);
    const pro = creds.principals.find((p) => p.name === 'professional-no-care')!;
    expect((await server.inject({ method: 'GET', url: '/api/me', headers: pro.headers })).statusCode).toBe(200);
    const acc = await findAccountByLogin(app.db, app.keys, DEMO.professionals[1]!.login);
    expect((await disableAccount(app, acc!.id, 'test')).changed).toBe(true);
    expect((await server.inject({ method: 'GET', url: '/api/me', headers: pro.headers })).statusCode).toBe(401);
    const relog = await post('/api/auth/login', { login: DEMO.professionals[1]!.login, password: DEMO.professionals[1]!.password });
    expect(relog.statusCode).toBe(401);
  });

  it('patient login needs the e-mailed code and the knowledge check; codes are single use', async () => {
    const sent = app.mail.sent.length;
    const start = await post('/api/auth/patient/code', { login: camille.login, lang: 'fr' });
    const challengeId = start.json().challengeId as string;
    const mail = await app.mail.waitFor((m) => m.to === camille.login, { after: sent });
    expect(mail.to).toBe(camille.login);
    const code = /(\d{6})/.exec(mail.text)![1]!;
    const wrongBirth = await post('/api/auth/patient/verify', { challengeId, code, birthDate: '1999-01-01' });
    expect(wrongBirth.statusCode).toBe(401);
    // The challenge id in upper case names the same challenge.
    const ok = await post('/api/auth/patient/verify', { challengeId: challengeId.toUpperCase(), code, birthDate: camille.birthDate });
    expect(ok.statusCode).toBe(200);
    const token = ok.json().token as string;
    const results = await server.inject({ method: 'GET', url: '/api/results', headers: bearer(token) });
    expect(results.statusCode).toBe(200);
    expect(results.json().items.length).toBeGreaterThan(0);
    const reuse = await post('/api/auth/patient/verify', { challengeId, code, birthDate: camille.birthDate });
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json().error.code).toBe('challenge_expired');
  });

  it('brute force on a one-time code is cut off after a few attempts', async () => {
    const sent = app.mail.sent.length;
    const start = await post('/api/auth/patient/code', { login: camille.login });
    const challengeId = start.json().challengeId as string;
    const code = /(\d{6})/.exec((await app.mail.waitFor((m) => m.to === camille.login, { after: sent })).text)![1]!;
    const wrong = code === '111111' ? '222222' : '111111';
    for (let i = 0; i < 5; i++) expect((await post('/api/auth/patient/verify', { challengeId, code: wrong, birthDate: camille.birthDate })).statusCode).toBe(401);
    const right = await post('/api/auth/patient/verify', { challengeId, code, birthDate: camille.birthDate });
    expect(right.statusCode).toBe(400);
  });

  it('API keys: hashed at rest, scoped to the tenant, revocable at once', async () => {
    const creds = await demoCredentials(app);
    const staff = creds.principals.find((p) => p.name === 'pharmacy-a-staff')!;
    const created = await server.inject({ method: 'POST', url: '/api/api-keys', headers: staff.headers, payload: { label: 'lis', scopes: ['patients:read'] } });
    expect(created.statusCode).toBe(201);
    const { key, id } = created.json() as { key: string; id: string };
    const stored = await app.db.query<Record<string, unknown>>('SELECT * FROM api_key WHERE id = $1', [id]);
    // The secret is the key's last 43 characters (it may itself contain '_', so not split on it).
    const secret = /^sck_[A-Za-z0-9_-]{12}_([A-Za-z0-9_-]{43})$/.exec(key)![1]!;
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect((await server.inject({ method: 'GET', url: '/api/patients', headers: bearer(key) })).statusCode).toBe(200);
    // Scope: this key may not record results.
    const patientId = staff.canAccess.patientId[0]!;
    const write = await server.inject({ method: 'POST', url: `/api/patients/${patientId}/results`, headers: bearer(key), payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() } });
    expect(write.statusCode).toBe(404);
    expect((await server.inject({ method: 'POST', url: `/api/api-keys/${id}/revoke`, headers: staff.headers })).statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/api/patients', headers: bearer(key) })).statusCode).toBe(401);
  });

  it('login endpoints are rate limited per client', async () => {
    const strict = await openTestApp(engine, { authRateLimitPerMinute: 3 });
    const s = await testServer(strict);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await s.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'x@y.example', password: 'nope-nope' } })).statusCode);
      expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
      expect(codes.slice(3)).toEqual([429, 429]);
      // One budget for every login step, whichever route: the form and the other steps are spent too.
      const form = await s.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'login=x%40y.example&password=nope-nope' });
      expect(form.statusCode).toBe(429);
      const code = await s.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login: 'x@y.example' } });
      expect(code.statusCode).toBe(429);
      expect(code.json().error.code).toBe('rate_limited');
      expect(Number(code.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await s.close();
      await strict.dispose();
    }
  });

  it('made-up credentials count against the client: they cannot each bring a fresh request budget', async () => {
    const strict = await openTestApp(engine, { rateLimitPerMinute: 100 });
    const s = await testServer(strict);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) codes.push((await s.inject({ method: 'GET', url: '/api/patients', headers: bearer(`s_${randomUUID().replaceAll('-', '')}`) })).statusCode);
      expect(codes.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(codes.slice(10)).toEqual([429, 429]);
      // Requests without credentials are left to the general limit, and valid credentials from the
      // same address (a colleague behind the pharmacy's router) are never refused for it.
      expect((await s.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
      await seedDemo(strict);
      const staff = (await demoCredentials(strict)).principals.find((p) => p.name === 'pharmacy-a-staff')!;
      expect((await s.inject({ method: 'GET', url: '/api/patients', headers: staff.headers })).statusCode).toBe(200);
    } finally {
      await s.close();
      await strict.dispose();
    }
  });
});

describe('CSRF defence for cookie sessions', () => {
  it('refuses cross-site writes and accepts same-origin ones, including Origin: null with Sec-Fetch-Site', async () => {
    const app = await openTestApp('pglite');
    await seedDemo(app);
    const server = await testServer(app);
    try {
      const start = await server.inject({ method: 'POST', url: '/api/auth/login', payload: { login: alice.login, password: alice.password } });
      const cookie = String(start.headers['set-cookie']).split(';')[0]!;
      const totp = async (headers: Record<string, string>) => server.inject({ method: 'POST', url: '/api/auth/totp', payload: { code: await totpNow(alice.totp) }, headers: { cookie, ...headers } });
      expect((await totp({ origin: 'https://evil.example' })).json().error.code).toBe('origin_mismatch');
      expect((await totp({ origin: 'null', 'sec-fetch-site': 'cross-site' })).json().error.code).toBe('origin_mismatch');
      expect((await totp({})).json().error.code).toBe('origin_mismatch');
      expect((await totp({ origin: 'null', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    } finally {
      await server.close();
      await app.dispose();
    }
  });

  it('a patient registered through the API with an e-mail can log in, accept the record and see it', async () => {
    const app = await openTestApp('pglite');
    await seedDemo(app);
    const server = await testServer(app);
    try {
      const staff = (await demoCredentials(app)).principals.find((p) => p.name === 'pharmacy-a-staff')!;
      const created = await server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { givenName: 'Noé', familyName: 'Api', birthDate: '1999-09-09', email: 'noe.api@example.org' } });
      expect(created.statusCode).toBe(201);
      const sent = app.mail.sent.length;
      const start = await server.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login: 'noe.api@example.org' } });
      const code = /(\d{6})/.exec((await app.mail.waitFor((m) => m.to === 'noe.api@example.org', { after: sent })).text)![1]!;
      const ok = await server.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId: start.json().challengeId, code, birthDate: '1999-09-09' } });
      expect(ok.statusCode).toBe(200);
      // The record is offered to the new space until its holder, who just proved the mailbox, accepts it.
      expect((await server.inject({ method: 'GET', url: `/api/patients/${created.json().id}`, headers: bearer(ok.json().token) })).statusCode).toBe(404);
      const accepted = await server.inject({ method: 'POST', url: `/api/me/record-offers/${created.json().id}/accept`, headers: bearer(ok.json().token), payload: { birthDate: '1999-09-09' } });
      expect(accepted.json().status).toBe('accepted');
      const mine = await server.inject({ method: 'GET', url: `/api/patients/${created.json().id}`, headers: bearer(ok.json().token) });
      expect(mine.statusCode).toBe(200);
    } finally {
      await server.close();
      await app.dispose();
    }
  });
});
