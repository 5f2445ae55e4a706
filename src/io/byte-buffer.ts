/**
 * A growable byte writer and the allocation-free appenders the text writers (`csv-format.ts`,
 * `ndjson-format.ts`) are built from: integers (64-bit exact, from two 32-bit words, with no
 * BigInt), decimals with their scale, shortest round-trip floats (float64 as JavaScript prints
 * it; float32 and float16 with the fewest digits that read back to the same narrow float), dates,
 * times, base64 and escaped/quoted byte strings.
 *
 * Hot paths write straight into {@link ByteBuffer.buf} at {@link ByteBuffer.pos} after one
 * {@link ByteBuffer.ensure}; nothing here allocates per value except the documented fallbacks
 * (non-integral float64 outside the short-decimal fast path, and float32 values below 1e-14 or
 * above 1e22).
 *
 * @module
 */

/** Exact powers of ten as doubles (10^0 .. 10^22 are exactly representable). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const TWO32 = 4294967296;
const TWO53 = 9007199254740992;
const TWO51 = 2251799813685248;

/** `00`..`99` as ASCII digit pairs. */
const DIGITS2 = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGITS2[2 * i] = 48 + Math.floor(i / 10);
  DIGITS2[2 * i + 1] = 48 + (i % 10);
}

const utf8 = new TextEncoder();

/**
 * A growable `Uint8Array` writer. Capacity grows geometrically (doubling), so appending n bytes
 * costs amortised O(n). For tight loops, call {@link ByteBuffer.ensure} with an upper bound and
 * write into {@link ByteBuffer.buf} from {@link ByteBuffer.pos} directly (re-read `buf` after
 * every `ensure`: growing replaces it).
 */
export class ByteBuffer {
  /** The backing array; bytes `[0, pos)` are written. Replaced when the buffer grows. */
  buf: Uint8Array;
  /** The number of bytes written (the next write position). */
  pos = 0;

  /**
   * @param capacity - initial capacity in bytes (default 64 KiB)
   */
  constructor(capacity = 65536) {
    this.buf = new Uint8Array(Math.max(16, Math.ceil(capacity)));
  }

  /** The number of bytes written. */
  get length(): number {
    return this.pos;
  }

