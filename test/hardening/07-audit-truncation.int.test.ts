import { createPrivateKey, hkdfSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENGINES, openTestApp, openTestDb, type TestApp } from '../support/engines.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { unsignedBounds, verifyAudit } from '../../src/audit/verify.ts';
import { checkpointHead } from '../../src/audit/append.ts';
import { chainHash } from '../../src/audit/event.ts';
import { deriveKeyRing } from '../../src/crypto/keys.ts';
import { readExported } from '../../src/audit/export.ts';
import { checkpointMessage } from '../../src/audit/event.ts';
import { startCheckpointTimer } from '../../src/audit/checkpoint-timer.ts';
import { openApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { waitFor } from '../reporting/support.ts';

/**
 * Finding 7 (security hardening): checkpoints lived in the same database as the events, so whoever
 * owns it could delete any suffix of the trail together with the later checkpoints and `audit verify`
 * still passed; checkpoints were signed with a key derived from the data master key. Now each signed
 * checkpoint is also written outside the database as it is made (SAUFCONDUIT_CHECKPOINT_EXPORT),
 * `audit verify --expect DIR` holds the trail against them, checkpoints are signed on time as well as
 * on count, and with a key of their own (SAUFCONDUIT_AUDIT_KEY).
 */

/** What the database owner does to cut the trail after event `keep` (triggers off: they own the table). */
async function cutAfter(app: TestApp, keep: number): Promise<void> {
  await app.db.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update');
  await app.db.query('ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_update');
  await app.db.query('DELETE FROM audit_event WHERE seq > $1', [keep]);
  await app.db.query('DELETE FROM audit_checkpoint WHERE seq > $1', [keep]);
  await app.db.query('UPDATE audit_head SET seq = $1, hash = (SELECT hash FROM audit_event WHERE seq = $1) WHERE id = 1', [keep]);
  await app.db.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update');
  await app.db.query('ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_update');
}

describe.each(ENGINES)('finding 7: the audit trail cannot be cut undetected, on %s', (engine) => {
  it('every checkpoint is exported as made; a tail deleted with its checkpoints passes the database alone, not --expect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saufconduit-export-'));
    const app = await openTestApp(engine, { checkpointEvery: 10, checkpointExport: dir });
    try {
      await seedDemo(app);
      const [{ seq }] = await app.db.query<{ seq: number }>('SELECT max(seq)::int AS seq FROM audit_checkpoint') as [{ seq: number }];
      await waitFor('the exports', () => readdirSync(dir).filter((f) => f.endsWith('.json')).length >= Math.floor(Number(seq) / 10));
      const exported = await readExported(dir, app.keys.auditVerifiers);
      expect(exported.length).toBeGreaterThan(2);
      expect(exported.every((c) => c.keyId === app.keys.auditKeyId)).toBe(true);
      expect((await verifyAudit(app.db, app.keys, { expected: exported })).ok).toBe(true);

      // The owner cuts the trail between two checkpoints, and removes the later checkpoints too.
      const keep = exported[1]!.seq + 3;
      await cutAfter(app, keep);
      expect((await verifyAudit(app.db, app.keys)).ok).toBe(true); // the database alone cannot tell
      const held = await verifyAudit(app.db, app.keys, { expected: exported });
      expect(held.ok).toBe(false);
      expect(held.firstBad!.problem).toMatch(/before the checkpoint exported at event \d+ \(tail deleted\)/);
    } finally {
      await app.dispose();
    }
  });

  it('a chain rewritten up to an exported checkpoint is never signed again, nor its export replaced (no key needed to rebuild the hashes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saufconduit-forge-'));
    const app = await openTestApp(engine, { checkpointEvery: 10, checkpointExport: dir });
    try {
      await seedDemo(app);
      await waitFor('the exports', async () => (await readExported(dir, app.keys.auditVerifiers)).length >= 3);
      const exported = await readExported(dir, app.keys.auditVerifiers);
      const target = exported.at(-1)!;
      const keep = exported.at(-3)!.seq + 1;
      // The owner cuts after `keep`, then fills the gap up to the newest exported sequence with made-up
      // events, chained with the same (keyless) hash, and moves the head there.
      await cutAfter(app, keep);
      await app.db.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update');
      let [prev] = await app.db.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = $1', [keep]);
      let prevHash = prev!.hash;
      for (let seq = keep + 1; seq <= target.seq; seq++) {
        const e = { seq, at: new Date(), actorId: 'system:housekeeper', actorRole: 'system', tenantId: null, action: 'session.purge', resourceType: 'Session', resourceId: null, subjectRef: null, purpose: 'retention', outcome: 'success' as const, requestId: 'forged' };
        const hash = chainHash(prevHash, e);
        await app.db.query(`INSERT INTO audit_event (seq, at, actor_id, actor_role, tenant_id, action, resource_type, resource_id, subject_ref, purpose, outcome, request_id, prev_hash, hash)
          VALUES ($1, $2, $3, $4, NULL, $5, $6, NULL, NULL, $7, $8, $9, $10, $11)`, [seq, e.at, e.actorId, e.actorRole, e.action, e.resourceType, e.purpose, e.outcome, e.requestId, prevHash, hash]);
        prevHash = hash;
      }
      await app.db.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update');
      await app.db.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [target.seq, prevHash]);
      void prev;
      // The platform would sign that head at its next tick: it refuses (the chain disagrees with the export)…
      const refused: string[] = [];
      const signed = await app.db.transaction((tx) => checkpointHead(tx, { ...app.signing, onRefused: (r) => refused.push(r), now: new Date() }));
      expect(signed).toBeNull();
      expect(refused[0]).toMatch(/disagrees with the exported checkpoint/);
      // …and an export is never replaced, even by a checkpoint signed with the real key.
      await app.checkpoints!.write([{ ...target, hash: prevHash, signature: 'forged' }]);
      expect((await readExported(dir, app.keys.auditVerifiers)).find((c) => c.seq === target.seq)!.hash).toBe(target.hash);
      const held = await verifyAudit(app.db, app.keys, { expected: await readExported(dir, app.keys.auditVerifiers) });
      expect(held.ok).toBe(false);
    } finally {
      await app.dispose();
    }
  });

  it('without the exports, a trail whose checkpoints were deleted is still caught: its unsigned tail is longer than the platform ever leaves', async () => {
    const app = await openTestApp(engine, { checkpointEvery: 10 });
    try {
      await seedDemo(app);
      // A working day's worth of events: many checkpoints.
      const system = { kind: 'system' as const, id: 'system:test', role: 'system' as const, tenantId: null };
      for (let i = 0; i < 20; i++) {
        await app.uow.run(system, `day-${i}`, async (w) => {
          for (let j = 0; j < 10; j++) w.record({ action: 'test.day', resourceType: 'Test', resourceId: null, subjectRef: null, purpose: 'test', outcome: 'success' });
        });
      }
      const bounds = unsignedBounds({ checkpointEvery: 10, checkpointSeconds: 60 }, new Date());
      expect((await verifyAudit(app.db, app.keys, { unsigned: bounds })).ok).toBe(true);
      await app.db.query('ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_update');
      await app.db.query('DELETE FROM audit_checkpoint');
      await app.db.query('ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_update');
      expect((await verifyAudit(app.db, app.keys)).ok).toBe(true); // chain alone: consistent
      const verdict = await verifyAudit(app.db, app.keys, { unsigned: bounds });
      expect(verdict.ok).toBe(false);
      expect(verdict.firstBad!.problem).toMatch(/more than the platform ever leaves unsigned|unsigned for more than/);
      // An old unsigned tail (a platform stopped uncleanly, or checkpoints deleted) is caught by time too.
      const later = unsignedBounds({ checkpointEvery: 1_000_000, checkpointSeconds: 60 }, new Date(Date.now() + 3_600_000));
      expect((await verifyAudit(app.db, app.keys, { unsigned: later })).firstBad!.problem).toMatch(/unsigned for more than/);
      expect(() => deriveKeyRing(app.config.masterKey!, app.config.masterKey!)).toThrow(/a secret of its own/);
    } finally {
      await app.dispose();
    }
  });

  it('checkpoints are signed with a key of their own: one derived from the master key is refused after it', async () => {
    const app = await openTestApp(engine, { checkpointEvery: 5 });
    try {
      await seedDemo(app);
      const [own] = await app.db.query<{ key_id: string }>('SELECT DISTINCT key_id FROM audit_checkpoint');
      expect(own!.key_id).toBe(app.keys.auditKeyId);
      expect(app.keys.auditKeyId).not.toBe(app.keys.legacyAuditKeyId);
      // Someone holding the master key (not the audit key) derives the old signing key, rewrites the
      // newest event and signs a checkpoint over it.
      const seed = Buffer.from(hkdfSync('sha256', Buffer.from(app.config.masterKey!, 'base64'), Buffer.alloc(0), 'saufconduit/audit-signing-v1', 32));
      const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
      await app.uow.run({ kind: 'system', id: 'system:test', role: 'system', tenantId: null }, 'unsigned', async (w) => w.record({ action: 'test.unsigned', resourceType: 'Test', resourceId: null, subjectRef: null, purpose: 'test', outcome: 'success' }));
      const [head] = await app.db.query<{ seq: number; hash: string; signed: boolean }>('SELECT seq, hash, EXISTS (SELECT 1 FROM audit_checkpoint c WHERE c.seq = h.seq) AS signed FROM audit_head h');
      expect(head!.signed).toBe(false);
      await app.db.query('INSERT INTO audit_checkpoint (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, now(), $3, $4)',
        [head!.seq, head!.hash, app.keys.legacyAuditKeyId, sign(null, checkpointMessage(Number(head!.seq), head!.hash), key).toString('base64url')]);
      const verdict = await verifyAudit(app.db, app.keys);
      expect(verdict.ok).toBe(false);
      expect(verdict.firstBad!.problem).toMatch(/retired master-derived key after the audit key took over/);
      // A deployment (not the demo) must give the audit key: nothing derives it any more.
      const fresh = await openTestDb(engine);
      try {
        await expect(openApp(loadConfig({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', masterKey: randomBytes(32).toString('base64'), logLevel: 'silent' }, {}), { db: fresh.db }))
          .rejects.toThrow(/SAUFCONDUIT_AUDIT_KEY is required/);
      } finally {
        await fresh.drop();
      }
    } finally {
      await app.dispose();
    }
  });

  it('checkpoints are also signed on time: a quiet trail does not stay unsigned', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saufconduit-timed-'));
    const app = await openTestApp(engine, { checkpointEvery: 1_000_000, checkpointExport: dir });
    const timer = startCheckpointTimer(app, 1, { error: () => undefined });
    try {
      await app.uow.run({ kind: 'system', id: 'system:test', role: 'system', tenantId: null }, 'quiet', async (w) => w.record({ action: 'test.quiet', resourceType: 'Test', resourceId: null, subjectRef: null, purpose: 'test', outcome: 'success' }));
      const [head] = await app.db.query<{ seq: number }>('SELECT seq FROM audit_head');
      await waitFor('a timed checkpoint at the head', async () => (await app.db.query('SELECT 1 FROM audit_checkpoint WHERE seq = $1', [head!.seq])).length > 0, 5000, 100);
      await waitFor('its export', () => readdirSync(dir).some((f) => f === `checkpoint-${String(head!.seq).padStart(12, '0')}.json`), 5000, 100);
    } finally {
      await timer.stop();
      await app.dispose();
    }
  });
});

describe('finding 7: saufconduit audit verify --expect', () => {
  it('passes against the exported checkpoints, and fails once the trail was cut before the newest of them', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-expect-'));
    const exportDir = join(data, 'exported');
    const env = { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1', SAUFCONDUIT_CHECKPOINT_EVERY: '10', SAUFCONDUIT_CHECKPOINT_EXPORT: exportDir };
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env, encoding: 'utf8' });
    const seeded = cli('demo');
    expect(seeded.status, seeded.stdout + seeded.stderr).toBe(0);
    const ok = cli('audit', 'verify', '--expect', exportDir);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/held against \d+ exported checkpoints/);
    const app = await openApp(loadConfig({ dataDir: data, demo: true, logLevel: 'silent' }, {}), { issuer: false });
    try {
      const exported = await readExported(exportDir, app.keys.auditVerifiers);
      await cutAfter(app as TestApp, exported.at(-2)!.seq + 1);
    } finally {
      await app.db.close();
    }
    expect(cli('audit', 'verify').status).toBe(0);
    const cut = cli('audit', 'verify', '--expect', exportDir);
    expect(cut.status).toBe(1);
    expect(cut.stdout).toMatch(/AUDIT TRAIL BROKEN .*tail deleted/);
  });
});
