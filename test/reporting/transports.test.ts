import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { ConsoleMailer, FileMailer, createMailer } from '../../src/notify/mailer.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startReceiver } from '../../src/reporting/receiver.ts';
import { deriveReportingKeys, signRequest, trustedKeys } from '../../src/reporting/signature.ts';
import { run as receiverCommand } from '../../src/cli/commands/receiver.ts';
import { Journal, type JournalEntry } from '../../src/reporting/journal.ts';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './support.ts';

const capture = () => {
  const chunks: string[] = [];
  return { chunks, stream: new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) };
};

describe('mail transports', () => {
  it('SAUFCONDUIT_MAIL_TRANSPORT picks file (default), console or smtp (test/notify/smtp.test.ts), and nothing else', () => {
    expect(loadConfig({}, {}).mailTransport).toBe('file');
    expect(loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: 'console' }).mailTransport).toBe('console');
    expect(() => loadConfig({}, { SAUFCONDUIT_MAIL_TRANSPORT: 'sendmail' })).toThrow(/invalid configuration: mailTransport/);
    expect(createMailer('console', '/nonexistent')).toBeInstanceOf(ConsoleMailer);
    expect(createMailer('file', '/tmp/x')).toBeInstanceOf(FileMailer);
  });

  it('the console transport prints the message, framed apart from the JSON log lines', async () => {
    const out = capture();
    await new ConsoleMailer(out.stream).send({ to: 'a@example.org', subject: 'S', text: 'line 1\nline 2' });
    expect(out.chunks.join('')).toBe('----- mail (console transport) -----\nTo: a@example.org\nSubject: S\n\nline 1\nline 2\n----- end of mail -----\n');
  });

  it('reporting settings are validated at boot', () => {
    expect(loadConfig({}, {})).toMatchObject({ reportIdentity: 'identified', reportTimeoutSeconds: 10 });
    expect(loadConfig({}, {}).reportUrl).toBeUndefined();
    expect(loadConfig({}, { SAUFCONDUIT_REPORT_URL: 'https://si-dep.example/fhir' }).reportUrl).toBe('https://si-dep.example/fhir');
    expect(() => loadConfig({}, { SAUFCONDUIT_REPORT_URL: 'ftp://x/' })).toThrow(/reportUrl/);
    expect(() => loadConfig({}, { SAUFCONDUIT_REPORT_IDENTITY: 'anonymous' })).toThrow(/reportIdentity/);
  });
});

describe('saufconduit receiver list', () => {
  it('prints what the receiver stored, from its journal, without bodies', async () => {
    const dir = await tempDir('receiver-list');
    try {
      const keys = await deriveReportingKeys(randomBytes(32).toString('base64'));
      const receiver = await startReceiver({ dir: dir.path, trusted: trustedKeys({ keys: [keys.publicJwk] }) });
      const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Observation', identifier: [{ value: 'urn:uuid:r1' }] } }] });
      const res = await fetch(receiver.url, {
        method: 'POST', body,
        headers: { 'content-type': 'application/fhir+json', 'idempotency-key': 'list-0001', 'jws-signature': await signRequest(body, keys.signing, keys.publicJwk.kid, 'list-0001', new Date()) },
      });
      expect(res.status).toBe(201);
      await receiver.close();
      const out = capture();
      const err = capture();
      expect(await receiverCommand(['list', '--dir', dir.path, '--json'], { stdin: new PassThrough(), stdout: out.stream, stderr: err.stream })).toBe(0);
      const listed = JSON.parse(out.chunks.join(''));
      expect(listed).toMatchObject({ count: 1, items: [{ seq: 1, idempotencyKey: 'list-0001', observations: ['urn:uuid:r1'], kid: keys.publicJwk.kid }] });
      expect(listed.items[0]).not.toHaveProperty('body');
      expect(await receiverCommand(['nonsense'], { stdin: new PassThrough(), stdout: out.stream, stderr: err.stream })).toBe(2);
    } finally {
      await dir.remove();
    }
  });
});

describe('receiver journal', () => {
  const entry = (key: string) => (seq: number): JournalEntry => ({ seq, idempotencyKey: key, bodySha256: 'x', receivedAt: new Date().toISOString(), kid: 'k', observations: [key] });

  it('stores concurrent requests with one key once, and each of many keys once', async () => {
    const dir = await tempDir('journal');
    try {
      const j = await Journal.open(dir.path);
      const same = await Promise.all(Array.from({ length: 5 }, () => j.admit('key-same', entry('key-same'))));
      expect(same.filter((r) => r.created).length).toBe(1);
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => j.admit(`key-${i}`, entry(`key-${i}`))));
      expect(many.every((r) => r.created)).toBe(true);
      expect(j.entries().map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
      await j.close();
    } finally {
      await dir.remove();
    }
  });

  it('drops a torn last line (never acknowledged) and keeps everything before it', async () => {
    const dir = await tempDir('journal-torn');
    try {
      const j = await Journal.open(dir.path);
      await j.admit('key-a', entry('key-a'));
      await j.admit('key-b', entry('key-b'));
      await j.close();
      await appendFile(join(dir.path, 'received.jsonl'), '{"seq":3,"idempotencyKey":"key-c","bodySh');
      const again = await Journal.open(dir.path);
      expect(again.entries().map((e) => e.idempotencyKey)).toEqual(['key-a', 'key-b']);
      expect((await again.admit('key-c', entry('key-c'))).entry.seq).toBe(3);
      await again.close();
      const lines = (await readFile(join(dir.path, 'received.jsonl'), 'utf8')).split('\n');
      expect(lines.filter(Boolean).map((l) => JSON.parse(l).idempotencyKey)).toEqual(['key-a', 'key-b', 'key-c']);
    } finally {
      await dir.remove();
    }
  });
});
