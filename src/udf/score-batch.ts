/**
 * The worker side of a UDF batch: the handler module `sparkUdf` names in its pool tasks.
 *
 * Per task: decode the batch (zero-copy views of shared memory) -> map columns -> predict (the
 * model loaded once per worker) -> result column -> encode it for the reply (its buffers are
 * moved, not copied).
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
  /** The batch. With a SharedArrayBuffer, posting it copies nothing. */
  table: WireTable;
}

/** The reply value of a batch task: the result column, one value per input row. */
export interface ScoreBatchResult {
  vector: WireVector;
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
  const vector = await predictColumn(task, decodeTable(task.table), task.mapping);
  const wire = encodeVector(vector);
  return { value: { vector: wire }, transfer: transferListOf(wire) };
}