  /**
   * Makes room for `n` more bytes (after this, `buf[pos .. pos + n)` may be written).
   *
   * @param n - bytes needed
   */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /**
   * Appends one byte.
   *
   * @param b - the byte (0..255)
   */
  writeByte(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  /**
   * Appends a short ASCII string (every char code below 128; no check is made).
   *
   * @param s - the text
   */
  writeAscii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /**
   * Appends `src[from, to)`.
   *
   * @param src - the source bytes
   * @param from - first byte (inclusive)
   * @param to - end (exclusive)
   */
  writeBytes(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.pos + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.pos;
    if (n < 32) {
      for (let i = from; i < to; i++) buf[p++] = src[i]!;
      this.pos = p;
    } else {
      buf.set(src.subarray(from, to), p);
      this.pos = p + n;
    }
  }

  /**
   * Appends a string as UTF-8 (lone surrogates become U+FFFD, as `TextEncoder` does).
   *
   * @param s - the text
   */
  writeUtf8(s: string): void {
    this.ensure(s.length * 3);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.pos));
    this.pos += written;
  }

  /**
   * The bytes written so far: a view of {@link ByteBuffer.buf} (no copy), valid until the next
   * write or {@link ByteBuffer.reset}. Copy it (`slice()`) to keep it past either.
   *
   * @returns the view
   */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Forgets the written bytes and keeps the capacity, for reuse. */
  reset(): void {
    this.pos = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Integers

function u32Digits(v: number): number {
  if (v < 100000) {
    if (v < 100) return v < 10 ? 1 : 2;
    return v < 1000 ? 3 : v < 10000 ? 4 : 5;
  }
  if (v < 10000000) return v < 1000000 ? 6 : 7;
  return v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** Writes `v` (0 <= v < 2^32, integral) at `p`; returns the end. */
function putU32(buf: Uint8Array, p: number, v: number): number {
  const end = p + u32Digits(v);
  let q = end;
  while (v >= 100) {
    const r = (v % 100) * 2;
    v = Math.floor(v / 100);
    buf[--q] = DIGITS2[r + 1]!;
    buf[--q] = DIGITS2[r]!;
  }
  if (v >= 10) {
    buf[--q] = DIGITS2[v * 2 + 1]!;
    buf[--q] = DIGITS2[v * 2]!;
  } else {
    buf[--q] = 48 + v;
  }
  return end;
}

/** Writes `v` (0 <= v < 10^width, integral) zero-padded to `width` digits at `p`; returns the end. */
function putPadded(buf: Uint8Array, p: number, v: number, width: number): number {
  const end = p + width;
  let q = end;
  while (q - p >= 2) {
    const r = (v % 100) * 2;
    v = Math.floor(v / 100);
    buf[--q] = DIGITS2[r + 1]!;
    buf[--q] = DIGITS2[r]!;
  }
  if (q > p) buf[--q] = 48 + (v % 10);
  return end;
}

/** Writes `v` (0 <= v <= 2^53, integral) at `p`; returns the end. */
function putUint(buf: Uint8Array, p: number, v: number): number {
  if (v < TWO32) return putU32(buf, p, v);
  const hi = Math.floor(v / 1e8);
  return putPadded(buf, putU32(buf, p, hi), v - hi * 1e8, 8);
}

/**
 * Appends a safe integer (|v| <= 2^53) in decimal, without `String()`.
 *
 * @param out - the buffer
 * @param v - the integer
 */
export function writeInt(out: ByteBuffer, v: number): void {
  out.ensure(17);
  const buf = out.buf;
  let p = out.pos;
  if (v < 0) {
    buf[p++] = 45;
    v = -v;
  }
  out.pos = putUint(buf, p, v);
}

/**
 * Appends `v` zero-padded to `width` digits (0 <= v < 10^width).
 *
 * @param out - the buffer
 * @param v - the non-negative integer
 * @param width - digits to write
 */
export function writePadded(out: ByteBuffer, v: number, width: number): void {
  out.ensure(width);
  out.pos = putPadded(out.buf, out.pos, v, width);
}

/** Quotient and remainder of the last {@link divU64} / {@link floorDivI64} call. */
let divQ = 0;
let divR = 0;

/**
 * Divides the unsigned 64-bit integer `hi * 2^32 + lo` (both words as uint32 values) by `d`
 * (1 <= d <= 1e9) by long division in 16-bit digits, so every step is exact in a double. The
 * quotient must stay below 2^53 (true for d >= 2048).
 */
function divU64(hi: number, lo: number, d: number): void {
  let r = hi >>> 16;
  const q3 = Math.floor(r / d);
  r -= q3 * d;
  r = r * 65536 + (hi & 0xffff);
  const q2 = Math.floor(r / d);
  r -= q2 * d;
  r = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(r / d);
  r -= q1 * d;
  r = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(r / d);
  r -= q0 * d;
  divQ = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0;
  divR = r;
}

/**
 * Floor-divides the signed 64-bit integer with words `(lo, hi)` (int32 views, little-endian) by
 * `d` (1 <= d <= 1e9): afterwards `divQ` is the quotient rounded down and `0 <= divR < d`.
 */
function floorDivI64(lo: number, hi: number, d: number): void {
  if (hi >= -2097152 && hi < 2097152) {
    const v = hi * TWO32 + (lo >>> 0);
    const q = Math.floor(v / d);
    divQ = q;
    divR = v - q * d;
    return;
  }
  if (d === 1) {
    // Only reachable for second-unit values beyond 2^53, which no calendar date reaches.
    divQ = hi * TWO32 + (lo >>> 0);
    divR = 0;
    return;
  }
  if (hi >= 0) {
    divU64(hi >>> 0, lo >>> 0, d);
    return;
  }
  const nlo = -(lo >>> 0) >>> 0;
  const nhi = ~hi + (nlo === 0 ? 1 : 0);
  divU64(nhi >>> 0, nlo, d);
  if (divR === 0) {
    divQ = -divQ;
  } else {
    divQ = -divQ - 1;
    divR = d - divR;
  }
}

/**
 * Appends a 64-bit integer given as its two 32-bit words (read through an `Int32Array` view of
 * a `BigInt64Array`/`BigUint64Array`, so no BigInt is created), exactly.
 *
 * @param out - the buffer
 * @param lo - the low word (as read from an Int32Array)
 * @param hi - the high word (as read from an Int32Array)
 * @param signed - whether the value is int64 (true) or uint64 (false)
 */
export function writeInt64Words(out: ByteBuffer, lo: number, hi: number, signed: boolean): void {
  out.ensure(21);
  const buf = out.buf;
  let p = out.pos;
  let uhi = hi >>> 0;
  let ulo = lo >>> 0;
  if (signed && hi < 0) {
    buf[p++] = 45;
    ulo = -ulo >>> 0;
    uhi = (~uhi + (ulo === 0 ? 1 : 0)) >>> 0;
  }
  if (uhi < 2097152) {
    out.pos = putUint(buf, p, uhi * TWO32 + ulo);
    return;
  }
  divU64(uhi, ulo, 1e9);
  const r = divR;
  p = putUint(buf, p, divQ);
  out.pos = putPadded(buf, p, r, 9);
}

// ---------------------------------------------------------------------------------------------
// Decimals

const decChunks = new Float64Array(16); // 16-bit chunks of |value|, little-endian
const decGroups = new Float64Array(12); // base-1e9 groups, least significant first
const decDigits = new Uint8Array(96);

/**
 * Appends an Arrow decimal with its scale: the unscaled two's-complement integer is read from
 * `nWords` 32-bit little-endian words of `words` starting at `start` (Decimal128: 4 words,
 * Decimal256: 8), and written as plain decimal text: `2176.00` for 217600 at scale 2, `-0.05`,
 * `1200` for 12 at scale -2. No exponent is ever used.
 *
 * @param out - the buffer
 * @param words - the decimal column's `Uint32Array` values
 * @param start - the first word of the value
 * @param nWords - words per value
 * @param scale - the type's scale
 */
export function writeDecimalWords(
  out: ByteBuffer,
  words: Uint32Array,
  start: number,
  nWords: number,
  scale: number
): void {
  const negative = (words[start + nWords - 1]! & 0x80000000) !== 0;
  let carry = negative ? 1 : 0;
  let top = -1;
  for (let w = 0; w < nWords; w++) {
    let word = words[start + w]!;
    if (negative) word = ~word >>> 0;
    for (let half = 0; half < 2; half++) {
      let c = (half === 0 ? word & 0xffff : word >>> 16) + carry;
      carry = c > 0xffff ? 1 : 0;
      c &= 0xffff;
      const i = w * 2 + half;
      decChunks[i] = c;
      if (c !== 0) top = i;
    }
  }
  // Digits of |value|, least significant first into decDigits (reversed below).
  let nd = 0;
  if (top < 0) {
    decDigits[nd++] = 48;
  } else if (top < 3 || (top === 3 && decChunks[3]! < 32)) {
    let v = 0;
    for (let i = top; i >= 0; i--) v = v * 65536 + decChunks[i]!;
    while (v > 0) {
      const q = Math.floor(v / 10);
      decDigits[nd++] = 48 + (v - q * 10);
      v = q;
    }
  } else {
    let groups = 0;
    let hiChunk = top;
    while (hiChunk >= 0) {
      let r = 0;
      for (let i = hiChunk; i >= 0; i--) {
        r = r * 65536 + decChunks[i]!;
        const q = Math.floor(r / 1e9);
        decChunks[i] = q;
        r -= q * 1e9;
      }
      decGroups[groups++] = r;
      while (hiChunk >= 0 && decChunks[hiChunk] === 0) hiChunk--;
    }
    for (let g = 0; g < groups; g++) {
      let v = decGroups[g]!;
      const last = g === groups - 1;
      for (let k = 0; k < 9 && (!last || v > 0); k++) {
        const q = Math.floor(v / 10);
        decDigits[nd++] = 48 + (v - q * 10);
        v = q;
      }
    }
  }
  const zero = nd === 1 && decDigits[0] === 48;
  out.ensure(nd + Math.abs(scale) + 4);
  const buf = out.buf;
  let p = out.pos;
  if (negative && !zero) buf[p++] = 45;
  if (scale <= 0) {
    for (let i = nd - 1; i >= 0; i--) buf[p++] = decDigits[i]!;
    if (!zero) for (let i = 0; i < -scale; i++) buf[p++] = 48;
  } else if (nd > scale) {
    for (let i = nd - 1; i >= scale; i--) buf[p++] = decDigits[i]!;
    buf[p++] = 46;
    for (let i = scale - 1; i >= 0; i--) buf[p++] = decDigits[i]!;
  } else {
    buf[p++] = 48;
    buf[p++] = 46;
    for (let i = nd; i < scale; i++) buf[p++] = 48;
    for (let i = nd - 1; i >= 0; i--) buf[p++] = decDigits[i]!;
  }
  out.pos = p;
}

// ---------------------------------------------------------------------------------------------
// Floats

const scratchDigits = new Uint8Array(24);

/**
 * Appends the decimal `m * 10^-k` (m a positive safe integer without trailing zeros) formatted
 * exactly as JavaScript's `Number.prototype.toString` formats a number with those digits: plain
 * between 1e-7 and 1e21, exponent form (`1.5e-7`, `1e+21`) outside. Appends `.0` when the text
 * is a plain integer and `pointZero` is set.
 */
function putDecimalJs(
  out: ByteBuffer,
  negative: boolean,
  m: number,
  k: number,
  pointZero: boolean
) {
  const nd = putUint(scratchDigits, 0, m);
  const n = nd - k; // position of the decimal point relative to the first digit
  out.ensure(nd + 30);
  const buf = out.buf;
  let p = out.pos;
  if (negative) buf[p++] = 45;
  if (nd <= n && n <= 21) {
    for (let i = 0; i < nd; i++) buf[p++] = scratchDigits[i]!;
    for (let i = nd; i < n; i++) buf[p++] = 48;
    if (pointZero) {
      buf[p++] = 46;
      buf[p++] = 48;
    }
  } else if (0 < n && n <= 21) {
    for (let i = 0; i < n; i++) buf[p++] = scratchDigits[i]!;
    buf[p++] = 46;
    for (let i = n; i < nd; i++) buf[p++] = scratchDigits[i]!;
  } else if (-6 < n && n <= 0) {
    buf[p++] = 48;
    buf[p++] = 46;
    for (let i = n; i < 0; i++) buf[p++] = 48;
    for (let i = 0; i < nd; i++) buf[p++] = scratchDigits[i]!;
  } else {
    buf[p++] = scratchDigits[0]!;
    if (nd > 1) {
      buf[p++] = 46;
      for (let i = 1; i < nd; i++) buf[p++] = scratchDigits[i]!;
    }
    buf[p++] = 101;
    const e = n - 1;
    buf[p++] = e < 0 ? 45 : 43;
    p = putU32(buf, p, Math.abs(e));
  }
  out.pos = p;
}

/**
 * Appends a finite float64 as the shortest text that reads back to the same double, exactly as
 * `String(v)` writes it, plus `.0` when that text is a plain integer (`1.0`, `-3.0`), so it
 * re-reads as a float; `-0` is written `-0.0`. Integral values below 2^53 and values with at
 * most 8 decimals (`15.47`, `0.001`) are written without creating a string.
 *
 * @param out - the buffer
 * @param v - a finite number (NaN and infinities are the caller's business)
 */
export function writeFloat64(out: ByteBuffer, v: number): void {
  const a = v < 0 ? -v : v;
  if (Number.isInteger(v)) {
    if (a < TWO53) {
      out.ensure(20);
      const buf = out.buf;
      let p = out.pos;
      if (v < 0 || (v === 0 && 1 / v < 0)) buf[p++] = 45;
      p = putUint(buf, p, a);
      buf[p++] = 46;
      buf[p++] = 48;
      out.pos = p;
      return;
    }
  } else if (a >= 1e-6 && a < 1e15) {
    // Shortest fixed-point form: the fewest decimals k for which m/10^k (m = a*10^k rounded) is
    // this double. While a*10^k < 2^51, doubles are denser than the 10^-k grid, so at most one
    // m per k reads back to v, and the shortest form is the k-decimal one with the fewest
    // decimals, which is also what `String` prints (1e-6 <= a < 1e21 prints in fixed notation).
    let m = -1;
    let k = 8;
    if (a < 22517998) {
      // a * 1e8 < 2^51: one test for "at most 8 decimals", then drop the trailing zeros.
      const m8 = Math.round(a * 1e8);
      if (m8 / 1e8 === a) {
        m = m8;
        // Up to 7 trailing zeros (a is not an integer): strip 4, 2, then 1 of them.
        let q = Math.floor(m / 1e4);
        if (q * 1e4 === m) {
          m = q;
          k = 4;
        }
        q = Math.floor(m / 100);
        if (q * 100 === m) {
          m = q;
          k -= 2;
        }
        q = Math.floor(m / 10);
        if (q * 10 === m) {
          m = q;
          k -= 1;
        }
      }
    } else {
      for (k = 1; k <= 8; k++) {
        const s = a * POW10[k]!;
        if (s >= TWO51) break;
        const c = Math.round(s);
        if (c / POW10[k]! === a) {
          m = c;
          break;
        }
      }
    }
    if (m >= 0) {
      out.ensure(32);
      const buf = out.buf;
      let p = out.pos;
      if (v < 0) buf[p++] = 45;
      const ip = Math.floor(m / POW10[k]!);
      p = putUint(buf, p, ip);
      buf[p++] = 46;
      out.pos = putPadded(buf, p, m - ip * POW10[k]!, k);
      return;
    }
  }
  const s = String(v);
  out.writeAscii(s);
  if (Number.isInteger(v) && s.indexOf('e') < 0) out.writeAscii('.0');
}

/**
 * Rounds a double to the nearest float16 (ties to even), as a double; infinities past the range.
 *
 * @param x - the number
 * @returns the float16 value
 */
export function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return x < 0 ? -Infinity : Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  if (e < -14) e = -14;
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 !== 0) r -= 1;
  const y = r * ulp;
  return x < 0 ? -y : y;
}

