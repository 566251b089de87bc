import type { Db } from '../store/db.ts';
import { PAD, type FieldCipher } from '../crypto/fields.ts';
import { payloadContext } from '../reporting/outbox.ts';
import { keyedHash } from '../crypto/tokens.ts';
import { resultCtx } from './results.ts';
import { passCtx, type PassView } from './passes.ts';
import { familyNameLabel } from './professionals.ts';

const BATCH = 500;

/**
 * Seals the health facts that older versions stored in clear (migration 020): a test's type and
 * sampling time, a pass's kind and expiry; and gives each valid pass its blind source key (one
 * valid pass per source and kind), each patient record its family name's keyed hash. The SQL migration cannot do it: it does not hold the key. Runs at
 * start, in batches of its own transactions, idempotent and resumable: a row is done once its sealed
 * columns are set, and its clear ones are emptied in the same statement.
 * @returns how many rows it sealed
 */
export async function sealLegacyHealthFacts(db: Db, fields: FieldCipher, lookupKey: Buffer): Promise<number> {
  let sealed = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; test_type: string; sampled_at: Date }>(
        'SELECT id, test_type, sampled_at FROM test_result WHERE test_type_enc IS NULL ORDER BY id LIMIT $1 FOR UPDATE', [BATCH]);
      for (const r of rows) {
        await tx.query('UPDATE test_result SET test_type_enc = $2, sampled_at_enc = $3, test_type = NULL, sampled_at = NULL WHERE id = $1',
          [r.id, fields.encrypt(resultCtx.testType(r.id), r.test_type, { padTo: PAD.code }), fields.encrypt(resultCtx.sampledAt(r.id), new Date(r.sampled_at).toISOString(), { padTo: PAD.instant })]);
      }
      return rows.length;
    });
    sealed += n;
    if (n < BATCH) break;
  }
  // Passes newest first: where older versions issued several valid passes for one source and kind,
  // the newest gets the source key (the one issuing again will answer), the others stay valid until
  // they expire but are not counted.
  const taken = new Set((await db.query<{ source_key: string }>('SELECT source_key FROM pass WHERE source_key IS NOT NULL AND revoked_at IS NULL')).map((r) => r.source_key));
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; kind: PassView['kind']; expires_at: Date; result_id: string | null; vaccination_id: string | null; revoked_at: Date | null }>(
        'SELECT id, kind, expires_at, result_id, vaccination_id, revoked_at FROM pass WHERE kind_enc IS NULL ORDER BY issued_at DESC, id LIMIT $1 FOR UPDATE', [BATCH]);
      for (const r of rows) {
        let key: string | null = null;
        if (!r.revoked_at) {
          const candidate = keyedHash(lookupKey, `pass-source:${r.result_id ?? r.vaccination_id}:${r.kind}`);
          if (!taken.has(candidate)) {
            taken.add(candidate);
            key = candidate;
          }
        }
        await tx.query('UPDATE pass SET kind_enc = $2, expires_at_enc = $3, source_key = $4, kind = NULL, expires_at = NULL WHERE id = $1',
          [r.id, fields.encrypt(passCtx.kind(r.id), r.kind, { padTo: PAD.code }), fields.encrypt(passCtx.expiresAt(r.id), new Date(r.expires_at).toISOString(), { padTo: PAD.instant }), key]);
      }
      return rows.length;
    });
    sealed += n;
    if (n < BATCH) break;
  }
  // Ciphertexts written unpadded (v1) by older versions, whose length tells what they hold: padded.
  for (const f of PADDED_FIELDS) sealed += await repad(db, fields, f);
  // Records registered before the same-surname alert rule: their family name's keyed hash (migration 025).
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; family_name_enc: string }>('SELECT id, family_name_enc FROM patient WHERE family_name_ref IS NULL ORDER BY id LIMIT $1 FOR UPDATE', [BATCH]);
      for (const r of rows) {
        const name = fields.decrypt(`patient.family_name:${r.id}`, r.family_name_enc);
        await tx.query('UPDATE patient SET family_name_ref = $2 WHERE id = $1', [r.id, keyedHash(lookupKey, familyNameLabel(name))]);
      }
      return rows.length;
    });
    sealed += n;
    if (n < BATCH) break;
  }
  return sealed;
}

/** Columns sealed with padding (see PAD): their older, unpadded ciphertexts are padded at start. */
const PADDED_FIELDS: { table: string; column: string; context: (id: string) => string; padTo: number }[] = [
  { table: 'test_result', column: 'outcome_enc', context: resultCtx.outcome, padTo: PAD.code },
  { table: 'pass', column: 'hc1_enc', context: passCtx.hc1, padTo: PAD.pass },
  { table: 'vaccination', column: 'details_enc', context: (id) => `vaccination.details:${id}`, padTo: PAD.details },
  { table: 'document', column: 'content_enc', context: (id) => `document.content:${id}`, padTo: PAD.document },
  { table: 'outbox', column: 'payload_enc', context: payloadContext, padTo: PAD.report },
];

async function repad(db: Db, fields: FieldCipher, f: (typeof PADDED_FIELDS)[number]): Promise<number> {
  let done = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; value: string }>(`SELECT id, ${f.column} AS value FROM ${f.table} WHERE ${f.column} LIKE 'v1.%' ORDER BY id LIMIT $1 FOR UPDATE`, [BATCH]);
      for (const r of rows) {
        await tx.query(`UPDATE ${f.table} SET ${f.column} = $2 WHERE id = $1`, [r.id, fields.encrypt(f.context(r.id), fields.decryptBytes(f.context(r.id), r.value), { padTo: f.padTo })]);
      }
      return rows.length;
    });
    done += n;
    if (n < BATCH) return done;
  }
}
