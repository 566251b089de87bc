import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApp, openDb } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';

/**
 * Finding 8 (security hardening): PGlite created its files world-readable and world-writable (0666),
 * the data directory was 0755, and the master key sat inside it, so that a copy of the directory
 * decrypted everything. Now the directory is created and put back to 0700 at every start, files to
 * 0600, and a master key inside the data directory is refused outside the demo.
 */
function loose(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if ((statSync(d).mode & 0o077) !== 0) out.push(`${d} ${(statSync(d).mode & 0o777).toString(8)}`);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (statSync(p).mode & 0o077) !== 0) out.push(`${p} ${(statSync(p).mode & 0o777).toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

describe('finding 8: the embedded store is its owner\'s alone', () => {
  it('creates the data directory 0700 and nothing in it readable by others, and puts loosened permissions back at every start', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'saufconduit-perm-')), 'data');
    const config = loadConfig({ dataDir: data, demo: true, logLevel: 'silent' }, {});
    const app = await openApp(config, { issuer: false });
    await app.close();
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(loose(data)).toEqual([]);
    // Someone (a restore, a careless copy) loosens everything: the next start tightens it again.
    chmodSync(data, 0o755);
    for (const f of readdirSync(join(data, 'pglite'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).slice(0, 50)) chmodSync(join(f.parentPath, f.name), 0o666);
    expect(loose(data).length).toBeGreaterThan(1);
    const db = await openDb(config);
    await db.close();
    expect(loose(data)).toEqual([]);
  });

  it('one process at a time: a command run beside a live server is refused, not silently lost (re-run finding)', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'saufconduit-lock-')), 'data');
    const app = await openApp(loadConfig({ dataDir: data, demo: true, logLevel: 'silent' }, {}), { issuer: false });
    try {
      const cli = spawnSync(process.execPath, ['bin/saufconduit.mjs', 'api-key', 'list'], { env: { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' }, encoding: 'utf8' });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toMatch(/is in use by another process \(pid \d+\): stop it first/);
    } finally {
      await app.close();
    }
    // Released on close: the command runs now.
    const after = spawnSync(process.execPath, ['bin/saufconduit.mjs', 'api-key', 'list'], { env: { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' }, encoding: 'utf8' });
    expect(after.status, after.stderr).toBe(0);
  });

  it('outside the demo, a master key inside the data directory is refused (a copy of the directory would open everything)', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'saufconduit-key-')), 'data');
    const keys = { masterKey: randomBytes(32).toString('base64'), auditKey: randomBytes(32).toString('base64') };
    // A real store, started with its keys from the secret store.
    await (await openApp(loadConfig({ dataDir: data, logLevel: 'silent', ...keys }, {}), { issuer: false })).close();
    // Someone leaves the master key next to the data, and starts without the secret store.
    writeFileSync(join(data, 'master.key'), keys.masterKey + '\n', { mode: 0o600 });
    await expect(openApp(loadConfig({ dataDir: data, logLevel: 'silent', auditKey: keys.auditKey }, {}), { issuer: false }))
      .rejects.toThrow(/master\.key is a key inside the data directory, which only the demo may use/);
    // Nor is one generated there outside the demo.
    const empty = join(mkdtempSync(join(tmpdir(), 'saufconduit-nokey-')), 'data');
    await expect(openApp(loadConfig({ dataDir: empty, logLevel: 'silent' }, {}), { issuer: false })).rejects.toThrow(/SAUFCONDUIT_MASTER_KEY is required outside the demo/);
  });
});
