import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DEMO } from '../../src/demo/world.ts';
import { latestLoginCode } from '../../src/cli/commands/demo.ts';

const cli = (data: string, ...args: string[]) => spawnSync(process.execPath, ['bin/saufconduit.mjs', 'demo', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, SAUFCONDUIT_DATA: data }, encoding: 'utf8' });

/** Newcomer set-up (pages issue, point 12): the logins and a patient's latest code on demand. */
describe('saufconduit demo --logins and --code', () => {
  it('prints every demo login again, and the newest login code mailed to an address', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-demo-'));
    const logins = cli(data, '--logins');
    expect(logins.status, logins.stderr).toBe(0);
    for (const p of [...DEMO.staff, ...DEMO.professionals, DEMO.dpo, ...DEMO.patients]) expect(logins.stdout).toContain(p.login);
    expect(logins.stdout).toMatch(/demo --code EMAIL/);

    const camille = DEMO.patients[0]!.login;
    const mail = join(data, 'mail');
    mkdirSync(mail, { recursive: true });
    const eml = (to: string, code: string) => `To: ${to}\nFrom: Saufconduit <no-reply@saufconduit.invalid>\nSubject: Votre code de connexion Saufconduit\nContent-Type: text/plain; charset=utf-8\n\nVotre code : ${code}\nIl expire dans 10 minutes.\n`;
    writeFileSync(join(mail, '2026-12-07T10-00-00-000Z-aaaaaaaa.eml'), eml(camille, '111111'));
    writeFileSync(join(mail, '2026-12-07T10-05-00-000Z-bbbbbbbb.eml'), eml(camille, '222222'));
    writeFileSync(join(mail, '2026-12-07T10-09-00-000Z-cccccccc.eml'), eml('someone.else@example.org', '333333'));
    expect(await latestLoginCode(mail, camille)).toEqual({ code: '222222', sentAt: '2026-12-07 10:05:00 UTC' });
    const code = cli(data, '--code', camille);
    expect(code.status, code.stderr).toBe(0);
    expect(code.stdout).toMatch(/^222222 /);
    const none = cli(data, '--code', 'nobody@example.org');
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no login code mailed to nobody@example.org/);
  }, 180_000); // CLI processes, each starting the store: slow on a busy machine
});
