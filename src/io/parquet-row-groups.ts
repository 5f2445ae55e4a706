/**
 * Reading a split of a Parquet file: given row groups, optionally only some columns, as Arrow
 * record batches in shared memory. Meant for worker threads (each task reads its own split
 * with positional reads), and used by the one-thread reader too.
 *
 * For each row group, only the byte ranges of the wanted column chunks are read; they are laid
 * out as a small Parquet file of their own (the chunks copied, a footer listing just them, see
 * `rowGroupPiece`), which parquet-wasm decodes synchronously. Synchronous decoding is chosen on
 * purpose: an error or trap surfaces as an exception of this call (see
 * `parquet-wasm-instance.ts`), where parquet-wasm's async streams lose it in a microtask.
 *
 * Decoded batches cross from WebAssembly as one Arrow IPC stream per row group, copied once
 * into a `SharedArrayBuffer` and decoded zero-copy, so every column buffer is a view of shared
 * memory that a worker pool sends without copying.
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import {
  type RecordBatch,
  type Schema as ArrowSchema,
  type Table,
  tableFromIPC,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { fileNotFound, throwIfAborted } from './file-errors.js';
import { columnChunkRanges, type FileSlice, readFileSlices } from './parquet-column-chunks.js';
import { cachedParquetFooter, footerSchema, type ParquetFooter } from './parquet-footer.js';
import { topLevelColumns } from './parquet-metadata.js';
import { parquetFileFromPiece } from './parquet-piece.js';
import { rowGroupPiece } from './parquet-row-group-piece.js';
import { callParquetWasm } from './parquet-wasm-instance.js';

/** Options of {@link readParquetRowGroups}. */
export interface ReadParquetRowGroupsOptions {
  /**
   * Top-level columns to read (in file order, whatever the order here); default all. Nested
   * columns are read whole.
   */
  columns?: readonly string[] | null;
  /** Maximum rows per batch; default 65536. Batches never span two row groups. */
  batchSize?: number;
  /**
   * The file's footer when already read; default: read, or taken from this thread's cache of
   * recently read footers (see `cachedParquetFooter`).
   */
  footer?: ParquetFooter;
  /** Stops reading between row groups. */
  signal?: AbortSignal;
}

/**
 * Reads row groups of a Parquet file as record batches whose buffers live in shared memory.
 *
 * @param path - the file
 * @param rowGroups - row group indexes, read in this order
 * @param options - see {@link ReadParquetRowGroupsOptions}
 * @returns the batches (none for row groups without rows)
 * @throws {ModelError} E_FILE_NOT_FOUND; E_FORMAT_MALFORMED naming the file and row group when
 *   its bytes do not decode; E_SCHEMA_MISMATCH when a requested column is not in the file;
 *   E_OPTION_INVALID for a row group index out of range; E_ABORTED
 */
export async function* readParquetRowGroups(
  path: string,
  rowGroups: readonly number[],
  options: ReadParquetRowGroupsOptions = {}
): AsyncGenerator<RecordBatch> {
  const batchSize = checkBatchSize(options.batchSize);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileNotFound(path, e);
  }
  try {
    const footer = options.footer ?? (await cachedParquetFooter(path, fh));
    const keep = columnFilter(path, footer, options.columns);
    for (const g of rowGroups) {
      throwIfAborted(options.signal);
      const slices = await readFileSlices(path, columnChunkRanges(footer, [g], keep), fh);
      yield* decodeRowGroup(path, footer, g, slices, keep, batchSize);
    }
  } finally {
    await fh.close();
  }
}

/** Options of {@link decodeParquetSlices}. */
export interface DecodeParquetSlicesOptions {
  /** Top-level columns to decode (in file order); default all. */
  columns?: readonly string[] | null;
  /** Maximum rows per batch; default 65536. */
  batchSize?: number;
}

