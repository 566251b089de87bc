import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { run } from '../../src/cli/commands/verify.ts';
import { makeSigner, trustListJson, issue, SAMPLE_DCC, T1 } from '../hcert/fixtures.ts';

/** Run the command in-process with fake streams. */
async function cli(argv: string[], stdin = '') {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  let out = '';
  let err = '';
  io.stdout.on('data', (c) => (out += c));
  io.stderr.on('data', (c) => (err += c));
  io.stdin.end(stdin);
  const code = await run(argv, io);
  return { code, out, err, last: out.trim().split('\n').at(-1) ?? '' };
}

const dir = mkdtempSync(join(tmpdir(), 'saufconduit-verify-'));
const signer = makeSigner();
const stranger = makeSigner();
const trust = join(dir, 'trust.json');
const revoked = join(dir, 'revoked.json');
const pass = issue(signer).hc1;
const at = '2021-07-01T00:00:00Z';

beforeAll(() => {
  writeFileSync(trust, JSON.stringify(trustListJson(signer)));
  const ci = (SAMPLE_DCC.test as { t: { ci: string }[] }).t[0]!.ci;
  writeFileSync(revoked, JSON.stringify({ UCI: [createHash('sha256').update(ci).digest().subarray(0, 16).toString('base64')] }));
});

describe('saufconduit verify', () => {
  it('exits 0 with the JSON contract on the last line for a valid pass', async () => {
    const r = await cli(['--trust', trust, '--at', at, '--json', pass]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.last)).toEqual({ valid: true, reason: null, type: 'vaccination', holder: { name: 'Marie Dupont', dob: '1985-04-12' } });
  });

  it('reads the QR from stdin with -', async () => {
    const r = await cli(['--trust', trust, '--at', at, '--json', '-'], pass + '\n');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.last).valid).toBe(true);
  });

  it('an oversized QR on stdin is an invalid pass (format, exit 1), as it is as an argument', async () => {
    const huge = 'HC1:' + 'A'.repeat(3_000_000);
    const fromStdin = await cli(['--trust', trust, '--at', at, '--json', '-'], huge);
    expect(fromStdin.code).toBe(1);
    expect(JSON.parse(fromStdin.last)).toEqual({ valid: false, reason: 'format', type: null, holder: null });
    const fromArg = await cli(['--trust', trust, '--at', at, '--json', huge.slice(0, 200_000)]);
    expect(fromArg.code).toBe(1);
    expect(JSON.parse(fromArg.last)).toEqual(JSON.parse(fromStdin.last));
  });

  it('exits 1 with a reason code for invalid passes', async () => {
    const cases: [string[], string][] = [
      [['--at', '2030-01-01T00:00:00Z', pass], 'expired'],
      [['--at', at, issue(stranger).hc1], 'unknown-key'],
      [['--at', at, 'HC1:not*base45'], 'format'],
      [['--at', at, '--revoked', revoked, issue(signer, SAMPLE_DCC.test).hc1], 'revoked'],
    ];
    for (const [args, reason] of cases) {
      const r = await cli(['--trust', trust, '--json', ...args]);
      expect(r.code, reason).toBe(1);
      expect(JSON.parse(r.last)).toMatchObject({ valid: false, reason });
    }
    const expired = JSON.parse((await cli(['--trust', trust, '--json', '--at', new Date(T1.getTime() + 1000).toISOString(), pass])).last);
    expect(expired.holder).toEqual({ name: 'Marie Dupont', dob: '1985-04-12' }); // signature held, so the holder is known
  });

  it('prints a human line without --json', async () => {
    const r = await cli(['--trust', trust, '--at', at, pass]);
    expect(r.out).toMatch(/^VALID vaccination pass for Marie Dupont/);
  });

  it('exits 2 on usage errors', async () => {
    for (const argv of [[], [pass], ['--trust', trust], ['--trust', join(dir, 'missing.json'), pass], ['--trust', trust, '--at', 'yesterday', pass], ['--trust', trust, '--bogus', pass], ['--trust', trust, pass, pass]]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/usage/);
    }
  });

  it('--jsonl verifies one QR per line and exits 1 if any is invalid', async () => {
    const r = await cli(['--trust', trust, '--at', at, '--jsonl'], [pass, '', 'HC1:garbage', issue(signer, SAMPLE_DCC.recovery).hc1].join('\n'));
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.reason)).toEqual([null, 'format', null]);
    expect(lines[2].type).toBe('recovery');
    expect(r.code).toBe(1);
    expect((await cli(['--trust', trust, '--at', at, '--jsonl'], pass + '\n' + pass + '\n')).code).toBe(0);
  });

  it('--jsonl answers a line over 1 MB with one format result, whatever the chunks it arrives in', async () => {
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
    let out = '';
    io.stdout.on('data', (c) => (out += c));
    const done = run(['--trust', trust, '--at', at, '--jsonl'], io);
    // A pass, a 2.5 MB line, a pass split across two chunks, sent in 64 KiB pieces.
    const input = pass + '\n' + 'X'.repeat(2_500_000) + '\n' + pass + '\n';
    for (let i = 0; i < input.length; i += 65_536) io.stdin.write(input.slice(i, i + 65_536));
    io.stdin.end();
    expect(await done).toBe(1);
    expect(out.trim().split('\n').map((l) => JSON.parse(l).reason)).toEqual([null, 'format', null]);
  });

  it('--jsonl keeps one result per line, in order, over many batches (CRLF lines too)', async () => {
    const recovery = issue(signer, SAMPLE_DCC.recovery).hc1;
    const input = Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? 'HC1:garbage' : i % 2 ? recovery : pass));
    const r = await cli(['--trust', trust, '--at', at, '--jsonl'], input.join('\r\n') + '\r\n');
    const out = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((l) => l.reason)).toEqual(input.map((t) => (t === 'HC1:garbage' ? 'format' : null)));
    expect(out.map((l) => l.type)).toEqual(input.map((t) => (t === pass ? 'vaccination' : t === recovery ? 'recovery' : null)));
    expect(r.code).toBe(1);
  });

  it('works as a real subprocess through bin/saufconduit.mjs', () => {
    const out = execFileSync(process.execPath, ['bin/saufconduit.mjs', 'verify', '--trust', trust, '--at', at, '--json', pass], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toMatchObject({ valid: true, type: 'vaccination' });
    const bad = spawnSync(process.execPath, ['bin/saufconduit.mjs', 'verify', '--trust', trust, '--json', '-'], { input: 'HC1:XYZ', encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout.trim())).toEqual({ valid: false, reason: 'format', type: null, holder: null });
  });
});
