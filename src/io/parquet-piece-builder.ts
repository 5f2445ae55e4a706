/**
 * Building a piece from column chunks that already exist (cut out of an input file, or out of
 * another piece): one copy of their bytes into a fresh buffer, row group after row group, and
 * their offsets moved to match. Nothing is decoded.
 *
 * @module
 */
import {
  ColumnChunkId,
  ColumnMetaDataId,
  columnChunkInfo,
  RowGroupId,
} from './parquet-metadata.js';
import { PIECE_DATA_OFFSET, type ParquetPiece } from './parquet-piece.js';
import { relocateColumnChunk } from './parquet-relocate.js';
import {
  getField,
  getI64,
  getStruct,
  setField,
  ThriftType,
  type ThriftStruct,
} from './thrift-compact.js';

/** One column chunk to place: its `ColumnChunk` struct and where its bytes are. */
export interface ChunkSource {
  /** The struct (cloned before it is changed). */
  chunk: ThriftStruct;
  /** Bytes that hold the chunk. */
  bytes: Uint8Array;
  /** The offset (in the struct's coordinates) of `bytes[0]`. */
  bytesOffset: number;
}

/** One row group to place. */
export interface RowGroupSource {
  /** A `RowGroup` struct whose other fields (sorting columns, unknown fields) are kept. */
  template: ThriftStruct;
  /** Its chunks, in schema order. */
  chunks: ChunkSource[];
}

/**
 * Copies the chunks of `rowGroups` into one buffer and returns the piece they form. Each output
 * row group's `columns`, `total_byte_size`, `total_compressed_size` and `file_offset` are
 * recomputed; references to page indexes and bloom filters are dropped (they are not copied).
 *
 * @param rowGroups - the row groups in output order
 * @param rest - the piece's schema and footer fields
 * @returns the piece; `bytes` owns its buffer
 */
export function buildPiece(
  rowGroups: readonly RowGroupSource[],
  rest: Omit<ParquetPiece, 'bytes' | 'rowGroups' | 'numRows'>
): ParquetPiece {
  const ranges = rowGroups.map((rg) => rg.chunks.map((c) => columnChunkInfo(c.chunk)));
  let total = 0;
  for (const rg of ranges) for (const c of rg) total += c.end - c.start;
  const bytes = new Uint8Array(total);
  let pos = 0;
  let numRows = 0;
  const out: ThriftStruct[] = [];
  rowGroups.forEach((source, g) => {
    const rgStart = pos;
    let uncompressed = 0;
    const chunks = source.chunks.map((c, i) => {
      const info = ranges[g]![i]!;
      const from = info.start - c.bytesOffset;
      bytes.set(c.bytes.subarray(from, from + info.end - info.start), pos);
      const chunk = structuredClone(c.chunk);
      relocateColumnChunk(chunk, PIECE_DATA_OFFSET + pos - info.start);
      pos += info.end - info.start;
      const md = getStruct(chunk, ColumnChunkId.metaData);
      uncompressed += (md && getI64(md, ColumnMetaDataId.totalUncompressedSize)) ?? 0;
      return chunk;
    });
    const rg: ThriftStruct = structuredClone({
      fields: source.template.fields.filter((f) => f.id !== RowGroupId.columns),
    });
    setField(rg, RowGroupId.columns, ThriftType.LIST, {
      elementType: ThriftType.STRUCT,
      items: chunks,
    });
    setField(rg, RowGroupId.totalByteSize, ThriftType.I64, BigInt(uncompressed));
    if (getField(rg, RowGroupId.totalCompressedSize) !== undefined) {
      setField(rg, RowGroupId.totalCompressedSize, ThriftType.I64, BigInt(pos - rgStart));
    }
    if (getField(rg, RowGroupId.fileOffset) !== undefined) {
      setField(rg, RowGroupId.fileOffset, ThriftType.I64, BigInt(PIECE_DATA_OFFSET + rgStart));
    }
    numRows += getI64(rg, RowGroupId.numRows) ?? 0;
    out.push(rg);
  });
  return { ...rest, bytes, rowGroups: out, numRows };
}
