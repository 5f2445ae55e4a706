/**
 * NDJSON parsed from bytes straight into typed Arrow columns, for any byte range of a file.
 *
 * A record is a line (a JSON string cannot hold a raw newline, so no quote state crosses a line
 * end), and a split `[start, stop)` owns the lines that START in it ({@link ndjsonLineStart}),
 * reading past `stop` to finish its last one: concatenating the splits' rows gives exactly the
 * rows of a one-thread read. The driver infers the columns once from the file's head
 * ({@link inferNdjsonColumns}); every split parses with them ({@link parseNdjsonRecords}).
 *
 * No `JSON.parse` per line and no JS string per cell on the common paths: keys are matched by
 * their bytes, numbers parsed in place (floats exactly as `Number(text)`), strings copied as
 * UTF-8 with escapes decoded, ISO date-times parsed from bytes, all into typed arrays over
 * `SharedArrayBuffer`s. Every other combination (a numeric string in a number column, a number
 * in a string column, nested values, base64 binary...) converts through `convertJson`, so values,
 * types and messages are those of the text readers' `TextBatchAssembler`. Integers of more than
 * 15 digits are read exactly from their digits (JSON.parse would round them through a double).
 *
 * Errors (E_FORMAT_MALFORMED) read as they always have: syntax (`line N: not valid JSON (...)`,
 * V8's words), a non-object line, invalid UTF-8 (with its byte offset), nesting deeper than
 * {@link MAX_DEPTH} and conversions (`line N, column 'c': cannot read ...`). Within one batch a
 * syntax-level error wins over a conversion error, and among conversion errors the first column
 * wins, as when a batch was first read and then converted column by column.
 *
 * @module
 */
import { type Data, Utf8 } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { ValueType } from '../signature/types.js';
import { ColumnBuilder, Kind, Slab } from './ndjson-columns.js';
import { KeyTable } from './ndjson-keys.js';
import { NdjsonLineReader, type NdjsonProgress, type NdjsonRange } from './ndjson-lines.js';
import { isoDatetimeMs } from './ndjson-datetime.js';
import { latin1, num, scanNumber, scanPlainInt } from './ndjson-number.js';
import { FALSE, NULL, TRUE, scanString, scanValue, scanWord, skipWs, str } from './ndjson-scan.js';
import { ScanError } from './ndjson-scan-error.js';
import { decodeStringInto } from './ndjson-utf8.js';
import {
  ConversionError,
  convertJson,
  textColumnArrowType,
  valueTypeName,
} from './text-columns.js';

export { inferNdjsonColumns } from './ndjson-infer.js';
export type { NdjsonColumn, NdjsonInference, NdjsonInferOptions } from './ndjson-infer.js';
export { ndjsonLineStart, rebaseNdjsonError } from './ndjson-lines.js';
export type { NdjsonProgress, NdjsonRange } from './ndjson-lines.js';
export { MAX_DEPTH } from './ndjson-scan-error.js';

/** A column to parse: its key, and its type or `'skip'` (not materialized: a projection). */
export interface NdjsonColumnSpec {
  /** The key. */
  name: string;
  /** The column's type, or `'skip'`. */
  type: ValueType | 'skip';
  /** True when the signature typed it (conversion errors then carry no inference hint). */
  declared?: boolean;
}

/** A key that is not one of the columns, with the line it was first seen on. */
export interface NdjsonUnknownKey {
  /** The key. */
  key: string;
  /** Its line (numbered from `firstLine`). */
  line: number;
}

/** What one {@link NdjsonRecordParser.parse} call consumed. */
export interface NdjsonChunk extends NdjsonProgress {
  /** Keys not among the columns, first seen in this call (each reported once per parser). */
  unknownKeys: NdjsonUnknownKey[];
}

/** Options of {@link parseNdjsonRecords}. */
export interface NdjsonParseOptions extends NdjsonRange {
  /** The columns, in output order. */
  columns: readonly NdjsonColumnSpec[];
  /** The file name used in messages. */
  file: string;
}

