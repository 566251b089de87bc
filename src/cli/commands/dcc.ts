/**
 * `saufconduit dcc sign --key PEM --cert PEM [--iat ISO-8601] [--exp ISO-8601] [--issuer CC]
 *   [--qr-png FILE] [--qr-svg FILE] PAYLOAD.json` — prints the `HC1:` string of a signed pass.
 *
 * Defaults: iat = now; exp = iat + 365 days; issuer (CWT iss) = the `co` of the payload's entry.
 * The key type chooses the algorithm: P-256 → ES256, RSA → PS256.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { issueHc1 } from '../../hcert/issue.ts';
import { nodeBackend, nodeSigner } from '../../hcert/node.ts';
import { explainDcc } from '../../hcert/schema.ts';
import { HcertError } from '../../hcert/errors.ts';
import type { Json } from '../../hcert/cwt.ts';
import { parseArgs, UsageError } from './verify.ts';

const USAGE = `usage: saufconduit dcc sign --key PEM --cert PEM [--iat ISO-8601] [--exp ISO-8601] [--issuer CC] [--qr-png FILE] [--qr-svg FILE] PAYLOAD.json
`;

const DAY_MS = 86_400_000;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'sign') {
    io.stderr.write(sub ? `dcc: unknown subcommand ${sub}\n${USAGE}` : USAGE);
    return EXIT_USAGE;
  }
  let key: KeyObject;
  let certDer: Uint8Array;
  let dcc: Json;
  let iat: Date;
  let exp: Date;
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(rest, { values: ['key', 'cert', 'iat', 'exp', 'issuer', 'qr-png', 'qr-svg'], flags: [] });
    const keyPath = opts.values.get('key');
    const certPath = opts.values.get('cert');
    if (!keyPath || !certPath) throw new UsageError('--key PEM and --cert PEM are required');
    if (opts.positionals.length !== 1) throw new UsageError('exactly one PAYLOAD.json is required');
    key = createPrivateKey(read(keyPath, 'key'));
    certDer = new X509Certificate(read(certPath, 'certificate')).raw;
    dcc = JSON.parse(read(opts.positionals[0]!, 'payload')) as Json;
    iat = date(opts.values.get('iat'), 'iat') ?? new Date();
    exp = date(opts.values.get('exp'), 'exp') ?? new Date(iat.getTime() + 365 * DAY_MS);
    if (exp.getTime() <= iat.getTime()) throw new UsageError('--exp must be after --iat');
  } catch (err) {
    const message = err instanceof UsageError ? err.message : `invalid input: ${(err as Error).message}`;
    io.stderr.write(`dcc sign: ${message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  let signer: ReturnType<typeof nodeSigner>;
  try {
    signer = nodeSigner(key);
  } catch (err) {
    io.stderr.write(`dcc sign: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  try {
    const { hc1 } = issueHc1({
      dcc,
      certificateDer: certDer,
      alg: signer.alg,
      sign: signer.sign,
      backend: nodeBackend,
      issuedAt: iat,
      expiresAt: exp,
      issuer: opts.values.get('issuer') ?? entryCountry(dcc),
    });
    const png = opts.values.get('qr-png');
    const svg = opts.values.get('qr-svg');
    if (png || svg) {
      // Loaded only when asked: keeps the common path free of the QR library.
      const qr = await import('../../hcert/qr.ts');
      if (png) writeFileSync(png, await qr.qrPng(hc1));
      if (svg) writeFileSync(svg, await qr.qrSvg(hc1));
    }
    io.stdout.write(hc1 + '\n');
    return EXIT_OK;
  } catch (err) {
    if (err instanceof HcertError && err.code === 'schema') {
      const issue = explainDcc(dcc);
      io.stderr.write(`dcc sign: payload is not a valid DCC${issue ? ` (${issue.instancePath || '/'} ${issue.message})` : ''}\n`);
      return EXIT_NEGATIVE;
    }
    throw err;
  }
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${what} file ${path}`);
  }
}

function date(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  const d = /^\d{4}-\d\d-\d\d/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name}: not an ISO-8601 date-time: ${text}`);
  return d;
}

function entryCountry(dcc: Json): string | undefined {
  if (typeof dcc !== 'object' || dcc === null || Array.isArray(dcc)) return undefined;
  for (const k of ['v', 't', 'r']) {
    const group = dcc[k];
    const entry = Array.isArray(group) ? group[0] : undefined;
    if (entry && typeof entry === 'object' && !Array.isArray(entry) && typeof entry.co === 'string') return entry.co;
  }
  return undefined;
}
