/**
 * What a batch's model input is made of, whichever thread scores it: only the columns the
 * mapping reads (so a wide table does not copy unused columns into shared memory), and the
 * check that a result does not share memory with that input.
 *
 * @module
 */
import type { Data, Table, Vector } from 'apache-arrow';
import { arrowTypeFor } from '../signature/arrow-types.js';
import type { ColSpec, Schema } from '../signature/types.js';
import type { ColumnMapping } from './column-mapping.js';

/**
 * The columns of `table` that `mapping` reads, in table order (zero-copy). `applyMapping` then
 * finds each source by name exactly as it would in the whole table (the first column of that
 * name), so the model's input does not change.
 *
 * @param table - a batch
 * @param mapping - from `resolveColumns`
 * @returns `table` itself when it has no other column, else the projection
 */
export function mappedColumns(table: Table, mapping: ColumnMapping): Table {
  const sources = new Set(
    mapping.kind === 'columns' ? mapping.pairs.map((p) => p.source) : [mapping.source]
  );
  const keep: number[] = [];
  const seen = new Set<string>();
  table.schema.fields.forEach((f, i) => {
    if (sources.has(f.name) && !seen.has(f.name)) keep.push(i);
    seen.add(f.name);
  });
  return keep.length === table.schema.fields.length ? table : table.selectAt(keep);
}

/**
 * Calls `visit` with every buffer view under `data` (values, offsets, validity, type ids),
 * children included, and dictionaries when asked.
 */
function eachView(data: Data, visit: (view: ArrayBufferView) => void, dictionaries: boolean): void {
  for (const view of [data.values, data.valueOffsets, data.nullBitmap, data.typeIds] as unknown[]) {
    if (ArrayBuffer.isView(view)) visit(view);
  }
  for (const child of data.children) eachView(child, visit, dictionaries);
  if (!dictionaries) return;
  const dictionary = (data as { dictionary?: Vector }).dictionary;
  for (const d of dictionary?.data ?? []) eachView(d, visit, dictionaries);
}

/**
 * True when `vector` shares memory with `table` (a model that returned an input column, or a
 * view of one, as its output).
 *
 * @param vector - a result
 * @param table - the batch it was computed from
 * @returns whether any buffer of the one lives in a memory region of the other
 */
export function sharesMemory(vector: Vector, table: Table): boolean {
  const input = new Set<ArrayBufferLike>();
  for (const batch of table.batches) eachView(batch.data, (v) => input.add(v.buffer), true);
  const output = new Set<ArrayBufferLike>();
  for (const d of vector.data) eachView(d, (v) => output.add(v.buffer), true);
  for (const b of output) if (input.has(b)) return true;
  return false;
}

/**
 * Bytes per row of `table`'s columns, as they sit in memory (dictionaries not counted): what a
 * batch of its rows weighs, whether or not moving it would copy anything.
 *
 * @param table - the rows (typically `mappedColumns` of a call's input)
 * @returns average bytes per row; 0 for an empty table
 */
export function bytesPerRow(table: Table): number {
  if (table.numRows === 0) return 0;
  let n = 0;
  for (const batch of table.batches) eachView(batch.data, (v) => (n += v.byteLength), false);
  return n / table.numRows;
}

/** Signature types enforcement passes through whatever the column (`enforceValue`). */
const kUncopied = new Set(['any', 'sparkml_vector']);
/** Nested signature types, whose columns enforcement may rebuild. */
const kRebuilt = new Set(['array', 'object', 'map']);

/**
 * Bytes per row that enforcement copies when it scores `table`: the columns of a primitive
 * signature type whose Arrow type is not the one that type maps to (`arrowTypeFor`), which it
 * casts into new columns. A column already of that type passes through uncopied, as does one
 * typed `any` or `sparkml_vector`, and without a signature nothing is enforced. Every column
 * counts where this cannot tell: a struct input, a tensor signature, arrays, objects and maps
 * (which enforcement may rebuild).
 *
 * @param table - the rows the model reads (`mappedColumns` of a call's input)
 * @param mapping - from `resolveColumns`
 * @param schema - the model's input signature, or null
 * @returns average bytes per row; 0 for an empty table
 */
export function castBytesPerRow(
  table: Table,
  mapping: ColumnMapping,
  schema: Schema | null
): number {
  if (table.numRows === 0 || schema === null || schema.length === 0) return 0;
  if (mapping.kind !== 'columns' || schema[0]!.kind !== 'column') return bytesPerRow(table);
  const specs = schema as ColSpec[];
  let n = 0;
  mapping.pairs.forEach((pair, i) => {
    const column = table.getChild(pair.source);
    if (column === null) return;
    const spec =
      specs.find((s) => s.name === pair.target) ??
      (specs[i]?.name === undefined ? specs[i] : undefined);
    if (spec !== undefined && kUncopied.has(spec.type.type)) return;
    const target =
      spec === undefined || kRebuilt.has(spec.type.type) ? null : arrowTypeFor(spec.type);
    if (target !== null && String(column.type) === String(target)) return;
    for (const d of column.data) eachView(d, (v) => (n += v.byteLength), false);
  });
  return n / table.numRows;
}

/**
 * Most bytes enforcement may copy for one merged batch on the calling thread (see
 * {@link callerMergeRows}).
 */
export const kCallerMergeBytes = 128 * 2 ** 20;

/**
 * How many rows consecutive tasks may be merged into on the calling thread: `callerBatchSize`
 * (no limit by default), and at most about {@link kCallerMergeBytes} of columns that
 * enforcement casts, because a cast copies a batch's column: a wide table of the wrong types
 * merged into million-row batches would need gigabytes for that where tasks of `batchSize` rows
 * needed megabytes. Columns that pass through uncopied do not count: scoring a call in one
 * batch then costs what the model's own `predict` on the whole table costs, where two batches
 * also cost a copy of their results into one array (4-14% of a 2M-row call of the linear model;
 * issue 9).
 *
 * @param callerBatchSize - the option
 * @param copiedBytesPerRow - bytes per row a merged batch copies ({@link castBytesPerRow}); or,
 *   for tasks of input already in shared memory, {@link bytesPerRow} of that input
 * @returns the merge cap in rows (at least 1)
 */
export function callerMergeRows(callerBatchSize: number, copiedBytesPerRow: number): number {
  if (!(copiedBytesPerRow > 0)) return callerBatchSize;
  return Math.max(1, Math.min(callerBatchSize, Math.floor(kCallerMergeBytes / copiedBytesPerRow)));
}