/** The result of {@link parseNdjsonRecords}. */
export interface NdjsonParseResult extends NdjsonChunk {
  /** One Arrow Data per column (in shared memory); null for a `'skip'` column. */
  columns: (Data | null)[];
}

/**
 * Parses the records of the lines starting in `[start, stop)` into Arrow columns.
 *
 * When `complete` is false, `maxRows` stopped the pass or the line at `next` is not complete in
 * `bytes` (and not `eof`): continue from `next`, with more bytes in the second case. To gather one
 * batch across several buffers, use {@link NdjsonRecordParser}.
 *
 * @param bytes - the bytes
 * @param options - see {@link NdjsonParseOptions}
 * @returns the columns, the rows and what was consumed
 * @throws {ModelError} E_FORMAT_MALFORMED naming file, line (from `firstLine`) and the absolute
 *   byte offset (`details.byteOffset`, with `details.reason`): bad JSON, a non-object line,
 *   invalid UTF-8, nesting too deep, or a value that does not convert to its column's type
 * @example
 * ```ts
 * const head = inferNdjsonColumns(bytes, { eof: true, maxRows: 65536, file, schema });
 * const { columns, rows } = parseNdjsonRecords(bytes, { eof: true, columns: head.columns, file });
 * ```
 */
export function parseNdjsonRecords(
  bytes: Uint8Array,
  options: NdjsonParseOptions
): NdjsonParseResult {
  const parser = new NdjsonRecordParser(options.columns, options.file);
  const chunk = parser.parse(bytes, options);
  return { ...chunk, columns: parser.finish() };
}

interface Failure {
  row: number;
  line: number;
  byteOffset: number;
  value: unknown;
  cause: unknown;
}

const RBRACE = 0x7d;
const QUOTE = 0x22;

/**
 * Parses NDJSON records into column builders across any number of buffers, then hands out one
 * batch of columns per {@link NdjsonRecordParser.finish}. After it throws, do not use it again.
 */
export class NdjsonRecordParser extends NdjsonLineReader {
  private readonly keys = new KeyTable();
  private cols: (ColumnBuilder | null)[];
  private rowCount = 0;
  private cap = 0;
  private rowsAllowed = Number.POSITIVE_INFINITY;
  private failures: (Failure | undefined)[] = [];
  private failed = false;
  private readonly unknownSeen = new KeyTable();
  private readonly unknownNames = new Set<string>();
  private unknown: NdjsonUnknownKey[] = [];

  /**
   * @param columns - the columns, in output order (distinct names)
   * @param file - the file name used in messages
   */
  constructor(
    private readonly columns: readonly NdjsonColumnSpec[],
    file: string
  ) {
    super(file);
    for (const c of columns) this.keys.add(c.name);
    this.cols = this.builders();
  }

  /** Records held since the last {@link finish}. */
  get rows(): number {
    return this.rowCount;
  }

  /**
   * Parses the records of the lines starting in a range, appending them to the batch held.
   *
   * @param bytes - the bytes
   * @param range - see {@link NdjsonRange}
   * @returns what was consumed, and keys that are not columns
   * @throws {ModelError} E_FORMAT_MALFORMED for a line that is not valid JSON, not an object,
   *   not UTF-8 or nested too deep (conversion errors are thrown by {@link finish})
   */
  parse(bytes: Uint8Array, range: NdjsonRange): NdjsonChunk {
    this.unknown = [];
    this.rowsAllowed = range.maxRows ?? Number.POSITIVE_INFINITY;
    const progress = this.run(bytes, range);
    return { ...progress, unknownKeys: this.unknown };
  }

  /**
   * The batch held, as one Arrow Data per column (null for `'skip'` columns); the parser then
   * starts a new batch.
   *
   * @returns the columns, each of {@link rows} rows
   * @throws {ModelError} E_FORMAT_MALFORMED for the first value (by column, then line) that did
   *   not convert to its column's type
   */
  finish(): (Data | null)[] {
    if (this.failed) {
      const c = this.failures.findIndex((f) => f !== undefined);
      throw this.conversionError(c, this.failures[c] as Failure);
    }
    const rows = this.rowCount;
    const out = this.cols.map((col) => (col === null ? null : col.finish(rows)));
    this.rowCount = 0;
    this.cap = 0;
    this.cols = this.builders();
    return out;
  }

