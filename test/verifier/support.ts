/**
 * Shared by the verifier's browser tests and benchmark: a real server on loopback with the demo
 * world, passes issued through the API for fresh patients, a recorder of every request the browser
 * makes to the server (with a switch that cuts the network), fake-camera video files, and Chromium.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/net.ts';
import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type LaunchOptions } from 'playwright-core';
import { openTestApp, type TestApp } from '../support/engines.ts';
import { buildServer } from '../../src/http/server.ts';
import { seedDemo, demoCredentials, type DemoPrincipal } from '../../src/demo/world.ts';
import { DEFAULT_LIMITS, parseCoseSign1, parseCwtClaims, unwrapHc1 } from '../../src/hcert/index.ts';
import { UnitOfWork } from '../../src/domain/unit-of-work.ts';
import { issuePass, TEST_VALID_HOURS } from '../../src/domain/passes.ts';
import { principalFor } from '../../src/domain/accounts.ts';
import { hashSecret } from '../../src/crypto/tokens.ts';
import { nodeBackend } from '../../src/hcert/node.ts';

export const CHROMIUM = process.env.SAUFCONDUIT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** One request the browser made to our server: everything it carried. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface VerifierServer {
  app: TestApp;
  server: FastifyInstance;
  base: string;
  staff: DemoPrincipal;
  /** Every request from a browser (not from the test's own API calls), in order. */
  browserRequests: RecordedRequest[];
  /** While true, every browser connection is dropped as by a network outage. */
  cut: { value: boolean };
  close(): Promise<void>;
}

const fromBrowser = (ua: string | undefined) => /Chrome|HeadlessChrome/.test(ua ?? '');

export async function startVerifierServer(): Promise<VerifierServer> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const app = await openTestApp('pglite', { publicUrl: base });
  await seedDemo(app);
  const staff = (await demoCredentials(app)).principals.find((p) => p.name === 'pharmacy-a-staff')!;
  const server = await buildServer(app);
  const browserRequests: RecordedRequest[] = [];
  const cut = { value: false };
  server.addHook('onRequest', async (req, reply) => {
    if (!fromBrowser(req.headers['user-agent'])) return;
    if (cut.value) {
      req.raw.socket.destroy();
      return reply.hijack();
    }
    browserRequests.push({ method: req.method, url: req.url, headers: { ...req.headers }, body: '' });
  });
  server.addHook('preParsing', async (req, _reply, payload) => {
    if (!fromBrowser(req.headers['user-agent'])) return payload;
    // Bodies are small; read them whole so that the recorder sees every byte sent.
    const chunks: Buffer[] = [];
    for await (const c of payload) chunks.push(Buffer.from(c as Buffer));
    const body = Buffer.concat(chunks);
    const rec = browserRequests.findLast((r) => r.url === req.url);
    if (rec) rec.body = body.toString('utf8');
    const { Readable } = await import('node:stream');
    return Readable.from([body]);
  });
  await server.listen({ port, host: '127.0.0.1' });
  return {
    app, server, base, staff, browserRequests, cut,
    async close() {
      await server.close();
      await app.dispose();
    },
  };
}

/** A pass for a new patient, and what the verifier must never keep about them. */
export interface IssuedPerson {
  givenName: string;
  familyName: string;
  birthDate: string;
  hc1: string;
  uci: string;
  passId: string;
}

/**
 * Register a new patient at the demo pharmacy through the API, record a negative antigen test
 * sampled `sampledHoursAgo` hours ago, and issue a test pass for it.
 */
export async function issueFreshPass(s: VerifierServer, who: { givenName: string; familyName: string; birthDate: string }, sampledHoursAgo = 1): Promise<IssuedPerson> {
  const post = async (url: string, payload: unknown) => {
    const res = await s.server.inject({ method: 'POST', url, headers: s.staff.headers, payload: payload as Record<string, unknown> });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json() as Record<string, string>;
  };
  const patient = await post('/api/patients', who);
  const sampledAt = new Date(Date.now() - sampledHoursAgo * 3_600_000);
  const result = await post(`/api/patients/${patient.id}/results`, { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: sampledAt.toISOString() });
  if (sampledHoursAgo < TEST_VALID_HOURS) {
    const pass = await post(`/api/results/${result.id}/passes`, { kind: 'test' });
    return { ...who, hc1: pass.hc1!, uci: uciOf(pass.hc1!), passId: pass.id! };
  }
  // A test too old to be given a pass today: issued as it was an hour after sampling (an authentic
  // pass, now past its validity), through a unit of work whose clock is set back.
  const staffAccount = (await s.app.db.query<{ account_id: string }>('SELECT account_id FROM session WHERE token_hash = $1', [hashSecret(s.staff.headers.authorization.slice(7))]))[0]!.account_id;
  const then = new UnitOfWork(s.app.db, { fields: s.app.fields, keys: s.app.keys, checkpointEvery: 1000, clock: () => new Date(sampledAt.getTime() + 3_600_000) });
  const pass = await then.run((await principalFor(s.app.db, staffAccount))!, 'issued-back-then', (w) => issuePass(w, s.app.signer, result.id!, 'test'));
  return { ...who, hc1: pass.hc1, uci: uciOf(pass.hc1), passId: pass.id };
}

