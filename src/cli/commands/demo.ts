import { mkdir, writeFile } from 'node:fs/promises';
import type { CliIo } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { DEMO, DEMO_PASS_STORY, demoCredentials, seedCrowd, seedDemo, type DemoPasses } from '../../demo/world.ts';
import { qrPng } from '../../hcert/qr.ts';
import { totpNow } from '../../auth/totp.ts';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parse(argv, { credentials: { type: 'string' }, totp: { type: 'string' }, professionals: { type: 'string' }, patients: { type: 'string' }, logins: { type: 'boolean' }, code: { type: 'string' } });
  const count = (v: string | undefined) => (v === undefined ? 0 : /^\d{1,5}$/.test(v) && Number(v) <= 20_000 ? Number(v) : NaN);
  const crowd = args.ok ? { professionals: count(args.values.professionals), patients: count(args.values.patients) } : null;
  if (!args.ok || !crowd || Number.isNaN(crowd.professionals) || Number.isNaN(crowd.patients)) {
    io.stderr.write(`${args.ok ? '--professionals and --patients take a number (at most 20000)' : args.error}\nusage: saufconduit demo [--credentials FILE] [--professionals N] [--patients M] | --totp LOGIN | --code EMAIL | --logins\n`);
    return EXIT_USAGE;
  }
  const { totp } = args.values;
  if (args.values.logins) {
    const config = loadConfig();
    io.stdout.write(demoLoginHelp(config.publicUrl, config.dataDir));
    return EXIT_OK;
  }
  if (args.values.code !== undefined) {
    // The demo's mails are files: the newest login code sent to this address, without opening them by hand.
    const config = loadConfig();
    const dir = config.mailDir ?? join(resolve(config.dataDir), 'mail');
    const found = await latestLoginCode(dir, args.values.code);
    if (!found) {
      io.stderr.write(`no login code mailed to ${args.values.code} in ${dir} (ask for one on /patient/login first)\n`);
      return 1;
    }
    io.stdout.write(`${found.code}  (sent ${found.sentAt}; valid 10 minutes)\n`);
    return EXIT_OK;
  }
  if (totp) {
    // Convenience for people trying the demo without an authenticator app.
    const who = [...DEMO.staff, ...DEMO.professionals, DEMO.dpo].find((p) => p.login === totp);
    if (!who) {
      io.stderr.write('not a demo login with TOTP\n');
      return EXIT_USAGE;
    }
    io.stdout.write(`${await totpNow(who.totp)}\n`);
    return EXIT_OK;
  }
  // Seeding the demo world is the demo: its keys may live in the data directory.
  if (!loadConfig().demo) {
    io.stderr.write('saufconduit demo seeds fictitious people with published logins: for the demo only, set SAUFCONDUIT_DEMO=1 (npm start does)\n');
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig({ demo: true }));
  try {
    const seeded = await seedDemo(app);
    if (seeded) await writeDemoPasses(app.config.dataDir, seeded);
    io.stdout.write(seeded ? 'demo world seeded\n' : 'demo world already present\n');
    if (crowd.professionals > 0 || crowd.patients > 0) {
      const added = await seedCrowd(app, crowd);
      io.stdout.write(`added ${added.professionals} professionals and ${added.patients} patients\n`);
    }
    if (args.values.credentials) {
      const creds = await demoCredentials(app);
      await writeFile(args.values.credentials, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
      io.stdout.write(`credentials for ${creds.principals.length} principals (${creds.protectedPatientIds.length} protected records) written to ${args.values.credentials}\n`);
    }
    return EXIT_OK;
  } finally {
    await app.close();
  }
}

/** Where the demo's passes for the verifier are written (QR images, and their text for pasting). */
export const demoPassesDir = (dataDir: string) => join(resolve(dataDir), 'demo-passes');

/** Writes each demo pass as `<verdict>.png` and `<verdict>.txt`, so anyone can show them to the verifier. */
export async function writeDemoPasses(dataDir: string, passes: DemoPasses): Promise<void> {
  const dir = demoPassesDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [verdict, p] of Object.entries(passes)) {
    await writeFile(join(dir, `${verdict}.png`), await qrPng(p.hc1, 6), { mode: 0o600 });
    await writeFile(join(dir, `${verdict}.txt`), `${p.hc1}\n`, { mode: 0o600 });
  }
}

/** What `npm start` prints: how to log in as each demo person, and which demo pass shows which verdict. */
export function demoLoginHelp(publicUrl: string, dataDir: string): string {
  const lines = [`Saufconduit demo is running at ${publicUrl}`, '', 'Staff, professionals and DPO (password, then a TOTP code):'];
  for (const p of [...DEMO.staff, ...DEMO.professionals, DEMO.dpo]) {
    lines.push(`  ${p.name.padEnd(22)} ${p.login.padEnd(28)} password ${p.password.padEnd(18)} TOTP secret ${p.totp}  (code: npx saufconduit demo --totp ${p.login})`);
  }
  lines.push('', 'Patients (e-mail, then the one-time code written to the data/mail folder, then the birth date):');
  for (const p of DEMO.patients) lines.push(`  ${p.name.padEnd(22)} ${p.login.padEnd(30)} born ${p.birthDate}`);
  lines.push('  (the latest code of a patient: npx saufconduit demo --code EMAIL)');
  lines.push('', 'Try the chain:',
    `  counter self-registration  ${publicUrl}/pharmacy/counter  (as staff; the patient scans the QR code with a phone)`,
    `  venue verifier (offline)   ${publicUrl}/verify  (camera, image or pasted QR text)`,
    '', `Passes to show the verifier, on purpose one per verdict (images and text in ${demoPassesDir(dataDir)}):`,
    ...(Object.entries(DEMO_PASS_STORY).map(([verdict, p]) => `  ${verdict.padEnd(8)} ${`${verdict}.png`.padEnd(12)} ${p.holder}: ${p.what}`)),
    '', 'These logins again: npx saufconduit demo --logins. To start afresh: stop the server and delete ./data.');
  return lines.join('\n') + '\n';
}

/** The newest login code mailed to `address` by the file transport (file names sort by time). */
export async function latestLoginCode(dir: string, address: string): Promise<{ code: string; sentAt: string } | null> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort().reverse();
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    if (!text.startsWith(`To: ${address}\n`)) continue;
    const m = /(?:Votre code|Your code)\s*:\s*(\d{6})/.exec(text);
    if (m) return { code: m[1]!, sentAt: f.slice(0, 19).replace(/^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})$/, '$1 $2:$3:$4 UTC') };
  }
  return null;
}
