import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { retentionDryRun } from '../../src/retention/dry-run.ts';
import { ENFORCED, ERASED_NAME, runRetention } from '../../src/retention/job.ts';
import { retentionIfDue } from '../../src/auth/expiry.ts';
import { verifyAudit } from '../../src/audit/verify.ts';

const MONTH = 30 * 86_400_000;
/** Categories whose rows may also go with the row they belong to (deleted before it). */
const DEPENDANTS = new Set(['reports-and-mail', 'registrations', 'care']);

/**
 * The retention job (data lifecycle issue, point 2), run at several dates on both engines on data
 * recorded across three years: after each run nothing the job enforces is past its retention,
 * everything younger is intact, passes of deleted results are revoked (and listed until they
 * expire), each batch is audited, and the audit trail still verifies.
 */
describe.each(ENGINES)('the retention job on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
    // Spread the demo's records over three years: each patient's rows as if recorded 0, 1 and 2 years ago.
    const patients = await app.db.query<{ id: string }>('SELECT id FROM patient ORDER BY created_at, id');
    for (const [i, p] of patients.entries()) {
      const age = `${(i % 3) * 12} months`;
      for (const table of ['test_result', 'vaccination', 'document', 'patient']) {
        await app.db.query(`UPDATE ${table} SET created_at = created_at - $2::interval WHERE ${table === 'patient' ? 'id' : 'patient_id'} = $1`, [p.id, age]);
      }
      await app.db.query(`UPDATE pass SET keep_until = keep_until - $2::interval, issued_at = issued_at - $2::interval WHERE patient_id = $1`, [p.id, age]);
    }
  });
  afterAll(async () => {
    await app?.dispose();
  });

  const snapshot = async (at: Date) => {
    const report = await retentionDryRun(app.db, at);
    return new Map(report.categories.map((c) => [c.category, c]));
  };

  for (const months of [1, 7, 25, 37, 12 * 11]) {
    it(`run ${months} months from now: removes exactly what is past its retention, keeps the rest, and the trail verifies`, async () => {
      const at = new Date(Date.now() + months * MONTH);
      const before = await snapshot(at);
      const run = await runRetention(app, at);
      const after = await snapshot(at);
      for (const category of ENFORCED) {
        expect(after.get(category)!.count, `${category} left past retention`).toBe(0);
        // Younger rows stay; some go with an owner past its retention (a result's queued report, a record's codes).
        if (category === 'audit-trail') expect(after.get(category)!.kept, 'the trail only grows by the run\'s own events').toBeGreaterThanOrEqual(before.get(category)!.kept);
        else if (DEPENDANTS.has(category)) expect(after.get(category)!.kept, `${category} younger rows kept`).toBeLessThanOrEqual(before.get(category)!.kept);
        else expect(after.get(category)!.kept, `${category} younger rows kept`).toBe(before.get(category)!.kept);
        expect(run.removed[category], category).toBeGreaterThanOrEqual(0);
      }
      // What the run says it removed is what was past retention (dependants may have gone with their owner).
      for (const category of ['test-results', 'vaccinations', 'invoices', 'passes']) expect(run.removed[category], category).toBe(before.get(category)!.count);
      // A pass whose result or vaccination went is revoked (listed until it expires, then kept no longer).
      const orphans = await app.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM pass WHERE result_id IS NULL AND vaccination_id IS NULL');
      for (const p of orphans) expect(p.revoked_at).not.toBeNull();
      const [row] = await app.db.query<{ removed: Record<string, number>; finished_at: Date | null }>('SELECT removed, finished_at FROM retention_run WHERE id = $1', [run.id]);
      expect(row!.finished_at).not.toBeNull();
      for (const [category, n] of Object.entries(run.removed)) expect(row!.removed[category] ?? 0, category).toBe(n);
      const audited = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'retention.delete' AND resource_id = $1`, [run.id]);
      expect(audited[0]!.n > 0).toBe(Object.values(run.removed).some((n) => n > 0));
      const verdict = await verifyAudit(app.db, app.keys, { pruned: { retentionMonths: 12, now: at } });
      expect(verdict.ok, JSON.stringify(verdict.firstBad)).toBe(true);
      if (months > 13) {
        // The trail was pruned up to a signed checkpoint past retention; it verifies from there, and
        // the same cut judged today (the events younger than 12 months) is told apart from pruning.
        expect(verdict.prunedBefore ?? 0).toBeGreaterThan(0);
        const today = await verifyAudit(app.db, app.keys, { pruned: { retentionMonths: 12, now: new Date() } });
        expect(today.ok).toBe(false);
        expect(today.firstBad!.problem).toMatch(/younger than its 12-month retention/);
      }
    });
  }

  it('leaves nothing of the demo people eleven years on but what the schedule keeps (accounts, the audit trail)', async () => {
    for (const table of ['test_result', 'vaccination', 'document', 'pass']) {
      expect((await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n, table).toBe(0);
    }
    // The one record left is the one whose emergency access still waits for the DPO's review.
    const left = await app.db.query<{ id: string }>('SELECT id FROM patient');
    const awaiting = await app.db.query<{ patient_id: string }>(`SELECT DISTINCT patient_id FROM break_glass WHERE review_status = 'pending'`);
    expect(left.map((r) => r.id).sort()).toEqual(awaiting.map((r) => r.patient_id).sort());
  });

  it('anonymises accounts past retention: a disabled professional, and patient spaces left without records', async () => {
    const [moreau] = await app.db.query<{ id: string }>(`SELECT account_id::text AS id FROM professional WHERE rpps = '10002345675'`);
    await app.db.query(`UPDATE account SET disabled_at = now() - interval '13 months' WHERE id = $1`, [moreau!.id]);
    const run = await runRetention(app, new Date());
    expect(run.removed.accounts).toBeGreaterThanOrEqual(1);
    const [pro] = await app.db.query<{ rpps: string; display_name: string; organisation: string | null }>('SELECT rpps, display_name, organisation FROM professional WHERE account_id = $1', [moreau!.id]);
    expect(pro).toEqual({ rpps: `erased:${moreau!.id}`, display_name: ERASED_NAME, organisation: null });
    const [acc] = await app.db.query<{ login_hash: string; display_name_enc: string; password_hash: string | null; totp_secret_enc: string | null }>('SELECT login_hash, display_name_enc, password_hash, totp_secret_enc FROM account WHERE id = $1', [moreau!.id]);
    expect(acc!.login_hash).toBe(`erased:${moreau!.id}`);
    expect(app.fields.decrypt(`account.display_name:${moreau!.id}`, acc!.display_name_enc)).toBe(ERASED_NAME);
    expect([acc!.password_hash, acc!.totp_secret_enc]).toEqual([null, null]);
    // Eleven years on, the demo patients' spaces held no record any more (but Dominique's): anonymised too.
    const erased = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM account WHERE role = 'patient' AND login_hash LIKE 'erased:%'`);
    expect(erased[0]!.n).toBeGreaterThanOrEqual(2);
    // What is left is not past retention, and the trail still verifies.
    expect((await snapshot(new Date())).get('accounts')!.count).toBe(0);
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
  });

  it('runs once a day from the housekeeping, and again after a run that did not finish', async () => {
    await app.db.query('DELETE FROM retention_run');
    const first = await retentionIfDue(app, new Date());
    expect(first).not.toBeNull();
    expect(await retentionIfDue(app, new Date())).toBeNull();
    expect(await retentionIfDue(app, new Date(Date.now() + 25 * 3_600_000))).not.toBeNull();
    // A run cut short (finished_at never set) does not count: the next pass runs again.
    await app.db.query('DELETE FROM retention_run');
    await app.db.query(`INSERT INTO retention_run (id, at, started_at) VALUES ('00000000-0000-4000-8000-000000000001', now(), now())`);
    expect(await retentionIfDue(app, new Date())).not.toBeNull();
  });
});
