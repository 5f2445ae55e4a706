/**
 * The messages between the UDF driver (main thread) and the pool's workers.
 *
 * One {@link ScoreTask} goes to a worker per batch; one {@link ScoreResponse} comes back. Both
 * are plain structured-clone-friendly objects: Arrow data travels as {@link WireTable} /
 * {@link WireVector} (SharedArrayBuffer-backed by default, see `transfer.ts`), errors as
 * {@link WireError} (structured clone drops an error's class and `code`). The response is a
 * discriminated union on `ok`; both arms carry the same {@link ScoreStats}.
 *
 * @module
 */
import type { WireError } from '../errors.js';
import type { Params } from '../signature/types.js';
// Type-only (erased at run time): result type and column mapping are plain data that the UDF
// layer defines and resolves; the pool only carries them to the worker.
import type { ColumnMapping } from '../udf/column-mapping.js';
import type { ResultType } from '../udf/result-type.js';
import type { WireTable, WireVector } from './transfer.js';

/**
 * The UDF's result type in postable form: a parsed `ResultType` (plain data) or the Spark DDL
 * string it came from. The worker runs it through `parseResultType`.
 */
export type SerializedResultType = ResultType | string;

/** How the batch's columns feed the model (made by `resolveColumns` in the UDF layer). */
export type { ColumnMapping };

/** One batch to score: what to load (once per worker) and what to run it on. */
export interface ScoreTask {
  /** Identity of the model package (content hash): the key of the per-worker model cache. */
  modelKey: string;
  /** Directory of the model package, as the worker must open it. */
  modelPath: string;
  /** Package size in bytes; weighs the entry in the worker's model cache. */
  modelBytes: number;
  /** `model_config` overrides passed to `loadModel`, if any. */
  modelConfig?: Record<string, unknown>;
  /** Name of the model method to call instead of `predict`, if any. */
  predictFn?: string;
  /** Inference params passed to `predict` (validated against the params schema there). */
  params?: Params;
  /** Source columns -> signature input names, applied by the worker with `applyMapping`. */
  mapping: ColumnMapping;
  /** The UDF's result type. */
  resultType: SerializedResultType;
  /** 0-based index of this batch in the UDF call (for error details and ordering). */
  batchIndex: number;
  /** Index of this batch's first row in the whole input (for error details). */
  rowOffset: number;
  /** The batch. With a SharedArrayBuffer, posting it copies nothing. */
  table: WireTable;
  /** Per-batch timeout the driver enforces, in ms (informational for the worker). */
  timeoutMs?: number;
  /**
   * A one-element Int32Array over a SharedArrayBuffer: the worker stores 1 and notifies when
   * it starts the task, so the driver can start the timeout at start rather than at enqueue.
   */
  started?: Int32Array;
}

/** Facts about one task's run in a worker; present on success and failure alike. */
export interface ScoreStats {
  /** `threadId` of the worker that ran the task. */
  threadId: number;
  /** True when this task loaded the model (a cache miss in that worker). */
  loaded: boolean;
  /** Milliseconds this task spent loading the model (0 on a cache hit). */
  loadMs: number;
  /** Milliseconds spent in the model's predict. */
  predictMs: number;
  /** Milliseconds spent decoding the input {@link WireTable}, when measured. */
  decodeMs?: number;
  /** Milliseconds spent encoding the result {@link WireVector}, when measured. */
  encodeMs?: number;
  /** Rows in the batch, when reported. */
  rows?: number;
  /** Warnings raised in the worker during this task (the driver re-emits them). */
  warnings: string[];
}

/** A successful task: the result column, one value per input row. */
export interface ScoreSuccess extends ScoreStats {
  ok: true;
  vector: WireVector;
}

/** A failed task: the error, serialized; the driver rebuilds it with `deserializeError`. */
export interface ScoreFailure extends ScoreStats {
  ok: false;
  error: WireError;
}

/** What a worker answers to a {@link ScoreTask}. */
export type ScoreResponse = ScoreSuccess | ScoreFailure;
