import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, SqlParam, Tx } from './db.ts';

/** Opens an embedded PGlite store: in memory when dataDir is undefined, else in that directory. */
export async function openPglite(dataDir?: string): Promise<Db> {
  const pg = await PGlite.create(dataDir);
  // PGlite is a single connection: serialise transactions so two callers never interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const wrapTx = (tx: Transaction): Tx => {
    let n = 0;
    return {
      async query<T extends object>(sql: string, params: readonly SqlParam[] = []) {
        return (await tx.query<T>(sql, params as unknown[])).rows;
      },
      async savepoint<T>(fn: () => Promise<T>) {
        const name = `sp_${++n}`;
        await tx.query(`SAVEPOINT ${name}`);
        try {
          const out = await fn();
          await tx.query(`RELEASE SAVEPOINT ${name}`);
          return out;
        } catch (err) {
          await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
          throw err;
        }
      },
    };
  };
  return {
    engine: 'pglite',
    query: <T extends object>(sql: string, params: readonly SqlParam[] = []) =>
      serial(async () => (await pg.query<T>(sql, params as unknown[])).rows),
    transaction: <T>(fn: (tx: Tx) => Promise<T>) => serial(() => pg.transaction((tx) => fn(wrapTx(tx)))),
    exec: (sql: string) => serial(async () => void (await pg.exec(sql))),
    close: () => serial(() => pg.close()),
  };
}
