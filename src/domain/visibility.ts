import type { Work } from './work.ts';
import { denyUnknown } from './work.ts';
import { asResource, loadFacts, type FactsKind } from './facts.ts';
import type { Action } from '../policy/authorize.ts';

const KIND: Record<string, FactsKind> = { patientId: 'patient', resultId: 'result', vaccinationId: 'vaccination', documentId: 'document', passId: 'pass' };
/** Audit resource types, as the domain functions name them. */
const RESOURCE_TYPE: Record<string, string> = {
  patientId: 'Patient', resultId: 'Observation', vaccinationId: 'Immunization', documentId: 'DocumentReference', passId: 'Pass', apiKeyId: 'ApiKey',
  relationshipId: 'CareTeam', breakGlassId: 'BreakGlass', alertId: 'Alert',
};
/** Records between a patient and a professional: care relationships and break-the-glass openings. */
const BETWEEN: Record<string, string> = { relationshipId: 'care_relationship', breakGlassId: 'break_glass' };

/**
 * Asks the decision point whether the principal may act on the record a path names, before anything
 * else about the request is judged. A malformed body aimed at someone else's record then answers
 * 404 like any other foreign access, instead of a 400 that would confirm the record exists.
 */
export async function assertMayTarget(w: Work, action: Action, param: string, id: string): Promise<void> {
  const target = { resourceType: RESOURCE_TYPE[param] ?? param, resourceId: id, subjectRef: null as string | null };
  if (param === 'apiKeyId') {
    const [row] = await w.tx.query<{ tenant_id: string }>('SELECT tenant_id FROM api_key WHERE id = $1', [id]);
    if (!row) denyUnknown(w, action, target);
    w.access(action, { type: 'tenant', tenantId: row.tenant_id }, target);
    return;
  }
  if (param in BETWEEN) {
    const [row] = await w.tx.query<{ patient_id: string; professional_id: string; subject_ref: string }>(
      `SELECT x.patient_id, x.professional_id, p.subject_ref FROM ${BETWEEN[param]} x JOIN patient p ON p.id = x.patient_id WHERE x.id = $1`, [id]);
    if (!row) denyUnknown(w, action, target);
    // The DPO's review concerns the platform's governance; ending one concerns its two parties.
    w.access(action, action === 'break-glass.review' ? { type: 'governance' } : { type: 'relationship', patientId: row.patient_id, professionalId: row.professional_id }, { ...target, subjectRef: row.subject_ref });
    return;
  }
  if (param === 'alertId') {
    const [row] = await w.tx.query('SELECT 1 FROM alert WHERE id = $1', [id]);
    if (!row) denyUnknown(w, action, target);
    w.access(action, { type: 'governance' }, target);
    return;
  }
  const kind = KIND[param];
  if (!kind) return;
  const facts = await loadFacts(w.tx, kind, id, w.now);
  if (!facts) denyUnknown(w, action, target);
  w.access(action, asResource(kind, id, facts), { ...target, subjectRef: facts.subjectRef });
}
