import { z } from 'zod';
import { MAIL_TRANSPORTS } from '../notify/mailer.ts';
import { IDENTITY_MODES } from '../reporting/fhir.ts';
import { parseTrustProxy } from './trust-proxy.ts';

/**
 * Runtime configuration, read once from the environment, validated, frozen. Every default is
 * next to its reason. Tests build configs with `loadConfig({ …overrides })` through the same schema.
 */
const schema = z.object({
  /** TCP port; 3000 is the conventional Node dev port. */
  port: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Loopback by default: exposing the service is a deliberate deployment decision. */
  host: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL connection string; when absent the embedded PGlite store is used. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** PGlite data directory and the dev secrets file live here. */
  dataDir: z.string().min(1).default('./data'),
  /** The externally visible origin: WebAuthn relying party, links in notifications. */
  publicUrl: z.string().url().optional(),
  /**
   * The demo (SAUFCONDUIT_DEMO=1, set by `npm start`): the only way to get the demo world, the file
   * and console mail transports, keys generated into the data directory and the bundled receiver.
   * Off, `serve` refuses each of them: they are never for real patients.
   */
  demo: z.union([z.boolean(), z.stringbool()]).default(false),
  /** base64 of 32 random bytes. Required outside the demo; in the demo, generated into dataDir. */
  masterKey: z.string().optional(),
  /**
   * base64 of a 32-byte Ed25519 seed that signs audit checkpoints: a secret of its own, not derived
   * from the master key. Required outside the demo; in the demo, generated into dataDir.
   */
  auditKey: z.string().optional(),
  /** Signed audit checkpoint every N events (and at shutdown); small enough to bound unsigned tails. */
  checkpointEvery: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /**
   * …and at least every N seconds while events arrive: on a quiet platform N events may take a long
   * time, and an unsigned tail can be cut undetected by whoever owns the database.
   */
  checkpointSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
  /**
   * A directory outside the database where each signed checkpoint is also written as it is made (on
   * another volume, append-only or synced to write-once storage): `audit verify --expect DIR` then
   * catches a trail cut together with its checkpoints.
   */
  checkpointExport: z.string().min(1).optional(),
  /** Session lifetimes: idle and absolute (minutes). OWASP suggests 15–30 min idle for sensitive apps. */
  sessionIdleMinutes: z.coerce.number().int().min(1).max(24 * 60).default(30),
  sessionAbsoluteMinutes: z.coerce.number().int().min(5).max(7 * 24 * 60).default(12 * 60),
  /** Pino log level; logs never carry personal data whatever the level. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Behind a TLS-terminating proxy: how many proxies stand in front (a hop count, `1`) or their
   * addresses/CIDRs, so that the client address is the one our proxy appended to X-Forwarded-For and
   * never what the client wrote there itself. Unset: the socket's peer is the client. `true` is refused.
   */
  trustProxy: z.union([z.string(), z.boolean(), z.number()]).optional().transform((v, ctx) => {
    try {
      return parseTrustProxy(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  /**
   * Passes revoked in one hour, and revoked passes listed at once, beyond which the revocation list's
   * growth is abnormal: logged and recorded for the DPO. Each verifier downloads the whole list (a
   * verifier refuses a bundle over 8 MiB, about 90,000 entries), so the second default is a quarter of that.
   */
  revocationAlertPerHour: z.coerce.number().int().min(1).max(10_000_000).default(200),
  revocationAlertListed: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
  /** A care relationship lasts this many days unless the patient says otherwise, and never more than the maximum. */
  careDefaultDays: z.coerce.number().int().min(1).max(3650).default(90),
  careMaxDays: z.coerce.number().int().min(1).max(3650).default(365),
  /** How long the code a patient shows at the point of care stays usable (minutes; single use). */
  consentCodeMinutes: z.coerce.number().int().min(1).max(60).default(10),
  /** How long a break-the-glass opening lasts (minutes). */
  breakGlassMinutes: z.coerce.number().int().min(5).max(24 * 60).default(120),
  /** Openings a professional may make in 24 hours while they await the DPO's review; the next is refused (break_glass_limit). */
  breakGlassPerDay: z.coerce.number().int().min(1).max(1000).default(3),
  /**
   * Access-alert rules (src/alerts/rules.ts): their thresholds over a sliding window. Defaults hold
   * for actors with no history (a fresh deployment): each is far above what care or a pharmacy
   * counter does in ten minutes, far below what an extraction or an enumeration does.
   */
  alertWindowMinutes: z.coerce.number().int().min(1).max(24 * 60).default(10),
  /** Denied attempts on distinct records of others, per actor and window: an enumeration. */
  alertEnumeration: z.coerce.number().int().min(2).max(100_000).default(5),
  /** Distinct people read one by one, per actor and window (or 5× the actor's usual pace, whichever is higher): a bulk read. */
  alertBulkReads: z.coerce.number().int().min(2).max(1_000_000).default(50),
  /** Break-the-glass openings per professional in 24 hours beyond which their volume alerts. */
  alertBreakGlassPerDay: z.coerce.number().int().min(1).max(1000).default(2),
  /** Working hours (Europe/Paris), `HH:MM-HH:MM`: reads outside them alert. Unset: the rule is off. */
  alertHours: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM-HH:MM').optional(),
  /** How often this process judges new audit events (ms); 0: not in this process (another serve process judges them). */
  alertIntervalMs: z.coerce.number().int().min(0).max(60_000).default(2000),
  /** Also alert on every read of a protected record by a professional in care (off by default). */
  alertProtectedCareReads: z.union([z.boolean(), z.stringbool()]).default(false),
  /** Requests per minute per principal (or per pseudonymised IP when anonymous). */
  rateLimitPerMinute: z.coerce.number().int().min(1).max(10_000_000).default(600),
  /** Login attempts per minute per IP: tight, against credential stuffing and code guessing. */
  authRateLimitPerMinute: z.coerce.number().int().min(1).max(10_000_000).default(10),
  /**
   * Longest a client may take to send a whole request, headers and body (seconds). A client that
   * stops mid-body would otherwise hold its connection for ever; it gets 408 `request_timeout`.
   */
  requestTimeoutSeconds: z.coerce.number().min(0.5).max(600).default(30),
  /** Server processes sharing the port (node:cluster). One per core suits PostgreSQL; PGlite needs exactly one. */
  workers: z.coerce.number().int().min(1).max(64).default(1),
  /** Directory where the dev notification transport writes e-mails (one .eml file each). */
  mailDir: z.string().optional(),
  /** How patients are told about new results: `smtp` (production), `file` (.eml files in mailDir) or `console` (stderr). */
  mailTransport: z.enum(MAIL_TRANSPORTS).default('file'),
  /** The mail server for `smtp`: smtp://user:password@host:587 (STARTTLS) or smtps://…:465. */
  smtpUrl: z.url({ protocol: /^smtps?$/ }).optional(),
  /** The sender of notification mails. */
  mailFrom: z.string().trim().min(3).max(200).default('Saufconduit <no-reply@saufconduit.invalid>'),
  /**
   * Longest a mail may take to send (seconds). Below the job lease (reportTimeoutSeconds + 5), so a
   * stalled server fails the attempt before another attempt may take the mail over. Unset: 10, or
   * less when the lease is shorter.
   */
  mailTimeoutSeconds: z.coerce.number().int().min(1).max(300).optional(),
  /**
   * The national reporting endpoint (FHIR R4). Unset: reports wait in the outbox, nothing is lost;
   * `npm start` then runs the bundled demo receiver and reports to it.
   */
  reportUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Per-attempt timeout of a report request (seconds); a job's lease is this plus 5 s. */
  reportTimeoutSeconds: z.coerce.number().int().min(1).max(300).default(10),
  /** Identity sent with reports: SI-DEP needs the person (`identified`); `pseudonymous` where the endpoint allows it. */
  reportIdentity: z.enum(IDENTITY_MODES).default('identified'),
});

/**
 * A delivery job's lease (seconds): longer than one report attempt, so a slow attempt is never run
 * twice at once. Mail sends must give up within it.
 */
export const jobLeaseSeconds = (reportTimeoutSeconds: number): number => reportTimeoutSeconds + 5;

export type Config = Readonly<Omit<z.infer<typeof schema>, 'mailTimeoutSeconds'> & { mailTimeoutSeconds: number; publicUrl: string; secureCookies: boolean }>;

export function loadConfig(overrides: Partial<Record<keyof z.infer<typeof schema>, unknown>> = {}, env = process.env): Config {
  const raw = {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.SAUFCONDUIT_DATA,
    publicUrl: env.SAUFCONDUIT_PUBLIC_URL,
    demo: env.SAUFCONDUIT_DEMO || undefined,
    masterKey: env.SAUFCONDUIT_MASTER_KEY || undefined,
    auditKey: env.SAUFCONDUIT_AUDIT_KEY || undefined,
    checkpointEvery: env.SAUFCONDUIT_CHECKPOINT_EVERY,
    checkpointSeconds: env.SAUFCONDUIT_CHECKPOINT_SECONDS,
    checkpointExport: env.SAUFCONDUIT_CHECKPOINT_EXPORT || undefined,
    sessionIdleMinutes: env.SAUFCONDUIT_SESSION_IDLE_MINUTES,
    sessionAbsoluteMinutes: env.SAUFCONDUIT_SESSION_ABSOLUTE_MINUTES,
    logLevel: env.LOG_LEVEL,
    trustProxy: env.SAUFCONDUIT_TRUST_PROXY,
    mailDir: env.SAUFCONDUIT_MAIL_DIR,
    mailTransport: env.SAUFCONDUIT_MAIL_TRANSPORT,
    smtpUrl: env.SAUFCONDUIT_SMTP_URL || undefined,
    mailFrom: env.SAUFCONDUIT_MAIL_FROM,
    mailTimeoutSeconds: env.SAUFCONDUIT_MAIL_TIMEOUT_SECONDS,
    reportUrl: env.SAUFCONDUIT_REPORT_URL || undefined,
    reportTimeoutSeconds: env.SAUFCONDUIT_REPORT_TIMEOUT_SECONDS,
    reportIdentity: env.SAUFCONDUIT_REPORT_IDENTITY,
    rateLimitPerMinute: env.SAUFCONDUIT_RATE_LIMIT,
    workers: env.SAUFCONDUIT_WORKERS,
    requestTimeoutSeconds: env.SAUFCONDUIT_REQUEST_TIMEOUT_SECONDS,
    authRateLimitPerMinute: env.SAUFCONDUIT_AUTH_RATE_LIMIT,
    revocationAlertPerHour: env.SAUFCONDUIT_REVOCATION_ALERT_PER_HOUR,
    careDefaultDays: env.SAUFCONDUIT_CARE_DEFAULT_DAYS,
    careMaxDays: env.SAUFCONDUIT_CARE_MAX_DAYS,
    consentCodeMinutes: env.SAUFCONDUIT_CONSENT_CODE_MINUTES,
    breakGlassMinutes: env.SAUFCONDUIT_BREAK_GLASS_MINUTES,
    breakGlassPerDay: env.SAUFCONDUIT_BREAK_GLASS_PER_DAY,
    alertWindowMinutes: env.SAUFCONDUIT_ALERT_WINDOW_MINUTES,
    alertEnumeration: env.SAUFCONDUIT_ALERT_ENUMERATION,
    alertBulkReads: env.SAUFCONDUIT_ALERT_BULK_READS,
    alertBreakGlassPerDay: env.SAUFCONDUIT_ALERT_BREAK_GLASS_PER_DAY,
    alertHours: env.SAUFCONDUIT_ALERT_HOURS || undefined,
    alertIntervalMs: env.SAUFCONDUIT_ALERT_INTERVAL_MS,
    alertProtectedCareReads: env.SAUFCONDUIT_ALERT_PROTECTED_CARE_READS || undefined,
    revocationAlertListed: env.SAUFCONDUIT_REVOCATION_ALERT_LISTED,
    ...overrides,
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${detail}`);
  }
  if (parsed.data.mailTransport === 'smtp' && !parsed.data.smtpUrl) throw new Error('invalid configuration: smtpUrl: SAUFCONDUIT_SMTP_URL is required with SAUFCONDUIT_MAIL_TRANSPORT=smtp');
  const lease = jobLeaseSeconds(parsed.data.reportTimeoutSeconds);
  if (parsed.data.mailTimeoutSeconds !== undefined && parsed.data.mailTimeoutSeconds >= lease) {
    throw new Error('invalid configuration: mailTimeoutSeconds: must be below the job lease, SAUFCONDUIT_REPORT_TIMEOUT_SECONDS + 5');
  }
  if (parsed.data.careDefaultDays > parsed.data.careMaxDays) throw new Error('invalid configuration: careDefaultDays: must not exceed SAUFCONDUIT_CARE_MAX_DAYS');
  const mailTimeoutSeconds = parsed.data.mailTimeoutSeconds ?? Math.min(10, lease - 1);
  const publicUrl = parsed.data.publicUrl ?? `http://localhost:${parsed.data.port}`;
  return Object.freeze({ ...parsed.data, mailTimeoutSeconds, publicUrl, secureCookies: publicUrl.startsWith('https:') });
}
