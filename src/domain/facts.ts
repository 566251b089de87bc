import type { Tx } from '../store/db.ts';
import type { Resource } from '../policy/authorize.ts';

export interface SubjectFacts {
  patientId: string;
  tenantId: string;
  subjectRef: string;
  careProfessionalIds: string[];
}

const CARE = `COALESCE((SELECT string_agg(c.professional_id::text, ',') FROM care_relationship c
  WHERE c.patient_id = p.id AND c.since <= $2 AND (c.until IS NULL OR c.until > $2)), '') AS care`;

/** The kinds of record whose ownership facts the decision point can be given. */
export type FactsKind = 'patient' | 'result' | 'vaccination' | 'document' | 'pass';

type FactsRow = { patient_id: string; tenant_id: string; subject_ref: string; care: string; extra: string | null };

/**
 * Loads the facts the decision point needs about one record: which tenant holds it, whose it is,
 * which professionals are currently in care. Only ownership, never content.
 */
export async function loadFacts(tx: Tx, type: FactsKind, id: string, now: Date): Promise<SubjectFacts | null> {
  return (await loadFactsWith<Record<string, never>>(tx, type, id, now, ''))?.facts ?? null;
}

/**
 * The facts and, in the same round trip, some columns of the record itself (`x`, `r`, `v`, `d`
 * or `p` by kind), for hot paths that read the record right after the decision. The caller must
 * not use the columns before the decision point allowed the access.
 */
export async function loadFactsWith<T>(tx: Tx, type: FactsKind, id: string, now: Date, columns: string): Promise<{ facts: SubjectFacts; row: T } | null> {
  const from = {
    pass: `FROM pass x JOIN patient p ON p.id = x.patient_id WHERE x.id = $1`,
    patient: `FROM patient p WHERE p.id = $1`,
    result: `FROM test_result r JOIN patient p ON p.id = r.patient_id WHERE r.id = $1`,
    vaccination: `FROM vaccination v JOIN patient p ON p.id = v.patient_id WHERE v.id = $1`,
    document: `FROM document d JOIN patient p ON p.id = d.patient_id WHERE d.id = $1`,
  }[type];
  const tenant = { patient: 'p.tenant_id', result: 'r.tenant_id', vaccination: 'v.tenant_id', document: 'd.tenant_id', pass: 'x.tenant_id' }[type];
  const [row] = await tx.query<FactsRow & T>(`SELECT p.id AS patient_id, ${tenant} AS tenant_id, p.subject_ref, ${CARE}${columns ? `, ${columns}` : ''} ${from}`, [id, now]);
  if (!row) return null;
  return { facts: { patientId: row.patient_id, tenantId: row.tenant_id, subjectRef: row.subject_ref, careProfessionalIds: row.care ? row.care.split(',') : [] }, row };
}

export const asResource = (type: FactsKind, id: string, f: SubjectFacts): Resource => ({
  type, id, tenantId: f.tenantId, patientId: f.patientId, careProfessionalIds: f.careProfessionalIds,
});
