/**
 * `saveModel`: write a self-contained model package in MLflow's layout.
 *
 * ```
 * <path>/
 *   MLmodel                       flavors.js_function, signature, input example info, ...
 *   code/model.cjs                the model module and its local imports, bundled by esbuild
 *                                 (code/model.mjs when it uses top-level await: see bundle.ts)
 *   artifacts/<name>/...          copies of the artifacts
 *   input_example.json            pandas split orient (when an example is given)
 *   serving_input_example.json    {"dataframe_split": ...}
 *   js_env.json                   Node / jsfunc / npm package versions (see environment.ts)
 * ```
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ModelError } from '../errors.js';
import {
  CODE_DIR,
  JS_FUNCTION_FLAVOR,
  JS_FUNCTION_LOADER_MODULE,
  type ArtifactEntry,
  type JsFunctionFlavorConfig,
} from '../flavors/js-function.js';
import { signatureOption, type SignatureInput } from '../signature/signature-option.js';
import { bundleModel } from './bundle.js';
import { JS_ENV_FILE_NAME, jsfuncVersion, writeJsEnv } from './environment.js';
import { writeInputExample } from './input-example.js';
import { MLMODEL_FILE_NAME, mlmodelToDict, serializeMLmodel } from './mlmodel.js';
import { listPackageFiles } from './package-hash.js';
import type { InputExampleInfo, ModelMetadata, ModelSource } from './types.js';

/** Options for {@link saveModel}. */
export interface SaveModelOptions {
  /** The model module (.ts/.js/.mjs) whose default export is the model class, or `{ path, exportName }`. */
  model: ModelSource;
  /** Artifact name -> file or directory to copy into `artifacts/<name>/`. Default none. */
  artifacts?: Readonly<Record<string, string>>;
  /**
   * The model signature. Default none. Either jsfunc's typed form (as `inferSignature`
   * returns) or MLflow's, as an MLmodel file holds it (`{inputs, outputs, params}` as JSON
   * strings); see `signature/signature-option.ts`.
   */
  signature?: SignatureInput | null;
  /** An input example: Arrow table, rows, columns or a 2-D array. Default none. */
  inputExample?: unknown;
  /** JSON-serializable configuration, recorded as the flavor's `config`. Default none. */
  modelConfig?: Readonly<Record<string, unknown>>;
  /** Free-form metadata recorded at the top level of MLmodel. Default none. */
  metadata?: Readonly<Record<string, unknown>>;
  /** The method `predict` calls. Default `predict`. */
  predictFn?: string;
  /**
   * npm packages to keep out of the bundle and resolve from the loading process at load time,
   * in addition to jsfunc's host packages (apache-arrow, danfojs-node, onnxruntime-node, ...)
   * and packages with native code. Default none.
   */
  external?: readonly string[];
}

const ARTIFACT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Builds the error a save function raises for a bad option.
 *
 * @param message - What was expected and what was found.
 * @param option - The option's name, recorded as `details.option`.
 * @returns An E_OPTION_INVALID {@link ModelError} (to throw).
 */
export function optionError(message: string, option: string): ModelError {
  return new ModelError('E_OPTION_INVALID', message, { details: { option } });
}

/**
 * Formats a time like Python's `str(datetime.utcnow())`, which MLflow writes as
 * `utc_time_created`: naive UTC with microseconds, the fraction omitted when it is zero.
 *
 * @param epochMicros - Microseconds since the epoch.
 * @returns E.g. `2024-05-17 23:15:28.764394`.
 */
export function formatUtcTime(epochMicros: number): string {
  const micros = Math.round(epochMicros);
  const ms = Math.floor(micros / 1000);
  const frac = micros - Math.floor(micros / 1_000_000) * 1_000_000;
  const iso = new Date(ms).toISOString(); // 2024-05-17T23:15:28.764Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0')}`;
}

/**
 * Deep-copies an option that MLmodel records as a mapping, through JSON, so what is saved is
 * exactly what a later load reads back.
 *
 * @param value - The option's value.
 * @param option - The option's name, for the message (e.g. `options.metadata`).
 * @returns A JSON copy of `value`.
 * @throws {ModelError} E_OPTION_INVALID when `value` is not a JSON-serializable plain object.
 */
