import { describe, expect, it } from 'vitest';
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import { clusterUrl, openTestApp } from '../support/engines.ts';
import { grantAppRole } from '../../src/store/migrate.ts';
import { installJobQueue, QUEUES } from '../../src/reporting/jobs.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openApp } from '../../src/app.ts';
import { MemoryMailer } from '../../src/notify/mailer.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { runRetention } from '../../src/retention/job.ts';
import { verifyAudit } from '../../src/audit/verify.ts';

/**
 * README "Deploying on PostgreSQL": the owner runs `migrate --app-role`, the application logs in
 * with a role that has data privileges only. The job queue must work under that role too.
 */
describe('the job queue under the restricted application role on PostgreSQL', () => {
  it('migrate installs pg-boss and our queues as owner; the app role sends, fetches and completes jobs but cannot change the schema', async () => {
    const app = await openTestApp('postgres');
    const role = `app_${Math.random().toString(36).slice(2, 8)}`;
    try {
      await installJobQueue(app.dbUrl!, 10);
      await grantAppRole(app.db, role);
      await app.db.query(`ALTER ROLE ${role} LOGIN`);
      const u = new URL(app.dbUrl!);
      u.username = role;
      const boss = new PgBoss({ connectionString: u.toString(), max: 2, schedule: false, supervise: true });
      boss.on('error', () => undefined);
      await boss.start();
      try {
        const id = await boss.send(QUEUES.report, { outboxId: 'x' });
        expect(id).toBeTruthy();
        const [job] = await boss.fetch(QUEUES.report);
        expect(job?.id).toBe(id);
        await boss.complete(QUEUES.report, job!.id);
      } finally {
        await boss.stop({ graceful: false, wait: true });
      }
      // The whole application starts and serves as that role: nothing at start needs a right to create.
      const asAppDb = await openPostgres(u.toString(), { max: 2 });
      try {
        const served = await openApp(app.config, { db: asAppDb, mailer: new MemoryMailer() });
        expect((await served.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migration'))[0]!.n).toBeGreaterThan(20);
        // Retention runs as that role too, the audit trail's pruning included (through the owner's
        // audit_prune(): the role itself may not delete audit events), and the trail verifies after.
        await seedDemo(served);
        const run = await runRetention(served, new Date(Date.now() + 13 * 31 * 86_400_000));
        expect(run.removed['audit-trail']).toBeGreaterThan(0);
        expect((await verifyAudit(served.db, served.keys)).ok).toBe(true);
        await expect(served.db.query('DELETE FROM audit_event')).rejects.toThrow(/permission denied|append-only/);
        await served.close();
      } finally {
        await asAppDb.close();
      }
      const asApp = postgres(u.toString(), { max: 1, onnotice: () => undefined });
      try {
        await expect(asApp.unsafe('DROP TABLE pgboss.job')).rejects.toThrow(/must be owner|permission denied/);
        await expect(asApp.unsafe('CREATE TABLE pgboss.evil (x int)')).rejects.toThrow(/permission denied/);
      } finally {
        await asApp.end();
      }
    } finally {
      await app.dispose();
      const admin = postgres(clusterUrl(), { max: 1, onnotice: () => undefined });
      await admin.unsafe(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.unsafe(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });
});
