/**
 * The `js_function` flavor: jsfunc's counterpart of MLflow's `python_function` for a custom
 * model class. Its MLmodel keys:
 *
 * | key | meaning |
 * |---|---|
 * | `loader_module` | always `jsfunc` |
 * | `code` | directory holding the bundled code (`code`) |
 * | `entry` | the bundle, relative to the package: `code/model.cjs` (a function body), or `code/model.mjs` (an ES module; the default when absent) |
 * | `export_name` | the export holding the model class (`default` unless given) |
 * | `predict_fn` | the method `predict` calls (`predict` unless given) |
 * | `config` | the saved `model_config` (MLflow's key name); omitted when none |
 * | `artifacts` | `{name: {path, uri}}`, `path` relative to the package; omitted when empty |
 * | `node_version` | Node version at save time |
 * | `env` | `{node: js_env.json}`, the environment record |
 *
 * Loading follows MLflow's `_load_context_model_and_signature`: resolve artifacts to absolute
 * paths inside the package, import the code, find and construct the class, then call
 * `loadContext(context)` exactly once. How the code is evaluated (and why a `.cjs` bundle can
 * be garbage-collected when the model is dropped) is described in `package/load-bundle.ts`;
 * how hostile exports are inspected, in `model-class.ts`.
 *
 * The model's code is foreign: an export may be a Proxy, a getter may throw. Every step that
 * touches it (reading the export, `name`, `prototype`, the predict method, `loadContext`) is
 * guarded, so such code fails with E_MODEL_IMPORT or E_MODEL_LOAD, never a bare exception.
 *
 * @module
 */
import { resolve } from 'node:path';
import { ModelError } from '../errors.js';
import {
  cleanBundleStack,
  evaluateBundle,
  prepareBundle,
  type BundleExports,
} from '../package/load-bundle.js';
import { readPackageFile, resolveInsidePackage } from '../package/package-file.js';
import { ArtifactScope } from '../package/shared-artifacts.js';
import {
  findModelClass,
  guarded,
  hasMethod,
  loadError,
  messageOf,
  methodNames,
  orElse,
} from './model-class.js';
import type { ModelContext } from '../package/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';

/** Kept importable from here (the onnx flavor and older callers import it from this module). */
export { resolveInsidePackage };

/** The flavor name in MLmodel. */
export const JS_FUNCTION_FLAVOR = 'js_function';
/** The `loader_module` value jsfunc writes and expects. */
export const JS_FUNCTION_LOADER_MODULE = 'jsfunc';
/** Directory of the bundled code inside a package. */
export const CODE_DIR = 'code';
/**
 * Bundle path of a package whose MLmodel names none (packages written before `entry` was
 * recorded were ES modules). `saveModel` always records the entry it wrote.
 */
export const DEFAULT_ENTRY = 'code/model.mjs';

/** One artifact entry of the flavor (MLflow's shape). */
export interface ArtifactEntry {
  /** Path relative to the package root. */
  path: string;
  /** Where the artifact was copied from at save time. */
  uri?: string;
}

/** The typed configuration of a `js_function` flavor. */
export interface JsFunctionFlavorConfig {
  loader_module: string;
  code: string;
  entry: string;
  export_name: string;
  predict_fn: string;
  config?: Record<string, unknown>;
  artifacts?: Record<string, ArtifactEntry>;
  node_version?: string;
  env?: Record<string, string>;
  [key: string]: unknown;
}

function badFlavor(source: string, what: string): ModelError {
  return new ModelError(
    'E_MLMODEL_INVALID',
    `Invalid "${JS_FUNCTION_FLAVOR}" flavor in "${source}": ${what}`,
    {
      details: { file: source, flavor: JS_FUNCTION_FLAVOR },
    }
  );
}

/**
 * Validates and types a `js_function` flavor configuration read from MLmodel.
 *
 * @param conf - The raw flavor mapping.
 * @param source - The MLmodel file, for messages.
 * @returns The typed configuration, defaults filled (`entry` = `code/model.mjs`,
 *   `export_name` = `default`, `predict_fn` = `predict`).
 * @throws {ModelError} E_MLMODEL_INVALID when a key has the wrong type.
 */
