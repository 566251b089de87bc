/**
 * The two JSON Schema formats the DCC schema uses, with the semantics of ajv-formats' "full" mode
 * (RFC 3339): kept here so the generated validator has no runtime dependency and runs in browsers.
 *
 * Written as character scans rather than the regular expressions they replace (ajv-formats':
 * `^(\d{4})-(\d\d)-(\d\d)$` and `^(\d{4}-\d\d-\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|([+-])(\d\d):(\d\d))$`,
 * with `\d` = [0-9]): a regex match allocates its result array and substrings, and these run for
 * every date of every pass. test/hcert/fast-paths.test.ts checks them against those expressions.
 */

const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** The two ASCII digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `YYYY-MM-DD` at `s[0..10)`, a real calendar date. */
function dateAt(s: string): boolean {
  const c = twoDigits(s, 0);
  const y = twoDigits(s, 2);
  if (c < 0 || y < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false; // '-'
  const mo = twoDigits(s, 5);
  const d = twoDigits(s, 8);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && !isLeap(c * 100 + y) ? 28 : DAYS[mo]!);
}

/** RFC 3339 full-date: a real calendar date. */
export function isDate(s: string): boolean {
  return s.length === 10 && dateAt(s);
}

/** RFC 3339 date-time with a mandatory offset. */
export function isDateTime(s: string): boolean {
  const n = s.length;
  if (n < 20 || !dateAt(s)) return false;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116) return false; // 'T' | 't'
  const h = twoDigits(s, 11);
  const mi = twoDigits(s, 14);
  const sec = twoDigits(s, 17);
  if (h < 0 || mi < 0 || sec < 0 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false; // ':'
  let i = 19;
  if (s.charCodeAt(i) === 46) {
    // '.' and at least one digit
    i++;
    const start = i;
    while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === start) return false;
  }
  if (h > 23 || mi > 59 || sec > 60) return false; // 60: leap second
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) return i + 1 === n; // 'Z' | 'z'
  if ((z !== 43 && z !== 45) || i + 6 !== n || s.charCodeAt(i + 3) !== 58) return false; // '+' | '-', HH:MM
  const oh = twoDigits(s, i + 1);
  const om = twoDigits(s, i + 4);
  return oh >= 0 && om >= 0 && oh <= 23 && om <= 59;
}

/** Format table handed to ajv (and referenced by the generated validator). */
export const formats = { date: isDate, 'date-time': isDateTime } as const;
