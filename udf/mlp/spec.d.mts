import type { ExampleSaveOptions, PrepareOptions } from '../shared/spec-types.js';

/** Example name (the directory under udf/). */
export declare const name: 'mlp';
/** Path of the generated weights under a repository root (default: this checkout). */
export declare function artifactPath(rootDir?: string): string;
/**
 * Generates the weights JSON unless it exists (`force` regenerates).
 * @param rootDir - repository root (default: this checkout)
 */
export declare function prepare(rootDir?: string, options?: PrepareOptions): Promise<void>;
/**
 * saveModel options for the mlp example (call `prepare` first).
 * @param rootDir - repository root (default: this checkout)
 * @param overrides - merged over the result (e.g. other `artifacts.weights` for tests)
 */
export declare function saveOptions(
  rootDir?: string,
  overrides?: Partial<ExampleSaveOptions>
): ExampleSaveOptions;
