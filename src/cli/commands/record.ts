import { randomUUID } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { OPERATOR } from '../../domain/work.ts';
import { isUuid } from '../../store/db.ts';

const usage = 'usage: saufconduit record unlink PATIENT_ID\n';

/**
 * `record unlink PATIENT_ID`: takes a patient record out of the patient space that holds it, or that
 * it is offered to (a record that reached the wrong space, an account taken over). The record stays at
 * its pharmacy, in nobody's space; the person can be offered it again by registering. Audited as
 * `record.unlink` by `system:operator`, under the record's subject (its holder sees it).
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, id, ...rest] = argv;
  if (sub !== 'unlink' || !id || rest.length > 0 || !isUuid(id)) {
    io.stderr.write(usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { issuer: false });
  try {
    const done = await app.uow.run(OPERATOR, `cli-${randomUUID()}`, async (w) => {
      const [row] = await w.tx.query<{ subject_ref: string; tenant_id: string; account_id: string | null; offered_to: string | null }>(
        'SELECT subject_ref, tenant_id, account_id, offered_to FROM patient WHERE id = $1', [id.toLowerCase()]);
      if (!row) return 'unknown' as const;
      if (!row.account_id && !row.offered_to) return 'unlinked' as const;
      await w.tx.query('UPDATE patient SET account_id = NULL, offered_to = NULL WHERE id = $1', [id.toLowerCase()]);
      w.record({ action: 'record.unlink', resourceType: 'Patient', resourceId: id.toLowerCase(), subjectRef: row.subject_ref, purpose: 'administration', outcome: 'success', tenantId: row.tenant_id });
      return row.account_id ? 'held' as const : 'offered' as const;
    });
    if (done === 'unknown') {
      io.stderr.write('no patient record has this id\n');
      return EXIT_NEGATIVE;
    }
    io.stdout.write(done === 'unlinked' ? `record ${id} is in no patient space\n` : `record ${id} unlinked from the patient space it was ${done === 'held' ? 'held by' : 'offered to'}\n`);
    return EXIT_OK;
  } finally {
    await app.close();
  }
}
