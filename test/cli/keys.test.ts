import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { makeSigner } from '../hcert/fixtures.ts';

const cli = (args: string[], data: string) => spawnSync(process.execPath, ['bin/saufconduit.mjs', ...args], { env: { ...process.env, SAUFCONDUIT_DATA: data, SAUFCONDUIT_DEMO: '1' }, encoding: 'utf8' });

describe('saufconduit keys', () => {
  it('lists, rotates and imports document signers; refuses a key that does not match its certificate', () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-keys-'));
    const first = cli(['keys', 'list'], data);
    expect(first.status).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    expect(cli(['keys', 'rotate'], data).stdout).toMatch(/retired[\s\S]*active/);
    const signer = makeSigner({ eku: ['1.3.6.1.4.1.1847.2021.1.1'] });
    writeFileSync(join(data, 'dsc.pem'), signer.certificatePem);
    writeFileSync(join(data, 'key.pem'), signer.privateKeyPem);
    const imported = cli(['keys', 'import', '--cert', join(data, 'dsc.pem'), '--key', join(data, 'key.pem')], data);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toContain(`${Buffer.from(signer.kid).toString('base64')}\tactive`);
    writeFileSync(join(data, 'other.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const wrong = cli(['keys', 'import', '--cert', join(data, 'dsc.pem'), '--key', join(data, 'other.pem')], data);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('does not match');
    expect(cli(['keys', 'import'], data).status).toBe(2);
  });
});
