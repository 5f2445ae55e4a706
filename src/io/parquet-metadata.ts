/**
 * Parquet's footer structs as generic Thrift data: the field ids of parquet-format's
 * `parquet.thrift` that jsfunc reads or rewrites, and typed views of them.
 *
 * Everything else in a footer is kept as decoded (see `thrift-compact.ts`), so statistics,
 * encodings, logical types and fields added to the format later pass through untouched.
 *
 * @module
 */
import { ModelError } from '../errors.js';
import {
  getField,
  getI64,
  getInt,
  getList,
  getString,
  getStruct,
  getStructList,
  type ThriftStruct,
} from './thrift-compact.js';

/** Field ids of `FileMetaData`. */
export const FileMetaDataId = {
  version: 1,
  schema: 2,
  numRows: 3,
  rowGroups: 4,
  keyValueMetadata: 5,
  createdBy: 6,
  columnOrders: 7,
  encryptionAlgorithm: 8,
  footerSigningKeyMetadata: 9,
} as const;

/** Field ids of `SchemaElement`. */
export const SchemaElementId = {
  type: 1,
  typeLength: 2,
  repetitionType: 3,
  name: 4,
  numChildren: 5,
  convertedType: 6,
  scale: 7,
  precision: 8,
  fieldId: 9,
  logicalType: 10,
} as const;

/** Field ids of `RowGroup`. */
export const RowGroupId = {
  columns: 1,
  totalByteSize: 2,
  numRows: 3,
  sortingColumns: 4,
  fileOffset: 5,
  totalCompressedSize: 6,
  ordinal: 7,
} as const;

/** Field ids of `ColumnChunk`. */
export const ColumnChunkId = {
  filePath: 1,
  fileOffset: 2,
  metaData: 3,
  offsetIndexOffset: 4,
  offsetIndexLength: 5,
  columnIndexOffset: 6,
  columnIndexLength: 7,
  cryptoMetadata: 8,
  encryptedColumnMetadata: 9,
} as const;

/** Field ids of `ColumnMetaData`. */
export const ColumnMetaDataId = {
  type: 1,
  encodings: 2,
  pathInSchema: 3,
  codec: 4,
  numValues: 5,
  totalUncompressedSize: 6,
  totalCompressedSize: 7,
  keyValueMetadata: 8,
  dataPageOffset: 9,
  indexPageOffset: 10,
  dictionaryPageOffset: 11,
  statistics: 12,
  encodingStats: 13,
  bloomFilterOffset: 14,
  bloomFilterLength: 15,
  sizeStatistics: 16,
  geospatialStatistics: 17,
} as const;

/** Field ids of `KeyValue`. */
export const KeyValueId = { key: 1, value: 2 } as const;

/** Field ids of `SortingColumn`. */
export const SortingColumnId = { columnIdx: 1, descending: 2, nullsFirst: 3 } as const;

/** Parquet's physical types (`Type`), by name. */
export const PhysicalTypeNames = [
  'BOOLEAN',
  'INT32',
  'INT64',
  'INT96',
  'FLOAT',
  'DOUBLE',
  'BYTE_ARRAY',
  'FIXED_LEN_BYTE_ARRAY',
] as const;

/** Parquet's compression codecs (`CompressionCodec`), by name. */
export const CodecNames = [
  'UNCOMPRESSED',
  'SNAPPY',
  'GZIP',
  'LZO',
  'BROTLI',
  'LZ4',
  'ZSTD',
  'LZ4_RAW',
] as const;

/** A key/value pair of a footer's `key_value_metadata` (value absent when not set). */
export interface KeyValue {
  key: string;
  value?: string;
}

/** The facts of one column chunk that reading and copying need. */
export interface ColumnChunkInfo {
  /** Path of the leaf column in the schema (`path_in_schema`). */
  path: string[];
  /** First byte of the chunk (its dictionary page if any, else its first data page). */
  start: number;
  /** One past its last byte (`start + total_compressed_size`). */
  end: number;
  /** Compression codec (index into {@link CodecNames}). */
  codec: number;
  /** Physical type (index into {@link PhysicalTypeNames}). */
  type: number;
  /** Number of values (including nulls and repeated values). */
  numValues: number;
}

