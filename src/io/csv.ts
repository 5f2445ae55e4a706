/**
 * Streaming CSV: parse incrementally into typed column batches, and write batches back so that a
 * scored file can be scored again (integers without `.0`, floats exact, nulls empty, strings
 * always quoted so `"007"` stays a string even where the column type is inferred).
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { type DataType, type RecordBatch, Type } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema } from '../signature/types.js';
import { throwIfAborted } from './file-errors.js';
import { CsvSyntaxError, CsvTokenizer, type CsvRecord } from './csv-tokenizer.js';
import { jsonValue } from './json-values.js';
import { TextBatchAssembler, signatureColumnTypes } from './text-columns.js';

/** Options of {@link readCsvBatches}. */
export interface CsvReadOptions {
  /** The model input signature that types the columns; null/undefined infers every column. */
  schema?: Schema | null;
  /** Rows per batch; default 65536. */
  batchSize?: number;
  /** Stops reading between batches. */
  signal?: AbortSignal;
  /** Name used in error messages (defaults to the path, or `CSV input` for text). */
  name?: string;
}

/**
 * Reads a CSV file (header row first) as typed RecordBatches of at most `batchSize` rows. A file
 * with a header and no data rows yields one empty batch with the header's columns (typed by the
 * signature where it names them, Utf8 otherwise); an empty file yields no batch.
 *
 * @param path - the CSV file
 * @param options - see {@link CsvReadOptions}
 * @returns the batches, in file order
 * @throws {ModelError} E_FORMAT_MALFORMED for a bad row (wrong field count, unclosed quote) or a
 *   value that does not parse to its column type, naming file, line, column and value
 */
export function readCsvBatches(
  path: string,
  options: CsvReadOptions = {}
): AsyncIterable<RecordBatch> {
  return readCsvStream(() => createReadStream(path, { encoding: 'utf8' }), {
    name: path,
    ...options,
  });
}

/**
 * Reads CSV text held in memory (a `text/csv` request body) as one table's batches.
 *
 * @param text - the CSV text
 * @param options - see {@link CsvReadOptions}
 * @returns the batches (one empty batch for a header without rows, as {@link readCsvBatches})
 * @throws {ModelError} E_FORMAT_MALFORMED as {@link readCsvBatches}
 */
export function readCsvText(
  text: string,
  options: CsvReadOptions = {}
): AsyncIterable<RecordBatch> {
  return readCsvStream(
    async function* () {
      yield text;
    },
    { name: 'CSV input', ...options }
  );
}

async function* readCsvStream(
  open: () => AsyncIterable<string | Buffer> & { destroy?: () => void },
  options: CsvReadOptions & { name: string }
): AsyncGenerator<RecordBatch> {
  const batchSize = options.batchSize ?? 65536;
  const file = options.name;
  const tokenizer = new CsvTokenizer();
  const source = open();
  const rows = new CsvRowSink(file, options.schema ?? null);
  let batches = 0;
  try {
    const take = function* (records: CsvRecord[]): Generator<RecordBatch> {
      for (const r of records) {
        rows.add(r);
        if (rows.size >= batchSize) {
          throwIfAborted(options.signal);
          batches++;
          yield rows.flush();
        }
      }
    };
    for await (const chunk of source) {
      yield* take(tokenizer.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
    }
    yield* take(tokenizer.end());
    // A header-only file still yields one (empty) batch, so the header's columns reach the
    // caller, as an empty Parquet file yields its schema. A file without a header yields nothing.
    if (rows.size > 0 || (batches === 0 && rows.hasHeader)) {
      throwIfAborted(options.signal);
      yield rows.flush();
    }
  } catch (e) {
    throw csvError(file, e);
  } finally {
    source.destroy?.();
  }
}

/**
 * Collects tokenized CSV records (the first is the header) into typed batches.
 */
export class CsvRowSink {
  private assembler: TextBatchAssembler | null = null;
  private width = 0;

  /**
   * @param file - the name used in error messages
   * @param schema - the model input signature, or null
   */
  constructor(
    private readonly file: string,
    private readonly schema: Schema | null
  ) {}

  /** Data rows held and not yet flushed. */
  get size(): number {
    return this.assembler?.size ?? 0;
  }

  /**
   * Adds a record: the first one is the header.
   *
   * @param r - the record
   * @throws {ModelError} E_FORMAT_MALFORMED when the field count differs from the header's
   */
  add(r: CsvRecord): void {
    if (this.assembler === null) {
      const names = r.fields.map((n, i) => n ?? `Unnamed: ${i}`);
      this.width = names.length;
      this.assembler = new TextBatchAssembler(
        names,
        signatureColumnTypes(this.schema, names),
        'csv',
        this.file
      );
      return;
    }
    if (r.fields.length !== this.width) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `${this.file}: line ${r.line}: expected ${this.width} fields (as in the header), found ${r.fields.length}.`,
        { details: { file: this.file, line: r.line, expected: this.width, found: r.fields.length } }
      );
    }
    this.assembler.push(r.fields, r.line, r.quoted);
  }

  /**
   * Converts the held rows to a batch.
   *
   * @returns the batch (an empty one if the input had only a header)
   */
  flush(): RecordBatch {
    if (this.assembler === null) throw new Error('CsvRowSink.flush before the header');
    return this.assembler.flush();
  }

  /** Whether a header was seen. */
  get hasHeader(): boolean {
    return this.assembler !== null;
  }
}

