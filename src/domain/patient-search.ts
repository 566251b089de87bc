import { z } from 'zod';
import type { Db, SqlParam, Tx } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import { keyedHash } from '../crypto/tokens.ts';
import type { Work } from './work.ts';
import { ownTenant } from './work.ts';
import { codeLabel, normalizeCode } from './registration-code.ts';
import { decryptPatient, type PatientRow, type PatientView } from './patients.ts';

/**
 * Staff find their pharmacy's patients by name, birth date or registration code, on a store where
 * names and birth dates are encrypted. Each record carries keyed hashes (blind indexes) of the
 * prefixes of its name words and of its birth date; a search hashes what was typed the same way and
 * the database matches hashes, never reading a name. The label hashed names the pharmacy, so the
 * same name at two pharmacies hashes differently, and the key is the deployment's lookup key, which
 * the database never holds.
 *
 * What it gives away to someone holding the database alone: which records of one pharmacy share a
 * name prefix or a birth date (not which one). The alternative considered, decrypting a pharmacy's
 * records into an in-memory index, gives away nothing at rest but costs a decryption of every record
 * per process and a cache to keep coherent across processes; bench/search measures both.
 */

/** Name words are indexed by their prefixes from this length: "ma" finds Martin and Marchand. */
export const MIN_PREFIX = 2;
/** …up to this length (a longer word typed in full matches on its first 20 letters). */
export const MAX_PREFIX = 20;
/** Most words (and a date) one search matches on. */
export const MAX_LABELS = 8;
/** Results per page. */
export const SEARCH_PAGE = 50;

/** A name folded for matching: no accents, no case; words split on anything but letters and digits. */
export function nameWords(name: string): string[] {
  return name.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
}

/** Every label a record is findable by: the prefixes of its name words, and its birth date. */
export function searchLabels(p: { givenName: string; familyName: string; birthDate: string }): string[] {
  const labels = new Set<string>([`birth:${p.birthDate}`]);
  for (const word of [...nameWords(p.givenName), ...nameWords(p.familyName)]) {
    for (let n = MIN_PREFIX; n <= Math.min(word.length, MAX_PREFIX); n++) labels.add(`name:${word.slice(0, n)}`);
  }
  return [...labels];
}

/** What a search label is hashed as, under the lookup key (Work.blindIndex). */
const termLabel = (tenantId: string, label: string) => `patient-search:${tenantId}:${label}`;

/** Indexes one record (on registration, or at start for records older than the index); `hash` is the lookup key's. */
export async function indexPatient(tx: Pick<Tx, 'query'>, hash: (label: string) => string, r: { id: string; tenantId: string; givenName: string; familyName: string; birthDate: string }): Promise<void> {
  const terms = searchLabels(r).map((l) => hash(termLabel(r.tenantId, l)));
  await tx.query(
    `INSERT INTO patient_search_term (tenant_id, term, patient_id) SELECT $1, t, $2 FROM jsonb_array_elements_text($3::text::jsonb) AS t ON CONFLICT DO NOTHING`,
    [r.tenantId, r.id, JSON.stringify(terms)]);
}

/**
 * Indexes the records registered before the index existed, in batches of their own transactions,
 * idempotent and resumable (a record is done once it has terms).
 * @returns how many records it indexed
 */
export async function indexUnsearchablePatients(db: Db, fields: FieldCipher, lookupKey: Buffer): Promise<number> {
  const BATCH = 500;
  let done = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<PatientRow>(
        `SELECT * FROM patient p WHERE NOT EXISTS (SELECT 1 FROM patient_search_term s WHERE s.patient_id = p.id) ORDER BY id LIMIT $1`, [BATCH]);
      for (const r of rows) {
        const dec = (f: string, v: string) => fields.decrypt(`patient.${f}:${r.id}`, v);
        await indexPatient(tx, (label) => keyedHash(lookupKey, label), { id: r.id, tenantId: r.tenant_id, givenName: dec('given_name', r.given_name_enc), familyName: dec('family_name', r.family_name_enc), birthDate: dec('birth_date', r.birth_date_enc) });
      }
      return rows.length;
    });
    done += n;
    if (n < BATCH) return done;
  }
}

/** A date as typed at a counter: 12/04/1990, 12.04.1990, 12-04-1990 or 1990-04-12. */
function dateOf(word: string): string | null {
  const fr = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(word);
  const iso = fr ? `${fr[3]}-${fr[2]!.padStart(2, '0')}-${fr[1]!.padStart(2, '0')}` : /^\d{4}-\d{2}-\d{2}$/.test(word) ? word : null;
  return iso && z.iso.date().safeParse(iso).success ? iso : null;
}

