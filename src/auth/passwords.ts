import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2's Algorithm is a const enum (not importable under verbatimModuleSyntax): 2 = Argon2id.
const ARGON2ID = 2;

// OWASP minimum for argon2id: m=19 MiB, t=2, p=1.
const PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, PARAMS);

let dummy: Promise<string> | undefined;

/**
 * Verifies a password; for an unknown account it still runs a full argon2 verification against a
 * dummy hash, so timing does not reveal whether the login exists.
 */
export async function checkPassword(stored: string | null | undefined, password: string): Promise<boolean> {
  dummy ??= hashPassword('saufconduit-dummy-password');
  const target = stored ?? (await dummy);
  const ok = await verify(target, password).catch(() => false);
  return ok && stored != null;
}
