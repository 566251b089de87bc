import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Config } from './config/config.ts';
import type { Db } from './store/db.ts';
import { openPglite } from './store/pglite.ts';
import { openPostgres } from './store/postgres.ts';
import { migrate } from './store/migrate.ts';
import { deriveKeyRing, type KeyRing } from './crypto/keys.ts';
import { FieldCipher } from './crypto/fields.ts';
import { UnitOfWork } from './domain/unit-of-work.ts';
import { checkpointHead, type AppendOptions } from './audit/append.ts';
import { createMailer, type Mailer } from './notify/mailer.ts';
import { deriveReportingKeys, type ReportingKeys } from './reporting/signature.ts';
import { DigestSigner } from './signing/digest-signer.ts';
import { ensureIssuerKeys, refreshSigner } from './domain/issuer-keys.ts';
import { sealLegacyHealthFacts } from './domain/sealed-facts.ts';
import { indexUnsearchablePatients } from './domain/patient-search.ts';
import { lockDataDir, secureDataDir, tightenTree } from './store/data-dir.ts';
import { CheckpointExporter } from './audit/export.ts';

/** The composition root: one of these per process, shared by HTTP, CLI and jobs. */
export interface App {
  config: Config;
  db: Db;
  keys: KeyRing;
  fields: FieldCipher;
  uow: UnitOfWork;
  mailer: Mailer;
  /** Holds the document signer keys; sees digests only (src/signing/digest-signer.ts). */
  signer: DigestSigner;
  /** Signs national reports; its public JWK is what the receiver trusts (src/reporting/signature.ts). */
  reporting: ReportingKeys;
  /** Writes each signed audit checkpoint outside the database (SAUFCONDUIT_CHECKPOINT_EXPORT), if configured. */
  checkpoints: CheckpointExporter | null;
  /** What signing a checkpoint needs: the key, and the exported anchor it must not contradict. */
  signing: Pick<AppendOptions, 'keys' | 'anchor' | 'onRefused'>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Use this database instead of opening one from the config (tests). */
  db?: Db;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  mailer?: Mailer;
  /** Make sure pass-signing keys exist and load them (default true; read-only commands skip it). */
  issuer?: boolean;
}

export async function openDb(config: Config): Promise<Db> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl);
  const data = resolve(config.dataDir);
  await secureDataDir(data);
  const dir = join(data, 'pglite');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const release = await lockDataDir(dir);
  let db: Db;
  try {
    db = await openPglite(dir);
    await tightenTree(data);
  } catch (err) {
    await release();
    throw err;
  }
  return { ...db, engine: db.engine, close: async () => { await db.close(); await release(); } };
}

/** Whether the store holds the fictitious demo world (see migration 023). */
export async function isDemoStore(db: Db): Promise<boolean> {
  // A store not migrated yet (read-only commands do not migrate) has no flag: not the demo.
  return (await db.query(`SELECT 1 FROM installation_flag WHERE name = 'demo-world'`).catch(() => [])).length > 0;
}

/** The secrets a process needs, and where each may come from. */
type Secret = { name: 'SAUFCONDUIT_MASTER_KEY' | 'SAUFCONDUIT_AUDIT_KEY'; value: string | undefined; file: 'master.key' | 'audit.key' };

/**
 * A secret from the environment (a secret store or KMS puts it there), or, in the demo only (the
 * flag, or a store that holds the demo world), a key generated once into the data directory (0600).
 * Outside the demo a key inside the data directory is refused: every copy or backup of the
 * directory would carry the key that opens it. The master key is also never generated beside a
 * remote PostgreSQL.
 */
