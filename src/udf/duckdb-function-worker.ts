/**
 * The worker thread of a DuckDB scalar function in `worker` mode (`duckdb-function.ts`,
 * `duckdb-function-handoff.ts`).
 *
 * It loads the model once, says `ready` on its parent port, then scores the chunks posted on
 * its own port: decode (shared memory, no copy) -> `predict` (async allowed) -> result vector
 * -> reply on the port, then wakes the blocked JS thread through the shared flag
 * (`Atomics.notify`). The reply is posted BEFORE the flag is set, so the JS thread finds it
 * with `receiveMessageOnPort` as soon as it wakes. If the worker dies, its `exit` handler sets
 * the flag to "crashed" so the JS thread does not wait for its timeout.
 *
 * @module
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ModelError } from '../errors.js';
import { serializeError } from '../errors.js';
import { loadModel } from '../package/load-model.js';
import type { LoadedModel } from '../package/types.js';
import { decodeTable, encodeVector } from '../pool/transfer.js';
import type { WireTable } from '../pool/wire-format.js';
import type { Params } from '../signature/types.js';
import type { DuckDBFunctionReply } from './duckdb-function-handoff.js';
import type { ResultType } from './result-type.js';
import { toResultVector } from './to-result-vector.js';

/** What the JS thread gives the worker when it starts it. */
export interface DuckDBFunctionWorkerData {
  /** The package directory. */
  modelPath: string;
  /** Config overrides for `loadModel`. */
  modelConfig: Record<string, unknown> | undefined;
  /** The method to call. */
  predictFn: string | undefined;
  /** Inference params for every chunk. */
  params: Params | undefined;
  /** The function's (primitive) result type. */
  resultType: ResultType;
  /** The word the JS thread waits on: 0 pending, 1 replied, 2 crashed. */
  flag: Int32Array;
  /** The port chunks arrive on and replies leave by. */
  port: MessagePort;
}

/** One chunk to score. */
export interface DuckDBFunctionTask {
  /** Sequence number, echoed in the reply. */
  id: number;
  /** The chunk's rows (shared memory). */
  table: WireTable;
}

const REPLIED = 1;
const CRASHED = 2;

async function main(data: DuckDBFunctionWorkerData): Promise<void> {
  const { flag, port } = data;
  process.on('exit', () => {
    Atomics.store(flag, 0, CRASHED);
    Atomics.notify(flag, 0);
  });
  const warn = (message: string) => parentPort!.postMessage({ warning: message });
  let model: LoadedModel;
  try {
    model = await loadModel(data.modelPath, {
      modelConfig: data.modelConfig,
      predictFn: data.predictFn,
      warn,
    });
  } catch (error) {
    parentPort!.postMessage({ error: serializeError(error) });
    return;
  }
  port.on('message', (task: DuckDBFunctionTask) => {
    void score(model, data, task).then((reply) => {
      port.postMessage(reply);
      Atomics.store(flag, 0, REPLIED);
      Atomics.notify(flag, 0);
    });
  });
  parentPort!.postMessage({ ready: true });
}

async function score(
  model: LoadedModel,
  data: DuckDBFunctionWorkerData,
  task: DuckDBFunctionTask
): Promise<DuckDBFunctionReply> {
  try {
    const table = decodeTable(task.table);
    const output = await model.predict(table, data.params);
    const vector = toResultVector(output, data.resultType, table.numRows);
    return { id: task.id, ok: true, vector: encodeVector(vector, { shared: true }) };
  } catch (error) {
    return { id: task.id, ok: false, error: serializeError(error as ModelError) };
  }
}

if (!isMainThread && parentPort !== null) {
  void main(workerData as DuckDBFunctionWorkerData);
}