export function parseJsFunctionFlavor(
  conf: Record<string, unknown>,
  source: string
): JsFunctionFlavorConfig {
  const str = (key: string, fallback: string): string => {
    const v = conf[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || v === '')
      throw badFlavor(source, `"${key}" must be a non-empty string, found ${JSON.stringify(v)}`);
    return v;
  };
  const config = conf['config'];
  if (
    config !== undefined &&
    config !== null &&
    (typeof config !== 'object' || Array.isArray(config))
  ) {
    throw badFlavor(source, `"config" must be a mapping, found ${JSON.stringify(config)}`);
  }
  const artifacts = conf['artifacts'];
  const typedArtifacts: Record<string, ArtifactEntry> = {};
  if (artifacts !== undefined && artifacts !== null) {
    if (typeof artifacts !== 'object' || Array.isArray(artifacts)) {
      throw badFlavor(source, `"artifacts" must be a mapping of name to {path, uri}`);
    }
    for (const [name, entry] of Object.entries(artifacts)) {
      const path = (entry as { path?: unknown } | null)?.path;
      if (typeof path !== 'string' || path === '') {
        throw badFlavor(
          source,
          `artifact "${name}" must have a string "path", found ${JSON.stringify(entry)}`
        );
      }
      typedArtifacts[name] = entry as ArtifactEntry;
    }
  }
  return {
    ...conf,
    loader_module: str('loader_module', JS_FUNCTION_LOADER_MODULE),
    code: str('code', CODE_DIR),
    entry: str('entry', DEFAULT_ENTRY),
    export_name: str('export_name', 'default'),
    predict_fn: str('predict_fn', 'predict'),
    ...(config ? { config: config as Record<string, unknown> } : {}),
    ...(Object.keys(typedArtifacts).length > 0 ? { artifacts: typedArtifacts } : {}),
  };
}

/**
 * Maps every artifact of the flavor to an absolute path inside the package.
 *
 * @param packageDir - Absolute package directory.
 * @param artifacts - The flavor's `artifacts` (may be undefined).
 * @returns Artifact name -> absolute path.
 * @throws {ModelError} E_ARTIFACT_PATH, E_ARTIFACT_MISSING (naming the artifact).
 */
export async function resolveArtifacts(
  packageDir: string,
  artifacts: Record<string, ArtifactEntry> | undefined
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, entry] of Object.entries(artifacts ?? {})) {
    out[name] = await resolveInsidePackage(packageDir, entry.path, `artifact "${name}"`);
  }
  return out;
}

/**
 * Applies load-time `model_config` overrides the way MLflow's
 * `_get_overridden_pyfunc_model_config` does: only keys already present in the saved config are
 * overridden; other keys are ignored with a warning. Without a saved config every override is
 * ignored.
 *
 * @param saved - The saved `config` (may be undefined).
 * @param overrides - Load-time overrides (may be undefined).
 * @param warn - Receives the warning about ignored keys (default {@link defaultWarn}).
 * @returns A new config object.
 */
export function resolveModelConfig(
  saved: Readonly<Record<string, unknown>> | undefined,
  overrides: Readonly<Record<string, unknown>> | undefined,
  warn: WarnFn = defaultWarn
): Record<string, unknown> {
  const base: Record<string, unknown> = { ...saved };
  const keys = Object.keys(overrides ?? {});
  if (keys.length === 0 || overrides === undefined) return base;
  const savedKeys = Object.keys(base);
  if (savedKeys.length === 0) {
    warn(
      `modelConfig key(s) ${keys.join(', ')} were ignored because the model was saved without a modelConfig. ` +
        'Pass modelConfig to saveModel to allow overriding it at load.'
    );
    return base;
  }
  const ignored = keys.filter((k) => !Object.hasOwn(base, k));
  for (const k of keys) if (Object.hasOwn(base, k)) base[k] = overrides[k];
  if (ignored.length > 0) {
    warn(
      `modelConfig key(s) ${ignored.join(', ')} were ignored because they are not keys of the saved modelConfig ` +
        `(allowed: ${savedKeys.join(', ')}).`
    );
  }
  return base;
}

/** Options for {@link loadJsFunction}. */
export interface LoadJsFunctionOptions {
  /** Overrides for the saved config (see {@link resolveModelConfig}). */
  modelConfig?: Record<string, unknown>;
  /** Overrides the saved `predict_fn`. */
  predictFn?: string;
  /** Warning sink (default {@link defaultWarn}). */
  warn?: WarnFn;
}

/** A `js_function` model after its lifecycle ran. */
export interface LoadedJsFunction {
  /** The user's model instance (constructed, `loadContext` done). */
  instance: object;
  /** The context handed to `loadContext` and `predict`. */
  context: ModelContext;
  /** The method that scores. */
  predictFn: string;
  /** External package -> the file URL it resolved to. */
  externals: Record<string, string>;
  /** Rewrites an error thrown by the model so its stack names the bundle file, not a data: URL. */
  cleanStack(error: unknown): void;
  /** The model's shared artifacts (`context.sharedArtifact`), released with the model. */
  artifactScope: ArtifactScope;
}

