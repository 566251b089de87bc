import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { UnitOfWork } from '../../src/domain/unit-of-work.ts';
import { issueVaccinationPass } from '../../src/domain/passes.ts';
import { principalFor } from '../../src/domain/accounts.ts';
import { findAccountByLogin } from '../../src/domain/accounts.ts';
import { DEMO } from '../../src/demo/world.ts';

/**
 * Finding 12 (security hardening): twelve concurrent issuances from one result all answered 201,
 * and the staff page issued a new pass at every click: several valid passes of one certificate in
 * circulation, each to be revoked separately. Now there is one valid pass per result or vaccination
 * and kind (a unique index on a blind key of the source and kind): issuing again answers the
 * existing one (200), and only an expired one is replaced.
 */
describe.each(ENGINES)('finding 12: one valid pass per source and kind, on %s', (engine) => {
  const demo = useDemoServer(engine);

  it('twelve concurrent issuances from one result leave exactly one valid pass, answered to all', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const result = await demo.server.inject({ method: 'POST', url: `/api/patients/${staff.canAccess.patientId[0]}/results`, headers: staff.headers,
      payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 600_000).toISOString() } });
    const resultId = result.json().id as string;
    const answers = await Promise.all(Array.from({ length: 12 }, () =>
      demo.server.inject({ method: 'POST', url: `/api/results/${resultId}/passes`, headers: staff.headers, payload: { kind: 'test' } })));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 201).length).toBe(1);
    expect(statuses.every((s) => s === 201 || s === 200 || s === 409)).toBe(true);
    const ids = new Set(answers.filter((a) => a.statusCode < 300).map((a) => a.json().id as string));
    expect(ids.size).toBe(1);
    const [{ n }] = await demo.app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pass WHERE result_id = $1', [resultId]) as [{ n: number }];
    expect(Number(n)).toBe(1);
    // Asked again later: the same pass, 200.
    const again = await demo.server.inject({ method: 'POST', url: `/api/results/${resultId}/passes`, headers: staff.headers, payload: { kind: 'test' } });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe([...ids][0]);
    expect(again.json().hc1).toMatch(/^HC1:/);
  });

  it('a vaccination pass that has expired is replaced by a new one (time travel through the unit of work clock)', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const vaccinationId = staff.canAccess.vaccinationId[0]!;
    const first = await demo.server.inject({ method: 'POST', url: `/api/vaccinations/${vaccinationId}/passes`, headers: staff.headers, payload: {} });
    expect(first.statusCode).toBe(200);
    const alice = (await findAccountByLogin(demo.app.db, demo.app.keys, DEMO.staff[0]!.login))!;
    const principal = (await principalFor(demo.app.db, alice.id))!;
    const nextYear = new Date(Date.now() + 370 * 86_400_000);
    const later = new UnitOfWork(demo.app.db, { fields: demo.app.fields, keys: demo.app.keys, checkpointEvery: 1000, clock: () => nextYear });
    const renewed = await later.run(principal, 'renew', (w) => issueVaccinationPass(w, demo.app.signer, vaccinationId));
    expect(renewed.existing).toBe(false);
    expect(renewed.id).not.toBe(first.json().id);
    const rows = await demo.app.db.query<{ id: string; revoked_reason: string | null }>('SELECT id, revoked_reason FROM pass WHERE vaccination_id = $1 ORDER BY issued_at', [vaccinationId]);
    expect(rows.find((r) => r.id === first.json().id)!.revoked_reason).toBe('superseded');
    expect(rows.filter((r) => r.revoked_reason === null).map((r) => r.id)).toEqual([renewed.id]);
  });
});
