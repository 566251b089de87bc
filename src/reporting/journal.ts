import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** One request the receiver accepted, as persisted (one JSON line each). */
export interface JournalEntry {
  seq: number;
  idempotencyKey: string;
  /** SHA-256 of the exact body: a replay must carry the same bytes. */
  bodySha256: string;
  receivedAt: string;
  /** Key id of the signature that was verified. */
  kid: string;
  /** The Observation identifiers in the bundle (`urn:uuid:<result id>`): what "exactly once" is checked on. */
  observations: string[];
}

/**
 * The receiver's durable, append-only store: a JSON-lines file, fsynced before any request is
 * acknowledged, loaded into an index by idempotency key at start. Appends are group-committed
 * (one write and one fdatasync for everything that arrived meanwhile), and `admit` claims a key
 * before writing it, so two concurrent requests with one key store it once.
 *
 * A crash can leave a torn last line: it was never acknowledged, so opening truncates it away.
 */
export class Journal {
  private readonly byKey = new Map<string, JournalEntry>();
  private readonly list: JournalEntry[] = [];
  private pending: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  /** Keys being written: a concurrent request with the same key waits for that write. */
  private readonly inflight = new Map<string, Promise<{ entry: JournalEntry; created: boolean }>>();
  private nextSeq = 1;

  private constructor(private readonly fh: FileHandle, readonly file: string) {}

  static async open(dir: string): Promise<Journal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'received.jsonl');
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < Buffer.byteLength(text)) await truncate(file, Buffer.byteLength(text.slice(0, complete)));
    const fh = await open(file, 'a', 0o600);
    // Make the file's existence durable too (its directory entry).
    const d = await open(dir, 'r');
    await d.sync().catch(() => undefined);
    await d.close();
    const j = new Journal(fh, file);
    for (const line of text.slice(0, complete).split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as JournalEntry;
      j.byKey.set(e.idempotencyKey, e);
      j.list.push(e);
      j.nextSeq = Math.max(j.nextSeq, e.seq + 1);
    }
    return j;
  }

  get(key: string): JournalEntry | undefined {
    return this.byKey.get(key);
  }

  entries(): readonly JournalEntry[] {
    return this.list;
  }

  /**
   * Stores a new request unless its key is known. Resolves only once the entry is on disk.
   * @returns the stored entry and whether it was new
   */
  admit(key: string, make: (seq: number) => JournalEntry): Promise<{ entry: JournalEntry; created: boolean }> {
    // Check and claim synchronously: no await between looking the key up and reserving it.
    const known = this.byKey.get(key);
    if (known) return Promise.resolve({ entry: known, created: false });
    const inflight = this.inflight.get(key);
    if (inflight) return inflight.then(({ entry }) => ({ entry, created: false }));
    const entry = make(this.nextSeq++);
    const run = this.append(JSON.stringify(entry) + '\n').then(() => {
      // Durable first, visible after: a reader never sees an entry a crash could take back.
      this.byKey.set(key, entry);
      this.list.push(entry);
      return { entry, created: true };
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, run);
    return run;
  }

  private append(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.fh.write(batch.map((b) => b.line).join(''));
        await this.fh.datasync();
        batch.forEach((b) => b.resolve());
      } catch (err) {
        batch.forEach((b) => b.reject(err));
      }
    }
    this.flushing = null;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.fh.close();
  }
}
