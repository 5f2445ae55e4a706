/**
 * `sparkUdf`: a model package as a vectorized function over Arrow data, scored on worker
 * threads that each load the model once (MLflow's `mlflow.pyfunc.spark_udf`, for JavaScript).
 *
 * Driver side (this module): resolve the package once (`readMLmodel` + `packageIdentity`),
 * pick the result type, validate params once, map columns per input schema (missing columns
 * fail before any batch runs), split the input into balanced tasks, and keep a bounded number
 * of tasks in flight, collecting results in input order. Each task runs where the placement
 * model (`placement-model.ts`) says: on a worker (its mapped columns copied into a reusable
 * shared-memory slab, `slab-pool.ts`; worker side: `score-batch.ts`, run by the pool's generic
 * `worker-entry`), or on this thread (`placement-caller.ts`), through the same code.
 *
 * Cold start (`placement: 'auto'` on the default pool, no `timeoutMs`/`retries`/explicit
 * `loadTimeoutMs`, package up to 256 MiB): the pool is not acquired in `sparkUdf()`. The first
 * batches run on this thread, one at a time, the model loaded here; the threads start after the
 * first batch was scored here (`setImmediate`, once its result is handed over), or at once when
 * a second batch waits for this thread; each worker then gets a warm-up task (`pool/warm-up.ts`,
 * the batches' cache key), and the first warm-up to succeed (or the last to fail) ends the start:
 * batches waiting go to the workers, and auto measures as usual. On 2 cores, starting the threads
 * first made a small model's first result 2-3x slower (benchmarks/cold-start.mjs). Once auto
 * has moved to this thread after the start, its first batch here loads a fresh copy of the model
 * and releases the start's, when its load was quick (`kRenewCallerMaxLoadMs`: the start's copy
 * ran slower).
 *
 * @module
 */
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import {
  type RecordBatch,
  type Schema,
  Table,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import {
  adoptRecordBatch,
  adoptTable,
  isArrowRecordBatchLike,
  isArrowTableLike,
} from '../adapters/arrow-guards.js';
import type { ArqueroTable } from '../adapters/arquero.js';
import { toArrowInput, toBatchSource, type KeepColumns } from '../adapters/frames.js';
import type { PolarsDataFrame, PolarsLazyFrame } from '../adapters/polars.js';
import {
  danfoToTable,
  isDanfoFrame,
  tableToDanfo,
  vectorToDanfoSeries,
} from '../adapters/danfo.js';
import { ModelError, deserializeError } from '../errors.js';
import { localModelPath } from '../package/load-model.js';
import { readMLmodel } from '../package/mlmodel.js';
import { listPackageFiles, packageIdentity } from '../package/package-hash.js';
import { acquireDefaultPool, releaseDefaultPool, type ModelPool } from '../pool/pool.js';
import { compiledUrl } from '../pool/compiled-url.js';
import { warmUpHandlerUrl } from '../pool/warm-up.js';
import type { PoolTask, TaskReply, TaskSuccess } from '../pool/protocol.js';
import {
  completedLoad,
  createTaskProgress,
  watchTask,
  type TaskProgress,
} from '../pool/task-progress.js';
import { planTable, type TablePlan } from '../pool/encode-table.js';
import { SlabPool, type SlabPoolStats } from '../pool/slab-pool.js';
import { decodeVector } from '../pool/transfer.js';
import { enforceParams } from '../signature/enforce-params.js';
import type { Params, Schema as SignatureSchema } from '../signature/types.js';
import { appendResultColumn } from './append-result.js';
import { resolveColumns, type ColumnMapping } from './column-mapping.js';
import type { ModelTaskFields } from './model-task.js';
import { resolveSparkUdfOptions, type SparkUdfOptions } from './options.js';
import { planTaskSizes } from './plan-task-sizes.js';
import { CallerScorer } from './placement-caller.js';
import { bytesPerRow, callerMergeRows, castBytesPerRow, mappedColumns } from './placement-input.js';
import {
  CostModel,
  kDefaultCostModelOptions,
  type CostEstimates,
  type Decision,
  type Forecast,
  type Placement,
  type PlacementMode,
  type TaskShape,
} from './placement-model.js';
import { ResultAssembler, isCopiedResultType } from './result-assembler.js';
import type { ScoreBatchResult, ScoreBatchTask } from './score-batch.js';
import {
  mergedSlice,
  slicesOf,
  tableOf,
  type ResultTarget,
  type Slice,
  type TaskPosition,
} from './slice.js';
import {
  inferResultType,
  parseResultType,
  resultTypeToArrow,
  type ResultType,
} from './result-type.js';

/** Per-worker counters in {@link SparkUdfStats}. */
export interface WorkerStats {
  threadId: number;
  batches: number;
  rows: number;
  loads: number;
  loadMs: number;
  predictMs: number;
}

/** What {@link SparkUdf.stats} reports (cumulative since the UDF was created). */
export interface SparkUdfStats {
  /** Tasks scored successfully (an input batch larger than `batchSize` counts once per task). */
  batches: number;
  /** Rows scored successfully. */
  rows: number;
  /**
   * Times a worker loaded this UDF's model (cache misses), counting completed loads only: a load
   * whose worker died before replying is counted too (the worker reports it through the task's
   * shared progress array), a load that failed or was cut by the load timeout is not. The load on
   * the calling thread (placement) is in `placement.callerLoads`.
   */
  modelLoads: number;
  /** Milliseconds workers spent loading the model. */
  loadMs: number;
  /** Milliseconds spent in `predict` (enforcement + the user's method), workers and caller. */
  predictMs: number;
  /** Milliseconds tasks spent elsewhere: queued, crossing threads, converting results. */
  waitMs: number;
  /** Tasks that failed. */
  failures: number;
  /** Tasks re-run after a worker crash. */
  retries: number;
  /**
   * The same counters per worker thread (batches scored on the calling thread are counted in
   * `placement` instead; the two add up to the totals).
   */
  perWorker: WorkerStats[];
  /** Where batches run, why, and the costs measured to decide it. */
  placement: PlacementStats;
  /** The shared-memory slabs task inputs are copied into (allocations vs reuses). */
  slabs: SlabPoolStats;
  /**
   * The shared-memory slabs workers write fixed-width numeric results into, for the calling
   * thread to copy into the call's result (`apply` and `withColumn` calls of more than one task).
   */
  resultSlabs: SlabPoolStats;
}

/** The placement part of {@link SparkUdfStats}. */
export interface PlacementStats {
  /** The `placement` option. */
  mode: PlacementMode;
  /** Where the next batch goes (probes aside). */
  current: Placement;
  /** Workers that pay off: at most this many times `inFlightPerWorker` tasks are in flight. */
  workers: number;
  /** Why, in words (the forecast's figures included). */
  reason: string;
  /** Times the placement changed. */
  switches: number;
  /** Batches run on the other side to refresh its estimates. */
  probes: number;
  /** Batches scored on the calling thread. */
  callerBatches: number;
  /** Rows scored on the calling thread. */
  callerRows: number;
  /** Milliseconds in `predict` on the calling thread (also in the `predictMs` total). */
  callerPredictMs: number;
  /**
   * Model loads on the calling thread (not in `modelLoads`, which counts workers): 0 or 1, or 2
   * when auto's start loaded it and a fresh copy replaced that one after the start (see the
   * README's placement section).
   */
  callerLoads: number;
  /** Milliseconds those loads took. */
  callerLoadMs: number;
  /** The measured costs (medians of recent samples; null until measured). */
  costs: CostEstimates;
  /** The last forecast of a batch on each side (null before enough was measured). */
  forecast: Forecast | null;
}

/** Options of {@link SparkUdf.mapBatches}. */
export interface MapBatchesOptions {
  /** Name of the appended result column. Default `'prediction'` (a column of that name is replaced in place). */
  outputColumn?: string;
  /** Input columns, by position onto the signature's inputs (MLflow's rules). */
  columns?: readonly string[];
}

/** Options of {@link SparkUdf.close}. */
export interface CloseOptions {
  /** Abort running and queued tasks instead of letting them finish. Default false. */
  cancel?: boolean;
}

/** Arrow input the UDF accepts, or a danfo DataFrame. */
export type UdfInput = Table | RecordBatch | object;

/** A model as a vectorized function; see {@link sparkUdf}. */
export interface SparkUdf {
  /** Absolute path of the package. */
  readonly modelUri: string;
  /** The result type every call produces. */
  readonly resultType: ResultType;
  /** The Arrow type of the result column. */
  readonly arrowType: DataType;
  /** The params sent with every batch (validated, defaults filled). */
  readonly params: Params;
  /**
   * Scores every row of `input`.
   * @param input - Arrow Table or RecordBatch, or a danfo DataFrame
   * @param columns - input columns, mapped by position onto the signature (default: by name)
   * @returns one value per row, in order: an Arrow Vector (a danfo Series for danfo input)
   * @throws {ModelError} E_SCHEMA_MISMATCH before any batch runs when columns are missing;
   *   the batch's error (with details batchIndex, rowStart, rowEnd, modelUri) otherwise
   */
  apply(input: UdfInput, columns?: readonly string[]): Promise<Vector | object>;
  /**
   * Scores `input` and returns it with the result appended as column `name` (replaced in place if
   * present).
   * @returns a new Table (a danfo DataFrame for danfo input)
   */
  withColumn(input: UdfInput, name: string, columns?: readonly string[]): Promise<Table | object>;
  /**
   * Scores a stream of record batches; yields each input batch (or, for batches larger than
   * `batchSize`, each piece of it) with the result column appended, in input order. At most
   * `workers * inFlightPerWorker` tasks are held at once.
   */
  mapBatches(
    source: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
    options?: MapBatchesOptions
  ): AsyncGenerator<RecordBatch, void, undefined>;
  /**
   * Scores a Polars LazyFrame or DataFrame (streamed in `batchSize` slices) or an arquero table;
   * yields objects of the same kind, each a slice with the result column.
   */
  mapBatches(
    source: PolarsLazyFrame | PolarsDataFrame | ArqueroTable,
    options?: MapBatchesOptions
  ): AsyncGenerator<object, void, undefined>;
  /** Counters since creation. */
  stats(): SparkUdfStats;
  /**
   * Waits for in-flight tasks (or cancels them), then releases the pool (the shared default
   * pool closes with its last user). Later calls fail with E_POOL_CLOSED. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Creates a UDF that scores Arrow data with the model package at `path` on worker threads, or
 * on the calling thread when moving a batch to a worker costs more than it gains (option
 * `placement`, default `'auto'`; see {@link SparkUdfOptions.placement}).
 *
 * @param path - model package directory (with an `MLmodel` file)
 * @param options - see {@link SparkUdfOptions}; defaults in `kDefaultSparkUdfOptions`
 * @returns the UDF; close it when done
 * @throws {ModelError} E_OPTION_INVALID, E_MLMODEL_MISSING/E_MLMODEL_INVALID,
 *   E_RESULT_TYPE_INVALID, E_PARAMS_INVALID
 *
 * @example
 * ```ts
 * const udf = await sparkUdf('out/linear', { resultType: 'double', workers: 2 });
 * try {
 *   const scored = await udf.withColumn(table, 'prediction', ['a', 'b']);
 * } finally {
 *   await udf.close();
 * }
 * ```
 */
export async function sparkUdf(path: string, options?: SparkUdfOptions): Promise<SparkUdf> {
  const opts = resolveSparkUdfOptions(options);
  let callerStart = startsOnCaller(opts, options?.loadTimeoutMs !== undefined);
  // Without a start on the calling thread, the threads start first: spawning them and importing
  // the worker in each takes longer than resolving, reading and hashing the package, so the two
  // overlap. With one, they start once the first batch was scored here (see `#scoreSlice`): on
  // 2 cores, booting threads doubled the time to a small model's first result.
  let pool = opts.pool ?? (callerStart ? undefined : acquireDefaultPool(opts.workers));
  let setup: Pick<UdfSetup, 'modelKey' | 'modelBytes' | 'inputSchema' | 'resultType' | 'params'>;
  let modelUri: string;
  try {
    // A model URI is resolved (and downloaded) once, here: workers get the local directory.
    modelUri = resolvePath(
      await localModelPath(path, {
        ...(opts.trackingUri !== undefined ? { trackingUri: opts.trackingUri } : {}),
        ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      })
    );
    const [metadata, identity] = await Promise.all([
      readMLmodel(modelUri),
      packageIdentity(modelUri),
      // A package too large for a second copy on this thread (as auto rules): no start here,
      // and the threads start now, overlapping the hash of that package.
      callerStart ? tooLargeForCaller(modelUri) : false,
    ]).then(([m, i, tooLarge]) => {
      if (tooLarge) {
        callerStart = false;
        pool ??= acquireDefaultPool(opts.workers);
      }
      return [m, i] as const;
    });
    const signature = metadata.signature;
    setup = {
      modelKey: `${identity.hash}|${stableStringify(opts.modelConfig)}|${opts.predictFn ?? ''}`,
      modelBytes: identity.bytes,
      inputSchema: signature?.inputs ?? null,
      resultType:
        opts.resultType !== undefined
          ? parseResultType(opts.resultType)
          : inferResultType(signature?.outputs ?? null, opts.warn),
      params: enforceParams(opts.params, signature?.params ?? null, opts.warn) as Params,
    };
  } catch (error) {
    // (pool is assigned in a callback TypeScript does not follow.)
    const started = pool as ModelPool | undefined;
    if (opts.pool === undefined && started !== undefined) await releaseDefaultPool(started);
    throw error;
  }
  return new SparkUdfImpl({
    ...setup,
    modelUri,
    pool,
    ownsPool: opts.pool === undefined,
    callerStart,
    opts,
  });
}

/**
 * Whether a UDF's first batches run on the calling thread while its workers start and load the
 * model: `placement: 'auto'` on the default pool (a `pool` given runs already, and is shared:
 * as is), unless isolation was asked for: `timeoutMs` or `retries` (workers only, as auto always
 * does) or an explicit `loadTimeoutMs` (a load on this thread cannot be cut when it blocks).
 */
function startsOnCaller(
  opts: ReturnType<typeof resolveSparkUdfOptions>,
  loadTimeoutGiven: boolean
): boolean {
  return (
    opts.placement === 'auto' &&
    opts.pool === undefined &&
    opts.timeoutMs === undefined &&
    opts.retries === 0 &&
    !loadTimeoutGiven
  );
}

/** True when the package is over the size auto loads on the calling thread (listing only). */
async function tooLargeForCaller(dir: string): Promise<boolean> {
  const files = await listPackageFiles(dir).catch(() => []);
  const bytes = files.reduce((sum, [, size]) => sum + size, 0);
  return bytes > kDefaultCostModelOptions.maxCallerModelBytes;
}

interface UdfSetup {
  modelUri: string;
  modelKey: string;
  modelBytes: number;
  inputSchema: SignatureSchema | null;
  resultType: ResultType;
  params: Params;
  /** The pool, or undefined until the UDF starts the default one (see `startsOnCaller`). */
  pool: ModelPool | undefined;
  ownsPool: boolean;
  /** The first batches run on the calling thread while the workers start. */
  callerStart: boolean;
  opts: ReturnType<typeof resolveSparkUdfOptions>;
}

/** The batch handler module, compiled (resolved once). */
let batchHandler: string | undefined;
function batchHandlerUrl(): string {
  batchHandler ??= compiledUrl(new URL('./score-batch.js', import.meta.url)).href;
  return batchHandler;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The batch buffer of a task whose columns are all in shared memory already (nothing copied). */
const kNoCopy = new SharedArrayBuffer(0);

/**
 * Auto's start leaves the model loaded on the calling thread; when that load took at most this
 * long, the first batch auto places here once it has moved here after the start (a probe while
 * it measures uses the start's copy) loads a fresh copy and releases the start's
 * (`CallerScorer.renew`). Why: V8 optimizes each loaded copy of a model's code on its own, and
 * the copy that ran the start (small batches, one at a time, beside booting workers) ran the
 * linear model at 0.47-0.74x its own `predict` in 8 processes of 8, a fresh copy at
 * 0.88-1.11x in 16 (benchmarks/caller.mjs, issue 9). A longer load is not repeated: its second
 * run would cost more than a slower copy is likely to. Nor is a load that would not copy the
 * model's code (`CallerScorer.reloadGivesNewCode`: an ES module bundle, an ONNX model).
 */
const kRenewCallerMaxLoadMs = 250;

/**
 * The UDF's machinery for callers inside jsfunc that run their own kinds of task on its pool
 * with its model (file scoring: `score/score-files.ts`). Not part of the public API.
 */
export interface UdfInternals {
  /** Runs one task: see `SparkUdfImpl.runTask`. */
  runTask<V>(handler: string, fields: object): Promise<TaskSuccess<V>>;
  /** Retries crashed workers: see `SparkUdfImpl.withRetries`. */
  withRetries<R>(position: TaskPosition | null, attempt: () => Promise<R>): Promise<R>;
  /** Counts a task's rows in `stats()`. */
  countRows(threadId: number, rows: number): void;
  /** The model's input signature. */
  readonly inputSchema: SignatureSchema | null;
  /** The model's identity: package content hash, config overrides and predict function. */
  readonly modelKey: string;
  /** The filled options (workers, batch size, in-flight bound, signal, warn). */
  readonly options: ReturnType<typeof resolveSparkUdfOptions>;
}

/**
 * The {@link UdfInternals} of a UDF made by {@link sparkUdf}.
 *
 * @param udf - the UDF
 * @returns its internals
 * @throws {ModelError} E_INTERNAL for an object that sparkUdf did not make
 */
export function udfInternals(udf: SparkUdf): UdfInternals {
  if (!(udf instanceof SparkUdfImpl)) {
    throw new ModelError('E_INTERNAL', 'udfInternals: not a UDF made by sparkUdf');
  }
  return udf;
}

class SparkUdfImpl implements SparkUdf, UdfInternals {
  readonly modelUri: string;
  readonly resultType: ResultType;
  readonly arrowType: DataType;
  readonly params: Params;
  readonly #s: UdfSetup;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #calls = new Set<Promise<unknown>>();
  readonly #cancel = new AbortController();
  /**
   * Follows `options.signal`. Tasks listen here, not on the user's signal: one listener there
   * per UDF (removed by close()) instead of one per task in flight, which passed Node's limit
   * of 10 listeners (a MaxListenersExceededWarning) with 6 workers at the default in-flight bound.
   */
  readonly #userAbort = new AbortController();
  readonly #forwardAbort = (): void => this.#userAbort.abort();
  readonly #warned = new Set<string>();
  readonly #stats = {
    batches: 0,
    rows: 0,
    modelLoads: 0,
    loadMs: 0,
    predictMs: 0,
    waitMs: 0,
    failures: 0,
    retries: 0,
  };
  readonly #perWorker = new Map<number, WorkerStats>();
  readonly #caller = { batches: 0, rows: 0, predictMs: 0 };
  /** Input slabs of the tasks sent to workers (see `slab-pool.ts`). */
  readonly #slabs: SlabPool;
  /** Slabs the workers write fixed-width results into (`score-batch.ts`). */
  readonly #resultSlabs: SlabPool;
  /** Where each batch runs (see `placement-model.ts`). */
  readonly #placement: CostModel;
  /** The model on this thread, loaded on the first batch placed here. */
  readonly #callerScorer: CallerScorer;
  /** The start ended with the model loaded here: the next batch here first loads a fresh copy. */
  #renewCallerDue = false;
  /** Worker tasks posted and not yet settled (a task posted while all W are busy waits). */
  #workerTasks = 0;
  /** Worker tasks started so far (tells whether one ran beside a batch on this thread). */
  #workerTasksStarted = 0;
  /**
   * Milliseconds this thread spent copying task inputs and scoring batches itself: a worker's
   * reply that arrives meanwhile waits, and the placement model must not count that as trip.
   */
  #busyMs = 0;
  /** Resolved when no worker task of this UDF is in flight (see `#workersIdle`). */
  readonly #idleWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  /** True once close() has released the pool. */
  #closed = false;
  /** The pool once started (the default pool starts late when batches start on this thread). */
  #pool: ModelPool | undefined;
  /**
   * The start on the calling thread (auto): batches run here one at a time until a worker has
   * the model loaded. `busy`: a batch is running here; `waiters`: batches waiting for this
   * thread or for the end of the start; `deferredWarning`: this thread could not load the model,
   * said once a worker scored a batch (if none can, the batch's error says it all).
   */
  readonly #start = {
    busy: false,
    waiters: [] as (() => void)[],
    deferredWarning: null as string | null,
  };

  constructor(setup: UdfSetup) {
    this.#s = setup;
    this.modelUri = setup.modelUri;
    this.resultType = setup.resultType;
    this.arrowType = resultTypeToArrow(setup.resultType);
    this.params = setup.params;
    const { opts } = setup;
    // Every task in flight listens to these two (unbounded: the in-flight bound is the user's).
    setMaxListeners(0, this.#cancel.signal, this.#userAbort.signal);
    if (opts.signal?.aborted === true) this.#userAbort.abort();
    else opts.signal?.addEventListener('abort', this.#forwardAbort, { once: true });
    this.#slabs = new SlabPool({ maxFree: opts.workers * opts.inFlightPerWorker });
    this.#resultSlabs = new SlabPool({ maxFree: opts.workers * opts.inFlightPerWorker });
    // timeoutMs and retries only work on workers (a synchronous predict on this thread cannot
    // be cut, and a crash here is not a worker's): auto then never leaves the workers.
    const pinned =
      opts.timeoutMs !== undefined
        ? 'timeoutMs is set: batches stay on the workers, where a batch can be cut'
        : opts.retries > 0
          ? 'retries is set: batches stay on the workers, where a crash can be retried'
          : null;
    this.#placement = new CostModel(
      opts.placement,
      { workers: opts.workers, cores: availableParallelism(), modelBytes: setup.modelBytes },
      {},
      pinned
    );
    this.#callerScorer = new CallerScorer({
      modelUri: setup.modelUri,
      modelConfig: opts.modelConfig,
      predictFn: opts.predictFn,
      resultType: setup.resultType,
      params: setup.params,
      warn: (message) => this.#warnOnce(message),
      loadTimeoutMs: opts.loadTimeoutMs,
    });
    this.#pool = setup.pool;
    if (setup.callerStart) this.#placement.beginCallerStart();
    else if (this.#pool === undefined) this.#startWorkers();
  }

  /**
   * The pool, started now if it was not yet (the default pool, acquired late when batches
   * start on this thread; its workers then each get a warm-up task that loads the model).
   */
  #startWorkers(): ModelPool {
    if (this.#pool !== undefined) return this.#pool;
    // A call draining during close() may still start them (close releases the pool after it).
    if (this.#closed) throw this.#closedError();
    const pool = acquireDefaultPool(this.#s.opts.workers);
    this.#pool = pool;
    if (this.#placement.starting) this.#warmWorkers();
    return pool;
  }

  /**
   * One warm-up task per worker (`pool/warm-up.ts`: the model loaded into its cache under the
   * key batches use): the first to succeed ends the start on this thread; so does the last to
   * fail (the batches then go to the workers, which report the error). Counted in `stats()`
   * like any task's load; never waited for by close().
   */
  #warmWorkers(): void {
    const runs = Array.from({ length: this.#s.opts.workers }, () =>
      this.runTask(warmUpHandlerUrl(), {})
    );
    for (const run of runs) {
      run.then(
        () => this.#endCallerStart(),
        () => undefined
      );
    }
    void Promise.allSettled(runs).then(() => this.#endCallerStart());
  }

  /** Ends the start on this thread: batches waiting for this thread go to the workers. */
  #endCallerStart(): void {
    if (!this.#placement.starting) return;
    this.#placement.endCallerStart();
    const scorer = this.#callerScorer;
    this.#renewCallerDue =
      scorer.loaded && scorer.loadMs <= kRenewCallerMaxLoadMs && scorer.reloadGivesNewCode;
    for (const wake of this.#start.waiters.splice(0)) wake();
  }

  /**
   * During the start: waits for this thread to be free (true: the batch runs here, release it
   * with {@link #releaseCaller}) or for the start to end (false: the batch is placed as usual).
   */
  async #callerTurn(): Promise<boolean> {
    for (;;) {
      if (!this.#placement.starting) return false;
      if (!this.#start.busy) {
        this.#start.busy = true;
        return true;
      }
      // More than one batch to score: the workers are needed, start them now.
      this.#startWorkers();
      await new Promise<void>((resolve) => this.#start.waiters.push(resolve));
    }
  }

  #releaseCaller(): void {
    this.#start.busy = false;
    this.#start.waiters.shift()?.();
  }

  /**
   * The model on this thread during the start. A failed load ends the start (the batches go to
   * the workers); its warning waits for a worker to succeed where this thread failed.
   */
  async #startCallerReady(): Promise<boolean> {
    const failure = await this.#loadCaller();
    if (failure === null) return true;
    this.#start.deferredWarning = failure;
    this.#endCallerStart();
    this.#startWorkers();
    return false;
  }

  /**
   * Loads the model on this thread (once; later calls reuse it).
   *
   * @returns null when it loaded, else the warning that scoring stays on the workers
   */
  async #loadCaller(): Promise<string | null> {
    try {
      await this.#callerScorer.model();
      this.#placement.callerLoaded();
      return null;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#placement.callerFailed(message);
      return `placement 'auto': the model could not be loaded on the calling thread (${message}); scoring stays on the workers`;
    }
  }

  apply(input: UdfInput, columns?: readonly string[]): Promise<Vector | object> {
    return this.#call(async () => {
      const frame = toArrowInput(input, modelColumns(this.#s.inputSchema, columns));
      const danfo = isDanfoFrame(input);
      const vector = await this.#scoreTable(frame?.table ?? toArrowTable(input), columns);
      if (frame !== null) return frame.fromVector(vector);
      return danfo ? vectorToDanfoSeries(vector) : vector;
    });
  }

  withColumn(input: UdfInput, name: string, columns?: readonly string[]): Promise<Table | object> {
    return this.#call(async () => {
      if (typeof name !== 'string' || name === '') {
        throw new ModelError(
          'E_OPTION_INVALID',
          `withColumn name must be a non-empty string, got ${String(name)}`
        );
      }
      const frame = toArrowInput(input, modelColumns(this.#s.inputSchema, columns));
      const danfo = isDanfoFrame(input);
      const table = frame?.table ?? toArrowTable(input);
      const vector = await this.#scoreTable(table, columns);
      if (frame !== null) return frame.withColumn(name, vector);
      // As Spark's withColumn: a column of that name is replaced in place, else appended.
      const at = table.schema.fields.findIndex((f) => f.name === name);
      const out =
        at < 0
          ? table.assign(new Table({ [name]: vector }))
          : new Table(
              Object.fromEntries(
                table.schema.fields.map((f, i) => [
                  f.name,
                  i === at ? vector : table.getChildAt(i)!,
                ])
              )
            );
      return danfo ? tableToDanfo(out) : out;
    });
  }

  async *mapBatches(
    source: AsyncIterable<RecordBatch> | Iterable<RecordBatch> | object,
    options: MapBatchesOptions = {}
  ): AsyncGenerator<RecordBatch, void, undefined> {
    // Frames first: a Polars DataFrame is iterable and would otherwise be read as rows.
    const frames = toBatchSource(source, this.#s.opts.batchSize);
    if (frames !== null) {
      const scored = this.mapBatches(frames.batches, options);
      return yield* frames.wrap(scored) as AsyncGenerator<RecordBatch, void, undefined>;
    }
    this.#assertOpen();
    const outputColumn = options.outputColumn ?? 'prediction';
    const columns = options.columns;
    const { batchSize } = this.#s.opts;
    const inputSchema = this.#s.inputSchema;
    let mapping: ColumnMapping | undefined;
    let mappedFor: Schema | undefined;
    async function* slices(): AsyncGenerator<{ batch: RecordBatch; slice: Slice }> {
      let rowStart = 0;
      let batchIndex = 0;
      for await (const batch of source as AsyncIterable<RecordBatch>) {
        if (mapping === undefined || !sameNames(mappedFor!, batch.schema)) {
          mapping = resolveColumns(inputSchema, batch.schema, columns as string[] | undefined);
          mappedFor = batch.schema;
        }
        const n = batch.numRows;
        const pieces = n === 0 ? 1 : Math.ceil(n / batchSize);
        for (let i = 0; i < pieces; i++) {
          const a = Math.floor((i * n) / pieces);
          const b = Math.floor(((i + 1) * n) / pieces);
          const piece = pieces === 1 ? batch : batch.slice(a, b);
          yield {
            batch: piece,
            slice: {
              source: new Table(piece),
              sourceStart: rowStart + a,
              mapping,
              batchIndex: batchIndex++,
              rowStart: rowStart + a,
              rowEnd: rowStart + b,
            },
          };
        }
        rowStart += n;
      }
    }
    const scored = this.#ordered(
      slices(),
      async (item) => ({ batch: item.batch, vector: await this.#scoreSlice(item.slice) }),
      true
    );
    for await (const { batch, vector } of scored) {
      yield appendResultColumn(batch, outputColumn, vector);
    }
  }

  stats(): SparkUdfStats {
    const p = this.#placement;
    return {
      ...this.#stats,
      perWorker: [...this.#perWorker.values()].map((w) => ({ ...w })),
      placement: {
        mode: p.mode,
        current: p.current,
        workers: p.workers,
        reason: p.reason,
        switches: p.switches,
        probes: p.probes,
        callerBatches: this.#caller.batches,
        callerRows: this.#caller.rows,
        callerPredictMs: this.#caller.predictMs,
        callerLoads: this.#callerScorer.loads,
        callerLoadMs: this.#callerScorer.loadMs,
        costs: p.estimates(),
        forecast: p.lastForecast === null ? null : { ...p.lastForecast },
      },
      slabs: this.#slabs.stats(),
      resultSlabs: this.#resultSlabs.stats(),
    };
  }

  close(options: CloseOptions = {}): Promise<void> {
    if (options.cancel === true) this.#cancel.abort();
    this.#closing ??= (async () => {
      // Calls already started finish (their remaining tasks still run); then pending tasks.
      await Promise.allSettled([...this.#calls]);
      await Promise.allSettled([...this.#inFlight]);
      this.#slabs.close();
      this.#resultSlabs.close();
      await this.#callerScorer.close();
      this.#s.opts.signal?.removeEventListener('abort', this.#forwardAbort);
      this.#closed = true;
      if (this.#s.ownsPool && this.#pool !== undefined) await releaseDefaultPool(this.#pool);
    })();
    return this.#closing;
  }

  /** Runs a finite call (apply, withColumn) that close() waits for. */
  #call<T>(body: () => Promise<T>): Promise<T> {
    try {
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = body();
    const tracked = promise.then(
      () => undefined,
      () => undefined
    );
    this.#calls.add(tracked);
    void tracked.then(() => this.#calls.delete(tracked));
    return promise;
  }

  #closedError(): ModelError {
    return new ModelError('E_POOL_CLOSED', `The UDF for ${this.modelUri} is closed`, {
      details: { modelUri: this.modelUri },
    });
  }

  #assertOpen(): void {
    if (this.#closing !== undefined || this.#pool?.closed === true) throw this.#closedError();
    if (this.#s.opts.signal?.aborted === true) throw this.#aborted();
  }

  async #scoreTable(table: Table, columns: readonly string[] | undefined): Promise<Vector> {
    // Resolve before any batch runs: missing required columns fail here.
    const mapping = resolveColumns(
      this.#s.inputSchema,
      table.schema,
      columns as string[] | undefined
    );
    const opts = this.#s.opts;
    let sizes = planTaskSizes(table.numRows, opts);
    if (sizes.length === 0) return emptyVector(this.arrowType);
    // One plan of the whole input (a column that cannot cross fails here, as the first task's
    // error, whatever the placement): what a row costs to move, without planning every slice.
    const input = mappedColumns(table, mapping);
    const first = { batchIndex: 0, rowStart: 0, rowEnd: sizes[0]! };
    const whole = await this.withRetries(first, () =>
      Promise.resolve(planTable(input, { shared: true }))
    );
    const inputBytesPerRow = bytesPerRow(input);
    if (whole.copiedBytes === 0) {
      // Already in shared memory: a task copies nothing, so small tasks would only pay the
      // per-task cost (messages, decoding, a result buffer each) and the model's per-call
      // cost. One task per worker: 2M rows of the linear model on 2 workers ran 8-12% faster
      // in 2 tasks than in 4, in 6 runs out of 6 (issue 9).
      const batchSize = callerMergeRows(opts.sharedBatchSize, inputBytesPerRow);
      if (batchSize > opts.batchSize) {
        sizes = planTaskSizes(table.numRows, { ...opts, batchSize, minTasksPerWorker: 1 });
      }
    }
    // The mapped input: its slices need no projection of their own.
    const slices = slicesOf(input, mapping, sizes);
    const mergeRows = callerMergeRows(
      opts.callerBatchSize,
      castBytesPerRow(input, mapping, this.#s.inputSchema)
    );
    const shape: TaskShape = {
      rows: sizes[0]!,
      copiedBytes: Math.round((whole.copiedBytes / table.numRows) * sizes[0]!),
      // More rows than one merged batch: the calling thread copies its parts into one array too.
      assembled: table.numRows > mergeRows && isCopiedResultType(this.arrowType),
    };
    for (const slice of slices) slice.shape = shape;
    const result = new ResultAssembler(this.arrowType, table.numRows);
    if (slices.length > 1) for (const s of slices) s.target = { result, at: s.rowStart };
    const run = (s: Slice): Promise<Vector[]> =>
      s.parts === undefined ? this.#scoreSlice(s).then((v) => [v]) : this.#scoreMerged(s);
    for await (const vs of this.#ordered(this.#callerMerged(slices, mergeRows), run)) {
      for (const v of vs) result.add(v);
    }
    return result.finish();
  }

  /**
   * The call's slices, consecutive ones merged up to `cap` rows (`callerMergeRows`) while batches run on
   * this thread: the split into tasks exists to spread rows over workers, and on this thread
   * it only costs (the model's per-call work, cache effects). Decided as the slices are pulled,
   * so a switch of placement mid-call takes effect from the next batch. Never during the start,
   * whose batches must stay small for the workers' boot to overlap them.
   */
  *#callerMerged(slices: Slice[], cap: number): Generator<Slice> {
    for (let i = 0; i < slices.length;) {
      const first = slices[i]!;
      let end = i + 1;
      if (this.#placement.current === 'caller' && !this.#placement.starting) {
        while (end < slices.length && slices[end]!.rowEnd - first.rowStart <= cap) end++;
      }
      yield end === i + 1 ? first : mergedSlice(slices.slice(i, end));
      i = end;
    }
  }

  /**
   * A merged batch: one call on this thread when the placement keeps it here; otherwise (a
   * probe of the workers, a switch) or when it fails, its planned slices one by one, so that
   * results, errors and their row ranges are those of an unmerged call.
   */
  async #scoreMerged(merged: Slice): Promise<Vector[]> {
    const parts = merged.parts!;
    const rows = merged.rowEnd - merged.rowStart;
    // Decided for one task, as the workers would run it: the merged size would spread a
    // worker's per-task costs over more rows than a task of theirs ever has.
    const decision = this.#placement.decide(merged.shape!);
    if (decision.placement === 'caller' && !decision.probe && (await this.#callerReady())) {
      try {
        const table = mappedColumns(tableOf(merged), merged.mapping);
        return [await this.#scoreOnCaller(table, merged.mapping, rows)];
      } catch {
        // Re-run task by task, stopping at the first failure, which reports its own rows.
        const out: Vector[] = [];
        for (const part of parts) out.push(await this.#scoreSlice(part));
        return out;
      }
    }
    // Elsewhere: the first part takes this decision. A probe of the workers takes that part
    // only, the rest stays merged here; after a switch, the others decide for themselves. All
    // are in flight together, as unmerged tasks would be, and the first failure in row order is
    // the one reported.
    const [head, ...tail] = parts;
    const probeOnly = decision.probe && decision.placement === 'workers' && tail.length > 1;
    const settled = probeOnly
      ? [
          this.#track(this.#scoreSlice(head!, decision)),
          this.#track(this.#scoreMerged(mergedSlice(tail))),
        ]
      : parts.map((part, k) => this.#track(this.#scoreSlice(part, k === 0 ? decision : undefined)));
    const out: Vector[] = [];
    for (const s of settled) {
      const r = await s;
      if (!r.ok) throw r.error;
      out.push(...(Array.isArray(r.value) ? r.value : [r.value]));
    }
    return out;
  }

  /**
   * Runs `run` over `items` with at most `workers * inFlightPerWorker` pending, yielding results
   * in item order. On the first failure it stops pulling items and throws; tasks already
   * submitted finish in the background (`close()` waits for them). With `stopOnClose` (streams,
   * which may never end), a close() stops pulling: what was submitted is still yielded, then
   * the stream fails with E_POOL_CLOSED rather than ending as if complete.
   */
  async *#ordered<T, R>(
    items: AsyncIterable<T> | Iterable<T>,
    run: (item: T) => Promise<R>,
    stopOnClose = false
  ): AsyncGenerator<R> {
    // On the workers: the workers that pay off, `inFlightPerWorker` tasks each. On this thread:
    // 2, so that an occasional worker probe overlaps the next batch scored here.
    const limit = () =>
      this.#placement.current === 'caller'
        ? 2
        : this.#placement.workers * this.#s.opts.inFlightPerWorker;
    const iterator =
      Symbol.asyncIterator in items
        ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
        : (items as Iterable<T>)[Symbol.iterator]();
    const queue: Promise<Settled<R>>[] = [];
    let exhausted = false;
    let stopped = false;
    try {
      for (;;) {
        while (!exhausted && queue.length < limit()) {
          if (this.#cancel.signal.aborted || this.#pool?.closed === true) {
            throw this.#closedError();
          }
          if (stopOnClose && this.#closing !== undefined) {
            exhausted = stopped = true;
            break;
          }
          const next = await iterator.next();
          if (next.done === true) {
            exhausted = true;
            break;
          }
          queue.push(this.#track(run(next.value)));
        }
        const head = queue.shift();
        if (head === undefined) {
          if (stopped) throw this.#closedError();
          return;
        }
        const settled = await head;
        if (!settled.ok) throw settled.error;
        yield settled.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  #track<R>(promise: Promise<R>): Promise<Settled<R>> {
    const settled = promise.then(
      (value): Settled<R> => ({ ok: true, value }),
      (error: unknown): Settled<R> => ({ ok: false, error })
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return settled;
  }

  async #scoreSlice(slice: Slice, decided?: Decision): Promise<Vector> {
    if (slice.rowEnd === slice.rowStart) return emptyVector(this.arrowType);
    const rows = slice.rowEnd - slice.rowStart;
    let input: { table: Table; plan: TablePlan | undefined } | undefined;
    return this.withRetries(slice, async () => {
      input ??= { table: mappedColumns(tableOf(slice), slice.mapping), plan: undefined };
      const mapped = input;
      const plan = () => (mapped.plan ??= planTable(mapped.table, { shared: true }));
      // What moving the batch would copy decides where it runs. Without the call's estimate
      // (a stream's batch) the slice is planned first, whatever the placement, so that a
      // column that cannot cross fails the same way on both sides.
      const shape = slice.shape ?? { rows, copiedBytes: plan().copiedBytes };
      if (this.#placement.starting && (await this.#callerTurn())) {
        // The start: this thread scores while the workers start and load the model.
        try {
          if (await this.#startCallerReady()) {
            return await this.#scoreOnCaller(mapped.table, slice.mapping, rows, false);
          }
        } finally {
          this.#releaseCaller();
          if (this.#pool === undefined) {
            // After the result is handed over: booting threads would slow this thread down.
            setImmediate(() => {
              if (this.#closing === undefined) this.#startWorkers();
            });
          }
        }
      }
      const decision = decided ?? this.#placement.decide(shape);
      decided = undefined; // a retry decides again
      if (decision.placement === 'caller' && (await this.#callerReady())) {
        // A probe measures this thread alone, as it would run once placed here.
        if (decision.probe) await this.#workersIdle();
        return this.#scoreOnCaller(mapped.table, slice.mapping, rows);
      }
      return this.#scoreOnWorkers(plan(), slice.mapping, rows, slice.target);
    });
  }

  /**
   * Whether this thread can score: with `placement: 'caller'` always (a failed load is the
   * batch's error); with `'auto'`, once the model loaded here. A load that fails under auto
   * is not the caller's problem: it is reported as a warning and batches stay on the workers.
   */
  async #callerReady(): Promise<boolean> {
    if (this.#callerScorer.loaded || this.#placement.mode === 'caller') return true;
    const failure = await this.#loadCaller();
    if (failure !== null) this.#warnOnce(failure);
    return failure === null;
  }

  /** Length check of a batch's result (as the workers' `predictColumn` does it). */
  #checkLength(vector: Vector, rows: number): void {
    if (vector.length !== rows) {
      throw new ModelError(
        'E_MODEL_OUTPUT',
        `Model output has ${vector.length} values for a batch of ${rows} rows`,
        { details: { expected: rows, found: vector.length } }
      );
    }
  }

  /**
   * One batch on a worker. Its columns are copied into a slab leased for the task; the slab
   * goes back to the pool once the worker answered (a reply or an error reply: the handler is
   * done with it), and is dropped when the task ended without an answer (crash, timeout,
   * abort): terminating a worker is asynchronous, so its thread may still be reading.
   */
  async #scoreOnWorkers(
    plan: TablePlan,
    mapping: ColumnMapping,
    rows: number,
    target: ResultTarget | undefined
  ): Promise<Vector> {
    const queued = this.#workerTasks >= this.#s.opts.workers;
    this.#workerTasks++;
    this.#workerTasksStarted++;
    const slab = plan.copiedBytes > 0 ? this.#slabs.lease(plan.copiedBytes) : undefined;
    // A fixed-width result comes back through a result slab; the call's result array is only
    // allocated when the first reply is there (see ResultAssembler.slabClass).
    const Values = target?.result.slabClass();
    const resultSlab =
      Values === undefined ? undefined : this.#resultSlabs.lease(rows * Values.BYTES_PER_ELEMENT);
    let answered = false;
    try {
      const encodeStart = performance.now();
      const task: Omit<ScoreBatchTask, keyof ModelTaskFields | 'handler'> = {
        table: plan.finish(slab ?? kNoCopy),
        mapping,
        ...(resultSlab === undefined
          ? {}
          : { result: { buffer: resultSlab, type: String(this.arrowType), length: rows } }),
      };
      const encodeMs = performance.now() - encodeStart;
      this.#busyMs += encodeMs;
      const busyBefore = this.#busyMs;
      const { reply, elapsed } = await this.#dispatch<ScoreBatchResult>(batchHandlerUrl(), task);
      const busyMs = this.#busyMs - busyBefore;
      answered = true;
      if (!reply.ok) throw deserializeError(reply.error);
      const resultStart = performance.now();
      const vector =
        reply.value.written === true
          ? target!.result.write(target!.at, resultSlab!, rows)
          : decodeVector(reply.value.vector!);
      const resultMs = performance.now() - resultStart;
      this.#checkLength(vector, rows);
      this.#placement.observeWorkers({
        rows,
        copiedBytes: plan.copiedBytes,
        encodeMs,
        resultMs,
        elapsedMs: elapsed,
        busyMs,
        handlerMs: reply.value.handlerMs,
        predictMs: reply.predictMs,
        convertMs: reply.value.convertMs,
        loadMs: reply.loadMs,
        queued,
      });
      this.countRows(reply.threadId, rows);
      if (this.#start.deferredWarning !== null) {
        this.#warnOnce(this.#start.deferredWarning);
        this.#start.deferredWarning = null;
      }
      return vector;
    } finally {
      this.#workerTasks--;
      if (this.#workerTasks === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
      // Answered: the worker is done with both (a written result was copied out above).
      for (const [pool, leased] of [
        [this.#slabs, slab],
        [this.#resultSlabs, resultSlab],
      ] as const) {
        if (leased === undefined) continue;
        if (answered) pool.release(leased);
        else pool.discard(leased);
      }
    }
  }

  /** Resolves once none of this UDF's worker tasks is in flight. */
  #workersIdle(): Promise<void> {
    if (this.#workerTasks === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** One batch on this thread (see `placement-caller.ts`). */
  async #scoreOnCaller(
    table: Table,
    mapping: ColumnMapping,
    rows: number,
    observe = true
  ): Promise<Vector> {
    // What runTask checks before posting a task, with the same errors.
    if (this.#cancel.signal.aborted) throw this.#abortError('close', undefined);
    if (this.#s.opts.signal?.aborted === true) throw this.#aborted();
    // Once auto has moved here (not for a probe while measuring: the start's copy is warm, and
    // a fresh copy's first batches would overstate what this thread costs).
    let fresh = false;
    if (
      this.#renewCallerDue &&
      this.#placement.current === 'caller' &&
      !this.#placement.starting &&
      this.#callerScorer.idle
    ) {
      this.#renewCallerDue = false;
      fresh = await this.#callerScorer.renew();
    }
    const started = performance.now();
    // Alone: no worker task in flight now, and none started until the batch is done.
    const alone = this.#workerTasks === 0 ? this.#workerTasksStarted : -1;
    const result = await this.#callerScorer.score(table, mapping);
    this.#busyMs += performance.now() - started;
    this.#checkLength(result.vector, rows);
    // What this thread costs alone: batches of the start share the cores with booting workers,
    // and one that ran beside a worker task (the tail of a switch, a probe) shared them too. A
    // fresh copy's first batch runs code V8 has not optimized yet: not a sample either.
    if (observe && !fresh && alone === this.#workerTasksStarted)
      this.#placement.observeCaller({ rows, computeMs: result.predictMs + result.convertMs });
    this.#caller.batches++;
    this.#caller.rows += rows;
    this.#caller.predictMs += result.predictMs;
    this.#stats.batches++;
    this.#stats.rows += rows;
    this.#stats.predictMs += result.predictMs;
    this.#stats.waitMs += result.convertMs;
    return result.vector;
  }

  /**
   * Runs `attempt`, re-running it after a worker crash up to `retries` times; a final failure
   * is counted and re-thrown with the task's position (batch index, rows, model).
   *
   * @param position - where the task's rows are, for the error; null: re-throw as is
   * @param attempt - one try
   * @returns the attempt's result
   */
  async withRetries<R>(position: TaskPosition | null, attempt: () => Promise<R>): Promise<R> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (ModelError.is(error) && error.code === 'E_WORKER_CRASHED' && n < this.#s.opts.retries) {
          this.#stats.retries++;
          continue;
        }
        this.#stats.failures++;
        throw position === null ? error : this.#withBatch(error, position);
      }
    }
  }

  /** The model's identity: package content hash, config overrides and predict function. */
  get modelKey(): string {
    return this.#s.modelKey;
  }

  /** The model's input signature (null without one). */
  get inputSchema(): SignatureSchema | null {
    return this.#s.inputSchema;
  }

  /** The filled options. */
  get options(): UdfSetup['opts'] {
    return this.#s.opts;
  }

  /** Counts a successful task's rows (overall and for its worker). */
  countRows(threadId: number, rows: number): void {
    this.#stats.batches++;
    this.#stats.rows += rows;
    const w = this.#perWorker.get(threadId);
    if (w !== undefined) {
      w.batches++;
      w.rows += rows;
    }
  }

  /**
   * Runs one task on the pool with this UDF's model, timeout, abort signal and accounting:
   * the task's own fields plus the model fields every task carries. Worker warnings are
   * re-emitted once each; a failed task throws its (deserialized) error.
   *
   * @param handler - `file:` URL of the compiled handler module
   * @param fields - the handler's own task fields
   * @returns the successful reply (value and worker stats)
   * @throws {ModelError} the task's error; E_TIMEOUT, E_ABORTED, E_POOL_CLOSED, E_WORKER_CRASHED
   */
  async runTask<V>(handler: string, fields: object): Promise<TaskSuccess<V>> {
    const { reply } = await this.#dispatch<V>(handler, fields);
    if (!reply.ok) throw deserializeError(reply.error);
    return reply;
  }

  /**
   * {@link runTask} without the last step: the worker's reply, success or failure, and the
   * milliseconds from posting the task to the reply.
   *
   * @throws {ModelError} E_TIMEOUT, E_ABORTED, E_POOL_CLOSED, E_WORKER_CRASHED: the task ended
   *   without a reply
   */
  async #dispatch<V>(
    handler: string,
    fields: object
  ): Promise<{ reply: TaskReply<V>; elapsed: number }> {
    const { opts } = this.#s;
    const pool = this.#startWorkers();
    const controller = new AbortController();
    let reason: 'timeout' | 'load' | 'abort' | 'close' | undefined;
    const onAbort = () => {
      reason ??= 'abort';
      controller.abort();
    };
    const onCancel = () => {
      reason ??= 'close';
      controller.abort();
    };
    this.#userAbort.signal.addEventListener('abort', onAbort, { once: true });
    this.#cancel.signal.addEventListener('abort', onCancel, { once: true });
    if (this.#userAbort.signal.aborted) onAbort();
    if (this.#cancel.signal.aborted) onCancel();
    // The worker reports when it starts the task and when a model load starts and ends: the
    // timeout covers running the task (not waiting behind the other in-flight tasks), the load
    // timeout covers the load, and a load finished by a worker that then died is still counted.
    const progress = createTaskProgress();
    const stopWatch = watchTask(
      progress,
      { timeoutMs: opts.timeoutMs, loadTimeoutMs: opts.loadTimeoutMs },
      (limit) => {
        reason ??= limit === 'load' ? 'load' : 'timeout';
        controller.abort();
      }
    );
    const task: PoolTask & ModelTaskFields = {
      ...fields,
      handler,
      modelPath: this.modelUri,
      modelKey: this.#s.modelKey,
      modelBytes: this.#s.modelBytes,
      resultType: this.resultType,
      params: this.params,
      ...(opts.modelConfig !== undefined ? { modelConfig: opts.modelConfig } : {}),
      ...(opts.predictFn !== undefined ? { predictFn: opts.predictFn } : {}),
      progress,
    };
    const t0 = performance.now();
    let reply: TaskReply<V>;
    try {
      reply = await pool.run<TaskReply<V>>(task, { signal: controller.signal });
    } catch (error) {
      this.#accountLostLoad(progress);
      if (controller.signal.aborted && reason !== undefined) throw this.#abortError(reason, error);
      throw error;
    } finally {
      stopWatch();
      this.#userAbort.signal.removeEventListener('abort', onAbort);
      this.#cancel.signal.removeEventListener('abort', onCancel);
    }
    const elapsed = performance.now() - t0;
    for (const message of reply.warnings ?? []) this.#warnOnce(message);
    this.#account(reply, elapsed);
    return { reply, elapsed };
  }

  /** Emits a warning once per UDF (workers and this thread alike). */
  #warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#s.opts.warn(message);
  }

  #worker(threadId: number): WorkerStats {
    let w = this.#perWorker.get(threadId);
    if (w === undefined) {
      w = { threadId, batches: 0, rows: 0, loads: 0, loadMs: 0, predictMs: 0 };
      this.#perWorker.set(threadId, w);
    }
    return w;
  }

  /**
   * Counts the model load of a task that ended without a reply (its worker died, or it was
   * aborted): the worker reported the completed load through the task's progress array.
   */
  #accountLostLoad(progress: TaskProgress): void {
    const load = completedLoad(progress);
    if (load === null) return;
    const w = this.#worker(load.threadId);
    this.#stats.modelLoads++;
    w.loads++;
    this.#stats.loadMs += load.loadMs;
    w.loadMs += load.loadMs;
  }

  #account(reply: TaskReply<unknown>, elapsed: number): void {
    const w = this.#worker(reply.threadId);
    if (reply.loaded) {
      this.#stats.modelLoads++;
      w.loads++;
    }
    this.#stats.loadMs += reply.loadMs;
    w.loadMs += reply.loadMs;
    this.#stats.predictMs += reply.predictMs;
    w.predictMs += reply.predictMs;
    this.#stats.waitMs += Math.max(0, elapsed - reply.loadMs - reply.predictMs);
  }

  #abortError(reason: 'timeout' | 'load' | 'abort' | 'close', cause: unknown): ModelError {
    if (reason === 'load') {
      const { loadTimeoutMs } = this.#s.opts;
      return new ModelError(
        'E_LOAD_TIMEOUT',
        `Loading the model ${this.modelUri} on a worker took longer than loadTimeoutMs=${loadTimeoutMs}; the worker was terminated`,
        { cause, details: { loadTimeoutMs, modelUri: this.modelUri } }
      );
    }
    if (reason === 'timeout') {
      return new ModelError(
        'E_TIMEOUT',
        `A batch ran longer than timeoutMs=${this.#s.opts.timeoutMs}; its worker was terminated`,
        {
          cause,
          details: { timeoutMs: this.#s.opts.timeoutMs },
        }
      );
    }
    if (reason === 'close')
      return new ModelError(
        'E_POOL_CLOSED',
        `The UDF for ${this.modelUri} was closed with cancel`,
        { cause }
      );
    return this.#aborted(cause);
  }

  #aborted(cause?: unknown): ModelError {
    return new ModelError('E_ABORTED', `Scoring with ${this.modelUri} was aborted`, {
      cause: cause ?? this.#s.opts.signal?.reason,
    });
  }

  #withBatch(error: unknown, slice: TaskPosition): ModelError {
    const base = ModelError.is(error)
      ? error
      : new ModelError('E_MODEL_PREDICT', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
    const { batchIndex, rowStart, rowEnd } = slice;
    // Rows of the caller's input, which is what the caller knows; the batch index and the
    // model stay in the details.
    const wrapped = new ModelError(
      base.code,
      `Rows ${rowStart}..${rowEnd - 1} of the input failed: ${base.message}`,
      {
        details: { ...base.details, batchIndex, rowStart, rowEnd, modelUri: this.modelUri },
        cause: base.cause ?? base,
      }
    );
    return wrapped;
  }
}

/**
 * The frame columns the model reads, for a dataframe that converts column by column (Polars:
 * one copy per converted column; its `withColumn` result is built from the whole frame, not
 * from the converted table): the explicit `columns`, or the signature's names when every
 * required input is in the frame under its exact name. Anything else converts every column, so
 * that column resolution sees the whole frame and its errors (case hints, lists of available
 * columns) stay the same.
 *
 * @param inputSchema - the model's input signature
 * @param columns - the call's explicit columns, if any
 * @returns the chooser `toArrowInput` calls with the frame's column names
 */
function modelColumns(
  inputSchema: SignatureSchema | null,
  columns: readonly string[] | undefined
): KeepColumns {
  return (names) => {
    // (A name the frame lacks makes toArrowInput convert every column.)
    if (columns !== undefined && columns.length > 0) return [...new Set(columns)];
    if (inputSchema === null || inputSchema.length === 0) return null;
    const present = new Set(names);
    const wanted: string[] = [];
    for (const spec of inputSchema) {
      if (spec.name === undefined) return null;
      const required = spec.kind === 'tensor' || spec.required;
      if (present.has(spec.name)) wanted.push(spec.name);
      else if (required) return null;
    }
    return wanted.length > 0 ? wanted : null;
  };
}

function toArrowTable(input: UdfInput): Table {
  if (isDanfoFrame(input)) return danfoToTable(input);
  // Tables and batches built by another apache-arrow copy are adopted (zero-copy), so slicing
  // and withColumn's assign() do not trip over foreign DataType instances.
  if (isArrowTableLike(input)) return adoptTable(input);
  if (isArrowRecordBatchLike(input)) return new Table(adoptRecordBatch(input));
  throw new ModelError(
    'E_INPUT_INVALID',
    'UDF input must be an Arrow Table, an Arrow RecordBatch or a danfo DataFrame',
    {
      details: { found: describeValue(input) },
    }
  );
}

function describeValue(x: unknown): string {
  if (x === null || typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'object';
}

function emptyVector(type: DataType): Vector {
  return vectorFromArray([], type) as Vector;
}

function sameNames(a: Schema, b: Schema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every(
      (f, i) => f.name === b.fields[i]!.name && f.type.typeId === b.fields[i]!.type.typeId
    )
  );
}

function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0
          )
        )
      : typeof v === 'bigint'
        ? v.toString()
        : v
  );
}
