/**
 * CSV records parsed from BYTES straight into typed Arrow columns in shared memory: numbers,
 * booleans and ISO date-times are parsed in place, strings are copied as UTF-8 bytes, and no
 * JS string is made per cell (only a rare cell takes the exact string path of `text-columns`).
 *
 * The unit of work is a byte range: `parseCsvRecords` parses the records that START in
 * `[start, stop)` and reads past `stop` to finish the last one, so the records of consecutive
 * ranges `[a, b)`, `[b, c)` are exactly the records of `[a, c)` (see `csv-split.ts` for finding
 * where records start). Values are typed by final column types (declared by the signature or
 * inferred once from the head of the file by `inferCsvTypes`), with the rules of
 * `text-columns.ts`: an unquoted empty cell is null; a quoted empty cell is `''` in a string
 * column (empty bytes in a binary one) and null elsewhere.
 *
 * Errors come in file order: the first record with a problem is reported, and within a record a
 * syntax error (found while scanning) comes before a wrong field count, which comes before a
 * value that does not convert (the leftmost), which comes before invalid UTF-8. So a one-thread
 * read and any split read report the same error (lines re-based with `rebaseCsvError`).
 *
 * Time is linear in the bytes: a record is scanned whole before any of its values is stored,
 * so a record cut off by the end of the bytes leaves the columns untouched; the caller
 * (`complete: false`) supplies more bytes (geometrically more for a long record, so the
 * re-scans of that record stay linear in total) and continues from `next`, keeping the rows
 * already parsed. After an error the parser must not be used again.
 *
 * @module
 */
import type { Data, DataType } from 'apache-arrow';
import { type ModelError } from '../errors.js';
import type { ValueType } from '../signature/types.js';
import { badValue, checkUtf8, fieldCount } from './csv-errors.js';
import {
  ColumnBuilder,
  SharedSlab,
  K_BOOL,
  K_F32,
  K_F64,
  K_I32,
  K_I64,
  K_SKIP,
  K_TEXT,
  K_UTF8,
  columnKind,
} from './csv-columns.js';
import {
  CsvRecordScanner,
  F_ESCAPED,
  F_QUOTED,
  SCAN_CUT,
  SCAN_EMPTY,
  asBuffer,
  checkWindow,
} from './csv-fields.js';
import {
  isTrimByte,
  parseBoolBytes,
  parseDatetimeBytes,
  parseFloatBytes,
  parseFloatText,
  parseIntBytes,
} from './csv-values.js';
import { convertText, valueTypeName } from './text-columns.js';

/** Most bytes a parser reserves up front for its columns (they grow past it as needed). */
const INITIAL_BYTES = 32 << 20;

/** One CSV column as the parser sees it. */
export interface CsvColumnSpec {
  /** The header name (for error messages). */
  name: string;
  /** The final MLflow type (declared or already inferred), or `'skip'` to not materialise it. */
  type: ValueType | 'skip';
  /** Whether `type` was inferred (value errors then suggest declaring it); default false. */
  inferred?: boolean;
}

/** Options of one {@link CsvRecordParser.parse} call. */
export interface CsvParseRange {
  /** A record start in the bytes (the data start, or a `csvRecordStart` result). */
  start: number;
  /** Records starting at or after `stop` are left to the next range (or call). */
  stop: number;
  /** Whether the bytes end where the file ends. */
  eof: boolean;
  /** Absolute file offset of `bytes[0]` (error details, record bounds); default 0. */
  byteOffset?: number;
  /** The line number of the record at `start` (messages); default 1. */
  line?: number;
  /** Stop after this many rows in this call (empty lines do not count); default no limit. */
  maxRows?: number;
}

/** What one {@link CsvRecordParser.parse} call did. */
export interface CsvParseProgress {
  /** Rows parsed by this call. */
  rows: number;
  /** Offset in the bytes of the first record start not parsed (continue there). */
  next: number;
  /** Line terminators consumed, inside quoted fields included (empty lines included). */
  lines: number;
  /**
   * False when the bytes end inside a record that starts before `stop` and `eof` is false:
   * supply more bytes and call again from `next` (the rows parsed so far are kept).
   */
  complete: boolean;
}

