import { mkdir, writeFile } from 'node:fs/promises';
import nodemailer, { type Transporter } from 'nodemailer';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Sends notifications to people: SMTP in production, a file or the console in development. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
  /** Lets go of connections (the SMTP pool) when the process stops. */
  close?(): void;
}

export interface SmtpOptions {
  /**
   * `smtp://user:pass@host:587` (STARTTLS, required) or `smtps://…:465` (TLS from the start). Only
   * for a relay on the same host or network that has no TLS: `smtp://relay:25?requireTLS=false`.
   */
  url: string;
  from: string;
  /** Longest a send may take, queueing for a pooled connection included. */
  timeoutMs: number;
}

/**
 * Production transport: SMTP through nodemailer, on a small pool of kept-alive connections. A send
 * is given up after `timeoutMs` all told, so a stalled mail server fails the attempt (the job
 * retries it) before the notification's claim runs out and another attempt could send it again.
 * STARTTLS is required: a server (or someone in the path) that does not offer it gets neither the
 * password nor a login code in clear.
 */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  constructor(private readonly opts: SmtpOptions) {
    this.transport = nodemailer.createTransport({
      url: opts.url, pool: true, maxConnections: 5, maxMessages: 500, requireTLS: true,
      connectionTimeout: opts.timeoutMs, greetingTimeout: opts.timeoutMs, socketTimeout: opts.timeoutMs, dnsTimeout: opts.timeoutMs,
      // Our messages are plain text we compose: nothing may pull in a file or a URL.
      disableFileAccess: true, disableUrlAccess: true,
    });
  }
  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.opts.from, to: mail.to, subject: mail.subject, text: mail.text, signal: AbortSignal.timeout(this.opts.timeoutMs) });
  }
  close(): void {
    this.transport.close();
  }
}

/**
 * Development transport: one RFC 5322 file per message in a directory. The application log only
 * says that a message was written, never to whom or what.
 */
export class FileMailer implements Mailer {
  /** The directory, created on first use (once, not per message). */
  private ready: Promise<unknown> | undefined;
  constructor(private readonly dir: string) {}
  async send(mail: Mail): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await this.ready;
    } catch (err) {
      this.ready = undefined; // try again next time (the directory may be creatable later)
      throw err;
    }
    const file = join(this.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`);
    const body = `To: ${mail.to}\nFrom: Saufconduit <no-reply@saufconduit.invalid>\nSubject: ${mail.subject}\nContent-Type: text/plain; charset=utf-8\n\n${mail.text}\n`;
    try {
      await writeFile(file, body, { mode: 0o600 });
    } catch (err) {
      // The directory went away (cleaned up by hand): create it again on the retry.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.ready = undefined;
      throw err;
    }
  }
}

/**
 * Development transport: prints each message to a stream (stderr by default), framed so it stands
 * apart from the JSON log lines on stdout. For a laptop demo only: it shows addresses on the terminal.
 */
export class ConsoleMailer implements Mailer {
  constructor(private readonly out: Writable = process.stderr) {}
  async send(mail: Mail): Promise<void> {
    this.out.write(`----- mail (console transport) -----\nTo: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n----- end of mail -----\n`);
  }
}

/** The transports SAUFCONDUIT_MAIL_TRANSPORT may name. */
export const MAIL_TRANSPORTS = ['file', 'console', 'smtp'] as const;
export type MailTransport = (typeof MAIL_TRANSPORTS)[number];

/** The configured transport: `smtp` sends, `file` writes .eml files to `dir`, `console` prints to stderr. */
export function createMailer(transport: MailTransport, dir: string, smtp?: SmtpOptions): Mailer {
  if (transport === 'smtp') {
    if (!smtp) throw new Error('the smtp mail transport needs SAUFCONDUIT_SMTP_URL');
    return new SmtpMailer(smtp);
  }
  return transport === 'console' ? new ConsoleMailer() : new FileMailer(dir);
}

/** In-memory transport for tests. */
export class MemoryMailer implements Mailer {
  readonly sent: Mail[] = [];
  private waiters: (() => void)[] = [];
  async send(mail: Mail): Promise<void> {
    this.sent.push(mail);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * The first mail at index `after` or later that matches, waiting for it up to `timeoutMs`: some
   * mails (login codes) leave after the answer to the request that caused them.
   */
  async waitFor(match: (m: Mail) => boolean, { after = 0, timeoutMs = 5000 }: { after?: number; timeoutMs?: number } = {}): Promise<Mail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.sent.slice(after).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching mail within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
