/**
 * The `js_function` flavor: jsfunc's counterpart of MLflow's `python_function` for a custom
 * model class. Its MLmodel keys:
 *
 * | key | meaning |
 * |---|---|
 * | `loader_module` | always `jsfunc` |
 * | `code` | directory holding the bundled code (`code`) |
 * | `entry` | the bundle, relative to the package (`code/model.mjs`) |
 * | `export_name` | the export holding the model class (`default` unless given) |
 * | `predict_fn` | the method `predict` calls (`predict` unless given) |
 * | `config` | the saved `model_config` (MLflow's key name); omitted when none |
 * | `artifacts` | `{name: {path, uri}}`, `path` relative to the package; omitted when empty |
 * | `node_version` | Node version at save time |
 * | `env` | `{node: js_env.json}`, the environment record |
 *
 * Loading follows MLflow's `_load_context_model_and_signature`: resolve artifacts to absolute
 * paths inside the package, import the code, find and construct the class, then call
 * `loadContext(context)` exactly once.
 *
 * @module
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ModelError } from '../errors.js';
import type { ModelContext } from '../package/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { cleanBundleStack, prepareBundle } from '../package/bundle.js';

/** The flavor name in MLmodel. */
export const JS_FUNCTION_FLAVOR = 'js_function';
/** The `loader_module` value jsfunc writes and expects. */
export const JS_FUNCTION_LOADER_MODULE = 'jsfunc';
/** Directory of the bundled code inside a package. */
export const CODE_DIR = 'code';
/** Default bundle path inside a package. */
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
 * Resolves a path recorded in the package to an absolute path that must stay inside it.
 *
 * @param packageDir - Absolute package directory.
 * @param rel - The recorded relative path.
 * @param what - What the path names, for messages (e.g. `artifact "weights"`).
 * @returns The absolute path (symlinks resolved).
 * @throws {ModelError} E_ARTIFACT_PATH for absolute paths or paths leaving the package;
 *   E_ARTIFACT_MISSING when nothing exists there.
 */
export async function resolveInsidePackage(
  packageDir: string,
  rel: string,
  what: string
): Promise<string> {
  const escape = (found: string): ModelError =>
    new ModelError(
      'E_ARTIFACT_PATH',
      `The ${what} path "${rel}" ${found}; package paths must be relative and stay inside "${packageDir}"`,
      { details: { path: rel, package: packageDir } }
    );
  if (isAbsolute(rel) || /^[a-zA-Z]:[\\/]/.test(rel) || rel.startsWith('\\'))
    throw escape('is absolute');
  const abs = resolve(packageDir, rel);
  if (!isInside(packageDir, abs)) throw escape('leaves the package');
  let real: string;
  try {
    await stat(abs);
    real = await realpath(abs);
  } catch (cause) {
    throw new ModelError(
      'E_ARTIFACT_MISSING',
      `The ${what} "${rel}" does not exist in the package "${packageDir}"`,
      {
        details: { path: rel, package: packageDir },
        cause,
      }
    );
  }
  // A symlink inside the package may point outside it.
  const realRoot = await realpath(packageDir);
  if (!isInside(realRoot, real))
    throw escape(`resolves (through a symlink) to "${real}", outside the package`);
  return abs;
}

function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
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
}

type Ctor = new () => object;

function describeExport(x: unknown): string {
  if (x === undefined) return 'nothing (undefined)';
  if (x === null) return 'null';
  if (typeof x === 'function')
    return 'a function that is not a constructor (an arrow function or method)';
  if (typeof x === 'object') return `an object with keys [${Object.keys(x).join(', ')}]`;
  return `a ${typeof x} (${JSON.stringify(x)})`;
}

function isConstructor(x: unknown): x is Ctor {
  return typeof x === 'function' && typeof (x as { prototype?: unknown }).prototype === 'object';
}

function hasMethod(obj: object, name: string): boolean {
  return typeof (obj as Record<string, unknown>)[name] === 'function';
}

function methodNames(proto: object | null): string[] {
  const names = new Set<string>();
  for (
    let p = proto;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    for (const n of Object.getOwnPropertyNames(p)) {
      if (n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(p, n)?.value === 'function')
        names.add(n);
    }
  }
  return [...names];
}

/**
 * Runs the lifecycle of a `js_function` model: artifacts -> import -> class -> construct ->
 * `loadContext` once.
 *
 * @param packageDir - Absolute package directory.
 * @param flavor - The typed flavor configuration.
 * @param options - See {@link LoadJsFunctionOptions}.
 * @returns The ready model.
 * @throws {ModelError} E_ARTIFACT_PATH / E_ARTIFACT_MISSING (artifacts or code file);
 *   E_MODEL_IMPORT (import failed, external package missing, export not a class, no predict
 *   method); E_MODEL_LOAD (constructor or loadContext threw).
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
  const entry = await resolveInsidePackage(packageDir, flavor.entry, 'model code file');

  const code = await readFile(entry, 'utf8');
  const prepared = prepareBundle(code, entry);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(prepared.url)) as Record<string, unknown>;
  } catch (cause) {
    cleanBundleStack(cause, prepared);
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ModelError('E_MODEL_IMPORT', `Importing model code "${entry}" failed: ${message}`, {
      details: { file: entry },
      cause,
    });
  }

  const exportName = flavor.export_name;
  const found = mod[exportName];
  if (!isConstructor(found)) {
    throw new ModelError(
      'E_MODEL_IMPORT',
      `Model code "${entry}" must export a class as "${exportName}", found ${describeExport(found)} ` +
        `(exports: ${Object.keys(mod).join(', ') || 'none'})`,
      { details: { file: entry, exportName } }
    );
  }
  const className = found.name || exportName;
  const onPrototype = hasMethod(found.prototype, predictFn);

  let instance: object;
  try {
    instance = new found();
  } catch (cause) {
    cleanBundleStack(cause, prepared);
    throw loadError(`The constructor of model class ${className} threw`, entry, cause);
  }
  if (!onPrototype && !hasMethod(instance, predictFn)) {
    throw new ModelError(
      'E_MODEL_IMPORT',
      `Model class ${className} in "${entry}" has no method "${predictFn}" ` +
        `(methods: ${methodNames(found.prototype).join(', ') || 'none'})`,
      { details: { file: entry, exportName, predictFn } }
    );
  }

  const context: ModelContext = Object.freeze({ artifacts, modelConfig });
  const load = (instance as { loadContext?: unknown }).loadContext;
  if (typeof load === 'function') {
    try {
      await (load as (c: ModelContext) => unknown).call(instance, context);
    } catch (cause) {
      cleanBundleStack(cause, prepared);
      throw loadError(`loadContext of model class ${className} threw`, entry, cause);
    }
  }
  return {
    instance,
    context,
    predictFn,
    externals: prepared.resolved,
    cleanStack: (error) => cleanBundleStack(error, prepared),
  };
}

function loadError(what: string, file: string, cause: unknown): ModelError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ModelError('E_MODEL_LOAD', `${what}: ${message}`, { details: { file }, cause });
}
