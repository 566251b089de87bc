import { PDFDocument, rgb, type PDFFont } from 'pdf-lib';
import { embedFonts, fit, oneLine } from './pdf-fonts.ts';
import { printDate, printDateTime } from './print-dates.ts';
import { qrPng } from '../hcert/qr.ts';
import type { Lang } from '../errors/messages.ts';

/** What a pass certifies, as its signed certificate says it (see passForPrint). */
export type Certified =
  | { kind: 'test'; testType: 'antigen' | 'pcr'; result: 'negative' | 'positive'; sampledAt: string; device: string | null }
  | { kind: 'vaccination'; product: string; doseNumber: number; seriesDoses: number; administeredOn: string }
  | { kind: 'recovery'; positiveOn: string };

/**
 * When venues accept the pass, by the verifier's rules (verifier/rules.ts): instants for a test,
 * days (YYYY-MM-DD, `until` included) for a vaccination or recovery; null when they never do.
 */
export type Accepted = { from: string; until: string | null } | null;

export interface PassPdfFacts {
  hc1: string;
  lang: Lang;
  holderName: string;
  birthDate: string;
  issuedAt: string;
  expiresAt: string;
  /** The certificate identifier (UVCI, DCC `ci`): what a venue or a revocation names the pass by. */
  certificateId: string;
  /** The certificate issuer (DCC `is`). */
  issuer: string;
  /** The pharmacy that recorded the test or the vaccination. */
  pharmacy: string;
  certifies: Certified;
  accepted: Accepted;
}

const L = {
  fr: {
    heading: 'Certificat COVID numérique de l’UE', other: 'EU Digital COVID Certificate',
    title: { test: 'Certificat de test', vaccination: 'Certificat de vaccination', recovery: 'Certificat de rétablissement' },
    name: 'Nom', birth: 'Date de naissance', certifies: 'Certifie',
    test: (t: 'antigen' | 'pcr', r: 'negative' | 'positive') => `Test ${t === 'pcr' ? 'RT-PCR' : 'antigénique'} SARS-CoV-2 : ${r === 'negative' ? 'négatif' : 'positif'}`,
    device: 'Test utilisé', sampled: 'Prélèvement',
    vaccination: (p: string, dn: number, sd: number) => `Vaccination COVID-19 : ${p}, dose ${dn}/${sd}`, administered: 'Administrée le',
    recovery: 'Rétablissement de la COVID-19', positive: 'Test positif du',
    acceptedUntil: 'Accepté jusqu’au', acceptedFrom: 'Accepté à partir du', acceptedBetween: 'Accepté', between: (a: string, b: string) => `du ${a} au ${b}`,
    notAccepted: 'Accepté', never: { test: 'non : un test positif n’ouvre pas l’accès aux lieux', vaccination: 'non : schéma vaccinal incomplet', recovery: 'non' },
    rule: { test: 'Comme l’appliquent les lieux en France : un test négatif de moins de 72 heures.', vaccination: 'Comme l’appliquent les lieux en France : 7 jours après la dernière dose (28 pour une dose unique).', recovery: 'Comme l’appliquent les lieux en France : du 11e au 180e jour après le test positif.' },
    id: 'Identifiant du certificat', pharmacy: 'Délivré par', issuer: 'Émetteur', issued: 'Émis le', expires: 'QR code valable jusqu’au',
    advice: 'Ne partagez pas ce code : il suffit à prouver votre statut. En cas de fuite, révoquez-le depuis votre espace.',
    otherAdvice: 'Do not share this code. If it leaks, revoke and reissue it from your space.',
  },
  en: {
    heading: 'EU Digital COVID Certificate', other: 'Certificat COVID numérique de l’UE',
    title: { test: 'Test certificate', vaccination: 'Vaccination certificate', recovery: 'Certificate of recovery' },
    name: 'Name', birth: 'Date of birth', certifies: 'Certifies',
    test: (t: 'antigen' | 'pcr', r: 'negative' | 'positive') => `SARS-CoV-2 ${t === 'pcr' ? 'RT-PCR' : 'antigen'} test: ${r}`,
    device: 'Test used', sampled: 'Sample taken',
    vaccination: (p: string, dn: number, sd: number) => `COVID-19 vaccination: ${p}, dose ${dn}/${sd}`, administered: 'Given on',
    recovery: 'Recovery from COVID-19', positive: 'Positive test on',
    acceptedUntil: 'Accepted until', acceptedFrom: 'Accepted from', acceptedBetween: 'Accepted', between: (a: string, b: string) => `from ${a} to ${b}`,
    notAccepted: 'Accepted', never: { test: 'no: a positive test does not admit to venues', vaccination: 'no: incomplete vaccination schedule', recovery: 'no' },
    rule: { test: 'As venues in France apply it: a negative test less than 72 hours old.', vaccination: 'As venues in France apply it: 7 days after the last dose (28 for a single dose).', recovery: 'As venues in France apply it: from day 11 to day 180 after the positive test.' },
    id: 'Certificate identifier', pharmacy: 'Issued by', issuer: 'Certificate issuer', issued: 'Issued', expires: 'QR code valid until',
    advice: 'Do not share this code: it proves your status. If it leaks, revoke and reissue it from your space.',
    otherAdvice: 'Ne partagez pas ce code. En cas de fuite, révoquez-le depuis votre espace.',
  },
} as const;

