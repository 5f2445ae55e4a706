/**
 * JSON numbers parsed from bytes, exactly as `Number(text)` would parse them: integers from
 * their digits, decimals through exact fast paths (see {@link scanNumber}), anything else
 * through `Number` itself. The result is left in {@link num}, one module-level record, so that
 * parsing a number allocates nothing.
 *
 * @module
 */
import { ScanError } from './ndjson-scan-error.js';

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** The last scanned number: `value` as `Number(text)`; `plainInt` when it has no `.`/exponent. */
export const num = { value: 0, plainInt: false, digits: 0 };

const POW10: number[] = [];
for (let i = 0, p = 1; i <= 22; i++, p *= 10) POW10.push(p);

/**
 * Scans a JSON number and computes its value exactly as `Number(text)` (into {@link num}):
 * exact fast paths for up to 15 significant digits and a power of ten up to 22 (one correctly
 * rounded operation on exact operands), and for 16-19 digits over a power of ten up to 22 (see
 * {@link quotient}); anything else goes through `Number`.
 *
 * @param b - the bytes
 * @param p - the first byte (`-` or a digit)
 * @param end - the end of the range
 * @returns the index after the number
 * @throws {ScanError} when the text is not a JSON number
 */
export function scanNumber(b: Uint8Array, p: number, end: number): number {
  const start = p;
  let neg = false;
  if (b[p] === MINUS) {
    neg = true;
    p++;
  }
  let c = p < end ? b[p]! : -1;
  if (c < ZERO || c > NINE) throw new ScanError('syntax', p);
  // The significant digits (leading zeros not counted): the first 15 in `hi`, the next 4 in
  // `lo` (`loDigits` of them); past 19 the value comes from Number().
  let hi = 0;
  let lo = 0;
  let loDigits = 0;
  let sig = 0;
  let digits = 0;
  if (c === ZERO) {
    p++;
    digits = 1;
  } else {
    while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
      if (sig < 15) hi = hi * 10 + (c - ZERO);
      else if (sig < 19) {
        lo = lo * 10 + (c - ZERO);
        loDigits++;
      }
      sig++;
      digits++;
      p++;
    }
  }
  let fracDigits = 0;
  let plainInt = true;
  if (p < end && b[p] === DOT) {
    plainInt = false;
    p++;
    const f0 = p;
    while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
      if (sig > 0 || c !== ZERO) {
        if (sig < 15) hi = hi * 10 + (c - ZERO);
        else if (sig < 19) {
          lo = lo * 10 + (c - ZERO);
          loDigits++;
        }
        sig++;
      }
      if (sig <= 19) fracDigits++;
      p++;
    }
    if (p === f0) throw new ScanError('syntax', p);
  }
  let exp = 0;
  if (p < end && (b[p] === LOWER_E || b[p] === UPPER_E)) {
    plainInt = false;
    p++;
    let eneg = false;
    if (p < end && (b[p] === PLUS || b[p] === MINUS)) {
      eneg = b[p] === MINUS;
      p++;
    }
    const e0 = p;
    while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
      if (exp < 100000) exp = exp * 10 + (c - ZERO);
      p++;
    }
    if (p === e0) throw new ScanError('syntax', p);
    if (eneg) exp = -exp;
  }
  num.plainInt = plainInt;
  num.digits = digits;
  if (plainInt && digits <= 15) {
    num.value = neg ? -hi : hi;
    return p;
  }
  const e10 = exp - fracDigits;
  if (sig <= 15 && e10 >= -22 && e10 <= 22) {
    const v = hi === 0 ? 0 : e10 >= 0 ? hi * POW10[e10]! : hi / POW10[-e10]!;
    num.value = neg ? -v : v;
    return p;
  }
  if (sig <= 19 && e10 >= -22 && e10 <= 0 && LITTLE_ENDIAN) {
    const v = quotient(hi, lo, loDigits, -e10);
    if (v === v) {
      num.value = neg ? -v : v;
      return p;
    }
  }
  num.value = Number(latin1(b, start, p));
  return p;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const bits64 = new Float64Array(1);
