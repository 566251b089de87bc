import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { DEMO, seedDemo } from '../../src/demo/world.ts';
import { HARD_LIMIT, SOFT_LIMIT } from '../../src/auth/login-throttle.ts';
import { MAX_OPEN_CODES } from '../../src/auth/login.ts';
import { loginHash } from '../../src/domain/accounts.ts';

/**
 * Finding 1 (security hardening): patient login had no account-level limit. Codes were capped per
 * address and client, each code allowed 5 guesses, but with many client addresses someone who knows
 * a birth date (the President's case) could try the 6-digit code without end. Now failures count
 * per address across all its codes and clients: after SOFT_LIMIT each attempt waits twice as long,
 * the HARD_LIMIT-th locks code logins with a notice to the holder, and open codes are capped per
 * address whatever the client. Unknown addresses behave identically.
 */
describe.each(ENGINES)('finding 1: account-level limit on patient code logins, on %s', (engine) => {
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

  let client = 0;
  /** Each request from a new client address: the attacker of the finding has many. */
  const fromAnywhere = () => `198.51.${Math.floor(++client / 250)}.${(client % 250) + 1}`;
  const askCode = async (login: string) => {
    const r = await server.inject({ method: 'POST', url: '/api/auth/patient/code', payload: { login }, remoteAddress: fromAnywhere() });
    expect(r.statusCode).toBe(202);
    return r.json().challengeId as string;
  };
  const guess = (challengeId: string, code: string, birthDate: string) =>
    server.inject({ method: 'POST', url: '/api/auth/patient/verify', payload: { challengeId, code, birthDate }, remoteAddress: fromAnywhere() });
  /** Moves the address's last attempt back in time, as if the attacker had waited. */
  const wait = (login: string, minutes: number) =>
    app.db.query(`UPDATE login_throttle SET last_attempt_at = last_attempt_at - interval '1 minute' * $2 WHERE login_ref = $1`, [loginHash(app.keys, login), minutes]);

  /** Wrong guesses from new clients on fresh codes, waiting as the limit asks: the statuses seen. */
  async function attack(login: string, birthDate: string): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 1; i <= HARD_LIMIT + 2; i++) {
      if (i > SOFT_LIMIT + 1) await wait(login, 2 ** (i - SOFT_LIMIT));
      const r = await guess(await askCode(login), '000000', birthDate);
      seen.push(`${r.statusCode} ${r.json().error.code}`);
      if (i === SOFT_LIMIT + 1) {
        // Straight after the soft limit the next attempt must wait a minute, and is not judged.
        expect(seen.at(-1)).toBe('429 login_locked');
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(60);
        await wait(login, 1);
        const again = await guess(await askCode(login), '000000', birthDate);
        seen[seen.length - 1] = `${again.statusCode} ${again.json().error.code}`;
      }
    }
    return seen;
  }

  it('many clients, fresh codes: the address gets HARD_LIMIT judged guesses, then a lock and a notice to its holder', async () => {
    const camille = DEMO.patients[0]!;
    const sent = app.mail.sent.length;
    const seen = await attack(camille.login, camille.birthDate);
    expect(seen.slice(0, HARD_LIMIT)).toEqual(Array(HARD_LIMIT).fill('401 invalid_credentials'));
    expect(seen.slice(HARD_LIMIT)).toEqual(['429 login_locked', '429 login_locked']);
    // Locked: even the right code is refused unjudged, with a retry after about a day.
    const mailsBefore = app.mail.sent.length;
    const challengeId = await askCode(camille.login);
    await new Promise((r) => setTimeout(r, 100));
    // No code leaves while the address is locked.
    expect(app.mail.sent.slice(mailsBefore).filter((m) => m.to === camille.login && /\d{6}/.test(m.text))).toEqual([]);
    const locked = await guess(challengeId, '123456', camille.birthDate);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(23 * 3600);
    const notice = await app.mail.waitFor((m) => m.to === camille.login && /suspendue/.test(m.subject), { after: sent });
    expect(notice.text).toMatch(/paused until/);
    expect(notice.text).not.toMatch(/\d{6}\b(?! ?[:h])/);
    // The holder sees the lock in their history.
    const [event] = await app.db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action = 'auth.login-locked' AND resource_type = 'Account' ORDER BY seq DESC LIMIT 1`);
    expect(event?.action).toBe('auth.login-locked');
  });

  it('an unknown address answers exactly the same, and nobody is mailed', async () => {
    const sent = app.mail.sent.length;
    const seen = await attack('nobody-here@nowhere.example', '1990-04-12');
    expect(seen.slice(0, HARD_LIMIT)).toEqual(Array(HARD_LIMIT).fill('401 invalid_credentials'));
    expect(seen.slice(HARD_LIMIT)).toEqual(['429 login_locked', '429 login_locked']);
    expect(app.mail.sent.slice(sent).filter((m) => m.to === 'nobody-here@nowhere.example')).toEqual([]);
  });

  it('guesses sent at once on many codes: no more than SOFT_LIMIT are judged', async () => {
    const dominique = DEMO.patients[1]!;
    const codes = await Promise.all(Array.from({ length: 4 }, () => askCode(dominique.login)));
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => guess(codes[i % 4]!, '000000', dominique.birthDate)));
    const judged = answers.filter((a) => a.statusCode === 401).length;
    expect(judged).toBe(SOFT_LIMIT);
    expect(answers.filter((a) => a.statusCode === 429).length + judged).toBe(16);
  });

  it(`open codes are capped per address whatever the client (${MAX_OPEN_CODES}); a success clears the count`, async () => {
    const elise = DEMO.patients[2]!;
    const sent = app.mail.sent.length;
    const ids: string[] = [];
    for (let i = 0; i < MAX_OPEN_CODES + 3; i++) ids.push(await askCode(elise.login));
    await app.mail.waitFor(() => app.mail.sent.slice(sent).filter((m) => m.to === elise.login).length >= MAX_OPEN_CODES);
    await new Promise((r) => setTimeout(r, 150));
    const mails = app.mail.sent.slice(sent).filter((m) => m.to === elise.login);
    expect(mails.length).toBe(MAX_OPEN_CODES);
    // Two wrong guesses, then the code of the first mail with the right birth date logs in …
    for (let i = 0; i < 2; i++) expect((await guess(ids[1]!, '000000', elise.birthDate)).statusCode).toBe(401);
    const code = /(\d{6})/.exec(mails[0]!.text)![1]!;
    const ok = await guess(ids[0]!, code, elise.birthDate);
    expect(ok.statusCode, ok.body).toBe(200);
    // … and clears the address's count.
    expect(await app.db.query('SELECT 1 FROM login_throttle WHERE login_ref = $1', [loginHash(app.keys, elise.login)])).toEqual([]);
  });
});