/**
 * Decodes float16 bits to a number.
 *
 * @param bits - the 16 bits
 * @returns the value
 */
export function f16FromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** Whether `a` (positive, finite) is an exact power of two (its float has a zero mantissa). */
function isPowerOfTwo(a: number): boolean {
  const e = Math.floor(Math.log2(a));
  return 2 ** e === a || 2 ** (e + 1) === a || 2 ** (e - 1) === a;
}

/**
 * Appends a finite float32 or float16 value as the SHORTEST decimal that reads back to the same
 * narrow float through a double (`round(Number(text)) === v`, as a reader parsing the text and
 * storing it in a Float32Array does), formatted as JavaScript formats that decimal, plus `.0`
 * for a plain integer: float32 `0.016666668` (not `0.01666666753590107`), `0.1`, `3.0`.
 *
 * @param out - the buffer
 * @param v - the value (exactly representable in the narrow type)
 * @param round - `Math.fround` for float32, {@link f16round} for float16
 * @param maxDigits - 9 for float32, 5 for float16
 */
export function writeNarrowFloat(
  out: ByteBuffer,
  v: number,
  round: (x: number) => number,
  maxDigits: number
): void {
  if (v === 0) {
    out.writeAscii(1 / v < 0 ? '-0.0' : '0.0');
    return;
  }
  const a = v < 0 ? -v : v;
  if (a >= 1e-14 && a < 1e22) {
    let e10 = Math.floor(Math.log10(a));
    if (e10 >= 0 ? a < POW10[e10]! : a * POW10[-e10]! < 1) e10--;
    else if (e10 + 1 >= 0 ? a >= POW10[e10 + 1]! : a * POW10[-(e10 + 1)]! >= 1) e10++;
    const pow2 = isPowerOfTwo(a);
    for (let p = 1; p <= maxDigits; p++) {
      const k = p - 1 - e10; // decimals: value = m * 10^-k with m of p digits
      if (k > 22 || k < -22) break;
      const m = k >= 0 ? Math.round(a * POW10[k]!) : Math.round(a / POW10[-k]!);
      if (narrowHit(m, k, a, round)) {
        putNarrow(out, v < 0, m, k);
        return;
      }
      // At a power of two the gap above is twice the gap below: the nearest p-digit decimal may
      // fall just below while the next one up still reads back.
      if (pow2 && narrowHit(m + 1, k, a, round)) {
        putNarrow(out, v < 0, m + 1, k);
        return;
      }
    }
  }
  writeNarrowFloatSlow(out, v, round, maxDigits);
}

