import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { totpNow } from '../../src/auth/totp.ts';
import { DEMO } from '../../src/demo/world.ts';
import { openApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { buildServer } from '../../src/http/server.ts';

const cli = (args: string[], data: string) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env: { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' }, encoding: 'utf8' });

describe('saufconduit account disable', () => {
  it('ends the account\'s sessions at once, refuses its logins, and is audited', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-account-'));
    const credsFile = join(data, 'creds.json');
    expect(cli(['demo', '--credentials', credsFile], data).status).toBe(0);
    const staff = (JSON.parse(readFileSync(credsFile, 'utf8')) as { principals: { name: string; headers: Record<string, string> }[] }).principals.find((p) => p.name === 'pharmacy-b-staff')!;
    const bruno = DEMO.staff[1]!;

    const disabled = cli(['account', 'disable', bruno.login], data);
    expect(disabled.status, disabled.stderr).toBe(0);
    expect(disabled.stdout).toMatch(/disabled; its sessions are ended/);
    expect(cli(['account', 'disable', bruno.login], data).stdout).toMatch(/already disabled/);
    expect(cli(['account', 'disable', 'nobody@nowhere.example'], data).status).toBe(1);
    expect(cli(['account', 'disable'], data).status).toBe(2);

    const app = await openApp(loadConfig({ dataDir: data, logLevel: 'silent' }, {}), { issuer: false });
    const server = await buildServer(app);
    try {
      expect((await server.inject({ method: 'GET', url: '/api/me', headers: staff.headers })).statusCode).toBe(401);
      expect((await server.inject({ method: 'POST', url: '/api/auth/login', payload: { login: bruno.login, password: bruno.password } })).statusCode).toBe(401);
      const [event] = await app.db.query<{ actor_id: string; outcome: string }>(`SELECT actor_id, outcome FROM audit_event WHERE action = 'account.disable' ORDER BY seq LIMIT 1`);
      expect(event).toEqual({ actor_id: 'system:operator', outcome: 'success' });
    } finally {
      await server.close();
      await app.close();
    }
  }, 180_000); // CLI processes, each starting the store: slow on a busy machine
});

describe('saufconduit account create --role professional', () => {
  const cliIn = (data: string, ...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SAUFCONDUIT_DATA: data, SAUFCONDUIT_MASTER_KEY: MASTER, SAUFCONDUIT_AUDIT_KEY: AUDIT, SAUFCONDUIT_PUBLIC_URL: 'https://saufconduit.example' }, encoding: 'utf8',
  });
  const MASTER = randomBytes(32).toString('base64');
  const AUDIT = randomBytes(32).toString('base64');

  it('checks the RPPS number and profession, prints a one-time link; once enrolled the professional logs in with password and TOTP and sees nobody before a care relationship', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-pro-'));
    const base = ['account', 'create', '--role', 'professional', '--login', 'anne.leroy@cabinet.example', '--name', 'Dr Anne Leroy'];
    const refusals: [string[], RegExp][] = [
      [[...base, '--profession', 'physician', '--rpps', '10003456787'], /--rpps/], // Luhn key wrong
      [[...base, '--profession', 'physician', '--rpps', '1000345678'], /--rpps/],
      [[...base, '--profession', 'wizard', '--rpps', '10003456786'], /--profession/],
      [[...base, '--rpps', '10003456786'], /--profession/],
      [['account', 'create', '--role', 'dpo', '--login', 'd@x.example', '--name', 'D', '--rpps', '10003456786'], /only a professional/],
    ];
    for (const [args, message] of refusals) {
      const r = cliIn(data, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const made = cliIn(data, ...base, '--profession', 'physician', '--rpps', '10003456786', '--organisation', 'Cabinet du Marché');
    expect(made.status, made.stderr).toBe(0);
    const token = /\/enrol\/([A-Za-z0-9_-]{32})/.exec(made.stdout)![1]!;
    // The same RPPS number is one person: a second account with it is refused.
    const twice = cliIn(data, 'account', 'create', '--role', 'professional', '--login', 'other@cabinet.example', '--name', 'Dr Other', '--profession', 'physician', '--rpps', '10003456786');
    expect(twice.status).toBe(1);

    const app = await openApp(loadConfig({ dataDir: data, logLevel: 'silent', masterKey: MASTER, auditKey: AUDIT }, {}), { issuer: false });
    const server = await buildServer(app);
    try {
      const post = (url: string, payload: object, headers: Record<string, string> = {}) => server.inject({ method: 'POST', url, payload, headers });
      const start = await post('/api/auth/enrolment', { token });
      expect(start.statusCode, start.body).toBe(200);
      const { totpSecret, role } = start.json() as { totpSecret: string; role: string };
      expect(role).toBe('professional');
      const password = 'a long sentence nobody guesses';
      expect((await post('/api/auth/enrolment/complete', { token, password, code: await totpNow(totpSecret) })).statusCode).toBe(200);
      const first = await post('/api/auth/login', { login: 'anne.leroy@cabinet.example', password });
      const second = await post('/api/auth/totp', { code: await totpNow(totpSecret, new Date(Date.now() + 30_000)) }, { authorization: `Bearer ${first.json().token}` });
      expect(second.statusCode, second.body).toBe(200);
      const headers = { authorization: `Bearer ${second.json().token}` };
      expect((await server.inject({ method: 'GET', url: '/api/me', headers })).json()).toMatchObject({ role: 'professional' });
      // No patient in care yet: an empty list, and no way to search.
      expect((await server.inject({ method: 'GET', url: '/api/patients', headers })).json().items).toEqual([]);
      const [pro] = await app.db.query<{ rpps: string; profession: string; family_name_ref: string }>('SELECT rpps, profession, family_name_ref FROM professional');
      expect(pro).toMatchObject({ rpps: '10003456786', profession: 'physician' });
      expect(pro!.family_name_ref).not.toContain('LEROY'); // a keyed hash, not the name
    } finally {
      await server.close();
      await app.close();
    }
  }, 180_000); // CLI processes, each starting the store: slow on a busy machine
});
