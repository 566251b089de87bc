import type { Lang } from '../errors/messages.ts';

/**
 * Dates as our PDFs print them, in the reader's language: the domain renders documents and may not
 * borrow the web layer's formatters. Instants are shown in Paris time, the platform's reference
 * (a venue reads a pass against its own clock, in France).
 */
const ZONE = 'Europe/Paris';
const LOCALE = { fr: 'fr-FR', en: 'en-GB' } as const;

// ICU may separate parts with a narrow no-break space (U+202F), which the standard PDF fonts
// cannot draw: a plain space keeps dates printable in Helvetica.
const plain = (s: string) => s.replace(/[\u202f\u00a0]/g, ' ');

/**
 * An instant as a date and time in Paris.
 *
 * @example
 * printDateTime('2026-04-12T12:05:00Z', 'fr'); // '12 avril 2026 à 14:05'
 * printDateTime('2026-04-12T12:05:00Z', 'en'); // '12 April 2026 at 14:05'
 */
export function printDateTime(iso: string, lang: Lang): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return plain(new Intl.DateTimeFormat(LOCALE[lang], { dateStyle: 'long', timeStyle: 'short', timeZone: ZONE }).format(at));
}

/**
 * A calendar date (`YYYY-MM-DD`, as a birth date or a vaccination is stored): a day, not an instant,
 * so it is printed as such, without a time zone. Anything else is printed as given.
 *
 * @example
 * printDate('1990-04-12', 'fr'); // '12 avril 1990'
 */
export function printDate(isoDate: string, lang: Lang): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) return isoDate;
  const at = new Date(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(at.getTime())) return isoDate;
  return plain(new Intl.DateTimeFormat(LOCALE[lang], { dateStyle: 'long', timeZone: 'UTC' }).format(at));
}

/**
 * The day of an instant, in Paris (an invoice issued at 00:30 in Paris is dated that day, not the
 * day before as its UTC date would say).
 *
 * @example
 * printParisDay('2026-11-19T23:30:00Z', 'fr'); // '20 novembre 2026'
 */
export function printParisDay(iso: string, lang: Lang): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return plain(new Intl.DateTimeFormat(LOCALE[lang], { dateStyle: 'long', timeZone: ZONE }).format(at));
}
