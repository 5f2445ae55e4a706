/**
 * The blocking hand-off of a DuckDB scalar function in `worker` mode (`duckdb-function.ts`):
 * the JS thread, called by DuckDB for one chunk, posts the chunk to a dedicated worker thread
 * (`duckdb-function-worker.ts`) and blocks on `Atomics.wait` until the worker has scored it;
 * the reply is then taken synchronously with `receiveMessageOnPort`.
 *
 * Why blocking is safe here: while DuckDB calls the function, its own thread waits for the JS
 * thread, and the worker needs nothing from the JS thread (the chunk and the reply travel on a
 * MessagePort that the JS thread never listens on, and the wake-up is a shared word). A chunk
 * that takes longer than `timeoutMs`, or a worker that dies, stops the worker and fails the
 * chunk; the function then refuses further calls.
 *
 * @module
 */
import {
  MessageChannel,
  Worker,
  receiveMessageOnPort,
  type MessagePort,
} from 'node:worker_threads';
import type { Table, Vector } from 'apache-arrow';
import { ModelError, deserializeError, type WireError } from '../errors.js';
import { compiledUrl } from '../pool/compiled-url.js';
import { decodeVector, encodeTable } from '../pool/transfer.js';
import type { WireVector } from '../pool/wire-format.js';
import type { Params } from '../signature/types.js';
import type { WarnFn } from '../warnings.js';
import type { DuckDBFunctionTask, DuckDBFunctionWorkerData } from './duckdb-function-worker.js';
import type { ResultType } from './result-type.js';

/** The reply of the function worker for one chunk. */
export type DuckDBFunctionReply =
  { id: number; ok: true; vector: WireVector } | { id: number; ok: false; error: WireError };

/** Flag values in the shared word the JS thread waits on. */
const PENDING = 0;
const CRASHED = 2;

/** What the worker loads and how it calls the model. */
export interface FunctionWorkerSpec {
  /** The package directory. */
  modelPath: string;
  /** Config overrides for `loadModel` in the worker. */
  modelConfig: Record<string, unknown> | undefined;
  /** The method to call. */
  predictFn: string | undefined;
  /** Inference params for every chunk. */
  params: Params | undefined;
  /** The function's (primitive) result type. */
  resultType: ResultType;
  /** Most milliseconds a chunk may take. */
  timeoutMs: number;
  /** Receives the worker's warnings. */
  warn: WarnFn;
}

/** A started function worker. */
export interface FunctionWorker {
  /** Scores one chunk, blocking the calling thread until the worker replies. */
  predict(table: Table): Vector;
  /** Stops the worker. */
  close(): Promise<void>;
}

/**
 * Starts the worker and waits until it has loaded the model.
 *
 * @param spec - the model and call settings
 * @param onBroken - called when a chunk timed out or the worker died (the caller stops using it)
 * @returns the blocking predictor and its close
 * @throws {ModelError} the worker's load error; E_WORKER_CRASHED when it exits while loading
 */
export async function startFunctionWorker(
  spec: FunctionWorkerSpec,
  onBroken: () => void
): Promise<FunctionWorker> {
  const { timeoutMs } = spec;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const workerData: DuckDBFunctionWorkerData = {
    modelPath: spec.modelPath,
    modelConfig: spec.modelConfig,
    predictFn: spec.predictFn,
    params: spec.params,
    resultType: spec.resultType,
    flag,
    port: port2,
  };
  const worker = new Worker(compiledUrl(new URL('./duckdb-function-worker.js', import.meta.url)), {
    workerData,
    transferList: [port2 as unknown as MessagePort],
  });
  const warn = spec.warn;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(
        new ModelError(
          'E_WORKER_CRASHED',
          `The DuckDB function worker exited with code ${code} while loading the model`
        )
      )
    );
    worker.on('message', (m: { ready?: true; error?: WireError; warning?: string }) => {
      if (m.warning !== undefined) warn(m.warning);
      else if (m.error !== undefined) reject(deserializeError(m.error));
      else if (m.ready === true) resolve();
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.removeAllListeners('exit');
  worker.removeAllListeners('error');
  worker.on('error', () => undefined); // a crash is seen through the flag
  worker.unref();
  const close = async () => {
    port1.close();
    await worker.terminate();
  };
  let nextId = 0;
  const predict = (table: Table): Vector => {
    const id = nextId++;
    Atomics.store(flag, 0, PENDING);
    const task: DuckDBFunctionTask = { id, table: encodeTable(table, { shared: true }) };
    port1.postMessage(task);
    const result = Atomics.wait(flag, 0, PENDING, timeoutMs);
    if (result === 'timed-out') {
      onBroken();
      throw new ModelError(
        'E_TIMEOUT',
        `A chunk ran longer than timeoutMs=${timeoutMs} in the DuckDB function worker; the worker was stopped`,
        {
          details: { timeoutMs },
        }
      );
    }
    if (Atomics.load(flag, 0) === CRASHED) {
      onBroken();
      throw new ModelError(
        'E_WORKER_CRASHED',
        'The DuckDB function worker died while scoring a chunk'
      );
    }
    // Replies of earlier (timed-out) chunks are dropped.
    for (;;) {
      const reply = receiveMessageOnPort(port1)?.message as DuckDBFunctionReply | undefined;
      if (reply === undefined)
        throw new ModelError('E_INTERNAL', 'The DuckDB function worker signalled without a reply');
      if (reply.id !== id) continue;
      if (!reply.ok) throw deserializeError(reply.error);
      return decodeVector(reply.vector);
    }
  };
  return { predict, close };
}