/** What was typed, understood: the labels that must all match, and a registration code it may be. */
export interface SearchPlan { labels: string[]; code: string | null }

/** The search box: words, at most 100 characters. */
export const SearchText = z.string().trim().max(100);

/** Null when nothing in `q` can be searched for (words of one letter only, punctuation). */
export function planSearch(q: string): SearchPlan | null {
  const words = q.trim().split(/\s+/).filter((w) => w.length > 0).slice(0, 6);
  const labels = new Set<string>();
  for (const word of words) {
    const date = dateOf(word);
    if (date) {
      labels.add(`birth:${date}`);
      continue;
    }
    for (const w of nameWords(word)) if (w.length >= MIN_PREFIX) labels.add(`name:${w.slice(0, MAX_PREFIX)}`);
  }
  // A registration code typed as one word ("K7QM-3XTB"); a name of eight such letters is also
  // searched as a name: both are tried.
  const code = words.length === 1 ? normalizeCode(words[0]!) : null;
  if (labels.size === 0 && !code) return null;
  // Every label must match: a handful says all a person can mean, and bounds the query's work.
  return { labels: [...labels].slice(0, MAX_LABELS), code };
}

/** Where a page of patients starts: after the one created at `createdAt` with id `id` (newest first). */
export const PageCursor = z.string().max(80).regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
// The database keeps microseconds: the cursor carries them as the database writes them, so that no
// record registered in the same millisecond as the last one shown falls between two pages.
const cursorOf = (p: PatientRow & { cursor_at: string }) => `${p.cursor_at}_${p.id}`;

export interface PatientPage { items: PatientView[]; next: string | null }

/**
 * A page of the acting pharmacy's patients (staff, API keys), newest first; with `q`, only those it
 * finds. Anyone else is refused. Each patient shown is audited as read, as a listing is; what was
 * typed is not kept anywhere (it is a name).
 */
export async function findTenantPatients(w: Work, opts: { q?: SearchPlan | null; after?: string; limit?: number } = {}): Promise<PatientPage> {
  w.access('patient.list', ownTenant(w), { resourceType: 'Patient', resourceId: null, subjectRef: null });
  const tenantId = w.actor.tenantId!;
  const limit = Math.min(opts.limit ?? SEARCH_PAGE, 200);
  const params: SqlParam[] = [tenantId];
  const where = ['p.tenant_id = $1'];
  if (opts.q) {
    const alternatives: string[] = [];
    if (opts.q.labels.length > 0) {
      params.push(JSON.stringify(opts.q.labels.map((l) => w.blindIndex(termLabel(tenantId, l)))), opts.q.labels.length);
      alternatives.push(`p.id IN (SELECT s.patient_id FROM patient_search_term s WHERE s.tenant_id = $1
        AND s.term IN (SELECT jsonb_array_elements_text($${params.length - 1}::text::jsonb)) GROUP BY s.patient_id HAVING count(*) = $${params.length})`);
    }
    if (opts.q.code) {
      params.push(w.blindIndex(codeLabel(opts.q.code)), w.now);
      alternatives.push(`p.id IN (SELECT r.patient_id FROM registration r WHERE r.tenant_id = $1 AND r.code_hash = $${params.length - 1} AND r.expires_at > $${params.length})`);
    }
    where.push(`(${alternatives.join(' OR ')})`);
  }
  if (opts.after) {
    const cut = opts.after.indexOf('Z_');
    params.push(opts.after.slice(0, cut + 1), opts.after.slice(cut + 2));
    where.push(`(p.created_at, p.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const rows = await w.tx.query<PatientRow & { cursor_at: string }>(`SELECT p.*, to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM patient p WHERE ${where.join(' AND ')} ORDER BY p.created_at DESC, p.id DESC LIMIT $${params.length}`, params);
  const page = rows.slice(0, limit);
  for (const r of page) w.record({ action: 'patient.read', resourceType: 'Patient', resourceId: r.id, subjectRef: r.subject_ref, purpose: opts.q ? 'search' : 'listing', outcome: 'success' });
  return { items: page.map((r) => decryptPatient(w, r)), next: rows.length > limit ? cursorOf(page[page.length - 1]!) : null };
}
