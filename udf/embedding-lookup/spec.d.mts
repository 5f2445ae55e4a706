import type { ExampleSaveOptions, PrepareOptions } from '../shared/spec-types.js';

/** Example name (the directory under udf/). */
export declare const name: 'embedding-lookup';
/** Path of the generated table under a repository root (default: this checkout). */
export declare function artifactPath(rootDir?: string): string;
/**
 * Generates the 40 MB table unless a current one exists (`force` regenerates).
 * @param rootDir - repository root (default: this checkout)
 */
export declare function prepare(rootDir?: string, options?: PrepareOptions): Promise<void>;
/**
 * saveModel options for the embedding-lookup example (call `prepare` first).
 * @param rootDir - repository root (default: this checkout)
 * @param overrides - merged over the result (e.g. a small `artifacts.embeddings` for tests)
 */
export declare function saveOptions(
  rootDir?: string,
  overrides?: Partial<ExampleSaveOptions>
): ExampleSaveOptions;
