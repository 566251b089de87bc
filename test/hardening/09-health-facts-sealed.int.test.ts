import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { sealLegacyHealthFacts } from '../../src/domain/sealed-facts.ts';

/**
 * Finding 9 (security hardening): health facts were readable from the database alone:
 * `pass.kind = 'recovery'` revealed a positive PCR and, through `expires_at`, its date; a test's type
 * and sampling time were in clear. Now they are field-encrypted; rows written by older versions are
 * sealed at start (migration 020 cannot, it has no key).
 */
const NEEDLES = ['recovery', 'vaccination', 'test', 'antigen', 'pcr', 'positive', 'negative', 'inconclusive'];

describe.each(ENGINES)('finding 9: health facts are not readable without the key, on %s', (engine) => {
  const demo = useDemoServer(engine);

  /** Every value of every row of every table, as the database holds it. */
  async function everyValue(): Promise<{ table: string; column: string; value: string }[]> {
    const tables = (await demo.app.db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)).map((r) => r.t);
    const out: { table: string; column: string; value: string }[] = [];
    for (const table of tables) {
      for (const row of await demo.app.db.query<Record<string, unknown>>(`SELECT * FROM ${table}`)) {
        for (const [column, v] of Object.entries(row)) if (v !== null && v !== undefined) out.push({ table, column, value: v instanceof Date ? v.toISOString() : String(v) });
      }
    }
    return out;
  }

  it('no column holds a pass kind, a test type or outcome, nor a pass expiry or sampling time', async () => {
    const staff = demo.who('pharmacy-a-staff');
    // A recovery pass: a positive PCR sampled 20 days ago.
    const sampledAt = new Date(Date.now() - 20 * 86_400_000);
    const result = await demo.server.inject({ method: 'POST', url: `/api/patients/${staff.canAccess.patientId[0]}/results`, headers: staff.headers, payload: { testType: 'pcr', outcome: 'positive', sampledAt: sampledAt.toISOString() } });
    expect(result.statusCode).toBe(201);
    const recovery = await demo.server.inject({ method: 'POST', url: `/api/results/${result.json().id}/passes`, headers: staff.headers, payload: { kind: 'recovery' } });
    expect(recovery.statusCode, recovery.body).toBe(201);
    const expiresAt = recovery.json().expiresAt as string;
    const leaks = (await everyValue()).filter((v) =>
      // Event names and table vocabulary (`pass.issue`, `kind = 'invoice'`, outbox kinds) are not health facts.
      (NEEDLES.includes(v.value) && !(v.table === 'outbox' && v.column === 'kind') && !(v.table === 'document' && v.column === 'kind'))
      || v.value.startsWith(expiresAt.slice(0, 16)) || v.value.startsWith(sampledAt.toISOString().slice(0, 16)));
    expect(leaks).toEqual([]);
    // Nor through their length: AES-GCM does not hide it, so short codes are padded to one size.
    for (const [table, column] of [['pass', 'kind_enc'], ['pass', 'expires_at_enc'], ['test_result', 'test_type_enc'], ['test_result', 'outcome_enc'], ['test_result', 'sampled_at_enc']]) {
      const lengths = await demo.app.db.query<{ n: number }>(`SELECT DISTINCT length(${column}) AS n FROM ${table} WHERE ${column} IS NOT NULL`);
      expect(lengths.length, `${table}.${column}`).toBe(1);
    }
    const kinds = await demo.app.db.query<{ n: number }>('SELECT count(DISTINCT length(hc1_enc))::int AS n FROM pass');
    expect(Number(kinds[0]!.n), 'pass.hc1_enc lengths').toBe(1);
    // The API still answers them, decrypted.
    const read = await demo.server.inject({ method: 'GET', url: `/api/passes/${recovery.json().id}`, headers: staff.headers });
    expect(read.json()).toMatchObject({ kind: 'recovery', expiresAt });
    const r = await demo.server.inject({ method: 'GET', url: `/api/results/${result.json().id}`, headers: staff.headers });
    expect(r.json()).toMatchObject({ testType: 'pcr', outcome: 'positive', sampledAt: sampledAt.toISOString() });
  });

  it('rows an older version wrote in clear are sealed at start; of two valid passes of one source, the newest gets the key', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const patientId = staff.canAccess.patientId[0]!;
    const [{ tenant_id: tenantId }] = await demo.app.db.query<{ tenant_id: string }>('SELECT tenant_id FROM patient WHERE id = $1', [patientId]) as [{ tenant_id: string }];
    const resultId = randomUUID();
    const sampled = new Date(Date.now() - 3_600_000);
    await demo.app.db.query(`INSERT INTO test_result (id, tenant_id, patient_id, test_type, outcome_enc, sampled_at, recorded_by, created_at) VALUES ($1, $2, $3, 'antigen', $4, $5, 'legacy', now())`,
      [resultId, tenantId, patientId, demo.app.fields.encrypt(`result.outcome:${resultId}`, 'negative'), sampled]);
    const legacyPass = async (issuedAt: Date) => {
      const id = randomUUID();
      await demo.app.db.query(
        `INSERT INTO pass (id, tenant_id, patient_id, result_id, kind, kid, hc1_enc, issued_at, expires_at, keep_until, uci_hash, country_uci_hash, signature_hash)
         VALUES ($1, $2, $3, $4, 'test', 'kid', $5, $6, $7, $8, 'u', 'c', 's')`,
        [id, tenantId, patientId, resultId, demo.app.fields.encrypt(`pass.hc1:${id}`, 'HC1:legacy'), issuedAt, new Date(Date.now() + 86_400_000), new Date(Date.now() + 400 * 86_400_000)]);
      return id;
    };
    const older = await legacyPass(new Date(Date.now() - 120_000));
    const newer = await legacyPass(new Date(Date.now() - 60_000));
    // Sealed: the result's type and time, the two passes' kind and expiry; padded: the outcome and the two passes' QR texts.
    expect(await sealLegacyHealthFacts(demo.app.db, demo.app.fields, demo.app.keys.lookup)).toBe(6);
    expect(await sealLegacyHealthFacts(demo.app.db, demo.app.fields, demo.app.keys.lookup)).toBe(0);
    expect(await demo.app.db.query(`SELECT 1 FROM test_result WHERE outcome_enc LIKE 'v1.%' UNION ALL SELECT 1 FROM pass WHERE hc1_enc LIKE 'v1.%'`)).toEqual([]);
    const rows = await demo.app.db.query<{ id: string; kind: string | null; expires_at: Date | null; source_key: string | null }>('SELECT id, kind, expires_at, source_key FROM pass WHERE result_id = $1', [resultId]);
    expect(rows.every((r) => r.kind === null && r.expires_at === null)).toBe(true);
    expect(rows.find((r) => r.id === newer)!.source_key).toBeTruthy();
    expect(rows.find((r) => r.id === older)!.source_key).toBeNull();
    const [clear] = await demo.app.db.query<{ test_type: string | null; sampled_at: Date | null }>('SELECT test_type, sampled_at FROM test_result WHERE id = $1', [resultId]);
    expect(clear).toEqual({ test_type: null, sampled_at: null });
    const read = await demo.server.inject({ method: 'GET', url: `/api/results/${resultId}`, headers: staff.headers });
    expect(read.json()).toMatchObject({ testType: 'antigen', sampledAt: sampled.toISOString() });
    // Issuing again answers the newest legacy pass.
    const again = await demo.server.inject({ method: 'POST', url: `/api/results/${resultId}/passes`, headers: staff.headers, payload: { kind: 'test' } });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(newer);
  });
});
