/**
 * The CSV grammar, on bytes: finds the fields of one record (their byte ranges, whether each
 * was quoted and whether it holds `""` escapes) without creating a string. The header reader,
 * type inference and the column parser all use this one scanner, so they cannot disagree.
 *
 * Rules (RFC 4180, strict): `,` separates fields; a field that starts with `"` is quoted and
 * ends at the next `"` not followed by another `"` (`""` is a literal quote), which must be
 * followed by `,`, a record terminator or the end of the file; a `"` anywhere else is an error.
 * Records end at `\n`, `\r\n` or `\r` outside quotes; a completely empty line is not a record.
 * Line numbers count every terminator, inside quoted fields too (a lone `\r` is a line end
 * wherever it is).
 *
 * @module
 */
import { ModelError } from '../errors.js';
import { textAfterQuote, strayQuote, unclosedQuote } from './csv-errors.js';

/** `,`: the field separator. */
export const COMMA = 44;
/** `"`: the quote. */
export const QUOTE = 34;
/** `\n`: a record terminator. */
export const LF = 10;
/** `\r`: a record terminator (alone, or before `\n`). */
export const CR = 13;

/** Bytes that end an unquoted field's scan: `,` `\n` `\r` `"`. */
const STOP_UNQUOTED = new Uint8Array(256);
STOP_UNQUOTED[COMMA] = 1;
STOP_UNQUOTED[LF] = 1;
STOP_UNQUOTED[CR] = 1;
STOP_UNQUOTED[QUOTE] = 1;
/** Bytes that stop the scan inside quotes: `"` and line ends (counted). */
const STOP_QUOTED = new Uint8Array(256);
STOP_QUOTED[QUOTE] = 1;
STOP_QUOTED[LF] = 1;
STOP_QUOTED[CR] = 1;

/**
 * The largest byte window the scanner takes (2^31 - 1: its offsets are int32). A record longer
 * than that could not be one Arrow Utf8 value either (32-bit offsets).
 */
export const MAX_WINDOW = 0x7fffffff;

/** Field flag: the field was quoted (its range excludes the quotes). */
export const F_QUOTED = 1;
/** Field flag: the quoted field holds `""` escapes (its range is still raw). */
export const F_ESCAPED = 2;

/** {@link CsvRecordScanner.scan} result: the bytes end inside the record (need more, or eof). */
export const SCAN_CUT = -1;
/** {@link CsvRecordScanner.scan} result: an empty line (not a record). */
export const SCAN_EMPTY = 0;
/** {@link CsvRecordScanner.scan} result: one record. */
export const SCAN_RECORD = 1;

/**
 * Scans records one at a time; the fields of the last record stay in `starts`/`ends`/`flags`
 * (reused arrays that grow geometrically, so a record of 100k fields costs linear time).
 * Offsets are int32 (fast indices): callers keep their byte windows under {@link MAX_WINDOW}.
 */
export class CsvRecordScanner {
  /** Start of each field's content (after the opening quote for a quoted field). */
  starts = new Int32Array(16);
  /** End of each field's content (at the closing quote for a quoted field). */
  ends = new Int32Array(16);
  /** {@link F_QUOTED} / {@link F_ESCAPED} per field. */
  flags = new Uint8Array(16);
  /** Fields of the last record. */
  count = 0;
  /** The position after the last record's terminator (or the end of the bytes at eof). */
  next = 0;
  /** The end of the last record's content (its terminator excluded). */
  contentEnd = 0;
  /** The line number after the last record (terminators inside quoted fields counted). */
  line = 1;

  /**
   * @param file - the name used in error messages
   */
  constructor(readonly file: string) {}

