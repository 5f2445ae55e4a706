/**
 * A model as a DuckDB SQL scalar function: `SELECT predict(delay, distance) FROM 'f.parquet'`.
 *
 * How DuckDB calls it (`@duckdb/node-api` 1.5.6, `duckdb_thread_callback.h` of its bindings):
 * a DuckDB worker thread hands each data chunk (up to 2048 rows) to the JS thread through a
 * thread-safe function and BLOCKS until the JS function returns; the output vector must be
 * filled by then (a returned Promise is ignored). DuckDB threads running the query in parallel
 * queue their chunks for the one JS thread. So the function is synchronous per chunk, and its
 * throughput is one thread's. Two modes:
 *
 * - `inline` (default): the model is loaded on the calling thread (`loadModel`) and its predict
 *   method is called synchronously per chunk (schema enforcement and params as
 *   `LoadedModel.predict` does). A model whose predict returns a Promise (an ONNX model, any
 *   async predict) fails with E_MODEL_PREDICT naming `mode: 'worker'`.
 * - `worker`: the model is loaded in a dedicated worker thread; per chunk the JS thread posts
 *   the chunk (shared memory) and blocks on `Atomics.wait` until the worker has run `predict`
 *   (async allowed) and posted the result, which it takes with `receiveMessageOnPort`. Costs a
 *   thread hop per chunk; keeps async models usable and the model off the calling thread.
 *
 * Measured on flights-3m.parquet (3M rows, 1474 chunks, 2 DuckDB threads, this shared 2-core
 * machine): a bare JS function reading two BIGINT columns and writing a DOUBLE took ~360 ms
 * (~190 ms in JS, ~65 us per chunk in hand-offs) against ~90 ms for the same formula in SQL.
 * See `benchmarks/dataframe.mjs` for the model through both modes against the batch path.
 *
 * Parameters are the model's input signature columns, in order (or `options.inputs`), typed
 * boolean BOOLEAN, integer INTEGER, long BIGINT, float FLOAT, double DOUBLE, string VARCHAR,
 * binary BLOB, datetime TIMESTAMP (DuckDB casts arguments implicitly where it can and reports a
 * binder error otherwise). The return type is the result type (`options.resultType`, else
 * inferred from the output signature as `sparkUdf` does), a primitive only: double DOUBLE,
 * float FLOAT, long BIGINT, int INTEGER, boolean BOOLEAN, string VARCHAR.
 *
 * NULL arguments: NULLs inside a column reach the model as Arrow nulls (DuckDB calls the
 * function with them); a constant NULL argument is folded to a NULL result by DuckDB without a
 * call.
 *
 * Errors: DuckDB fails the query with the function's message, prefixed with the jsfunc code
 * (`Invalid Input Error: [E_MODEL_PREDICT] ...`); the ModelError itself is
 * {@link DuckDBFunction.lastError}.
 *
 * @module
 */
import { resolve as resolvePath } from 'node:path';
import { Table, type Vector } from 'apache-arrow';
import { ChunkBatcher } from '../adapters/duckdb-read.js';
import {
  DT_NAMES,
  type DuckDBBindings,
  type DuckDBConnectionLike,
  type DuckDBTypeLike,
  type RawChunk,
  type RawVector,
  duckdbBindings,
} from '../adapters/duckdb-bindings.js';
import { duckdbTypeIdFor, writeVector } from '../adapters/duckdb-write.js';
import { ModelError } from '../errors.js';
import { loadModel } from '../package/load-model.js';
import { readMLmodel } from '../package/mlmodel.js';
import type { LoadedModel } from '../package/types.js';
import { enforceParams } from '../signature/enforce-params.js';
import { enforceSchema } from '../signature/enforce-schema.js';
import type { ColSpec, ModelSignature, Params } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import {
  inferResultType,
  parseResultType,
  resultTypeToArrow,
  type ResultType,
} from './result-type.js';
import { toResultVector } from './to-result-vector.js';
import { startFunctionWorker } from './duckdb-function-handoff.js';
import {
  columnInputs,
  optionError,
  planParameters,
  type DuckDBFunctionParameter,
} from './duckdb-function-params.js';

