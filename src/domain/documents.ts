import type { Work } from './work.ts';
import { denyUnknown, ownTenant } from './work.ts';
import { asResource, loadFactsWith } from './facts.ts';
import { patientIdentity } from './patients.ts';
import { renderInvoicePdf, type InvoiceFacts } from './invoice-pdf.ts';
import { resultCtx } from './results.ts';
import { PAD } from '../crypto/fields.ts';

export interface DocumentContent {
  id: string;
  filename: string;
  mediaType: 'application/pdf';
  bytes: Buffer;
}

export interface DocumentSummary {
  id: string;
  kind: 'invoice';
  patientId: string;
  tenantId: string;
  resultId: string | null;
  createdAt: string;
}

type DocRow = { id: string; tenant_id: string; patient_id: string; result_id: string | null; kind: 'invoice'; media_type: string; content_enc: string; created_at: Date };

const ctx = (id: string) => `document.content:${id}`;

/**
 * Returns a document's bytes to a principal who may read it. Invoices are stored as facts at
 * intake (cheap) and rendered to PDF on first download, then kept encrypted as the PDF.
 */
export async function getDocument(w: Work, id: string): Promise<DocumentContent> {
  // Facts and content in one round trip: this is the hottest audited read. Nothing of the content
  // is touched before the decision point allows it.
  const found = await loadFactsWith<Pick<DocRow, 'media_type' | 'content_enc' | 'result_id'>>(w.tx, 'document', id, w.now, 'd.media_type, d.content_enc, d.result_id');
  const facts = found?.facts;
  const target = { resourceType: 'DocumentReference', resourceId: id, subjectRef: facts?.subjectRef ?? null };
  if (!facts) denyUnknown(w, 'document.read', target);
  w.access('document.read', asResource('document', id, facts), target);
  const row = { ...found!.row, patient_id: facts.patientId, tenant_id: facts.tenantId };
  let bytes = w.fields.decryptBytes(ctx(id), row.content_enc);
  if (row.media_type === 'application/json') {
    const stored = JSON.parse(bytes.toString('utf8')) as Pick<InvoiceFacts, 'testType' | 'amountCents' | 'currency' | 'issuedAt'>;
    const who = await patientIdentity(w, row.patient_id);
    const [seller] = await w.tx.query<{ name: string; address: string | null; siret: string | null; finess: string | null; vat_number: string | null }>(
      'SELECT name, address, siret, finess, vat_number FROM tenant WHERE id = $1', [row.tenant_id]);
    // The date of the service is the sample's, from the invoiced result (a French invoice must carry
    // it); a result erased since leaves the invoice without it rather than with a guess.
    const [result] = row.result_id ? await w.tx.query<{ sampled_at_enc: string }>('SELECT sampled_at_enc FROM test_result WHERE id = $1', [row.result_id]) : [];
    bytes = Buffer.from(await renderInvoicePdf({
      testType: stored.testType, amountCents: stored.amountCents, currency: stored.currency, issuedAt: stored.issuedAt,
      number: id.slice(0, 8).toUpperCase(),
      seller: { name: seller!.name, address: seller!.address, siret: seller!.siret, finess: seller!.finess, vatNumber: seller!.vat_number },
      patientName: `${who.givenName} ${who.familyName}`, patientAddress: who.address,
      sampledAt: result ? w.fields.decrypt(resultCtx.sampledAt(row.result_id!), result.sampled_at_enc) : null,
    }));
    await w.tx.query(`UPDATE document SET media_type = 'application/pdf', content_enc = $2 WHERE id = $1`, [id, w.fields.encrypt(ctx(id), bytes, { padTo: PAD.document })]);
  }
  return { id, filename: `invoice-${id.slice(0, 8)}.pdf`, mediaType: 'application/pdf', bytes };
}

export async function listDocuments(w: Work): Promise<DocumentSummary[]> {
  const a = w.actor;
  type Listed = DocRow & { subject_ref: string };
  const select = 'SELECT d.id, d.tenant_id, d.patient_id, d.result_id, d.kind, d.created_at, p.subject_ref FROM document d JOIN patient p ON p.id = d.patient_id';
  let rows: Listed[];
  if (a.role === 'staff' || a.role === 'api-key') {
    w.access('document.list', ownTenant(w), { resourceType: 'DocumentReference', resourceId: null, subjectRef: null });
    rows = await w.tx.query<Listed>(`${select} WHERE d.tenant_id = $1 ORDER BY d.created_at DESC LIMIT 200`, [a.tenantId]);
  } else {
    w.access('document.list', { type: 'self' }, { resourceType: 'DocumentReference', resourceId: null, subjectRef: null });
    rows = await w.tx.query<Listed>(`${select} WHERE p.account_id = $1 ORDER BY d.created_at DESC`, [a.id]);
  }
  // One event per document shown, under its patient's subject: each person's history shows the listing.
  for (const r of rows) w.record({ action: 'document.read', resourceType: 'DocumentReference', resourceId: r.id, subjectRef: r.subject_ref, purpose: 'listing', outcome: 'success' });
  return rows.map((r) => ({ id: r.id, kind: r.kind, patientId: r.patient_id, tenantId: r.tenant_id, resultId: r.result_id, createdAt: new Date(r.created_at).toISOString() }));
}