const words = new Uint32Array(bits64.buffer);

/** The next double above a positive finite `x` (little-endian word order). */
function nextUp(x: number): number {
  bits64[0] = x;
  if (words[0] === 0xffffffff) {
    words[0] = 0;
    words[1] = words[1]! + 1;
  } else {
    words[0] = words[0]! + 1;
  }
  return bits64[0];
}

/** The next double below a positive normal `x`. */
function nextDown(x: number): number {
  bits64[0] = x;
  if (words[0] === 0) {
    words[0] = 0xffffffff;
    words[1] = words[1]! - 1;
  } else {
    words[0] = words[0]! - 1;
  }
  return bits64[0];
}

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)

/** The rounding error of `p = fl(a * b)`: a * b === p + error, exactly (Dekker, no FMA). */
function productError(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return al * bl - (p - ah * bh - al * bh - ah * bl);
}

/**
 * `w / 10^k` correctly rounded, for `w = hi * 10^loDigits + lo` of 16-19 digits and `k <= 22`,
 * or NaN when the value lies too close to a rounding boundary to decide this way (the caller
 * then uses `Number`). `w` is held exactly as the double-double `H + L`; `q = fl(H / D)` is
 * corrected by the exact remainder `w - q * D` (Dekker's products), and the result is returned
 * only when the exact quotient is provably inside the rounding interval of the candidate, with a
 * margin far wider than the few ulps of error of the correction.
 */
function quotient(hi: number, lo: number, loDigits: number, k: number): number {
  // w exactly as H + L, H = fl(w).
  const scale = POW10[loDigits]!;
  const p = hi * scale;
  const t = productError(hi, scale, p) + lo; // integers below 2^15: exact
  const H = p + t;
  const bb = H - p;
  const L = p - (H - bb) + (t - bb);
  if (k === 0) return H;
  const D = POW10[k]!;
  const q = H / D;
  const m = q * D;
  // w - q * D = (H - m) - error(q * D) + L; H - m is exact (Sterbenz).
  const dc = (H - m - productError(q, D, m) + L) / D;
  const r = q + dc;
  const d = q - r + dc; // (exact v) - r, up to the tiny error of dc
  const margin = (Math.abs(dc) + Math.abs(d)) * 2 ** -40;
  if (d >= 0) {
    if (d + margin < (nextUp(r) - r) / 2) return r;
  } else if (-d + margin < (r - nextDown(r)) / 2) {
    return r;
  }
  return Number.NaN;
}

/**
 * The common number: an integer of at most 15 digits with no fraction or exponent, into
 * `num.value`. Anything else returns -1 and the caller scans it with {@link scanNumber}.
 *
 * @param b - the bytes
 * @param p - the first byte
 * @param end - the end of the range
 * @returns the index after the number, or -1
 */
export function scanPlainInt(b: Uint8Array, p: number, end: number): number {
  const neg = b[p] === MINUS;
  if (neg) p++;
  const first = p;
  let v = 0;
  let d: number;
  while (p < end && (d = b[p]! - ZERO) >= 0 && d <= 9) {
    v = v * 10 + d;
    p++;
  }
  const n = p - first;
  if (n === 0 || n > 15 || (n > 1 && b[first] === ZERO)) return -1;
  if (p < end) {
    const c = b[p];
    if (c === DOT || c === LOWER_E || c === UPPER_E) return -1;
  }
  num.value = neg ? -v : v;
  num.plainInt = true;
  num.digits = n;
  return p;
}

/**
 * ASCII bytes as a JS string (for number text and other short ASCII tokens).
 *
 * @param b - the bytes
 * @param from - the start
 * @param to - the end
 * @returns the text
 */
export function latin1(b: Uint8Array, from: number, to: number): string {
  if (to - from > 8) {
    // One native call beats building the string a character at a time.
    return Buffer.isBuffer(b)
      ? b.toString('latin1', from, to)
      : Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
  }
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}
