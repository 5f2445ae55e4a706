/**
 * A task of a call: a range of the call's rows, its table cut from the call's mapped input
 * only when it is scored on its own, and where its result goes.
 *
 * @module
 */
import type { Table } from 'apache-arrow';
import type { ColumnMapping } from './column-mapping.js';
import type { TaskShape } from './placement-model.js';
import type { ResultAssembler } from './result-assembler.js';

/** Where a task's rows sit in the call's input (for error details and ordering). */
export interface TaskPosition {
  /** 0-based index of the task in the call. */
  batchIndex: number;
  /** Index of the task's first row in the whole input. */
  rowStart: number;
  /** One past its last row. */
  rowEnd: number;
}

/** One task: rows [rowStart, rowEnd) of the call's input. */
export interface Slice extends TaskPosition {
  /**
   * A table holding the slice's rows: its row 0 is row `sourceStart` of the call's input. The
   * slice's own table is cut from it only when the slice is scored on its own ({@link
   * tableOf}): a call of 2M rows in 32 tasks merged into one batch on the calling thread spent
   * 1.6 ms per call slicing 32 tables it never used (apache-arrow's `slice` rebuilds schema and
   * record batches), most of what jsfunc added on that thread (issue 9).
   */
  source: Table;
  sourceStart: number;
  /** The slice's rows of `source`, once cut. */
  table?: Table;
  mapping: ColumnMapping;
  /**
   * What auto decides every task of the call for, when the whole call's input was planned once
   * (`apply`, `withColumn`): the call's first task (its largest), the bytes moving it copies,
   * and whether the call's result is assembled on the calling thread too. The decision then
   * needs no plan of its own, a slice scored on the calling thread is never planned, and a call
   * whose tasks shrink towards the end (`planTaskSizes`) is not placed differently task by task
   * (the per-task trip weighs more on a small task). Undefined (a stream's batch): plan the
   * slice and decide for its own size.
   */
  shape?: TaskShape;
  /**
   * A merged batch for the calling thread (`callerBatchSize`): the planned slices it spans,
   * scored one by one when the merged batch fails or does not run on this thread.
   */
  parts?: Slice[];
  /**
   * The call's result and this slice's first row in it (`apply`, `withColumn` with a
   * fixed-width numeric result, more than one slice): a worker writes the result into a
   * result slab, and it is copied from there straight to its place as the reply arrives.
   */
  target?: ResultTarget;
}

/** Where a slice's result goes: its first row in its call's result (`ResultAssembler.write`). */
export interface ResultTarget {
  result: ResultAssembler;
  at: number;
}

/**
 * The slice spanning `parts` (consecutive slices of one source), for the calling thread.
 *
 * @param parts - consecutive slices, at least one
 * @returns one slice over their rows, with the parts kept
 */
export function mergedSlice(parts: Slice[]): Slice {
  // Not the first part's cut table, if it has one: the merged rows are cut for themselves.
  return { ...parts[0]!, table: undefined, rowEnd: parts[parts.length - 1]!.rowEnd, parts };
}

/**
 * A slice's rows as a table of their own: `source` itself when it is exactly those rows, else
 * a zero-copy slice of it, cut once.
 */
export function tableOf(slice: Slice): Table {
  if (slice.table !== undefined) return slice.table;
  const start = slice.rowStart - slice.sourceStart;
  const end = slice.rowEnd - slice.sourceStart;
  slice.table =
    start === 0 && end === slice.source.numRows ? slice.source : slice.source.slice(start, end);
  return slice.table;
}

/**
 * The call's tasks: one per planned size (`planTaskSizes`), in order, each cut from `table`
 * when it is scored on its own ({@link tableOf}).
 */
export function slicesOf(table: Table, mapping: ColumnMapping, sizes: readonly number[]): Slice[] {
  const slices: Slice[] = [];
  let rowStart = 0;
  for (const size of sizes) {
    const rowEnd = rowStart + size;
    slices.push({
      source: table,
      sourceStart: 0,
      mapping,
      batchIndex: slices.length,
      rowStart,
      rowEnd,
    });
    rowStart = rowEnd;
  }
  return slices;
}
