import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { seedDemo, demoCredentials, DEMO, type DemoPrincipal } from '../../src/demo/world.ts';
import { startJobs, type Jobs } from '../../src/reporting/jobs.ts';
import { startReceiver, type Receiver } from '../../src/reporting/receiver.ts';
import { deriveReportingKeys, signRequest, trustedKeys } from '../../src/reporting/signature.ts';
import { deliverReport } from '../../src/reporting/deliver.ts';
import { NotificationFailed, sendResultNotification, sendResultNotifications } from '../../src/notify/result-available.ts';
import { FileMailer, MemoryMailer } from '../../src/notify/mailer.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import type { UnitOfWork } from '../../src/domain/unit-of-work.ts';
import { tempDir, waitFor } from './support.ts';

/** One report and one notification per result the demo world records. */
const DEMO_RESULTS = DEMO.patients.reduce((n, p) => n + p.tests.length, 0);

const FHIR = 'application/fhir+json';

async function world(engine: (typeof ENGINES)[number]) {
  const app = await openTestApp(engine);
  await seedDemo(app);
  const principals = (await demoCredentials(app)).principals;
  const server = await testServer(app);
  const dir = await tempDir('receiver');
  const receiver = await startReceiver({ dir: dir.path, trusted: trustedKeys({ keys: [app.reporting.publicJwk] }) });
  return { app, principals, server, dir, receiver };
}

const countEvents = async (app: TestApp, action: string, outcome?: string) =>
  Number((await app.db.query<{ n: number }>('SELECT count(*) AS n FROM audit_event WHERE action = $1 AND ($2::text IS NULL OR outcome = $2)', [action, outcome ?? null]))[0]!.n);

const record = async (server: FastifyInstance, key: DemoPrincipal, outcome = 'negative') => {
  const res = await server.inject({
    method: 'POST', url: `/api/patients/${key.canAccess.patientId[0]}/results`, headers: key.headers,
    payload: { testType: 'antigen', device: '1232', outcome, sampledAt: new Date(Date.now() - 600_000).toISOString() },
  });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
};