/** Columns of the parsed records. */
export interface CsvColumns {
  /** One entry per column: its Arrow Data (shared memory), or null for a skipped column. */
  columns: (Data | null)[];
  /** The Arrow type of each column (null for skipped). */
  types: (DataType | null)[];
  /** Rows in the columns. */
  rows: number;
  /** With `recordBounds`: each row's record start, as an absolute file offset. */
  recordStarts?: Float64Array;
  /** With `recordBounds`: each row's record content end (terminator excluded), absolute. */
  recordEnds?: Float64Array;
}

/** Options of a {@link CsvRecordParser}. */
export interface CsvParserOptions {
  /** The name used in error messages. */
  file: string;
  /** Also collect each record's byte range (to copy input records verbatim); default false. */
  recordBounds?: boolean;
  /** Expected rows (initial column capacity; columns grow as needed). */
  capacity?: number;
}

/**
 * Parses records into columns over one or more calls (the bytes may change between calls: a
 * reader moves its window forward), then {@link finish}es them into Arrow Data.
 */
export class CsvRecordParser {
  private readonly kinds: Int32Array;
  private readonly builders: (ColumnBuilder | null)[];
  private readonly scanner: CsvRecordScanner;
  private readonly file: string;
  private total = 0;
  private starts: Float64Array | null;
  private ends: Float64Array | null;

  /**
   * @param columns - one entry per header field
   * @param options - see {@link CsvParserOptions}
   */
  constructor(
    private readonly columns: readonly CsvColumnSpec[],
    options: CsvParserOptions
  ) {
    this.file = options.file;
    this.kinds = Int32Array.from(columns, (c) => columnKind(c.type));
    // The first buffers of all columns, within a budget: a batch of 65536 rows of 100k columns
    // starts small and grows as rows arrive, instead of reserving 50 GB.
    const perRow = (k: number) => ColumnBuilder.initialBytes(k, 1024) / 1024;
    let rowBytes = 0;
    for (const k of this.kinds) if (k !== K_SKIP) rowBytes += perRow(k);
    const cap = Math.max(
      16,
      Math.min(options.capacity ?? 1024, 1 << 22, Math.floor(INITIAL_BYTES / Math.max(1, rowBytes)))
    );
    let bytes = 0;
    for (const k of this.kinds) if (k !== K_SKIP) bytes += ColumnBuilder.initialBytes(k, cap);
    const slab = new SharedSlab(bytes);
    this.builders = columns.map((c, i) =>
      c.type === 'skip' ? null : new ColumnBuilder(this.kinds[i]!, c.type, cap, slab)
    );
    this.scanner = new CsvRecordScanner(this.file);
    this.starts = options.recordBounds === true ? new Float64Array(cap) : null;
    this.ends = options.recordBounds === true ? new Float64Array(cap) : null;
  }

  /** Rows parsed so far, over all calls. */
  get rows(): number {
    return this.total;
  }

  /**
   * Parses the records that start in `[start, stop)` of `bytes` (reading past `stop` to finish
   * the last one), appending their rows.
   *
   * @param bytes - the bytes (a window of the file)
   * @param range - see {@link CsvParseRange}
   * @returns see {@link CsvParseProgress}
   * @throws {ModelError} E_FORMAT_MALFORMED naming the file, line (from `range.line`), column
   *   and value: a syntax error, a wrong field count, a value that does not convert, invalid
   *   UTF-8; `details` carry `line`, `reason` and the absolute `byteOffset`
   */
  parse(bytes: Uint8Array, range: CsvParseRange): CsvParseProgress {
    const b = asBuffer(bytes);
    const len = b.length;
    checkWindow(len, this.file);
    const { start, stop, eof } = range;
    const byteOffset = range.byteOffset ?? 0;
    const firstLine = range.line ?? 1;
    const maxRows = range.maxRows ?? Number.POSITIVE_INFINITY;
    const scanner = this.scanner;
    const width = this.columns.length;
    let pos = start;
    let line = firstLine;
    let rows = 0;
    let complete = true;
    try {
      while (pos < stop && rows < maxRows) {
        if (pos >= len) {
          complete = eof;
          break;
        }
        const kind = scanner.scan(b, pos, len, eof, line, byteOffset);
        if (kind === SCAN_CUT) {
          complete = false;
          break;
        }
        if (kind !== SCAN_EMPTY) {
          if (scanner.count !== width) {
            throw fieldCount(this.file, line, width, scanner.count, byteOffset + pos);
          }
          this.convertRecord(b, line, byteOffset + pos);
          if (this.starts !== null) this.bounds(byteOffset + pos, byteOffset + scanner.contentEnd);
          this.total++;
          rows++;
        }
        pos = scanner.next;
        line = scanner.line;
      }
    } catch (e) {
      // An earlier record of this call with invalid UTF-8 comes first in file order.
      throw checkUtf8(b, start, pos, this.file, firstLine, byteOffset) ?? e;
    }
    const bad = checkUtf8(b, start, pos, this.file, firstLine, byteOffset);
    if (bad !== null) throw bad;
    return { rows, next: pos, lines: line - firstLine, complete };
  }

