/**
 * The worker side of a UDF batch: the handler module `sparkUdf` names in its pool tasks.
 *
 * Per task: decode the batch (zero-copy views of the caller's slab or shared table) -> map
 * columns -> predict (the model loaded once per worker) -> result column -> encode it for the
 * reply.
 *
 * The result is copied into a fresh, non-shared `ArrayBuffer` that moves to the caller (on the
 * transfer list: ownership changes hands, nothing is copied again). Never a range of shared
 * memory: a model may return its input's own column (`toResultVector` keeps an Arrow vector of
 * the result type as is), and that column lives in a slab the UDF reuses for a later task, so a
 * result sent as a view of it would change under the caller.
 *
 * The reply also carries the handler's own timings, which the UDF's placement model uses to
 * tell what a batch costs to compute from what it costs to move.
 *
 * @module
 */
import type { PoolTask, HandlerResult } from '../pool/protocol.js';
import { decodeTable, encodeVector, transferListOf } from '../pool/transfer.js';
import type { WireTable, WireVector } from '../pool/wire-format.js';
import type { ColumnMapping } from './column-mapping.js';
import { predictColumn, type ModelTaskFields } from './model-task.js';

/** One batch to score. */
export interface ScoreBatchTask extends PoolTask, ModelTaskFields {
  /** Source columns -> signature input names, applied with `applyMapping`. */
  mapping: ColumnMapping;
  /**
   * The batch, over shared memory (a slab the caller reuses once this task is answered, or the
   * caller's own shared table): posting it copies nothing.
   */
  table: WireTable;
}

/** The reply value of a batch task: the result column, one value per input row. */
export interface ScoreBatchResult {
  /** The result, in its own transferred `ArrayBuffer`. */
  vector: WireVector;
  /** Milliseconds the handler ran (decode, load, predict, convert, encode). */
  handlerMs: number;
  /** Milliseconds converting the model's output to the result vector. */
  convertMs: number;
}

/**
 * Scores one batch (the pool calls this in a worker).
 *
 * @param task - the batch and the model
 * @returns the encoded result column and its transfer list
 */
export default async function scoreBatch(
  task: ScoreBatchTask
): Promise<HandlerResult<ScoreBatchResult>> {
  const started = performance.now();
  const times = { convertMs: 0 };
  const vector = await predictColumn(task, decodeTable(task.table), task.mapping, times);
  const wire = encodeVector(vector, { shared: false, reuseShared: false });
  return {
    value: { vector: wire, handlerMs: performance.now() - started, convertMs: times.convertMs },
    transfer: transferListOf(wire),
  };
}
