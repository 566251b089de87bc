import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument, StandardFonts, type PDFFont } from 'pdf-lib';

/**
 * The fonts our PDFs print people's names and addresses with. PDF's standard fonts cover only the
 * Windows-1252 characters: "Łukasz", "Nguyễn" or "Ахмед" could not be drawn at all, and such a
 * patient could never get an invoice or a printable pass. When a document's text needs more, it
 * embeds DejaVu Sans, which covers Latin (Vietnamese included), Greek, Cyrillic, Armenian, Georgian,
 * Hebrew and Arabic letters; a character it lacks (CJK, emoji) prints as an empty box instead of
 * failing the document. Otherwise the standard Helvetica: embedding a font costs 10 to 20 times
 * more time per document, and most of ours need no more than Windows-1252.
 */
export interface PdfFonts {
  regular: PDFFont;
  bold: PDFFont;
}

const require = createRequire(import.meta.url);
let files: { regular: Buffer; bold: Buffer } | undefined;

/** Read once per process (about 1.5 MB); each document embeds only the glyphs it uses. */
function fontFiles(): { regular: Buffer; bold: Buffer } {
  if (!files) {
    const dir = `${require.resolve('dejavu-fonts-ttf/package.json').replace(/package\.json$/, '')}ttf/`;
    files = { regular: readFileSync(`${dir}DejaVuSans.ttf`), bold: readFileSync(`${dir}DejaVuSans-Bold.ttf`) };
  }
  return files;
}

let standardSet: Promise<Set<number>> | undefined;
/** The code points Helvetica can draw (Windows-1252), asked of a scratch document once per process. */
function standardCharacters(): Promise<Set<number>> {
  standardSet ??= PDFDocument.create().then(async (scratch) => new Set((await scratch.embedFont(StandardFonts.Helvetica)).getCharacterSet()));
  return standardSet;
}

/** The fonts for a document that will draw `texts`. */
export async function embedFonts(doc: PDFDocument, texts: readonly string[]): Promise<PdfFonts> {
  const standard = await standardCharacters();
  if (texts.every((t) => [...t].every((c) => standard.has(c.codePointAt(0)!)))) {
    return { regular: await doc.embedFont(StandardFonts.Helvetica), bold: await doc.embedFont(StandardFonts.HelveticaBold) };
  }
  doc.registerFontkit(fontkit);
  const f = fontFiles();
  return { regular: await doc.embedFont(f.regular, { subset: true }), bold: await doc.embedFont(f.bold, { subset: true }) };
}

/**
 * Text as one line: stored free text (an address) may hold line breaks or other control characters,
 * which a single drawn line cannot show. Cut to `max` characters (whole code points).
 */
export function oneLine(s: string, max: number): string {
  const flat = s.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  const points = [...flat];
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : flat;
}

/**
 * `s` cut on whole characters, with an ellipsis, to fit `width` points in `font` at `size`: a long
 * name, address or device name must stay on the page, whatever the font's widths.
 */
export function fit(s: string, font: PDFFont, size: number, width: number): string {
  if (font.widthOfTextAtSize(s, size) <= width) return s;
  const points = [...s];
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (font.widthOfTextAtSize(`${points.slice(0, mid).join('')}…`, size) <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${points.slice(0, lo).join('')}…`;
}
