/**
 * The one database interface the domain sees. Two adapters implement it (PGlite embedded,
 * PostgreSQL via postgres.js) and run the very same SQL text, so a query proven on one engine is
 * the query the other runs.
 */
import type { Lookups } from './lookups.ts';

export type SqlParam = string | number | boolean | null | Date | bigint;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every record id is a UUID: anything else names no record, and must not reach a `::uuid` cast. */
export const isUuid = (id: string): boolean => UUID.test(id);

export interface Queryable {
  /** Runs one parameterised statement ($1, $2 …) and returns its rows. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
}

export interface Tx extends Queryable {
  /** Runs fn inside a savepoint: if fn throws, only its own writes are rolled back, then the error is rethrown. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /** Set when concurrent operations share this transaction (unit of work): their lookups may be coalesced. */
  readonly lookups?: Lookups;
}

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Whether a statement changes no rows: a SELECT (row locks such as FOR UPDATE included; PostgreSQL
 * allows data-modifying statements only in a top-level WITH), or a WITH query that names no
 * INSERT, UPDATE, DELETE or MERGE. Conservative: when in doubt, it counts as a write.
 */
export function isReadOnlySql(sql: string): boolean {
  return /^\s*SELECT\b/i.test(sql) || (/^\s*WITH\b/i.test(sql) && !/\b(INSERT|UPDATE|DELETE|MERGE)\b/i.test(sql));
}