function narrowHit(m: number, k: number, a: number, round: (x: number) => number): boolean {
  const d = k >= 0 ? m / POW10[k]! : m * POW10[-k]!;
  return round(d) === a;
}

function putNarrow(out: ByteBuffer, negative: boolean, m: number, k: number): void {
  while (m % 10 === 0) {
    m /= 10;
    k--;
  }
  putDecimalJs(out, negative, m, k, true);
}

/** The rare cases (subnormal float32, |v| >= 1e22): the same search through `toPrecision`. */
function writeNarrowFloatSlow(
  out: ByteBuffer,
  v: number,
  round: (x: number) => number,
  maxDigits: number
): void {
  const pow2 = isPowerOfTwo(Math.abs(v));
  let text = String(v);
  for (let p = 1; p <= maxDigits; p++) {
    const t = v.toPrecision(p);
    if (round(Number(t)) === v) {
      text = String(Number(t));
      break;
    }
    if (pow2) {
      const up = nextDecimalAway(t);
      if (round(Number(up)) === v) {
        text = String(Number(up));
        break;
      }
    }
  }
  out.writeAscii(text);
  if (text.indexOf('e') < 0 && text.indexOf('.') < 0) out.writeAscii('.0');
}

/** `1.23e-40` -> `1.24e-40` (one unit in the last digit, away from zero), as mantissa/exponent. */
function nextDecimalAway(t: string): string {
  const [mant = '', exp = '0'] = t.split('e');
  const neg = mant.startsWith('-');
  const body = neg ? mant.slice(1) : mant;
  const dot = body.indexOf('.');
  const decimals = dot < 0 ? 0 : body.length - dot - 1;
  const digits = BigInt(body.replace('.', '')) + 1n;
  return `${neg ? '-' : ''}${digits}e${Number(exp) - decimals}`;
}

