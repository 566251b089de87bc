import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import { randomToken } from './tokens.ts';

/**
 * Field-level envelope encryption (AES-256-GCM). Random data-encryption keys (DEKs) are stored
 * wrapped by the key-encryption key; each ciphertext names its DEK so keys can rotate without
 * re-encrypting at once. The associated data binds a ciphertext to its column and row, so a value
 * copied into another row or column fails to decrypt.
 *
 * Format: `v1.<dekId>.<base64url(iv ‖ ciphertext ‖ tag)>`, or `v2.…` for a padded value: AES-GCM
 * does not hide a plaintext's length, so a field with a few possible values (a pass kind: `test`,
 * `recovery`, `vaccination`) is padded to a fixed bucket first (ISO/IEC 7816-4: 0x80 then zeros), and
 * its ciphertexts all have the same length.
 */
/**
 * Padding buckets (bytes) for fields whose length would tell their value: codes with a few possible
 * values, instants, and documents whose size depends on what they say (a PCR invoice is longer than
 * an antigen one, a recovery pass than a test pass).
 */
export const PAD = { code: 16, instant: 32, details: 128, report: 1024, pass: 1024, invoice: 512, document: 4096 } as const;

export class FieldCipher {
  private constructor(
    private readonly kek: Buffer,
    private readonly deks: Map<string, Buffer>,
    private activeId: string,
  ) {}

  /**
   * Loads the DEKs, creating the first one on a fresh database. Processes started together may race
   * to create it: the database keeps one active key (unique index), so the losers' inserts do
   * nothing and every process loads the winner's key.
   */
  static async open(db: Queryable, kek: Buffer): Promise<FieldCipher> {
    let rows = await loadKeys(db);
    if (!rows.some((r) => r.active)) {
      const id = randomToken(9);
      await db.query('INSERT INTO data_key (id, wrapped, active) VALUES ($1, $2, true) ON CONFLICT DO NOTHING', [id, wrap(kek, id, randomBytes(32))]);
      rows = await loadKeys(db);
    }
    const deks = new Map(rows.map((r) => [r.id, unwrap(kek, r.id, r.wrapped)]));
    return new FieldCipher(kek, deks, rows.find((r) => r.active)!.id);
  }

  /** Makes a new DEK the one used for new writes; older ones stay for reading. */
  async rotate(db: Db): Promise<string> {
    const id = randomToken(9);
    const dek = randomBytes(32);
    await db.transaction(async (tx) => {
      await tx.query('UPDATE data_key SET active = false WHERE active');
      await tx.query('INSERT INTO data_key (id, wrapped, active) VALUES ($1, $2, true)', [id, wrap(this.kek, id, dek)]);
    });
    this.deks.set(id, dek);
    this.activeId = id;
    return id;
  }

  /**
   * Encrypts a field bound to `context` (its column and row). With `padTo`, the value is first padded
   * to the next multiple of that many bytes, so that its length tells nothing (use it for any value
   * whose length would tell which of a few values it is, or a health fact by its size).
   */
  encrypt(context: string, plaintext: string | Uint8Array, options: { padTo?: number } = {}): string {
    const dek = this.deks.get(this.activeId)!;
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
    if (options.padTo === undefined) return `v1.${this.activeId}.${seal(dek, context, bytes)}`;
    return `v2.${this.activeId}.${seal(dek, context, pad(bytes, options.padTo))}`;
  }

  decryptBytes(context: string, value: string): Buffer {
    const [version, id, body] = value.split('.');
    const dek = id ? this.deks.get(id) : undefined;
    if ((version !== 'v1' && version !== 'v2') || !dek || !body) throw new Error('undecryptable field');
    const plain = open(dek, context, body);
    return version === 'v2' ? unpad(plain) : plain;
  }

  decrypt(context: string, value: string): string {
    return this.decryptBytes(context, value).toString('utf8');
  }
}

const loadKeys = (db: Queryable) => db.query<{ id: string; wrapped: string; active: boolean }>('SELECT id, wrapped, active FROM data_key ORDER BY created_at');

// Nonces come from a pool filled by the CSPRNG 4 KiB at a time and consumed once each, as Node's own
// randomUUID does: one randomBytes(12) call per field cost more than the field's encryption.
const IV_POOL = Buffer.alloc(4096);
let ivOffset = IV_POOL.length;

/** A fresh random 96-bit GCM nonce, never handed out twice. */
function nextIv(): Buffer {
  if (ivOffset + 12 > IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  const iv = Buffer.from(IV_POOL.subarray(ivOffset, ivOffset + 12));
  IV_POOL.fill(0, ivOffset, ivOffset + 12);
  ivOffset += 12;
  return iv;
}

/** Pads to the next multiple of `bucket` bytes (at least one padding byte): 0x80, then zeros. */
function pad(bytes: Buffer, bucket: number): Buffer {
  const size = Math.ceil((bytes.length + 1) / bucket) * bucket;
  const out = Buffer.alloc(size);
  bytes.copy(out);
  out[bytes.length] = 0x80;
  return out;
}

function unpad(bytes: Buffer): Buffer {
  let i = bytes.length - 1;
  while (i >= 0 && bytes[i] === 0) i -= 1;
  if (i < 0 || bytes[i] !== 0x80) throw new Error('undecryptable field');
  return bytes.subarray(0, i);
}

function seal(key: Buffer, aad: string, plaintext: Buffer): string {
  const iv = nextIv();
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url');
}

function open(key: Buffer, aad: string, body: string): Buffer {
  const raw = Buffer.from(body, 'base64url');
  if (raw.length < 28) throw new Error('undecryptable field');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
}

const wrap = (kek: Buffer, id: string, dek: Buffer) => seal(kek, `dek:${id}`, dek);
const unwrap = (kek: Buffer, id: string, wrapped: string) => open(kek, `dek:${id}`, wrapped);
