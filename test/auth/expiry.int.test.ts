import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { createSession, findSession } from '../../src/auth/sessions.ts';
import { sessionPolicy } from '../../src/auth/login.ts';
import { purgeExpiredCredentials } from '../../src/auth/expiry.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { hashSecret } from '../../src/crypto/tokens.ts';

describe.each(ENGINES)('expired credentials are purged on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
  });
  afterAll(async () => {
    await app?.dispose();
  });

  it('deletes sessions past their lifetime or idle too long and expired challenges; keeps live ones; audits the purge', async () => {
    const [{ id: account } = { id: '' }] = await app.db.query<{ id: string }>(`SELECT id FROM account WHERE role = 'staff' LIMIT 1`);
    const policy = sessionPolicy(app);
    const now = Date.now();
    const ago = (minutes: number) => new Date(now - minutes * 60_000);
    await purgeExpiredCredentials(app);
    const live = await createSession(app.db, account, 'full', 'password+totp', new Date(now), policy);
    // Seen a minute ago (not idle) but past its absolute lifetime.
    const pastLifetime = await createSession(app.db, account, 'full', 'password+totp', ago(1), policy);
    await app.db.query('UPDATE session SET expires_at = $2 WHERE token_hash = $1', [hashSecret(pastLifetime), ago(0.5)]);
    const idle = await createSession(app.db, account, 'full', 'password+totp', ago(policy.idleMinutes + 1), policy);
    const challenge = async (expiresAt: Date, usedAt: Date | null, kind = 'otp') => {
      const id = randomUUID();
      await app.db.query(`INSERT INTO auth_challenge (id, kind, account_id, secret_hash, expires_at, used_at) VALUES ($1, $5, $2, 'x', $3, $4)`, [id, account, expiresAt, usedAt, kind]);
      return id;
    };
    const open = await challenge(new Date(now + 5 * 60_000), null);
    // One-time codes stay five minutes past their expiry: they count against the next codes sent
    // in their 15-minute window (src/auth/login.ts). Passkey challenges go at once.
    const recentlyExpiredCode = await challenge(ago(1), null);
    const expired = await challenge(ago(6), null);
    const usedAndExpired = await challenge(ago(6), ago(7));
    const expiredPasskey = await challenge(ago(1), null, 'webauthn-login');
    const events = async () => Number((await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE actor_id = 'system:housekeeper' AND outcome = 'success'`))[0]!.n);
    const before = await events();

    expect(await purgeExpiredCredentials(app)).toEqual({ sessions: 2, challenges: 3 });
    expect(await events()).toBe(before + 2);
    const left = (await app.db.query<{ id: string }>('SELECT id FROM auth_challenge')).map((r) => r.id);
    expect(left).toContain(open);
    expect(left).toContain(recentlyExpiredCode);
    for (const gone of [expired, usedAndExpired, expiredPasskey]) expect(left).not.toContain(gone);
    // The rows themselves are gone (a presented expired token would also be refused and deleted).
    const rows = async (token: string) => (await app.db.query('SELECT 1 FROM session WHERE token_hash = $1', [hashSecret(token)])).length;
    expect([await rows(live), await rows(pastLifetime), await rows(idle)]).toEqual([1, 0, 0]);
    expect(await findSession(app.db, live, new Date(), policy)).not.toBeNull();
    // Nothing left to purge: nothing deleted, nothing audited.
    expect(await purgeExpiredCredentials(app)).toEqual({ sessions: 0, challenges: 0 });
    expect(await events()).toBe(before + 2);
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
  });
});
