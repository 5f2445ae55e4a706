/**
 * Scoring on a UDF's calling thread (`placement: 'caller'`, or `'auto'` when moving a batch to
 * a worker costs more than computing it): the model loaded there once, lazily, with the UDF's
 * config and predict function, and each batch run through the very code the workers run
 * (`predictWithModel`: mapping, enforcement, predict, conversion, length check).
 *
 * Semantics kept identical to the worker path:
 * - errors: anything thrown goes through the same serialize/deserialize round trip a worker's
 *   error takes (a foreign error first wrapped as `worker-entry` wraps it, E_MODEL_PREDICT
 *   "Scoring failed: ..."), so code, message, details and cause chain are the same;
 * - warnings: the UDF's `warn`, de-duplicated with the workers' ones;
 * - results: never sharing memory with the input (a model that returns an input column gets a
 *   copy, as a worker's result is always a copy);
 * - the batch is cut exactly as for the workers (same slices, same projection).
 * What differs: the model sees the input's own chunks (a worker sees each batch as one chunk),
 * nothing is copied, and the work blocks the event loop while a batch runs (this module yields
 * to it between batches once 10 ms of scoring have passed).
 *
 * @module
 */
import type { Table, Vector } from 'apache-arrow';
import { ModelError, deserializeError, serializeError } from '../errors.js';
import { JS_FUNCTION_FLAVOR, parseJsFunctionFlavor } from '../flavors/js-function.js';
import { bundleFormatOf } from '../package/load-bundle.js';
import { loadModel } from '../package/load-model.js';
import type { LoadedModel } from '../package/types.js';
import { releaseModel } from '../pool/model-cache.js';
import { decodeVector, encodeVector } from '../pool/transfer.js';
import type { Params } from '../signature/types.js';
import type { WarnFn } from '../warnings.js';
import type { ColumnMapping } from './column-mapping.js';
import { predictWithModel } from './model-task.js';
import { sharesMemory } from './placement-input.js';
import type { ResultType } from './result-type.js';

/** What the calling thread needs to load and call the model (the UDF's model fields). */
export interface CallerModelSpec {
  modelUri: string;
  modelConfig: Record<string, unknown>;
  predictFn: string | undefined;
  resultType: ResultType;
  params: Params;
  warn: WarnFn;
  loadTimeoutMs: number;
}

/** One batch scored on the calling thread. */
export interface CallerResult {
  vector: Vector;
  /** ms in the model's predict (enforcement included). */
  predictMs: number;
  /** ms converting the output. */
  convertMs: number;
}

/** Scoring time after which the next batch first yields to the event loop. */
const kYieldEveryMs = 10;

/** The model on the calling thread of one UDF; see the module comment. */
export class CallerScorer {
  readonly #spec: CallerModelSpec;
  #loading: Promise<LoadedModel> | undefined;
  #model: LoadedModel | undefined;
  #closed = false;
  #since = performance.now();
  /** Batches being scored (a copy is not replaced under one: see {@link renew}). */
  #inFlight = 0;
  /** A {@link renew} under way (batches wait for it). */
  #renewing: Promise<boolean> | undefined;
  /** Loads done: 0 or 1, 2 after a {@link renew}. */
  loads = 0;
  /** ms those loads took. */
  loadMs = 0;

  /**
   * @param spec - the UDF's model fields
   */
  constructor(spec: CallerModelSpec) {
    this.#spec = spec;
  }

  /** True once the model is loaded here. */
  get loaded(): boolean {
    return this.#model !== undefined;
  }

  /** No batch being scored and no {@link renew} under way. */
  get idle(): boolean {
    return this.#inFlight === 0 && this.#renewing === undefined;
  }

