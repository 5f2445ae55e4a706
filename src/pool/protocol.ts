/**
 * The messages between a pool's callers (main thread) and its workers, whatever the task.
 *
 * The pool is generic: a task names the HANDLER module that runs it (a `file:` URL of compiled
 * JavaScript; see `compiled-url.ts`), and the worker imports that module once and calls its
 * default export (a {@link TaskHandler}). So the pool never imports the layers above it: the
 * UDF layer's batch handler (`udf/score-batch.ts`) and the file-scoring split handler
 * (`score/score-split.ts`) plug in by URL, and a worker only loads the code its tasks need.
 *
 * Every reply is a plain structured-clone-friendly object: errors travel as {@link WireError}
 * (structured clone drops an error's class and `code`), and both arms carry the same
 * {@link TaskStats}.
 *
 * @module
 */
import type { WireError } from '../errors.js';

/** What every task carries; handlers extend it with their own fields. */
export interface PoolTask {
  /** `file:` URL of the compiled handler module (its default export runs the task). */
  handler: string;
  /**
   * The task's shared progress array (`task-progress.ts`): the worker records when it starts
   * the task and when a model load starts and ends, so the caller can time the task and the
   * load from their real start, and count a load even when the worker dies before replying.
   */
  progress?: Int32Array;
}

/** What a handler returns: a postable value and the buffers to move (not copy) with it. */
export interface HandlerResult<V = unknown> {
  value: V;
  transfer?: readonly ArrayBuffer[];
}

/** A task handler module's default export. Throwing fails the task with a coded error. */
export type TaskHandler<T extends PoolTask = PoolTask, V = unknown> = (
  task: T
) => Promise<HandlerResult<V>>;

/** Facts about one task's run in a worker; present on success and failure alike. */
export interface TaskStats {
  /** `threadId` of the worker that ran the task. */
  threadId: number;
  /** True when this task loaded a model (a cache miss in that worker). */
  loaded: boolean;
  /** Milliseconds this task spent loading models (0 on cache hits). */
  loadMs: number;
  /** Milliseconds spent in the model's predict. */
  predictMs: number;
  /** Warnings raised in the worker during this task (the caller re-emits them). */
  warnings: string[];
}

/** A successful task: the handler's value. */
export interface TaskSuccess<V = unknown> extends TaskStats {
  ok: true;
  value: V;
}

/** A failed task: the error, serialized; the caller rebuilds it with `deserializeError`. */
export interface TaskFailure extends TaskStats {
  ok: false;
  error: WireError;
}

/** What a worker answers to a {@link PoolTask}. */
export type TaskReply<V = unknown> = TaskSuccess<V> | TaskFailure;
