/**
 * Options of {@link sparkUdf}: the type, its defaults and the boundary validation.
 *
 * @module
 */
import type { DataType } from 'apache-arrow';
import { availableParallelism } from 'node:os';
import { ModelError } from '../errors.js';
import { checkLoadTimeoutMs, kDefaultLoadTimeoutMs } from '../pool/load-timeout.js';
import type { ModelPool } from '../pool/pool.js';
import type { Params } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import type { PlacementMode } from './placement-model.js';

/**
 * Options of `sparkUdf(path, options)`. Every field is optional.
 *
 * **The model's input is borrowed for the call** (issue 9, item 2). On a worker, the table a
 * model's `predict` receives is a set of views of a shared-memory slab that the UDF reuses for a
 * later batch as soon as the task is answered: a model that keeps a reference to its input (the
 * table, a column, a `toArray()` view) after `predict` returns, or after the promise it returned
 * settles, sees that memory overwritten by later batches, without an error. A model must copy
 * what it keeps (`Float64Array.from(column.toArray())`, `values.slice()`). On the calling thread
 * (`placement: 'caller'`, or `'auto'` there), and for input already in shared memory
 * (`shareTable`, jsfunc's readers), the views are the caller's own table: they stay as they are
 * unless the caller changes that table. Either way the RESULT is the model's own: jsfunc never
 * returns a result that shares memory with the input or with a slab (a model that returns its
 * input column gets a copy).
 */
export interface SparkUdfOptions {
  /**
   * Type of the result column: a Spark DDL string (`'double'`, `'array<float>'`,
   * `'a int, b string'`) or an Arrow `DataType`. Default: inferred from the output signature,
   * else `double` (with a warning), as MLflow's `spark_udf`.
   */
  resultType?: string | DataType;
  /** Inference params, validated once against the params schema. Default `{}`. */
  params?: Params;
  /** Overrides of the saved model config, forwarded to loading. Default `{}`. */
  modelConfig?: Record<string, unknown>;
  /** Name of the model method to call. Default: the package's saved `predict_fn`. */
  predictFn?: string;
  /** Worker threads of the default pool used. Default `os.availableParallelism()`. Ignored with `pool`. */
  workers?: number;
  /**
   * Most rows per task; larger input batches are split. Default 65536, except for an `apply` or
   * `withColumn` whose input is already in shared memory (`shareTable`, jsfunc's file readers):
   * its tasks copy nothing, so smaller tasks would only add per-task cost (a message each way,
   * decoding, a result buffer), and they take up to `callerBatchSize` rows when that is set, else
   * 1,048,576 (and about 128 MiB of the model's input columns) instead, at least one per worker
   * (nothing to balance beyond that buys more than the extra task costs). Setting `batchSize`
   * applies it to every input.
   * An input of fewer than 2 batches per worker is cut into at least 2 tasks per worker that
   * shrink towards the end (60,000 rows on 2 workers: 15,000, 15,000, 7,500, 7,500, then 4 of
   * 3,750), so that a faster worker takes more of the rows (`planTaskSizes`).
   */
  batchSize?: number;
  /**
   * Most rows per batch scored on the calling thread (`placement: 'caller'`, or `'auto'` once it
   * chose this thread) for `apply` and `withColumn`. Consecutive tasks of one call are merged up
   * to this size there, and to about 128 MiB of the columns enforcement casts (a cast copies a
   * batch's column; columns already of their signature's type pass through and do not count),
   * since splitting only pays for spreading rows over workers: a model called on 62,500-row
   * slices of a table runs its own predict slower than on the whole table (per-call costs,
   * cache effects), and a call scored in two batches also copies their results into one array
   * (4-14% of a 2M-row call of a linear model). So by default a call runs here as one batch, as
   * the model's own `predict` on the whole table would: it blocks the event loop as long as
   * that, and a row limit lets this thread yield between batches. When a merged batch fails,
   * its tasks are re-run one by one on the same thread, so the error names the same rows
   * (`Rows a..b`) as it would on the workers, and a model that only fails on the larger batch
   * still gets every row scored. Default: `batchSize` when it is set, else `Infinity` (no row
   * limit).
   */
  callerBatchSize?: number;
  /**
   * Most milliseconds one task may run on its worker (from the moment the worker starts it,
   * including a first-batch model load). The worker running it is terminated and replaced.
   * Default: none.
   */
  timeoutMs?: number;
  /**
   * Most milliseconds a worker may spend loading the model (from the start of the load, on the
   * first task each worker runs). A load over it fails the task with E_LOAD_TIMEOUT and its
   * worker is terminated and replaced. `Infinity`: no limit. Default 120000 (2 minutes).
   */
  loadTimeoutMs?: number;
  /** How many times a batch whose worker died (E_WORKER_CRASHED) is re-run. Default 0. */
  retries?: number;
  /** Aborts every call of this UDF: running tasks are stopped, calls reject with E_ABORTED. */
  signal?: AbortSignal;
  /** A pool from `createPool()` to run on instead of the shared default pool. */
  pool?: ModelPool;
  /** For `models:/` and `runs:/` URIs: the MLflow tracking URI. Default `MLFLOW_TRACKING_URI`, else `./mlruns`. */
  trackingUri?: string;
  /** Where downloaded packages are cached. Default `JSFUNC_CACHE_DIR`, else `~/.cache/jsfunc/models`. */
  cacheDir?: string;
  /** Receives warnings (from the driver and, forwarded once each, from the workers). */
  warn?: WarnFn;
  /** Tasks in flight per worker (submitted and not yet collected). Default 2. */
  inFlightPerWorker?: number;
  /** Smallest task a table is split into to keep every worker busy. Default 1024 rows. */
  minTaskRows?: number;
  /**
   * Where batches are scored. Default `'auto'`.
   * - `'workers'`: always on the worker threads (each loads the model once), all of them.
   * - `'caller'`: on the calling thread: the model is loaded there once (lazily, with the same
   *   config and predict function) and each batch is enforced, predicted and converted exactly
   *   as on a worker, without copying the input. Each batch blocks the event loop while it
   *   runs (the UDF yields between batches); `timeoutMs` and `loadTimeoutMs` cannot interrupt a
   *   synchronous predict or load there; a model that crashes (`process.exit`, out of memory)
   *   takes the process down instead of a worker; `retries` does not apply.
   * - `'auto'`: on the default pool, the first batches run on the calling thread, one at a
   *   time (the model loaded there), while the worker threads start and each loads the model
   *   (the threads start once the first batch was scored, or at once when a second batch is
   *   waiting): a small model's first result does not wait for threads. Once a worker has the
   *   model, auto measures, on the next batches (which run on the workers), what a row costs in
   *   the model and what a batch costs to move (the copy into shared memory, the round trip,
   *   the result): when moving costs more than it gains, batches run on the calling thread,
   *   else on as many workers as pay off; re-evaluated per batch, with occasional probes of the
   *   other side. Input already in shared memory (`shareTable`, jsfunc's readers) costs almost
   *   nothing to move. Stays on the workers when `timeoutMs` or `retries` is set (isolation was
   *   asked for); starts on the workers (as above, without the start on this thread) with a
   *   `pool` (its threads run already), an explicit `loadTimeoutMs` (a blocking load cannot be
   *   cut here) or a package over 256 MiB. See `stats().placement` for the decision and the
   *   measured costs.
   *
   * Every placement scores the same batches (same boundaries) with the same enforcement,
   * conversion and errors (codes, messages, details); only where the model runs differs, and
   * how long a model may keep its input (see the interface comment).
   */
  placement?: PlacementMode;
}

