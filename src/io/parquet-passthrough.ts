/**
 * PASSTHROUGH pieces: an input file's row groups copied byte for byte, with new columns (a
 * model's predictions) appended to each row group. Only the new columns are encoded, so
 * scoring Parquet into Parquet costs a copy of the input plus the encoding of the output.
 *
 * Each input row group becomes one output row group: the input's column chunks (offsets
 * rebased, page index and bloom filter references dropped since those structures are not
 * copied), followed by the extra columns' chunks, encoded from the rows of that row group. An
 * input column whose top-level name equals an extra column's is dropped: the extra column
 * replaces it. Row groups without rows are skipped (they hold nothing, and the writer cannot
 * produce an empty row group for the extra columns).
 *
 * Schema: the input's elements (minus dropped columns), then the extra columns' elements. When
 * the input footer carries `ARROW:schema`, it is rewritten the same way (dropped fields removed,
 * the extra fields appended), so Arrow readers keep the input's exact Arrow types; when it does
 * not, none is written and readers derive all types from Parquet's (as they did for the input).
 *
 * @module
 */
import { type RecordBatch, Table } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { columnChunkRanges, type FileSlice, readFileSlices } from './parquet-column-chunks.js';
import {
  cachedParquetFooter,
  footerKeyValueMetadata,
  footerRowGroupStructs,
  type ParquetFooter,
} from './parquet-footer.js';
import { RowGroupId, SchemaElementId } from './parquet-metadata.js';
import {
  encodeParquetPiece,
  PIECE_DATA_OFFSET,
  type ParquetPiece,
  type ParquetWriteOptions,
} from './parquet-piece.js';
import { buildPiece, type RowGroupSource } from './parquet-piece-builder.js';
import { pruneKeyValues, selectRowGroups } from './parquet-row-group-piece.js';
import {
  getI64,
  getInt,
  getStructList,
  setField,
  ThriftType,
  type ThriftStruct,
} from './thrift-compact.js';

/** The input side of a passthrough piece. */
export interface PassthroughInput {
  /** The input file's footer. */
  footer: ParquetFooter;
  /** Its row groups to copy, in output order. */
  rowGroups: readonly number[];
  /**
   * Bytes of the input that hold those row groups' chunks: e.g.
   * `readFileSlices(path, columnChunkRanges(footer, rowGroups))`.
   */
  slices: readonly FileSlice[];
}

/**
 * Reads what {@link passthroughPiece} copies: the footer (from this thread's cache unless
 * given) and, with positional reads, the byte span of the row groups' chunks.
 *
 * @param path - the input file
 * @param rowGroups - its row groups to copy, in output order
 * @param footer - its footer when already known
 * @returns the input side of a passthrough piece (decode the model's columns from its `slices`
 *   with `decodeParquetSlices` instead of reading them again)
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_MALFORMED, E_OPTION_INVALID
 */
export async function readPassthroughInput(
  path: string,
  rowGroups: readonly number[],
  footer?: ParquetFooter
): Promise<PassthroughInput> {
  const f = footer ?? (await cachedParquetFooter(path));
  const slices = await readFileSlices(path, columnChunkRanges(f, rowGroups));
  return { footer: f, rowGroups, slices };
}

/**
 * Builds one piece from input row groups plus extra columns.
 *
 * @param input - the input row groups and their bytes
 * @param extra - the extra columns for all rows of those row groups, in order (rows of row
 *   group `rowGroups[0]` first); one or more columns
 * @param options - writer options for the extra columns (codec, dictionary); `rowGroupSize`
 *   is ignored (each input row group gives exactly one)
 * @returns the piece
 * @throws {ModelError} E_INTERNAL when `extra` does not have one row per input row;
 *   E_FORMAT_UNSUPPORTED when an extra column's type cannot be written; the errors of
 *   `selectRowGroups`
 */
export function passthroughPiece(
  input: PassthroughInput,
  extra: Table | RecordBatch,
  options: ParquetWriteOptions = {}
): ParquetPiece {
  const table = 'batches' in extra ? extra : new Table([extra]);
  const extraNames = new Set(table.schema.fields.map((f) => f.name));
  const keep = (name: string): boolean => !extraNames.has(name);
  const selection = selectRowGroups(input.footer, input.rowGroups, input.slices, keep);

  const structs = footerRowGroupStructs(input.footer);
  const counts = input.rowGroups.map((g) => getI64(structs[g]!, RowGroupId.numRows) ?? 0);
  const total = counts.reduce((a, b) => a + b, 0);
  if (table.numRows !== total) {
    throw new ModelError(
      'E_INTERNAL',
      `Passthrough needs one extra row per input row: the row groups hold ${total} rows, the extra columns ${table.numRows}.`,
      { details: { rows: total, extraRows: table.numRows } }
    );
  }

  const rowGroups: RowGroupSource[] = [];
  let extraPiece: ParquetPiece | null = null;
  let offset = 0;
  selection.rowGroups.forEach((source, i) => {
    const n = counts[i]!;
    const rows = table.slice(offset, offset + n);
    offset += n;
    if (n === 0) return;
    const piece = encodeParquetPiece(rows, { ...options, rowGroupSize: n });
    extraPiece ??= piece;
    const rg = piece.rowGroups[0];
    if (piece.rowGroups.length !== 1 || rg === undefined) {
      throw new ModelError(
        'E_INTERNAL',
        `The Parquet writer produced ${piece.rowGroups.length} row groups for ${n} rows.`
      );
    }
    const extraChunks = getStructList(rg, RowGroupId.columns).map((chunk) => ({
      chunk,
      bytes: piece.bytes,
      bytesOffset: PIECE_DATA_OFFSET,
    }));
    rowGroups.push({ template: source.template, chunks: [...source.chunks, ...extraChunks] });
  });
  // Without any row, the extra columns' schema still comes from the writer.
  const extraParts = extraPiece ?? encodeParquetPiece(table.slice(0, 0), options);

  const schema = [...selection.rest.schema];
  const root = structuredClone(schema[0]!);
  const children = (s: ThriftStruct) => getInt(s, SchemaElementId.numChildren) ?? 0;
  setField(
    root,
    SchemaElementId.numChildren,
    ThriftType.I32,
    children(root) + children(extraParts.schema[0]!)
  );
  schema[0] = root;
  schema.push(...extraParts.schema.slice(1));

  const orders = selection.rest.columnOrders;
  return buildPiece(rowGroups, {
    ...selection.rest,
    schema,
    keyValueMetadata: pruneKeyValues(
      footerKeyValueMetadata(input.footer),
      keep,
      table.schema.fields
    ),
    columnOrders:
      orders !== null && extraParts.columnOrders !== null
        ? [...orders, ...extraParts.columnOrders]
        : null,
  });
}
