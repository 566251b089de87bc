import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { seedDemo, demoCredentials } from '../../src/demo/world.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { getDocument } from '../../src/domain/documents.ts';
import { recordResult } from '../../src/domain/results.ts';
import { getPatient } from '../../src/domain/patients.ts';
import { principalFor } from '../../src/domain/accounts.ts';
import type { Principal } from '../../src/policy/principal.ts';
import { AppError } from '../../src/errors/catalogue.ts';
import { UnitOfWork } from '../../src/domain/unit-of-work.ts';
import type { Db } from '../../src/store/db.ts';

/**
 * Group commit must keep every guarantee of one-transaction-per-request: each operation's audit
 * events commit with it, a failing operation loses only its own writes, denials are recorded.
 */
describe.each(ENGINES)('unit of work (group commit) on %s', (engine) => {
  let app: TestApp;
  let staffA: Principal;
  let staffB: Principal;
  let patientsA: string[];
  let docsA: string[];
  beforeAll(async () => {
    app = await openTestApp(engine);
    await seedDemo(app);
    const creds = await demoCredentials(app);
    const a = creds.principals.find((p) => p.name === 'pharmacy-a-staff')!;
    patientsA = a.canAccess.patientId;
    docsA = a.canAccess.documentId;
    const [idA] = await app.db.query<{ id: string }>(`SELECT id FROM account WHERE role = 'staff' AND tenant_id = (SELECT tenant_id FROM patient WHERE id = $1)`, [patientsA[0]!]);
    const [idB] = await app.db.query<{ id: string }>(`SELECT id FROM account WHERE role = 'staff' AND id <> $1`, [idA!.id]);
    staffA = (await principalFor(app.db, idA!.id))!;
    staffB = (await principalFor(app.db, idB!.id))!;
  });
  afterAll(async () => app?.dispose());

  const count = async (sql: string) => Number((await app.db.query<{ n: number }>(sql))[0]!.n);

  it('a concurrent mix of reads, writes, denials and failures commits exactly what succeeded, with its events', async () => {
    const resultsBefore = await count('SELECT count(*)::int AS n FROM test_result');
    const eventsBefore = await count('SELECT count(*)::int AS n FROM audit_event');
    const sampledAt = new Date().toISOString();
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      ops.push(app.uow.read(staffA, `read-${i}`, (w) => getDocument(w, docsA[i % docsA.length]!)));
      ops.push(app.uow.run(staffA, `write-${i}`, (w) => recordResult(w, patientsA[i % patientsA.length]!, { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt }, null)));
      ops.push(app.uow.read(staffB, `denied-${i}`, (w) => getPatient(w, patientsA[0]!)));
      // Fails after writing: its insert must vanish with its savepoint.
      ops.push(app.uow.run(staffA, `fails-${i}`, async (w) => {
        await recordResult(w, patientsA[0]!, { testType: 'pcr', outcome: 'positive', sampledAt }, null);
        throw new AppError('conflict');
      }));
    }
    const settled = await Promise.allSettled(ops);
    const kinds = settled.map((s, i) => [['read', 'write', 'denied', 'fails'][i % 4], s.status] as const);
    expect(kinds.filter(([k, s]) => (k === 'read' || k === 'write') && s !== 'fulfilled')).toEqual([]);
    expect(kinds.filter(([k, s]) => (k === 'denied' || k === 'fails') && s !== 'rejected')).toEqual([]);
    expect(await count('SELECT count(*)::int AS n FROM test_result') - resultsBefore).toBe(40);
    expect(await count(`SELECT count(*)::int AS n FROM test_result r WHERE r.test_type = 'pcr' AND r.created_at > now() - interval '1 hour' AND r.patient_id = '${patientsA[0]}' AND r.recorded_by = '${staffA.id}' AND r.sampled_at = '${sampledAt}'`)).toBe(0);
    const events = await app.db.query<{ request_id: string; outcome: string }>('SELECT request_id, outcome FROM audit_event WHERE seq > $1', [eventsBefore]);
    const by = (prefix: string) => events.filter((e) => e.request_id.startsWith(prefix));
    expect(by('read-').length).toBe(40);
    expect(by('write-').length).toBe(80);
    expect(by('denied-').every((e) => e.outcome === 'denied')).toBe(true);
    expect(by('denied-').length).toBe(40);
    expect(by('fails-').length).toBe(0);
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
  });

  it('two processes appending to one chain keep it linear (the cached head is compare-and-set)', async () => {
    const other = new UnitOfWork(app.db, { fields: app.fields, keys: app.keys, checkpointEvery: 50 });
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const uow = i % 2 === 0 ? app.uow : other;
      ops.push(uow.read(staffA, `proc-${i}`, (w) => getDocument(w, docsA[i % docsA.length]!)));
      if (i % 5 === 0) await Promise.all(ops.splice(0));
    }
    await Promise.all(ops);
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
    expect(await count(`SELECT count(*)::int AS n FROM audit_event WHERE request_id LIKE 'proc-%'`)).toBe(30);
  });

  it('the concurrent lookups of a batch are one query per kind, and each operation gets its own record', async () => {
    // A store that counts the ownership lookups (facts queries) its transactions run.
    let factQueries = 0;
    const counting: Db = {
      ...app.db,
      transaction: (fn) => app.db.transaction((tx) => fn({
        query: (sql, params) => {
          if (sql.includes('facts_key')) factQueries += 1;
          return tx.query(sql, params);
        },
        savepoint: (inner) => tx.savepoint(inner),
      })),
    };
    const uow = new UnitOfWork(counting, { fields: app.fields, keys: app.keys, checkpointEvery: 50 });
    const creds = await demoCredentials(app);
    const foreignDoc = creds.principals.find((p) => p.name === 'pharmacy-b-staff')!.canAccess.documentId[0]!;
    const ids = [...docsA, ...docsA, foreignDoc, 'not-a-uuid', '00000000-0000-4000-8000-000000000000'];
    const settled = await Promise.allSettled(ids.map((id, i) => uow.read(staffA, `coalesce-${i}`, (w) => getDocument(w, id))));
    // The first operation opens a transaction at once, alone; the others queue behind it and form
    // the next batch: one query for all of their document lookups (duplicates and unknown ids included).
    expect(factQueries).toBe(2);
    settled.forEach((s, i) => {
      if (i < 2 * docsA.length) {
        expect(s.status).toBe('fulfilled');
        expect((s as PromiseFulfilledResult<{ id: string }>).value.id).toBe(ids[i]);
      } else {
        expect(s.status).toBe('rejected');
        expect(((s as PromiseRejectedResult).reason as AppError).code).toBe('not_found');
      }
    });
    const events = await app.db.query<{ request_id: string; outcome: string; resource_id: string }>(
      `SELECT request_id, outcome, resource_id FROM audit_event WHERE request_id LIKE 'coalesce-%' ORDER BY seq`);
    expect(events.length).toBe(ids.length);
    for (const e of events) {
      const i = Number(e.request_id.slice('coalesce-'.length));
      expect(e.resource_id).toBe(ids[i]);
      expect(e.outcome).toBe(i < 2 * docsA.length ? 'success' : 'denied');
    }
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
  });

  it('a read that breaks its transaction does not take the batch down with it', async () => {
    const ops = [
      ...docsA.map((id, i) => app.uow.read(staffA, `ok-${i}`, (w) => getDocument(w, id))),
      app.uow.read(staffA, 'broken', async (w) => w.tx.query('SELECT 1/0')),
      ...docsA.map((id, i) => app.uow.read(staffA, `ok2-${i}`, (w) => getDocument(w, id))),
    ];
    const settled = await Promise.allSettled(ops);
    expect(settled.filter((s) => s.status === 'rejected').length).toBe(1);
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
  });
});
