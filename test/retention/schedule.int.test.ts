import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { seedDemo } from '../../src/demo/world.ts';
import { classified, SCHEDULE } from '../../src/retention/schedule.ts';
import { retentionDryRun } from '../../src/retention/dry-run.ts';

/**
 * The retention schedule classifies the whole schema (data lifecycle issue, point 1): every column
 * of every table is either in a category of personal data or declared not personal, on the live
 * schema of each engine; every rule of the schedule runs; a dry run counts and changes nothing.
 */
describe.each(ENGINES)('the retention schedule on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
  });
  afterAll(async () => {
    await app?.dispose();
  });

  it('classifies every column of the live schema, and names only columns that exist', async () => {
    const columns = await app.db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`);
    expect(columns.length).toBeGreaterThan(100);
    const map = classified();
    const unclassified = columns.filter((c) => !(map.get(c.table_name) ?? []).some((h) => h.columns === '*' || h.columns.includes(c.column_name)));
    expect(unclassified.map((c) => `${c.table_name}.${c.column_name}`), 'columns the retention schedule does not classify').toEqual([]);
    const live = new Set(columns.map((c) => c.table_name));
    for (const [table, holdings] of map) {
      expect(live.has(table), `the schedule names ${table}, which does not exist`).toBe(true);
      for (const h of holdings) if (h.columns !== '*') for (const col of h.columns) expect(columns.some((c) => c.table_name === table && c.column_name === col), `${table}.${col}`).toBe(true);
    }
    // A table is one category's (or not personal), never claimed twice.
    for (const [table, holdings] of map) expect(holdings.filter((h) => h.columns === '*'), table).toHaveLength(1);
    // Every rule names a table its category holds.
    for (const c of SCHEDULE) for (const e of c.expired) expect(c.holds.map((h) => h.table), `${c.category}: ${e.table}`).toContain(e.table);
  });

  it('a dry run counts what would go at a date and what stays, and changes nothing', async () => {
    const snapshot = async () => JSON.stringify(await Promise.all(SCHEDULE.flatMap((c) => c.holds).map(async (h) => (await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${h.table}`))[0]!.n)));
    const before = await snapshot();
    const now = await retentionDryRun(app.db, new Date());
    expect(now.categories.map((c) => c.category)).toEqual(SCHEDULE.map((c) => c.category));
    // Nothing of the demo world, just seeded, is past its retention today.
    for (const c of now.categories.filter((x) => !['sessions'].includes(x.category))) expect(c.count, c.category).toBe(0);
    const later = await retentionDryRun(app.db, new Date(Date.now() + 20 * 365 * 86_400_000));
    const by = (cat: string) => later.categories.find((c) => c.category === cat)!;
    // Twenty years on, every result, vaccination, invoice, pass and identity of the demo has gone,
    // but the record of an emergency access still waiting for the DPO's review (Dominique's).
    for (const cat of ['test-results', 'vaccinations', 'invoices', 'passes', 'patient-identity']) expect(by(cat).count, cat).toBeGreaterThan(0);
    for (const cat of ['test-results', 'vaccinations', 'invoices', 'passes', 'registrations']) expect(by(cat).kept, cat).toBe(0);
    const [awaiting] = await app.db.query<{ n: number }>(`SELECT (SELECT count(*)::int FROM patient p WHERE EXISTS (SELECT 1 FROM break_glass b WHERE b.patient_id = p.id AND b.review_status = 'pending'))
      + (SELECT count(*)::int FROM patient_search_term t WHERE EXISTS (SELECT 1 FROM break_glass b WHERE b.patient_id = t.patient_id AND b.review_status = 'pending')) AS n`);
    expect(awaiting!.n).toBeGreaterThan(1);
    expect(by('patient-identity').kept).toBe(awaiting!.n);
    // Each category accounts for every row of its tables: removed or kept.
    for (const c of later.categories) {
      const total = (await Promise.all(SCHEDULE.find((s) => s.category === c.category)!.expired.map(async (e) => (await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${e.table}`))[0]!.n))).reduce((a, b) => a + b, 0);
      expect(c.count + c.kept, c.category).toBe(total);
    }
    expect(await snapshot()).toBe(before);
  });

});

describe('saufconduit retention', () => {
  it('retention show and run --dry-run --json print the schedule and the report (the demo store, PGlite)', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-retention-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' };
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env, encoding: 'utf8' });
    expect(cli('demo').status).toBe(0);
    const show = cli('retention', 'show', '--json');
    expect(show.status, show.stderr).toBe(0);
    const schedule = JSON.parse(show.stdout) as { categories: { category: string; legalBasis: string; period: string; source: string }[] };
    expect(schedule.categories.map((c) => c.category)).toEqual(SCHEDULE.map((c) => c.category));
    for (const c of schedule.categories) for (const k of ['legalBasis', 'period', 'source'] as const) expect(c[k].length, `${c.category}.${k}`).toBeGreaterThan(3);
    const dry = cli('retention', 'run', '--dry-run', '--at', '2046-01-01', '--json');
    expect(dry.status, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as { at: string; categories: { category: string; tables: string[]; action: string; count: number }[] };
    expect(report.at).toBe('2046-01-01T00:00:00.000Z');
    expect(report.categories.find((c) => c.category === 'test-results')).toMatchObject({ tables: ['test_result'], action: 'delete' });
    expect(report.categories.find((c) => c.category === 'test-results')!.count).toBeGreaterThan(0);
    expect(cli('retention', 'run', '--dry-run', '--at', 'tomorrow').status).toBe(2);
    // A real run removes what has expired today, never as of another date.
    expect(cli('retention', 'run', '--at', '2046-01-01').status).toBe(2);
    const real = cli('retention', 'run', '--json');
    expect(real.status, real.stderr).toBe(0);
    expect(Object.keys((JSON.parse(real.stdout) as { removed: Record<string, number> }).removed)).toContain('test-results');
    const after = JSON.parse(cli('retention', 'run', '--dry-run', '--at', '2046-01-01', '--json').stdout) as typeof report;
    expect(after.categories.find((c) => c.category === 'test-results')!.count).toBe(report.categories.find((c) => c.category === 'test-results')!.count);
  });
});
