import { describe, expect, it } from 'vitest';
import { isReadOnlySql } from '../../src/store/db.ts';

describe('isReadOnlySql', () => {
  it('accepts reads and row locks, and counts anything that may write as a write', () => {
    for (const sql of ['SELECT 1', '  select * from pass where id = $1 FOR UPDATE', 'WITH x AS (SELECT 1) SELECT * FROM x']) expect(isReadOnlySql(sql), sql).toBe(true);
    for (const sql of ['INSERT INTO t VALUES (1)', 'UPDATE t SET a = 1', 'DELETE FROM t', 'WITH moved AS (UPDATE audit_head SET seq = 1 RETURNING 1) INSERT INTO audit_event SELECT 1', 'BEGIN', 'LOCK TABLE t']) {
      expect(isReadOnlySql(sql), sql).toBe(false);
    }
  });
});