export type { DuckDBFunctionParameter } from './duckdb-function-params.js';

/** Options of {@link registerDuckDBFunction}. */
export interface DuckDBFunctionOptions {
  /** Result type, a primitive Spark type (`double`, `float`, `long`, `int`, `boolean`, `string`). Default: from the output signature. */
  resultType?: string;
  /** Inference params for every call. Default `{}`. */
  params?: Params;
  /** The signature inputs that become the function's parameters, in order. Default: all of them. */
  inputs?: readonly string[];
  /** The parameters of a model without an input signature (names and DuckDB types). */
  parameters?: readonly DuckDBFunctionParameter[];
  /** `inline` (default) or `worker`; see the module doc. */
  mode?: 'inline' | 'worker';
  /** Overrides of the saved model config (when the model is given as a path). Default none. */
  modelConfig?: Record<string, unknown>;
  /** The model method to call (when the model is given as a path). Default: the saved one. */
  predictFn?: string;
  /** `worker` mode: fail a chunk whose predict takes longer than this (ms). Default 60000. */
  timeoutMs?: number;
  /** Receives warnings (extra columns, ignored params). Default: `console.warn`. */
  warn?: WarnFn;
}

/** Counters of a {@link DuckDBFunction}. */
export interface DuckDBFunctionStats {
  /** Chunks scored. */
  calls: number;
  /** Rows scored. */
  rows: number;
  /** Milliseconds inside the function (conversion, predict, output). */
  totalMs: number;
}

/** A model registered as a DuckDB scalar function. */
export interface DuckDBFunction {
  /** The SQL name. */
  readonly name: string;
  /** How it runs the model. */
  readonly mode: 'inline' | 'worker';
  /** The SQL parameters, in order. */
  readonly parameters: readonly DuckDBFunctionParameter[];
  /** The SQL return type. */
  readonly returnType: string;
  /** The error of the last failed call (the query failed with its message), if any. */
  readonly lastError: ModelError | undefined;
  /** Counters since registration. */
  stats(): DuckDBFunctionStats;
  /**
   * Stops the worker (`worker` mode). The SQL function stays registered in DuckDB (the C API
   * cannot remove it) and fails from then on with E_POOL_CLOSED. Idempotent.
   */
  close(): Promise<void>;
}

/** What the function needs to know of a model it does not load on this thread. */
interface ModelInfo {
  path: string;
  signature: ModelSignature | null;
  predictFn: string | undefined;
}

/** A package's path and signature, from its MLmodel (worker mode loads it elsewhere). */
async function describeModel(path: string, options: DuckDBFunctionOptions): Promise<ModelInfo> {
  const absolute = resolvePath(path);
  const metadata = await readMLmodel(absolute);
  return { path: absolute, signature: metadata.signature, predictFn: options.predictFn };
}

/** Runs one chunk of rows: the model's result column. */
type Predictor = (table: Table) => Vector;

/**
 * Registers `model` as the DuckDB scalar function `name` on `connection` (see the module doc for
 * the calling model, the modes, the parameter and return types and errors).
 *
 * @param connection - a `@duckdb/node-api` DuckDBConnection
 * @param name - the SQL function name
 * @param model - a package directory (loaded here, or in the worker), or a model loaded with
 *   `loadModel` (in worker mode its package is loaded again in the worker, with its config)
 * @param options - see {@link DuckDBFunctionOptions}
 * @returns the registered function (counters, last error, close)
 * @throws {ModelError} E_OPTION_INVALID for bad options or a signature DuckDB parameters cannot
 *   carry; E_RESULT_TYPE_INVALID for a non-primitive result type; the load errors of
 *   `loadModel`; E_INPUT_INVALID when `@duckdb/node-api` is missing
 *
 * @example
 * ```ts
 * await registerDuckDBFunction(connection, 'predict', 'out/flights');
 * const rows = await connection.runAndReadAll("SELECT predict(delay, distance) FROM 'flights.parquet'");
 * ```
 */
