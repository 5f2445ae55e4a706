/**
 * Parquet PIECES: row groups encoded anywhere (usually a worker thread) and carried as plain
 * data to the one place that writes the file (`ParquetAssembler`).
 *
 * A piece is the data section of a small Parquet file plus its footer's parts: the column
 * chunk bytes, the row groups' metadata with offsets as if those bytes started right after a
 * file's `PAR1` magic (see {@link PIECE_DATA_OFFSET}), and the schema. Assembling copies the bytes and shifts the offsets; nothing is decoded or
 * re-encoded.
 *
 * `encodeParquetPiece` writes a table with parquet-wasm (arrow-rs) into a small file and cuts
 * it up. The writer is configured so that nothing the row groups reference lies outside the
 * chunks: chunk-level statistics only (page-level statistics would add column indexes after the
 * last row group) and no bloom filters. arrow-rs still writes an offset index per chunk after
 * the row groups; those references are dropped (readers treat the offset index as optional and
 * fall back to reading page headers).
 *
 * @module
 */
import { DataType, type RecordBatch, Table, tableToIPC } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { encodeFileMetaData, PAR1, parquetTrailer } from './parquet-file-metadata.js';
import { parseParquetFooter } from './parquet-footer.js';
import { FileMetaDataId, type KeyValue, keyValues, rowGroupInfo } from './parquet-metadata.js';
import { relocateRowGroup } from './parquet-relocate.js';
import { callParquetWasm, freeQuietly, type ParquetWasmModule } from './parquet-wasm-instance.js';
import { getI64, getInt, getString, getStructList, type ThriftStruct } from './thrift-compact.js';

/**
 * Row groups ready to be placed in a Parquet file. Plain data (structured-clonable): post it
 * with `transfer: pieceTransferList(piece)` to move the bytes instead of copying them.
 */
export interface ParquetPiece {
  /** The column chunks' bytes, row group after row group. */
  bytes: Uint8Array;
  /**
   * `RowGroup` structs. Their offsets are those of a file whose data section is `bytes`: the
   * first byte of `bytes` is at offset {@link PIECE_DATA_OFFSET} (4, just after the magic), so
   * offsets are never 0, which Parquet readers take for "not set".
   */
  rowGroups: ThriftStruct[];
  /** `SchemaElement` structs (root first, depth-first). */
  schema: ThriftStruct[];
  /** The footer's key/value metadata (e.g. `ARROW:schema`). */
  keyValueMetadata: KeyValue[];
  /** `ColumnOrder` structs (one per leaf column), or null when the writer wrote none. */
  columnOrders: ThriftStruct[] | null;
  /** Rows in all row groups. */
  numRows: number;
  /** `FileMetaData.version` of the writer (1 or 2). */
  version: number;
  /** `created_by` of the writer, if any. */
  createdBy: string | null;
}

/** The offset of a piece's first byte in its row groups' metadata (after the `PAR1` magic). */
export const PIECE_DATA_OFFSET = 4;

/** Compression codecs the writer offers. */
export type ParquetCompression = 'uncompressed' | 'snappy' | 'gzip' | 'brotli' | 'zstd' | 'lz4_raw';

/** Options of {@link encodeParquetPiece}. */
export interface ParquetWriteOptions {
  /** Codec of every column; default 'snappy' (what DuckDB, Spark and pandas write). */
  compression?: ParquetCompression;
  /** Maximum rows per row group; default 1,048,576 (larger tables give several row groups). */
  rowGroupSize?: number;
  /**
   * Dictionary-encode columns, except top-level floating-point ones; default true. The writer
   * gives a column's dictionary up (and writes plain pages) once it exceeds
   * {@link DICTIONARY_PAGE_LIMIT}.
   */
  dictionary?: boolean;
}

/**
 * Bytes of dictionary after which the writer falls back to plain encoding for the rest of a
 * column chunk. arrow-rs defaults to 1 MB; in WebAssembly, hashing that many distinct values is
 * what dominates encoding a high-cardinality column (122,880 distinct int64s: ~150 ms with a
 * 1 MB limit, ~15 ms with 64 KB), while low-cardinality columns (labels, categories) stay far
 * below 64 KB and keep their dictionary. Floating-point columns (a regression model's output)
 * are not dictionary-encoded at all: even up to 64 KB, hashing them costs three times the rest
 * of their encoding (122,880 float64s: ~21 ms with a dictionary, ~7 ms without, snappy).
 */
export const DICTIONARY_PAGE_LIMIT = 64 * 1024;

/** Defaults of {@link ParquetWriteOptions}. */
export const kDefaultParquetWriteOptions: Required<ParquetWriteOptions> = {
  compression: 'snappy',
  rowGroupSize: 1024 * 1024,
  dictionary: true,
};

/**
 * Encodes a table as a piece (one or more row groups), in the calling thread.
 *
 * @param table - the rows (a Table or one RecordBatch); may be empty
 * @param options - see {@link ParquetWriteOptions}
 * @returns the piece; its `bytes` own their buffer
 * @throws {ModelError} E_FORMAT_UNSUPPORTED when the writer cannot encode a column's type
 */