  private builders(): (ColumnBuilder | null)[] {
    return this.columns.map((c) =>
      c.type === 'skip'
        ? null
        : new ColumnBuilder(c.type, textColumnArrowType(c.type) ?? new Utf8(), c.declared === true)
    );
  }

  /**
   * Grows every column for the rest of the range: at first from the first line's length, later
   * from this pass's average bytes per row (5% to spare), at least doubling, never past the rows
   * the pass may still read.
   */
  private grow(rowsBefore: number, bytesUsed: number, bytesLeft: number, q: number): void {
    const rows = this.rowCount;
    let want: number;
    if (rowsBefore >= 256) {
      want = rows + Math.ceil((bytesLeft / bytesUsed) * rowsBefore * 1.05) + 64;
    } else {
      const nl = this.buf.indexOf(0x0a, q);
      const lineBytes = Math.max((nl < 0 ? this.b.length : nl) - q + 1, 2);
      want = rows + Math.ceil((bytesLeft / lineBytes) * 1.05) + 16;
    }
    want = Math.max(want, this.cap * 2);
    want = Math.max(rows + 1, Math.min(want, rows + (this.rowsAllowed - rowsBefore)));
    let bytes = 0;
    for (const col of this.cols) if (col !== null) bytes += col.slabBytes(want);
    const slab = new Slab(bytes);
    for (const col of this.cols) col?.grow(want, rows, slab);
    this.cap = want;
  }

  protected record(
    q: number,
    end: number,
    rowsBefore: number,
    bytesUsed: number,
    bytesLeft: number
  ): number {
    const b = this.b;
    const cols = this.cols;
    const keys = this.keys;
    const n = cols.length;
    const row = this.rowCount;
    if (row === this.cap) this.grow(rowsBefore, bytesUsed, bytesLeft, q);
    q = skipWs(b, q + 1, end);
    let expect = 0;
    if (b[q] === RBRACE) q++;
    else {
      for (;;) {
        if (b[q] !== QUOTE) throw new ScanError('syntax', q);
        let c: number;
        // Keys usually come in column order: try the next column's spelling first.
        const after = expect < n ? keys.quoted(expect, b, q) : -1;
        if (after >= 0 && after <= end) {
          c = expect;
          q = after;
        } else {
          const k0 = q + 1;
          q = scanString(b, q, end);
          const k1 = q - 1;
          if (str.escaped) c = this.escapedKey(k0, k1);
          else {
            c = keys.findBytes(b, k0, k1);
            if (c < 0) this.unknownRaw(k0, k1);
          }
        }
        q = skipWs(b, q, end);
        if (b[q] !== 0x3a) throw new ScanError('syntax', q);
        q = skipWs(b, q + 1, end);
        if (c >= 0) {
          expect = c + 1;
          const col = cols[c]!;
          q = col === null ? scanValue(b, q, end, 1) : this.value(col, c, q, end, row);
        } else {
          q = scanValue(b, q, end, 1);
        }
        q = skipWs(b, q, end);
        const d = b[q];
        if (d === 0x2c) {
          q = skipWs(b, q + 1, end);
          continue;
        }
        if (d === RBRACE) {
          q++;
          break;
        }
        throw new ScanError('syntax', q);
      }
    }
    return q;
  }

  protected abandon(): void {
    const row = this.rowCount;
    if (!this.failed) return;
    this.failures = this.failures.map((f) => (f?.row === row ? undefined : f));
    this.failed = this.failures.some((f) => f !== undefined);
  }

  protected commit(): void {
    const row = this.rowCount;
    const cols = this.cols;
    for (let i = 0; i < cols.length; i++) cols[i]?.endRow(row);
    this.rowCount = row + 1;
  }