/** {@link SparkUdfOptions} after defaults and validation. */
export interface FilledSparkUdfOptions {
  resultType: string | DataType | undefined;
  params: Params;
  modelConfig: Record<string, unknown>;
  predictFn: string | undefined;
  workers: number;
  batchSize: number;
  /**
   * Most rows per task when the input is already in shared memory: `batchSize` when set, else
   * `callerBatchSize` when set, else 1,048,576.
   */
  sharedBatchSize: number;
  callerBatchSize: number;
  timeoutMs: number | undefined;
  loadTimeoutMs: number;
  retries: number;
  signal: AbortSignal | undefined;
  pool: ModelPool | undefined;
  trackingUri: string | undefined;
  cacheDir: string | undefined;
  warn: WarnFn;
  inFlightPerWorker: number;
  minTaskRows: number;
  placement: PlacementMode;
}

/** Defaults of {@link SparkUdfOptions} (`workers` is computed per machine at call time). */
export const kDefaultSparkUdfOptions = Object.freeze({
  params: {},
  modelConfig: {},
  batchSize: 65_536,
  callerBatchSize: Infinity,
  sharedBatchSize: 1_048_576,
  loadTimeoutMs: kDefaultLoadTimeoutMs,
  retries: 0,
  warn: defaultWarn,
  inFlightPerWorker: 2,
  minTaskRows: 1024,
  placement: 'auto',
} as const);

const kKnown = new Set([
  'resultType',
  'params',
  'modelConfig',
  'predictFn',
  'workers',
  'batchSize',
  'callerBatchSize',
  'timeoutMs',
  'loadTimeoutMs',
  'retries',
  'signal',
  'pool',
  'trackingUri',
  'cacheDir',
  'warn',
  'inFlightPerWorker',
  'minTaskRows',
  'placement',
]);

const kPlacements: readonly PlacementMode[] = ['auto', 'workers', 'caller'];

/**
 * Validates `options` and fills defaults.
 *
 * @param options - the caller's options (may be undefined)
 * @returns every field filled
 * @throws {ModelError} E_OPTION_INVALID naming the option and the rule, e.g.
 *   `options.workers must be a positive integer, got 0`
 */
