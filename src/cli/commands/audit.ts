import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { unsignedBounds, verifyAudit } from '../../audit/verify.ts';
import { checkpointHead } from '../../audit/append.ts';
import { readExported, type Checkpoint } from '../../audit/export.ts';
import { AUDIT_RETENTION_MONTHS } from '../../retention/schedule.ts';

const usage = 'usage: saufconduit audit verify [--json] [--expect DIR] | saufconduit audit checkpoint\n';

/**
 * `audit verify`: recomputes the chain and its signed checkpoints; with `--expect DIR` (the
 * SAUFCONDUIT_CHECKPOINT_EXPORT directory), also fails when the trail ends before the newest exported
 * checkpoint or disagrees with any of them. `audit checkpoint`: signs the head now (and exports it).
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(rest, { json: { type: 'boolean' }, expect: { type: 'string' } });
  if ((sub !== 'verify' && sub !== 'checkpoint') || !args.ok || (sub === 'checkpoint' && (args.values.json || args.values.expect))) {
    io.stderr.write(usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { migrate: false, issuer: false });
  try {
    if (sub === 'checkpoint') {
      const signed = await app.db.transaction((tx) => checkpointHead(tx, { ...app.signing, now: new Date() }));
      if (signed) await app.checkpoints?.write([signed]);
      io.stdout.write(signed ? `checkpoint signed at event ${signed.seq}\n` : 'the head is already signed (or the trail is empty)\n');
      return EXIT_OK;
    }
    let expected: Checkpoint[] | undefined;
    if (args.values.expect) {
      try {
        expected = await readExported(args.values.expect, app.keys.auditVerifiers);
      } catch (err) {
        io.stderr.write(`${(err as Error).message}\n`);
        return EXIT_NEGATIVE;
      }
    }
    const verdict = await verifyAudit(app.db, app.keys, { unsigned: unsignedBounds(app.config, new Date()), pruned: { retentionMonths: AUDIT_RETENTION_MONTHS, now: new Date() }, ...(expected ? { expected } : {}) });
    if (args.values.json) io.stdout.write(JSON.stringify(verdict) + '\n');
    else if (verdict.ok) {
      const exported = expected ? `, held against ${verdict.exportedChecked} exported checkpoints (newest at event ${Math.max(0, ...expected.map((c) => c.seq))})` : '';
      io.stdout.write(`audit trail intact: ${verdict.eventsChecked} events, ${verdict.checkpointsChecked} signed checkpoints verified${exported}\n`);
    } else io.stdout.write(`AUDIT TRAIL BROKEN at event ${verdict.firstBad!.seq}: ${verdict.firstBad!.problem} (${verdict.eventsChecked} events verified before it)\n`);
    return verdict.ok ? EXIT_OK : EXIT_NEGATIVE;
  } finally {
    // No checkpoint on the way out of a verification: it must not change what it inspects.
    await app.db.close();
  }
}
