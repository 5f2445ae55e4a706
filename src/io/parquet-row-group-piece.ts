/**
 * A piece cut out of an existing Parquet file: some of its row groups, and optionally only some
 * of its top-level columns, with their column chunks copied byte for byte.
 *
 * The schema, the column orders and the `ARROW:schema` metadata are pruned to the kept columns,
 * and each row group's `sorting_columns` is renumbered (cut at the first dropped column, since a
 * sort order on columns (a, b, c) without b says nothing about c).
 *
 * @module
 */
import { ModelError } from '../errors.js';
import { ARROW_SCHEMA_KEY, rewriteArrowSchemaValue } from './parquet-arrow-schema.js';
import { type FileSlice, sliceHolding } from './parquet-column-chunks.js';
import {
  footerKeyValueMetadata,
  footerRowGroupStructs,
  footerSchema,
  type ParquetFooter,
} from './parquet-footer.js';
import {
  columnChunkInfo,
  FileMetaDataId,
  type KeyValue,
  RowGroupId,
  SchemaElementId,
  SortingColumnId,
  topLevelColumns,
} from './parquet-metadata.js';
import type { ParquetPiece } from './parquet-piece.js';
import { buildPiece, type RowGroupSource } from './parquet-piece-builder.js';
import {
  deleteFields,
  getI64,
  getInt,
  getString,
  getStructList,
  setField,
  ThriftType,
  type ThriftStruct,
} from './thrift-compact.js';

/** Row groups and columns chosen from a file, ready to be copied (see {@link buildPiece}). */
export interface RowGroupSelection {
  rowGroups: RowGroupSource[];
  rest: Omit<ParquetPiece, 'bytes' | 'rowGroups' | 'numRows'>;
  /** Names of the kept top-level columns, in order. */
  columns: string[];
}

/**
 * Chooses row groups and top-level columns of a file.
 *
 * @param footer - the file's footer
 * @param rowGroups - row group indexes, in the order they go into the piece
 * @param slices - bytes of the file that hold those chunks (see `columnChunkRanges`)
 * @param keep - which top-level columns stay; default all
 * @returns the selection
 * @throws {ModelError} E_OPTION_INVALID for a row group out of range; E_FORMAT_MALFORMED when
 *   a row group's chunks do not match the schema; E_INTERNAL when `slices` miss a chunk
 */
export function selectRowGroups(
  footer: ParquetFooter,
  rowGroups: readonly number[],
  slices: readonly FileSlice[],
  keep: (name: string) => boolean = () => true
): RowGroupSelection {
  const schema = footerSchema(footer);
  const tops = topLevelColumns(schema);
  const kept = tops.filter((t) => keep(t.name));
  const all = kept.length === tops.length;
  // Old leaf index -> new leaf index (or -1 when dropped).
  const leafCount = tops.length === 0 ? 0 : tops[tops.length - 1]!.leaves[1];
  const leafMap = new Array<number>(leafCount).fill(-1);
  let next = 0;
  for (const t of kept) for (let l = t.leaves[0]; l < t.leaves[1]; l++) leafMap[l] = next++;

  const structs = footerRowGroupStructs(footer);
  const sources: RowGroupSource[] = rowGroups.map((g) => {
    const rg = structs[g];
    if (rg === undefined) {
      throw new ModelError(
        'E_OPTION_INVALID',
        `rowGroups must hold row group indexes of the file (0 to ${structs.length - 1}), got ${g}`,
        { details: { rowGroup: g, count: structs.length } }
      );
    }
    const chunks = getStructList(rg, RowGroupId.columns);
    if (chunks.length !== leafCount) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `Parquet row group ${g} has ${chunks.length} column chunks but the schema has ${leafCount} leaf columns.`,
        { details: { rowGroup: g } }
      );
    }
    const template = all ? rg : renumberSorting(rg, leafMap);
    return {
      template,
      chunks: chunks
        .filter((_, l) => leafMap[l]! >= 0)
        .map((chunk) => {
          const { start, end } = columnChunkInfo(chunk);
          const slice = sliceHolding(slices, start, end);
          return { chunk, bytes: slice.bytes, bytesOffset: slice.start };
        }),
    };
  });

  const root = structuredClone(schema[0]!);
  setField(root, SchemaElementId.numChildren, ThriftType.I32, kept.length);
  const elements = [root, ...kept.flatMap((t) => schema.slice(t.elements[0], t.elements[1]))];
  const orders = getStructList(footer.metadata, FileMetaDataId.columnOrders);
  return {
    rowGroups: sources,
    rest: {
      schema: elements,
      keyValueMetadata: all
        ? footerKeyValueMetadata(footer)
        : pruneKeyValues(footerKeyValueMetadata(footer), keep),
      columnOrders:
        orders.length === leafCount && leafCount > 0
          ? orders.filter((_, l) => leafMap[l]! >= 0)
          : null,
      version: getInt(footer.metadata, FileMetaDataId.version) ?? 1,
      createdBy: getString(footer.metadata, FileMetaDataId.createdBy) ?? null,
    },
    columns: kept.map((t) => t.name),
  };
}

