/**
 * French social-security number (NIR): 13 characters then a 2-digit key = 97 − (number mod 97).
 * Corsica uses 2A/2B in the department, replaced by 19/18 for the key computation.
 */
export function isValidNir(nir: string): boolean {
  if (!/^[12][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}[0-9]{2}$/.test(nir)) return false;
  const body = nir.slice(0, 13).replace('2A', '19').replace('2B', '18');
  const key = Number(nir.slice(13));
  return 97 - Number(BigInt(body) % 97n) === key;
}

/** A NIR as people type it from the card (`2 95 08 75 056 123 81`, with dashes or dots): its 15 characters. */
export const compactNir = (typed: string): string => typed.replace(/[\s.\-\u00a0\u202f]/g, '').toUpperCase();

/** Shows only the last three digits and the key: enough to recognise, not to reuse. */
export const maskNir = (nir: string): string => `• ••• •• •• ••• ${nir.slice(10, 13)} ${nir.slice(13)}`;