  /** Reads one value into its column; returns the index after it. */
  private value(col: ColumnBuilder, c: number, q: number, end: number, row: number): number {
    const b = this.b;
    const ch = b[q]!;
    if (ch === 0x6e) {
      q = scanWord(b, q, end, NULL);
      col.setNull(row);
      if (this.failed) this.unfail(c, row);
      return q;
    }
    const isNum = ch === 0x2d || (ch >= 0x30 && ch <= 0x39);
    switch (col.kind) {
      case Kind.F64: {
        if (!isNum) break;
        q = scanNumber(b, q, end);
        col.f64[row] = num.value;
        col.set(row);
        if (this.failed) this.unfail(c, row);
        return q;
      }
      case Kind.F32:
        if (!isNum) break;
        q = scanNumber(b, q, end);
        col.f32[row] = num.value;
        col.set(row);
        if (this.failed) this.unfail(c, row);
        return q;
      case Kind.I32: {
        if (!isNum) break;
        const q2 = scanNumber(b, q, end);
        const v = num.value;
        if (num.plainInt && num.digits <= 15 && v >= -2147483648 && v <= 2147483647) {
          col.i32[row] = v;
          col.set(row);
          if (this.failed) this.unfail(c, row);
          return q2;
        }
        return this.convert(col, c, q, q2, end, row);
      }
      case Kind.I64: {
        if (!isNum) break;
        const q1 = scanPlainInt(b, q, end);
        if (q1 >= 0) {
          col.setInt64(row, num.value);
          if (this.failed) this.unfail(c, row);
          return q1;
        }
        return this.convert(col, c, q, scanNumber(b, q, end), end, row);
      }
      case Kind.BOOL:
        if (ch === 0x74) {
          q = scanWord(b, q, end, TRUE);
          col.setBool(row, true);
        } else if (ch === 0x66) {
          q = scanWord(b, q, end, FALSE);
          col.setBool(row, false);
        } else break;
        if (this.failed) this.unfail(c, row);
        return q;
      case Kind.UTF8: {
        if (ch !== QUOTE) break;
        const q2 = scanString(b, q, end);
        const from = q + 1;
        const to = q2 - 1;
        if (!col.reserve(row, to - from)) return this.tooLarge(col, c, q, q2, row);
        const start = col.offsets[row]!;
        let o: number;
        if (str.escaped) {
          o = decodeStringInto(b, from, to, col.bytes, start);
        } else if (to - from < 24) {
          const out = col.bytes;
          o = start;
          for (let i = from; i < to; i++) out[o++] = b[i]!;
        } else {
          col.bytes.set(b.subarray(from, to), start);
          o = start + (to - from);
        }
        col.offsets[row + 1] = o;
        col.set(row);
        if (this.failed) this.unfail(c, row);
        return q2;
      }
      case Kind.TS_MS: {
        if (ch !== QUOTE) break;
        const q2 = scanString(b, q, end);
        if (!str.escaped) {
          const ms = isoDatetimeMs(b, q + 1, q2 - 1);
          if (ms === ms) {
            col.setInt64(row, ms);
            if (this.failed) this.unfail(c, row);
            return q2;
          }
        }
        return this.convert(col, c, q, q2, end, row);
      }
      default:
        break;
    }
    return this.convert(col, c, q, -1, end, row);
  }

  /**
   * The general path: the token's JS value (as JSON.parse gives it) through `convertJson`.
   * `q2` is the token's end when already scanned, else -1.
   */
  private convert(
    col: ColumnBuilder,
    c: number,
    q: number,
    q2: number,
    end: number,
    row: number
  ): number {
    const b = this.b;
    if (q2 < 0) q2 = scanValue(b, q, end, 1);
    const ch = b[q]!;
    const isNum = ch === 0x2d || (ch >= 0x30 && ch <= 0x39);
    if (
      isNum &&
      num.plainInt &&
      num.digits > 15 &&
      (col.kind === Kind.I64 || col.kind === Kind.I32)
    ) {
      return this.exactInteger(col, c, q, q2, row);
    }
    let value: unknown;
    if (ch === QUOTE) {
      value = str.escaped
        ? JSON.parse(this.buf.toString('utf8', q, q2))
        : this.buf.toString('utf8', q + 1, q2 - 1);
    } else if (isNum) value = num.value;
    else if (ch === 0x74) value = true;
    else if (ch === 0x66) value = false;
    else value = JSON.parse(this.buf.toString('utf8', q, q2));
    let v: unknown;
    try {
      v = convertJson(value, col.vt);
    } catch (e) {
      this.fail(c, row, value, e);
      col.setNull(row);
      return q2;
    }
    if (v === null || v === undefined) col.setNull(row);
    else if (!col.setConverted(row, v)) {
      const why =
        col.kind === Kind.TS_MS
          ? `expected an ISO date-time or whole epoch milliseconds, found ${JSON.stringify(v)}`
          : 'the column holds more than 2 GiB of text in one batch';
      this.fail(c, row, value, new ConversionError(why));
      col.setNull(row);
      return q2;
    }
    if (this.failed) this.unfail(c, row);
    return q2;
  }

