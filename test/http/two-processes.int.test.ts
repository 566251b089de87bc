import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { openApp, type App } from '../../src/app.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { MemoryMailer } from '../../src/notify/mailer.ts';
import { seedDemo, demoCredentials, type DemoPrincipal } from '../../src/demo/world.ts';

/**
 * Two server processes on one PostgreSQL database (the production shape): races that one process
 * settles inside its own unit of work reach the database's unique indexes across processes. The
 * loser's answer must be a 4xx that says to retry, never a 500, and nothing may be stored twice.
 */
describe('two server processes on one PostgreSQL database', () => {
  let a: TestApp;
  let b: App;
  let servers: FastifyInstance[];
  let key: DemoPrincipal;
  beforeAll(async () => {
    a = await openTestApp('postgres');
    await seedDemo(a);
    b = await openApp(a.config, { db: await openPostgres(a.dbUrl!, { max: 4 }), mailer: new MemoryMailer() });
    servers = [await testServer(a), await testServer(b)];
    key = (await demoCredentials(a)).principals.find((p) => p.name === 'pharmacy-a-api-key')!;
  });
  afterAll(async () => {
    for (const s of servers ?? []) await s.close();
    await b?.close();
    await a?.dispose();
  });

  it('the same idempotency key at both at once stores one result; the other answers a replay or 409, never 500', async () => {
    const patientId = key.canAccess.patientId![0]!;
    const body = { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 60_000).toISOString() };
    const statuses = new Set<number>();
    for (let round = 0; round < 12; round++) {
      const idem = randomUUID();
      const answers = await Promise.all(servers.map((s) => s.inject({
        method: 'POST', url: `/api/patients/${patientId}/results`, headers: { ...key.headers, 'idempotency-key': idem }, payload: body,
      })));
      for (const r of answers) {
        statuses.add(r.statusCode);
        expect([200, 201, 409], r.body).toContain(r.statusCode);
        if (r.statusCode === 409) expect(r.json().error.code).toBe('conflict');
      }
      expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(1);
      const [stored] = await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM test_result WHERE idempotency_key = $1', [idem]);
      expect(Number(stored!.n)).toBe(1);
      // A retry of the loser gets the winner's result.
      const retry = await servers[1]!.inject({ method: 'POST', url: `/api/patients/${patientId}/results`, headers: { ...key.headers, 'idempotency-key': idem }, payload: body });
      expect(retry.statusCode).toBe(200);
    }
    expect(statuses.has(201)).toBe(true);
  });
});
