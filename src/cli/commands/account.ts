import { randomUUID } from 'node:crypto';
import type { CliIo } from '../io.ts';
import { EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE } from '../io.ts';
import { parse } from '../args.ts';
import { loadConfig } from '../../config/config.ts';
import { openApp } from '../../app.ts';
import { findAccountByLogin } from '../../domain/accounts.ts';
import { disableAccount } from '../../auth/login.ts';
import { createEnrolment, ENROLLED_ROLES, ENROLMENT_TTL_HOURS, type EnrolledRole } from '../../domain/enrolment.ts';
import { isUuid } from '../../store/db.ts';
import { PROFESSIONS, ProfessionalInput } from '../../domain/professionals.ts';

const usage = `usage: saufconduit account create --role staff|dpo --login EMAIL --name NAME [--tenant ID|SLUG]
       saufconduit account create --role professional --login EMAIL --name NAME --profession ${PROFESSIONS.join('|')}
                                  --rpps NUMBER [--family-name NAME] [--organisation NAME]
       saufconduit account disable LOGIN
`;

/**
 * `account create`: enrols a real person (staff of a pharmacy, a DPO): prints a one-time link, valid
 * ENROLMENT_TTL_HOURS, where they set a password and their authenticator; run again for a person not
 * enrolled yet, it gives a new link that replaces the earlier one. The account cannot log in before.
 *
 * `account disable LOGIN`: the operator's lock for a compromised or departed account. It ends every
 * session at once, refuses every later login and revokes the API keys the account created; audited
 * as `account.disable` by `system:operator`.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') return create(rest, io);
  const [login, ...extra] = rest;
  if (sub !== 'disable' || !login || extra.length > 0) {
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

async function create(argv: string[], io: CliIo): Promise<number> {
  const args = parse(argv, {
    role: { type: 'string' }, login: { type: 'string' }, name: { type: 'string' }, tenant: { type: 'string' },
    profession: { type: 'string' }, rpps: { type: 'string' }, 'family-name': { type: 'string' }, organisation: { type: 'string' },
  });
  const v = args.ok ? args.values : null;
  const email = /^[^\s@]{1,64}@[^\s@]{1,253}\.[^\s@]{2,}$/;
  if (!v || !v.role || !(ENROLLED_ROLES as readonly string[]).includes(v.role) || !v.login || !email.test(v.login) || !v.name?.trim() || v.name.length > 100) {
    io.stderr.write(`${args.ok ? '' : `${args.error}\n`}${usage}`);
    return EXIT_USAGE;
  }
  const role = v.role as EnrolledRole;
  let professional: Omit<ProfessionalInput, 'displayName'> | undefined;
  if (role === 'professional') {
    // The family name is the name's last word unless given (compared with patients' for the alert rules).
    const parsed = ProfessionalInput.omit({ displayName: true }).safeParse({
      profession: v.profession, rpps: v.rpps, familyName: v['family-name'] ?? v.name.trim().split(/\s+/).at(-1), ...(v.organisation ? { organisation: v.organisation } : {}),
    });
    if (!parsed.success) {
      io.stderr.write(`${parsed.error.issues.map((i) => `--${String(i.path[0]).replace('familyName', 'family-name')}: ${i.message}`).join('; ')}\n${usage}`);
      return EXIT_USAGE;
    }
    professional = parsed.data;
  } else if (v.profession || v.rpps || v['family-name'] || v.organisation) {
    io.stderr.write(`only a professional has a profession, an RPPS number or an organisation\n${usage}`);
    return EXIT_USAGE;
  }
  if ((role === 'staff') !== Boolean(v.tenant)) {
    io.stderr.write(`${role === 'staff' ? 'staff belong to a pharmacy: give --tenant' : 'only staff belong to a pharmacy: no --tenant'}\n${usage}`);
    return EXIT_USAGE;
  }
  const app = await openApp(loadConfig(), { issuer: false });
  try {
    let tenantId: string | null = null;
    if (v.tenant) {
      const [row] = await app.db.query<{ id: string }>(isUuid(v.tenant) ? 'SELECT id FROM tenant WHERE id = $1' : 'SELECT id FROM tenant WHERE slug = $1', [v.tenant]);
      if (!row) {
        io.stderr.write('no tenant has this id or slug (saufconduit tenant create)\n');
        return EXIT_NEGATIVE;
      }
      tenantId = row.id;
    }
    let made;
    try {
      made = await createEnrolment(app, { role, login: v.login, displayName: v.name.trim(), tenantId, ...(professional ? { professional } : {}) }, `cli-${randomUUID()}`);
    } catch (err) {
      io.stderr.write(`${(err as Error).message}\n`);
      return EXIT_NEGATIVE;
    }
    io.stdout.write(`${made.renewed ? 'account not enrolled yet: new enrolment link (earlier ones no longer work)' : `account ${made.accountId} created (${role})`}
Send this one-time link to ${v.login} (valid ${ENROLMENT_TTL_HOURS} hours, until ${made.expiresAt}); they set a password and their authenticator there:
${made.url}
`);
    return EXIT_OK;
  } finally {
    await app.close();
  }
}
