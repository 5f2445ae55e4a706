/**
 * Byte-level JSON scanning for the NDJSON reader: whitespace, strings, literals and whole values
 * (validated, with a nesting limit, without recursion), all on `Uint8Array` ranges and in time
 * linear in the bytes scanned. The grammar is exactly `JSON.parse`'s (RFC 8259), so a range
 * this module accepts is one `JSON.parse` accepts, and the reverse.
 *
 * Scanning functions return the position after what they scanned and throw `ScanError` on bad
 * input; the caller (which knows the file and line) turns that into a coded error. Numbers are
 * in `ndjson-number.ts`, date-times in `ndjson-datetime.ts`, escapes and UTF-8 checks in
 * `ndjson-utf8.ts`.
 *
 * @module
 */
import { scanNumber } from './ndjson-number.js';
import { MAX_DEPTH, ScanError } from './ndjson-scan-error.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** `escaped`: whether the last string scanned by {@link scanString} held an escape. */
export const str = { escaped: false };

/**
 * Skips JSON whitespace (space, tab, CR; a line holds no LF).
 *
 * @param b - the bytes
 * @param p - the start
 * @param end - the end of the range
 * @returns the first non-whitespace index (or `end`)
 */
export function skipWs(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return p;
    p++;
  }
  return p;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** 1 for the bytes a JSON string holds as they are (not `"`, `\\` or a control character). */
const PLAIN = new Uint8Array(256).fill(1);
PLAIN.fill(0, 0, 0x20);
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;

/**
 * Scans a JSON string starting at its opening quote; sets `str.escaped`.
 *
 * @param b - the bytes
 * @param p - the index of the opening `"`
 * @param end - the end of the range
 * @returns the index after the closing `"`
 * @throws {ScanError} on a raw control character, a bad escape or a missing closing quote
 */
export function scanString(b: Uint8Array, p: number, end: number): number {
  let escaped = false;
  p++;
  while (p < end) {
    const c = b[p]!;
    if (PLAIN[c] === 1) {
      p++;
      continue;
    }
    if (c === QUOTE) {
      str.escaped = escaped;
      return p + 1;
    }
    if (c === BACKSLASH) {
      escaped = true;
      const e = b[p + 1];
      if (e === 0x75) {
        if (
          p + 5 >= end ||
          !isHex(b[p + 2]!) ||
          !isHex(b[p + 3]!) ||
          !isHex(b[p + 4]!) ||
          !isHex(b[p + 5]!)
        ) {
          throw new ScanError('syntax', p);
        }
        p += 6;
        continue;
      }
      // " \ / b f n r t
      if (
        p + 1 < end &&
        (e === QUOTE ||
          e === BACKSLASH ||
          e === 0x2f ||
          e === 0x62 ||
          e === 0x66 ||
          e === 0x6e ||
          e === 0x72 ||
          e === 0x74)
      ) {
        p += 2;
        continue;
      }
      throw new ScanError('syntax', p);
    }
    if (c < 0x20) throw new ScanError('syntax', p);
    p++;
  }
  throw new ScanError('syntax', p);
}

function expectWord(b: Uint8Array, p: number, end: number, word: readonly number[]): number {
  if (p + word.length > end) throw new ScanError('syntax', p);
  for (let i = 0; i < word.length; i++) {
    if (b[p + i] !== word[i]) throw new ScanError('syntax', p + i);
  }
  return p + word.length;
}

/** `true` as bytes. */
export const TRUE = [0x74, 0x72, 0x75, 0x65] as const;
/** `false` as bytes. */
export const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65] as const;
/** `null` as bytes. */
export const NULL = [0x6e, 0x75, 0x6c, 0x6c] as const;

/**
 * Scans a literal (`true`, `false` or `null`).
 *
 * @param b - the bytes
 * @param p - the first byte
 * @param end - the end of the range
 * @param word - the literal's bytes
 * @returns the index after it
 * @throws {ScanError} when the bytes differ
 */
export function scanWord(b: Uint8Array, p: number, end: number, word: readonly number[]): number {
  return expectWord(b, p, end, word);
}

const IN_OBJECT = 1;
const IN_ARRAY = 2;
const containerStack = new Uint8Array(MAX_DEPTH + 2);

/**
 * Scans one JSON value of any kind, validating it, without recursion: nesting past
 * {@link MAX_DEPTH} (counting `depth` enclosing levels) fails with a `depth` ScanError.
 *
 * @param b - the bytes
 * @param p - the value's first byte (whitespace already skipped)
 * @param end - the end of the range
 * @param depth - the nesting levels around the value
 * @returns the index after the value
 * @throws {ScanError} on bad JSON or nesting too deep
 */
export function scanValue(b: Uint8Array, p: number, end: number, depth: number): number {
  let sp = 0;
  for (;;) {
    // A value is expected at p.
    if (p >= end) throw new ScanError('syntax', p);
    const c = b[p]!;
    let closed = false;
    if (c === 0x7b || c === 0x5b) {
      if (depth + sp + 1 > MAX_DEPTH) throw new ScanError('depth', p);
      p = skipWs(b, p + 1, end);
      if (c === 0x7b) {
        if (b[p] === 0x7d) {
          p++;
          closed = true;
        } else {
          containerStack[sp++] = IN_OBJECT;
          p = scanKey(b, p, end);
          continue;
        }
      } else if (b[p] === 0x5d) {
        p++;
        closed = true;
      } else {
        containerStack[sp++] = IN_ARRAY;
        continue;
      }
    }
    if (!closed) {
      if (c === QUOTE) p = scanString(b, p, end);
      else if (c === MINUS || (c >= ZERO && c <= NINE)) p = scanNumber(b, p, end);
      else if (c === 0x74) p = expectWord(b, p, end, TRUE);
      else if (c === 0x66) p = expectWord(b, p, end, FALSE);
      else if (c === 0x6e) p = expectWord(b, p, end, NULL);
      else throw new ScanError('syntax', p);
    }
    // After a value: close containers or move to the next element.
    for (;;) {
      if (sp === 0) return p;
      p = skipWs(b, p, end);
      const d = b[p];
      const top = containerStack[sp - 1];
      if (d === 0x2c) {
        p = skipWs(b, p + 1, end);
        if (top === IN_OBJECT) p = scanKey(b, p, end);
        break;
      }
      if ((d === 0x7d && top === IN_OBJECT) || (d === 0x5d && top === IN_ARRAY)) {
        p++;
        sp--;
        continue;
      }
      throw new ScanError('syntax', p);
    }
  }
}

/** A key, its colon and the whitespace before the value; returns the value's index. */
function scanKey(b: Uint8Array, p: number, end: number): number {
  if (b[p] !== QUOTE || p >= end) throw new ScanError('syntax', p);
  p = skipWs(b, scanString(b, p, end), end);
  if (b[p] !== 0x3a || p >= end) throw new ScanError('syntax', p);
  return skipWs(b, p + 1, end);
}
