import { PDFDocument, rgb } from 'pdf-lib';
import { embedFonts, oneLine } from './pdf-fonts.ts';

export interface InvoiceFacts {
  number: string;
  tenantName: string;
  patientName: string;
  patientAddress: string | null;
  testType: 'antigen' | 'pcr';
  amountCents: number;
  currency: string;
  issuedAt: string;
}

const LABEL = {
  antigen: 'Test antigénique SARS-CoV-2 / SARS-CoV-2 antigen test',
  pcr: 'Test RT-PCR SARS-CoV-2 / SARS-CoV-2 RT-PCR test',
};

/** Renders a bilingual (French/English) one-page invoice. */
export async function renderInvoicePdf(f: InvoiceFacts): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(`Facture / Invoice ${f.number}`);
  doc.setProducer('Saufconduit');
  doc.setCreationDate(new Date(f.issuedAt));
  doc.setModificationDate(new Date(f.issuedAt));
  const page = doc.addPage([595.28, 841.89]);
  // What people typed (our own labels are plain Windows-1252).
  const tenantName = oneLine(f.tenantName, 60);
  const patientName = oneLine(f.patientName, 90);
  const patientAddress = f.patientAddress ? oneLine(f.patientAddress, 90) : '';
  const { regular: font, bold } = await embedFonts(doc, [tenantName, patientName, patientAddress]);
  const text = (s: string, x: number, y: number, size = 11, f2 = font) => page.drawText(s, { x, y, size, font: f2, color: rgb(0.1, 0.1, 0.1) });
  const amount = `${(f.amountCents / 100).toFixed(2).replace('.', ',')} ${f.currency}`;
  text(tenantName, 50, 780, 16, bold);
  text('Facture / Invoice', 50, 740, 20, bold);
  text(`N° ${f.number}`, 50, 715);
  text(`Date : ${f.issuedAt.slice(0, 10)}`, 50, 698);
  text('Patient', 50, 660, 12, bold);
  text(patientName, 50, 642);
  if (patientAddress) text(patientAddress, 50, 625);
  text('Désignation / Item', 50, 580, 12, bold);
  text('Montant / Amount', 420, 580, 12, bold);
  text(LABEL[f.testType], 50, 560);
  text(amount, 420, 560);
  text(`Total TTC / Total incl. VAT : ${amount}`, 50, 520, 12, bold);
  text('Document confidentiel contenant des données de santé. / Confidential: contains health data.', 50, 60, 8);
  return doc.save();
}
