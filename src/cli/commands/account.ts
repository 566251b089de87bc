import { randomUUID } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { findAccountByLogin } from '../../domain/accounts.ts';
import { disableAccount } from '../../auth/login.ts';

const usage = 'usage: saufconduit account disable LOGIN\n';

/**
 * `account disable LOGIN`: the operator's lock for a compromised or departed account. It ends every
 * session at once and refuses every later login; audited as `account.disable` by `system:operator`.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, login, ...rest] = argv;
  if (sub !== 'disable' || !login || rest.length > 0) {
    io.stderr.write(usage);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { migrate: false, issuer: false });
  try {
    const account = await findAccountByLogin(app.db, app.keys, login);
    if (!account) {
      io.stderr.write('no account has this login\n');
      return EXIT_NEGATIVE;
    }
    const { changed, revokedKeys } = await disableAccount(app, account.id, `cli-${randomUUID()}`);
    io.stdout.write(changed ? `account ${account.id} disabled; its sessions are ended\n` : `account ${account.id} was already disabled\n`);
    if (revokedKeys.length > 0) io.stdout.write(`API keys it created, now revoked (${revokedKeys.length}): ${revokedKeys.join(', ')}\n`);
    return EXIT_OK;
  } finally {
    await app.close();
  }
}