export async function registerDuckDBFunction(
  connection: DuckDBConnectionLike,
  name: string,
  model: string | LoadedModel,
  options: DuckDBFunctionOptions = {}
): Promise<DuckDBFunction> {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw optionError(
      `name must be a SQL identifier (letters, digits, _), got ${JSON.stringify(name)}`,
      'name'
    );
  }
  const mode = options.mode ?? 'inline';
  if (mode !== 'inline' && mode !== 'worker') {
    throw optionError(
      `options.mode must be 'inline' or 'worker', got ${JSON.stringify(mode)}`,
      'mode'
    );
  }
  const warn = options.warn ?? defaultWarn;
  const b = duckdbBindings();
  // Inline: the model is loaded here. Worker: it is loaded in the worker; here only its
  // MLmodel is read (for the signature).
  const loaded =
    typeof model !== 'string'
      ? model
      : mode === 'inline'
        ? await loadModel(model, {
            modelConfig: options.modelConfig,
            predictFn: options.predictFn,
            warn,
          })
        : await describeModel(model, options);
  const inputs = columnInputs(loaded.signature);
  const parameters = planParameters(inputs, options);
  const resultType =
    options.resultType !== undefined
      ? parseResultType(options.resultType)
      : inferResultType(loaded.signature?.outputs ?? null, warn);
  if (resultType.kind !== 'primitive') {
    throw new ModelError(
      'E_RESULT_TYPE_INVALID',
      `A DuckDB scalar function returns a primitive (double, float, long, int, boolean, string); the result type is a ${resultType.kind}.`,
      { details: { resultType } }
    );
  }
  const returnTypeId = duckdbTypeIdFor(resultTypeToArrow(resultType))!;
  const params = enforceParams(options.params, loaded.signature?.params ?? null, warn);

  const state = new FunctionState(name, mode, parameters, returnTypeId);
  let predictor: Predictor;
  if (mode === 'inline') {
    predictor = inlinePredictor(loaded as LoadedModel, inputs, params, resultType, warn);
  } else {
    const timeoutMs = options.timeoutMs ?? 60_000;
    if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) {
      throw optionError(
        `options.timeoutMs must be a positive number, got ${String(timeoutMs)}`,
        'timeoutMs'
      );
    }
    const worker = await startFunctionWorker(
      {
        modelPath: loaded.path,
        // A loaded model's config already has its overrides applied.
        modelConfig:
          options.modelConfig ??
          ('context' in loaded ? { ...loaded.context.modelConfig } : undefined),
        predictFn: options.predictFn ?? loaded.predictFn,
        params: options.params,
        resultType,
        timeoutMs,
        warn,
      },
      () => void state.close()
    );
    state.onClose = worker.close;
    predictor = (table) => worker.predict(table);
  }

  const types: DuckDBTypeLike[] = parameters.map((p) => ({
    typeId: p.typeId,
    toString: () => DT_NAMES[p.typeId]!,
  }));
  // Plain buffers: a worker-mode chunk is copied into one shared buffer when it is posted.
  const batcher = new ChunkBatcher(
    b,
    parameters.map((p) => p.name),
    types,
    b.vector_size(),
    false
  );
  const fn = b.create_scalar_function();
  b.scalar_function_set_name(fn, name);
  for (const p of parameters) b.scalar_function_add_parameter(fn, b.create_logical_type(p.typeId));
  b.scalar_function_set_return_type(fn, b.create_logical_type(returnTypeId));
  b.scalar_function_set_function(fn, (_info, input, output) =>
    state.call(() => scoreChunk(b, batcher, input, output, predictor, returnTypeId, name))
  );
  // The node-api's registerScalarFunction reads only the raw handle of its argument.
  connection.registerScalarFunction({ scalar_function: fn });
  state.handle = fn;
  return state;
}

