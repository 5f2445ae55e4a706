/**
 * The `onnx` flavor: loads packages written by MLflow's `mlflow.onnx.save_model` (and by
 * jsfunc's `saveOnnxModel`) and scores them with onnxruntime-node. Its MLmodel keys, as MLflow
 * writes them:
 *
 * | key | meaning |
 * |---|---|
 * | `data` | the model file, relative to the package (`model.onnx`) |
 * | `onnx_version` | version of the Python `onnx` package that saved it (informational) |
 * | `providers` | onnxruntime execution providers in order of preference (MLflow names) |
 * | `onnx_session_options` | session options (`intra_op_num_threads`, `inter_op_num_threads`, `execution_mode`, `graph_optimization_level`, `extra_session_config`, ...) or null |
 * | `code` | code directory (always null for jsfunc; MLflow's `code_paths`) |
 *
 * Lifecycle: the `InferenceSession` is created once at load (the `loadContext` of this flavor)
 * from the `data` file; `predict` only runs it. `predict` follows MLflow's
 * `_OnnxModelWrapper.predict` for a DataFrame (see `onnx-io.ts`) and returns an Arrow Table with
 * one column per tensor output, so a UDF result type picks the leftmost compatible column or
 * builds a struct by name.
 *
 * Non-tensor outputs (sequences and maps, e.g. skl2onnx's ZipMap `output_probability`) are
 * skipped with one warning at load naming them: onnxruntime-node refuses to return them ("Non
 * tensor type is temporarily not supported"), so fetching them would fail every run.
 *
 * Threads: each session has its own intra-op thread pool, sized to the physical cores by
 * default. Inside a worker thread the pool already uses every core, so the flavor defaults to
 * `intra_op_num_threads: 1` there. The saved `onnx_session_options` override that default, and
 * load-time `modelConfig` keys (the same names) override both.
 *
 * onnxruntime-node is imported lazily on first load, so importing jsfunc never loads the native
 * binary for packages that do not need it.
 *
 * @module
 */
import { isMainThread } from 'node:worker_threads';
import type { Table } from 'apache-arrow';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import type { ModelContext } from '../package/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { resolveInsidePackage } from '../package/package-file.js';
import { ArtifactScope } from '../package/shared-artifacts.js';
import type { LoadJsFunctionOptions, LoadedJsFunction } from './js-function.js';
import {
  outputsToTable,
  tableToFeeds,
  type OnnxTensorInfo,
  type OrtTensorCtor,
} from './onnx-io.js';

/** The flavor name in MLmodel. */
export const ONNX_FLAVOR = 'onnx';
/** The `loader_module` MLflow writes in the `python_function` flavor of ONNX packages. */
export const ONNX_LOADER_MODULE = 'mlflow.onnx';
/** File name of the model inside a package (MLflow's `_MODEL_DATA_SUBPATH`). */
export const ONNX_MODEL_FILE = 'model.onnx';
/** MLflow's default `providers` (`ONNX_EXECUTION_PROVIDERS`): GPU first, then CPU. */
export const DEFAULT_ONNX_PROVIDERS: readonly string[] = [
  'CUDAExecutionProvider',
  'CPUExecutionProvider',
];

/**
 * Session option keys jsfunc honours, in MLflow's (onnxruntime Python) spelling. MLflow's
 * loader applies the first five; the last three are further Python `SessionOptions` attributes
 * with a direct onnxruntime-node equivalent.
 */
export const ONNX_SESSION_OPTION_KEYS: readonly string[] = [
  'intra_op_num_threads',
  'inter_op_num_threads',
  'execution_mode',
  'graph_optimization_level',
  'extra_session_config',
  'enable_cpu_mem_arena',
  'enable_mem_pattern',
  'log_severity_level',
];

/** The typed configuration of an `onnx` flavor. */
export interface OnnxFlavorConfig {
  data: string;
  onnx_version?: string | null;
  providers?: string[] | null;
  onnx_session_options?: Record<string, unknown> | null;
  code?: string | null;
  [key: string]: unknown;
}

/** The onnxruntime-node module, as imported. */
type Ort = typeof import('onnxruntime-node');

