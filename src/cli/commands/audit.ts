import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { verifyAudit } from '../../audit/verify.ts';
import { checkpointHead } from '../../audit/append.ts';

const usage = 'usage: saufconduit audit verify [--json] | saufconduit audit checkpoint\n';

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if ((sub !== 'verify' && sub !== 'checkpoint') || rest.some((a) => a !== '--json')) {
    io.stderr.write(usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { migrate: false, issuer: false });
  try {
    if (sub === 'checkpoint') {
      const seq = await app.db.transaction((tx) => checkpointHead(tx, { keys: app.keys, now: new Date() }));
      io.stdout.write(`checkpoint signed at event ${seq}\n`);
      return EXIT_OK;
    }
    const verdict = await verifyAudit(app.db, app.keys.auditVerify);
    if (rest.includes('--json')) io.stdout.write(JSON.stringify(verdict) + '\n');
    else if (verdict.ok) io.stdout.write(`audit trail intact: ${verdict.eventsChecked} events, ${verdict.checkpointsChecked} signed checkpoints verified\n`);
    else io.stdout.write(`AUDIT TRAIL BROKEN at event ${verdict.firstBad!.seq}: ${verdict.firstBad!.problem} (${verdict.eventsChecked} events verified before it)\n`);
    return verdict.ok ? EXIT_OK : EXIT_NEGATIVE;
  } finally {
    // No checkpoint on the way out of a verification: it must not change what it inspects.
    await app.db.close();
  }
}
