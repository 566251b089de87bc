import type { CliIo } from '../io.ts';
import { EXIT_OK, usageError } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { SCHEDULE, NOT_PERSONAL } from '../../retention/schedule.ts';
import { retentionDryRun } from '../../retention/dry-run.ts';
import { runRetention } from '../../retention/job.ts';

const usage = `usage: saufconduit retention show [--json]
       saufconduit retention run --dry-run [--at ISO-DATE] [--json]
       saufconduit retention run [--json]     (what the server does daily: removes what has expired today)
`;

/**
 * `retention show`: the retention schedule (every category of personal data: where it lives, why,
 * on what basis, how long, what happens at the end). `retention run --dry-run`: what a run at a
 * date would remove per category, changing nothing (the DPO's "what goes next month?").
 * `retention run`: the run the server makes daily, now.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'show') {
    const args = parse(rest, { json: { type: 'boolean' } });
    if (!args.ok) return usageError(io, usage, args.error);
    if (args.values.json) {
      io.stdout.write(JSON.stringify({ categories: SCHEDULE.map(({ expired: _rules, ...c }) => c), notPersonal: NOT_PERSONAL }, null, 2) + '\n');
      return EXIT_OK;
    }
    for (const c of SCHEDULE) {
      io.stdout.write(`${c.category}: ${c.data}\n  purpose: ${c.purpose}\n  legal basis: ${c.legalBasis}\n  kept: ${c.period}, from when ${c.clock}; then ${c.end === 'delete' ? 'deleted' : 'anonymised'}\n`
        + `  source: ${c.source}\n  in: ${c.holds.map((h) => (h.columns === '*' ? h.table : `${h.table} (${h.columns.join(', ')})`)).join(', ')}\n\n`);
    }
    io.stdout.write(`Not personal data: ${NOT_PERSONAL.map((n) => n.table).join(', ')}\n`);
    return EXIT_OK;
  }
  if (sub === 'run') {
    const args = parse(rest, { 'dry-run': { type: 'boolean' }, at: { type: 'string' }, json: { type: 'boolean' } });
    if (!args.ok) return usageError(io, usage, args.error);
    const at = args.values.at === undefined ? new Date() : new Date(args.values.at);
    if (Number.isNaN(at.getTime()) || (args.values.at !== undefined && !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(args.values.at))) return usageError(io, usage, '--at takes an ISO date or date-time (2027-01-31, 2027-01-31T12:00:00Z)');
    // Removing data as of another date than today would remove what the schedule still keeps.
    if (!args.values['dry-run'] && args.values.at !== undefined) return usageError(io, usage, '--at goes with --dry-run only: a real run removes what has expired today');
    const app = await openApp(loadConfig(), { issuer: false });
    try {
      if (!args.values['dry-run']) {
        // Progress on stderr, a line per committed batch: a long run shows it is alive, and where it is.
        const done = await runRetention(app, new Date(), { onBatch: (category, rows) => io.stderr.write(`${category}: ${rows} removed\n`) });
        if (args.values.json) io.stdout.write(JSON.stringify(done) + '\n');
        else for (const [category, n] of Object.entries(done.removed)) io.stdout.write(`${category.padEnd(18)} ${String(n).padStart(8)} removed\n`);
        return EXIT_OK;
      }
      const report = await retentionDryRun(app.db, at);
      if (args.values.json) io.stdout.write(JSON.stringify(report) + '\n');
      else {
        io.stdout.write(`A retention run at ${report.at} would remove:\n`);
        for (const c of report.categories) io.stdout.write(`  ${c.category.padEnd(18)} ${String(c.count).padStart(8)} ${c.action === 'delete' ? 'deleted' : 'anonymised'} (${c.kept} kept)  [${c.tables.join(', ')}]\n`);
      }
      return EXIT_OK;
    } finally {
      await app.close();
    }
  }
  return usageError(io, usage);
}