let ortPromise: Promise<Ort> | undefined;

/**
 * Imports onnxruntime-node once per thread (the native binary loads on first use).
 *
 * @returns The module.
 * @throws {ModelError} E_MODEL_IMPORT when onnxruntime-node is not installed or fails to load.
 */
export async function importOnnxRuntime(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => {
    const mod = m as Ort & { default?: Ort };
    return typeof mod.InferenceSession === 'function' ? mod : (mod.default as Ort);
  });
  try {
    return await ortPromise;
  } catch (cause) {
    ortPromise = undefined;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ModelError(
      'E_MODEL_IMPORT',
      `Loading onnxruntime-node failed (the onnx flavor needs it installed): ${message}`,
      { details: { package: 'onnxruntime-node' }, cause }
    );
  }
}

function badFlavor(source: string, what: string): ModelError {
  return new ModelError(
    'E_MLMODEL_INVALID',
    `Invalid "${ONNX_FLAVOR}" flavor in "${source}": ${what}`,
    {
      details: { file: source, flavor: ONNX_FLAVOR },
    }
  );
}

function isMapping(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Validates and types an `onnx` flavor configuration read from MLmodel.
 *
 * @param conf - The raw flavor mapping.
 * @param source - The MLmodel file, for messages.
 * @returns The typed configuration (`data` defaults to `model.onnx`).
 * @throws {ModelError} E_MLMODEL_INVALID when `data`, `providers` or `onnx_session_options`
 *   has the wrong type.
 */
export function parseOnnxFlavor(conf: Record<string, unknown>, source: string): OnnxFlavorConfig {
  const data = conf['data'] ?? ONNX_MODEL_FILE;
  if (typeof data !== 'string' || data === '') {
    throw badFlavor(source, `"data" must be the model file name, found ${JSON.stringify(data)}`);
  }
  const providers = conf['providers'];
  if (
    providers !== undefined &&
    providers !== null &&
    !(Array.isArray(providers) && providers.every((p) => typeof p === 'string'))
  ) {
    throw badFlavor(
      source,
      `"providers" must be a list of provider names, found ${JSON.stringify(providers)}`
    );
  }
  const options = conf['onnx_session_options'];
  if (options !== undefined && options !== null && !isMapping(options)) {
    throw badFlavor(
      source,
      `"onnx_session_options" must be a mapping, found ${JSON.stringify(options)}`
    );
  }
  return { ...conf, data } as OnnxFlavorConfig;
}

/** Python `GraphOptimizationLevel` values -> onnxruntime-node names. */
const GRAPH_LEVELS: Record<string, InferenceSession.SessionOptions['graphOptimizationLevel']> = {
  '0': 'disabled',
  '1': 'basic',
  '2': 'extended',
  '3': 'layout',
  '99': 'all',
  disabled: 'disabled',
  basic: 'basic',
  extended: 'extended',
  layout: 'layout',
  all: 'all',
  ort_disable_all: 'disabled',
  ort_enable_basic: 'basic',
  ort_enable_extended: 'extended',
  ort_enable_layout: 'layout',
  ort_enable_all: 'all',
};

/** MLflow / onnxruntime Python provider names -> onnxruntime-node backend names. */
const PROVIDER_NAMES: Record<string, string> = {
  CPUExecutionProvider: 'cpu',
  CUDAExecutionProvider: 'cuda',
  TensorrtExecutionProvider: 'tensorrt',
  DmlExecutionProvider: 'dml',
  CoreMLExecutionProvider: 'coreml',
  WebGpuExecutionProvider: 'webgpu',
  QNNExecutionProvider: 'qnn',
};

/**
 * Maps MLflow session options to onnxruntime-node's, checking each value.
 *
 * @param options - Options in MLflow's spelling (see {@link ONNX_SESSION_OPTION_KEYS}).
 * @param fail - Builds the error for an invalid value (the code depends on where it came from).
 * @returns onnxruntime-node session options.
 * @throws {ModelError} whatever `fail` returns, naming the key, the expected and found value.
 */
export function toOrtSessionOptions(
  options: Readonly<Record<string, unknown>>,
  fail: (message: string, key: string) => ModelError
): InferenceSession.SessionOptions {
  const out: InferenceSession.SessionOptions = {};
  const bad = (key: string, expected: string): ModelError =>
    fail(`session option "${key}" must be ${expected}, found ${JSON.stringify(options[key])}`, key);
  for (const [key, value] of Object.entries(options)) {
    if (value === null || value === undefined) continue;
    switch (key) {
      case 'intra_op_num_threads':
      case 'inter_op_num_threads':
        if (!Number.isInteger(value) || (value as number) < 0)
          throw bad(key, 'a non-negative integer');
        out[key === 'intra_op_num_threads' ? 'intraOpNumThreads' : 'interOpNumThreads'] =
          value as number;
        break;
      case 'execution_mode': {
        const mode = typeof value === 'string' ? value.toLowerCase() : '';
        if (mode !== 'sequential' && mode !== 'parallel')
          throw bad(key, '"sequential" or "parallel"');
        out.executionMode = mode;
        break;
      }
      case 'graph_optimization_level': {
        const level = GRAPH_LEVELS[String(value).toLowerCase()];
        if (level === undefined)
          throw bad(key, 'one of 0, 1, 2, 3, 99 (or disabled, basic, extended, layout, all)');
        out.graphOptimizationLevel = level;
        break;
      }
      case 'extra_session_config':
        if (!isMapping(value) || !Object.values(value).every((v) => typeof v === 'string')) {
          throw bad(key, 'a mapping of config key to string value');
        }
        // Flat dotted keys ("session.intra_op.allow_spinning") pass through as config entries.
        out.extra = { ...value };
        break;
      case 'enable_cpu_mem_arena':
      case 'enable_mem_pattern':
        if (typeof value !== 'boolean') throw bad(key, 'a boolean');
        out[key === 'enable_cpu_mem_arena' ? 'enableCpuMemArena' : 'enableMemPattern'] = value;
        break;
      case 'log_severity_level':
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 4)
          throw bad(key, 'an integer 0..4');
        out.logSeverityLevel = value as 0 | 1 | 2 | 3 | 4;
        break;
      default:
        throw fail(
          `"${key}" is not an ONNX session option jsfunc applies (known: ${ONNX_SESSION_OPTION_KEYS.join(', ')})`,
          key
        );
    }
  }
  return out;
}