  /**
   * Scans the record (or empty line) that starts at `pos`.
   *
   * @param b - the bytes
   * @param pos - a record start
   * @param len - the number of valid bytes in `b`
   * @param eof - whether `b[len]` is the end of the file
   * @param line - the line number at `pos`
   * @param byteOffset - absolute file offset of `b[0]`, for error details
   * @returns {@link SCAN_RECORD}, {@link SCAN_EMPTY} or {@link SCAN_CUT} (the bytes end before
   *   the record does and `eof` is false: nothing was consumed)
   * @throws {ModelError} E_FORMAT_MALFORMED on a syntax error
   */
  scan(
    b: Uint8Array,
    pos: number,
    len: number,
    eof: boolean,
    line: number,
    byteOffset: number
  ): number {
    const c0 = b[pos];
    if (c0 === LF) {
      this.next = pos + 1;
      this.contentEnd = pos;
      this.line = line + 1;
      return SCAN_EMPTY;
    }
    if (c0 === CR) {
      if (pos + 1 >= len && !eof) return SCAN_CUT;
      this.next = b[pos + 1] === LF ? pos + 2 : pos + 1;
      this.contentEnd = pos;
      this.line = line + 1;
      return SCAN_EMPTY;
    }
    let n = 0;
    let i = pos;
    let starts = this.starts;
    let ends = this.ends;
    let flagsOut = this.flags;
    for (;;) {
      if (n === flagsOut.length) {
        this.grow();
        starts = this.starts;
        ends = this.ends;
        flagsOut = this.flags;
      }
      if (i < len && b[i] === QUOTE) {
        const openLine = line;
        let j = i + 1;
        let flags = F_QUOTED;
        for (;;) {
          while (j < len && STOP_QUOTED[b[j]!] === 0) j++;
          if (j >= len) {
            if (!eof) return SCAN_CUT;
            throw unclosedQuote(this.file, openLine, byteOffset + i);
          }
          const c = b[j];
          if (c === QUOTE) {
            if (j + 1 >= len && !eof) return SCAN_CUT; // `"` or `""`? the next byte decides
            if (b[j + 1] === QUOTE) {
              flags = F_QUOTED | F_ESCAPED;
              j += 2;
              continue;
            }
            break;
          }
          // A line end inside the quotes: `\r\n` counts once, at its `\n`. A `\r` that is the
          // last byte never counts here: the field is then cut (or unclosed) anyway.
          if (c === LF || (j + 1 < len && b[j + 1] !== LF)) line++;
          j++;
        }
        starts[n] = i + 1;
        ends[n] = j;
        flagsOut[n] = flags;
        i = j + 1;
        if (i < len) {
          const c = b[i];
          if (c !== COMMA && c !== LF && c !== CR) {
            throw textAfterQuote(this.file, line, byteOffset + i);
          }
        } else if (!eof) return SCAN_CUT;
      } else {
        let j = i;
        // Most bytes are above ',' (44): one comparison each.
        while (j < len) {
          const c = b[j]!;
          if (c <= COMMA && STOP_UNQUOTED[c] === 1) break;
          j++;
        }
        if (j < len) {
          if (b[j] === QUOTE) throw strayQuote(this.file, line, byteOffset + j);
        } else if (!eof) return SCAN_CUT;
        starts[n] = i;
        ends[n] = j;
        flagsOut[n] = 0;
        i = j;
      }
      n++;
      // At a delimiter, a record end, or the end of the file.
      if (i >= len) {
        this.contentEnd = i;
        this.next = i;
        break;
      }
      const c = b[i];
      if (c === COMMA) {
        i++;
        continue;
      }
      this.contentEnd = i;
      if (c === CR) {
        if (i + 1 >= len && !eof) return SCAN_CUT;
        i += b[i + 1] === LF ? 2 : 1;
      } else i++;
      line++;
      this.next = i;
      break;
    }
    this.count = n;
    this.line = line;
    return SCAN_RECORD;
  }

  private grow(): void {
    const cap = this.flags.length * 2;
    const starts = new Int32Array(cap);
    starts.set(this.starts);
    const ends = new Int32Array(cap);
    ends.set(this.ends);
    const flags = new Uint8Array(cap);
    flags.set(this.flags);
    this.starts = starts;
    this.ends = ends;
    this.flags = flags;
  }
}

/**
 * A Buffer view of the bytes (no copy), for `toString` and `indexOf` on byte ranges.
 *
 * @param bytes - the bytes
 * @returns `bytes` itself if it is a Buffer, else a Buffer over the same memory
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Rejects a byte window too large for int32 offsets (a record over 2 GiB).
 *
 * @param length - the window's length
 * @param file - the name used in messages
 * @throws {ModelError} E_FORMAT_MALFORMED when `length` > {@link MAX_WINDOW}
 */
export function checkWindow(length: number, file: string): void {
  if (length > MAX_WINDOW) {
    throw new ModelError(
      'E_FORMAT_MALFORMED',
      `${file}: a CSV record longer than 2 GiB is not supported (a window of ${length} bytes holds no complete record).`,
      { details: { file, bytes: length } }
    );
  }
}
