import { isUuid, type Tx } from '../store/db.ts';
import type { Resource } from '../policy/authorize.ts';

export interface SubjectFacts {
  patientId: string;
  tenantId: string;
  subjectRef: string;
  careProfessionalIds: string[];
  /** Professionals with a break-the-glass opening of this record running now, and its reason. */
  emergencies: { professionalId: string; reason: string }[];
  /** The patient account this record is offered to, pending its holder's acceptance (record-offers.ts). */
  offeredTo: string | null;
  /** A protected record (the public figure's): break-the-glass on it raises a high alert at once. */
  protected: boolean;
}

const CARE = `COALESCE((SELECT string_agg(c.professional_id::text, ',') FROM care_relationship c
  WHERE c.patient_id = p.id AND c.since <= $2 AND c.until > $2), '') AS care,
  COALESCE((SELECT string_agg(b.professional_id::text || ':' || b.reason, ',') FROM break_glass b
  WHERE b.patient_id = p.id AND b.opened_at <= $2 AND b.expires_at > $2 AND b.ended_at IS NULL), '') AS emergency`;

/** The kinds of record whose ownership facts the decision point can be given. */
export type FactsKind = 'patient' | 'result' | 'vaccination' | 'document' | 'pass';

type FactsRow = { patient_id: string; tenant_id: string; subject_ref: string; care: string; emergency: string; offered_to: string | null; protected: boolean; extra: string | null };

/**
 * Loads the facts the decision point needs about one record: which tenant holds it, whose it is,
 * which professionals are currently in care. Only ownership, never content.
 */
export async function loadFacts(tx: Tx, type: FactsKind, id: string, now: Date): Promise<SubjectFacts | null> {
  return (await loadFactsWith<Record<string, never>>(tx, type, id, now, ''))?.facts ?? null;
}

/** The record of each kind, joined to its patient; `key` is the column its id is looked up by. */
const SOURCES: Record<FactsKind, { from: string; tenant: string; key: string }> = {
  pass: { from: 'pass x JOIN patient p ON p.id = x.patient_id', tenant: 'x.tenant_id', key: 'x.id' },
  patient: { from: 'patient p', tenant: 'p.tenant_id', key: 'p.id' },
  result: { from: 'test_result r JOIN patient p ON p.id = r.patient_id', tenant: 'r.tenant_id', key: 'r.id' },
  vaccination: { from: 'vaccination v JOIN patient p ON p.id = v.patient_id', tenant: 'v.tenant_id', key: 'v.id' },
  document: { from: 'document d JOIN patient p ON p.id = d.patient_id', tenant: 'd.tenant_id', key: 'd.id' },
};

/**
 * The facts and, in the same round trip, some columns of the record itself (`x`, `r`, `v`, `d`
 * or `p` by kind), for hot paths that read the record right after the decision. The caller must
 * not use the columns before the decision point allowed the access.
 *
 * Inside a unit-of-work batch, the lookups of the batch's concurrent operations for the same kind
 * and columns are one query (`tx.lookups`); alone, one query for this id.
 */
export async function loadFactsWith<T>(tx: Tx, type: FactsKind, id: string, now: Date, columns: string): Promise<{ facts: SubjectFacts; row: T } | null> {
  if (!isUuid(id)) return null;
  const src = SOURCES[type];
  const select = `SELECT ${src.key} AS facts_key, p.id AS patient_id, ${src.tenant} AS tenant_id, p.subject_ref, p.offered_to, p.protected, ${CARE}${columns ? `, ${columns}` : ''} FROM ${src.from}`;
  type Row = FactsRow & T & { facts_key: string };
  let row: Row | undefined;
  if (tx.lookups) {
    const many = `${select} WHERE ${src.key} = ANY(string_to_array($1, ',')::uuid[])`;
    row = await tx.lookups.load(`facts:${type}:${columns}:${now.getTime()}`, id.toLowerCase(), async (keys) => {
      const rows = await tx.query<Row>(many, [keys.join(','), now]);
      return new Map(rows.map((r) => [String(r.facts_key).toLowerCase(), r]));
    });
  } else {
    [row] = await tx.query<Row>(`${select} WHERE ${src.key} = $1`, [id, now]);
  }
  if (!row) return null;
  // Facts are built per caller: two operations of a batch may look up the same record.
  const emergencies = row.emergency ? row.emergency.split(',').map((e) => ({ professionalId: e.slice(0, e.indexOf(':')), reason: e.slice(e.indexOf(':') + 1) })) : [];
  return {
    facts: {
      patientId: row.patient_id, tenantId: row.tenant_id, subjectRef: row.subject_ref, careProfessionalIds: row.care ? row.care.split(',') : [], emergencies,
      offeredTo: row.offered_to ?? null, protected: Boolean(row.protected),
    },
    row,
  };
}

export const asResource = (type: FactsKind, id: string, f: SubjectFacts): Resource => ({
  type, id, tenantId: f.tenantId, patientId: f.patientId, careProfessionalIds: f.careProfessionalIds, emergencies: f.emergencies, offeredTo: f.offeredTo,
});