/**
 * Decodes row groups from bytes already read (e.g. the slices a passthrough piece copies, so a
 * worker reads its split once for both the model's columns and the copy).
 *
 * @param path - the file (named in errors)
 * @param footer - its footer
 * @param rowGroups - row group indexes, decoded in this order
 * @param slices - bytes holding those row groups' chunks of the wanted columns
 * @param options - see {@link DecodeParquetSlicesOptions}
 * @returns the batches, buffers in shared memory (none for row groups without rows)
 * @throws {ModelError} as {@link readParquetRowGroups}; E_INTERNAL when `slices` miss a chunk
 */
export function decodeParquetSlices(
  path: string,
  footer: ParquetFooter,
  rowGroups: readonly number[],
  slices: readonly FileSlice[],
  options: DecodeParquetSlicesOptions = {}
): RecordBatch[] {
  const batchSize = checkBatchSize(options.batchSize);
  const keep = columnFilter(path, footer, options.columns);
  return rowGroups.flatMap((g) => decodeRowGroup(path, footer, g, slices, keep, batchSize));
}

/** One row group as batches: its chunks laid out as a small file, decoded by parquet-wasm. */
function decodeRowGroup(
  path: string,
  footer: ParquetFooter,
  g: number,
  slices: readonly FileSlice[],
  keep: (name: string) => boolean,
  batchSize: number
): RecordBatch[] {
  const file = parquetFileFromPiece(rowGroupPiece(footer, [g], slices, keep));
  return decodeParquet(file, batchSize, path, g).batches.filter((b) => b.numRows > 0);
}

function checkBatchSize(batchSize = 65536): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.batchSize must be a positive integer, got ${String(batchSize)}`
    );
  }
  return batchSize;
}

/**
 * The Arrow schema a reader of the file (or of some of its columns) gets: from the footer's
 * `ARROW:schema` when present, else derived from Parquet's types.
 *
 * @param path - the file (named in errors)
 * @param footer - its footer
 * @param columns - top-level columns to keep; default all
 * @returns the schema
 * @throws {ModelError} E_FORMAT_MALFORMED; E_SCHEMA_MISMATCH for an unknown column
 */
export function parquetArrowSchema(
  path: string,
  footer: ParquetFooter,
  columns?: readonly string[] | null
): ArrowSchema {
  const keep = columnFilter(path, footer, columns);
  const file = parquetFileFromPiece(rowGroupPiece(footer, [], [], keep));
  return decodeParquet(file, 1, path, undefined).schema;
}

/** The top-level column filter for `columns`, after checking they exist. */
function columnFilter(
  path: string,
  footer: ParquetFooter,
  columns: readonly string[] | null | undefined
): (name: string) => boolean {
  if (columns === null || columns === undefined) return () => true;
  const names = topLevelColumns(footerSchema(footer)).map((t) => t.name);
  const present = new Set(names);
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `${path} has no column ${missing.map((m) => JSON.stringify(m)).join(', ')} (its columns: ${names.join(', ')}).`,
      { details: { file: path, missing, columns: names } }
    );
  }
  const wanted = new Set(columns);
  return (name) => wanted.has(name);
}

/** Decodes a whole (small) Parquet file into a table over one SharedArrayBuffer. */
function decodeParquet(
  file: Uint8Array,
  batchSize: number,
  path: string,
  rowGroup: number | undefined
): Table {
  const where = rowGroup === undefined ? '' : `, row group ${rowGroup},`;
  const ipc = callParquetWasm(
    {
      code: 'E_FORMAT_MALFORMED',
      what: `${path}${where} is not valid Parquet`,
      details: { file: path, format: 'Parquet', ...(rowGroup === undefined ? {} : { rowGroup }) },
    },
    // intoIPCStream consumes the wasm table (its memory is freed by the call, even on error).
    (pq) => pq.readParquet(file, { batchSize }).intoIPCStream()
  );
  const shared = new Uint8Array(new SharedArrayBuffer(ipc.byteLength));
  shared.set(ipc);
  return tableFromIPC(shared);
}
