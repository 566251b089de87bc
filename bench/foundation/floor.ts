/**
 * The floor under issue 2's goals: a bare HTTP server doing only the database work an audited
 * request cannot avoid, with the same libraries (Fastify, postgres.js), the same group commit and the
 * same durability as the platform. A read selects one stored blob and appends one audit row; an
 * intake inserts one row and appends one audit row; requests queued while a transaction commits share
 * the next one, and nobody is answered before its commit.
 *
 * It has no authentication, no decision point, no hash chain, no field encryption, no validation
 * beyond JSON parsing and no delivery pipeline. It is not a product and never serves users: the
 * benchmark runs it beside the platform, in the same rounds, so that the report can say how much of
 * the way to a goal the unavoidable work alone goes on this machine.
 *
 * Env: FLOOR_DATABASE_URL, PORT, FLOOR_DOC_BYTES (size of each blob, the platform's PDF size).
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import postgres from 'postgres';

const url = process.env.FLOOR_DATABASE_URL;
if (!url) throw new Error('FLOOR_DATABASE_URL is required');
const port = Number(process.env.PORT ?? 0);
const docBytes = Number(process.env.FLOOR_DOC_BYTES ?? 3000);
const DOCS = 200;
const MAX_BATCH = 128;

const sql = postgres(url, { max: 1, onnotice: () => undefined });
await sql.unsafe('CREATE TABLE IF NOT EXISTS floor_doc (id uuid PRIMARY KEY, content bytea NOT NULL)');
await sql.unsafe('CREATE TABLE IF NOT EXISTS floor_result (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), patient_id uuid NOT NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
await sql.unsafe('CREATE TABLE IF NOT EXISTS floor_audit (seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), action text NOT NULL, resource_id text NOT NULL, request_id text NOT NULL)');
await sql.unsafe('TRUNCATE floor_doc');
await sql.unsafe('INSERT INTO floor_doc (id, content) SELECT gen_random_uuid(), $1::bytea FROM generate_series(1, $2::int)', [randomBytes(docBytes), DOCS]);
const docIds = (await sql.unsafe<{ id: string }[]>('SELECT id FROM floor_doc')).map((r) => r.id);

type Work = { kind: 'read'; id: string; requestId: string } | { kind: 'write'; patientId: string; body: string; requestId: string };
type Item = Work & { resolve: (v: unknown) => void; reject: (e: unknown) => void };

const queue: Item[] = [];
let running = false;

async function pump(): Promise<void> {
  running = true;
  while (queue.length > 0) {
    const batch = queue.splice(0, MAX_BATCH);
    try {
      const reads = batch.filter((b) => b.kind === 'read');
      const writes = batch.filter((b) => b.kind === 'write');
      const { found, created } = await sql.begin(async (tx) => {
        const [docs, rows] = await Promise.all([
          reads.length ? tx.unsafe<{ id: string; content: Buffer }[]>('SELECT id, content FROM floor_doc WHERE id = ANY($1::uuid[])', [reads.map((r) => r.id)], { prepare: true }) : [],
          writes.length ? tx.unsafe<{ id: string }[]>('INSERT INTO floor_result (patient_id, body) SELECT * FROM unnest($1::uuid[], $2::jsonb[]) RETURNING id', [writes.map((w) => w.patientId), writes.map((w) => w.body)], { prepare: true }) : [],
        ]);
        await tx.unsafe(
          'INSERT INTO floor_audit (action, resource_id, request_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
          [batch.map((b) => b.kind), batch.map((b) => (b.kind === 'read' ? b.id : b.patientId)), batch.map((b) => b.requestId)],
          { prepare: true },
        );
        return { found: new Map(docs.map((d) => [d.id, d.content])), created: rows.map((r) => r.id) };
      });
      reads.forEach((r) => r.resolve(found.get(r.id)));
      writes.forEach((w, i) => w.resolve(created[i]));
    } catch (error) {
      batch.forEach((b) => b.reject(error));
    }
  }
  running = false;
}

function enqueue(item: Work): Promise<unknown> {
  return new Promise((resolve, reject) => {
    queue.push({ ...item, resolve, reject });
    if (!running) void pump();
  });
}

const server = Fastify({ bodyLimit: 64 * 1024 });
server.get('/floor/ids', async () => docIds);
server.get<{ Params: { id: string } }>('/floor/docs/:id', async (req, reply) => {
  const content = await enqueue({ kind: 'read', id: req.params.id, requestId: req.id });
  if (!content) return reply.status(404).send({ error: 'not found' });
  return reply.type('application/pdf').send(content);
});
server.post<{ Params: { patientId: string } }>('/floor/patients/:patientId/results', async (req, reply) => {
  const id = await enqueue({ kind: 'write', patientId: req.params.patientId, body: JSON.stringify(req.body), requestId: req.id });
  return reply.status(201).send({ id });
});
await server.listen({ port, host: '127.0.0.1' });
const stop = () => void server.close().then(() => sql.end()).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