  /**
   * The columns of every row parsed (the parser must not be used afterwards).
   *
   * @returns see {@link CsvColumns}
   */
  finish(): CsvColumns {
    const out: CsvColumns = {
      columns: this.builders.map((c) => (c === null ? null : c.finish())),
      types: this.builders.map((c) => (c === null ? null : c.type)),
      rows: this.total,
    };
    if (this.starts !== null && this.ends !== null) {
      out.recordStarts = this.starts.subarray(0, this.total);
      out.recordEnds = this.ends.subarray(0, this.total);
    }
    return out;
  }

  private bounds(from: number, to: number): void {
    let starts = this.starts as Float64Array;
    let ends = this.ends as Float64Array;
    const i = this.total;
    if (i === starts.length) {
      const s = new Float64Array(i * 2);
      s.set(starts);
      const e = new Float64Array(i * 2);
      e.set(ends);
      this.starts = starts = s;
      this.ends = ends = e;
    }
    starts[i] = from;
    ends[i] = to;
  }

  /** Converts the fields of the scanned record into the builders. */
  private convertRecord(b: Buffer, line: number, recordOffset: number): void {
    const { starts, ends, flags } = this.scanner;
    const kinds = this.kinds;
    let failure: ModelError | null = null;
    for (let col = 0; col < kinds.length; col++) {
      const kind = kinds[col]!;
      if (kind === K_SKIP) continue;
      const builder = this.builders[col]!;
      let a = starts[col]!;
      let e = ends[col]!;
      const f = flags[col]!;
      if (a === e) {
        // Unquoted empty: null. Quoted empty: '' for strings (and binary), null otherwise.
        if ((f & F_QUOTED) === 0) builder.pushNull();
        else if (kind === K_UTF8) builder.pushBytes(b, a, a, false);
        else if (kind === K_TEXT) failure ??= this.text(builder, '', col, line, recordOffset);
        else builder.pushNull();
        continue;
      }
      if (kind === K_UTF8) {
        builder.pushBytes(b, a, e, (f & F_ESCAPED) !== 0);
        continue;
      }
      if (kind === K_TEXT || (f & F_ESCAPED) !== 0) {
        failure ??= this.text(builder, cellText(b, a, e, f), col, line, recordOffset);
        continue;
      }
      if (b[a]! <= 32 || b[e - 1]! <= 32) {
        // Rare: white space around the value (trimmed, as `String.prototype.trim` does).
        while (a < e && isTrimByte(b[a]!)) a++;
        while (e > a && isTrimByte(b[e - 1]!)) e--;
        if (a === e) {
          builder.pushNull();
          continue;
        }
      }
      let v: number;
      switch (kind) {
        case K_I32:
          v = parseIntBytes(b, a, e);
          if (v > 2147483647 || v < -2147483648) v = Number.NaN;
          break;
        case K_I64:
          v = parseIntBytes(b, a, e);
          break;
        case K_F32:
        case K_F64:
          v = parseFloatBytes(b, a, e);
          if (v !== v) v = parseFloatText(b, a, e);
          break;
        case K_BOOL: {
          const t = parseBoolBytes(b, a, e);
          if (t >= 0) {
            builder.pushBool(t === 1);
            continue;
          }
          v = Number.NaN;
          break;
        }
        default:
          v = parseDatetimeBytes(b, a, e);
      }
      if (v === v) builder.pushNumber(v);
      else {
        // Not a shape the byte path knows: the exact rules on the decoded text decide.
        failure ??= this.text(
          builder,
          cellText(b, starts[col]!, ends[col]!, f),
          col,
          line,
          recordOffset
        );
      }
    }
    if (failure !== null) throw failure;
  }