describe.each(ENGINES)('national reporting and notifications through pg-boss on %s', (engine) => {
  let app: TestApp;
  let server: FastifyInstance;
  let principals: DemoPrincipal[];
  let receiver: Receiver;
  let dir: { path: string; remove(): Promise<void> };
  let jobs: Jobs;
  const who = (name: string) => principals.find((p) => p.name === name)!;
  const undelivered = async () => Number((await app.db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL'))[0]!.n);

  beforeAll(async () => {
    ({ app, server, principals, receiver, dir } = await world(engine));
    jobs = await startJobs(app, { reportUrl: receiver.url, connectionString: app.dbUrl ?? undefined, relayIntervalMs: 50, pollingIntervalSeconds: 0.5 });
  });
  afterAll(async () => {
    await jobs?.stop();
    await server?.close();
    await receiver?.close();
    await app?.dispose();
    await dir?.remove();
  });

  it('delivers every result to the receiver over HTTP exactly once, then marks it, erases its payload and audits the disclosure', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await record(server, who(i % 2 ? 'pharmacy-a-api-key' : 'pharmacy-b-api-key'), i % 3 ? 'negative' : 'positive'));
    const started = Date.now();
    await waitFor('the outbox to drain', async () => (await undelivered()) === 0);
    const drainMs = Date.now() - started;
    const all = (await app.db.query<{ id: string }>('SELECT id FROM test_result')).map((r) => `urn:uuid:${r.id}`).sort();
    expect(all.length).toBe(6 + DEMO_RESULTS);
    const seen = receiver.journal.entries().flatMap((e) => e.observations).sort();
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    const reports = await app.db.query<{ payload_enc: string | null; receipt: string; attempts: number; result_id: string }>(`SELECT payload_enc, receipt, attempts, result_id FROM outbox WHERE kind = 'report'`);
    for (const r of reports) expect(r).toMatchObject({ payload_enc: null, receipt: 'created', attempts: 1 });
    const events = await app.db.query<{ resource_id: string; actor_id: string; purpose: string; subject_ref: string }>(`SELECT resource_id, actor_id, purpose, subject_ref FROM audit_event WHERE action = 'result.report'`);
    expect(events.map((e) => `urn:uuid:${e.resource_id}`).sort()).toEqual(all);
    for (const e of events) expect(e).toMatchObject({ actor_id: 'system:reporter', purpose: 'national-reporting', subject_ref: expect.stringMatching(/^sub_/) });
    expect((await verifyAudit(app.db, app.keys)).ok).toBe(true);
    // Orientation, not an assertion on speed: the relay and worker are woken at once on one process.
    console.log(`[${engine}] 6 results reported in ${drainMs} ms`);
  });

  it('tells each patient once, without health data, and audits the use of the contact', async () => {
    await waitFor('the outbox to drain', async () => (await undelivered()) === 0);
    const results = Number((await app.db.query<{ n: number }>('SELECT count(*) AS n FROM test_result'))[0]!.n);
    expect(app.mail.sent.length).toBe(results);
    const logins = new Set(DEMO.patients.map((p) => p.login));
    for (const m of app.mail.sent) {
      expect(logins.has(m.to)).toBe(true);
      for (const word of ['negative', 'positive', 'antigen', 'Camille', 'Martin', 'Pharmacie']) expect(m.subject + m.text).not.toContain(word);
    }
    const events = await app.db.query<{ actor_id: string; resource_type: string }>(`SELECT actor_id, resource_type FROM audit_event WHERE action = 'notification.send'`);
    expect(events.length).toBe(results);
    for (const e of events) expect(e).toEqual({ actor_id: 'system:notifier', resource_type: 'Patient' });
  });

  it('notifications travel many to a job; when one of them fails, the retry sends only what did not go through', async () => {
    await waitFor('the outbox to drain', async () => (await undelivered()) === 0);
    const sentBefore = app.mail.sent.length;
    const since = new Date();
    // The first mail handed to the transport fails (transport down for a moment); every other goes out.
    const send = app.mail.send.bind(app.mail);
    let failed = 0;
    app.mail.send = async (mail) => {
      if (failed === 0) {
        failed += 1;
        throw new Error('transport down');
      }
      return send(mail);
    };
    try {
      const n = 24;
      for (let i = 0; i < n; i++) await record(server, who(i % 2 ? 'pharmacy-a-api-key' : 'pharmacy-b-api-key'));
      // Every row, reports included, so that the next tests find the receiver at rest.
      await waitFor('every notification and report', async () => (await undelivered()) === 0, 30_000);
      expect(failed).toBe(1);
      // Exactly one mail per result: neither the failed job's retry nor its unit-of-work batch
      // handed the mails that had gone through to the transport again.
      expect(app.mail.sent.length - sentBefore).toBe(n);
      const [failure] = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'notification.send' AND outcome = 'failure'`);
      expect(failure!.n).toBe(1);
      const [jobs] = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'saufconduit-notification' AND created_on >= $1`, [since]);
      expect(jobs!.n).toBeLessThan(n);
    } finally {
      app.mail.send = send;
    }
  });

  it('a replayed request is stored once; another body under the same key is refused', async () => {
    const before = receiver.journal.entries().length;
    const key = `replay-${randomUUID()}`;
    const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [] });
    const post = async (b: string) => fetch(receiver.url, {
      method: 'POST', body: b,
      headers: { 'content-type': FHIR, 'idempotency-key': key, 'jws-signature': await signRequest(b, app.reporting.signing, app.reporting.publicJwk.kid, key, new Date()) },
    });
    const first = await post(body);
    expect(first.status).toBe(201);
    const second = await post(body);
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ status: 'duplicate', seq: (await first.json()).seq });
    expect((await post(body.replace('[]', '[{}]'))).status).toBe(409);
    expect(receiver.journal.entries().length).toBe(before + 1);
  });

  it('refuses a request whose signature does not verify, and stores nothing', async () => {
    const before = receiver.journal.entries().length;
    const key = `badsig-${randomUUID()}`;
    const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [] });
    const stranger = await deriveReportingKeys(randomBytes(32).toString('base64'));
    const valid = await signRequest(body, app.reporting.signing, app.reporting.publicJwk.kid, key, new Date());
    const attempts: [string, Record<string, string>][] = [
      ['unknown signer', { 'jws-signature': await signRequest(body, stranger.signing, stranger.publicJwk.kid, key, new Date()) }],
      ['key of another signer under our kid', { 'jws-signature': await signRequest(body, stranger.signing, app.reporting.publicJwk.kid, key, new Date()) }],
      ['signature moved to another idempotency key', { 'jws-signature': await signRequest(body, app.reporting.signing, app.reporting.publicJwk.kid, `other-${key}`, new Date()) }],
      ['stale signature', { 'jws-signature': await signRequest(body, app.reporting.signing, app.reporting.publicJwk.kid, key, new Date(Date.now() - 3600_000)) }],
      ['no signature', {}],
    ];
    for (const [what, headers] of attempts) {
      const res = await fetch(receiver.url, { method: 'POST', body, headers: { 'content-type': FHIR, 'idempotency-key': key, ...headers } });
      expect(res.status, what).toBe(401);
      expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'security' }] });
    }
    const tampered = await fetch(receiver.url, { method: 'POST', body: body.replace('transaction', 'message'), headers: { 'content-type': FHIR, 'idempotency-key': key, 'jws-signature': valid } });
    expect(tampered.status).toBe(401);
    expect(receiver.journal.entries().length).toBe(before);
  });

  it('receiver down: attempts fail and are retried with backoff, then the report is delivered once when it is back', async () => {
    const port = receiver.port;
    await receiver.close();
    const resultId = await record(server, who('pharmacy-a-api-key'));
    const failing = await waitFor('two failed attempts', async () => {
      const [r] = await app.db.query<{ attempts: number; last_error: string | null; delivered_at: Date | null }>(`SELECT attempts, last_error, delivered_at FROM outbox WHERE kind = 'report' AND result_id = $1`, [resultId]);
      return r && r.attempts >= 2 ? r : null;
    }, 30_000);
    expect(failing).toMatchObject({ last_error: 'network', delivered_at: null });
    // Each failed attempt is in the audit trail too: the identity may have left before the failure.
    const failures = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'result.report' AND resource_id = $1 AND outcome = 'failure'`, [resultId]);
    expect(Number(failures[0]!.n)).toBeGreaterThanOrEqual(2);
    receiver = await startReceiver({ dir: dir.path, port, trusted: trustedKeys({ keys: [app.reporting.publicJwk] }) });
    await waitFor('the report after the receiver came back', async () => (await undelivered()) === 0, 30_000);
    expect(receiver.journal.entries().filter((e) => e.observations.includes(`urn:uuid:${resultId}`)).length).toBe(1);
    const [row] = await app.db.query<{ attempts: number; receipt: string }>(`SELECT attempts, receipt FROM outbox WHERE kind = 'report' AND result_id = $1`, [resultId]);
    expect(row!.attempts).toBeGreaterThanOrEqual(3);
    expect(row!.receipt).toBe('created');
  });
});

describe.each(ENGINES)('delivery steps on %s', (engine) => {
  let w: Awaited<ReturnType<typeof world>>;
  beforeAll(async () => {
    w = await world(engine);
  });
  afterAll(async () => {
    await w?.server.close();
    await w?.receiver.close();
    await w?.app.dispose();
    await w?.dir.remove();
  });

  it('a crash after the receiver acknowledged but before the row was marked: the retry is a replay, stored once', async () => {
    const { app, receiver } = w;
    const [row] = await app.db.query<{ id: string; result_id: string }>(`SELECT id, result_id FROM outbox WHERE kind = 'report' AND delivered_at IS NULL LIMIT 1`);
    const target = { url: receiver.url, timeoutMs: 5000, identity: 'identified' as const, signing: app.reporting.signing, kid: app.reporting.publicJwk.kid, pseudonymKey: app.reporting.pseudonym };
    // The "crash": the transaction that marks the row never commits.
    const dying = { run: async () => { throw new Error('killed'); } } as unknown as UnitOfWork;
    await expect(deliverReport({ db: app.db, uow: dying, fields: app.fields, target }, row!.id)).rejects.toThrow('killed');
    expect(receiver.journal.entries().length).toBe(1);
    const [still] = await app.db.query<{ delivered_at: Date | null }>('SELECT delivered_at FROM outbox WHERE id = $1', [row!.id]);
    expect(still!.delivered_at).toBeNull();
    // The retry sends the same bytes under the same key: the receiver answers "duplicate".
    expect(await deliverReport({ db: app.db, uow: app.uow, fields: app.fields, target }, row!.id)).toBe('duplicate');
    expect(await deliverReport({ db: app.db, uow: app.uow, fields: app.fields, target }, row!.id)).toBe('already');
    expect(receiver.journal.entries().length).toBe(1);
    expect(receiver.replays).toBe(1);
    expect(receiver.journal.entries()[0]!.observations).toEqual([`urn:uuid:${row!.result_id}`]);
  });

  it('the notification is written to the mail folder without health data', async () => {
    const { app } = w;
    const mail = await tempDir('mail');
    try {
      const rows = await app.db.query<{ id: string }>(`SELECT id FROM outbox WHERE kind = 'notification' AND delivered_at IS NULL`);
      expect(rows.length).toBe(DEMO_RESULTS);
      const deps = { uow: app.uow, fields: app.fields, mailer: new FileMailer(mail.path), publicUrl: 'https://saufconduit.example' };
      const eventsBefore = await countEvents(app, 'notification.send');
      // One row alone, then the others together (a job's rows go in one set-based transaction), with
      // a duplicate, an id that is not a UUID and one that names no notification: those are 'already'.
      expect(await sendResultNotification(deps, rows[0]!.id)).toBe('sent');
      const unknown = randomUUID();
      const receipts = await sendResultNotifications(deps, [...rows.map((r) => r.id), rows[1]!.id, 'not-a-uuid', unknown]);
      expect(Object.fromEntries(receipts)).toEqual({ ...Object.fromEntries(rows.map((r, i) => [r.id, i === 0 ? 'already' : 'sent'])), 'not-a-uuid': 'already', [unknown]: 'already' });
      expect(await countEvents(app, 'notification.send')).toBe(eventsBefore + DEMO_RESULTS);
      expect(await sendResultNotification(deps, rows[0]!.id)).toBe('already');
      const files = await readdir(mail.path);
      expect(files.length).toBe(DEMO_RESULTS);
      const forbidden = ['negative', 'positive', 'négatif', 'positif', 'antigen', 'antigénique', 'pcr', 'PCR', 'Pharmacie', 'Tilleuls', 'Port',
        ...DEMO.patients.flatMap((p) => [p.givenName, p.familyName, p.birthDate])];
      for (const f of files) {
        const text = await readFile(join(mail.path, f), 'utf8');
        expect(text).toMatch(/^To: [^\n]+@example\.org\n/);
        expect(text).toContain('https://saufconduit.example/patient');
        for (const word of forbidden) expect(text, `${word} in ${f}`).not.toContain(word);
      }
    } finally {
      await mail.remove();
    }
  });

  it('a notification whose address cannot be decrypted fails alone: the others are sent once, the failure is audited', async () => {
    const { app, server, principals } = w;
    const key = principals.find((p) => p.name === 'pharmacy-a-api-key')!;
    const [good, bad] = key.canAccess.patientId as [string, string];
    const results: string[] = [];
    for (const patient of [good, bad]) {
      const res = await server.inject({ method: 'POST', url: `/api/patients/${patient}/results`, headers: key.headers, payload: { testType: 'pcr', outcome: 'negative', sampledAt: new Date(Date.now() - 600_000).toISOString() } });
      expect(res.statusCode, res.body).toBe(201);
      results.push(res.json().id as string);
    }
    const rows = await app.db.query<{ id: string; result_id: string }>(`SELECT id, result_id FROM outbox WHERE kind = 'notification' AND result_id = ANY(string_to_array($1, ',')::uuid[])`, [results.join(',')]);
    const badRow = rows.find((r) => r.result_id === results[1])!;
    const [saved] = await app.db.query<{ email_enc: string }>('SELECT email_enc FROM patient WHERE id = $1', [bad]);
    await app.db.query(`UPDATE patient SET email_enc = 'v1.nokey.AAAA' WHERE id = $1`, [bad]);
    try {
      const mailer = new MemoryMailer();
      const deps = { uow: app.uow, fields: app.fields, mailer, publicUrl: 'https://saufconduit.example' };
      const failures = await countEvents(app, 'notification.send', 'failure');
      for (let attempt = 0; attempt < 2; attempt++) {
        const err = await sendResultNotifications(deps, rows.map((r) => r.id)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotificationFailed);
        expect((err as NotificationFailed).code).toBe('undecryptable');
      }
      // The good one went out once, across the retry; the bad one is counted and audited each time.
      expect(mailer.sent.length).toBe(1);
      const [state] = await app.db.query<{ attempts: number; last_error: string; delivered_at: Date | null }>('SELECT attempts, last_error, delivered_at FROM outbox WHERE id = $1', [badRow.id]);
      expect(state).toMatchObject({ attempts: 2, last_error: 'undecryptable', delivered_at: null });
      expect(await countEvents(app, 'notification.send', 'failure')).toBe(failures + 2);
    } finally {
      await app.db.query('UPDATE patient SET email_enc = $2 WHERE id = $1', [bad, saved!.email_enc]);
    }
  });

  it('no mail is waited for inside a transaction: a read completes while the transport still holds a mail', async () => {
    const { app, server, principals } = w;
    const key = principals.find((p) => p.name === 'pharmacy-a-api-key')!;
    const resultId = await record(server, key);
    const [row] = await app.db.query<{ id: string }>(`SELECT id FROM outbox WHERE kind = 'notification' AND result_id = $1`, [resultId]);
    let entered!: () => void;
    const inTransport = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A mail server that takes the message only when the test says so.
    const slow = { sent: 0, async send() { entered(); await gate; this.sent += 1; } };
    const sending = sendResultNotifications({ uow: app.uow, fields: app.fields, mailer: slow, publicUrl: 'https://saufconduit.example' }, [row!.id]);
    await inTransport;
    // Were the mail sent inside the unit of work's transaction, this audited read would queue behind it and never answer.
    const read = await server.inject({ method: 'GET', url: `/api/results/${resultId}`, headers: key.headers });
    expect(read.statusCode, read.body).toBe(200);
    expect(slow.sent).toBe(0);
    // A second attempt of the job meanwhile (its lease ran out) leaves the claimed row alone.
    const other = new MemoryMailer();
    const second = await sendResultNotifications({ uow: app.uow, fields: app.fields, mailer: other, publicUrl: 'https://saufconduit.example' }, [row!.id]).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(NotificationFailed);
    expect((second as NotificationFailed).code).toBe('in-progress');
    expect(other.sent.length).toBe(0);
    release();
    expect((await sending).get(row!.id)).toBe('sent');
    const [state] = await app.db.query<{ receipt: string; claimed_until: Date | null }>('SELECT receipt, claimed_until FROM outbox WHERE id = $1', [row!.id]);
    expect(state).toMatchObject({ receipt: 'sent', claimed_until: null });
    expect((await sendResultNotifications({ uow: app.uow, fields: app.fields, mailer: other, publicUrl: 'https://saufconduit.example' }, [row!.id])).get(row!.id)).toBe('already');
    expect(slow.sent + other.sent.length).toBe(1);
  });

  it('a claim left by an attempt that never finished runs out: the retry then sends the mail', async () => {
    const { app, server, principals } = w;
    const resultId = await record(server, principals.find((p) => p.name === 'pharmacy-a-api-key')!);
    const [row] = await app.db.query<{ id: string }>(`SELECT id FROM outbox WHERE kind = 'notification' AND result_id = $1`, [resultId]);
    let entered!: () => void;
    const inTransport = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The first attempt hangs in the transport, as if its process had died there, with a claim of 1 ms.
    const hung = sendResultNotifications({ uow: app.uow, fields: app.fields, mailer: { async send() { entered(); await gate; } }, publicUrl: 'https://saufconduit.example', claimMs: 1 }, [row!.id]);
    await inTransport;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const retry = new MemoryMailer();
    expect((await sendResultNotifications({ uow: app.uow, fields: app.fields, mailer: retry, publicUrl: 'https://saufconduit.example' }, [row!.id])).get(row!.id)).toBe('sent');
    expect(retry.sent.length).toBe(1);
    release();
    await hung;
    const [state] = await app.db.query<{ receipt: string; attempts: number }>('SELECT receipt, attempts FROM outbox WHERE id = $1', [row!.id]);
    // The row keeps the retry's receipt; both hand-offs are in the audit trail.
    expect(state).toMatchObject({ receipt: 'sent', attempts: 1 });
  });
});