/** Revoke a pass the way a leaked one is (reissue); returns the replacement. */
export async function reissue(s: VerifierServer, person: IssuedPerson): Promise<IssuedPerson> {
  const res = await s.server.inject({ method: 'POST', url: `/api/passes/${person.passId}/reissue`, headers: s.staff.headers });
  if (res.statusCode !== 201) throw new Error(`reissue: ${res.statusCode}`);
  const fresh = res.json() as { id: string; hc1: string };
  return { ...person, hc1: fresh.hc1, uci: uciOf(fresh.hc1), passId: fresh.id };
}

export function uciOf(hc1: string): string {
  const cose = parseCoseSign1(unwrapHc1(hc1, DEFAULT_LIMITS, nodeBackend), { maxDepth: 16, maxItems: 4096 });
  const dcc = parseCwtClaims(cose.payload, { maxDepth: 16, maxItems: 4096 }).dcc as { t: { ci: string }[] };
  return dcc.t[0]!.ci;
}

/** Distinctive, unique names, so a find anywhere is a real leak and never a coincidence. */
export function uniquePerson(i: number): { givenName: string; familyName: string; birthDate: string } {
  const tag = randomBytes(3).toString('hex').toUpperCase().replace(/\d/g, (d) => 'QWXZKJVBNM'[Number(d)]!);
  const given = ['Zéphyrine', 'Anatole', 'Maëlys', 'Barnabé', 'Ombeline', 'Théodric', 'Clotaire', 'Ysaline'][i % 8]!;
  return { givenName: `${given}`, familyName: `Verif${tag}`, birthDate: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}` };
}

/** Grayscale QR bitmap of `text` (alphanumeric mode, ECC Q, as passes are printed), `scale` px per module. */
export function qrBitmap(text: string, scale: number): { size: number; pixels: Uint8Array } {
  const qr = QRCode.create([{ data: text, mode: 'alphanumeric' }], { errorCorrectionLevel: 'Q' });
  const modules = qr.modules.size;
  const quiet = 4;
  const size = (modules + 2 * quiet) * scale;
  const pixels = new Uint8Array(size * size).fill(255);
  for (let y = 0; y < modules; y++) {
    for (let x = 0; x < modules; x++) {
      if (!qr.modules.get(y, x)) continue;
      for (let dy = 0; dy < scale; dy++) pixels.fill(0, ((quiet + y) * scale + dy) * size + (quiet + x) * scale, ((quiet + y) * scale + dy) * size + (quiet + x + 1) * scale);
    }
  }
  return { size, pixels };
}

/**
 * A Y4M video (4:2:0, grey chroma) showing the QR of `text` centred on a white frame, for
 * Chromium's `--use-file-for-fake-video-capture`. Chromium loops the file.
 */
export function writeQrVideo(dir: string, text: string, width = 800, height = 600): string {
  const scale = Math.floor(Math.min(width, height) / (QRCode.create([{ data: text, mode: 'alphanumeric' }], { errorCorrectionLevel: 'Q' }).modules.size + 8));
  const { size, pixels } = qrBitmap(text, scale);
  const y = new Uint8Array(width * height).fill(255);
  const ox = (width - size) >> 1;
  const oy = (height - size) >> 1;
  for (let r = 0; r < size; r++) y.set(pixels.subarray(r * size, (r + 1) * size), (oy + r) * width + ox);
  const chroma = new Uint8Array((width / 2) * (height / 2)).fill(128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma, chroma]);
  const file = join(dir, `qr-${randomBytes(4).toString('hex')}.y4m`);
  writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`), frame, frame]));
  return file;
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** A fresh Chromium profile (service workers and Cache Storage as on a real device), optionally with a fake camera. */
export async function launchVerifierBrowser(opts: { base: string; video?: string; locale?: string; extra?: Partial<LaunchOptions> }): Promise<{ context: BrowserContext; profileDir: string }> {
  const args = [...CHROMIUM_ARGS];
  if (opts.video) args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${opts.video}`);
  const profileDir = tempDir('saufconduit-verifier-profile-');
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, args, baseURL: opts.base, locale: opts.locale ?? 'fr-FR', timezoneId: 'Europe/Paris',
    ...(opts.video ? { permissions: ['camera'] } : {}),
    ...opts.extra,
  });
  context.setDefaultTimeout(15_000);
  return { context, profileDir };
}
