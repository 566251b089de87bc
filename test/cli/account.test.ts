import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
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
  });
});
