/**
 * What a task handler may use inside a worker thread: the worker's model cache (each model is
 * loaded once per worker and kept across tasks) and the current task's counters and warnings.
 *
 * One task runs at a time per worker (tinypool hands a worker its next task only after the
 * reply), so the counters of "the current task" are thread state reset by `worker-entry` when
 * a task starts.
 *
 * Why the state hangs off `globalThis` (under a `Symbol.for` key) and not module variables: a
 * worker may hold two copies of this module, the one bundled into `worker-bundle/main.js` and
 * the one in `dist/` that a handler imported by URL (one not bundled) brings along. Module
 * variables would give each copy its own model cache and counters, so a model loaded by one
 * handler would load again for the other, and a task's stats would miss what the handler did.
 *
 * @module
 */
import Tinypool from 'tinypool';
import type { LoadedModel } from '../package/types.js';
import { ModelCache, releaseModel } from './model-cache.js';
import type { PoolWorkerData } from './pool.js';
import { markLoadEnded, markLoading, type TaskProgress } from './task-progress.js';

/** Counters of the task running in this worker. */
export interface CurrentTask {
  loaded: boolean;
  loadMs: number;
  predictMs: number;
  warnings: string[];
}

/** The thread's runtime state (see the module comment). */
interface RuntimeState {
  cache: ModelCache<LoadedModel> | undefined;
  current: CurrentTask;
  /** The running task's shared progress array, if its caller sent one. */
  progress: TaskProgress | undefined;
}

const kState = Symbol.for('jsfunc.workerRuntime.v1');

function state(): RuntimeState {
  const holder = globalThis as unknown as Record<symbol, RuntimeState | undefined>;
  return (holder[kState] ??= { cache: undefined, current: newTask(), progress: undefined });
}

function newTask(): CurrentTask {
  return { loaded: false, loadMs: 0, predictMs: 0, warnings: [] };
}

/**
 * Starts the counters of a new task (called by `worker-entry` only).
 *
 * @param taskProgress - the task's shared progress array, where model loads are reported
 * @returns the fresh counters
 */
export function beginTask(taskProgress?: TaskProgress): CurrentTask {
  const s = state();
  s.current = newTask();
  s.progress = taskProgress;
  return s.current;
}

/** The counters of the task running now. */
export function currentTask(): CurrentTask {
  return state().current;
}

/**
 * Records a warning for the caller (re-emitted on the main thread, once per message).
 *
 * @param message - the warning text
 */
export function taskWarn(message: string): void {
  state().current.warnings.push(message);
}

/** This worker's model cache, created on first use with the pool's bounds. */
export function workerModelCache(): ModelCache<LoadedModel> {
  const s = state();
  if (s.cache === undefined) {
    const data = Tinypool.workerData as PoolWorkerData | undefined;
    // releaseModel -> LoadedModel.release: close/dispose, then the model's shared artifacts.
    s.cache = new ModelCache<LoadedModel>(data?.cache ?? {}, (model) => releaseModel(model));
  }
  return s.cache;
}

/**
 * Returns the cached model for `key`, loading it on a miss (counted in the current task).
 *
 * @param key - the model's identity (package hash + config + predict function)
 * @param bytes - its weight in the cache
 * @param load - loads it on a miss
 * @returns the loaded model
 * @throws whatever `load` throws
 */
export async function cachedModel(
  key: string,
  bytes: number,
  load: () => Promise<LoadedModel>
): Promise<LoadedModel> {
  const reportTo = state().progress;
  const reported =
    reportTo === undefined
      ? load
      : async () => {
          // The caller times the load from here (its load timeout) and counts a completed load
          // even if this worker dies before replying.
          markLoading(reportTo);
          const started = performance.now();
          try {
            const model = await load();
            markLoadEnded(reportTo, true, performance.now() - started);
            return model;
          } catch (error) {
            markLoadEnded(reportTo, false, performance.now() - started);
            throw error;
          }
        };
  // The task that started the lookup gets the counts, even if another task began meanwhile.
  const task = state().current;
  const lookup = await workerModelCache().getOrLoad(key, bytes, reported);
  if (lookup.loaded) task.loaded = true;
  task.loadMs += lookup.loadMs;
  return lookup.value;
}

/**
 * Times `fn` as model predict time of the current task.
 *
 * @param fn - the model call
 * @returns its result
 */
export async function timePredict<T>(fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    state().current.predictMs += performance.now() - started;
  }
}

/** Releases every cached model of this worker. */
export async function clearModelCache(): Promise<void> {
  await state().cache?.clear();
}
