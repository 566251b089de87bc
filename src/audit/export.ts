import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { checkpointMessage } from './event.ts';

/** A signed checkpoint: the chain's hash at `seq`, signed by the audit key `keyId`. */
export interface Checkpoint {
  seq: number;
  hash: string;
  signedAt: string;
  keyId: string;
  /** Ed25519 signature of checkpointMessage(seq, hash), base64url. */
  signature: string;
}

const FILE = /^checkpoint-(\d{12})\.json$/;
const fileOf = (seq: number) => `checkpoint-${String(seq).padStart(12, '0')}.json`;

/**
 * Writes every signed checkpoint outside the database as it is made (SAUFCONDUIT_CHECKPOINT_EXPORT):
 * checkpoints kept only beside the events they cover can be deleted together with a suffix of the
 * trail by whoever owns the database; a copy elsewhere (a directory on another volume, mounted
 * append-only or synced to write-once storage) lets `audit verify --expect` see the cut. Each file is
 * written whole (temporary name, fsync, then a hard link to its final name, which fails if the name
 * exists, and an fsync of the directory): an exported checkpoint is never replaced, by this process
 * or any other. A different checkpoint for a sequence already exported means the chain was rewritten:
 * it is refused and reported.
 *
 * The newest exported checkpoint is also the anchor the signer checks before signing again (see
 * `writeCheckpoint`): a chain rewritten below it is never signed.
 */
export class CheckpointExporter {
  private ready: Promise<unknown> | undefined;
  /** The newest checkpoint exported (by this process, or found in the directory at start). */
  newest: Checkpoint | null = null;
  constructor(readonly dir: string, private readonly log: (msg: string) => void = (msg) => process.stderr.write(`${msg}\n`)) {}

  /** Finds the newest checkpoint already exported (at start). */
  async load(): Promise<void> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => FILE.test(n)).sort();
    const last = names.at(-1);
    if (last) this.newest = JSON.parse(await readFile(join(this.dir, last), 'utf8')) as Checkpoint;
  }

  /** Exports the checkpoints; a failure is reported, never thrown (the events they cover are committed). */
  async write(checkpoints: readonly Checkpoint[]): Promise<void> {
    for (const c of checkpoints) {
      try {
        this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 });
        await this.ready;
        const tmp = join(this.dir, `.${fileOf(c.seq)}.${process.pid}.tmp`);
        const fh = await open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(JSON.stringify(c) + '\n');
          await fh.sync();
        } finally {
          await fh.close();
        }
        const final = join(this.dir, fileOf(c.seq));
        try {
          await link(tmp, final);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const existing = JSON.parse(await readFile(final, 'utf8')) as Checkpoint;
          if (existing.hash !== c.hash) this.log(`AUDIT TRAIL REWRITTEN: a checkpoint at event ${c.seq} was already exported with another hash; the exported one is kept`);
        } finally {
          await unlink(tmp).catch(() => undefined);
        }
        const d = await open(this.dir, 'r');
        await d.sync().catch(() => undefined);
        await d.close();
        if (!this.newest || c.seq > this.newest.seq) this.newest = c;
      } catch (err) {
        this.ready = undefined;
        this.log(`audit checkpoint ${c.seq} could not be exported: ${(err as NodeJS.ErrnoException).code ?? (err as Error).name}`);
      }
    }
  }
}

/**
 * The checkpoints exported to `dir`, each checked against the audit keys: a file that does not carry
 * a valid signature of ours is an error, not a checkpoint (it could only lower what is expected).
 */
export async function readExported(dir: string, verifiers: ReadonlyMap<string, KeyObject>): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  for (const name of (await readdir(dir)).filter((n) => FILE.test(n)).sort()) {
    const c = JSON.parse(await readFile(join(dir, name), 'utf8')) as Checkpoint;
    const key = verifiers.get(c.keyId);
    if (!key || typeof c.seq !== 'number' || typeof c.hash !== 'string' || !verifySignature(null, checkpointMessage(c.seq, c.hash), key, Buffer.from(c.signature, 'base64url'))) {
      throw new Error(`exported checkpoint ${name} is not signed by an audit key of this deployment`);
    }
    out.push(c);
  }
  return out;
}