// ---------------------------------------------------------------------------------------------
// Dates and times

let lastDays = NaN;
let lastYear = 0;
let lastMonth = 0;
let lastDay = 0;

/** Sets lastYear/lastMonth/lastDay to the proleptic Gregorian date `days` after 1970-01-01. */
function civil(days: number): void {
  if (days === lastDays) return;
  // Howard Hinnant's days_from_civil inverse.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  lastYear = yoe + era * 400 + (m <= 2 ? 1 : 0);
  lastMonth = m;
  lastDay = d;
  lastDays = days;
}

/**
 * Appends the date `days` after 1970-01-01 as `YYYY-MM-DD` (years outside 0000..9999 as a sign
 * and six digits, `+010000-01-01`, as `Date.prototype.toISOString` does).
 *
 * @param out - the buffer
 * @param days - days since the epoch (may be negative)
 */
export function writeDate(out: ByteBuffer, days: number): void {
  civil(days);
  out.ensure(17);
  const buf = out.buf;
  let p = out.pos;
  const y = lastYear;
  if (y >= 0 && y <= 9999) {
    p = putPadded(buf, p, y, 4);
  } else {
    buf[p++] = y < 0 ? 45 : 43;
    p = putPadded(buf, p, Math.abs(y), 6);
  }
  buf[p++] = 45;
  buf[p++] = DIGITS2[lastMonth * 2]!;
  buf[p++] = DIGITS2[lastMonth * 2 + 1]!;
  buf[p++] = 45;
  buf[p++] = DIGITS2[lastDay * 2]!;
  buf[p++] = DIGITS2[lastDay * 2 + 1]!;
  out.pos = p;
}

