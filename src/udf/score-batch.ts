/**
 * The worker side of a UDF batch: the handler module `sparkUdf` names in its pool tasks.
 *
 * Per task: decode the batch (zero-copy views of the caller's slab or shared table) -> map
 * columns -> predict (the model loaded once per worker) -> result column -> encode it for the
 * reply.
 *
 * The result goes back one of two ways:
 * - **into the task's result slab** (`task.result`): a fixed-width numeric result without
 *   nulls (`double`, `float`, `int`, `long`, ...) of the expected type and length is copied into
 *   a shared-memory slab the UDF leased for this task and reuses for later ones; the caller
 *   copies it from there into the call's result array as soon as the reply arrives, and only
 *   then returns the slab. No buffer is allocated per task on either thread: a fresh buffer per
 *   task page-faults on first touch and, as external memory, drives mark-compacts on both
 *   threads (issue 9);
 * - **otherwise** (nulls, strings, nested types, a stream's batch, a single-task call, or a
 *   wrong type or length, whose error the caller raises), encoded into a fresh, non-shared
 *   `ArrayBuffer` that moves to the caller (on the transfer list: nothing is copied again).
 *
 * Never a range of the input's shared memory: a model may return its input's own column
 * (`toResultVector` keeps an Arrow vector of the result type as is), and that column lives in a
 * slab the UDF reuses for a later task, so a result sent as a view of it would change under the
 * caller. Both ways copy it.
 *
 * The reply also carries the handler's own timings, which the UDF's placement model uses to
 * tell what a batch costs to compute from what it costs to move.
 *
 * @module
 */
import type { Vector } from 'apache-arrow';
import type { PoolTask, HandlerResult } from '../pool/protocol.js';
import { decodeTable, encodeVector, transferListOf } from '../pool/transfer.js';
import type { WireTable, WireVector } from '../pool/wire-format.js';
import type { ColumnMapping } from './column-mapping.js';
import { predictColumn, type ModelTaskFields } from './model-task.js';
import { copyValues, isPlainFixedWidth, type NumericClass } from './result-assembler.js';

/** One batch to score. */
export interface ScoreBatchTask extends PoolTask, ModelTaskFields {
  /** Source columns -> signature input names, applied with `applyMapping`. */
  mapping: ColumnMapping;
  /**
   * The batch, over shared memory (a slab the caller reuses once this task is answered, or the
   * caller's own shared table): posting it copies nothing.
   */
  table: WireTable;
  /** Where a fixed-width numeric result without nulls is written, if it fits (see the module). */
  result?: ResultSlab;
}

/** A task's result slab: shared memory the caller leased for this task's result values. */
export interface ResultSlab {
  /** At least `length` values of the result type's array class, from byte 0. */
  buffer: SharedArrayBuffer;
  /** The result type, as `String(type)`: only a result of exactly this type is written. */
  type: string;
  /** Rows of the batch: only a result of exactly this length is written. */
  length: number;
}

/** The reply value of a batch task: the result column, one value per input row. */
export interface ScoreBatchResult {
  /**
   * The result, in its own transferred `ArrayBuffer`; absent when it was written into the
   * task's result slab (`written`).
   */
  vector?: WireVector;
  /** True when the result's values are in the task's result slab. */
  written?: boolean;
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
  if (task.result !== undefined && writeInto(task.result, vector)) {
    return {
      value: { written: true, handlerMs: performance.now() - started, convertMs: times.convertMs },
    };
  }
  const wire = encodeVector(vector, { shared: false, reuseShared: false });
  return {
    value: { vector: wire, handlerMs: performance.now() - started, convertMs: times.convertMs },
    transfer: transferListOf(wire),
  };
}

/**
 * Copies `vector`'s values into `slab` when it is a plain fixed-width result of the slab's type
 * and length (`isPlainFixedWidth`); otherwise writes nothing.
 *
 * @returns whether it was written
 */
function writeInto(slab: ResultSlab, vector: Vector): boolean {
  if (vector.length !== slab.length || !isPlainFixedWidth(vector, slab.type)) return false;
  const Values = (vector.type as unknown as { ArrayType: NumericClass }).ArrayType;
  copyValues(vector, new Values(slab.buffer, 0, slab.length), 0);
  return true;
}