export function encodeParquetPiece(
  table: Table | RecordBatch,
  options: ParquetWriteOptions = {}
): ParquetPiece {
  const opts = { ...kDefaultParquetWriteOptions, ...options };
  if (!Number.isInteger(opts.rowGroupSize) || opts.rowGroupSize < 1) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.rowGroupSize must be a positive integer, got ${String(opts.rowGroupSize)}`
    );
  }
  // (Duck-typed, not instanceof: the table may come from another copy of apache-arrow.)
  const t = 'batches' in table ? table : new Table([table]);
  const floats = t.schema.fields.filter((f) => DataType.isFloat(f.type)).map((f) => f.name);
  const ipc = tableToIPC(t, 'stream');
  const file = callParquetWasm(
    {
      code: 'E_FORMAT_UNSUPPORTED',
      what: `The Parquet writer cannot encode a table of ${t.numRows} rows (${t.schema.fields
        .map((f) => `${f.name}: ${String(f.type)}`)
        .join(', ')})`,
    },
    (pq) => {
      const props = writerProperties(pq, opts, floats);
      let wasmTable;
      try {
        wasmTable = pq.Table.fromIPCStream(ipc);
      } catch (e) {
        freeQuietly(props);
        throw e;
      }
      // writeParquet takes ownership of both (wasm-bindgen frees them).
      return pq.writeParquet(wasmTable, props);
    }
  );
  return pieceFromParquet(file, 'the Parquet writer output');
}

function writerProperties(
  pq: ParquetWasmModule,
  opts: Required<ParquetWriteOptions>,
  floatColumns: readonly string[]
) {
  const codecs: Record<ParquetCompression, number> = {
    uncompressed: pq.Compression.UNCOMPRESSED,
    snappy: pq.Compression.SNAPPY,
    gzip: pq.Compression.GZIP,
    brotli: pq.Compression.BROTLI,
    zstd: pq.Compression.ZSTD,
    lz4_raw: pq.Compression.LZ4_RAW,
  };
  const codec = codecs[opts.compression];
  if (codec === undefined) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.compression must be one of ${Object.keys(codecs).join(', ')}, got ${String(opts.compression)}`
    );
  }
  // Each builder call consumes the builder and returns a new one (wasm-bindgen by value).
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(codec)
    .setStatisticsEnabled(pq.EnabledStatistics.Chunk)
    .setDictionaryEnabled(opts.dictionary)
    .setDictionaryPageSizeLimit(DICTIONARY_PAGE_LIMIT)
    .setMaxRowGroupSize(opts.rowGroupSize);
  // A column path of one part: the top-level column's name as is (dots included).
  for (const name of floatColumns) builder = builder.setColumnDictionaryEnabled(name, false);
  return builder.build();
}

/**
 * Cuts a whole Parquet file held in memory into a piece: its data section and footer parts
 * (offsets unchanged: the data section starts at {@link PIECE_DATA_OFFSET} in both). References
 * to page indexes and bloom filters that lie after the last column chunk are dropped.
 *
 * @param file - the file's bytes
 * @param name - how errors name it
 * @returns the piece; `bytes` is a view of `file`
 * @throws {ModelError} E_FORMAT_MALFORMED when `file` is not valid Parquet
 */
export function pieceFromParquet(file: Uint8Array, name = 'Parquet data'): ParquetPiece {
  const footer = parseParquetFooter(file, name);
  const md = footer.metadata;
  const rowGroups = getStructList(md, FileMetaDataId.rowGroups);
  let end = PIECE_DATA_OFFSET;
  for (const rg of rowGroups) end = Math.max(end, rowGroupInfo(rg).end);
  for (const rg of rowGroups) relocateRowGroup(rg, 0, [PIECE_DATA_OFFSET, end]);
  const columnOrders = getStructList(md, FileMetaDataId.columnOrders);
  return {
    bytes: file.subarray(PIECE_DATA_OFFSET, end),
    rowGroups,
    schema: getStructList(md, FileMetaDataId.schema),
    keyValueMetadata: keyValues(getStructList(md, FileMetaDataId.keyValueMetadata)),
    columnOrders: columnOrders.length > 0 ? columnOrders : null,
    numRows: getI64(md, FileMetaDataId.numRows) ?? 0,
    version: getInt(md, FileMetaDataId.version) ?? 1,
    createdBy: getString(md, FileMetaDataId.createdBy) ?? null,
  };
}

/**
 * A whole Parquet file made of one piece, in memory (for reading a piece back, or a few row
 * groups cut out of a larger file).
 *
 * @param piece - the piece
 * @returns `PAR1`, the piece's bytes, its footer, the footer length and `PAR1`
 */
export function parquetFileFromPiece(piece: ParquetPiece): Uint8Array {
  const footer = encodeFileMetaData(piece);
  const out = new Uint8Array(PIECE_DATA_OFFSET + piece.bytes.length + footer.length + 8);
  out.set(PAR1, 0);
  out.set(piece.bytes, PIECE_DATA_OFFSET);
  out.set(footer, PIECE_DATA_OFFSET + piece.bytes.length);
  out.set(parquetTrailer(footer.length), out.length - 8);
  return out;
}

/**
 * The buffers to transfer when posting a piece to another thread (its bytes' buffer, unless it
 * is shared memory, which is never transferred).
 *
 * @param piece - the piece
 * @returns the transfer list
 */
export function pieceTransferList(piece: ParquetPiece): ArrayBuffer[] {
  const buffer = piece.bytes.buffer;
  return buffer instanceof ArrayBuffer ? [buffer] : [];
}