/**
 * Appends a time of day as `HH:MM:SS` (hours may exceed 23 for durations).
 *
 * @param out - the buffer
 * @param seconds - whole seconds since midnight (non-negative)
 */
export function writeClock(out: ByteBuffer, seconds: number): void {
  const h = Math.floor(seconds / 3600);
  const rest = seconds - h * 3600;
  const mi = Math.floor(rest / 60);
  const s = rest - mi * 60;
  out.ensure(24);
  const buf = out.buf;
  let p = out.pos;
  if (h < 100) {
    buf[p++] = DIGITS2[h * 2]!;
    buf[p++] = DIGITS2[h * 2 + 1]!;
  } else {
    p = putUint(buf, p, h);
  }
  buf[p++] = 58;
  buf[p++] = DIGITS2[mi * 2]!;
  buf[p++] = DIGITS2[mi * 2 + 1]!;
  buf[p++] = 58;
  buf[p++] = DIGITS2[s * 2]!;
  buf[p++] = DIGITS2[s * 2 + 1]!;
  out.pos = p;
}

/**
 * How sub-second digits are written after the seconds (nothing at all when the fraction is 0):
 * `unit` writes the unit's digits (ms 3, us 6, ns 9, as pandas' `to_csv` writes a datetime64
 * column of that resolution); `iso` writes 6 digits, or 9 when the nanoseconds are not a whole
 * microsecond (Python's and pandas' `isoformat()`, which MLflow's JSON uses).
 */
