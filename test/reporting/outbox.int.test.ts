import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { recordResult } from '../../src/domain/results.ts';
import { findAccountByLogin, principalFor } from '../../src/domain/accounts.ts';
import { AppError } from '../../src/errors/catalogue.ts';
import { DEMO } from '../../src/demo/world.ts';

/** Invariant 10, first half: the outbox row exists if and only if the result does. */
describe.each(ENGINES)('transactional outbox on %s', (engine) => {
  const demo = useDemoServer(engine);
  const count = async (sql: string, params: string[] = []) => Number((await demo.app.db.query<{ n: number }>(sql, params))[0]!.n);

  it('a recorded result gets one report and one notification row; a replayed request adds none', async () => {
    const key = demo.who('pharmacy-a-api-key');
    const patientId = key.canAccess.patientId[0]!;
    const before = await count('SELECT count(*) AS n FROM outbox');
    const idem = `outbox-test-${randomUUID()}`;
    // A replay is the same request again: same key, same body.
    const payload = { testType: 'pcr', outcome: 'positive', sampledAt: new Date(Date.now() - 3600_000).toISOString() };
    const post = () => demo.server.inject({ method: 'POST', url: `/api/patients/${patientId}/results`, headers: { ...key.headers, 'idempotency-key': idem }, payload });
    const first = await post();
    expect(first.statusCode).toBe(201);
    const resultId = first.json().id as string;
    const rows = await demo.app.db.query<{ kind: string; payload_enc: string | null; created_at: Date; delivered_at: Date | null; tenant_id: string; patient_id: string }>(
      'SELECT kind, payload_enc, created_at, delivered_at, tenant_id, patient_id FROM outbox WHERE result_id = $1 ORDER BY kind', [resultId]);
    expect(rows.map((r) => r.kind)).toEqual(['notification', 'report']);
    const [result] = await demo.app.db.query<{ created_at: Date }>('SELECT created_at FROM test_result WHERE id = $1', [resultId]);
    for (const r of rows) {
      expect(new Date(r.created_at).getTime()).toBe(new Date(result!.created_at).getTime());
      expect(r.delivered_at).toBeNull();
      expect(r.patient_id).toBe(patientId);
    }
    // The report's facts are encrypted at rest: the row reveals neither identity nor outcome.
    const report = rows.find((r) => r.kind === 'report')!;
    expect(report.payload_enc).toMatch(/^v2\./);
    const camille = DEMO.patients[0]!;
    for (const secret of [camille.givenName, camille.familyName, camille.birthDate, camille.ssn!, 'positive', 'pcr', '75011']) expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows.find((r) => r.kind === 'notification')!.payload_enc).toBeNull();

    const replay = await post();
    expect(replay.statusCode).toBe(200);
    expect(replay.json().id).toBe(resultId);
    expect(await count('SELECT count(*) AS n FROM outbox')).toBe(before + 2);
  });

  it('rolls back with the result: a failed recording leaves no outbox row and no result', async () => {
    const account = (await findAccountByLogin(demo.app.db, demo.app.keys, DEMO.staff[0]!.login))!;
    const staff = (await principalFor(demo.app.db, account.id))!;
    const patientId = demo.who('pharmacy-a-staff').canAccess.patientId[0]!;
    const outbox = await count('SELECT count(*) AS n FROM outbox');
    const results = await count('SELECT count(*) AS n FROM test_result');
    let recorded: string | undefined;
    await expect(demo.app.uow.run(staff, 'rollback-test', async (w) => {
      recorded = (await recordResult(w, patientId, { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() }, null)).id;
      // Inside the transaction both exist…
      expect(Number((await w.tx.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE result_id = $1', [recorded]))[0]!.n)).toBe(2);
      throw new AppError('conflict');
    })).rejects.toMatchObject({ code: 'conflict' });
    // …and after the rollback neither does.
    expect(recorded).toBeDefined();
    expect(await count('SELECT count(*) AS n FROM outbox')).toBe(outbox);
    expect(await count('SELECT count(*) AS n FROM test_result')).toBe(results);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE result_id = $1', [recorded!])).toBe(0);
  });

  it('the database refuses a second report row for one result', async () => {
    const [row] = await demo.app.db.query<{ tenant_id: string; patient_id: string; result_id: string }>(`SELECT tenant_id, patient_id, result_id FROM outbox WHERE kind = 'report' LIMIT 1`);
    await expect(demo.app.db.query(`INSERT INTO outbox (id, kind, tenant_id, patient_id, result_id, created_at) VALUES ($1, 'report', $2, $3, $4, now())`,
      [randomUUID(), row!.tenant_id, row!.patient_id, row!.result_id])).rejects.toThrow();
  });
});
