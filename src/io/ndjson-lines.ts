/**
 * The line loop shared by the NDJSON column inference and the record parser: walks the lines
 * that START in a byte range (`\n` ends a line; a `\r` before it is JSON whitespace), skips a
 * UTF-8 BOM at file offset 0 and blank lines, checks strict UTF-8 block by block (`isUtf8`, then
 * the exact offset of the first bad byte), and words every error as the one-thread reader always
 * has (`<file>: line N: ...`), with `details.line`, `details.reason` and the absolute
 * `details.byteOffset` so a caller that numbered lines from a split's start can re-base them
 * ({@link rebaseNdjsonError}).
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { ModelError } from '../errors.js';
import { skipWs } from './ndjson-scan.js';
import { MAX_DEPTH, ScanError } from './ndjson-scan-error.js';
import { firstInvalidUtf8 } from './ndjson-utf8.js';

/** Where to parse in a buffer of NDJSON bytes. */
export interface NdjsonRange {
  /** Index into `bytes` of the first line to read (a line start); default 0. */
  start?: number;
  /** Lines that start at or after this index are not read; default `bytes.length`. */
  stop?: number;
  /** Whether `bytes` ends at the end of the file (so an unterminated last line is complete). */
  eof: boolean;
  /** Absolute file offset of `bytes[0]`; default 0. Offsets in errors are absolute. */
  byteOffset?: number;
  /** The line number of the line at `start`, for messages; default 1 (relative numbering). */
  firstLine?: number;
  /** Stop after this many records (blank lines do not count); default no limit. */
  maxRows?: number;
}

/** What a pass over a range consumed. */
export interface NdjsonProgress {
  /** Records read. */
  rows: number;
  /** Index into `bytes` of the first line not consumed. */
  next: number;
  /** Lines consumed, blank ones included (the next line's number is `firstLine + lines`). */
  lines: number;
  /**
   * True when every line starting before `stop` was consumed. False when `maxRows` stopped the
   * pass, or when the line at `next` runs past the end of `bytes` before `eof` (read more bytes
   * and continue from `next`).
   */
  complete: boolean;
}

const BLOCK = 1 << 20;

/**
 * The index of the first line that starts at or after `from`: `from` itself when it is the
 * file's first byte or follows a `\n`, else the byte after the next `\n`. A split `[a, b)` owns
 * the lines starting in it, so it begins at `ndjsonLineStart(bytes, a)`.
 *
 * @param bytes - the bytes, holding at least the byte before `from` unless `from` is offset 0
 * @param from - an index into `bytes`
 * @param byteOffset - the absolute file offset of `bytes[0]`; default 0
 * @returns the index of the line start, or -1 when no `\n` follows `from` in `bytes`
 * @throws {ModelError} E_INTERNAL when `from` is 0 but not the file start (the byte before it,
 *   which decides, is missing)
 */
export function ndjsonLineStart(bytes: Uint8Array, from: number, byteOffset = 0): number {
  if (byteOffset + from === 0) return 0;
  if (from === 0) {
    throw new ModelError(
      'E_INTERNAL',
      `ndjsonLineStart needs the byte before offset ${byteOffset}; read the range from one byte earlier.`,
      { details: { byteOffset } }
    );
  }
  if (bytes[from - 1] === 0x0a) return from;
  const nl = bytes.indexOf(0x0a, from);
  return nl === -1 ? -1 : nl + 1;
}

/**
 * Re-numbers the line of an NDJSON error raised while parsing a range whose lines were
 * numbered from 1 (a split): `line` becomes `line + lineDelta` in `details` and the message.
 * Other errors are returned unchanged.
 *
 * @param error - the error
 * @param lineDelta - the lines before the range's first line
 * @returns the re-based error
 */
export function rebaseNdjsonError(error: unknown, lineDelta: number): unknown {
  if (!ModelError.is(error) || lineDelta === 0) return error;
  const { file, line } = error.details;
  if (typeof line !== 'number' || typeof file !== 'string') return error;
  const was = `${file}: line ${line}`;
  const now = `${file}: line ${line + lineDelta}`;
  const message = error.message.startsWith(was)
    ? now + error.message.slice(was.length)
    : error.message;
  return new ModelError(error.code, message, {
    details: { ...error.details, line: line + lineDelta },
    cause: error.cause,
  });
}

/** Walks lines and words their errors; subclasses read each record's bytes. */
export abstract class NdjsonLineReader {
  /** The bytes of the current pass. */
  protected b: Uint8Array = new Uint8Array(0);
  /** The same bytes as a Buffer (indexOf, toString). */
  protected buf: Buffer = Buffer.alloc(0);
  /** Absolute offset of `b[0]`. */
  protected base = 0;
  /** The current line's number and first byte. */
  protected line = 0;
  protected lineStart = 0;
  private validUntil = 0;
  private eof = false;

  /** @param file - the file name used in messages */
  constructor(readonly file: string) {}

  /**
   * Reads one record whose `{` is at `q`, up to its closing `}`. The line end is not known yet:
   * the scanners stop at a `\n` (no JSON token holds one), so the record cannot run past its
   * line. Nothing is final until {@link commit}: a record cut by the end of the buffer is read
   * again, into the same row, once more bytes have come.
   *
   * @param q - the index of `{`
   * @param end - the end of the bytes
   * @param rowsBefore - records already read in this pass
   * @param bytesUsed - bytes consumed in this pass before this line
   * @param bytesLeft - bytes of the range from this line to `stop`
   * @returns the index after the closing `}`
   */
  protected abstract record(
    q: number,
    end: number,
    rowsBefore: number,
    bytesUsed: number,
    bytesLeft: number
  ): number;