  /** An integer of more than 15 digits, exactly from its digits. */
  private exactInteger(col: ColumnBuilder, c: number, q: number, q2: number, row: number): number {
    const text = latin1(this.b, q, q2);
    const big = BigInt(text);
    const bits = col.kind === Kind.I32 ? 32 : 64;
    const limit = 1n << BigInt(bits - 1);
    if (big < -limit || big >= limit) {
      this.fail(c, row, text, new ConversionError(`integer ${big} is out of range for int${bits}`));
      col.setNull(row);
      return q2;
    }
    if (bits === 64) col.i64[row] = big;
    else col.i32[row] = Number(big);
    col.set(row);
    if (this.failed) this.unfail(c, row);
    return q2;
  }

  private tooLarge(col: ColumnBuilder, c: number, q: number, q2: number, row: number): number {
    const value = JSON.parse(this.buf.toString('utf8', q, q2)) as unknown;
    this.fail(
      c,
      row,
      value,
      new ConversionError('the column holds more than 2 GiB of text in one batch')
    );
    col.setNull(row);
    return q2;
  }

  private escapedKey(k0: number, k1: number): number {
    const name = JSON.parse(this.buf.toString('utf8', k0 - 1, k1 + 1)) as string;
    const c = this.keys.findName(name);
    if (c < 0) this.report(name);
    return c;
  }

  private unknownRaw(k0: number, k1: number): void {
    if (this.unknownSeen.findBytes(this.b, k0, k1) >= 0) return;
    const name = this.buf.toString('utf8', k0, k1);
    this.unknownSeen.add(name);
    this.report(name);
  }

  private report(name: string): void {
    if (this.unknownNames.has(name)) return;
    this.unknownNames.add(name);
    this.unknown.push({ key: name, line: this.line });
  }

  private fail(c: number, row: number, value: unknown, cause: unknown): void {
    // The first failing row of a column counts; within that row, the last duplicate key wins.
    const prior = this.failures[c];
    if (prior !== undefined && prior.row !== row) return;
    this.failures[c] = {
      row,
      line: this.line,
      byteOffset: this.base + this.lineStart,
      value,
      cause,
    };
    this.failed = true;
  }

  /** A later duplicate key converted fine: the failed value it replaces no longer counts. */
  private unfail(c: number, row: number): void {
    if (this.failures[c]?.row !== row) return;
    this.failures[c] = undefined;
    this.failed = this.failures.some((f) => f !== undefined);
  }

  private conversionError(c: number, f: Failure): ModelError {
    const spec = this.columns[c] as NdjsonColumnSpec;
    const vt = spec.type as ValueType;
    const shown = typeof f.value === 'string' ? f.value : JSON.stringify(f.value);
    const why = f.cause instanceof Error ? f.cause.message : String(f.cause);
    const hint =
      spec.declared === true
        ? ''
        : ' The type was inferred from the first batch; declare the column in the model signature to fix it.';
    const type = valueTypeName(vt);
    const reason = `cannot read ${JSON.stringify(shown)} as ${type} (${why}).${hint}`;
    return new ModelError(
      'E_FORMAT_MALFORMED',
      `${this.file}: line ${f.line}, column '${spec.name}': ${reason}`,
      {
        details: {
          file: this.file,
          line: f.line,
          column: spec.name,
          value: shown,
          type,
          reason,
          byteOffset: f.byteOffset,
        },
        cause: f.cause,
      }
    );
  }
}
