/**
 * `getModelInfo`: a printable summary of any MLmodel package (jsfunc's or MLflow's), read
 * without running any model code.
 *
 * @module
 */
import { dirname } from 'node:path';
import { ModelError } from '../errors.js';
import { JS_FUNCTION_FLAVOR } from '../flavors/js-function.js';
import { LOADABLE_FLAVORS } from '../flavors/registry.js';
import type { ModelSignature } from '../signature/types.js';
import { readJsEnv, type JsEnv } from './environment.js';
import { readInputExample } from './input-example.js';
import { localModelPath } from './load-model.js';
import { readMLmodel, resolveMLmodelPath } from './mlmodel.js';
import type { InputExampleInfo } from './types.js';

/** What {@link getModelInfo} returns: plain data, safe to `JSON.stringify`. */
export interface ModelInfo {
  /** Absolute package directory. */
  path: string;
  /** Absolute path of the MLmodel file. */
  mlmodelPath: string;
  /** Flavor name -> configuration, as written. */
  flavors: Record<string, Record<string, unknown>>;
  /** The flavors of this package jsfunc can load (empty: `loadModel` fails). */
  loadableFlavors: string[];
  modelUuid: string | null;
  utcTimeCreated: string | null;
  mlflowVersion: string | null;
  /** `jsfunc_version` of jsfunc-written packages. */
  jsfuncVersion: string | null;
  signature: ModelSignature | null;
  /** The signature as written (`{inputs, outputs, params}` JSON strings), or null. */
  signatureJson: Record<string, unknown> | null;
  modelSizeBytes: number | null;
  inputExampleInfo: InputExampleInfo | null;
  /** The parsed `input_example.json` when present (split frames stay in split form). */
  inputExample: unknown;
  metadata: Record<string, unknown> | null;
  /** `js_env.json` of jsfunc-written packages. */
  env: JsEnv | null;
  /** Every top-level key of the MLmodel file. */
  raw: Record<string, unknown>;
}

/**
 * Reads a package's MLmodel (and, when present, its input example and `js_env.json`) into a
 * plain summary. No model code is imported or run.
 *
 * @param path - The package directory, its `MLmodel` file, or a model URI (see `loadModel`).
 * @param options - For model URIs: tracking URI, cache directory, abort signal.
 * @returns The summary.
 * @throws {ModelError} E_MLMODEL_MISSING, E_MLMODEL_INVALID, E_SIGNATURE_INVALID (the MLmodel);
 *   E_ARTIFACT_PATH when the MLmodel, the input example or `js_env.json` leads out of the
 *   package (also through a symlink); E_ARTIFACT_MISSING when one of them is a FIFO or another
 *   non-regular file; E_FORMAT_MALFORMED when the input example nests too deeply.
 */
export async function getModelInfo(
  path: string,
  options: { trackingUri?: string; cacheDir?: string; signal?: AbortSignal } = {}
): Promise<ModelInfo> {
  const file = await resolveMLmodelPath(await localModelPath(path, options));
  const dir = dirname(file);
  const meta = await readMLmodel(file);
  const info = meta.savedInputExampleInfo;
  const inputExample = info === null ? null : await readInputExample(dir, info);
  let env: JsEnv | null = null;
  if (meta.flavors[JS_FUNCTION_FLAVOR] !== undefined) {
    // A malformed js_env.json is shown as absent (it is informational); a hostile one (a
    // symlink out of the package, a FIFO) is refused like any other package file.
    env = await readJsEnv(dir).catch((e: unknown) => {
      if (ModelError.is(e) && e.code === 'E_MLMODEL_INVALID') return null;
      throw e;
    });
  }
  const jsfuncVersion = meta.raw['jsfunc_version'];
  const sig = meta.raw['signature'];
  return {
    path: dir,
    mlmodelPath: file,
    flavors: meta.flavors,
    loadableFlavors: LOADABLE_FLAVORS.filter((f) => meta.flavors[f] !== undefined),
    modelUuid: meta.modelUuid,
    utcTimeCreated: meta.utcTimeCreated,
    mlflowVersion: meta.mlflowVersion,
    jsfuncVersion: typeof jsfuncVersion === 'string' ? jsfuncVersion : null,
    signature: meta.signature,
    signatureJson:
      typeof sig === 'object' && sig !== null ? (sig as Record<string, unknown>) : null,
    modelSizeBytes: meta.modelSizeBytes,
    inputExampleInfo: info,
    inputExample,
    metadata: meta.metadata,
    env,
    raw: meta.raw,
  };
}
