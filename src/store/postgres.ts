import postgres from 'postgres';
import type { Db, SqlParam, Tx } from './db.ts';

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
  const run = async <T extends object>(q: postgres.Sql | postgres.TransactionSql, text: string, params: readonly SqlParam[]) =>
    normalise((await q.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[]);
  return {
    engine: 'postgres',
    query: <T extends object>(text: string, params: readonly SqlParam[] = []) => run<T>(sql, text, params),
    async transaction<T>(fn: (tx: Tx) => Promise<T>) {
      return (await sql.begin(async (t) => {
        const wrap = (q: postgres.TransactionSql): Tx => ({
          query: <R extends object>(text: string, params: readonly SqlParam[] = []) => run<R>(q, text, params),
          savepoint: async <R>(inner: () => Promise<R>) => (await q.savepoint(async () => inner())) as R,
        });
        return fn(wrap(t));
      })) as T;
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