/**
 * The onnxruntime-node execution providers for MLflow's `providers` list: the ones this build of
 * onnxruntime-node bundles, in the given order, always ending with `cpu`. MLflow itself first
 * creates the session without providers (CPU on CPU builds), so its default list
 * `[CUDAExecutionProvider, CPUExecutionProvider]` means CPU on a CPU-only install here too.
 *
 * @param providers - Provider names as MLflow records them (default {@link DEFAULT_ONNX_PROVIDERS}).
 * @param available - Backend names this build can use (from `listSupportedBackends`).
 * @returns onnxruntime-node execution provider names.
 */
export function executionProvidersFor(
  providers: readonly string[] | null | undefined,
  available: readonly string[]
): string[] {
  const out: string[] = [];
  for (const p of providers ?? DEFAULT_ONNX_PROVIDERS) {
    const name = PROVIDER_NAMES[p] ?? p.toLowerCase();
    if (available.includes(name) && !out.includes(name)) out.push(name);
  }
  if (!out.includes('cpu')) out.push('cpu');
  return out;
}

/**
 * Creates an `InferenceSession` from a model file.
 *
 * @param file - Path of the `.onnx` file.
 * @param options - onnxruntime-node session options. Default none.
 * @returns The session.
 * @throws {ModelError} E_MODEL_IMPORT when onnxruntime-node cannot load; E_MODEL_LOAD when the
 *   file is not a model onnxruntime can run (corrupt, unsupported opset, ...).
 */
export async function createOnnxSession(
  file: string,
  options: InferenceSession.SessionOptions = {}
): Promise<InferenceSession> {
  const ort = await importOnnxRuntime();
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ModelError(
      'E_MODEL_LOAD',
      `Creating an ONNX Runtime session from "${file}" failed: ${message}`,
      {
        details: { file },
        cause,
      }
    );
  }
}

