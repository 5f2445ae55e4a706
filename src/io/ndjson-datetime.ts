/**
 * ISO date-times parsed from bytes for the common shapes, the same instants as
 * `signature/iso-datetime.ts` gives for them (the fallback for every other shape).
 *
 * @module
 */

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digit(b: Uint8Array, p: number): number {
  const c = b[p]! - ZERO;
  return c >= 0 && c <= 9 ? c : -1000;
}

function two(b: Uint8Array, p: number): number {
  return digit(b, p) * 10 + digit(b, p + 1);
}

/**
 * Epoch milliseconds of the common ISO date-time shapes, straight from bytes: `YYYY-MM-DD`,
 * optionally `[T ]HH:MM[:SS[.f{1,9}]]` and `Z` or `+HH[[:]MM]`; text without a zone is UTC, extra
 * fraction digits are truncated, as `parseIsoDatetime` does. NaN for any other shape or an
 * impossible date, so the caller falls back to the text parser (which decides and words the
 * error).
 *
 * @param b - the bytes (no escapes)
 * @param p - the first byte
 * @param end - the end
 * @returns epoch milliseconds, or NaN
 */
export function isoDatetimeMs(b: Uint8Array, p: number, end: number): number {
  const len = end - p;
  if (len < 10 || b[p + 4] !== MINUS || b[p + 7] !== MINUS) return Number.NaN;
  const y = two(b, p) * 100 + two(b, p + 2);
  const mo = two(b, p + 5);
  const d = two(b, p + 8);
  if (y < 0 || mo < 1 || mo > 12 || d < 1) return Number.NaN;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!)) return Number.NaN;
  let ms = daysFromCivil(y, mo, d) * 86400000;
  let q = p + 10;
  if (q === end) return ms;
  const sep = b[q];
  if ((sep !== 0x54 && sep !== 0x20) || q + 6 > end || b[q + 3] !== 0x3a) return Number.NaN;
  const h = two(b, q + 1);
  const mi = two(b, q + 4);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return Number.NaN;
  ms += h * 3600000 + mi * 60000;
  q += 6;
  if (q < end && b[q] === 0x3a) {
    if (q + 3 > end) return Number.NaN;
    const s = two(b, q + 1);
    if (s < 0 || s > 59) return Number.NaN;
    ms += s * 1000;
    q += 3;
    if (q < end && (b[q] === DOT || b[q] === 0x2c)) {
      q++;
      const f0 = q;
      let frac = 0;
      while (q < end && q - f0 < 9 && digit(b, q) >= 0) {
        if (q - f0 < 3) frac = frac * 10 + digit(b, q);
        q++;
      }
      const n = q - f0;
      if (n === 0) return Number.NaN;
      ms += n === 1 ? frac * 100 : n === 2 ? frac * 10 : frac;
    }
  }
  if (q === end) return ms;
  const z = b[q];
  if (z === 0x5a) return q + 1 === end ? ms : Number.NaN;
  if (z !== PLUS && z !== MINUS) return Number.NaN;
  const sign = z === MINUS ? -1 : 1;
  const oh = two(b, q + 1);
  if (q + 3 > end || oh < 0) return Number.NaN;
  q += 3;
  let om = 0;
  if (q < end) {
    if (b[q] === 0x3a) q++;
    if (q + 2 !== end) return Number.NaN;
    om = two(b, q);
    if (om < 0) return Number.NaN;
  }
  return ms - sign * (oh * 60 + om) * 60000;
}
