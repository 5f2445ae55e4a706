/**
 * `loadModel`: the one lifecycle every jsfunc model goes through, as MLflow's
 * `mlflow.pyfunc.load_model`.
 *
 * read MLmodel -> pick a loadable flavor -> check the recorded environment -> resolve artifacts
 * -> import the bundled code -> find the class -> construct -> `loadContext(context)` once.
 * `predict` never reloads: it converts the input to an Arrow table, enforces the input schema
 * and the params schema, and calls the user's predict method.
 *
 * No state is kept outside the returned object, so many models load side by side in one
 * process or worker thread.
 *
 * @module
 */
import { dirname } from 'node:path';
import type { Table } from 'apache-arrow';
import { toTable } from '../adapters/to-table.js';
import { ModelError } from '../errors.js';
import { resolveModelUri } from '../uri/resolve-model-uri.js';
import { selectFlavor } from '../flavors/registry.js';
import { enforceParams } from '../signature/enforce-params.js';
import { enforceSchema } from '../signature/enforce-schema.js';
import type { ModelSignature, Params } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { resolveFromJsfunc } from './load-bundle.js';
import { checkEnvironment, findOwningPackage, readJsEnv } from './environment.js';
import { readMLmodel, resolveMLmodelPath } from './mlmodel.js';
import { forgetScope, releaseWhenCollected, type ArtifactScope } from './shared-artifacts.js';
import type {
  LoadedModel,
  ModelContext,
  ModelMetadata,
  PredictInput,
  PredictOptions,
} from './types.js';

/** Options for {@link loadModel}. */
export interface LoadModelOptions {
  /**
   * Overrides for the saved model config. As in MLflow, only keys present in the saved config
   * are applied; the others are ignored with a warning. Default none.
   */
  modelConfig?: Readonly<Record<string, unknown>>;
  /** The method `predict` calls, overriding the saved `predict_fn`. Default: the saved one. */
  predictFn?: string;
  /** Receives warnings (version drift, ignored config keys, schema warnings). Default {@link defaultWarn}. */
  warn?: WarnFn;
  /**
   * For `models:/` and `runs:/` URIs: the MLflow tracking URI (file store or server). Default
   * `MLFLOW_TRACKING_URI`, else `./mlruns`.
   */
  trackingUri?: string;
  /** Where downloaded packages are cached. Default `JSFUNC_CACHE_DIR`, else `~/.cache/jsfunc/models`. */
  cacheDir?: string;
}

class JsLoadedModel implements LoadedModel {
  readonly signature: ModelSignature | null;
  #released: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly metadata: ModelMetadata,
    readonly context: ModelContext,
    readonly predictFn: string,
    private readonly instance: object,
    private readonly warn: WarnFn,
    private readonly cleanStack: (error: unknown) => void,
    private readonly artifactScope: ArtifactScope
  ) {
    this.signature = metadata.signature;
    // A model nobody releases still gives its shared artifacts back once it is collected.
    releaseWhenCollected(this, artifactScope);
  }

  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #release(): Promise<void> {
    try {
      const inner = this.instance as Record<string, unknown>;
      const close = inner['close'] ?? inner['dispose'];
      if (typeof close === 'function') await (close as () => unknown).call(inner);
    } finally {
      forgetScope(this.artifactScope);
      this.artifactScope.release();
    }
  }

  async predict(
    input: PredictInput,
    params?: Params,
    options: PredictOptions = {}
  ): Promise<unknown> {
    const warn = options.warn ?? this.warn;
    const inputs = this.signature?.inputs ?? null;
    let table: Table = toTable(input, inputs ?? undefined);
    if (inputs !== null) table = enforceSchema(table, inputs, warn);
    const checkedParams = enforceParams(params, this.signature?.params ?? null, warn);
    try {
      // Read inside the try: the method is the model's own property (a getter may throw).
      const fn = (this.instance as Record<string, unknown>)[this.predictFn];
      if (typeof fn !== 'function')
        throw new TypeError(`${this.predictFn} is not a function (found ${typeof fn})`);
      return await (fn as (context: ModelContext, input: Table, params: Params) => unknown).call(
        this.instance,
        this.context,
        table,
        checkedParams
      );
    } catch (cause) {
      this.cleanStack(cause);
      // A ModelError was raised on purpose (a flavor's own input check, E_MODEL_OUTPUT, ...):
      // its code is the answer callers branch on, so it passes through unchanged. Only foreign
      // errors, the model's own failures, become E_MODEL_PREDICT.
      if (ModelError.is(cause)) throw cause;
      const message = messageOf(cause);
      const error = new ModelError(
        'E_MODEL_PREDICT',
        `Model ${this.predictFn} failed: ${message}`,
        {
          details: { path: this.path, predictFn: this.predictFn },
          cause,
        }
      );
      // Keep the model's own frames visible where only `stack` is printed.
      const stack = cause instanceof Error ? stackOf(cause) : undefined;
      if (stack !== undefined) error.stack = `${error.stack}\nCaused by: ${stack}`;
      throw error;
    }
  }

  unwrap<T = unknown>(): T {
    return this.instance as T;
  }
}

