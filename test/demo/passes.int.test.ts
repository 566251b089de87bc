import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ENGINES, openTestApp, type TestApp } from '../support/engines.ts';
import { testServer } from '../support/http.ts';
import { seedDemo, type DemoPasses } from '../../src/demo/world.ts';
import { demoLoginHelp, writeDemoPasses } from '../../src/cli/commands/demo.ts';
import { importAnchor, openBundle } from '../../src/verifier/trust.ts';
import { checkPass } from '../../src/verifier/check.ts';

// The demo shows each verdict of the door on purpose: a pass that admits, an authentic one that
// does not, and a revoked one; with the published trust material, as the verifier gets it.
describe.each(ENGINES)('the demo passes give green, red and revoked on %s', (engine) => {
  let app: TestApp;
  let server: FastifyInstance;
  let passes: DemoPasses;
  beforeAll(async () => {
    app = await openTestApp(engine);
    passes = (await seedDemo(app))!;
    server = await testServer(app);
  });
  afterAll(async () => {
    await server?.close();
    await app?.dispose();
  });

  it('verifies each demo pass against the published bundle with the verdict the banner announces', async () => {
    const get = async (url: string) => (await server.inject({ method: 'GET', url })).body;
    const bundle = await openBundle(await get('/trust/bundle.jws'), await importAnchor(JSON.parse(await get('/trust/anchor.json'))));
    const now = new Date();
    expect(await checkPass(passes.green.hc1, bundle, now)).toEqual({ verdict: 'valid', name: 'Camille Martin', dob: '1990-04-12' });
    expect(await checkPass(passes.red.hc1, bundle, now)).toEqual({ verdict: 'invalid', category: 'not-valid-now' });
    expect(await checkPass(passes.revoked.hc1, bundle, now)).toEqual({ verdict: 'invalid', category: 'revoked' });
  });

  it('is seeded once: a second call finds the world and returns nothing', async () => {
    expect(await seedDemo(app)).toBeNull();
  });

  it('writes each pass as an image and as text, and the banner says which is which', async () => {
    const data = mkdtempSync(join(tmpdir(), 'saufconduit-demo-passes-'));
    await writeDemoPasses(data, passes);
    const banner = demoLoginHelp('http://localhost:3000', data);
    for (const verdict of ['green', 'red', 'revoked'] as const) {
      expect(readFileSync(join(data, 'demo-passes', `${verdict}.txt`), 'utf8').trim()).toBe(passes[verdict].hc1);
      expect(readFileSync(join(data, 'demo-passes', `${verdict}.png`)).subarray(1, 4).toString()).toBe('PNG');
      expect(banner).toContain(`${verdict}.png`);
      expect(banner).toContain(passes[verdict].holder);
    }
    expect(banner).toContain(join(data, 'demo-passes'));
  });
});