export function resolveSparkUdfOptions(
  options: SparkUdfOptions | undefined
): FilledSparkUdfOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw invalid('options', 'must be an object', o);
  }
  for (const key of Object.keys(o)) {
    if (!kKnown.has(key)) throw invalid(`options.${key}`, 'is not a known option', o[key]);
  }
  // A positive integer; with `orInfinity`, Infinity too (no limit).
  const positive = (
    name: string,
    fallback: number | undefined,
    orInfinity = false
  ): number | undefined => {
    const v = o[name];
    if (v === undefined) return fallback;
    if (orInfinity && v === Infinity) return v;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      const rule = orInfinity ? 'a positive integer or Infinity' : 'a positive integer';
      throw invalid(`options.${name}`, `must be ${rule}`, v);
    }
    return v;
  };
  const plainObject = (name: string): Record<string, unknown> | undefined => {
    const v = o[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw invalid(`options.${name}`, 'must be a plain object', v);
    }
    return v as Record<string, unknown>;
  };

  const resultType = o['resultType'];
  if (resultType !== undefined && typeof resultType !== 'string' && !isDataTypeLike(resultType)) {
    throw invalid(
      'options.resultType',
      'must be a Spark DDL string or an Arrow DataType',
      resultType
    );
  }
  const predictFn = o['predictFn'];
  if (predictFn !== undefined && (typeof predictFn !== 'string' || predictFn === '')) {
    throw invalid('options.predictFn', 'must be a non-empty string', predictFn);
  }
  const retries = o['retries'];
  if (
    retries !== undefined &&
    (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0)
  ) {
    throw invalid('options.retries', 'must be a non-negative integer', retries);
  }
  const timeoutMs = o['timeoutMs'];
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))
  ) {
    throw invalid(
      'options.timeoutMs',
      'must be a positive finite number of milliseconds',
      timeoutMs
    );
  }
  const loadTimeoutMs = checkLoadTimeoutMs(o['loadTimeoutMs'], 'options.loadTimeoutMs');
  const signal = o['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalid('options.signal', 'must be an AbortSignal', signal);
  }
  const warn = o['warn'];
  if (warn !== undefined && typeof warn !== 'function') {
    throw invalid('options.warn', 'must be a function', warn);
  }
  const pool = o['pool'];
  if (
    pool !== undefined &&
    (typeof pool !== 'object' || pool === null || typeof (pool as ModelPool).run !== 'function')
  ) {
    throw invalid('options.pool', 'must be a pool from createPool()', pool);
  }
  const placement = o['placement'];
  if (placement !== undefined && !kPlacements.includes(placement as PlacementMode)) {
    throw invalid('options.placement', "must be 'auto', 'workers' or 'caller'", placement);
  }
  const workers = positive('workers', undefined);
  const p = pool as ModelPool | undefined;
  const text = (name: string): string | undefined => {
    const v = o[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '')
      throw invalid(`options.${name}`, 'must be a non-empty string', v);
    return v;
  };
  return {
    resultType: resultType as string | DataType | undefined,
    params: plainObject('params') ?? kDefaultSparkUdfOptions.params,
    modelConfig: plainObject('modelConfig') ?? kDefaultSparkUdfOptions.modelConfig,
    predictFn: predictFn as string | undefined,
    workers: p?.workers ?? workers ?? availableParallelism(),
    batchSize: positive('batchSize', kDefaultSparkUdfOptions.batchSize)!,
    sharedBatchSize:
      positive('batchSize', undefined) ??
      positive('callerBatchSize', kDefaultSparkUdfOptions.sharedBatchSize, true)!,
    callerBatchSize:
      positive('callerBatchSize', undefined, true) ??
      positive('batchSize', kDefaultSparkUdfOptions.callerBatchSize)!,
    timeoutMs: timeoutMs as number | undefined,
    loadTimeoutMs,
    retries: (retries as number | undefined) ?? kDefaultSparkUdfOptions.retries,
    signal: signal as AbortSignal | undefined,
    pool: p,
    trackingUri: text('trackingUri'),
    cacheDir: text('cacheDir'),
    warn: (warn as WarnFn | undefined) ?? kDefaultSparkUdfOptions.warn,
    inFlightPerWorker: positive('inFlightPerWorker', kDefaultSparkUdfOptions.inFlightPerWorker)!,
    minTaskRows: positive('minTaskRows', kDefaultSparkUdfOptions.minTaskRows)!,
    placement: (placement as PlacementMode | undefined) ?? kDefaultSparkUdfOptions.placement,
  };
}

function isDataTypeLike(x: unknown): boolean {
  return (
    typeof x === 'object' && x !== null && typeof (x as { typeId?: unknown }).typeId === 'number'
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : (value.constructor?.name ?? 'an object');
}

function invalid(option: string, rule: string, value: unknown): ModelError {
  return new ModelError('E_OPTION_INVALID', `${option} ${rule}, got ${describe(value)}`, {
    details: { option, rule },
  });
}
