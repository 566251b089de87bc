import postgres from 'postgres';
import { isReadOnlySql, type Db, type SqlParam, type Tx } from './db.ts';

/** Connects to PostgreSQL (production, CI) through a small postgres.js pool. */
export async function openPostgres(url: string, options: { max?: number } = {}): Promise<Db> {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => undefined,
    // int8 arrives as string by default; our counters fit in a double, and PGlite returns numbers.
    types: { bigint: postgres.BigInt },
    transform: { undefined: null },
    connection: { application_name: 'saufconduit' },
  });
  await sql`select 1`;
  const run = async <T extends object>(q: postgres.Sql | postgres.ReservedSql, text: string, params: readonly SqlParam[]) =>
    normalise((await q.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: params.length > 0 })) as unknown as T[]);
  return {
    engine: 'postgres',
    query: <T extends object>(text: string, params: readonly SqlParam[] = []) => run<T>(sql, text, params),
    /**
     * One transaction on a reserved connection. BEGIN is pipelined with the first reads instead of
     * costing a round trip of its own; a statement that writes waits for BEGIN's answer first, so
     * no write can ever run outside the transaction, and COMMIT waits for it too.
     */
    async transaction<T>(fn: (tx: Tx) => Promise<T>) {
      const c = await sql.reserve();
      const begun = c.unsafe('BEGIN');
      begun.catch(() => undefined);
      let savepoints = 0;
      const tx: Tx = {
        async query<R extends object>(text: string, params: readonly SqlParam[] = []) {
          // Reads may be pipelined behind a BEGIN still in flight; a write must know it is inside the transaction.
          if (!isReadOnlySql(text)) await begun;
          const rows = run<R>(c, text, params);
          try {
            await begun;
          } catch (err) {
            // BEGIN failed (the connection dropped): this read's own failure is no longer awaited by
            // anyone, and an unhandled rejection would stop the process.
            rows.catch(() => undefined);
            throw err;
          }
          return rows;
        },
        async savepoint<R>(inner: () => Promise<R>) {
          await begun;
          const name = `sp_${++savepoints}`;
          await c.unsafe(`SAVEPOINT ${name}`);
          try {
            const out = await inner();
            await c.unsafe(`RELEASE SAVEPOINT ${name}`);
            return out;
          } catch (err) {
            await c.unsafe(`ROLLBACK TO SAVEPOINT ${name}`);
            throw err;
          }
        },
      };
      try {
        const out = await fn(tx);
        await begun;
        await c.unsafe('COMMIT');
        return out;
      } catch (err) {
        await c.unsafe('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    exec: async (text: string) => void (await sql.unsafe(text).simple()),
    close: () => sql.end({ timeout: 5 }),
  };
}

/** postgres.js returns bigint for int8 with the type above; fold safe ones to number like PGlite does. */
function normalise<T>(rows: T[]): T[] {
  for (const row of rows as Record<string, unknown>[]) {
    for (const key of Object.keys(row)) {
      const v = row[key];
      if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) row[key] = Number(v);
    }
  }
  return [...rows];
}