/** The facts of one row group. */
export interface RowGroupInfo {
  numRows: number;
  /** One entry per leaf column, in schema order. */
  columns: ColumnChunkInfo[];
  /** First byte of its first chunk. */
  start: number;
  /** One past the last byte of its last chunk. */
  end: number;
}

/**
 * The facts of one column chunk.
 *
 * @param chunk - a `ColumnChunk` struct
 * @returns its path, byte range, codec and type
 * @throws {ModelError} E_FORMAT_MALFORMED when its offsets are invalid; E_FORMAT_UNSUPPORTED
 *   when `meta_data` is missing (encrypted column metadata) or the chunk lives in another file
 */
export function columnChunkInfo(chunk: ThriftStruct): ColumnChunkInfo {
  const md = getStruct(chunk, ColumnChunkId.metaData);
  if (md === undefined || getField(chunk, ColumnChunkId.filePath) !== undefined) {
    throw new ModelError(
      'E_FORMAT_UNSUPPORTED',
      'A Parquet column chunk has no inline metadata or lives in another file (encrypted or external column chunks are not supported).'
    );
  }
  const path = (getList(md, ColumnMetaDataId.pathInSchema) ?? []).map((p) =>
    p instanceof Uint8Array ? utf8.decode(p) : String(p)
  );
  const start = chunkStart(md);
  const size = getI64(md, ColumnMetaDataId.totalCompressedSize) ?? -1;
  if (!(start >= 4) || !(size >= 0)) {
    throw new ModelError(
      'E_FORMAT_MALFORMED',
      `Parquet column chunk ${path.join('.')} has an invalid byte range (offset ${start}, size ${size}).`,
      { details: { column: path.join('.') } }
    );
  }
  return {
    path,
    start,
    end: start + size,
    codec: getInt(md, ColumnMetaDataId.codec) ?? 0,
    type: getInt(md, ColumnMetaDataId.type) ?? -1,
    numValues: getI64(md, ColumnMetaDataId.numValues) ?? 0,
  };
}

/**
 * Where a column chunk starts: its dictionary page when it has one, else its first data page.
 * Some old writers set `dictionary_page_offset` to 0 for "none", or put it after the first data
 * page; the smallest positive offset is the chunk's first byte in every case.
 */
function chunkStart(md: ThriftStruct): number {
  let start = getI64(md, ColumnMetaDataId.dataPageOffset) ?? -1;
  for (const id of [ColumnMetaDataId.dictionaryPageOffset, ColumnMetaDataId.indexPageOffset]) {
    const o = getI64(md, id);
    if (o !== undefined && o > 0 && o < start) start = o;
  }
  return start;
}

/**
 * The facts of one row group.
 *
 * @param rowGroup - a `RowGroup` struct
 * @returns its row count, chunks and byte span
 * @throws {ModelError} E_FORMAT_MALFORMED as {@link columnChunkInfo}
 */
export function rowGroupInfo(rowGroup: ThriftStruct): RowGroupInfo {
  const columns = getStructList(rowGroup, RowGroupId.columns).map(columnChunkInfo);
  let start = Infinity;
  let end = 0;
  for (const c of columns) {
    start = Math.min(start, c.start);
    end = Math.max(end, c.end);
  }
  if (columns.length === 0) start = end = 0;
  return { numRows: getI64(rowGroup, RowGroupId.numRows) ?? 0, columns, start, end };
}

/**
 * Decodes a `list<KeyValue>`.
 *
 * @param list - the KeyValue structs
 * @returns the pairs in order
 */
export function keyValues(list: readonly ThriftStruct[]): KeyValue[] {
  return list.map((kv) => {
    const key = getString(kv, KeyValueId.key) ?? '';
    const value = getString(kv, KeyValueId.value);
    return value === undefined ? { key } : { key, value };
  });
}

/** One top-level column of a schema: its elements and leaf columns. */
export interface TopLevelColumn {
  name: string;
  /** Index range `[first, last)` of its elements in the schema element list. */
  elements: [number, number];
  /** Index range `[first, last)` of its leaves among all leaf columns (column chunk order). */
  leaves: [number, number];
}

