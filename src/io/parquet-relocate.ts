/**
 * Moving column chunks: rewriting the file offsets inside `RowGroup` / `ColumnChunk` /
 * `ColumnMetaData` structs when their bytes are copied to another place.
 *
 * Offsets that point into a chunk's own pages (`data_page_offset`, `dictionary_page_offset`,
 * `index_page_offset`) move with it. `ColumnChunk.file_offset` is deprecated and used
 * inconsistently (arrow-rs and DuckDB write 0, older writers the first page or the end of the
 * chunk); it moves with the chunk unless it is 0, which means "not set". Page indexes (column
 * index, offset index) and bloom filters live OUTSIDE the chunk (between the last row group and
 * the footer): they move too when the caller copies them along, else the references are
 * removed, since a reader following them would read unrelated bytes.
 *
 * @module
 */
import {
  ColumnChunkId,
  columnChunkInfo,
  ColumnMetaDataId,
  RowGroupId,
} from './parquet-metadata.js';
import {
  deleteFields,
  getField,
  getI64,
  getInt,
  getStruct,
  getStructList,
  setField,
  shiftI64,
  ThriftType,
  type ThriftStruct,
} from './thrift-compact.js';

/**
 * A byte range `[start, end)`: references to page indexes and bloom filters inside it are kept
 * (and shifted); those outside it are dropped.
 */
export type KeptRange = readonly [number, number];

/**
 * Shifts every offset of one column chunk by `delta`, in place.
 *
 * @param chunk - a `ColumnChunk` struct (modified)
 * @param delta - bytes to add (negative to move towards the file start)
 * @param kept - side structures (page indexes, bloom filter) inside this range move along;
 *   others are dropped. Default: drop them all.
 */
export function relocateColumnChunk(
  chunk: ThriftStruct,
  delta: number,
  kept: KeptRange = [0, 0]
): void {
  const fileOffset = getField(chunk, ColumnChunkId.fileOffset);
  if (typeof fileOffset?.value === 'bigint' && fileOffset.value !== 0n) {
    fileOffset.value += BigInt(delta);
  }
  relocateSide(
    chunk,
    ColumnChunkId.offsetIndexOffset,
    ColumnChunkId.offsetIndexLength,
    delta,
    kept
  );
  relocateSide(
    chunk,
    ColumnChunkId.columnIndexOffset,
    ColumnChunkId.columnIndexLength,
    delta,
    kept
  );
  const md = getStruct(chunk, ColumnChunkId.metaData);
  if (md === undefined) return;
  shiftI64(md, ColumnMetaDataId.dataPageOffset, delta);
  const dict = getI64(md, ColumnMetaDataId.dictionaryPageOffset);
  // 0 is some old writers' "no dictionary": leave it, readers treat it as absent.
  if (dict !== undefined && dict > 0) shiftI64(md, ColumnMetaDataId.dictionaryPageOffset, delta);
  const index = getI64(md, ColumnMetaDataId.indexPageOffset);
  if (index !== undefined && index > 0) shiftI64(md, ColumnMetaDataId.indexPageOffset, delta);
  relocateSide(
    md,
    ColumnMetaDataId.bloomFilterOffset,
    ColumnMetaDataId.bloomFilterLength,
    delta,
    kept
  );
}

/** Keeps and shifts, or drops, an (offset, length) pair pointing outside the chunk. */
function relocateSide(
  s: ThriftStruct,
  offsetId: number,
  lengthId: number,
  delta: number,
  kept: KeptRange
): void {
  const offset = getI64(s, offsetId);
  if (offset === undefined) return;
  const length = getInt(s, lengthId);
  // A bloom filter's length is optional (readers then read a header first): require only that
  // the start lies inside the kept range when it is absent.
  const end = offset + (length ?? 1);
  if (offset >= kept[0] && end <= kept[1]) shiftI64(s, offsetId, delta);
  else deleteFields(s, offsetId, lengthId);
}

/**
 * Shifts every offset of a row group (its chunks' and its own `file_offset`) by `delta`, in
 * place.
 *
 * @param rowGroup - a `RowGroup` struct (modified)
 * @param delta - bytes to add
 * @param kept - see {@link relocateColumnChunk}
 */
export function relocateRowGroup(rowGroup: ThriftStruct, delta: number, kept?: KeptRange): void {
  const chunks = getStructList(rowGroup, RowGroupId.columns);
  for (const chunk of chunks) relocateColumnChunk(chunk, delta, kept);
  // `file_offset` is the first page of the row group, i.e. the start of its first chunk. It is
  // recomputed rather than shifted: some writers leave it 0, which a shift would turn into a
  // plausible-looking wrong offset.
  const fileOffset = getField(rowGroup, RowGroupId.fileOffset);
  if (fileOffset !== undefined && chunks[0] !== undefined) {
    fileOffset.value = BigInt(columnChunkInfo(chunks[0]).start);
  }
}

/**
 * Sets a row group's `ordinal` (its index in the file; an i16, so omitted past 32767).
 *
 * @param rowGroup - a `RowGroup` struct (modified)
 * @param ordinal - its index in the output file
 */
export function setRowGroupOrdinal(rowGroup: ThriftStruct, ordinal: number): void {
  if (ordinal <= 32767) setField(rowGroup, RowGroupId.ordinal, ThriftType.I16, ordinal);
  else deleteFields(rowGroup, RowGroupId.ordinal);
}
