import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inflateSync } from 'node:zlib';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRawStream, StandardFonts, decodePDFRawStream } from 'pdf-lib';
import { renderInvoicePdf, VAT_EXEMPTION, type InvoiceFacts } from '../../src/domain/invoice-pdf.ts';
import { renderPassPdf, type PassPdfFacts } from '../../src/domain/pass-pdf.ts';
import { oneLine } from '../../src/domain/pdf-fonts.ts';
import { luhnValid, TenantIdentity } from '../../src/domain/tenant-identity.ts';
import { DEMO } from '../../src/demo/world.ts';
import { decodeBase45 } from '../../src/hcert/base45.ts';
import { parseCoseSign1 } from '../../src/hcert/cose.ts';
import { parseCwtClaims } from '../../src/hcert/cwt.ts';
import { DEFAULT_LIMITS } from '../../src/hcert/limits.ts';
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

/**
 * The text lines a PDF draws, in order. pdf-lib writes each drawn line as one hex string in the
 * font's encoding: Windows-1252 for the standard fonts, which our tests of content keep to (an
 * embedded font's glyph ids would need its CMap).
 */
async function textLines(bytes: Uint8Array): Promise<string[]> {
  return (await drawnText(bytes)).map((d) => d.text);
}

/** Each drawn line with where it starts, its size and whether it is bold (pdf-lib's operators: Tf, Tm, Tj). */
async function drawnText(bytes: Uint8Array): Promise<{ text: string; x: number; size: number; bold: boolean }[]> {
  const doc = await PDFDocument.load(bytes);
  const out: { text: string; x: number; size: number; bold: boolean }[] = [];
  for (const page of doc.getPages()) {
    const contents = page.node.Contents();
    const streams = contents instanceof PDFArray ? contents.asArray().map((r) => doc.context.lookup(r)) : [contents];
    for (const stream of streams) {
      if (!(stream instanceof PDFRawStream)) continue;
      const ops = Buffer.from(decodePDFRawStream(stream).decode()).toString('latin1');
      let font = { size: 0, bold: false };
      let x = 0;
      for (const m of ops.matchAll(/\/(\S+) ([\d.]+) Tf|1 0 0 1 ([\d.-]+) [\d.-]+ Tm|<([0-9A-Fa-f]*)>\s*Tj/g)) {
        if (m[1]) font = { size: Number(m[2]), bold: m[1].includes('Bold') };
        else if (m[3]) x = Number(m[3]);
        else out.push({ text: win1252(Buffer.from(m[4]!, 'hex')), x, ...font });
      }
    }
  }
  return out;
}

/** That every line drawn in Helvetica ends before the right margin (50 points from the edge). */
async function withinMargins(bytes: Uint8Array): Promise<string[]> {
  const scratch = await PDFDocument.create();
  const regular = await scratch.embedFont(StandardFonts.Helvetica);
  const bold = await scratch.embedFont(StandardFonts.HelveticaBold);
  return (await drawnText(bytes)).filter((d) => d.x + (d.bold ? bold : regular).widthOfTextAtSize(d.text, d.size) > 545.5).map((d) => d.text);
}

// Windows-1252's 0x80–0x9F (Node's TextDecoder may decode the label as Latin-1, where they are controls).
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
const win1252 = (bytes: Uint8Array) => String.fromCodePoint(...[...bytes].map((b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH.codePointAt(b - 0x80)! : b)));

/** The line after `label`: a value drawn right of its label. */
const after = (lines: string[], label: string) => lines[lines.indexOf(label) + 1];

const CBOR = { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems };
/** The DCC inside a pass (not verified here: the verifier's tests do that). */
const dccOf = (hc1: string) => parseCwtClaims(parseCoseSign1(inflateSync(decodeBase45(hc1.slice(4), 1 << 16)), CBOR).payload, CBOR).dcc as { t: { ci: string; is: string; sc: string }[] };

/** Paris wall-clock time as a reader expects it, computed apart from the code under test. */
const paris = (at: Date | string, locale: 'fr-FR' | 'en-GB') =>
  new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(new Date(at)).replace(/[\u202f\u00a0]/g, ' ');

