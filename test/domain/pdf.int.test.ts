import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PDFDict, PDFDocument, PDFName } from 'pdf-lib';
import { renderInvoicePdf, type InvoiceFacts } from '../../src/domain/invoice-pdf.ts';
import { renderPassPdf } from '../../src/domain/pass-pdf.ts';
import { oneLine } from '../../src/domain/pdf-fonts.ts';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';

/** The base font names a PDF's font dictionaries declare (pdf-lib names a subset `ABCDEF+Name-<n>`). */
async function baseFonts(bytes: Uint8Array): Promise<string[]> {
  const doc = await PDFDocument.load(bytes);
  const names = new Set<string>();
  for (const [, obj] of doc.context.enumerateIndirectObjects()) {
    if (obj instanceof PDFDict && obj.get(PDFName.of('Type')) === PDFName.of('Font')) {
      const base = obj.get(PDFName.of('BaseFont'));
      if (base instanceof PDFName) names.add(base.decodeText().replace(/^[A-Z]{6}\+/, '').replace(/-\d+$/, ''));
    }
  }
  return [...names].sort();
}

const invoice = (patientName: string, patientAddress: string | null = null): InvoiceFacts => ({
  number: 'AB12CD34', tenantName: 'Pharmacie des Tilleuls', patientName, patientAddress,
  testType: 'antigen', amountCents: 2500, currency: 'EUR', issuedAt: '2026-11-20T10:00:00.000Z',
});
const pass = (holderName: string) => ({
  hc1: 'HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC', kind: 'test' as const, holderName, birthDate: '1990-04-12',
  issuedAt: '2026-11-20T10:00:00.000Z', expiresAt: '2026-11-22T10:00:00.000Z',
});

describe('PDF documents print any name', () => {
  // Names people really have, in the scripts a French pharmacy sees, and what no font has.
  const names = ['Łukasz Nowak', 'Nguyễn Văn An', 'Ахмед Иванов', 'Γιώργος Παπαδόπουλος', 'محمد علي', 'שרה כהן', 'Ջոն Սմիթ', '王小明', 'Zoë 😀'];

  it('with Helvetica when French is enough, with an embedded Unicode font when not', async () => {
    expect(await baseFonts(await renderInvoicePdf(invoice('Hélène Œuvray-Façon', '12 rue de l’Église')))).toEqual(['Helvetica', 'Helvetica-Bold']);
    expect(await baseFonts(await renderPassPdf(pass('Hélène Œuvray-Façon')))).toEqual(['Helvetica', 'Helvetica-Bold']);
    for (const name of names) {
      expect(await baseFonts(await renderInvoicePdf(invoice(name, `${name}, ул. Ленина 1`)))).toEqual(['DejaVuSans', 'DejaVuSans-Bold']);
      expect(await baseFonts(await renderPassPdf(pass(name)))).toEqual(['DejaVuSans', 'DejaVuSans-Bold']);
    }
  });

  it('whatever the text (any code point, control characters, lone surrogates), the documents render', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 120 }), async (name, address) => {
        const a = await renderInvoicePdf(invoice(name, address));
        const b = await renderPassPdf(pass(name));
        expect(Buffer.from(a.subarray(0, 5)).toString()).toBe('%PDF-');
        expect(Buffer.from(b.subarray(0, 5)).toString()).toBe('%PDF-');
      }),
      { numRuns: 25 },
    );
  });

  it('a stored line break or tab becomes a space, and long text is cut on whole characters', () => {
    expect(oneLine('12 rue des Lilas\r\n75011\tParis', 90)).toBe('12 rue des Lilas 75011 Paris');
    const cut = oneLine('😀'.repeat(100), 10);
    expect([...cut]).toHaveLength(10);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
  });
});

describe.each(ENGINES)('invoice and pass of a patient named in another script on %s', (engine) => {
  const demo = useDemoServer(engine);

  it('are served as PDFs (before: 500, the standard font cannot encode the name)', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const post = (url: string, payload: object) => demo.server.inject({ method: 'POST', url, headers: staff.headers, payload });
    const patient = await post('/api/patients', { givenName: 'Łukasz', familyName: 'Ахмедов', birthDate: '1985-06-01', address: 'ул. Ленина 1, Kraków' });
    expect(patient.statusCode, patient.body).toBe(201);
    const result = await post(`/api/patients/${patient.json().id}/results`, { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 60_000).toISOString() });
    expect(result.statusCode, result.body).toBe(201);
    const invoicePdf = await demo.server.inject({ method: 'GET', url: `/api/documents/${result.json().invoiceId}`, headers: staff.headers });
    expect(invoicePdf.statusCode, invoicePdf.body).toBe(200);
    expect(await baseFonts(invoicePdf.rawPayload)).toEqual(['DejaVuSans', 'DejaVuSans-Bold']);
    const issued = await post(`/api/results/${result.json().id}/passes`, { kind: 'test' });
    expect(issued.statusCode, issued.body).toBe(201);
    const passPdf = await demo.server.inject({ method: 'GET', url: `/api/passes/${issued.json().id}/pdf`, headers: staff.headers });
    expect(passPdf.statusCode, passPdf.body).toBe(200);
    expect(await baseFonts(passPdf.rawPayload)).toEqual(['DejaVuSans', 'DejaVuSans-Bold']);
  });
});
