import type { ExampleSaveOptions } from '../shared/spec-types.js';

/** Example name (the directory under udf/). */
export declare const name: 'linear';
/** Feature columns `x0..x9`, in signature order. */
export declare const features: readonly string[];
/**
 * saveModel options for the linear example.
 * @param rootDir - repository root (default: this checkout)
 * @param overrides - merged over the result (e.g. `{ predictFn: 'predictMargin' }`)
 */
export declare function saveOptions(
  rootDir?: string,
  overrides?: Partial<ExampleSaveOptions>
): ExampleSaveOptions;
