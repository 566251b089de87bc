import { PDFDocument, rgb } from 'pdf-lib';
import { embedFonts, oneLine } from './pdf-fonts.ts';
import { qrPng } from '../hcert/qr.ts';

export interface PassPdfFacts {
  hc1: string;
  kind: 'test' | 'vaccination' | 'recovery';
  holderName: string;
  birthDate: string;
  issuedAt: string;
  expiresAt: string;
}

const TITLE = {
  test: 'Certificat de test / Test certificate',
  vaccination: 'Certificat de vaccination / Vaccination certificate',
  recovery: 'Certificat de rétablissement / Certificate of recovery',
};

/** A bilingual one-page PDF with the pass QR code, for printing or a phone's wallet. */
export async function renderPassPdf(f: PassPdfFacts): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle('Pass sanitaire / EU Digital COVID Certificate');
  doc.setProducer('Saufconduit');
  doc.setCreationDate(new Date(f.issuedAt));
  const page = doc.addPage([595.28, 841.89]);
  const holderName = oneLine(f.holderName, 80);
  const { regular: font, bold } = await embedFonts(doc, [holderName]);
  const text = (s: string, x: number, y: number, size = 11, f2 = font) => page.drawText(s, { x, y, size, font: f2, color: rgb(0.1, 0.1, 0.1) });
  text('Certificat COVID numérique de l’UE', 50, 790, 18, bold);
  text('EU Digital COVID Certificate', 50, 768, 14);
  text(TITLE[f.kind], 50, 740, 12, bold);
  const png = await doc.embedPng(await qrPng(f.hc1, 6));
  const size = 360;
  page.drawImage(png, { x: (595.28 - size) / 2, y: 330, width: size, height: size });
  text('Nom / Name', 50, 290, 10, bold);
  text(holderName, 50, 274, 14);
  text('Date de naissance / Date of birth', 50, 248, 10, bold);
  text(f.birthDate, 50, 232, 14);
  text(`Émis le / Issued: ${f.issuedAt.slice(0, 10)}    Expire le / Expires: ${f.expiresAt.slice(0, 10)}`, 50, 200, 10);
  text('Ne partagez pas ce code : il suffit à prouver votre statut. En cas de fuite, révoquez-le depuis votre espace.', 50, 90, 8);
  text('Do not share this code: it proves your status. If it leaks, revoke and reissue it from your space.', 50, 78, 8);
  return doc.save();
}
