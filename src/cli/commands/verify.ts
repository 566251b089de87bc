/**
 * `saufconduit verify --trust FILE [--revoked FILE] [--at ISO-8601] [--tolerance SECONDS] [--json] (QR | -)`
 * `saufconduit verify --trust FILE [...] --jsonl` — one QR per stdin line, one JSON result per line.
 *
 * Exit codes: 0 valid (every pass valid in --jsonl), 1 invalid (any, in --jsonl), 2 usage error.
 * JSON result: {"valid", "reason", "type", "holder": {"name", "dob"} | null}; `name` is
 * "<given name> <family name>" (transliterated forms when the plain ones are absent).
 * This command reads the clock (default `--at`) and files; the verification core does neither.
 */
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { verifyHc1, verifyHc1Many, type VerifyResult } from '../../hcert/verify.ts';
import { parseTrustList, type TrustList } from '../../hcert/trust-list.ts';
import { parseRevocationList, EMPTY_REVOCATION_LIST, type RevocationList } from '../../hcert/revocation.ts';
import { validateDcc } from '../../hcert/schema.ts';
import { nodeBackend } from '../../hcert/node.ts';

const USAGE = `usage: saufconduit verify --trust FILE [--revoked FILE] [--at ISO-8601] [--tolerance SECONDS] [--json] (QR | -)
       saufconduit verify --trust FILE [--revoked FILE] [--at ISO-8601] [--tolerance SECONDS] --jsonl  < one QR per line
`;

/** The contract's JSON shape (stable: black-box tests and scripts parse it). */
export function resultJson(r: VerifyResult): string {
  return JSON.stringify({ valid: r.valid, reason: r.reason, type: r.type, holder: r.holder ? { name: r.holder.name, dob: r.holder.dob } : null });
}

function human(r: VerifyResult): string {
  if (r.valid) return `VALID ${r.type} pass for ${r.holder.name} (born ${r.holder.dob || 'unknown'}), signed by ${r.signer.country ?? '?'} key ${r.signer.kid}\n`;
  return `INVALID: ${r.reason}${r.reason === 'signature' ? '' : ` (${r.detail})`}\n`;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  let trustList: TrustList;
  let revocation: RevocationList = EMPTY_REVOCATION_LIST;
  let at: Date;
  let tolerance = 0;
  try {
    opts = parseArgs(argv, { values: ['trust', 'revoked', 'at', 'tolerance'], flags: ['json', 'jsonl', 'help'] });
    if (opts.flags.has('help')) {
      io.stdout.write(USAGE);
      return EXIT_OK;
    }
    const trust = opts.values.get('trust');
    if (!trust) throw new UsageError('--trust FILE is required');
    trustList = parseTrustList(readJson(trust, 'trust list'), nodeBackend);
    const revoked = opts.values.get('revoked');
    if (revoked) revocation = parseRevocationList(readJson(revoked, 'revocation list'));
    const atText = opts.values.get('at');
    // ISO-8601 with a date part; a bare number or free text is refused rather than guessed.
    if (atText !== undefined && !/^\d{4}-\d\d-\d\d/.test(atText)) throw new UsageError(`--at: not an ISO-8601 date-time: ${atText}`);
    at = atText === undefined ? new Date() : new Date(atText);
    if (Number.isNaN(at.getTime())) throw new UsageError(`--at: not an ISO-8601 date-time: ${atText}`);
    const tol = opts.values.get('tolerance');
    if (tol !== undefined) {
      tolerance = Number(tol);
      if (!/^\d+$/.test(tol)) throw new UsageError('--tolerance: whole seconds expected');
    }
    if (opts.flags.has('jsonl')) {
      if (opts.positionals.length > 1 || (opts.positionals.length === 1 && opts.positionals[0] !== '-')) throw new UsageError('--jsonl reads QR texts from stdin only');
    } else if (opts.positionals.length !== 1) throw new UsageError('exactly one QR text (or - for stdin) is required');
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    io.stderr.write(`verify: ${err.message}\n${USAGE}`);
    return EXIT_USAGE;
  }

  const options = { trustList, backend: nodeBackend, validateDcc, at, clockToleranceSeconds: tolerance, revocation };

  if (opts.flags.has('jsonl')) {
    let allValid = true;
    let buffered = '';
    let lines: string[] = [];
    // Inside a line longer than any pass: its first MAX_LINE characters stand for it (they fail as
    // `format`), and the rest is skipped up to its newline, so output lines still match input lines.
    let skipping = false;
    // Lines are verified in batches (verifyHc1Many: same results, faster in bulk); the results of
    // what has been read are written before the next read, so output follows input closely, and
    // reading waits while stdout is full, so memory stays bounded whatever the input size.
    const flush = async () => {
      if (lines.length === 0) return;
      let out = '';
      for (const r of verifyHc1Many(lines, options)) {
        if (!r.valid) allValid = false;
        out += resultJson(r) + '\n';
      }
      lines = [];
      if (!io.stdout.write(out)) await once(io.stdout, 'drain');
    };
    const take = (line: string) => {
      const text = line.trim();
      if (text) lines.push(text);
    };
    for await (const chunk of io.stdin) {
      buffered += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        if (skipping) skipping = false;
        else take(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      if (skipping) buffered = '';
      else if (buffered.length > MAX_LINE) {
        take(buffered.slice(0, MAX_LINE));
        buffered = '';
        skipping = true;
      }
      await flush();
    }
    if (!skipping) take(buffered);
    await flush();
    return allValid ? EXIT_OK : EXIT_NEGATIVE;
  }

  const arg = opts.positionals[0]!;
  let text = arg;
  // An oversized QR on stdin is an invalid pass, as the same text given as an argument would be:
  // reading stops at the cap and the core refuses the (over-long) text as `format`.
  if (arg === '-') text = (await readStdin(io.stdin, MAX_LINE)).trim();
  const r = verifyHc1(text, options);
  io.stdout.write(opts.flags.has('json') ? resultJson(r) + '\n' : human(r));
  return r.valid ? EXIT_OK : EXIT_NEGATIVE;
}

/** Longer than any QR text (the core refuses anything over 8,192 characters as `format`). */
const MAX_LINE = 1_000_000;

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${what} ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} ${path} is not JSON`);
  }
}

// ---------------------------------------------------------------------------------------------
// Small argument helpers, shared with `dcc.ts` (the two commands are the only owners of this code).

/** A command-line mistake: reported with the usage text and exit code 2. */
export class UsageError extends Error {}

/** Parsed arguments: `--name value` / `--name=value` options, boolean flags, positionals. */
export interface ParsedArgs {
  values: Map<string, string>;
  flags: Set<string>;
  positionals: string[];
}

/** Parse argv against the allowed option names; anything unknown is a usage error. */
export function parseArgs(argv: readonly string[], spec: { values: readonly string[]; flags: readonly string[] }): ParsedArgs {
  const out: ParsedArgs = { values: new Map(), flags: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (spec.flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (out.values.has(name)) throw new UsageError(`--${name} given twice`);
      out.values.set(name, value);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return out;
}

/**
 * Read stdin as UTF-8, at most about `max` bytes: past that, reading stops (memory stays bounded)
 * and what was read is returned, already far longer than any pass.
 */
export async function readStdin(stdin: CliIo['stdin'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(b);
    size += b.length;
    if (size > max) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}
