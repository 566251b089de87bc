import { mkdtempSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENGINES, openTestApp } from '../support/engines.ts';
import { testServer, bearer } from '../support/http.ts';
import { loadConfig } from '../../src/config/config.ts';
import { refuseDemoOnlySettings } from '../../src/cli/commands/serve.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { createEnrolment } from '../../src/domain/enrolment.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { startReceiver } from '../../src/reporting/receiver.ts';
import { trustedKeys } from '../../src/reporting/signature.ts';
import { deliverReport } from '../../src/reporting/deliver.ts';
import { waitFor } from '../reporting/support.ts';

/**
 * Finding 13 (security hardening): `serve` wrote mails (login codes included) to files unless told
 * otherwise, served the demo world, kept keys in the data directory, and the bundled receiver stored
 * identities and NIR in clear; there was no way to create real tenants, staff or DPOs. Now all of
 * that is for the demo only (SAUFCONDUIT_DEMO=1, set by `npm start`) and `serve` refuses it with a
 * message; the receiver keeps no report body; `saufconduit tenant create` and `account create` enrol
 * real people through a one-time link (password + TOTP), and no account is usable before.
 */
const cli = (env: NodeJS.ProcessEnv, ...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8' });

describe('finding 13: what is for the demo only, serve refuses', () => {
  it('refuses the file and console mail transports outside the demo', () => {
    for (const transport of ['file', 'console']) {
      expect(() => refuseDemoOnlySettings(loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: transport }))).toThrow(/for the demo only \(SAUFCONDUIT_DEMO=1\)/);
      expect(() => refuseDemoOnlySettings(loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: transport, SAUFCONDUIT_DEMO: '1' }))).not.toThrow();
    }
    expect(() => refuseDemoOnlySettings(loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: 'smtp', SAUFCONDUIT_SMTP_URL: 'smtp://relay.example:587' }))).not.toThrow();
  });

  it('a real serve: no settings stops at start with a message; the demo world is refused without the flag; with it, serve says loudly it is the demo', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-serve-'));
    const bare = cli({ SAUFCONDUIT_DATA: data, PORT: '0' }, 'serve');
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/SAUFCONDUIT_MAIL_TRANSPORT=file .* for the demo only/);
    const smtp = { SAUFCONDUIT_DATA: data, PORT: '0', SAUFCONDUIT_MAIL_TRANSPORT: 'smtp', SAUFCONDUIT_SMTP_URL: 'smtp://127.0.0.1:9/' };
    const noKeys = cli(smtp, 'serve');
    expect(noKeys.status).toBe(1);
    expect(noKeys.stderr).toMatch(/SAUFCONDUIT_MASTER_KEY is required outside the demo/);
    // The demo world is seeded only when asked for the demo, and never into a store of real pharmacies.
    const noFlag = cli({ SAUFCONDUIT_DATA: data }, 'demo');
    expect(noFlag.status).toBe(2);
    expect(noFlag.stderr).toMatch(/for the demo only, set SAUFCONDUIT_DEMO=1/);
    expect(cli({ SAUFCONDUIT_DATA: data }, 'start').status).toBe(2);
    expect(cli({ SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' }, 'demo').status).toBe(0);
    const demoWorld = cli(smtp, 'serve');
    expect(demoWorld.status).toBe(2);
    expect(demoWorld.stderr).toMatch(/holds the fictitious demo world; serve it with SAUFCONDUIT_DEMO=1/);
    // With the flag: served, under a banner that says what is demo-only.
    const child = spawn(process.execPath, ['bin/saufconduit.mjs', 'serve'], { env: { ...process.env, SAUFCONDUIT_DATA: data, PORT: '0', SAUFCONDUIT_DEMO: '1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('serve to listen', () => /listening on/.test(out), 30_000, 100);
      expect(out).toMatch(/DEMO MODE \(SAUFCONDUIT_DEMO=1\): for trying Saufconduit, never for real patients/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const receiver = cli({ SAUFCONDUIT_DATA: data }, 'receiver', '--port', '0');
    expect(receiver.status).toBe(2);
    expect(receiver.stderr).toMatch(/bundled receiver is for the demo and tests only/);
  }, 180_000); // several CLI processes and servers, each starting the store: slow on a busy machine
});

describe.each(ENGINES)('finding 13: the bundled receiver keeps no person, on %s', (engine) => {
  it('stores the ids it deduplicates on, never the identity or NIR of a report', async () => {
    const app = await openTestApp(engine);
    const dir = mkdtempSync(join(tmpdir(), 'saufconduit-rx-'));
    const receiver = await startReceiver({ dir, trusted: trustedKeys({ keys: [app.reporting.publicJwk] }) });
    try {
      await seedDemo(app);
      const rows = await app.db.query<{ id: string }>(`SELECT o.id FROM outbox o JOIN patient p ON p.id = o.patient_id WHERE o.kind = 'report'`);
      const target = { url: receiver.url, timeoutMs: 5000, identity: 'identified' as const, signing: app.reporting.signing, kid: app.reporting.publicJwk.kid, pseudonymKey: app.reporting.pseudonym };
      for (const r of rows) expect(await deliverReport({ db: app.db, uow: app.uow, fields: app.fields, target }, r.id)).toBe('created');
      const journal = readFileSync(join(dir, 'received.jsonl'), 'utf8');
      expect(journal.split('\n').filter(Boolean).length).toBe(rows.length);
      for (const secret of ['290047511234560', 'Camille', 'Martin', '1990-04-12', 'Dominique']) expect(journal).not.toContain(secret);
    } finally {
      await receiver.close();
      await app.dispose();
    }
  });
});

describe.each(ENGINES)('finding 13: real tenants, staff and DPOs are enrolled by a one-time link, on %s', (engine) => {
  it('account create gives a link; nothing logs in before enrolment; after it, password then TOTP; the link works once', async () => {
    const app = await openTestApp(engine);
    const server = await testServer(app);
    try {
      const tenantId = (await app.db.query<{ id: string }>(`INSERT INTO tenant (id, kind, name, slug) VALUES (gen_random_uuid(), 'pharmacy', 'Pharmacie Réelle', 'pharmacie-reelle') RETURNING id`))[0]!.id;
      const made = await createEnrolment(app, { role: 'staff', login: 'agnes@reelle.example', displayName: 'Agnès', tenantId }, 'test');
      const token = made.url.split('/enrol/')[1]!;
      expect(made.url).toMatch(/\/enrol\/[A-Za-z0-9_-]{32}$/);
      const post = (url: string, payload: object, headers: Record<string, string> = {}) => server.inject({ method: 'POST', url, payload, headers });
      // Before enrolment no password exists: the login answers like any wrong one.
      expect((await post('/api/auth/login', { login: 'agnes@reelle.example', password: 'anything-at-all-here' })).statusCode).toBe(401);
      const start = await post('/api/auth/enrolment', { token });
      expect(start.statusCode, start.body).toBe(200);
      const { totpSecret, login, role } = start.json() as { totpSecret: string; login: string; role: string };
      expect({ login, role }).toEqual({ login: 'agnes@reelle.example', role: 'staff' });
      const page = await server.inject({ method: 'GET', url: `/enrol/${token}?lang=fr` });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('data-enrol-qr');
      // A short password, a wrong code: refused with reasons, nothing spent.
      const weak = await post('/api/auth/enrolment/complete', { token, password: 'short', code: '000000' });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['code', 'password']);
      const password = 'a long sentence nobody guesses';
      const done = await post('/api/auth/enrolment/complete', { token, password, code: await totpNow(totpSecret) });
      expect(done.statusCode, done.body).toBe(200);
      expect((await post('/api/auth/enrolment', { token })).json().error.code).toBe('link_used');
      // Now: password, then a TOTP code (the enrolment's code cannot be replayed).
      const first = await post('/api/auth/login', { login: 'agnes@reelle.example', password });
      expect(first.statusCode).toBe(200);
      const second = await post('/api/auth/totp', { code: await totpNow(totpSecret, new Date(Date.now() + 30_000)) }, bearer(first.json().token));
      expect(second.statusCode, second.body).toBe(200);
      const me = await server.inject({ method: 'GET', url: '/api/me', headers: bearer(second.json().token) });
      expect(me.json()).toMatchObject({ role: 'staff', tenantId });
      const [event] = await app.db.query<{ actor_id: string }>(`SELECT actor_id FROM audit_event WHERE action = 'account.create' AND purpose = 'enrolment'`);
      expect(event!.actor_id).toBe('system:operator');
    } finally {
      await server.close();
      await app.dispose();
    }
  });
});

describe('finding 13: saufconduit tenant create and account create', () => {
  it('creates a pharmacy and enrols its staff member and a DPO from the command line; the demo world is then never seeded into it', () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-enrol-'));
    const env = { SAUFCONDUIT_DATA: data, SAUFCONDUIT_MASTER_KEY: randomBytes(32).toString('base64'), SAUFCONDUIT_AUDIT_KEY: randomBytes(32).toString('base64'), SAUFCONDUIT_PUBLIC_URL: 'https://saufconduit.example' };
    const tenant = cli(env, 'tenant', 'create', '--name', 'Pharmacie de la Gare', '--slug', 'pharmacie-de-la-gare');
    expect(tenant.status, tenant.stderr).toBe(0);
    const staff = cli(env, 'account', 'create', '--role', 'staff', '--tenant', 'pharmacie-de-la-gare', '--login', 'zoe@gare.example', '--name', 'Zoé');
    expect(staff.status, staff.stderr).toBe(0);
    expect(staff.stdout).toMatch(/https:\/\/saufconduit\.example\/enrol\/[A-Za-z0-9_-]{32}/);
    const dpo = cli(env, 'account', 'create', '--role', 'dpo', '--login', 'dpo@gare.example', '--name', 'Délégué');
    expect(dpo.status, dpo.stderr).toBe(0);
    expect(cli(env, 'account', 'create', '--role', 'staff', '--login', 'x@gare.example', '--name', 'X').status).toBe(2);
    const demo = cli({ ...env, SAUFCONDUIT_DEMO: '1' }, 'demo');
    expect(demo.status).toBe(1);
    expect(demo.stderr).toMatch(/holds real pharmacies: the demo world is never seeded into it/);
  }, 180_000); // five CLI processes, each starting the store: slow on a busy machine
});
