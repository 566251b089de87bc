/**
 * The two JSON Schema formats the DCC schema uses, with the semantics of ajv-formats' "full" mode
 * (RFC 3339): kept here so the generated validator has no runtime dependency and runs in browsers.
 */

const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
const DATE_TIME = /^(\d{4}-\d\d-\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|([+-])(\d\d):(\d\d))$/;

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** RFC 3339 full-date: a real calendar date. */
export function isDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && !isLeap(y) ? 28 : DAYS[mo]!);
}

/** RFC 3339 date-time with a mandatory offset. */
export function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m || !isDate(m[1]!)) return false;
  const h = Number(m[2]);
  const mi = Number(m[3]);
  const sec = Number(m[4]);
  if (h > 23 || mi > 59 || sec > 60) return false; // 60: leap second
  return m[5] === undefined || (Number(m[6]) <= 23 && Number(m[7]) <= 59);
}

/** Format table handed to ajv (and referenced by the generated validator). */
export const formats = { date: isDate, 'date-time': isDateTime } as const;