/**
 * A loaded ONNX model: the session created at load, and the `predict` the lifecycle calls.
 * `loadModel(...).unwrap<OnnxModel>().session` gives the session itself.
 */
export class OnnxModel {
  /** The tensor inputs fed on every run, in graph order. */
  readonly inputs: readonly OnnxTensorInfo[];
  /** The outputs fetched on every run (tensor outputs, in graph order). */
  readonly outputs: readonly string[];
  /** Non-tensor outputs left out of the fetches. */
  readonly skippedOutputs: readonly string[];

  /**
   * @param session - The session (created once, at load).
   * @param Tensor - The `Tensor` class of the same onnxruntime module.
   * @param file - The model file, for messages.
   * @throws {ModelError} E_MODEL_LOAD when an input is not a tensor (jsfunc cannot feed
   *   sequences or maps) or the model has no tensor output.
   */
  constructor(
    readonly session: InferenceSession,
    private readonly Tensor: OrtTensorCtor,
    readonly file: string
  ) {
    const inputs: OnnxTensorInfo[] = [];
    for (const m of session.inputMetadata) {
      if (!m.isTensor) {
        throw new ModelError(
          'E_MODEL_LOAD',
          `ONNX model "${file}" has the non-tensor input "${m.name}"; jsfunc feeds tensors only.`,
          { details: { file, input: m.name } }
        );
      }
      inputs.push({ name: m.name, type: m.type, shape: m.shape });
    }
    if (inputs.length === 0) {
      throw new ModelError('E_MODEL_LOAD', `ONNX model "${file}" has no inputs.`, {
        details: { file },
      });
    }
    this.inputs = inputs;
    this.outputs = session.outputMetadata.filter((m) => m.isTensor).map((m) => m.name);
    this.skippedOutputs = session.outputMetadata.filter((m) => !m.isTensor).map((m) => m.name);
    if (this.outputs.length === 0) {
      throw new ModelError(
        'E_MODEL_LOAD',
        `ONNX model "${file}" has no tensor output (non-tensor outputs: ${this.skippedOutputs.join(', ')}); ` +
          'onnxruntime-node cannot return sequences or maps.',
        { details: { file, skipped: [...this.skippedOutputs] } }
      );
    }
  }

  /**
   * Runs the session on one batch. Inference params are not used, as in MLflow's ONNX flavor.
   *
   * @param _context - The model context (unused: everything was set up at load).
   * @param input - The batch (see `onnx-io.ts` for how columns become tensors).
   * @returns A table with one column per tensor output, named after it.
   * @throws {ModelError} E_SCHEMA_MISMATCH when the columns cannot feed the inputs;
   *   E_MODEL_OUTPUT for outputs that cannot form a table. onnxruntime's own errors pass through.
   */
  async predict(_context: ModelContext, input: Table): Promise<Table> {
    const feeds = tableToFeeds(input, this.inputs, this.Tensor);
    const results = await this.session.run(feeds, [...this.outputs]);
    return outputsToTable(results, this.outputs);
  }

