/**
 * Field-level envelope encryption (src/crypto/fields.ts) on a real store: round trips, binding of a
 * ciphertext to its column and row, key rotation, and nonces that never repeat (they come from a
 * pool refilled by the CSPRNG; a repeated AES-GCM nonce under one key would break the encryption).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ENGINES, openTestApp, openTestDb, type TestApp } from '../support/engines.ts';
import { readFileSync } from 'node:fs';
import { migrate, splitStatements } from '../../src/store/migrate.ts';
import { FieldCipher } from '../../src/crypto/fields.ts';

describe('field encryption', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openTestApp('pglite');
  });
  afterAll(async () => {
    await app?.dispose();
  });

  it('round-trips text and bytes, and a value only opens in its own column and row', () => {
    const v = app.fields.encrypt('patient.email:p1', 'camille@example.org');
    expect(v).toMatch(/^v1\.[^.]+\.[A-Za-z0-9_-]+$/);
    expect(v).not.toContain('camille');
    expect(app.fields.decrypt('patient.email:p1', v)).toBe('camille@example.org');
    expect(() => app.fields.decrypt('patient.email:p2', v)).toThrow();
    expect(() => app.fields.decrypt('patient.phone:p1', v)).toThrow();
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    expect([...app.fields.decryptBytes('document.content:d1', app.fields.encrypt('document.content:d1', bytes))]).toEqual([...bytes]);
    // Tampering with any byte of the ciphertext is detected.
    const body = Buffer.from(v.split('.')[2]!, 'base64url');
    body[body.length - 20]! ^= 1;
    expect(() => app.fields.decrypt('patient.email:p1', `${v.split('.').slice(0, 2).join('.')}.${body.toString('base64url')}`)).toThrow();
  });

  it('never reuses a nonce, across many refills of its pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const iv = Buffer.from(app.fields.encrypt('result.outcome:r', 'negative').split('.')[2]!, 'base64url').subarray(0, 12);
      expect(iv.equals(Buffer.alloc(12))).toBe(false);
      seen.add(iv.toString('hex'));
    }
    expect(seen.size).toBe(5000);
  });

  it('keeps reading what older keys wrote after a rotation', async () => {
    const before = app.fields.encrypt('patient.ssn:p1', '185057800608491');
    await app.fields.rotate(app.db);
    const after = app.fields.encrypt('patient.ssn:p1', '185057800608491');
    expect(after.split('.')[1]).not.toBe(before.split('.')[1]);
    expect(app.fields.decrypt('patient.ssn:p1', before)).toBe('185057800608491');
    expect(app.fields.decrypt('patient.ssn:p1', after)).toBe('185057800608491');
  });
});

describe.each(ENGINES)('the first data key on %s', (engine) => {
  it('is one key for processes that start together on a fresh database', async () => {
    const t = await openTestDb(engine);
    try {
      await migrate(t.db);
      const kek = randomBytes(32);
      // Both look before either creates: on PostgreSQL the two inserts really race.
      const [a, b, c] = await Promise.all([FieldCipher.open(t.db, kek), FieldCipher.open(t.db, kek), FieldCipher.open(t.db, kek)]);
      const rows = await t.db.query<{ active: boolean }>('SELECT active FROM data_key');
      expect(rows.filter((r) => r.active)).toHaveLength(1);
      const written = a.encrypt('patient.email:p1', 'camille@example.org');
      expect(b.decrypt('patient.email:p1', written)).toBe('camille@example.org');
      expect(c.decrypt('patient.email:p1', b.encrypt('patient.email:p1', 'x'))).toBe('x');
      // A fourth process started later loads the same key too.
      expect((await FieldCipher.open(t.db, kek)).decrypt('patient.email:p1', written)).toBe('camille@example.org');
    } finally {
      await t.drop();
    }
  });

  it('a database the old race left with two active keys upgrades: the newest stays active, both still read', async () => {
    const t = await openTestDb(engine);
    try {
      await migrate(t.db);
      const kek = randomBytes(32);
      const cipher = await FieldCipher.open(t.db, kek);
      const first = cipher.encrypt('patient.email:p1', 'one');
      // Back to the state before migration 011, with the race's outcome: two active keys.
      await t.db.exec('DROP INDEX data_key_one_active');
      await cipher.rotate(t.db);
      const second = cipher.encrypt('patient.email:p1', 'two');
      await t.db.query('UPDATE data_key SET active = true');
      const script = readFileSync(new URL('../../src/store/migrations/011_one_active_data_key.sql', import.meta.url), 'utf8');
      for (const statement of splitStatements(script)) await t.db.query(statement);
      const active = await t.db.query<{ id: string }>('SELECT id FROM data_key WHERE active');
      expect(active.map((r) => r.id)).toEqual([second.split('.')[1]]);
      const reopened = await FieldCipher.open(t.db, kek);
      expect([reopened.decrypt('patient.email:p1', first), reopened.decrypt('patient.email:p1', second)]).toEqual(['one', 'two']);
    } finally {
      await t.drop();
    }
  });
});
