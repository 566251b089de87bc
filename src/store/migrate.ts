import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const dir = fileURLToPath(new URL('./migrations/', import.meta.url));
// An arbitrary constant: the advisory lock that keeps two app processes from migrating at once.
const LOCK_KEY = 4_711_2021;

/**
 * Applies every migration not yet recorded, in file-name order, in one transaction. A store already
 * up to date is only read: the application role of a PostgreSQL deployment has no right to create
 * anything (`migrate --app-role`), and every process start comes through here.
 */
export async function migrate(db: Db): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const [known] = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migration')::text AS t`);
  if (known?.t) {
    const done = new Set((await db.query<{ name: string }>('SELECT name FROM schema_migration')).map((r) => r.name));
    if (files.every((f) => done.has(f))) return [];
  }
  await db.exec('CREATE TABLE IF NOT EXISTS schema_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    if (db.engine === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const done = new Set((await tx.query<{ name: string }>('SELECT name FROM schema_migration')).map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const text = await readFile(dir + file, 'utf8');
      // Statements are split on a marker-free rule: migrations keep one statement per `;\n` boundary,
      // except dollar-quoted bodies, which we keep whole.
      for (const statement of splitStatements(text)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migration (name) VALUES ($1)', [file]);
      applied.push(file);
    }
  });
  return applied;
}

/** Splits a migration script into statements, keeping $$-quoted function bodies intact. */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let inDollar = false;
  for (const line of script.split('\n')) {
    const trimmed = line.trim();
    if (!inDollar && (trimmed.startsWith('--') || trimmed === '')) continue;
    current += line + '\n';
    if ((line.match(/\$\$/g) ?? []).length % 2 === 1) inDollar = !inDollar;
    if (!inDollar && trimmed.endsWith(';')) {
      out.push(current.trim().replace(/;$/, ''));
      current = '';
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * On PostgreSQL, gives the application's login role exactly what it needs: it may append to the
 * audit trail and read it, never rewrite it. Run by the schema owner (`saufconduit migrate --app-role`).
 */
export async function grantAppRole(db: Db, role: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new Error('app role must be a plain lower-case identifier');
  if (db.engine !== 'postgres') return;
  await db.transaction(async (tx) => {
    const exists = await tx.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (exists.length === 0) await tx.query(`CREATE ROLE ${role} NOLOGIN`);
    await tx.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await tx.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    await tx.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint, schema_migration FROM ${role}`);
    await tx.query(`REVOKE INSERT, DELETE, TRUNCATE ON audit_head, schema_migration FROM ${role}`);
    // The job queue (pg-boss) lives in its own schema, installed by `migrate`: data privileges only.
    const boss = await tx.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'pgboss'`);
    if (boss.length > 0) {
      await tx.query(`GRANT USAGE ON SCHEMA pgboss TO ${role}`);
      await tx.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgboss TO ${role}`);
      await tx.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA pgboss TO ${role}`);
      await tx.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgboss TO ${role}`);
    }
  });
}
