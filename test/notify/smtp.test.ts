import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { SmtpMailer, createMailer } from '../../src/notify/mailer.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openApp } from '../../src/app.ts';
import { openTestDb } from '../support/engines.ts';

interface Received { from: string; to: string[]; raw: string; user: string | undefined }

/** A real SMTP server on loopback (plain, authenticated), keeping what it receives in memory. */
async function startSink(): Promise<{ url: (user?: string) => string; plainUrl: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS'], allowInsecureAuth: true, authOptional: false, logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'saufconduit' && auth.password === 's3cret pass') cb(null, { user: auth.username });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), user: session.user as string | undefined });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = (server as unknown as { server: Server }).server.address() as AddressInfo;
  return {
    // This test server has no TLS: the URL says so (the transport requires STARTTLS otherwise).
    url: (user = 'saufconduit:s3cret%20pass') => `smtp://${user}@127.0.0.1:${port}?requireTLS=false`,
    plainUrl: `smtp://saufconduit:s3cret%20pass@127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SMTP mail transport', () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(async () => {
    await sink?.close();
  });

  it('is chosen with SAUFCONDUIT_MAIL_TRANSPORT=smtp, which needs SAUFCONDUIT_SMTP_URL', () => {
    expect(() => loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: 'smtp' })).toThrow(/SAUFCONDUIT_SMTP_URL is required/);
    expect(() => loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: 'smtp', SAUFCONDUIT_SMTP_URL: 'http://mail.example' })).toThrow(/smtpUrl/);
    // A send must give up before the job's lease (report timeout + 5 s) runs out.
    expect(() => loadConfig({}, { SAUFCONDUIT_MAIL_TIMEOUT_SECONDS: '15' })).toThrow(/mailTimeoutSeconds: must be below the job lease/);
    expect(loadConfig({}, { SAUFCONDUIT_MAIL_TIMEOUT_SECONDS: '15', SAUFCONDUIT_REPORT_TIMEOUT_SECONDS: '20' }).mailTimeoutSeconds).toBe(15);
    // Unset, it follows a short lease down (10 s by default).
    expect(loadConfig({}, {}).mailTimeoutSeconds).toBe(10);
    expect(loadConfig({}, { SAUFCONDUIT_REPORT_TIMEOUT_SECONDS: '2' }).mailTimeoutSeconds).toBe(6);
    const c = loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: 'smtp', SAUFCONDUIT_SMTP_URL: 'smtps://u:p@mail.example:465', SAUFCONDUIT_MAIL_FROM: 'Pharmacie <noreply@pharmacie.example>' });
    expect(c).toMatchObject({ mailTransport: 'smtp', smtpUrl: 'smtps://u:p@mail.example:465', mailFrom: 'Pharmacie <noreply@pharmacie.example>', mailTimeoutSeconds: 10 });
    expect(() => createMailer('smtp', '/nonexistent')).toThrow(/SAUFCONDUIT_SMTP_URL/);
  });

  it('the app sends through a real SMTP server, authenticated, in UTF-8', async () => {
    const t = await openTestDb('pglite');
    const app = await openApp(loadConfig({ masterKey: Buffer.alloc(32, 7).toString('base64'), auditKey: Buffer.alloc(32, 9).toString('base64'), logLevel: 'silent', dataDir: '/nonexistent', mailTransport: 'smtp', smtpUrl: sink.url(), mailFrom: 'Saufconduit <no-reply@pharmacie.example>' }, {}), { db: t.db, issuer: false });
    try {
      expect(app.mailer).toBeInstanceOf(SmtpMailer);
      await app.mailer.send({ to: 'camille.martin@example.org', subject: 'Votre code de connexion Saufconduit', text: 'Votre code : 123456\nSi vous n’avez rien demandé, ignorez ce message.' });
      const [mail] = sink.received;
      expect(mail).toMatchObject({ from: 'no-reply@pharmacie.example', to: ['camille.martin@example.org'], user: 'saufconduit' });
      expect(mail!.raw).toMatch(/^Subject: Votre code de connexion Saufconduit\r?$/m);
      expect(mail!.raw).toMatch(/charset=utf-8/i);
      expect(mail!.raw).toContain('Votre code : 123456');
    } finally {
      await app.close();
      await t.drop();
    }
  });

  it('requires STARTTLS: a server that does not offer it (or whose offer was stripped on the way) gets nothing', async () => {
    const before = sink.received.length;
    const mailer = new SmtpMailer({ url: sink.plainUrl, from: 'a@b.example', timeoutMs: 2000 });
    try {
      await expect(mailer.send({ to: 'x@example.org', subject: 's', text: 'Votre code : 123456' })).rejects.toThrow(/STARTTLS/i);
      expect(sink.received.length).toBe(before);
    } finally {
      mailer.close();
    }
  });

  it('refuses wrong credentials as a failed send', async () => {
    const mailer = new SmtpMailer({ url: sink.url('saufconduit:wrong'), from: 'a@b.example', timeoutMs: 2000 });
    try {
      await expect(mailer.send({ to: 'x@example.org', subject: 's', text: 't' })).rejects.toThrow();
    } finally {
      mailer.close();
    }
  });

  it('a server that never answers fails the send after the timeout instead of holding it', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const mailer = new SmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'a@b.example', timeoutMs: 300 });
    try {
      // Without the timeouts this promise would wait for the server for ever (the test would time out).
      await expect(mailer.send({ to: 'x@example.org', subject: 's', text: 't' })).rejects.toThrow(/greeting|timeout|aborted/i);
    } finally {
      mailer.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