export type FractionStyle = 'unit' | 'iso';

/** Units per second of Arrow's TimeUnit (SECOND=0, MILLISECOND=1, MICROSECOND=2, NANOSECOND=3). */
const UNITS_PER_SECOND = [1, 1000, 1000000, 1000000000] as const;
const UNIT_DIGITS = [0, 3, 6, 9] as const;

/**
 * Appends `.fff` for a non-zero sub-second part (nothing for zero).
 *
 * @param out - the buffer
 * @param sub - the sub-second count in the unit (0 <= sub < units per second)
 * @param unit - Arrow's TimeUnit (0..3)
 * @param style - see {@link FractionStyle}
 */
export function writeFraction(
  out: ByteBuffer,
  sub: number,
  unit: number,
  style: FractionStyle
): void {
  if (sub === 0) return;
  out.ensure(10);
  const buf = out.buf;
  buf[out.pos++] = 46;
  if (style === 'unit') {
    out.pos = putPadded(buf, out.pos, sub, UNIT_DIGITS[unit]!);
    return;
  }
  const ns = sub * (1e9 / UNITS_PER_SECOND[unit]!);
  const us = Math.floor(ns / 1000);
  out.pos = us * 1000 === ns ? putPadded(buf, out.pos, us, 6) : putPadded(buf, out.pos, ns, 9);
}

/**
 * Appends an instant given as a signed 64-bit count of `unit` since the epoch (two int32 words)
 * as `YYYY-MM-DD<sep>HH:MM:SS[.fraction]`, shifted by `offsetMinutes` (the caller writes the
 * zone suffix).
 *
 * @param out - the buffer
 * @param lo - low word
 * @param hi - high word
 * @param unit - Arrow's TimeUnit (0..3)
 * @param sep - the byte between date and time (`T` = 84 or space = 32)
 * @param style - see {@link FractionStyle}
 * @param offsetMinutes - minutes to add (a fixed zone offset), usually 0
 */
export function writeTimestampWords(
  out: ByteBuffer,
  lo: number,
  hi: number,
  unit: number,
  sep: number,
  style: FractionStyle,
  offsetMinutes: number
): void {
  floorDivI64(lo, hi, UNITS_PER_SECOND[unit]!);
  const sub = divR;
  const sec = divQ + offsetMinutes * 60;
  const days = Math.floor(sec / 86400);
  writeDate(out, days);
  let rest = sec - days * 86400;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const mi = Math.floor(rest / 60);
  const s = rest - mi * 60;
  out.ensure(20);
  const buf = out.buf;
  let p = out.pos;
  buf[p++] = sep;
  buf[p++] = DIGITS2[h * 2]!;
  buf[p++] = DIGITS2[h * 2 + 1]!;
  buf[p++] = 58;
  buf[p++] = DIGITS2[mi * 2]!;
  buf[p++] = DIGITS2[mi * 2 + 1]!;
  buf[p++] = 58;
  buf[p++] = DIGITS2[s * 2]!;
  buf[p++] = DIGITS2[s * 2 + 1]!;
  out.pos = p;
  if (sub !== 0) writeFraction(out, sub, unit, style);
}

/**
 * Splits a signed 64-bit count (two int32 words) into whole seconds and the sub-second
 * remainder in the unit (floor division, so the remainder is never negative).
 *
 * @param lo - low word
 * @param hi - high word
 * @param unit - Arrow's TimeUnit (0..3)
 * @returns the whole seconds; {@link lastRemainder} gives the remainder
 */
export function splitSeconds(lo: number, hi: number, unit: number): number {
  floorDivI64(lo, hi, UNITS_PER_SECOND[unit]!);
  return divQ;
}