  /** Makes the record just read final (its line was complete and valid). */
  protected abstract commit(): void;

  /** Forgets what the record just read left behind: its line is cut by the end of the buffer. */
  protected abstract abandon(): void;

  /**
   * Reads the records of the lines starting in a range.
   *
   * @param bytes - the bytes
   * @param range - see {@link NdjsonRange}
   * @returns what was consumed
   */
  protected run(bytes: Uint8Array, range: NdjsonRange): NdjsonProgress {
    const start = range.start ?? 0;
    const stop = range.stop ?? bytes.length;
    const firstLine = range.firstLine ?? 1;
    const maxRows = range.maxRows ?? Number.POSITIVE_INFINITY;
    const len = bytes.length;
    this.buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.b = this.buf;
    this.base = range.byteOffset ?? 0;
    this.eof = range.eof;
    this.validUntil = start;
    let p = start;
    let lines = 0;
    let rows = 0;
    while (p < stop && rows < maxRows) {
      this.line = firstLine + lines;
      this.lineStart = p;
      let from = p;
      if (this.base + p === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        from = 3;
      }
      const q = skipWs(bytes, from, len);
      let next: number;
      if (q < len && bytes[q] === 0x7b) {
        let e: number;
        try {
          e = skipWs(bytes, this.record(q, len, rows, p - start, stop - p), len);
        } catch (err) {
          if (!(err instanceof ScanError)) throw err;
          const end = this.lineEnd(p);
          if (end < 0) {
            this.abandon(); // cut by the end of the buffer: read again with more bytes
            break;
          }
          if (end > this.validUntil) this.checkUtf8(p, end);
          throw this.scanFailure(err, from, end);
        }
        if (e < len && bytes[e] === 0x0a) next = e + 1;
        else if (e === len) {
          if (!range.eof) {
            this.abandon(); // more may follow on this line
            break;
          }
          next = len;
        } else {
          const end = this.lineEnd(p);
          if (end < 0) {
            this.abandon();
            break;
          }
          if (end > this.validUntil) this.checkUtf8(p, end);
          throw this.scanFailure(new ScanError('syntax', e), from, end);
        }
        if (e > this.validUntil) this.checkUtf8(p, e);
        this.commit();
        rows++;
      } else if (q < len && bytes[q] === 0x0a) {
        next = q + 1; // blank
      } else {
        const end = this.lineEnd(p);
        if (end < 0) break;
        if (end > this.validUntil) this.checkUtf8(p, end);
        if (q < end) this.oddLine(from, end);
        next = end === len ? len : end + 1;
      }
      lines++;
      p = next;
    }
    return {
      rows,
      next: p,
      lines,
      complete: p >= stop || (range.eof && p >= len),
    };
  }

  /** The end of the line starting at `p`: its `\n`, the end of the bytes at EOF, else -1. */
  private lineEnd(p: number): number {
    const nl = this.buf.indexOf(0x0a, p);
    if (nl >= 0) return nl;
    return this.eof ? this.b.length : -1;
  }

  /** The text of a line as the old line reader saw it (a trailing `\r` dropped). */
  protected lineText(from: number, end: number): string {
    if (end > from && this.b[end - 1] === 0x0d) end--;
    return this.buf.toString('utf8', from, end);
  }

  /**
   * A line whose first non-blank byte is not `{`: blank by JavaScript's `trim` (skipped, as
   * always), or an error naming what it holds.
   */
  private oddLine(from: number, end: number): void {
    const text = this.lineText(from, end);
    if (text.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw this.notJson(e);
    }
    throw this.malformed(
      `expected a JSON object per line, found ${Array.isArray(row) ? 'an array' : JSON.stringify(row)}.`
    );
  }

  private scanFailure(e: ScanError, from: number, end: number): ModelError {
    if (e.kind === 'depth') {
      return this.malformed(`JSON nested deeper than ${MAX_DEPTH} levels.`);
    }
    try {
      JSON.parse(this.lineText(from, end));
    } catch (cause) {
      return this.notJson(cause);
    }
    // The scanner and JSON.parse disagree: a bug; still a coded error.
    return this.malformed(`not valid JSON (at byte ${this.base + e.at}).`);
  }

  private notJson(e: unknown): ModelError {
    return this.malformed(`not valid JSON (${(e as Error).message}).`, e);
  }

  /**
   * An E_FORMAT_MALFORMED error about the current line.
   *
   * @param reason - the text after `line N: `
   * @param cause - the underlying error
   * @param byteOffset - the absolute offset to report; default the line's first byte
   * @returns the error
   */
  protected malformed(reason: string, cause?: unknown, byteOffset?: number): ModelError {
    const at = byteOffset ?? this.base + this.lineStart;
    return new ModelError('E_FORMAT_MALFORMED', `${this.file}: line ${this.line}: ${reason}`, {
      details: { file: this.file, line: this.line, reason, byteOffset: at },
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** Validates UTF-8 from `p` in blocks of about 1 MiB that end at line ends. */
  private checkUtf8(p: number, end: number): void {
    let to = end;
    if (end - p < BLOCK) {
      const nl = this.buf.indexOf(0x0a, p + BLOCK);
      if (nl !== -1) to = nl;
    }
    if (isUtf8(this.b.subarray(p, to))) {
      this.validUntil = to;
      return;
    }
    const bad = firstInvalidUtf8(this.b, p, to);
    if (bad === -1) {
      this.validUntil = to;
      return;
    }
    if (bad < end) {
      const at = this.base + bad;
      throw this.malformed(`invalid UTF-8 at byte offset ${at}.`, undefined, at);
    }
    this.validUntil = bad;
  }
}
