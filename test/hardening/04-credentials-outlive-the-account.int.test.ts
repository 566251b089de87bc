import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { bearer } from '../support/http.ts';
import { DEMO, type DemoPrincipal } from '../../src/demo/world.ts';
import { createAccount, findAccountByLogin } from '../../src/domain/accounts.ts';
import { disableAccount } from '../../src/auth/login.ts';
import { hashSecret } from '../../src/crypto/tokens.ts';
import { hashPassword } from '../../src/auth/passwords.ts';

/**
 * Finding 4 (security hardening): API keys created by a staff session kept working after
 * `saufconduit account disable`, with no command to list or revoke them and possibly no staff left
 * at the pharmacy to do it. Now disabling an account revokes the keys it created, operators have
 * `saufconduit api-key list|revoke`, keys expire, and creating one needs a recent second factor and
 * tells every staff member of the pharmacy.
 */
describe.each(ENGINES)('finding 4: credentials do not outlive the account, on %s', (engine) => {
  const demo = useDemoServer(engine);
  const tokenOf = (p: DemoPrincipal) => p.headers.authorization.slice('Bearer '.length);
  const newKey = (p: DemoPrincipal, payload: object = { label: 'lis', scopes: ['patients:read'] }) => demo.server.inject({ method: 'POST', url: '/api/api-keys', headers: p.headers, payload });

  it('creating a key needs a second factor proved in the last 15 minutes', async () => {
    const staff = demo.who('pharmacy-b-staff');
    await demo.app.db.query(`UPDATE session SET second_factor_at = now() - interval '20 minutes' WHERE token_hash = $1`, [hashSecret(tokenOf(staff))]);
    const stale = await newKey(staff);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('step_up_required');
    await demo.app.db.query(`UPDATE session SET second_factor_at = now() WHERE token_hash = $1`, [hashSecret(tokenOf(staff))]);
    expect((await newKey(staff)).statusCode).toBe(201);
  });

  it('a new key expires (90 days unless asked for less, a year at most) and an expired key is refused', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const created = await newKey(staff);
    expect(created.statusCode, created.body).toBe(201);
    const { key, id, expiresAt, createdAt } = created.json() as { key: string; id: string; expiresAt: string; createdAt: string };
    expect(Math.round((Date.parse(expiresAt) - Date.parse(createdAt)) / 86_400_000)).toBe(90);
    expect((await newKey(staff, { label: 'x', scopes: ['patients:read'], expiresInDays: 366 })).statusCode).toBe(400);
    // The label reaches every staff member's mailbox and the operator's terminal: no control characters or bidi overrides.
    for (const label of ['created by the DPO\r\nno action needed', 'ansi\u001b[2K', 'evil\u202egnp.exe']) {
      const bad = await newKey(staff, { label, scopes: ['patients:read'] });
      expect(bad.statusCode, JSON.stringify(label)).toBe(400);
      expect(bad.json().error.issues[0].code).toBe('control-character');
    }
    expect((await newKey(staff, { label: 'x', scopes: ['patients:read'], expiresInDays: 7 })).json().expiresAt.slice(0, 10))
      .toBe(new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10));
    expect((await demo.server.inject({ method: 'GET', url: '/api/patients', headers: bearer(key) })).statusCode).toBe(200);
    await demo.app.db.query(`UPDATE api_key SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect((await demo.server.inject({ method: 'GET', url: '/api/patients', headers: bearer(key) })).statusCode).toBe(401);
    const listed = (await demo.server.inject({ method: 'GET', url: `/api/api-keys/${id}`, headers: staff.headers })).json();
    expect(listed.status).toBe('expired');
  });

  it("every enabled staff member of the pharmacy is told of a new key, nobody else's staff", async () => {
    const staff = demo.who('pharmacy-a-staff');
    const alice = (await findAccountByLogin(demo.app.db, demo.app.keys, DEMO.staff[0]!.login))!;
    await createAccount(demo.app.db, demo.app.keys, demo.app.fields, { role: 'staff', tenantId: alice.tenant_id, login: 'colleague@tilleuls.demo', displayName: 'Collègue', passwordHash: await hashPassword('colleague-password-1'), totpSecret: null });
    const gone = await createAccount(demo.app.db, demo.app.keys, demo.app.fields, { role: 'staff', tenantId: alice.tenant_id, login: 'gone@tilleuls.demo', displayName: 'Parti', passwordHash: null, totpSecret: null });
    await demo.app.db.query('UPDATE account SET disabled_at = now() WHERE id = $1', [gone]);
    const sent = demo.app.mail.sent.length;
    expect((await newKey(staff, { label: 'logiciel de caisse', scopes: ['patients:read'] })).statusCode).toBe(201);
    await demo.app.mail.waitFor(() => demo.app.mail.sent.length - sent >= 2);
    await new Promise((r) => setTimeout(r, 100));
    const to = demo.app.mail.sent.slice(sent).map((m) => m.to).sort();
    expect(to).toEqual([DEMO.staff[0]!.login, 'colleague@tilleuls.demo']);
    expect(demo.app.mail.sent.at(-1)!.text).toContain('logiciel de caisse');
  });

  it("disabling an account revokes the keys it created, at once; other keys keep working", async () => {
    const bruno = (await findAccountByLogin(demo.app.db, demo.app.keys, DEMO.staff[1]!.login))!;
    const staff = demo.who('pharmacy-b-staff');
    const mine = (await newKey(staff)).json() as { key: string; id: string };
    const demoKey = demo.who('pharmacy-b-api-key');
    expect((await demo.server.inject({ method: 'GET', url: '/api/patients', headers: bearer(mine.key) })).statusCode).toBe(200);
    const { changed, revokedKeys } = await disableAccount(demo.app, bruno.id, 'test-disable');
    expect(changed).toBe(true);
    expect(revokedKeys).toContain(mine.id);
    expect((await demo.server.inject({ method: 'GET', url: '/api/patients', headers: bearer(mine.key) })).statusCode).toBe(401);
    // The pharmacy's other key (created by an operator command) is untouched.
    expect((await demo.server.inject({ method: 'GET', url: '/api/patients', headers: demoKey.headers })).statusCode).toBe(200);
    const [row] = await demo.app.db.query<{ revoked_reason: string; revoked_by: string }>('SELECT revoked_reason, revoked_by FROM api_key WHERE id = $1', [mine.id]);
    expect(row).toEqual({ revoked_reason: 'creator-disabled', revoked_by: 'system:operator' });
    const [event] = await demo.app.db.query<{ actor_id: string; purpose: string }>(`SELECT actor_id, purpose FROM audit_event WHERE action = 'api-key.revoke' AND resource_id = $1`, [mine.id]);
    expect(event).toEqual({ actor_id: 'system:operator', purpose: 'creator-disabled' });
  });
});

describe('finding 4: saufconduit api-key list | revoke, and account disable, from the command line', () => {
  it('lists every key with its status and revokes one by id', () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-keys-'));
    const env = { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' };
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env, encoding: 'utf8' });
    const creds = join(data, 'creds.json');
    expect(cli('demo', '--credentials', creds).status).toBe(0);
    const list = cli('api-key', 'list', '--json');
    expect(list.status, list.stderr).toBe(0);
    const items = (JSON.parse(list.stdout) as { items: { id: string; status: string; tenantId: string }[] }).items;
    const active = items.filter((k) => k.status === 'active');
    expect(active.length).toBe(2);
    const bySlug = cli('api-key', 'list', '--tenant', 'pharmacie-du-port');
    expect(bySlug.stdout).toMatch(/1 keys, 1 active/);

    const revoked = cli('api-key', 'revoke', active[0]!.id);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked; it stops working at once/);
    expect(cli('api-key', 'revoke', 'not-an-id').status).toBe(2);
    const after = (JSON.parse(cli('api-key', 'list', '--json').stdout) as { items: { id: string; status: string; revokedReason: string | null }[] }).items;
    expect(after.find((k) => k.id === active[0]!.id)).toMatchObject({ status: 'revoked', revokedReason: 'revoked' });
  });
});
