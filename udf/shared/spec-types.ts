/**
 * The shape of an example's `spec.mjs`: how `udf/package.mjs` (and the packaging tests) turn
 * an example model into `saveModel(path, options)` arguments.
 *
 * The specs are plain JavaScript so `node udf/package.mjs` runs without a TypeScript loader;
 * each `spec.d.mts` re-declares its exports against these types.
 *
 * @module
 */
import type { ModelSignature } from '../../src/signature/types.js';

/** The subset of `saveModel` options the examples use (structurally the same option names). */
export interface ExampleSaveOptions {
  /** Absolute path of the model's `model.ts` (bundled by saveModel). */
  model: string | { path: string; exportName?: string };
  /** Artifact name -> absolute file path. */
  artifacts: Record<string, string>;
  signature: ModelSignature;
  /** Row-oriented input example (an array of plain objects). */
  inputExample: Record<string, unknown>[];
  modelConfig: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Method name `predict` calls; absent means `predict`. */
  predictFn?: string;
}

/** Options for a spec's `prepare` (generating artifacts that are not committed). */
export interface PrepareOptions {
  /** Regenerate even when the file exists (default false). */
  force?: boolean;
  /** Print what was generated (default false). */
  verbose?: boolean;
}