export function jsonClone(value: unknown, option: string): Record<string, unknown> {
  try {
    const out = JSON.parse(JSON.stringify(value)) as unknown;
    if (typeof out !== 'object' || out === null || Array.isArray(out))
      throw new Error('not an object');
    return out as Record<string, unknown>;
  } catch (cause) {
    throw new ModelError('E_OPTION_INVALID', `${option} must be a JSON-serializable object`, {
      details: { option },
      cause,
    });
  }
}

/**
 * Checks that a package can be written at `path`: it must not exist, or be an empty directory
 * (MLflow's rule for `save_model`).
 *
 * @param path - The absolute target directory.
 * @returns `true` when the directory does not exist yet (the caller creates it, and removes it
 *   again on failure), `false` when it exists and is empty (on failure only its contents go).
 * @throws {ModelError} E_TARGET_NOT_EMPTY when `path` is a file or a non-empty directory.
 */
export async function ensureEmptyTarget(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined) return true;
  if (!st.isDirectory() || (await readdir(path)).length > 0) {
    throw new ModelError('E_TARGET_NOT_EMPTY', `Path '${path}' already exists and is not empty`, {
      details: { path },
    });
  }
  return false;
}

/**
 * Sums the sizes of a package's files, as MLflow's `model_size_bytes`.
 *
 * @param target - The package directory.
 * @returns The total size in bytes.
 */
export async function packageSizeBytes(target: string): Promise<number> {
  return (await listPackageFiles(target)).reduce((acc, [, n]) => acc + n, 0);
}

/**
 * Cleans up after a failed save and returns the error to throw: no half-written package is left
 * behind (the directory is removed if the save created it, else emptied again), a
 * {@link ModelError} passes through unchanged and anything else becomes E_SAVE_FAILED.
 *
 * @param target - The package directory.
 * @param created - What {@link ensureEmptyTarget} returned for it.
 * @param error - What the save threw.
 * @param what - What was being saved, for the message (e.g. `the ONNX model`).
 * @returns The error to throw.
 */
export async function abandonSave(
  target: string,
  created: boolean,
  error: unknown,
  what: string
): Promise<ModelError> {
  if (created) await rm(target, { recursive: true, force: true });
  else
    for (const e of await readdir(target))
      await rm(join(target, e), { recursive: true, force: true });
  if (ModelError.is(error)) return error;
  return new ModelError('E_SAVE_FAILED', `Saving ${what} to "${target}" failed: ${String(error)}`, {
    details: { path: target },
    cause: error,
  });
}

/**
 * Saves a model as a self-contained package directory that {@link loadModel} (and MLflow's
 * tools, for reading) understand.
 *
 * @param path - Target directory; must not exist or be empty.
 * @param options - See {@link SaveModelOptions}.
 * @returns The metadata written to `MLmodel`.
 * @throws {ModelError} E_TARGET_NOT_EMPTY when `path` exists and is not empty;
 *   E_ARTIFACT_MISSING when the model module or an artifact does not exist;
 *   E_SAVE_FAILED when bundling or copying fails; E_OPTION_INVALID for bad options;
 *   E_SIGNATURE_INVALID for a signature that is neither form or breaks a schema rule;
 *   E_INPUT_INVALID for an input example that cannot be converted.
 *
 * @example
 * ```ts
 * await saveModel('out/linear', {
 *   model: 'udf/linear/model.ts',
 *   artifacts: { weights: 'udf/linear/weights.json' },
 *   modelConfig: { scale: 2 },
 *   inputExample: [{ x0: 1, x1: 2 }],
 * });
 * ```
 */