async function resolveSecret(config: Config, db: Db | null, secret: Secret): Promise<string> {
  if (secret.value) return secret.value;
  const file = join(resolve(config.dataDir), secret.file);
  const demo = config.demo || (db !== null && (await isDemoStore(db)));
  if (secret.name === 'SAUFCONDUIT_MASTER_KEY' && config.databaseUrl) throw new Error('SAUFCONDUIT_MASTER_KEY is required with DATABASE_URL (base64 of 32 random bytes: openssl rand -base64 32)');
  if (!demo) {
    const present = await stat(file).then(() => true, () => false);
    throw new Error(present
      ? `${secret.name} is required: ${file} is a key inside the data directory, which only the demo may use (every copy of the directory would carry its key); move it to your secret store`
      : `${secret.name} is required outside the demo (base64 of 32 random bytes: openssl rand -base64 32); for the demo, set SAUFCONDUIT_DEMO=1`);
  }
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await secureDataDir(resolve(config.dataDir));
    const key = randomBytes(32).toString('base64');
    await writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  }
}

/** The master key (see resolveSecret); `db` tells whether the store is the demo's (null: only the flag says). */
export async function resolveMasterKey(config: Config, db: Db | null): Promise<string> {
  return resolveSecret(config, db, { name: 'SAUFCONDUIT_MASTER_KEY', value: config.masterKey, file: 'master.key' });
}

export async function openApp(config: Config, options: AppOptions = {}): Promise<App> {
  const db = options.db ?? (await openDb(config));
  try {
    return await assemble(config, options, db);
  } catch (err) {
    // A refusal at start (a missing key, a key in the data directory…) must end the process, not
    // leave it waiting on an open database pool.
    if (!options.db) await db.close().catch(() => undefined);
    throw err;
  }
}

async function assemble(config: Config, options: AppOptions, db: Db): Promise<App> {
  if (options.migrate !== false) await migrate(db);
  const masterKey = await resolveMasterKey(config, db);
  const auditKey = await resolveSecret(config, db, { name: 'SAUFCONDUIT_AUDIT_KEY', value: config.auditKey, file: 'audit.key' });
  const keys = deriveKeyRing(masterKey, auditKey);
  const checkpoints = config.checkpointExport ? new CheckpointExporter(resolve(config.checkpointExport)) : null;
  await checkpoints?.load();
  // No checkpoint is signed over a chain rewritten below the newest exported one (see writeCheckpoint).
  const signing = {
    keys, anchor: () => checkpoints?.newest ?? null,
    onRefused: (reason: string) => void process.stderr.write(`AUDIT TRAIL REWRITTEN? no checkpoint signed: ${reason}\n`),
  };
  const reporting = await deriveReportingKeys(masterKey);
  const fields = await FieldCipher.open(db, keys.kek);
  // Data written in clear by older versions is sealed as soon as a process holding the key starts.
  if (options.migrate !== false) {
    await sealLegacyHealthFacts(db, fields, keys.lookup);
    // …and records registered before staff could search are indexed for it.
    await indexUnsearchablePatients(db, fields, keys.lookup);
  }
  const uow = new UnitOfWork(db, { fields, keys, checkpointEvery: config.checkpointEvery, onCheckpoint: (c) => void checkpoints?.write([c]), anchor: signing.anchor, onRefused: signing.onRefused });
  const signer = new DigestSigner();
  if (options.issuer !== false) {
    await ensureIssuerKeys(db, fields);
    await refreshSigner(db, fields, signer);
  }
  const ownMailer = options.mailer ? undefined : createMailer(config.mailTransport, config.mailDir ?? join(resolve(config.dataDir), 'mail'),
    config.smtpUrl ? { url: config.smtpUrl, from: config.mailFrom, timeoutMs: config.mailTimeoutSeconds * 1000 } : undefined);
  const mailer = options.mailer ?? ownMailer!;
  return {
    config, db, keys, fields, uow, mailer, signer, reporting, checkpoints, signing,
    async close() {
      // Sign the head on the way out so the unsigned tail is as short as possible.
      const last = await db.transaction((tx) => checkpointHead(tx, { ...signing, now: new Date() })).catch(() => null);
      if (last) await checkpoints?.write([last]);
      if (!options.db) await db.close();
      ownMailer?.close?.();
    },
  };
}
