/**
 * The tinypool worker: runs one task at a time by calling the default export of the handler
 * module the task names (imported once per worker, on first use), with the worker's model cache
 * available to handlers through `worker-runtime`.
 *
 * Every error is caught and replied as a {@link WireError} (errors lose their class and `code`
 * across `postMessage`), so only a dying thread makes tinypool reject a task.
 *
 * `process.exit()` inside a worker would end the thread without an `error` event, which
 * tinypool never notices (the task and `pool.destroy()` hang). Here `process.exit` is replaced:
 * it throws out of the model code, and once the task unwinds the worker throws an uncaught
 * error, which tinypool does handle (it fails the task held by this thread and starts a new one).
 *
 * @module
 */
import { isMainThread, threadId } from 'node:worker_threads';
import Tinypool from 'tinypool';
import { ModelError, serializeError, type WireError } from '../errors.js';
import { connectSharedArtifacts } from '../package/shared-artifacts.js';
import { kWorkerExitMarker, type PoolWorkerData } from './pool.js';
import type { PoolTask, TaskHandler, TaskReply } from './protocol.js';
import { markStarted } from './task-progress.js';
import { beginTask, clearModelCache } from './worker-runtime.js';

let exitRequest: { code: number } | undefined;
const handlers = new Map<string, Promise<TaskHandler>>();
/** Handler modules carried by the worker's main module (see {@link registerHandler}). */
const loaders = new Map<string, () => Promise<{ default?: unknown }>>();

class WorkerExitRequest extends Error {
  override get name(): string {
    return 'WorkerExitRequest';
  }
}

if (!isMainThread) {
  // Before any task: models loaded here lease shared artifacts from the pool's owner thread.
  const data = Tinypool.workerData as PoolWorkerData | undefined;
  if (typeof data?.sharedArtifacts === 'string') connectSharedArtifacts(data.sharedArtifacts);
  const realExit = process.exit.bind(process);
  // Node's own handler for an uncaught error in a worker reports it to the parent and then
  // calls process.exit(): that exit must stay real. The monitor runs before that handler.
  let fatal = false;
  process.on('uncaughtExceptionMonitor', () => {
    fatal = true;
  });
  // See the module comment: a real exit from model code would hang tinypool. Throwing unwinds
  // the model's code; `run` then ends the thread through an uncaught error once it is out.
  process.exit = ((code?: number | string | null) => {
    if (fatal) return realExit(code as number | undefined);
    const n = Number(code ?? process.exitCode ?? 0);
    exitRequest ??= { code: Number.isFinite(n) ? n : 1 };
    throw new WorkerExitRequest(`process.exit(${String(code ?? '')}) called by model code`);
  }) as typeof process.exit;
}

/**
 * Makes the handler module at `url` come from `load` instead of `import(url)`: the worker's
 * main module (`worker/main.ts`) registers the handlers it carries (bundled into one file with
 * the rest of the worker, see `scripts/bundle-worker.mjs`), so a task naming the handler by its
 * usual `dist/` URL runs the bundled code and the worker imports no further modules.
 *
 * @param url - the handler module's `file:` URL, exactly as tasks name it
 * @param load - returns the module (its default export is the handler)
 */
export function registerHandler(url: string, load: () => Promise<{ default?: unknown }>): void {
  loaders.set(url, load);
}

function handlerOf(url: string): Promise<TaskHandler> {
  let handler = handlers.get(url);
  if (handler === undefined) {
    const load = loaders.get(url) ?? (() => import(url) as Promise<{ default?: unknown }>);
    handler = load().then((m: { default?: unknown }) => {
      if (typeof m.default !== 'function') {
        throw new ModelError('E_INTERNAL', `Task handler ${url} has no default export function`);
      }
      return m.default as TaskHandler;
    });
    handlers.set(url, handler);
    handler.catch(() => handlers.delete(url));
  }
  return handler;
}

/**
 * Runs one task. tinypool's default export for this file.
 *
 * @param task - names its handler module; the rest is the handler's
 * @returns a {@link TaskReply}; the handler's transfer list is moved, not copied
 */
export default async function run(task: PoolTask): Promise<unknown> {
  // Lets the caller start the task timeout when work starts, not when it was queued.
  if (task.progress !== undefined) markStarted(task.progress, threadId);
  const stats = beginTask(task.progress);
  const meta = () => ({
    threadId,
    loaded: stats.loaded,
    loadMs: stats.loadMs,
    predictMs: stats.predictMs,
    warnings: stats.warnings,
  });
  let reply: TaskReply;
  try {
    const handler = await handlerOf(task.handler);
    const result = await handler(task);
    reply = { ok: true, value: result.value, ...meta() };
    if (exitRequest === undefined) return moveReply(reply, result.transfer ?? []);
  } catch (error) {
    reply = { ok: false, error: toWire(error), ...meta() };
  }
  if (exitRequest !== undefined) return dieAfterExitRequest(exitRequest.code);
  return reply;
}

/** Releases every cached model; tinypool calls it (option `teardown`) before terminating. */
export async function teardown(): Promise<void> {
  await clearModelCache();
}

function toWire(error: unknown): WireError {
  if (error instanceof WorkerExitRequest) return serializeError(error);
  if (ModelError.is(error)) return serializeError(error);
  const message = error instanceof Error ? error.message : String(error);
  return serializeError(
    new ModelError('E_MODEL_PREDICT', `Scoring failed: ${message}`, { cause: error })
  );
}

function moveReply(reply: TaskReply, transferList: readonly unknown[]): unknown {
  if (transferList.length === 0) return reply;
  // A tinypool "Transferable": the worker posts `value` with `transferable` as transfer list.
  return Tinypool.move({
    get [Tinypool.transferableSymbol]() {
      return transferList;
    },
    get [Tinypool.valueSymbol]() {
      return reply;
    },
  } as unknown as ArrayBuffer);
}

function dieAfterExitRequest(code: number): Promise<never> {
  // An uncaught error ends this thread with an `error` event; tinypool fails the task this
  // thread holds (this one) with it and starts a replacement worker.
  process.nextTick(() => {
    throw new Error(`${kWorkerExitMarker} model code called process.exit(${code})`);
  });
  return new Promise<never>(() => undefined);
}
