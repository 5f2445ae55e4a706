/**
 * The model part of every worker task: which package to load (once per worker, through the
 * worker's model cache) and how to call it on a table. Shared by the UDF's batch tasks
 * (`score-batch.ts`) and the file-scoring split tasks (`score/score-split.ts`); its core,
 * {@link predictWithModel}, also scores on a UDF's calling thread.
 *
 * @module
 */
import type { Table, Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { loadModel } from '../package/load-model.js';
import type { LoadedModel } from '../package/types.js';
import { cachedModel, taskWarn, timePredict } from '../pool/worker-runtime.js';
import type { Params } from '../signature/types.js';
import { applyMapping, type ColumnMapping } from './column-mapping.js';
import { parseResultType, type ResultType } from './result-type.js';
import { toResultVector } from './to-result-vector.js';

/** What a worker needs to load the model and call it; identical for every task of one UDF. */
export interface ModelTaskFields {
  /** Identity of the model package (content hash + config + predict function): the cache key. */
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
  /** The UDF's result type (plain data; the worker runs it through `parseResultType`). */
  resultType: ResultType | string;
}

/**
 * The task's model from this worker's cache, loaded on a miss.
 *
 * @param task - the model fields of a task
 * @returns the loaded model
 * @throws {ModelError} whatever loading raises (E_MODEL_IMPORT, E_MODEL_LOAD, ...)
 */
export function taskModel(task: ModelTaskFields): Promise<LoadedModel> {
  return cachedModel(task.modelKey, task.modelBytes, () =>
    loadModel(task.modelPath, {
      modelConfig: task.modelConfig,
      predictFn: task.predictFn,
      warn: taskWarn,
    })
  );
}

/** Where {@link predictColumn} and {@link predictWithModel} report the conversion time. */
export interface PredictTimes {
  /** Milliseconds converting the model's output to the result vector. */
  convertMs: number;
}

/**
 * Maps `table`'s columns onto the signature, predicts, and converts the output to the result
 * type: one value per row.
 *
 * @param task - the model fields
 * @param table - the rows to score (its columns as the mapping expects them)
 * @param mapping - source columns -> signature inputs (`resolveColumns`)
 * @param times - receives the conversion time, if given
 * @returns the result column
 * @throws {ModelError} the model's errors; E_MODEL_OUTPUT when the output length differs
 */
export async function predictColumn(
  task: ModelTaskFields,
  table: Table,
  mapping: ColumnMapping,
  times?: PredictTimes
): Promise<Vector> {
  const model = await taskModel(task);
  return predictWithModel(model, table, mapping, task, timePredict, times);
}

/**
 * The model-independent core of {@link predictColumn}, shared by the workers and by a UDF
 * scoring on its calling thread (`placement: 'caller'`), so that both enforce, call and convert
 * exactly alike: map columns, predict (timed by `time`), convert to the result type, check the
 * length.
 *
 * @param model - the loaded model
 * @param table - the rows to score
 * @param mapping - source columns -> signature inputs
 * @param fields - the result type and params
 * @param time - runs the model call, timing it as predict time
 * @param times - receives the conversion time, if given
 * @returns the result column
 * @throws {ModelError} the model's errors; E_MODEL_OUTPUT when the output length differs
 */
export async function predictWithModel(
  model: LoadedModel,
  table: Table,
  mapping: ColumnMapping,
  fields: Pick<ModelTaskFields, 'resultType' | 'params'>,
  time: <T>(fn: () => Promise<T>) => Promise<T>,
  times?: PredictTimes
): Promise<Vector> {
  const resultType = parseResultType(fields.resultType);
  const input = applyMapping(table, mapping);
  const output = await time(() => model.predict(input, fields.params));
  const started = performance.now();
  const vector = toResultVector(output, resultType, input.numRows);
  if (times !== undefined) times.convertMs += performance.now() - started;
  if (vector.length !== input.numRows) {
    throw new ModelError(
      'E_MODEL_OUTPUT',
      `Model output has ${vector.length} values for a batch of ${input.numRows} rows`,
      { details: { expected: input.numRows, found: vector.length } }
    );
  }
  return vector;
}
