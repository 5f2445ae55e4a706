/**
 * Streaming CSV: parse incrementally into typed column batches (writing: `csv-format.ts`, whose
 * output reads back the same: strings always quoted so `"007"` stays a string even where the
 * column type is inferred).
 *
 * Reading parses BYTES straight into typed columns (`csv-records.ts`, the one CSV parser): the
 * file is read in large chunks, complete records are parsed, a record cut off by a chunk's end
 * is carried over (the window grows geometrically, so a 100 MB field costs linear time). Input
 * must be UTF-8: invalid bytes fail with E_FORMAT_MALFORMED naming line and byte offset.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import type { DataType, RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema, ValueType } from '../signature/types.js';
import { throwIfAborted } from './file-errors.js';
import { csvTypeIsInferred, inferCsvTypes } from './csv-infer.js';
import { type CsvColumnSpec, CsvRecordParser } from './csv-records.js';
import { csvHeader } from './csv-split.js';
import { assembleBatch, signatureColumnTypes } from './text-columns.js';

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

/** Bytes read from a file at a time. */
const READ_CHUNK = 4 << 20;

/**
 * Reads a CSV file (header row first) as typed RecordBatches of at most `batchSize` rows. A file
 * with a header and no data rows yields one empty batch with the header's columns (typed by the
 * signature where it names them, Utf8 otherwise); an empty file yields no batch. Columns the
 * signature does not type are inferred from the first `batchSize` records.
 *
 * @param path - the CSV file
 * @param options - see {@link CsvReadOptions}
 * @returns the batches, in file order
 * @throws {ModelError} E_FORMAT_MALFORMED for a bad row (wrong field count, unclosed quote, text
 *   after a closing quote, a quote inside an unquoted field), invalid UTF-8, or a value that
 *   does not parse to its column type, naming file, line, column and value; E_FILE_NOT_FOUND
 *   when the file cannot be read
 */
export function readCsvBatches(
  path: string,
  options: CsvReadOptions = {}
): AsyncIterable<RecordBatch> {
  return readCsvChunks(() => createReadStream(path, { highWaterMark: READ_CHUNK }), {
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
  return readCsvChunks(() => [Buffer.from(text, 'utf8')], { name: 'CSV input', ...options });
}

/**
 * Parses CSV held in memory into ONE batch, synchronously (a `text/csv` scoring request):
 * column types are inferred from all of its records.
 *
 * @param input - the CSV text or its UTF-8 bytes
 * @param options - the signature that types the columns, and the name used in messages
 *   (default `CSV input`)
 * @returns the batch (no rows for a header alone), or null when there is no header at all
 * @throws {ModelError} E_FORMAT_MALFORMED as {@link readCsvBatches}
 */
export function parseCsvBatch(
  input: string | Uint8Array,
  options: Pick<CsvReadOptions, 'schema' | 'name'> = {}
): RecordBatch | null {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const file = options.name ?? 'CSV input';
  const header = csvHeader(bytes, true, file) as NonNullable<ReturnType<typeof csvHeader>>;
  if (header.names.length === 0) return null;
  const known = signatureColumnTypes(options.schema ?? null, header.names);
  const types = inferCsvTypes(bytes, header.dataStart, header.names, known, Infinity, {
    eof: true,
    file,
  }) as ValueType[];
  const columns = columnSpecs(header.names, known, types);
  const parser = new CsvRecordParser(columns, { file, capacity: 1024 });
  parser.parse(bytes, {
    start: header.dataStart,
    stop: bytes.length,
    eof: true,
    line: header.dataLine,
  });
  return toBatch(header.names, parser);
}

/** The column specs of a file: final types, and which of them were inferred. */
function columnSpecs(
  names: readonly string[],
  known: readonly (ValueType | null)[],
  types: readonly ValueType[]
): CsvColumnSpec[] {
  return names.map((name, i) => ({
    name,
    type: types[i]!,
    inferred: csvTypeIsInferred(known[i] ?? null),
  }));
}

function toBatch(names: readonly string[], parser: CsvRecordParser): RecordBatch {
  const out = parser.finish();
  return assembleBatch(names, out.types as DataType[], out.columns as never, out.rows);
}

/**
 * A growing window over a byte stream: `bytes[0, len)` holds the file from `offset` on.
 * Reading appends chunks; `drop` forgets what was parsed.
 */
class ByteWindow {
  bytes = Buffer.allocUnsafe(READ_CHUNK);
  len = 0;
  offset = 0;
  eof = false;

  constructor(private readonly chunks: Iterator<Uint8Array> | AsyncIterator<Uint8Array>) {}

  view(): Buffer {
    return this.bytes.subarray(0, this.len);
  }

  /** Forgets the bytes before `pos`; returns where `pos` is now (0). */
  drop(pos: number): number {
    if (pos > 0) {
      this.bytes.copyWithin(0, pos, this.len);
      this.len -= pos;
      this.offset += pos;
    }
    return 0;
  }

  /**
   * Reads at least `atLeast` more bytes (one chunk at minimum), or to the end of the stream.
   * Callers ask for as many bytes as they hold unparsed, so a long record is re-scanned a
   * logarithmic number of times: linear work in total.
   */
  async more(atLeast: number): Promise<void> {
    const target = this.len + Math.max(1, atLeast);
    while (!this.eof && this.len < target) {
      const r = await this.chunks.next();
      if (r.done === true) {
        this.eof = true;
        break;
      }
      const chunk = r.value;
      if (this.len + chunk.length > this.bytes.length) {
        const next = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.len + chunk.length));
        this.bytes.copy(next, 0, 0, this.len);
        this.bytes = next;
      }
      this.bytes.set(chunk, this.len);
      this.len += chunk.length;
    }
  }
}