export async function saveModel(path: string, options: SaveModelOptions): Promise<ModelMetadata> {
  const target = resolve(path);
  const source = typeof options.model === 'string' ? { path: options.model } : options.model;
  if (typeof source?.path !== 'string' || source.path === '') {
    throw optionError('options.model must be a module path or { path, exportName }', 'model');
  }
  const exportName = source.exportName ?? 'default';
  const predictFn = options.predictFn ?? 'predict';
  if (typeof predictFn !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(predictFn)) {
    throw optionError(
      `options.predictFn must be a method name, found ${JSON.stringify(predictFn)}`,
      'predictFn'
    );
  }
  const artifactSources = Object.entries(options.artifacts ?? {});
  for (const [name, p] of artifactSources) {
    if (!ARTIFACT_NAME.test(name) || name === '..') {
      throw optionError(
        `Artifact name "${name}" is invalid: use letters, digits, "_", "-" and "." (it becomes a directory name)`,
        'artifacts'
      );
    }
    if (typeof p !== 'string' || p === '')
      throw optionError(`Artifact "${name}" must be a path string`, 'artifacts');
  }
  const modelConfig =
    options.modelConfig === undefined
      ? undefined
      : jsonClone(options.modelConfig, 'options.modelConfig');
  const metadata =
    options.metadata === undefined ? undefined : jsonClone(options.metadata, 'options.metadata');
  // Checked before anything is written: a bad signature must not cost a bundle.
  const signature = signatureOption(options.signature);

  const modelFile = resolve(source.path);
  if (!(await stat(modelFile).catch(() => undefined))?.isFile()) {
    throw new ModelError('E_ARTIFACT_MISSING', `Model module "${source.path}" does not exist`, {
      details: { file: modelFile },
    });
  }
  const resolvedArtifacts: [string, string, boolean][] = [];
  for (const [name, p] of artifactSources) {
    const abs = resolve(p);
    const st = await stat(abs).catch(() => undefined);
    if (st === undefined) {
      throw new ModelError('E_ARTIFACT_MISSING', `Artifact "${name}" does not exist at "${p}"`, {
        details: { artifact: name, path: abs },
      });
    }
    resolvedArtifacts.push([name, abs, st.isDirectory()]);
  }

  const created = await ensureEmptyTarget(target);
  await mkdir(target, { recursive: true });
  try {
    const bundle = await bundleModel(modelFile, join(target, CODE_DIR), {
      external: options.external,
    });

    const artifacts: Record<string, ArtifactEntry> = {};
    for (const [name, abs, isDir] of resolvedArtifacts) {
      const rel = isDir ? `artifacts/${name}` : `artifacts/${name}/${basename(abs)}`;
      try {
        await cp(abs, join(target, rel), {
          recursive: true,
          dereference: true,
          errorOnExist: true,
        });
      } catch (cause) {
        throw new ModelError('E_SAVE_FAILED', `Copying artifact "${name}" from "${abs}" failed`, {
          details: { artifact: name, path: abs },
          cause,
        });
      }
      artifacts[name] = { path: rel, uri: abs };
    }

    let exampleInfo: InputExampleInfo | null = null;
    if (options.inputExample !== undefined && options.inputExample !== null) {
      exampleInfo = await writeInputExample(target, options.inputExample);
    }

    const version = jsfuncVersion();
    await writeJsEnv(target, {
      node_version: process.versions.node,
      jsfunc_version: version,
      external: bundle.external,
      bundled: bundle.bundled,
    });

    const flavor: JsFunctionFlavorConfig = {
      loader_module: JS_FUNCTION_LOADER_MODULE,
      code: CODE_DIR,
      entry: `${CODE_DIR}/${bundle.file}`,
      export_name: exportName,
      predict_fn: predictFn,
      node_version: process.versions.node,
      env: { node: JS_ENV_FILE_NAME },
      ...(modelConfig !== undefined ? { config: modelConfig } : {}),
      ...(Object.keys(artifacts).length > 0 ? { artifacts } : {}),
    };

    // MLflow computes model_size_bytes over the directory just before writing MLmodel.
    const size = await packageSizeBytes(target);
    const meta: ModelMetadata = {
      flavors: { [JS_FUNCTION_FLAVOR]: flavor },
      modelUuid: randomUUID().replaceAll('-', ''),
      utcTimeCreated: formatUtcTime((performance.timeOrigin + performance.now()) * 1000),
      mlflowVersion: null,
      signature,
      savedInputExampleInfo: exampleInfo,
      modelSizeBytes: size,
      metadata: metadata ?? null,
      raw: { jsfunc_version: version },
    };
    meta.raw = mlmodelToDict(meta);
    await writeFile(join(target, MLMODEL_FILE_NAME), serializeMLmodel(meta));
    return meta;
  } catch (error) {
    throw await abandonSave(target, created, error, 'the model');
  }
}
