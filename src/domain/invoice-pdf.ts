import { PDFDocument, rgb } from 'pdf-lib';
import { embedFonts, fit, oneLine } from './pdf-fonts.ts';
import { printDateTime, printParisDay } from './print-dates.ts';

/** The pharmacy that invoices, as its tenant row has it: any identifier may be missing (older rows). */
export interface InvoiceSeller {
  name: string;
  address: string | null;
  siret: string | null;
  finess: string | null;
  vatNumber: string | null;
}

export interface InvoiceFacts {
  number: string;
  seller: InvoiceSeller;
  patientName: string;
  patientAddress: string | null;
  testType: 'antigen' | 'pcr';
  amountCents: number;
  currency: string;
  /** When the invoice was issued (ISO instant). */
  issuedAt: string;
  /** The date of the service: when the sample was taken (ISO instant); null once the result is gone. */
  sampledAt: string | null;
}

const LABEL = {
  antigen: 'Test antigénique SARS-CoV-2 / SARS-CoV-2 antigen test',
  pcr: 'Test RT-PCR SARS-CoV-2 / SARS-CoV-2 RT-PCR test',
};

/**
 * Screening tests done by a pharmacist are medical care, exempt from VAT: the invoice must then say
 * so, citing the article (CGI annexe II art. 242 nonies A, I-9°).
 */
export const VAT_EXEMPTION = 'TVA non applicable – art. 261-4-1° du CGI / VAT exempt (French tax code, art. 261-4-1°)';

const GREY = rgb(0.35, 0.35, 0.35);

/**
 * Renders a one-page invoice with what a French invoice must carry (Code de commerce art. L441-9,
 * CGI annexe II art. 242 nonies A): the seller's name, address, SIRET (and FINESS, a pharmacy's
 * registration; VAT number when it has one), the number and date, the date of the service (the
 * sample), the customer, the designation, quantity, unit price, VAT rate or exemption, and the
 * total. French first, with English labels; dates in French, Paris time. A missing identifier is
 * left out, never printed empty.
 */
export async function renderInvoicePdf(f: InvoiceFacts): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(`Facture / Invoice ${f.number}`);
  doc.setProducer('Saufconduit');
  doc.setCreationDate(new Date(f.issuedAt));
  doc.setModificationDate(new Date(f.issuedAt));
  const page = doc.addPage([595.28, 841.89]);
  const RIGHT = 545; // the right margin
  // What people typed (our own labels are plain Windows-1252).
  const sellerName = oneLine(f.seller.name, 60);
  const sellerAddress = f.seller.address ? oneLine(f.seller.address, 90) : '';
  const patientName = oneLine(f.patientName, 90);
  const patientAddress = f.patientAddress ? oneLine(f.patientAddress, 90) : '';
  const { regular: font, bold } = await embedFonts(doc, [sellerName, sellerAddress, patientName, patientAddress]);
  // Whatever a line holds, it stops at the right margin.
  const text = (s: string, x: number, y: number, size = 11, f2 = font, color = rgb(0.1, 0.1, 0.1)) => page.drawText(fit(s, f2, size, RIGHT - x), { x, y, size, font: f2, color });
  const money = (cents: number) => `${(cents / 100).toFixed(2).replace('.', ',')} ${f.currency}`;
  // Amounts align on the right margin, as a column of figures reads.
  const right = (s: string, y: number, size: number, f2 = font) => text(s, RIGHT - f2.widthOfTextAtSize(s, size), y, size, f2);

  // The seller: each identifier on its own line, only those it has.
  let y = 790;
  text(sellerName, 50, y, 16, bold);
  const sellerLines = [
    sellerAddress,
    f.seller.siret ? `SIRET : ${f.seller.siret}` : '',
    f.seller.finess ? `FINESS : ${f.seller.finess}` : '',
    f.seller.vatNumber ? `N° TVA intracommunautaire / VAT number : ${f.seller.vatNumber}` : '',
  ].filter((l) => l !== '');
  for (const line of sellerLines) text(line, 50, (y -= 15), 10);

  y = 690;
  text('Facture / Invoice', 50, y, 20, bold);
  text(`N° ${f.number}`, 50, (y -= 24));
  text(`Date de facture / Invoice date : ${printParisDay(f.issuedAt, 'fr')}`, 50, (y -= 17), 10);
  if (f.sampledAt) text(`Date de la prestation (prélèvement) / Date of service (sample) : ${printDateTime(f.sampledAt, 'fr')}`, 50, (y -= 15), 10);

  y -= 36;
  text('Patient / Customer', 50, y, 12, bold);
  text(patientName, 50, (y -= 18));
  if (patientAddress) text(patientAddress, 50, (y -= 16));

  // One line of service. Columns: designation, quantity, unit price, VAT, amount.
  y -= 44;
  const cols = { item: 50, qty: 300, unit: 345, vat: 410 };
  text('Désignation / Item', cols.item, y, 9, bold);
  text('Qté / Qty', cols.qty, y, 9, bold);
  text('P.U. / Unit', cols.unit, y, 9, bold);
  text('TVA / VAT', cols.vat, y, 9, bold);
  right('Montant / Amount', y, 9, bold);
  page.drawLine({ start: { x: 50, y: y - 5 }, end: { x: RIGHT, y: y - 5 }, thickness: 0.5, color: GREY });
  y -= 22;
  const [fr, en] = LABEL[f.testType].split(' / ') as [string, string];
  text(fr, cols.item, y, 10);
  text(en, cols.item, y - 12, 8, font, GREY);
  text('1', cols.qty, y, 10);
  text(money(f.amountCents), cols.unit, y, 10);
  text('0 %', cols.vat, y, 10);
  right(money(f.amountCents), y, 10);
  page.drawLine({ start: { x: 50, y: y - 20 }, end: { x: RIGHT, y: y - 20 }, thickness: 0.5, color: GREY });

  y -= 44;
  text('Total HT / Total excl. VAT', cols.qty, y, 10);
  right(money(f.amountCents), y, 10);
  text('TVA / VAT', cols.qty, (y -= 15), 10);
  right(money(0), y, 10);
  text('Total TTC / Total', cols.qty, (y -= 18), 12, bold);
  right(money(f.amountCents), y, 12, bold);
  text(VAT_EXEMPTION, 50, (y -= 36), 9);
  text('Facture acquittée / Paid', 50, (y -= 14), 9);

  text('Document confidentiel contenant des données de santé. / Confidential: contains health data.', 50, 60, 8);
  return doc.save();
}