/** One chunk: DuckDB vectors -> Arrow -> predict -> the output vector. Returns the rows. */
function scoreChunk(
  b: DuckDBBindings,
  batcher: ChunkBatcher,
  input: RawChunk,
  output: RawVector,
  predict: Predictor,
  returnTypeId: number,
  name: string
): number {
  const n = b.data_chunk_get_size(input);
  batcher.append(input, n);
  const table = new Table([batcher.finish()]);
  const vector = predict(table);
  writeVector(b, output, vector, returnTypeId, `${name}()`);
  return n;
}

/** The registered function's state: counters, last error, close. */
class FunctionState implements DuckDBFunction {
  readonly parameters: readonly DuckDBFunctionParameter[];
  readonly returnType: string;
  lastError: ModelError | undefined;
  closed = false;
  onClose: (() => Promise<void>) | undefined;
  /** The raw scalar function, kept with the state that its callback uses. */
  handle: object | undefined;
  readonly #stats: DuckDBFunctionStats = { calls: 0, rows: 0, totalMs: 0 };

  constructor(
    readonly name: string,
    readonly mode: 'inline' | 'worker',
    parameters: readonly { name: string; typeId: number }[],
    returnTypeId: number
  ) {
    this.parameters = parameters.map((p) => ({ name: p.name, type: DT_NAMES[p.typeId]! }));
    this.returnType = DT_NAMES[returnTypeId]!;
  }

  /** Runs one chunk; a failure is recorded and thrown with its code in the message. */
  call(body: () => number): void {
    const t0 = performance.now();
    try {
      if (this.closed) {
        throw new ModelError('E_POOL_CLOSED', `The DuckDB function ${this.name} was closed`, {
          details: { function: this.name },
        });
      }
      const rows = body();
      this.#stats.calls++;
      this.#stats.rows += rows;
    } catch (cause) {
      const error = ModelError.is(cause)
        ? cause
        : new ModelError('E_INTERNAL', cause instanceof Error ? cause.message : String(cause), {
            cause,
          });
      this.lastError = error;
      // The bindings turn a thrown Error into the query's error message.
      throw new Error(`[${error.code}] ${error.message}`);
    } finally {
      this.#stats.totalMs += performance.now() - t0;
    }
  }

  stats(): DuckDBFunctionStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.onClose?.();
  }
}

/** Calls the model on the calling thread, synchronously. */
function inlinePredictor(
  model: LoadedModel,
  inputs: readonly ColSpec[] | null,
  params: Params,
  resultType: ResultType,
  warn: WarnFn
): Predictor {
  const instance = model.unwrap<Record<string, unknown>>();
  return (table) => {
    const input = inputs === null ? table : enforceSchema(table, inputs as ColSpec[], warn);
    let output: unknown;
    try {
      const fn = instance[model.predictFn];
      if (typeof fn !== 'function')
        throw new TypeError(`${model.predictFn} is not a function (found ${typeof fn})`);
      output = (fn as (c: unknown, t: Table, p: Params) => unknown).call(
        instance,
        model.context,
        input,
        params
      );
    } catch (cause) {
      if (ModelError.is(cause)) throw cause;
      throw new ModelError(
        'E_MODEL_PREDICT',
        `Model ${model.predictFn} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        { details: { path: model.path, predictFn: model.predictFn }, cause }
      );
    }
    if (typeof (output as { then?: unknown } | null)?.then === 'function') {
      (output as Promise<unknown>).catch(() => undefined);
      throw new ModelError(
        'E_MODEL_PREDICT',
        `Model ${model.predictFn} returned a Promise, but DuckDB calls a scalar function synchronously: register it with { mode: 'worker' } to run an async predict.`,
        { details: { path: model.path, predictFn: model.predictFn } }
      );
    }
    return toResultVector(output, resultType, table.numRows);
  };
}
