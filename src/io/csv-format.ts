/**
 * CSV writer: Arrow record batches to UTF-8 bytes straight from the column buffers (no JS string
 * per cell), plus the per-column cell writers the CSV -> CSV passthrough appends to input lines.
 *
 * The text re-reads (with `readCsvBatches`) to the same values, and strings, integers and
 * float64 are written byte for byte as jsfunc always wrote them, so scored files stay
 * comparable. Cells (the documented contract):
 * - header names quoted only when they hold `"`, `,`, CR or LF; lines end with `\n`.
 * - null: an empty cell. In a ONE-column file a null is written `""` (as Python's csv module and
 *   pandas do), because an empty line is skipped by CSV readers and the row would be lost; a
 *   string column then reads it back as the empty string.
 * - Utf8 (also large and view): ALWAYS quoted, `"` doubled (`"007"` stays a string on re-read),
 *   the UTF-8 bytes copied as they are.
 * - Int8..Int64, Uint8..Uint64: exact decimal digits (int64 too).
 * - Float64: the shortest text that reads back to the same double (`String(v)`), integral values
 *   with `.0` so they re-read as floats, `-0.0`, `NaN`, `inf`, `-inf`. Float32 and Float16: the
 *   shortest digits that read back to the same narrow float (`0.016666668`, not the float64
 *   expansion `0.01666666753590107`).
 * - Decimal(p, s), 128 and 256 bit: plain decimal text with the scale (`2176.00`).
 * - Bool: `true`/`false`. Dictionary: its value. Union: the selected member's value.
 * - Binary, LargeBinary, FixedSizeBinary, BinaryView: base64, quoted.
 * - Date (day or millisecond unit): `YYYY-MM-DD`.
 * - Timestamp without a zone: `YYYY-MM-DD HH:MM:SS` as pandas' `to_csv` writes datetime64, with a
 *   fraction in the unit's digits (ms `.123`, us `.123456`, ns `.123456789`) only when the
 *   value's fraction is non-zero. pandas picks one fraction width for the whole column (the
 *   finest any value needs, `.000` on whole seconds) and writes an all-midnight column as
 *   dates; a writer that encodes each split of a file on its own thread cannot know the whole
 *   column, so jsfunc decides per value. Every form re-reads to the same instant.
 * - Timestamp with a zone: as pandas writes a zoned column (`str(Timestamp)`):
 *   `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00` (fraction 6 digits, 9 for sub-microsecond values);
 *   a fixed-offset zone (`+05:30`) in that offset's local time; a named zone (`Europe/Paris`)
 *   as the same instant in UTC with `+00:00`.
 * - Time32/Time64: `HH:MM:SS[.fraction]` (unit digits, as timestamps); re-read as a string.
 * - Duration: the integer count of its unit (Arrow's cast to text); re-read as a long.
 * - Interval: an ISO 8601 duration (`P1Y2M`, `P3DT4.5S`, `PT0S`); re-read as a string.
 * - List, LargeList, FixedSizeList, Struct, Map: JSON text (as the NDJSON writer writes the
 *   value), quoted; the reader parses it back against the signature's array/object/map type.
 *
 * @module
 */
import type { Data, RecordBatch } from 'apache-arrow';
import { ByteBuffer, writeCsvQuoted } from './byte-buffer.js';
import { type TextDialect, stringBytes, valueWriter } from './ndjson-format.js';

/**
 * Writes one CSV cell of a column at a row index (nothing for a null; no separator, no line
 * end). Write with it after the input record's bytes and a `,` to append a column to CSV lines.
 */
export type CsvCellWriter = (out: ByteBuffer, row: number) => void;

const nestedScratch = new ByteBuffer(1024);