/**
 * The top-level columns of a flattened Parquet schema (the root's children).
 *
 * @param schema - the `SchemaElement` list (root first, depth-first)
 * @returns one entry per top-level column, in order
 * @throws {ModelError} E_FORMAT_MALFORMED when `num_children` does not add up
 */
export function topLevelColumns(schema: readonly ThriftStruct[]): TopLevelColumn[] {
  const root = schema[0];
  if (root === undefined) throw malformedSchema('no root element');
  const count = getInt(root, SchemaElementId.numChildren) ?? 0;
  const out: TopLevelColumn[] = [];
  let pos = 1;
  let leaf = 0;
  for (let i = 0; i < count; i++) {
    const first = pos;
    const firstLeaf = leaf;
    // Walk one subtree: `pending` counts elements still to visit.
    let pending = 1;
    while (pending > 0) {
      const el = schema[pos];
      if (el === undefined) throw malformedSchema('num_children exceeds the element list');
      const children = getInt(el, SchemaElementId.numChildren) ?? 0;
      if (children === 0) leaf++;
      pending += children - 1;
      pos++;
    }
    out.push({
      name: getString(schema[first]!, SchemaElementId.name) ?? '',
      elements: [first, pos],
      leaves: [firstLeaf, leaf],
    });
  }
  if (pos !== schema.length) throw malformedSchema('elements left over after the root');
  return out;
}

/**
 * The dotted path of every element of a flattened schema (the root's is '').
 *
 * @param schema - the `SchemaElement` list
 * @returns one path per element
 */
export function schemaPaths(schema: readonly ThriftStruct[]): string[] {
  const paths: string[] = [''];
  const stack: { prefix: string; left: number }[] = [
    { prefix: '', left: getInt(schema[0] ?? { fields: [] }, SchemaElementId.numChildren) ?? 0 },
  ];
  for (let i = 1; i < schema.length; i++) {
    while (stack.length > 0 && stack[stack.length - 1]!.left === 0) stack.pop();
    const top = stack[stack.length - 1];
    const name = getString(schema[i]!, SchemaElementId.name) ?? '';
    const path = top === undefined || top.prefix === '' ? name : `${top.prefix}.${name}`;
    paths.push(path);
    if (top !== undefined) top.left--;
    const children = getInt(schema[i]!, SchemaElementId.numChildren) ?? 0;
    if (children > 0) stack.push({ prefix: path, left: children });
  }
  return paths;
}

const REPETITION = ['required', 'optional', 'repeated'];

/**
 * A short description of a schema element for error messages (physical and logical type,
 * repetition).
 *
 * @param el - a `SchemaElement`, or undefined for a missing column
 * @returns e.g. `optional INT64 (converted type 18)` or `absent`
 */
export function describeSchemaElement(el: ThriftStruct | undefined): string {
  if (el === undefined) return 'absent';
  const parts: string[] = [];
  const rep = getInt(el, SchemaElementId.repetitionType);
  if (rep !== undefined) parts.push(REPETITION[rep] ?? `repetition ${rep}`);
  const type = getInt(el, SchemaElementId.type);
  const children = getInt(el, SchemaElementId.numChildren);
  if (type !== undefined) parts.push(PhysicalTypeNames[type] ?? `type ${type}`);
  else parts.push(`group of ${children ?? 0}`);
  const len = getInt(el, SchemaElementId.typeLength);
  if (len !== undefined) parts.push(`length ${len}`);
  const conv = getInt(el, SchemaElementId.convertedType);
  if (conv !== undefined) parts.push(`converted type ${conv}`);
  const scale = getInt(el, SchemaElementId.scale);
  const precision = getInt(el, SchemaElementId.precision);
  if (precision !== undefined) parts.push(`decimal(${precision}, ${scale ?? 0})`);
  const logical = getStruct(el, SchemaElementId.logicalType);
  if (logical !== undefined) parts.push(`logical type ${logical.fields[0]?.id ?? '?'}`);
  return parts.join(' ');
}

function malformedSchema(why: string): ModelError {
  return new ModelError('E_FORMAT_MALFORMED', `Parquet schema is malformed: ${why}.`);
}

const utf8 = new TextDecoder();
