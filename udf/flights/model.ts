/**
 * The flights example: expected arrival delay from vega-datasets' flights data,
 * `0.8 * delay + 0.01 * distance + 2` (the benchmark formula; DuckDB runs the same expression in
 * `benchmarks/e2e.mjs`).
 *
 * - Input: `delay: long`, `distance: long` (the Parquet file's BIGINT columns; CSV text is typed
 *   by this signature). Output: `double`, one per row; a null input gives NaN.
 * - No artifacts. Config: `loadLogPath` (default "") appends one line per `loadContext`.
 *
 * Reads each column once into a `Float64Array` and loops: no per-row allocation.
 *
 * @module
 */
import type { Table } from 'apache-arrow';
import type { JsModel, ModelContext } from '../../src/package/types.js';
import { readFloat64 } from '../shared/columns.js';
import { appendLoadLog } from '../shared/load-log.js';

/** The flights example model. */
export default class FlightsModel implements JsModel {
  /** Records the load; nothing else to do. */
  loadContext(context: ModelContext): void {
    appendLoadLog(context.modelConfig);
  }

  /** `0.8 * delay + 0.01 * distance + 2` per row. */
  predict(_context: ModelContext, input: Table): Float64Array {
    const delay = readFloat64(input, 'delay');
    const distance = readFloat64(input, 'distance');
    const out = new Float64Array(input.numRows);
    for (let i = 0; i < out.length; i++) out[i] = 0.8 * delay[i]! + 0.01 * distance[i]! + 2;
    return out;
  }
}