/** The CSV dialect of {@link valueWriter}: cells as described in this module's documentation. */
export const CSV_DIALECT: TextDialect = {
  writeNull() {},
  writeString: writeCsvQuoted,
  writeNonFinite(out, v) {
    out.writeAscii(Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf');
  },
  writeNested(out, json, index) {
    // Nested JSON writers never call back into the CSV dialect, so one scratch buffer will do.
    nestedScratch.reset();
    json(nestedScratch, index);
    writeCsvQuoted(out, nestedScratch.buf, 0, nestedScratch.pos);
  },
  quoteTemporal: false,
  timestampSeparator: 32,
  naiveFraction: 'unit',
};

/**
 * The CSV cell writer of one column.
 *
 * @param data - the column's Arrow Data (one chunk, e.g. `batch.data.children[i]`, or
 *   `vector.data[0]`)
 * @returns the writer (see {@link CsvCellWriter})
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for an Arrow type without a text form (none of
 *   apache-arrow 21's types)
 */
export function csvCellWriter(data: Data): CsvCellWriter {
  return valueWriter(data, CSV_DIALECT) as CsvCellWriter;
}

/**
 * The CSV cell writers of a batch's columns, in schema order; row indexes are the batch's.
 *
 * @param batch - the batch
 * @returns one writer per column
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for an Arrow type without a text form (none of
 *   apache-arrow 21's types)
 * @example
 * ```ts
 * // Append the prediction cells to each input record (bytes without its line end).
 * const cells = csvCellWriters(predictions);
 * for (let r = 0; r < predictions.numRows; r++) {
 *   out.writeBytes(input, recordStart[r], recordEnd[r]);
 *   for (const cell of cells) {
 *     out.writeByte(0x2c);
 *     cell(out, r);
 *   }
 *   out.writeByte(0x0a);
 * }
 * ```
 */
export function csvCellWriters(batch: RecordBatch): CsvCellWriter[] {
  return (batch.data.children as Data[]).map((d) => csvCellWriter(d));
}

/**
 * A column name as a CSV header field: quoted (with `"` doubled) only when it holds `"`, `,`,
 * CR or LF.
 *
 * @param name - the column name
 * @returns the field text
 */
function headerField(name: string): string {
  return /[",\r\n]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name;
}

/**
 * The header line for the given column names, with its `\n`.
 *
 * @param names - the column names
 * @returns the UTF-8 bytes
 */
export function csvHeaderBytes(names: readonly string[]): Uint8Array {
  return new TextEncoder().encode(`${names.map(headerField).join(',')}\n`);
}

/** Options of {@link encodeCsvBatch}. */
export interface CsvEncodeOptions {
  /** Whether to start with the header line (the first piece of a file only). */
  header: boolean;
  /**
   * A buffer to append to (reused across batches by a writer); the returned bytes are then a
   * view of it, valid until its next write or reset. Default: a new buffer sized for the batch.
   */
  out?: ByteBuffer;
}

/**
 * Encodes a batch as CSV lines (`\n` line ends), with the header first when asked.
 *
 * @param batch - the batch
 * @param options - see {@link CsvEncodeOptions}
 * @returns the UTF-8 bytes
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for an Arrow type without a text form (none of
 *   apache-arrow 21's types)
 */
export function encodeCsvBatch(batch: RecordBatch, options: CsvEncodeOptions): Uint8Array {
  const rows = batch.numRows;
  const out = options.out ?? new ByteBuffer(estimateCsvBytes(batch));
  const start = out.pos;
  if (options.header) {
    const h = csvHeaderBytes(batch.schema.fields.map((f) => f.name));
    out.writeBytes(h, 0, h.length);
  }
  const cells = csvCellWriters(batch);
  const n = cells.length;
  if (n === 1) {
    const cell = cells[0]!;
    for (let r = 0; r < rows; r++) {
      const before = out.pos;
      cell(out, r);
      if (out.pos === before) {
        // A null alone on its line: `""`, so the line is not empty (and not skipped on read).
        out.writeByte(34);
        out.writeByte(34);
      }
      out.writeByte(10);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < n; c++) {
        if (c > 0) out.writeByte(44);
        cells[c]!(out, r);
      }
      out.writeByte(10);
    }
  }
  return out.buf.subarray(start, out.pos);
}

/** A capacity guess for a batch's CSV bytes (the buffer still grows if it is short). */
function estimateCsvBytes(batch: RecordBatch): number {
  let perRow = 1;
  let strings = 0;
  for (const d of batch.data.children as Data[]) {
    perRow += 12;
    strings += stringBytes(d);
  }
  return Math.min(perRow * batch.numRows + strings * 1.1, 1 << 30) + 256;
}