/** An artifact error raised by jsfunc (`context.sharedArtifact`), as opposed to the model's own. */
function isArtifactError(error: unknown): error is ModelError {
  try {
    return (
      ModelError.is(error) &&
      (error.code === 'E_ARTIFACT_MISSING' || error.code === 'E_ARTIFACT_PATH')
    );
  } catch {
    // The model's own error class may make `name` or `code` throw: not ours.
    return false;
  }
}

/**
 * Runs the lifecycle of a `js_function` model: artifacts -> import -> class -> construct ->
 * `loadContext` once.
 *
 * @param packageDir - Absolute package directory.
 * @param flavor - The typed flavor configuration.
 * @param options - See {@link LoadJsFunctionOptions}.
 * @returns The ready model.
 * @throws {ModelError} E_ARTIFACT_PATH / E_ARTIFACT_MISSING (artifacts or code file: outside
 *   the package, absent, or, for the code file, a directory, a FIFO or another non-regular file);
 *   E_MODEL_IMPORT (import failed, external package missing, export not a class, no predict
 *   method, a getter or Proxy trap of the export threw); E_MODEL_LOAD (constructor or
 *   loadContext threw); E_ARTIFACT_MISSING / E_ARTIFACT_PATH as raised by
 *   `context.sharedArtifact` inside loadContext (unknown name, directory, unreadable file).
 */
export async function loadJsFunction(
  packageDir: string,
  flavor: JsFunctionFlavorConfig,
  options: LoadJsFunctionOptions = {}
): Promise<LoadedJsFunction> {
  const warn = options.warn ?? defaultWarn;
  const artifacts = Object.freeze(await resolveArtifacts(packageDir, flavor.artifacts));
  const modelConfig = Object.freeze(resolveModelConfig(flavor.config, options.modelConfig, warn));
  const predictFn = options.predictFn ?? flavor.predict_fn;
  // Inside the package through symlinks, and a regular file (not a directory, not a FIFO).
  const code = await readPackageFile(packageDir, flavor.entry, 'model code file');
  const entry = resolve(packageDir, flavor.entry);
  const prepared = prepareBundle(code, entry);
  // Only the URLs: the stack cleaner outlives the load and must not keep the bundle text.
  const where = { url: prepared.url, fileUrl: prepared.fileUrl };
  const externals = prepared.resolved;
  let mod: BundleExports;
  try {
    mod = await evaluateBundle(prepared);
  } catch (cause) {
    cleanBundleStack(cause, where);
    throw new ModelError(
      'E_MODEL_IMPORT',
      `Importing model code "${entry}" failed: ${messageOf(cause)}`,
      { details: { file: entry }, cause }
    );
  }

  const exportName = flavor.export_name;
  const { ctor, className, onPrototype } = findModelClass(mod, entry, exportName, predictFn);

  let instance: object;
  try {
    instance = new ctor();
  } catch (cause) {
    cleanBundleStack(cause, where);
    throw loadError(`The constructor of model class ${className} threw`, entry, cause);
  }
  const hasPredict = guarded(
    () => onPrototype || hasMethod(instance, predictFn),
    (cause) => loadError(`Reading "${predictFn}" of the model instance threw`, entry, cause)
  );
  if (!hasPredict) {
    const methods = orElse(() => methodNames(ctor.prototype as object | null).join(', '), '?');
    throw new ModelError(
      'E_MODEL_IMPORT',
      `Model class ${className} in "${entry}" has no method "${predictFn}" ` +
        `(methods: ${methods || 'none'})`,
      { details: { file: entry, exportName, predictFn } }
    );
  }

  const artifactScope = new ArtifactScope(artifacts);
  const context: ModelContext = Object.freeze({
    artifacts,
    modelConfig,
    sharedArtifact: (name: string) => artifactScope.get(name),
  });
  const load = guarded(
    () => (instance as { loadContext?: unknown }).loadContext,
    (cause) => loadError(`Reading loadContext of model class ${className} threw`, entry, cause)
  );
  if (typeof load === 'function') {
    try {
      await (load as (c: ModelContext) => unknown).call(instance, context);
    } catch (cause) {
      // The artifacts leased before the failure would otherwise stay in shared memory.
      artifactScope.release();
      cleanBundleStack(cause, where);
      // A package problem found through context.sharedArtifact (no such artifact, a directory,
      // an unreadable file) keeps its own code, as when resolving the artifacts above.
      if (isArtifactError(cause)) throw cause;
      throw loadError(`loadContext of model class ${className} threw`, entry, cause);
    }
  }
  return {
    instance,
    context,
    predictFn,
    externals,
    cleanStack: (error) => cleanBundleStack(error, where),
    artifactScope,
  };
}
