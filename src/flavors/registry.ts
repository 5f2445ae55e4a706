/**
 * Which MLmodel flavors jsfunc can load, and how to pick one.
 *
 * The table is a constant, not a mutable registry: nothing registers at import time, so every
 * worker thread and every model sees the same set. New flavors are added here as entries
 * (`js_function`, then `onnx`); the first flavor of {@link LOADABLE_FLAVORS} that a package declares wins.
 *
 * @module
 */
import { ModelError } from '../errors.js';
import type { ModelMetadata } from '../package/types.js';
import {
  JS_FUNCTION_FLAVOR,
  loadJsFunction,
  parseJsFunctionFlavor,
  type LoadJsFunctionOptions,
  type LoadedJsFunction,
} from './js-function.js';
import { loadOnnx, ONNX_FLAVOR, parseOnnxFlavor } from './onnx.js';

/** How one flavor loads. */
export interface FlavorLoader {
  /** Flavor key in MLmodel `flavors`. */
  readonly name: string;
  /**
   * Runs the flavor's lifecycle.
   * @param packageDir - Absolute package directory.
   * @param conf - The flavor's raw configuration from MLmodel.
   * @param source - The MLmodel file, for messages.
   * @param options - Load options.
   */
  load(
    packageDir: string,
    conf: Record<string, unknown>,
    source: string,
    options: LoadJsFunctionOptions
  ): Promise<LoadedJsFunction>;
}

const jsFunctionLoader: FlavorLoader = {
  name: JS_FUNCTION_FLAVOR,
  load: (packageDir, conf, source, options) =>
    loadJsFunction(packageDir, parseJsFunctionFlavor(conf, source), options),
};

const onnxLoader: FlavorLoader = {
  name: ONNX_FLAVOR,
  load: (packageDir, conf, source, options) =>
    loadOnnx(packageDir, parseOnnxFlavor(conf, source), options),
};

/** The flavors jsfunc can load, in order of preference. */
export const FLAVOR_LOADERS: readonly FlavorLoader[] = [jsFunctionLoader, onnxLoader];

/** Names of the flavors jsfunc can load. */
export const LOADABLE_FLAVORS: readonly string[] = FLAVOR_LOADERS.map((l) => l.name);

/**
 * Picks the loader for a package: the first of {@link FLAVOR_LOADERS} that it declares.
 *
 * @param meta - The parsed MLmodel.
 * @param source - The package path, for messages.
 * @returns The loader and the flavor's raw configuration.
 * @throws {ModelError} E_FLAVOR_UNSUPPORTED naming the flavors found and the loadable ones.
 */
export function selectFlavor(
  meta: Pick<ModelMetadata, 'flavors'>,
  source: string
): { loader: FlavorLoader; conf: Record<string, unknown> } {
  for (const loader of FLAVOR_LOADERS) {
    const conf = meta.flavors[loader.name];
    if (conf !== undefined) return { loader, conf };
  }
  const found = Object.keys(meta.flavors);
  throw new ModelError(
    'E_FLAVOR_UNSUPPORTED',
    `Model "${source}" has flavor(s) [${found.join(', ')}], none of which jsfunc can load; ` +
      `jsfunc loads [${LOADABLE_FLAVORS.join(', ')}]`,
    { details: { path: source, flavors: found, supported: [...LOADABLE_FLAVORS] } }
  );
}