/**
 * A piece holding some row groups (and top-level columns) of a file, its chunks copied byte for
 * byte into one new buffer.
 *
 * @param footer - the file's footer
 * @param rowGroups - row group indexes, in the order they go into the piece
 * @param slices - bytes of the file that hold those chunks (see `columnChunkRanges`)
 * @param keep - which top-level columns stay; default all
 * @returns the piece
 * @throws {ModelError} as {@link selectRowGroups}
 */
export function rowGroupPiece(
  footer: ParquetFooter,
  rowGroups: readonly number[],
  slices: readonly FileSlice[],
  keep?: (name: string) => boolean
): ParquetPiece {
  const selection = selectRowGroups(footer, rowGroups, slices, keep);
  return buildPiece(selection.rowGroups, selection.rest);
}

/** A copy of `rg` whose `sorting_columns` refer to the new leaf indexes. */
function renumberSorting(rg: ThriftStruct, leafMap: readonly number[]): ThriftStruct {
  const sorting = getStructList(rg, RowGroupId.sortingColumns);
  if (sorting.length === 0) return rg;
  const out: ThriftStruct = { fields: [...rg.fields] };
  const kept: ThriftStruct[] = [];
  for (const s of sorting) {
    const to = leafMap[getInt(s, SortingColumnId.columnIdx) ?? -1] ?? -1;
    if (to < 0) break;
    const copy = structuredClone(s);
    setField(copy, SortingColumnId.columnIdx, ThriftType.I32, to);
    kept.push(copy);
  }
  if (kept.length === 0) deleteFields(out, RowGroupId.sortingColumns);
  else {
    setField(out, RowGroupId.sortingColumns, ThriftType.LIST, {
      elementType: ThriftType.STRUCT,
      items: kept,
    });
  }
  return out;
}

/**
 * Key/value metadata for a file with only the kept columns: `ARROW:schema` is pruned to them
 * (or dropped when it cannot be decoded; readers then use Parquet's own types).
 *
 * @param kvs - the original pairs
 * @param keep - which top-level columns stay
 * @param append - Arrow fields added after the kept ones
 * @returns the new pairs
 */
export function pruneKeyValues(
  kvs: readonly KeyValue[],
  keep: (name: string) => boolean,
  append: Parameters<typeof rewriteArrowSchemaValue>[2] = []
): KeyValue[] {
  const out: KeyValue[] = [];
  for (const kv of kvs) {
    if (kv.key !== ARROW_SCHEMA_KEY || kv.value === undefined) {
      out.push(kv);
      continue;
    }
    const value = rewriteArrowSchemaValue(kv.value, keep, append);
    if (value !== null) out.push({ key: kv.key, value });
  }
  return out;
}

/**
 * Rows in the given row groups of a file.
 *
 * @param footer - the file's footer
 * @param rowGroups - row group indexes
 * @returns the sum of their `num_rows`
 */
export function rowGroupRows(footer: ParquetFooter, rowGroups: readonly number[]): number {
  const structs = footerRowGroupStructs(footer);
  let n = 0;
  for (const g of rowGroups) n += getI64(structs[g] ?? { fields: [] }, RowGroupId.numRows) ?? 0;
  return n;
}
