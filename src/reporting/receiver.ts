import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Journal, type JournalEntry } from './journal.ts';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY, SIGNATURE_HEADER, SignatureError, verifyRequest } from './signature.ts';

/**
 * A small national-reporting receiver, for tests and the demo: it stands where SI-DEP would.
 *
 *   POST /fhir       a signed FHIR R4 Bundle; 201 the first time a key is seen, 200 for a replay
 *   GET  /received   what was stored (no bodies): `{count, items:[{seq, idempotencyKey, observations, …}]}`
 *   GET  /healthz
 *
 * Checks run in a fixed, fail-closed order: media type, Idempotency-Key, size, signature (key,
 * algorithm, bound key, age), then the payload. A request is acknowledged only after its entry is
 * fsynced (see journal.ts), so what it acknowledged survives kill -9, and a replay of a stored key
 * (same bytes) is answered without storing it again: the sender's retries are safe.
 */

export const RECEIVER_PATH = '/fhir';
/** Far above any single report (a couple of KiB), far below anything that could hurt. */
const BODY_LIMIT = 256 * 1024;

export interface ReceiverOptions {
  /** Directory of the journal (received.jsonl). */
  dir: string;
  /** Trusted signing keys by kid (see trustedKeys() in signature.ts). */
  trusted: ReadonlyMap<string, KeyObject>;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  clock?: () => Date;
  /** How old a signature may be (seconds). */
  maxAgeSeconds?: number;
}

export interface Receiver {
  /** Where senders POST: `http://host:port/fhir`. */
  readonly url: string;
  readonly port: number;
  readonly journal: Journal;
  /** Requests answered as replays since start (not persisted). */
  readonly replays: number;
  close(): Promise<void>;
}

/** The one status mapper for failures, answered as FHIR OperationOutcome. */
const FAILURES = {
  'not-found': { status: 404, issue: 'not-found' },
  'method-not-allowed': { status: 405, issue: 'not-supported' },
  'unsupported-media-type': { status: 415, issue: 'not-supported' },
  'missing-idempotency-key': { status: 400, issue: 'required' },
  'payload-too-large': { status: 413, issue: 'too-long' },
  'invalid-signature': { status: 401, issue: 'security' },
  'invalid-bundle': { status: 400, issue: 'invalid' },
  'idempotency-key-reused': { status: 409, issue: 'conflict' },
  'storage-failed': { status: 503, issue: 'transient' },
} as const;
type Failure = keyof typeof FAILURES;

class Refused extends Error {
  constructor(readonly failure: Failure) {
    super(failure);
  }
}

export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const journal = await Journal.open(opts.dir);
  const clock = opts.clock ?? (() => new Date());
  let replays = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') return json(res, 200, { ok: true, stored: journal.entries().length });
    if (path === '/received' && req.method === 'GET') {
      const items = journal.entries();
      return json(res, 200, { count: items.length, replays, items });
    }
    if (path !== RECEIVER_PATH) throw new Refused('not-found');
    if (req.method !== 'POST') throw new Refused('method-not-allowed');
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/fhir+json' && type !== 'application/json') throw new Refused('unsupported-media-type');
    const key = req.headers[IDEMPOTENCY_HEADER];
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) throw new Refused('missing-idempotency-key');
    const body = await readBody(req);
    const signature = req.headers[SIGNATURE_HEADER];
    let kid: string;
    try {
      ({ kid } = await verifyRequest(body, typeof signature === 'string' ? signature : undefined, opts.trusted, { idempotencyKey: key, now: clock(), ...(opts.maxAgeSeconds ? { maxAgeSeconds: opts.maxAgeSeconds } : {}) }));
    } catch (err) {
      if (err instanceof SignatureError) throw new Refused('invalid-signature');
      throw err;
    }
    // Only an authenticated body is parsed.
    const bundle = parseBundle(body);
    const bodySha256 = createHash('sha256').update(body).digest('hex');
    let admitted: { entry: JournalEntry; created: boolean };
    try {
      admitted = await journal.admit(key, (seq) => ({
        // The report itself (identity, NIR, result) is checked, then dropped: the demo receiver keeps
        // what deduplication and the tests need (ids and a digest), never the person.
        seq, idempotencyKey: key, bodySha256, receivedAt: clock().toISOString(), kid, observations: observationIds(bundle),
      }));
    } catch {
      throw new Refused('storage-failed');
    }
    const { entry, created } = admitted;
    if (!created && entry.bodySha256 !== bodySha256) throw new Refused('idempotency-key-reused');
    if (!created) replays += 1;
    return json(res, created ? 201 : 200, { status: created ? 'created' : 'duplicate', seq: entry.seq, receivedAt: entry.receivedAt });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const failure: Failure = err instanceof Refused ? err.failure : 'storage-failed';
      const { status, issue } = FAILURES[failure];
      json(res, status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: issue, details: { text: failure } }] });
      // An oversized body is not drained: close the connection instead of reading it.
      if (failure === 'payload-too-large') req.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await journal.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${RECEIVER_PATH}`,
    port: address.port,
    journal,
    get replays() {
      return replays;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await journal.close();
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > BODY_LIMIT) throw new Refused('payload-too-large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new Refused('payload-too-large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseBundle(body: Buffer): { resourceType: 'Bundle'; entry: unknown[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refused('invalid-bundle');
  }
  const b = parsed as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (!b || typeof b !== 'object' || b.resourceType !== 'Bundle' || (b.type !== 'transaction' && b.type !== 'message') || !Array.isArray(b.entry)) throw new Refused('invalid-bundle');
  return b as { resourceType: 'Bundle'; entry: unknown[] };
}

/** The identifiers of the bundle's Observations: what a receiver deduplicates results on. */
function observationIds(bundle: { entry: unknown[] }): string[] {
  const out: string[] = [];
  for (const e of bundle.entry) {
    const r = (e as { resource?: { resourceType?: unknown; identifier?: unknown } })?.resource;
    if (r?.resourceType !== 'Observation' || !Array.isArray(r.identifier)) continue;
    for (const i of r.identifier as { value?: unknown }[]) if (typeof i?.value === 'string') out.push(i.value);
  }
  return out;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': status >= 400 ? 'application/fhir+json' : 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