const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const INK = rgb(0.1, 0.1, 0.1);
const GREY = rgb(0.35, 0.35, 0.35);

/** `s` broken at spaces into at most `lines` lines of `width` points, the last one cut to fit. */
function wrap(s: string, font: PDFFont, size: number, width: number, lines: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < lines - 1 && font.widthOfTextAtSize(rest, size) > width) {
    const words = rest.split(' ');
    if (words.length === 1) break;
    let n = words.length - 1;
    while (n > 1 && font.widthOfTextAtSize(words.slice(0, n).join(' '), size) > width) n--;
    out.push(fit(words.slice(0, n).join(' '), font, size, width));
    rest = words.slice(n).join(' ');
  }
  out.push(fit(rest, font, size, width));
  return out;
}

/**
 * A one-page PDF of the pass, in the reader's language (a short line in the other one): the QR code,
 * large enough to scan from paper or a screen; what it certifies and when venues accept it, as the
 * verifier's rules decide; the certificate identifier and issuer; dates in the reader's language,
 * Paris time.
 */
export async function renderPassPdf(f: PassPdfFacts): Promise<Uint8Array> {
  const t = L[f.lang];
  const doc = await PDFDocument.create();
  doc.setTitle(`${t.heading} – ${t.title[f.certifies.kind]}`);
  doc.setLanguage(f.lang === 'fr' ? 'fr-FR' : 'en-GB');
  doc.setProducer('Saufconduit');
  doc.setCreationDate(new Date(f.issuedAt));
  const page = doc.addPage([PAGE.width, PAGE.height]);
  // What people typed or what a value set names (a device name may be long or hold ®).
  const c = f.certifies;
  const holderName = oneLine(f.holderName, 80);
  const pharmacy = oneLine(f.pharmacy, 80);
  const device = c.kind === 'test' && c.device ? oneLine(c.device, 160) : '';
  const product = c.kind === 'vaccination' ? oneLine(c.product, 80) : '';
  const { regular: font, bold } = await embedFonts(doc, [holderName, pharmacy, device, product, f.issuer, f.certificateId]);
  const text = (s: string, x: number, y: number, size = 11, f2 = font, color = INK) => page.drawText(s, { x, y, size, font: f2, color });

  text(t.heading, PAGE.margin, 800, 18, bold);
  text(t.other, PAGE.margin, 782, 10, font, GREY);
  text(t.title[c.kind], PAGE.margin, 758, 13, bold);

  const size = 330; // about 11.6 cm: scans from paper and from a phone held at arm's length
  const png = await doc.embedPng(await qrPng(f.hc1, 6));
  page.drawImage(png, { x: (PAGE.width - size) / 2, y: 415, width: size, height: size });

  // Label and value rows under the code.
  const valueX = 200;
  const valueWidth = PAGE.width - PAGE.margin - valueX;
  let y = 388;
  const row = (label: string, value: string, opts: { size?: number; bold?: boolean; lines?: number } = {}) => {
    const vs = opts.size ?? 11;
    const vf = opts.bold ? bold : font;
    text(label, PAGE.margin, y, 9, bold, GREY);
    for (const line of wrap(value, vf, vs, valueWidth, opts.lines ?? 1)) {
      text(line, valueX, y, vs, vf);
      y -= vs + 4;
    }
    y -= 5;
  };
  row(t.name, holderName, { size: 13, bold: true });
  row(t.birth, printDate(f.birthDate, f.lang));
  if (c.kind === 'test') {
    row(t.certifies, t.test(c.testType, c.result), { bold: true });
    if (device) row(t.device, device, { size: 10, lines: 2 });
    row(t.sampled, printDateTime(c.sampledAt, f.lang));
  } else if (c.kind === 'vaccination') {
    row(t.certifies, t.vaccination(product, c.doseNumber, c.seriesDoses), { bold: true, lines: 2 });
    row(t.administered, printDate(c.administeredOn, f.lang));
  } else {
    row(t.certifies, t.recovery, { bold: true });
    row(t.positive, printDate(c.positiveOn, f.lang));
  }
  const a = f.accepted;
  if (!a) row(t.notAccepted, t.never[c.kind], { bold: true });
  else if (c.kind === 'test') row(t.acceptedUntil, printDateTime(a.until ?? a.from, f.lang), { bold: true });
  else if (a.until === null) row(t.acceptedFrom, printDate(a.from, f.lang), { bold: true });
  else row(t.acceptedBetween, t.between(printDate(a.from, f.lang), printDate(a.until, f.lang)), { bold: true });
  // The rule itself, under the date it gives (at most two short lines).
  y += 3;
  for (const line of wrap(t.rule[c.kind], font, 8, valueWidth, 2)) {
    text(line, valueX, y, 8, font, GREY);
    y -= 10;
  }
  y -= 5;
  row(t.id, f.certificateId, { size: 9 });
  row(t.pharmacy, pharmacy);
  row(t.issuer, f.issuer, { size: 10 });
  row(t.issued, printDateTime(f.issuedAt, f.lang), { size: 10 });
  row(t.expires, printDateTime(f.expiresAt, f.lang), { size: 10 });

  text(t.advice, PAGE.margin, 78, 8);
  text(t.otherAdvice, PAGE.margin, 66, 8, font, GREY);
  return doc.save();
}