  /**
   * Replaces the loaded model by a fresh load of it: the fresh copy is loaded first, then the
   * old one released (its `close()` / `dispose()`). A fresh load that fails changes nothing:
   * the copy that works stays. Batches scored meanwhile wait for it; call it when
   * {@link idle}, so that no batch is using the old copy.
   *
   * @returns whether the model was replaced
   */
  renew(): Promise<boolean> {
    this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renew(): Promise<boolean> {
    const old = this.#model;
    if (old === undefined) return false;
    let fresh: LoadedModel;
    try {
      fresh = await this.#load();
    } catch {
      return false;
    }
    if (this.#closed) {
      // close() ran after the load's own check: it released the old copy; this one is ours.
      await releaseModel(fresh).catch(() => undefined);
      return false;
    }
    this.#model = fresh;
    await releaseModel(old).catch(() => undefined);
    return true;
  }

  /**
   * Whether loading the model again would give a new copy of its code: a `js_function` model
   * whose code is a function-body bundle (`code/model.cjs`, see `package/load-bundle.ts`). An
   * ES module bundle is the same module again (Node caches it), and an ONNX model runs native
   * code. False until loaded.
   */
  get reloadGivesNewCode(): boolean {
    const model = this.#model;
    const conf = model?.metadata.flavors[JS_FUNCTION_FLAVOR];
    if (model === undefined || conf === undefined) return false;
    const { entry } = parseJsFunctionFlavor(conf, model.path);
    return bundleFormatOf(entry) === 'cjs';
  }

  /**
   * Scores one batch on this thread, loading the model first if needed.
   *
   * @param table - the batch (the mapped columns, as a worker would receive them)
   * @param mapping - source columns -> signature inputs
   * @returns the result and its timings
   * @throws {ModelError} what the worker path would throw for the same batch (see the module
   *   comment); E_LOAD_TIMEOUT when an asynchronous load outlasts `loadTimeoutMs`
   */
  async score(table: Table, mapping: ColumnMapping): Promise<CallerResult> {
    this.#inFlight++;
    try {
      return await this.#score(table, mapping);
    } finally {
      this.#inFlight--;
    }
  }

  async #score(table: Table, mapping: ColumnMapping): Promise<CallerResult> {
    if (this.#renewing !== undefined) await this.#renewing;
    if (performance.now() - this.#since > kYieldEveryMs) {
      await new Promise((resolve) => setImmediate(resolve));
      this.#since = performance.now();
    }
    try {
      const model = this.#model ?? (await this.model());
      let predictMs = 0;
      const times = { convertMs: 0 };
      const time = async <T>(fn: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        try {
          return await fn();
        } finally {
          predictMs += performance.now() - started;
        }
      };
      let vector = await predictWithModel(model, table, mapping, this.#spec, time, times);
      // A worker's result is always a copy: so is this one when it is the input's memory.
      if (sharesMemory(vector, table)) {
        vector = decodeVector(encodeVector(vector, { shared: false, reuseShared: false }));
      }
      return { vector, predictMs, convertMs: times.convertMs };
    } catch (error) {
      throw asWorkerError(error);
    }
  }

  /**
   * The model, loaded on first use (concurrent callers share the load; a failed load is tried
   * again by the next call, as a worker's cache does).
   *
   * @returns the loaded model
   * @throws {ModelError} the load's error; E_LOAD_TIMEOUT
   */
  model(): Promise<LoadedModel> {
    if (this.#model !== undefined) return Promise.resolve(this.#model);
    this.#loading ??= this.#load().then(
      (model) => {
        this.#model = model;
        return model;
      },
      (error: unknown) => {
        this.#loading = undefined;
        throw error;
      }
    );
    return this.#loading;
  }

  async #load(): Promise<LoadedModel> {
    const { modelUri, modelConfig, predictFn, warn, loadTimeoutMs } = this.#spec;
    const started = performance.now();
    const load = loadModel(modelUri, { modelConfig, predictFn, warn });
    let timer: NodeJS.Timeout | undefined;
    const limit = Number.isFinite(loadTimeoutMs)
      ? new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ModelError(
                  'E_LOAD_TIMEOUT',
                  `Loading the model ${modelUri} on the calling thread took longer than loadTimeoutMs=${loadTimeoutMs}`,
                  { details: { loadTimeoutMs, modelUri } }
                )
              ),
            loadTimeoutMs
          );
        })
      : undefined;
    let settled = false;
    try {
      const model = await (limit === undefined ? load : Promise.race([load, limit]));
      settled = true;
      this.loads++;
      this.loadMs += performance.now() - started;
      if (this.#closed) {
        await releaseModel(model).catch(() => undefined);
        throw new ModelError('E_POOL_CLOSED', `The UDF for ${modelUri} is closed`);
      }
      return model;
    } catch (error) {
      // A load cut by the timeout still finishes in the background: release what it made.
      if (!settled) void load.then((late) => releaseModel(late)).catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Releases the model (its `close()` / `dispose()`), now or when a pending load ends. */
  async close(): Promise<void> {
    this.#closed = true;
    const model = this.#model ?? (await this.#loading?.catch(() => undefined));
    this.#model = undefined;
    if (model !== undefined) await releaseModel(model).catch(() => undefined);
  }
}

/**
 * The error a worker would have replied for `error`: a foreign error wrapped as `worker-entry`
 * wraps it, then the serialize/deserialize round trip every worker error takes.
 */
function asWorkerError(error: unknown): Error {
  const coded = ModelError.is(error)
    ? error
    : new ModelError(
        'E_MODEL_PREDICT',
        `Scoring failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error }
      );
  return deserializeError(serializeError(coded));
}
