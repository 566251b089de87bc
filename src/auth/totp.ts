import { generateSecret, generateURI, generate, verify } from 'otplib';

export const newTotpSecret = (): string => generateSecret();

export const totpUri = (secret: string, label: string): string => generateURI({ issuer: 'Saufconduit', label, secret });

/** The current code (demo helper and tests). */
export const totpNow = (secret: string, at = new Date()): Promise<string> => generate({ secret, epoch: Math.floor(at.getTime() / 1000) });

/**
 * Checks a TOTP code (RFC 6238, 30 s steps, ±1 step for clock drift) and refuses any step already
 * used, so an intercepted code cannot be replayed. Returns the accepted step.
 */
export async function checkTotp(secret: string, code: string, lastStep: number, at: Date): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  // A malformed stored secret or any library error is a failed check, not a crash.
  const result = await verify({ secret, token: code, epoch: Math.floor(at.getTime() / 1000), epochTolerance: 30, afterTimeStep: lastStep }).catch(() => null);
  return result?.valid && 'timeStep' in result ? result.timeStep : null;
}
