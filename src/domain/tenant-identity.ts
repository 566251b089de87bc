import { z } from 'zod';

/**
 * What identifies a pharmacy on its invoices (Code de commerce art. L441-9, CGI annexe II
 * art. 242 nonies A): its address, its SIRET, its FINESS number and, when it has one, its
 * intra-community VAT number. Business data, not personal data: stored in clear (migration 028).
 * Checked where they are entered, so a typo is caught there and not on a patient's invoice.
 */

/** The Luhn checksum, which SIREN and SIRET numbers satisfy (INSEE). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** People type these numbers in groups ("123 456 789 00012"): spaces and dots are dropped. */
const compact = (s: string) => s.replace(/[\s.]/g, '').toUpperCase();

/** A SIRET: 14 digits (SIREN + NIC) passing Luhn. */
export const Siret = z.string().transform(compact).pipe(z.string().regex(/^\d{14}$/, 'siret-format').refine(luhnValid, 'siret-checksum'));

/** A FINESS number: 9 characters, the first two the département (2A and 2B for Corsica). */
export const Finess = z.string().transform(compact).pipe(z.string().regex(/^(?:\d{2}|2[AB])\d{7}$/, 'finess-format'));

/**
 * A French intra-community VAT number: FR, a two-character key, the SIREN. A numeric key is
 * (12 + 3 × (SIREN mod 97)) mod 97 (CGI, DGFiP); letter keys (older numbers) are taken as they are.
 */
export const VatNumber = z.string().transform(compact).pipe(z.string().regex(/^FR[0-9A-Z]{2}\d{9}$/, 'vat-format')
  .refine((v) => !/^FR\d{2}/.test(v) || Number(v.slice(2, 4)) === (12 + 3 * (Number(v.slice(4)) % 97)) % 97, 'vat-key'));

/** A postal address on one line, as the invoice prints it. */
export const Address = z.string().trim().min(1).max(200).refine((s) => !/[\p{Cc}]/u.test(s), 'address-control-characters');

/** A pharmacy's identifiers, each optional: an invoice prints what its pharmacy has. */
export const TenantIdentity = z.strictObject({
  address: Address.optional(),
  siret: Siret.optional(),
  finess: Finess.optional(),
  vatNumber: VatNumber.optional(),
});
export type TenantIdentity = z.infer<typeof TenantIdentity>;