type ChunkSource = (AsyncIterable<Uint8Array> | Iterable<Uint8Array>) & { destroy?: () => void };

/**
 * Reads CSV bytes arriving in chunks of any size (a file stream, a request body) as typed
 * batches of at most `batchSize` rows: the reader under {@link readCsvBatches}.
 *
 * @param open - opens the byte source (called once, when iteration starts)
 * @param options - see {@link CsvReadOptions}; `name` is required
 * @returns the batches, in file order
 * @throws {ModelError} E_FORMAT_MALFORMED as {@link readCsvBatches}; E_FILE_NOT_FOUND when the
 *   source fails with a file-system error
 */
export async function* readCsvChunks(
  open: () => ChunkSource,
  options: CsvReadOptions & { name: string }
): AsyncGenerator<RecordBatch> {
  const batchSize = options.batchSize ?? 65536;
  const file = options.name;
  const source = open();
  const chunks =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
      : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  const win = new ByteWindow(chunks);
  try {
    let header = csvHeader(win.view(), win.eof, file);
    while (header === null) {
      await win.more(win.len);
      header = csvHeader(win.view(), win.eof, file);
    }
    const names = header.names;
    if (names.length === 0) return;
    let pos = header.dataStart;
    let line = header.dataLine;
    const known = signatureColumnTypes(options.schema ?? null, names);
    let types = inferCsvTypes(win.view(), pos, names, known, batchSize, { eof: win.eof, file });
    while (types === null) {
      await win.more(win.len - pos);
      types = inferCsvTypes(win.view(), pos, names, known, batchSize, { eof: win.eof, file });
    }
    const columns = columnSpecs(names, known, types);
    let batches = 0;
    for (;;) {
      const parser = new CsvRecordParser(columns, { file, capacity: batchSize });
      let done = false;
      while (parser.rows < batchSize) {
        const view = win.view();
        const r = parser.parse(view, {
          start: pos,
          stop: view.length,
          eof: win.eof,
          byteOffset: win.offset,
          line,
          maxRows: batchSize - parser.rows,
        });
        pos = r.next;
        line += r.lines;
        if (win.eof && pos >= view.length) {
          done = true;
          break;
        }
        if (parser.rows >= batchSize) break;
        pos = win.drop(pos);
        await win.more(win.len);
      }
      if (parser.rows > 0 || batches === 0) {
        throwIfAborted(options.signal);
        batches++;
        yield toBatch(names, parser);
      }
      if (done) return;
    }
  } catch (e) {
    throw csvError(file, e);
  } finally {
    source.destroy?.();
    await chunks.return?.();
  }
}

/** Read failures of the byte source (fs errors) as E_FILE_NOT_FOUND; ModelErrors pass. */
function csvError(file: string, e: unknown): unknown {
  if (ModelError.is(e)) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new ModelError('E_FILE_NOT_FOUND', `Input file ${file} cannot be read (${code}).`, {
      details: { path: file },
      cause: e,
    });
  }
  return e;
}
