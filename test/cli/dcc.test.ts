import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { run } from '../../src/cli/commands/dcc.ts';
import { verifyHc1, parseTrustList, validateDcc } from '../../src/hcert/index.ts';
import { nodeBackend } from '../../src/hcert/node.ts';
import { makeSigner, trustListJson, SAMPLE_DCC } from '../hcert/fixtures.ts';

const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;

async function cli(argv: string[]) {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  let out = '';
  let err = '';
  io.stdout.on('data', (c) => (out += c));
  io.stderr.on('data', (c) => (err += c));
  io.stdin.end();
  return { code: await run(argv, io), out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'saufconduit-dcc-'));
const files = (signer: ReturnType<typeof makeSigner>, name: string) => {
  writeFileSync(join(dir, `${name}.key.pem`), signer.privateKeyPem);
  writeFileSync(join(dir, `${name}.cert.pem`), signer.certificatePem);
  return ['--key', join(dir, `${name}.key.pem`), '--cert', join(dir, `${name}.cert.pem`)];
};

describe('saufconduit dcc sign', () => {
  it('prints an HC1 string that verifies, for ES256 and PS256, and writes QR images', async () => {
    for (const type of ['ec', 'rsa'] as const) {
      const signer = makeSigner({ type });
      const payload = join(dir, `${type}.json`);
      writeFileSync(payload, JSON.stringify(SAMPLE_DCC.test));
      const png = join(dir, `${type}.png`);
      const r = await cli(['sign', ...files(signer, type), '--iat', '2021-06-01T00:00:00Z', '--exp', '2021-06-04T00:00:00Z', '--qr-png', png, '--qr-svg', join(dir, `${type}.svg`), payload]);
      expect(r.code, r.err).toBe(0);
      const hc1 = r.out.trim();
      expect(hc1).toMatch(/^HC1:[0-9A-Z $%*+\-./:]+$/);
      const trustList = parseTrustList(trustListJson(signer), nodeBackend);
      expect(verifyHc1(hc1, { trustList, backend: nodeBackend, validateDcc, at: new Date('2021-06-02T00:00:00Z') })).toMatchObject({ valid: true, type: 'test' });
      expect(verifyHc1(hc1, { trustList, backend: nodeBackend, validateDcc, at: new Date('2021-06-05T00:00:00Z') }).reason).toBe('expired');
      const image = PNG.sync.read(readFileSync(png));
      expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(hc1);
      expect(readFileSync(join(dir, `${type}.svg`), 'utf8')).toMatch(/^<svg/);
    }
  });

  it('refuses a payload that is not a valid DCC (exit 1) and bad usage (exit 2)', async () => {
    const signer = makeSigner();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ver: '1.3.0', nam: { fnt: 'X' }, dob: '1990' }));
    const r = await cli(['sign', ...files(signer, 'bad'), bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not a valid DCC/);
    expect((await cli(['sign', bad])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['sign', ...files(signer, 'bad'), '--iat', 'soon', bad])).code).toBe(2);
  });
});