function csvError(file: string, e: unknown): unknown {
  if (ModelError.is(e)) return e;
  if (e instanceof CsvSyntaxError) {
    return new ModelError('E_FORMAT_MALFORMED', `${file}: line ${e.line}: ${e.message}`, {
      details: { file, line: e.line },
      cause: e,
    });
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new ModelError('E_FILE_NOT_FOUND', `Input file ${file} cannot be read (${code}).`, {
      details: { path: file },
      cause: e,
    });
  }
  return e;
}

function quote(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** Formats a float so it re-reads as the same float and as a float (`1.0`, not `1`). */
export function formatCsvFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  const s = String(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

type CellFormatter = (v: unknown) => string;

function cellFormatter(type: DataType): CellFormatter {
  switch (type.typeId) {
    case Type.Int:
      return (v) => String(v);
    case Type.Float:
      return (v) => formatCsvFloat(v as number);
    case Type.Bool:
      return (v) => (v ? 'true' : 'false');
    case Type.Utf8:
    case Type.LargeUtf8:
      return (v) => quote(v as string);
    case Type.Dictionary:
      return cellFormatter((type as unknown as { dictionary: DataType }).dictionary);
    case Type.Timestamp:
    case Type.Date:
      return (v) => jsonValue(v, type) as string;
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return (v) => quote(jsonValue(v, type) as string);
    default:
      // Lists, structs, maps: JSON text, which the reader parses back against the signature.
      return (v) => {
        const j = jsonValue(v, type);
        return typeof j === 'number' ? String(j) : quote(JSON.stringify(j));
      };
  }
}

/**
 * Turns batches into CSV text: a header row, then one line per row (`\n` line ends).
 */
export class CsvEncoder {
  private header: string | null = null;

  /**
   * Encodes one batch (the header is emitted before the first batch only).
   *
   * @param batch - the batch
   * @returns CSV text ending with a newline
   */
  encode(batch: RecordBatch): string {
    const fields = batch.schema.fields;
    const parts: string[] = [];
    if (this.header === null) {
      this.header = fields.map((f) => (/[",\r\n]/.test(f.name) ? quote(f.name) : f.name)).join(',');
      parts.push(this.header, '\n');
    }
    const cols = fields.map((f, i) => ({ vec: batch.getChildAt(i), fmt: cellFormatter(f.type) }));
    for (let r = 0; r < batch.numRows; r++) {
      for (let c = 0; c < cols.length; c++) {
        if (c > 0) parts.push(',');
        const col = cols[c];
        const v: unknown = col?.vec?.get(r);
        if (v !== null && v !== undefined && col !== undefined) parts.push(col.fmt(v));
      }
      parts.push('\n');
    }
    return parts.join('');
  }

  /**
   * The header line for a file with no batches, from the output schema.
   *
   * @param names - the column names
   * @returns the header text (empty if a header was already written)
   */
  headerOnly(names: readonly string[]): string {
    if (this.header !== null) return '';
    this.header = names.map((n) => (/[",\r\n]/.test(n) ? quote(n) : n)).join(',');
    return `${this.header}\n`;
  }
}
