import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const cli = (env: NodeJS.ProcessEnv, ...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8' });

/** What a pharmacy's invoices print (issue 13, point 9): entered with the pharmacy, checked there. */
describe('saufconduit tenant create with the pharmacy\'s address and identifiers', () => {
  it('keeps them, typed in groups or not; refuses a SIRET whose Luhn key is wrong, naming the option', () => {
    const env = {
      SAUFCONDUIT_DATA: mkdtempSync(join(tmpdir(), 'saufconduit-tenant-')), SAUFCONDUIT_MASTER_KEY: randomBytes(32).toString('base64'),
      SAUFCONDUIT_AUDIT_KEY: randomBytes(32).toString('base64'), SAUFCONDUIT_PUBLIC_URL: 'https://saufconduit.example',
    };
    const bad = cli(env, 'tenant', 'create', '--name', 'Pharmacie de la Gare', '--slug', 'pharmacie-de-la-gare', '--siret', '912 345 675 00018');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--siret: siret-checksum/);
    const created = cli(env, 'tenant', 'create', '--name', 'Pharmacie de la Gare', '--slug', 'pharmacie-de-la-gare',
      '--address', '1 place de la Gare, 69002 Lyon', '--siret', '912 345 675 00017', '--finess', '690100011', '--vat-number', 'fr 65 912345675');
    expect(created.status, created.stderr).toBe(0);
    expect(cli(env, 'tenant', 'create', '--name', 'Pharmacie du Marché', '--slug', 'pharmacie-du-marche').status).toBe(0);
    const list = cli(env, 'tenant', 'list');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/pharmacie-de-la-gare {2}pharmacy {2}Pharmacie de la Gare {2}\(SIRET 91234567500017, FINESS 690100011, TVA FR65912345675, 1 place de la Gare, 69002 Lyon\)\n/);
    expect(list.stdout).toMatch(/pharmacie-du-marche {2}pharmacy {2}Pharmacie du Marché\n/);
  }, 120_000); // four CLI processes, each starting the store
});
