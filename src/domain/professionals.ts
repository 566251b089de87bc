import { z } from 'zod';
import type { Queryable } from '../store/db.ts';
import type { Work } from './work.ts';

/**
 * Health professionals: a profession, a national professional identifier (RPPS), the name shown to
 * patients, an optional organisation. These are public facts (the national directory publishes
 * them). The family name's keyed hash lets the alert rules spot a professional reading a patient who
 * shares it (a relative, a neighbour) without reading either name.
 */
export const PROFESSIONS = ['physician', 'pharmacist', 'nurse', 'midwife', 'dentist', 'physiotherapist', 'biologist'] as const;
export type Profession = (typeof PROFESSIONS)[number];

/** RPPS numbers: 11 digits, the last a Luhn check digit over the first ten. */
export function isValidRpps(rpps: string): boolean {
  if (!/^\d{11}$/.test(rpps)) return false;
  let sum = 0;
  for (let i = 0; i < 11; i++) {
    let d = Number(rpps[10 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** A valid RPPS number from ten digits (tests and the demo world). */
export function rppsFrom(tenDigits: string): string {
  for (let k = 0; k <= 9; k++) if (isValidRpps(`${tenDigits}${k}`)) return `${tenDigits}${k}`;
  throw new Error('unreachable: one Luhn digit always fits');
}

/** A family name as compared across people: letters only, no accents, upper case. */
export const normaliseFamilyName = (name: string): string =>
  name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toUpperCase().replace(/[^\p{L}]/gu, '');

/** The keyed label a family name is compared by (see Work.blindIndex). */
export const familyNameLabel = (name: string): string => `family-name:${normaliseFamilyName(name)}`;

export const ProfessionalInput = z.strictObject({
  profession: z.enum(PROFESSIONS),
  rpps: z.string().refine(isValidRpps, 'invalid-rpps'),
  displayName: z.string().trim().min(1).max(100),
  familyName: z.string().trim().min(1).max(100),
  organisation: z.string().trim().min(1).max(100).optional(),
});
export type ProfessionalInput = z.infer<typeof ProfessionalInput>;

/** What a patient sees of a professional (in care lists, in the access history). */
export interface ProfessionalView {
  id: string;
  name: string;
  profession: Profession;
  organisation: string | null;
}

type Row = { account_id: string; display_name: string; profession: Profession; organisation: string | null };
const view = (r: Row): ProfessionalView => ({ id: r.account_id, name: r.display_name, profession: r.profession, organisation: r.organisation });

/** A professional by their RPPS number (how a patient names the professional they choose). */
export async function findProfessionalByRpps(db: Queryable, rpps: string): Promise<ProfessionalView | null> {
  const [row] = await db.query<Row>(
    'SELECT p.account_id, p.display_name, p.profession, p.organisation FROM professional p JOIN account a ON a.id = p.account_id WHERE p.rpps = $1 AND a.disabled_at IS NULL', [rpps]);
  return row ? view(row) : null;
}

/** Several professionals by account id (for the access history and care lists). */
export async function professionalsById(db: Queryable, ids: readonly string[]): Promise<Map<string, ProfessionalView>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<Row>('SELECT account_id, display_name, profession, organisation FROM professional WHERE account_id::text = ANY(string_to_array($1, \',\'))', [ids.join(',')]);
  return new Map(rows.map((r) => [r.account_id, view(r)]));
}

/**
 * A patient looks up the professional they want to put in care by RPPS number (printed on
 * prescriptions, published in the national directory): exactly one answer or none, never a search.
 */
export async function lookupProfessional(w: Work, rpps: string): Promise<ProfessionalView[]> {
  w.access('professional.lookup', { type: 'self' }, { resourceType: 'Practitioner', resourceId: null, subjectRef: null });
  const found = await findProfessionalByRpps(w.tx, rpps);
  return found ? [found] : [];
}
