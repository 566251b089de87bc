/**
 * The registration code a patient gets after registering at the counter: its alphabet, its
 * canonical form, and what it is hashed as. Apart from registrations.ts so that the staff search
 * can recognise a code without depending on registration itself.
 */

// Crockford base32: no I, L, O, U, so a code read aloud or typed is hard to get wrong.
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_LENGTH = 8;

/** A typed or scanned code in canonical form, or null if it cannot be one of ours. */
export function normalizeCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return s.length === CODE_LENGTH && [...s].every((c) => CODE_ALPHABET.includes(c)) ? s : null;
}

/** What a registration code is hashed as (under the lookup key): stored, and searched by staff. */
export const codeLabel = (code: string) => `registration-code:${code}`;
