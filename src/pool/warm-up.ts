/**
 * The warm-up task: loads a model into a worker's cache before any batch needs it, so that a
 * UDF's first batch finds the model loaded and the load overlaps with everything the calling
 * thread does before that batch arrives (reading and hashing the package, slicing and copying
 * the input into shared memory, posting it).
 *
 * The caller posts one warm-up task per worker right after creating its pool (tinypool hands
 * tasks to idle workers first, so W tasks reach W workers); each loads the model exactly as a
 * batch task would ({@link cachedTaskModel}: the same cache key and the same `loadModel` call),
 * so the batch's lookup is a cache hit. The reply's stats say whether the task loaded the model
 * (`loaded`, `loadMs`), like any task's; a failed warm-up changes nothing (the failed load is not
 * cached, and the first batch loads again and reports the error where the user sees it).
 *
 * @module
 */
import { loadModel } from '../package/load-model.js';
import type { LoadedModel } from '../package/types.js';
import { compiledUrl } from './compiled-url.js';
import type { HandlerResult, PoolTask } from './protocol.js';
import { cachedModel, taskWarn } from './worker-runtime.js';

/** What a worker needs to load a model into its cache (the model fields of every task). */
export interface WarmUpFields {
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
}

/** A warm-up task. */
export interface WarmUpTask extends PoolTask, WarmUpFields {}

/** The reply value of a warm-up task. */
export interface WarmUpResult {
  /** Whether the model is in this worker's cache now (always true on success). */
  cached: true;
}

/**
 * The task's model from this worker's cache, loaded on a miss: the one way a task loads its
 * model, shared by warm-up and batch tasks so that both hit the same cache entry.
 *
 * @param fields - the model fields
 * @returns the loaded model
 * @throws {ModelError} whatever loading raises (E_MODEL_IMPORT, E_MODEL_LOAD, ...)
 */
export function cachedTaskModel(fields: WarmUpFields): Promise<LoadedModel> {
  return cachedModel(fields.modelKey, fields.modelBytes, () =>
    loadModel(fields.modelPath, {
      modelConfig: fields.modelConfig,
      predictFn: fields.predictFn,
      warn: taskWarn,
    })
  );
}

let url: string | undefined;

/**
 * The `file:` URL of this handler module, compiled (for a task's `handler` field).
 *
 * @returns the URL of `warm-up.js`
 * @throws {ModelError} E_WORKER_CRASHED when the compiled module is missing (run `npm run build`)
 */
export function warmUpHandlerUrl(): string {
  url ??= compiledUrl(new URL('./warm-up.js', import.meta.url)).href;
  return url;
}

/**
 * Loads the task's model into this worker's cache (the pool calls this in a worker).
 *
 * @param task - the model fields
 * @returns `{ cached: true }`; the reply's stats tell whether this task did the load
 * @throws {ModelError} what loading the model raises
 */
export default async function warmUp(task: WarmUpTask): Promise<HandlerResult<WarmUpResult>> {
  await cachedTaskModel(task);
  return { value: { cached: true } };
}
