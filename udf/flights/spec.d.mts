import type { ExampleSaveOptions } from '../shared/spec-types.js';

/** Example name (the directory under udf/). */
export declare const name: 'flights';
/**
 * saveModel options for the flights example.
 * @param rootDir - repository root (default: this checkout)
 * @param overrides - merged over the result
 */
export declare function saveOptions(
  rootDir?: string,
  overrides?: Partial<ExampleSaveOptions>
): ExampleSaveOptions;