  /**
   * Releases the session's native memory (its weights, arenas and threads) now. Called when
   * the model is released or evicted from a worker's cache: native memory is invisible to the
   * JavaScript collector, so waiting for the session object to be collected could keep
   * hundreds of MB alive indefinitely.
   *
   * @returns when the session is released
   */
  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Runs the lifecycle of an `onnx` package: resolve `data` inside the package, work out the
 * session options, create the session once.
 *
 * @param packageDir - Absolute package directory.
 * @param flavor - The typed flavor configuration.
 * @param options - `modelConfig`: session options in MLflow's spelling (plus `providers`),
 *   overriding the saved `onnx_session_options`; unknown keys are ignored with a warning.
 *   `predictFn`: only `predict` exists. `warn`: receives the skipped-outputs and ignored-key
 *   warnings (default {@link defaultWarn}).
 * @returns The ready model; `context.modelConfig` holds the effective session options and
 *   `context.artifacts.data` the model file.
 * @throws {ModelError} E_ARTIFACT_PATH / E_ARTIFACT_MISSING for the model file;
 *   E_MLMODEL_INVALID for bad saved session options; E_OPTION_INVALID for bad overrides or
 *   `predictFn`; E_MODEL_IMPORT when onnxruntime-node cannot load; E_MODEL_LOAD when the
 *   session cannot be created.
 */
export async function loadOnnx(
  packageDir: string,
  flavor: OnnxFlavorConfig,
  options: LoadJsFunctionOptions = {}
): Promise<LoadedJsFunction> {
  const warn: WarnFn = options.warn ?? defaultWarn;
  if (options.predictFn !== undefined && options.predictFn !== 'predict') {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.predictFn must be "predict" for an ONNX model, found ${JSON.stringify(options.predictFn)}`,
      { details: { option: 'predictFn' } }
    );
  }
  // A regular file: onnxruntime reads it natively, and a FIFO would block that read forever.
  const file = await resolveInsidePackage(packageDir, flavor.data, 'ONNX model file', 'file');

  // Worker default < saved onnx_session_options < load-time modelConfig.
  const config: Record<string, unknown> = isMainThread ? {} : { intra_op_num_threads: 1 };
  for (const [k, v] of Object.entries(flavor.onnx_session_options ?? {}))
    if (v !== null) config[k] = v;
  let providers = flavor.providers ?? null;
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(options.modelConfig ?? {})) {
    if (k === 'providers') {
      if (!Array.isArray(v) || !v.every((p) => typeof p === 'string')) {
        throw new ModelError(
          'E_OPTION_INVALID',
          `modelConfig.providers must be a list of provider names, found ${JSON.stringify(v)}`,
          {
            details: { option: 'modelConfig.providers' },
          }
        );
      }
      providers = v;
    } else if (ONNX_SESSION_OPTION_KEYS.includes(k)) config[k] = v;
    else ignored.push(k);
  }
  if (ignored.length > 0) {
    warn(
      `modelConfig key(s) ${ignored.join(', ')} were ignored: an ONNX model takes session options ` +
        `(${ONNX_SESSION_OPTION_KEYS.join(', ')}) and providers.`
    );
  }
  const fromFlavor = new Set(Object.keys(flavor.onnx_session_options ?? {}));
  const overridden = new Set(Object.keys(options.modelConfig ?? {}));
  const sessionOptions = toOrtSessionOptions(config, (message, key) =>
    overridden.has(key)
      ? new ModelError('E_OPTION_INVALID', `modelConfig: ${message}`, {
          details: { option: `modelConfig.${key}` },
        })
      : fromFlavor.has(key)
        ? new ModelError(
            'E_MLMODEL_INVALID',
            `Invalid "${ONNX_FLAVOR}" flavor in "${packageDir}": ${message}`,
            {
              details: { file: packageDir, flavor: ONNX_FLAVOR, key },
            }
          )
        : new ModelError('E_OPTION_INVALID', message, { details: { option: key } })
  );

  const ort = await importOnnxRuntime();
  const available = ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name);
  sessionOptions.executionProviders = executionProvidersFor(providers, available);
  const session = await createOnnxSession(file, sessionOptions);
  const model = new OnnxModel(session, ort.Tensor as unknown as OrtTensorCtor, file);
  if (model.skippedOutputs.length > 0) {
    warn(
      `ONNX model "${file}": output(s) ${model.skippedOutputs.map((o) => `"${o}"`).join(', ')} are not ` +
        'tensors (sequences or maps, such as a ZipMap of class probabilities); onnxruntime-node cannot ' +
        'return them, so predictions leave them out.'
    );
  }
  const artifacts = Object.freeze({ data: file });
  const artifactScope = new ArtifactScope(artifacts);
  const context: ModelContext = Object.freeze({
    artifacts,
    modelConfig: Object.freeze({
      ...config,
      providers: [...(providers ?? DEFAULT_ONNX_PROVIDERS)],
    }),
    sharedArtifact: (name: string) => artifactScope.get(name),
  });
  return {
    instance: model,
    context,
    predictFn: 'predict',
    externals: {},
    cleanStack: () => undefined,
    artifactScope,
  };
}
