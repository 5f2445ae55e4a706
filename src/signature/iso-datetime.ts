/**
 * ISO-8601 date-time text as numpy reads and Python writes it: the one parser shared by datetime
 * params and text columns, so `'2023-06-26 12:30'` means the same instant everywhere.
 *
 * @module
 */

const ISO_DATETIME =
  /^([+-]?\d{4,6})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;

/**
 * Parses ISO-8601 date/datetime text the way `np.datetime64(text)` does: `2023`, `2023-06`,
 * `2023-06-26`, `2023-06-26T12:30`, `2023-06-26 12:30:00.123456`, optionally with `Z` or an
 * offset (converted to UTC). Text without a zone is UTC (numpy datetimes are naive).
 *
 * @param text - The text.
 * @returns The Date, or null when the text is not ISO-8601 or names an impossible date.
 */
export function parseIsoDatetime(text: string): Date | null {
  const m = ISO_DATETIME.exec(text.trim());
  if (m === null) return null;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const ms = Number((frac + '000').slice(0, 3));
  const month = Number(mo);
  const day = Number(d);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    return null;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), month - 1, day);
  date.setUTCHours(Number(h), Number(mi), Number(s), ms);
  if (date.getUTCDate() !== day) return null; // e.g. 2023-02-30
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    date.setTime(date.getTime() - sign * offsetMin * 60_000);
  }
  return date;
}

/**
 * Formats a Date as Python's naive `datetime.isoformat()` in UTC: `2023-06-26T00:00:00`, with
 * `.ffffff` microseconds only when the milliseconds are not zero (what MLflow writes for a
 * datetime param default).
 *
 * @param date - The date.
 * @returns The text.
 */
export function formatPyDatetime(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const base =
    `${p(date.getUTCFullYear(), 4)}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}` +
    `T${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())}`;
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${p(ms * 1000, 6)}`;
}