const seller = { name: 'Pharmacie des Tilleuls', address: '12 avenue des Tilleuls, 75011 Paris', siret: '91234567500017', finess: '750100018', vatNumber: 'FR65912345675' };
const invoice = (patientName: string, patientAddress: string | null = null): InvoiceFacts => ({
  number: 'AB12CD34', seller, patientName, patientAddress,
  testType: 'antigen', amountCents: 2500, currency: 'EUR', issuedAt: '2026-11-20T10:00:00.000Z', sampledAt: '2026-11-20T09:45:00.000Z',
});
const pass = (holderName: string, more: Partial<PassPdfFacts> = {}): PassPdfFacts => ({
  hc1: 'HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC', lang: 'fr', holderName, birthDate: '1990-04-12',
  issuedAt: '2026-11-20T10:00:00.000Z', expiresAt: '2026-11-23T09:45:00.000Z',
  certificateId: 'URN:UVCI:01:FR:ABCDEFGHIJKLMNOPQRST', issuer: 'Saufconduit (demo issuing authority)', pharmacy: 'Pharmacie des Tilleuls',
  certifies: { kind: 'test', testType: 'antigen', result: 'negative', sampledAt: '2026-11-20T09:45:00Z', device: 'Abbott Rapid Diagnostics, Panbio COVID-19 Ag Rapid Test' },
  accepted: { from: '2026-11-20T09:45:00.000Z', until: '2026-11-23T09:45:00.000Z' },
  ...more,
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

describe('what the PDFs say', () => {
  it('an invoice carries the pharmacy\'s address and identifiers, the date of the service and the VAT exemption', async () => {
    const lines = await textLines(await renderInvoicePdf(invoice('Hélène Martin', '5 rue des Lilas, 75020 Paris')));
    expect(lines).toContain('12 avenue des Tilleuls, 75011 Paris');
    expect(lines).toContain('SIRET : 91234567500017');
    expect(lines).toContain('FINESS : 750100018');
    expect(lines.join('\n')).toContain('FR65912345675');
    expect(lines.join('\n')).toContain(`Date de la prestation (prélèvement) / Date of service (sample) : ${paris('2026-11-20T09:45:00Z', 'fr-FR')}`);
    expect(lines).toContain('Date de facture / Invoice date : 20 novembre 2026');
    expect(lines).toContain(VAT_EXEMPTION);
    expect(lines).toContain('Hélène Martin');
    expect(lines).toContain('5 rue des Lilas, 75020 Paris');
  });

  it('an invoice of a pharmacy without identifiers, or of a result erased since, prints what there is', async () => {
    const bare = { ...invoice('Hélène Martin'), seller: { name: 'Pharmacie de la Gare', address: null, siret: null, finess: null, vatNumber: null }, sampledAt: null };
    const text = (await textLines(await renderInvoicePdf(bare))).join('\n');
    expect(text).toContain('Pharmacie de la Gare');
    expect(text).not.toMatch(/undefined|null|SIRET|FINESS|prestation/);
    expect(text).toContain('Total TTC / Total');
  });

  it('a pass prints in the reader\'s language, dates included, Paris time', async () => {
    const fr = await textLines(await renderPassPdf(pass('Hélène Martin')));
    expect(after(fr, 'Date de naissance')).toBe('12 avril 1990');
    expect(after(fr, 'Prélèvement')).toBe('20 novembre 2026 à 10:45');
    expect(after(fr, 'Accepté jusqu’au')).toBe('23 novembre 2026 à 10:45');
    expect(after(fr, 'Certifie')).toBe('Test antigénique SARS-CoV-2 : négatif');
    const en = await textLines(await renderPassPdf(pass('Hélène Martin', { lang: 'en' })));
    expect(after(en, 'Date of birth')).toBe('12 April 1990');
    expect(after(en, 'Sample taken')).toBe('20 November 2026 at 10:45');
    expect(after(en, 'Accepted until')).toBe('23 November 2026 at 10:45');
    expect(after(en, 'Certifies')).toBe('SARS-CoV-2 antigen test: negative');
    expect(en.join('\n')).not.toMatch(/novembre|avril/);
  });

  it('a vaccination, a recovery and a pass venues do not accept say so, without undefined or null', async () => {
    const vaccination = await textLines(await renderPassPdf(pass('Hélène Martin', {
      certifies: { kind: 'vaccination', product: 'Jcovden', doseNumber: 1, seriesDoses: 1, administeredOn: '2026-11-01' }, accepted: { from: '2026-11-29', until: null },
    })));
    expect(after(vaccination, 'Certifie')).toBe('Vaccination COVID-19 : Jcovden, dose 1/1');
    expect(after(vaccination, 'Accepté à partir du')).toBe('29 novembre 2026');
    const recovery = await textLines(await renderPassPdf(pass('Hélène Martin', {
      lang: 'en', certifies: { kind: 'recovery', positiveOn: '2026-10-01' }, accepted: { from: '2026-10-12', until: '2027-03-30' },
    })));
    expect(after(recovery, 'Positive test on')).toBe('1 October 2026');
    expect(after(recovery, 'Accepted')).toBe('from 12 October 2026 to 30 March 2027');
    const positive = await textLines(await renderPassPdf(pass('Hélène Martin', {
      certifies: { kind: 'test', testType: 'pcr', result: 'positive', sampledAt: '2026-11-20T09:45:00Z', device: null }, accepted: null,
    })));
    expect(after(positive, 'Accepté')).toBe('non : un test positif n’ouvre pas l’accès aux lieux');
    for (const lines of [vaccination, recovery, positive]) expect(lines.join('\n')).not.toMatch(/undefined|null|NaN|Invalid/);
  });

  it('long names, addresses and device names stay within the margins', async () => {
    const long = pass('Marie-Françoise '.repeat(10), {
      certifies: { kind: 'test', testType: 'antigen', result: 'negative', sampledAt: '2026-11-20T09:45:00Z', device: 'Anhui Deep Blue Medical Technology Co., Ltd, COVID-19 (SARS-CoV-2) Antigen Test Kit (Colloidal Gold) - Nasal Swab' },
    });
    const bytes = await renderPassPdf(long);
    const lines = await textLines(bytes);
    const name = after(lines, 'Nom')!;
    expect(name.endsWith('…')).toBe(true);
    expect(lines.join(' ')).toContain('Anhui Deep Blue Medical Technology Co., Ltd, COVID-19 (SARS-CoV-2) Antigen Test Kit (Colloidal Gold) - Nasal Swab');
    expect(await withinMargins(bytes)).toEqual([]);
    const vaccination = { certifies: { kind: 'vaccination' as const, product: 'COVID-19 Vaccine Valneva', doseNumber: 2, seriesDoses: 2, administeredOn: '2026-11-01' }, accepted: { from: '2026-11-08', until: null } };
    for (const lang of ['fr', 'en'] as const) expect(await withinMargins(await renderPassPdf(pass('Marie-Françoise '.repeat(10), { ...vaccination, lang })))).toEqual([]);
    const longSeller = { name: 'Pharmacie '.repeat(10), address: 'Centre commercial '.repeat(10), siret: '91234567500017', finess: '750100018', vatNumber: 'FR65912345675' };
    expect(await withinMargins(await renderInvoicePdf({ ...invoice('Marie-Françoise '.repeat(10), '12 boulevard '.repeat(10)), seller: longSeller }))).toEqual([]);
  });

  it('SIRET, FINESS and VAT numbers are checked where they are entered; the demo pharmacies\' pass', () => {
    expect(luhnValid('73282932000074')).toBe(true);
    expect(TenantIdentity.safeParse({ siret: '732 829 320 00074', finess: '2A0000019', vatNumber: 'FR44732829320' }).data).toEqual({ siret: '73282932000074', finess: '2A0000019', vatNumber: 'FR44732829320' });
    const wrong = TenantIdentity.safeParse({ siret: '73282932000075', finess: '75010001', vatNumber: 'FR45732829320', address: 'a\nb' });
    expect(wrong.error?.issues.map((i) => [i.path[0], i.message])).toEqual([['address', 'address-control-characters'], ['siret', 'siret-checksum'], ['finess', 'finess-format'], ['vatNumber', 'vat-key']]);
    for (const t of DEMO.tenants) expect(TenantIdentity.safeParse({ address: t.address, siret: t.siret, finess: t.finess, vatNumber: t.vatNumber }).success).toBe(true);
  });
});

describe.each(ENGINES)('the PDFs of a test recorded at a demo pharmacy on %s', (engine) => {
  const demo = useDemoServer(engine);

  it('the pass: certificate id and issuer as signed, device, accepted until sampling + 72 h, in fr and en; the invoice: the pharmacy\'s identity and the test date', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const post = (url: string, payload: object) => demo.server.inject({ method: 'POST', url, headers: staff.headers, payload });
    const patient = await post('/api/patients', { givenName: 'Hélène', familyName: 'Martin', birthDate: '1990-04-12', address: '5 rue des Lilas, 75020 Paris' });
    expect(patient.statusCode, patient.body).toBe(201);
    const sampledAt = new Date(Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000);
    const result = await post(`/api/patients/${patient.json().id}/results`, { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: sampledAt.toISOString() });
    expect(result.statusCode, result.body).toBe(201);
    const issued = await post(`/api/results/${result.json().id}/passes`, { kind: 'test' });
    expect(issued.statusCode, issued.body).toBe(201);
    const [signed] = dccOf(issued.json().hc1).t;
    const until = new Date(sampledAt.getTime() + 72 * 3_600_000);
    for (const lang of ['fr', 'en'] as const) {
      const pdf = await demo.server.inject({ method: 'GET', url: `/api/passes/${issued.json().id}/pdf?lang=${lang}`, headers: staff.headers });
      expect(pdf.statusCode, pdf.body).toBe(200);
      const lines = await textLines(pdf.rawPayload);
      const [idLabel, untilLabel, deviceLabel, pharmacyLabel, issuerLabel, sampledLabel] = lang === 'fr'
        ? ['Identifiant du certificat', 'Accepté jusqu’au', 'Test utilisé', 'Délivré par', 'Émetteur', 'Prélèvement']
        : ['Certificate identifier', 'Accepted until', 'Test used', 'Issued by', 'Certificate issuer', 'Sample taken'];
      expect(after(lines, idLabel)).toBe(signed!.ci);
      expect(after(lines, issuerLabel)).toBe(signed!.is);
      expect(after(lines, pharmacyLabel)).toBe('Pharmacie des Tilleuls');
      expect(after(lines, deviceLabel)).toBe('Abbott Rapid Diagnostics, Panbio COVID-19 Ag Rapid Test');
      expect(after(lines, sampledLabel)).toBe(paris(sampledAt, lang === 'fr' ? 'fr-FR' : 'en-GB'));
      expect(after(lines, untilLabel)).toBe(paris(until, lang === 'fr' ? 'fr-FR' : 'en-GB'));
    }
    const invoicePdf = await demo.server.inject({ method: 'GET', url: `/api/documents/${result.json().invoiceId}`, headers: staff.headers });
    expect(invoicePdf.statusCode, invoicePdf.body).toBe(200);
    const invoiceText = (await textLines(invoicePdf.rawPayload)).join('\n');
    for (const expected of ['12 avenue des Tilleuls, 75011 Paris', 'SIRET : 91234567500017', 'FINESS : 750100018', paris(sampledAt, 'fr-FR'), VAT_EXEMPTION, 'Hélène Martin']) {
      expect(invoiceText).toContain(expected);
    }
  });
  it('a vaccination pass: accepted from the dose + 28 days for a single dose; a recovery pass: from day 11 to day 180', async () => {
    const staff = demo.who('pharmacy-b-staff');
    const post = (url: string, payload: object) => demo.server.inject({ method: 'POST', url, headers: staff.headers, payload });
    const patient = await post('/api/patients', { givenName: 'Paul', familyName: 'Durand', birthDate: '1975-02-03' });
    expect(patient.statusCode, patient.body).toBe(201);
    const dose = await post(`/api/patients/${patient.json().id}/vaccinations`, { product: 'EU/1/20/1525', doseNumber: 1, seriesDoses: 1, administeredOn: '2026-03-02' });
    expect(dose.statusCode, dose.body).toBe(201);
    const vaccinationPass = await post(`/api/vaccinations/${dose.json().id}/passes`, {});
    expect(vaccinationPass.statusCode, vaccinationPass.body).toBe(201);
    const vaccination = await textLines((await demo.server.inject({ method: 'GET', url: `/api/passes/${vaccinationPass.json().id}/pdf?lang=en`, headers: staff.headers })).rawPayload);
    expect(after(vaccination, 'Certifies')).toBe('COVID-19 vaccination: Jcovden, dose 1/1');
    expect(after(vaccination, 'Given on')).toBe('2 March 2026');
    expect(after(vaccination, 'Accepted from')).toBe('30 March 2026');
    expect(after(vaccination, 'Issued by')).toBe('Pharmacie du Port');

    const sampledAt = new Date(Date.now() - 20 * 86_400_000);
    const pcr = await post(`/api/patients/${patient.json().id}/results`, { testType: 'pcr', outcome: 'positive', sampledAt: sampledAt.toISOString() });
    expect(pcr.statusCode, pcr.body).toBe(201);
    const recoveryPass = await post(`/api/results/${pcr.json().id}/passes`, { kind: 'recovery' });
    expect(recoveryPass.statusCode, recoveryPass.body).toBe(201);
    const recovery = await textLines((await demo.server.inject({ method: 'GET', url: `/api/passes/${recoveryPass.json().id}/pdf?lang=fr`, headers: staff.headers })).rawPayload);
    const day = (ms: number) => new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(new Date(ms).toISOString().slice(0, 10)));
    expect(after(recovery, 'Test positif du')).toBe(day(sampledAt.getTime()));
    expect(after(recovery, 'Accepté')).toBe(`du ${day(sampledAt.getTime() + 11 * 86_400_000)} au ${day(sampledAt.getTime() + 180 * 86_400_000)}`);
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
