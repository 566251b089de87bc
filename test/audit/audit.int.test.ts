import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { ENGINES, openTestApp, clusterUrl, type TestApp } from '../support/engines.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { appendAudit } from '../../src/audit/append.ts';
import { grantAppRole } from '../../src/store/migrate.ts';
import type { AuditEventInput } from '../../src/audit/event.ts';

const event = (i: number): AuditEventInput => ({
  actorId: `acc-${i % 3}`, actorRole: 'staff', tenantId: 't1', action: 'patient.read', resourceType: 'Patient',
  resourceId: `res-${i}`, subjectRef: `sub_${i}`, purpose: 'tenant-service', outcome: 'success', requestId: `req-${i}`,
});

/** Tampering needs a superuser who switches off the append-only triggers: exactly the attacker we detect. */
async function tamper(app: TestApp, sql: string, params: (string | number)[] = []) {
  await app.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_checkpoint DISABLE TRIGGER USER');
    await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_checkpoint ENABLE TRIGGER USER');
  });
}

describe.each(ENGINES)('tamper-evident audit trail on %s', (engine) => {
  let app: TestApp;
  beforeEach(async () => {
    app = await openTestApp(engine, { checkpointEvery: 10 });
    for (let batch = 0; batch < 5; batch++) {
      await app.db.transaction((tx) => appendAudit(tx, Array.from({ length: 7 }, (_, i) => event(batch * 7 + i)), { keys: app.keys, checkpointEvery: 10, now: new Date() }));
    }
  });
  afterEach(async () => app?.dispose());

  const verdict = () => verifyAudit(app.db, app.keys);

  it('an untouched chain verifies, with signed checkpoints', async () => {
    const v = await verdict();
    expect(v).toMatchObject({ ok: true, eventsChecked: 35 });
    expect(v.checkpointsChecked).toBeGreaterThanOrEqual(3);
  });

  it('detects a modified field and names the event', async () => {
    await tamper(app, `UPDATE audit_event SET actor_id = 'someone-else' WHERE seq = 12`);
    expect((await verdict()).firstBad).toMatchObject({ seq: 12, problem: expect.stringContaining('modified') });
  });

  it('detects a modified field even when the attacker recomputes that hash', async () => {
    const [row] = await app.db.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 5');
    await tamper(app, `UPDATE audit_event SET outcome = 'denied', hash = $1 WHERE seq = 5`, [row!.hash.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))]);
    expect((await verdict()).firstBad?.seq).toBe(5);
  });

  it('detects a deleted event', async () => {
    await tamper(app, 'DELETE FROM audit_event WHERE seq = 20');
    expect((await verdict()).firstBad).toMatchObject({ seq: 20, problem: expect.stringContaining('missing') });
  });

  it('detects reordered events', async () => {
    await tamper(app, 'UPDATE audit_event SET seq = -1 WHERE seq = 7');
    await tamper(app, 'UPDATE audit_event SET seq = 7 WHERE seq = 8');
    await tamper(app, 'UPDATE audit_event SET seq = 8 WHERE seq = -1');
    expect((await verdict()).firstBad?.seq).toBe(7);
  });

  it('detects an inserted event', async () => {
    await tamper(app, 'UPDATE audit_event SET seq = seq + 1000 WHERE seq > 15');
    await tamper(app, 'UPDATE audit_event SET seq = seq - 999 WHERE seq > 1000');
    const [prev] = await app.db.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 15');
    await tamper(app, `INSERT INTO audit_event (seq, at, actor_id, actor_role, tenant_id, action, resource_type, resource_id, subject_ref, purpose, outcome, request_id, prev_hash, hash)
      VALUES (16, now(), 'x', 'staff', null, 'patient.read', 'Patient', null, null, 'p', 'success', 'r', $1, 'forged')`, [prev!.hash]);
    expect((await verdict()).firstBad?.seq).toBe(16);
  });

  it('detects a deleted tail covered by a signed checkpoint', async () => {
    await tamper(app, 'DELETE FROM audit_event WHERE seq > 25');
    await tamper(app, `UPDATE audit_head SET seq = 25, hash = (SELECT hash FROM audit_event WHERE seq = 25)`);
    expect((await verdict()).ok).toBe(false);
  });

  it('detects a forged checkpoint signature', async () => {
    await tamper(app, `UPDATE audit_checkpoint SET signature = 'AAAA' WHERE seq = (SELECT min(seq) FROM audit_checkpoint)`);
    expect((await verdict()).firstBad?.problem).toContain('checkpoint');
  });

  it('refuses UPDATE and DELETE on audit rows even for the schema owner (triggers)', async () => {
    await expect(app.db.query(`UPDATE audit_event SET purpose = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(app.db.query('DELETE FROM audit_event WHERE seq = 1')).rejects.toThrow(/append-only/);
    expect((await verdict()).ok).toBe(true);
  });
});

describe('the application database role on PostgreSQL', () => {
  it('may append to and read the audit trail but never UPDATE, DELETE or TRUNCATE it', async () => {
    const app = await openTestApp('postgres');
    const role = `app_${Math.random().toString(36).slice(2, 8)}`;
    try {
      await grantAppRole(app.db, role);
      await app.db.query(`ALTER ROLE ${role} LOGIN`);
      const u = new URL(app.dbUrl!);
      u.username = role;
      const asApp = postgres(u.toString(), { max: 1, onnotice: () => undefined });
      try {
        await asApp.begin(async (tx) => {
          await tx.unsafe(`SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE`);
        });
        await expect(asApp.unsafe(`UPDATE audit_event SET purpose = 'x'`)).rejects.toThrow(/permission denied/);
        await expect(asApp.unsafe('DELETE FROM audit_event')).rejects.toThrow(/permission denied/);
        await expect(asApp.unsafe('TRUNCATE audit_event')).rejects.toThrow(/permission denied/);
        await expect(asApp.unsafe('ALTER TABLE audit_event DISABLE TRIGGER USER')).rejects.toThrow(/must be owner/);
        const rows = await asApp.unsafe('SELECT count(*)::int AS n FROM audit_event');
        expect(rows[0]!.n).toBeGreaterThanOrEqual(0);
      } finally {
        await asApp.end();
      }
    } finally {
      await app.dispose();
      const admin = postgres(clusterUrl(), { max: 1, onnotice: () => undefined });
      await admin.unsafe(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });
});