  /**
   * Converts one cell's text with `convertText` and appends it; returns the error (the record's
   * remaining fields are still converted, so the leftmost failure of the record is reported
   * after any field-count problem) instead of throwing.
   */
  private text(
    builder: ColumnBuilder,
    cell: string,
    col: number,
    line: number,
    recordOffset: number
  ): ModelError | null {
    const vt = builder.vt;
    let v: unknown;
    try {
      v = convertText(cell, vt);
    } catch (e) {
      builder.pushNull();
      const spec = this.columns[col]!;
      return badValue(
        this.file,
        line,
        spec.name,
        cell,
        valueTypeName(vt),
        spec.inferred === true,
        e,
        recordOffset
      );
    }
    switch (builder.kind) {
      case K_TEXT:
        builder.pushValue(v);
        break;
      case K_BOOL:
        if (v === null) builder.pushNull();
        else builder.pushBool(v as boolean);
        break;
      default:
        if (v === null) builder.pushNull();
        else if (typeof v === 'bigint') builder.pushBigInt(v);
        else builder.pushNumber(v as number);
    }
    return null;
  }
}

/** The text of a field: its UTF-8 bytes decoded, `""` unescaped in a quoted field. */
function cellText(b: Buffer, a: number, e: number, flags: number): string {
  const s = b.toString('utf8', a, e);
  return (flags & F_ESCAPED) !== 0 ? s.replaceAll('""', '"') : s;
}

/** Options of {@link parseCsvRecords}: one range, and the columns to build. */
export interface CsvParseOptions extends CsvParseRange, Omit<CsvParserOptions, 'capacity'> {
  /** One entry per header field. */
  columns: readonly CsvColumnSpec[];
}

/** The result of {@link parseCsvRecords}. */
export interface CsvParseResult extends CsvColumns, CsvParseProgress {}

/**
 * Parses the records that START in `[start, stop)` of `bytes` into typed Arrow columns in
 * shared memory, reading past `stop` to finish the last one.
 *
 * @param bytes - the bytes: a whole file, or a window of it (`byteOffset` says where)
 * @param options - see {@link CsvParseOptions}
 * @returns the columns and the progress: `next` is where the next range's records begin;
 *   with `complete: false` the columns hold the records before the cut-off one (use a
 *   {@link CsvRecordParser} to continue into the same columns)
 * @throws {ModelError} E_FORMAT_MALFORMED as {@link CsvRecordParser.parse}
 * @example
 * ```ts
 * const h = csvHeader(bytes, true)!;
 * const types = inferCsvTypes(bytes, h.dataStart, h.names, h.names.map(() => null), 65536, { eof: true })!;
 * const r = parseCsvRecords(bytes, {
 *   start: h.dataStart, stop: bytes.length, eof: true, line: h.dataLine, file: 'in.csv',
 *   columns: h.names.map((name, i) => ({ name, type: types[i]!, inferred: true })),
 * });
 * ```
 */
export function parseCsvRecords(bytes: Uint8Array, options: CsvParseOptions): CsvParseResult {
  const estimate = Math.ceil((Math.min(options.stop, bytes.length) - options.start) / 24);
  const parser = new CsvRecordParser(options.columns, {
    file: options.file,
    ...(options.recordBounds === undefined ? {} : { recordBounds: options.recordBounds }),
    capacity: Math.min(options.maxRows ?? estimate, estimate + 16),
  });
  const progress = parser.parse(bytes, options);
  return { ...parser.finish(), ...progress };
}
