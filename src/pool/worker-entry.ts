/**
 * The tinypool worker: scores one batch per task with a model it loads once and keeps in its
 * {@link ModelCache}.
 *
 * Per task: (load the model on a cache miss) -> decodeTable -> applyMapping -> model.predict
 * (which enforces the signature) -> toResultVector -> encodeVector -> reply. Every error is
 * caught and replied as a {@link WireError} (errors lose their class and `code` across
 * `postMessage`), so only a dying thread makes tinypool reject a task.
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
import { loadModel } from '../package/load-model.js';
import type { LoadedModel } from '../package/types.js';
import { applyMapping } from '../udf/column-mapping.js';
import { parseResultType } from '../udf/result-type.js';
import { toResultVector } from '../udf/to-result-vector.js';
import { ModelCache, releaseModel } from './model-cache.js';
import { kWorkerExitMarker, type PoolWorkerData } from './pool.js';
import type { ScoreResponse, ScoreTask } from './protocol.js';
import { decodeTable, encodeVector, transferListOf } from './transfer.js';

let cache: ModelCache<LoadedModel> | undefined;
/** Warnings raised during the current task (one task at a time per worker). */
let taskWarnings: string[] = [];
let exitRequest: { code: number } | undefined;

class WorkerExitRequest extends Error {
  override get name(): string {
    return 'WorkerExitRequest';
  }
}

if (!isMainThread) {
  const realExit = process.exit.bind(process);
  // Node's own handler for an uncaught error in a worker reports it to the parent and then
  // calls process.exit(): that exit must stay real. The monitor runs before that handler.
  let fatal = false;
  process.on('uncaughtExceptionMonitor', () => {
    fatal = true;
  });
  // See the module comment: a real exit from model code would hang tinypool. Throwing unwinds
  // the model's code; `score` then ends the thread through an uncaught error once it is out.
  process.exit = ((code?: number | string | null) => {
    if (fatal) return realExit(code as number | undefined);
    const n = Number(code ?? process.exitCode ?? 0);
    exitRequest ??= { code: Number.isFinite(n) ? n : 1 };
    throw new WorkerExitRequest(`process.exit(${String(code ?? '')}) called by model code`);
  }) as typeof process.exit;
}

function getCache(): ModelCache<LoadedModel> {
  if (cache === undefined) {
    const data = Tinypool.workerData as PoolWorkerData | undefined;
    cache = new ModelCache<LoadedModel>(data?.cache ?? {}, (model) => releaseModel(model));
  }
  return cache;
}

/**
 * Scores one task. tinypool's default export for this file.
 *
 * @param task - the batch, the model identity and the per-UDF settings
 * @returns the result column (or the error) plus timing; its buffers are moved, not copied
 */
export default async function score(task: ScoreTask): Promise<unknown> {
  if (task.started !== undefined) {
    // Lets the driver start the batch timeout when work starts, not when it was queued.
    Atomics.store(task.started, 0, 1);
    Atomics.notify(task.started, 0);
  }
  taskWarnings = [];
  let loaded = false;
  let loadMs = 0;
  let predictMs = 0;
  let reply: ScoreResponse;
  try {
    const lookup = await getCache().getOrLoad(task.modelKey, task.modelBytes, () =>
      loadModel(task.modelPath, {
        modelConfig: task.modelConfig,
        predictFn: task.predictFn,
        warn: (message: string) => taskWarnings.push(message),
      })
    );
    loaded = lookup.loaded;
    loadMs = lookup.loadMs;
    const resultType = parseResultType(task.resultType);
    const table = applyMapping(decodeTable(task.table), task.mapping);
    const started = performance.now();
    const output = await lookup.value.predict(table, task.params);
    predictMs = performance.now() - started;
    const vector = toResultVector(output, resultType, table.numRows);
    if (vector.length !== table.numRows) {
      throw new ModelError(
        'E_MODEL_OUTPUT',
        `Model output has ${vector.length} values for a batch of ${table.numRows} rows`,
        { details: { expected: table.numRows, found: vector.length } }
      );
    }
    const wire = encodeVector(vector);
    reply = { ok: true, vector: wire, ...meta() };
    if (exitRequest === undefined) return moveReply(reply, transferListOf(wire));
  } catch (error) {
    reply = { ok: false, error: toWire(error), ...meta() };
  }
  if (exitRequest !== undefined) return dieAfterExitRequest(exitRequest.code);
  return reply;

  function meta() {
    return { threadId, loaded, loadMs, predictMs, warnings: taskWarnings };
  }
}

/** Releases every cached model; tinypool calls it (option `teardown`) before terminating. */
export async function teardown(): Promise<void> {
  await cache?.clear();
}

function toWire(error: unknown): WireError {
  if (error instanceof WorkerExitRequest) return serializeError(error);
  if (ModelError.is(error)) return serializeError(error);
  const message = error instanceof Error ? error.message : String(error);
  return serializeError(
    new ModelError('E_MODEL_PREDICT', `Scoring failed: ${message}`, { cause: error })
  );
}

function moveReply(reply: ScoreResponse, transferList: readonly unknown[]): unknown {
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
