/**
 * The overhead example for benchmarks: echoes its one input column, so every millisecond a
 * benchmark measures is jsfunc's (conversion, transfer, pool, enforcement), not the model's.
 *
 * - Input: `x0: double`. Output: a copy of `x0` as a `Float64Array` (nulls become NaN).
 * - No artifacts. Config: `loadLogPath` (default "") appends one line per `loadContext`.
 *
 * The copy costs one memcpy; returning a view of the input buffer instead would tie the
 * output's lifetime to an input buffer the pool may reuse or transfer.
 *
 * @module
 */
import type { Table } from 'apache-arrow';
import type { JsModel, ModelContext } from '../../src/package/types.js';
import { readFloat64 } from '../shared/columns.js';
import { appendLoadLog } from '../shared/load-log.js';

/** The noop example model. */
export default class NoopModel implements JsModel {
  /** Records the load; nothing else to do. */
  loadContext(context: ModelContext): void {
    appendLoadLog(context.modelConfig);
  }

  /** A copy of column `x0`. */
  predict(_context: ModelContext, input: Table): Float64Array {
    return readFloat64(input, 'x0').slice();
  }
}