/** The message of anything thrown, even a value whose `toString` throws. */
function messageOf(cause: unknown): string {
  try {
    return cause instanceof Error ? String(cause.message) : String(cause);
  } catch {
    return Object.prototype.toString.call(cause);
  }
}

/** An error's stack, or undefined when reading it throws (a getter of the model's own class). */
function stackOf(error: Error): string | undefined {
  try {
    const stack: unknown = error.stack;
    return typeof stack === 'string' ? stack : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The local package directory a model URI names: a path as it is; `models:/`, `runs:/` and
 * `file://` URIs resolved through MLflow's file store or tracking server (downloads cached).
 *
 * @param path - a path or model URI
 * @param options - tracking URI and cache directory
 * @returns a local path
 * @throws {ModelError} as `resolveModelUri` (unknown name, version, alias or run; unreachable
 *   server)
 */
export async function localModelPath(
  path: string,
  options: { trackingUri?: string; cacheDir?: string; signal?: AbortSignal } = {}
): Promise<string> {
  const resolved = await resolveModelUri(path, {
    ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  return resolved.path;
}

/**
 * Loads a model package through the full lifecycle.
 *
 * @param path - The package directory, its `MLmodel` file, or a model URI (`models:/name/3`,
 *   `models:/name@champion`, `runs:/<run_id>/model`, `file://...`).
 * @param options - See {@link LoadModelOptions}.
 * @returns The loaded model; `predict` is ready to call.
 * @throws {ModelError} E_MLMODEL_MISSING, E_MLMODEL_INVALID, E_SIGNATURE_INVALID (reading);
 *   E_FLAVOR_UNSUPPORTED (no flavor jsfunc can load); E_ARTIFACT_PATH, E_ARTIFACT_MISSING;
 *   E_MODEL_IMPORT; E_MODEL_LOAD.
 *
 * @example
 * ```ts
 * const model = await loadModel('out/linear', { modelConfig: { scale: 3 } });
 * const scores = await model.predict([{ x0: 1, x1: 2 }]);
 * ```
 */
export async function loadModel(
  path: string,
  options: LoadModelOptions = {}
): Promise<LoadedModel> {
  const warn = options.warn ?? defaultWarn;
  if (
    options.predictFn !== undefined &&
    (typeof options.predictFn !== 'string' || options.predictFn === '')
  ) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.predictFn must be a method name, found ${JSON.stringify(options.predictFn)}`,
      {
        details: { option: 'predictFn' },
      }
    );
  }
  const local = await localModelPath(path, options);
  const file = await resolveMLmodelPath(local);
  const packageDir = dirname(file);
  const metadata = await readMLmodel(file);
  const { loader, conf } = selectFlavor(metadata, packageDir);
  // Version drift is reported before the code runs: it often explains an import failure.
  const env = await readJsEnv(packageDir);
  if (env !== null) {
    const running: Record<string, string | null | undefined> = {};
    for (const name of Object.keys(env.external)) {
      const url = resolveFromJsfunc(name);
      const v = url === undefined ? undefined : findOwningPackage(name, url)?.json['version'];
      running[name] = typeof v === 'string' ? v : undefined;
    }
    checkEnvironment(env, running, warn);
  }

  const loaded = await loader.load(packageDir, conf, file, {
    modelConfig: options.modelConfig as Record<string, unknown> | undefined,
    predictFn: options.predictFn,
    warn,
  });
  return new JsLoadedModel(
    packageDir,
    metadata,
    loaded.context,
    loaded.predictFn,
    loaded.instance,
    warn,
    loaded.cleanStack,
    loaded.artifactScope
  );
}