/**
 * The sub-second remainder of the last {@link splitSeconds} call.
 *
 * @returns the remainder, in the unit
 */
export function lastRemainder(): number {
  return divR;
}

// ---------------------------------------------------------------------------------------------
// Bytes: base64, JSON strings, CSV quoted strings

const B64 = new Uint8Array(64);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  .split('')
  .forEach((c, i) => (B64[i] = c.charCodeAt(0)));

/**
 * Appends `src[from, to)` as standard base64 with `=` padding (no line breaks).
 *
 * @param out - the buffer
 * @param src - the bytes
 * @param from - first byte
 * @param to - end (exclusive)
 */
export function writeBase64(out: ByteBuffer, src: Uint8Array, from: number, to: number): void {
  const n = to - from;
  out.ensure(Math.ceil(n / 3) * 4);
  const buf = out.buf;
  let p = out.pos;
  let i = from;
  for (; i + 2 < to; i += 3) {
    const t = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    buf[p++] = B64[t >> 18]!;
    buf[p++] = B64[(t >> 12) & 63]!;
    buf[p++] = B64[(t >> 6) & 63]!;
    buf[p++] = B64[t & 63]!;
  }
  if (i < to) {
    const b1 = i + 1 < to ? src[i + 1]! : 0;
    const t = (src[i]! << 16) | (b1 << 8);
    buf[p++] = B64[t >> 18]!;
    buf[p++] = B64[(t >> 12) & 63]!;
    buf[p++] = i + 1 < to ? B64[(t >> 6) & 63]! : 61;
    buf[p++] = 61;
  }
  out.pos = p;
}

/** JSON escapes: 0 = copy, 1 = two-char escape in JSON_SHORT, 2 = \u00XX. */
const JSON_ESC = new Uint8Array(256);
const JSON_SHORT = new Uint8Array(256);
for (let c = 0; c < 32; c++) JSON_ESC[c] = 2;
for (const [c, e] of [
  [8, 98],
  [9, 116],
  [10, 110],
  [12, 102],
  [13, 114],
  [34, 34],
  [92, 92],
] as const) {
  JSON_ESC[c] = 1;
  JSON_SHORT[c] = e;
}
const HEX = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/**
 * Appends `src[from, to)` (UTF-8) as a JSON string literal: quotes, `"` and `\` escaped,
 * control characters as `\n`, `\t`, ... or `\u00XX` (as `JSON.stringify` writes them), every
 * other byte copied as is.
 *
 * @param out - the buffer
 * @param src - the UTF-8 bytes
 * @param from - first byte
 * @param to - end (exclusive)
 */
export function writeJsonString(out: ByteBuffer, src: Uint8Array, from: number, to: number): void {
  out.ensure(to - from + 2);
  let buf = out.buf;
  let p = out.pos;
  buf[p++] = 34;
  for (let i = from; i < to; i++) {
    const c = src[i]!;
    const esc = JSON_ESC[c]!;
    if (esc === 0) {
      buf[p++] = c;
      continue;
    }
    out.pos = p;
    out.ensure(to - i + 6);
    buf = out.buf;
    buf[p++] = 92;
    if (esc === 1) {
      buf[p++] = JSON_SHORT[c]!;
    } else {
      buf[p++] = 117;
      buf[p++] = 48;
      buf[p++] = 48;
      buf[p++] = HEX[c >> 4]!;
      buf[p++] = HEX[c & 15]!;
    }
  }
  buf[p++] = 34;
  out.pos = p;
}

/**
 * Appends `src[from, to)` as a CSV quoted field: `"` around, every `"` inside doubled, every
 * other byte (commas, newlines, UTF-8) copied as is.
 *
 * @param out - the buffer
 * @param src - the bytes
 * @param from - first byte
 * @param to - end (exclusive)
 */
export function writeCsvQuoted(out: ByteBuffer, src: Uint8Array, from: number, to: number): void {
  out.ensure(to - from + 2);
  let buf = out.buf;
  let p = out.pos;
  buf[p++] = 34;
  for (let i = from; i < to; i++) {
    const c = src[i]!;
    if (c === 34) {
      out.pos = p;
      out.ensure(to - i + 2);
      buf = out.buf;
      buf[p++] = 34;
    }
    buf[p++] = c;
  }
  buf[p++] = 34;
  out.pos = p;
}
