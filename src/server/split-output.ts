/**
 * Splitting the output of one merged `predict` call back into the requests it scored, by row
 * ranges. The contract is `spark_udf`'s: an output with exactly one entry per input row is
 * per-row, and row `i` belongs to the request that sent input row `i`.
 *
 * Outputs with that shape: an Arrow Table or RecordBatch (`numRows`), an Arrow Vector, a typed
 * array or an array (`length`), and a plain object whose every value is such a column (MLflow
 * answers a dict result as a dict, so each request gets the same dict of its rows). Anything
 * else (a scalar, a summary of another length, a Map, a danfo frame) cannot be split: the
 * requests are then predicted again one by one.
 *
 * @module
 */
import {
  isArrowRecordBatchLike,
  isArrowTableLike,
  isArrowVectorLike,
} from '../adapters/arrow-guards.js';

/** Half-open row ranges `[start, end)`, one per request, covering the batch in order. */
export type RowRanges = readonly (readonly [number, number])[];

interface Sliceable {
  length: number;
  slice(start: number, end: number): unknown;
}

/** The row count of a per-row column value, or -1. */
function columnLength(x: unknown): number {
  if (Array.isArray(x)) return x.length;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    return (x as unknown as { length: number }).length;
  }
  if (isArrowVectorLike(x)) return x.length;
  return -1;
}

function sliceColumn(x: unknown, start: number, end: number): unknown {
  // Typed arrays: subarray is a view (slice would copy every request's rows once more).
  if (ArrayBuffer.isView(x)) {
    return (x as unknown as { subarray(a: number, b: number): unknown }).subarray(start, end);
  }
  return (x as Sliceable).slice(start, end);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Cuts a merged output into one part per row range.
 *
 * @param output - what `predict` returned for the merged batch
 * @param rows - the batch's row count
 * @param ranges - each request's rows
 * @returns the parts, in range order; null when the output is not per-row
 */
export function splitOutput(output: unknown, rows: number, ranges: RowRanges): unknown[] | null {
  if (isArrowTableLike(output) || isArrowRecordBatchLike(output)) {
    if (output.numRows !== rows) return null;
    return ranges.map(([a, b]) => output.slice(a, b));
  }
  if (columnLength(output) >= 0) {
    if (columnLength(output) !== rows) return null;
    return ranges.map(([a, b]) => sliceColumn(output, a, b));
  }
  if (isPlainObject(output)) {
    const entries = Object.entries(output);
    if (entries.length === 0 || entries.some(([, v]) => columnLength(v) !== rows)) return null;
    return ranges.map(([a, b]) =>
      Object.fromEntries(entries.map(([k, v]) => [k, sliceColumn(v, a, b)]))
    );
  }
  return null;
}
