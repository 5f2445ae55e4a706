/**
 * Cell values parsed straight from UTF-8 bytes, for the common shapes only. Each parser is a
 * FAST PATH that is exact when it answers: it returns a sentinel for anything it does not
 * handle (a leading `+` on a long mantissa, `1e400`, `NaN`, a date with a `,` fraction, ...),
 * and the caller then decodes the cell and uses `convertText` from `text-columns.ts`, the one
 * definition of the typing rules. So the byte path can be incomplete, never different.
 *
 * Also the per-cell classifier of CSV type inference, the byte form of `inferTextType`'s tests.
 *
 * @module
 */

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;

/**
 * Whether `c` is a byte `String.prototype.trim` removes (the ASCII ones; a cell with Unicode
 * white space at an end fails the fast paths and takes the exact string path).
 *
 * @param c - a byte
 * @returns true for tab, LF, VT, FF, CR and space
 */
export function isTrimByte(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * An integer written with at most 15 significant digits (exactly representable as a double):
 * `[+-]?[0-9]+`.
 *
 * @param b - the bytes
 * @param a - first byte (trimmed)
 * @param e - end (trimmed, `e > a`)
 * @returns the value (`-0` comes out as 0), or NaN when not this shape
 */
export function parseIntBytes(b: Uint8Array, a: number, e: number): number {
  let i = a;
  let neg = false;
  const c0 = b[i]!;
  if (c0 === MINUS || c0 === PLUS) {
    neg = c0 === MINUS;
    i++;
    if (i === e) return Number.NaN;
  }
  while (i < e - 1 && b[i] === ZERO) i++; // leading zeros are not significant
  if (e - i > 15) return Number.NaN;
  let v = 0;
  for (; i < e; i++) {
    const d = b[i]! - ZERO;
    if (d < 0 || d > 9) return Number.NaN;
    v = v * 10 + d;
  }
  return neg ? 0 - v : v;
}

/** Exact powers of ten (10^22 is the largest a double holds exactly). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/**
 * A decimal number in the grammar of `text-columns.ts` (`[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`)
 * whose value is computed exactly as `Number(text)` by the classic fast path: a mantissa of at
 * most 15 significant digits (below 2^53) times or divided by an exact power of ten up to 10^22
 * is ONE correctly rounded operation, so equal to the correctly rounded decimal conversion.
 *
 * @param b - the bytes
 * @param a - first byte (trimmed)
 * @param e - end (trimmed, `e > a`)
 * @returns the value, or NaN when not handled here (other grammar, more digits, large exponent)
 */
export function parseFloatBytes(b: Uint8Array, a: number, e: number): number {
  let i = a;
  let neg = false;
  const c0 = b[i]!;
  if (c0 === MINUS || c0 === PLUS) {
    neg = c0 === MINUS;
    i++;
  }
  let m = 0;
  let sig = 0; // significant digits taken into m
  let exp = 0;
  let digits = 0;
  for (; i < e; i++) {
    const d = b[i]! - ZERO;
    if (d < 0 || d > 9) break;
    digits++;
    if (sig > 0 || d !== 0) {
      m = m * 10 + d;
      sig++;
    }
  }
  if (i < e && b[i] === DOT) {
    i++;
    for (; i < e; i++) {
      const d = b[i]! - ZERO;
      if (d < 0 || d > 9) break;
      digits++;
      exp--;
      if (sig > 0 || d !== 0) {
        m = m * 10 + d;
        sig++;
      }
    }
  }
  if (digits === 0 || sig > 15) return Number.NaN;
  if (i < e) {
    const c = b[i]! | 0x20;
    if (c !== 101) return Number.NaN; // 'e'
    i++;
    let eneg = false;
    if (i < e && (b[i] === MINUS || b[i] === PLUS)) {
      eneg = b[i] === MINUS;
      i++;
    }
    if (i === e || e - i > 5) return Number.NaN;
    let x = 0;
    for (; i < e; i++) {
      const d = b[i]! - ZERO;
      if (d < 0 || d > 9) return Number.NaN;
      x = x * 10 + d;
    }
    exp += eneg ? -x : x;
  }
  let v: number;
  if (m === 0) v = 0;
  else if (exp === 0) v = m;
  else if (exp > 0 && exp <= 22) v = m * POW10[exp]!;
  else if (exp < 0 && exp >= -22) v = m / POW10[-exp]!;
  else return Number.NaN;
  return neg ? -v : v;
}

/**
 * The slower exact path for decimal text the fast path declines (more than 15 significant
 * digits, as in `0.30000000000000004`, or a large exponent): `Number` of the text, exactly as
 * `convertText` computes it once the text matches the float grammar, without decoding, trimming
 * or a regular expression.
 *
 * @param b - the bytes (ASCII when the grammar matches)
 * @param a - first byte (trimmed)
 * @param e - end (trimmed)
 * @returns the value, or NaN when the text is not in the grammar (words like `NaN` included)
 */
export function parseFloatText(b: Buffer, a: number, e: number): number {
  return floatGrammar(b, a, e) ? Number(b.toString('latin1', a, e)) : Number.NaN;
}

/**
 * `true`/`false` in any case, or `1`/`0`.
 *
 * @param b - the bytes
 * @param a - first byte (trimmed)
 * @param e - end (trimmed)
 * @returns 1, 0, or -1 when not a boolean
 */
export function parseBoolBytes(b: Uint8Array, a: number, e: number): number {
  const n = e - a;
  if (n === 1) {
    const c = b[a];
    return c === 49 ? 1 : c === ZERO ? 0 : -1;
  }
  if (n === 4) {
    return (b[a]! | 0x20) === 116 &&
      (b[a + 1]! | 0x20) === 114 &&
      (b[a + 2]! | 0x20) === 117 &&
      (b[a + 3]! | 0x20) === 101
      ? 1
      : -1;
  }
  if (n === 5) {
    return (b[a]! | 0x20) === 102 &&
      (b[a + 1]! | 0x20) === 97 &&
      (b[a + 2]! | 0x20) === 108 &&
      (b[a + 3]! | 0x20) === 115 &&
      (b[a + 4]! | 0x20) === 101
      ? 0
      : -1;
  }
  return -1;
}

/** Two ASCII digits at `b[i]` as a number, or -1 (the caller checks `i + 2 <= end`). */
function d2(b: Uint8Array, i: number): number {
  const x = b[i]! - ZERO;
  const y = b[i + 1]! - ZERO;
  // `>>> 0` turns a negative difference into a large one: one comparison per digit.
  return x >>> 0 > 9 || y >>> 0 > 9 ? -1 : x * 10 + y;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * ISO date-time text in the common shapes, as epoch milliseconds exactly as
 * `parseIsoDatetime` (signature/iso-datetime.ts) computes them: `YYYY-MM-DD`, optionally
 * `[T ]HH:MM[:SS[.fraction]]` and a zone `Z`, `±HH`, `±HHMM` or `±HH:MM`; no zone is UTC; the
 * fraction is truncated to milliseconds.
 *
 * @param b - the bytes
 * @param a - first byte (trimmed)
 * @param e - end (trimmed)
 * @returns epoch milliseconds, or NaN when not one of these shapes or not a real date/time
 */
export function parseDatetimeBytes(b: Uint8Array, a: number, e: number): number {
  const n = e - a;
  if (n < 10 || b[a + 4] !== MINUS || b[a + 7] !== MINUS) return Number.NaN;
  const y1 = d2(b, a);
  const y2 = d2(b, a + 2);
  const mo = d2(b, a + 5);
  const d = d2(b, a + 8);
  if (y1 < 0 || y2 < 0) return Number.NaN;
  const y = y1 * 100 + y2;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return Number.NaN;
  let ms = daysFromCivil(y, mo, d) * 86_400_000;
  if (n === 10) return ms;
  const sep = b[a + 10];
  if ((sep !== 84 && sep !== 32) || n < 16 || b[a + 13] !== 58) return Number.NaN; // T/space, ':'
  const h = d2(b, a + 11);
  const mi = d2(b, a + 14);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return Number.NaN;
  ms += h * 3_600_000 + mi * 60_000;
  let i = a + 16;
  if (i < e && b[i] === 58) {
    if (i + 3 > e) return Number.NaN;
    const s = d2(b, i + 1);
    if (s < 0 || s > 59) return Number.NaN;
    ms += s * 1000;
    i += 3;
    if (i < e && b[i] === DOT) {
      i++;
      const f0 = i;
      let frac = 0;
      while (i < e && b[i]! >= ZERO && b[i]! <= NINE) {
        if (i - f0 < 3) frac = frac * 10 + (b[i]! - ZERO);
        i++;
      }
      const nf = i - f0;
      if (nf < 1 || nf > 9) return Number.NaN;
      ms += nf === 1 ? frac * 100 : nf === 2 ? frac * 10 : frac;
    }
  }
  if (i === e) return ms;
  const z = b[i];
  if (z === 90) return i + 1 === e ? ms : Number.NaN; // 'Z'
  if (z !== PLUS && z !== MINUS) return Number.NaN;
  const rest = e - i - 1;
  if (rest !== 2 && rest !== 4 && !(rest === 5 && b[i + 3] === 58)) return Number.NaN;
  const oh = d2(b, i + 1);
  const om = rest === 2 ? 0 : d2(b, e - 2);
  if (oh < 0 || om < 0) return Number.NaN;
  const offset = (oh * 60 + om) * 60_000;
  return z === MINUS ? ms + offset : ms - offset;
}

/** Inference flag: an integer within int64 without leading zeros. */
export const T_INT = 1;
/** Inference flag: a decimal number or a NaN/infinity word, without leading zeros. */
export const T_FLOAT = 2;
/** Inference flag: `true`/`false` in any case. */
export const T_BOOL = 4;
/** Inference flag: an ISO date with a time (longer than 10 characters). */
export const T_DATE = 8;

/** The NaN and infinity words `text-columns.ts` accepts as floats. */
const FLOAT_WORDS = new Set([
  'nan',
  'NaN',
  'NAN',
  '-nan',
  '-NaN',
  'inf',
  'Inf',
  'INF',
  'infinity',
  'Infinity',
  '+inf',
  '+Infinity',
  '-inf',
  '-Inf',
  '-INF',
  '-infinity',
  '-Infinity',
]);

const INT64_MAX_DIGITS = '9223372036854775807';

/** `[+-]?\d+` within int64, without a leading `0\d`: a T_INT/T_FLOAT candidate. */
function intShape(b: Uint8Array, a: number, e: number): number {
  let i = a;
  let neg = false;
  if (b[i] === PLUS || b[i] === MINUS) {
    neg = b[i] === MINUS;
    i++;
  }
  if (i === e) return 0;
  for (let k = i; k < e; k++) {
    const c = b[k]!;
    if (c < ZERO || c > NINE) return 0;
  }
  if (b[i] === ZERO && e - i > 1) return 0; // leading zero: neither long nor double
  const n = e - i;
  if (n < 19) return T_INT | T_FLOAT;
  if (n > 19) return T_FLOAT;
  // 19 digits: compare with 9223372036854775807 (…808 for a negative number).
  for (let k = 0; k < 19; k++) {
    const c = b[i + k]!;
    let lim = INT64_MAX_DIGITS.charCodeAt(k);
    if (k === 18 && neg) lim++;
    if (c < lim) return T_INT | T_FLOAT;
    if (c > lim) return T_FLOAT;
  }
  return T_INT | T_FLOAT;
}

/** The FLOAT_RE grammar of text-columns: `[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`. */
function floatGrammar(b: Uint8Array, a: number, e: number): boolean {
  let i = a;
  if (b[i] === PLUS || b[i] === MINUS) i++;
  let digits = 0;
  while (i < e && b[i]! >= ZERO && b[i]! <= NINE) {
    i++;
    digits++;
  }
  if (i < e && b[i] === DOT) {
    i++;
    while (i < e && b[i]! >= ZERO && b[i]! <= NINE) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i === e) return true;
  if ((b[i]! | 0x20) !== 101) return false;
  i++;
  if (i < e && (b[i] === PLUS || b[i] === MINUS)) i++;
  if (i === e) return false;
  while (i < e && b[i]! >= ZERO && b[i]! <= NINE) i++;
  return i === e;
}

/** ISO_DATETIME_RE of text-columns, anchored, on bytes (no range checks, as the regex). */
function dateGrammar(b: Uint8Array, a: number, e: number): boolean {
  const n = e - a;
  const dig = (i: number): boolean => b[i]! >= ZERO && b[i]! <= NINE;
  const digs = (i: number, k: number): boolean => {
    for (let j = 0; j < k; j++) if (!dig(i + j)) return false;
    return true;
  };
  if (n < 16) return false; // > 10 characters means the time part is there: HH:MM at least
  if (!digs(a, 4) || b[a + 4] !== MINUS || !digs(a + 5, 2) || b[a + 7] !== MINUS) return false;
  if (!digs(a + 8, 2) || (b[a + 10] !== 84 && b[a + 10] !== 32)) return false;
  if (!digs(a + 11, 2) || b[a + 13] !== 58 || !digs(a + 14, 2)) return false;
  let i = a + 16;
  if (i < e && b[i] === 58) {
    if (i + 3 > e || !digs(i + 1, 2)) return false;
    i += 3;
    if (i < e && b[i] === DOT) {
      i++;
      const f0 = i;
      while (i < e && dig(i)) i++;
      if (i - f0 < 1 || i - f0 > 9) return false;
    }
  }
  if (i === e) return true;
  if (b[i] === 90) return i + 1 === e;
  if (b[i] !== PLUS && b[i] !== MINUS) return false;
  const rest = e - i - 1;
  if (rest === 4) return digs(i + 1, 4);
  if (rest === 5) return digs(i + 1, 2) && b[i + 3] === 58 && digs(i + 4, 2);
  return false;
}

/**
 * The inference flags of one trimmed, unquoted, pure-ASCII cell: exactly which of
 * `inferTextType`'s per-cell tests (long, double, boolean, datetime) it passes.
 *
 * @param b - the bytes
 * @param a - first byte (trimmed)
 * @param e - end (trimmed, `e > a`)
 * @returns a mask of T_INT, T_FLOAT, T_BOOL, T_DATE
 */
export function classifyAscii(b: Uint8Array, a: number, e: number): number {
  const c0 = b[a]!;
  if ((c0 >= ZERO && c0 <= NINE) || c0 === PLUS || c0 === MINUS || c0 === DOT) {
    const int = intShape(b, a, e);
    if (int !== 0) return int;
    const lead0 =
      (c0 === ZERO && e - a > 1 && b[a + 1]! >= ZERO && b[a + 1]! <= NINE) ||
      ((c0 === PLUS || c0 === MINUS) &&
        e - a > 2 &&
        b[a + 1] === ZERO &&
        b[a + 2]! >= ZERO &&
        b[a + 2]! <= NINE);
    if (floatGrammar(b, a, e)) return lead0 ? 0 : T_FLOAT;
    if (dateGrammar(b, a, e)) return T_DATE;
    if (e - a <= 9 && FLOAT_WORDS.has(latin1(b, a, e))) return T_FLOAT;
    return 0;
  }
  if (parseBoolBytes(b, a, e) >= 0) return T_BOOL; // '1'/'0' start with a digit: not here
  if (e - a <= 9 && FLOAT_WORDS.has(latin1(b, a, e))) return T_FLOAT;
  return 0;
}

function latin1(b: Uint8Array, a: number, e: number): string {
  let s = '';
  for (let i = a; i < e; i++) s += String.fromCharCode(b[i]!);
  return s;
}
