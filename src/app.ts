import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
import { checkpointHead } from './audit/append.ts';
import { createMailer, type Mailer } from './notify/mailer.ts';
import { deriveReportingKeys, type ReportingKeys } from './reporting/signature.ts';
import { DigestSigner } from './signing/digest-signer.ts';
import { ensureIssuerKeys, refreshSigner } from './domain/issuer-keys.ts';
import { sealLegacyHealthFacts } from './domain/sealed-facts.ts';

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
  const dir = resolve(config.dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  return openPglite(dir);
}

/**
 * The master key: from SAUFCONDUIT_MASTER_KEY, or for the embedded store a key generated once into
 * the data directory (mode 0600). PostgreSQL deployments must provide it: a key on the app's disk
 * next to a remote database would defeat encryption at rest.
 */
export async function resolveMasterKey(config: Config): Promise<string> {
  if (config.masterKey) return config.masterKey;
  if (config.databaseUrl) throw new Error('SAUFCONDUIT_MASTER_KEY is required with DATABASE_URL (base64 of 32 random bytes)');
  const file = join(resolve(config.dataDir), 'master.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(resolve(config.dataDir), { recursive: true });
    const key = randomBytes(32).toString('base64');
    await writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  }
}

export async function openApp(config: Config, options: AppOptions = {}): Promise<App> {
  const db = options.db ?? (await openDb(config));
  if (options.migrate !== false) await migrate(db);
  const masterKey = await resolveMasterKey(config);
  const keys = deriveKeyRing(masterKey);
  const reporting = await deriveReportingKeys(masterKey);
  const fields = await FieldCipher.open(db, keys.kek);
  // Data written in clear by older versions is sealed as soon as a process holding the key starts.
  if (options.migrate !== false) await sealLegacyHealthFacts(db, fields, keys.lookup);
  const uow = new UnitOfWork(db, { fields, keys, checkpointEvery: config.checkpointEvery });
  const signer = new DigestSigner();
  if (options.issuer !== false) {
    await ensureIssuerKeys(db, fields);
    await refreshSigner(db, fields, signer);
  }
  const ownMailer = options.mailer ? undefined : createMailer(config.mailTransport, config.mailDir ?? join(resolve(config.dataDir), 'mail'),
    config.smtpUrl ? { url: config.smtpUrl, from: config.mailFrom, timeoutMs: config.mailTimeoutSeconds * 1000 } : undefined);
  const mailer = options.mailer ?? ownMailer!;
  return {
    config, db, keys, fields, uow, mailer, signer, reporting,
    async close() {
      // Sign the head on the way out so the unsigned tail is as short as possible.
      await db.transaction((tx) => checkpointHead(tx, { keys, now: new Date() })).catch(() => undefined);
      if (!options.db) await db.close();
      ownMailer?.close?.();
    },
  };
}
