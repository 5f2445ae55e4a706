/**
 * Linear regression over ten double features `x0..x9`: `scale * (w·x + b)`.
 *
 * - Artifact `weights`: `weights.json` with `{ features: string[10], weights: number[10], bias }`.
 * - Config: `scale` (default 1) multiplies the output; `loadLogPath` (default "") appends one
 *   line per `loadContext` to that file (see `udf/shared/load-log.ts`).
 * - `predict` returns a `Float64Array`, one value per row; null inputs give NaN.
 * - `predictMargin` returns the signed distance to the hyperplane, `(w·x + b) / ‖w‖`, ignoring
 *   `scale`; save with `predictFn: 'predictMargin'` to serve it instead of `predict`.
 *
 * Both methods read each column once into a typed array and accumulate column by column, so a
 * batch costs ten tight loops and no per-row allocation.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Table } from 'apache-arrow';
import type { JsModel, ModelContext } from '../../src/package/types.js';
import { readFloat64 } from '../shared/columns.js';
import { configNumber } from '../shared/config-number.js';
import { appendLoadLog } from '../shared/load-log.js';

/** The parsed `weights.json` artifact. */
export interface LinearWeights {
  features: string[];
  weights: number[];
  bias: number;
}

/**
 * Parses and checks a `weights.json` text.
 *
 * @param text - the file content
 * @param file - file path, for messages
 * @returns the weights
 * @throws {Error} when the JSON is malformed or the arrays do not line up
 */
export function parseLinearWeights(text: string, file: string): LinearWeights {
  const raw = JSON.parse(text) as Partial<LinearWeights>;
  const { features, weights, bias } = raw;
  if (!Array.isArray(features) || !features.every((f) => typeof f === 'string')) {
    throw new Error(`${file}: "features" must be an array of column names`);
  }
  if (!Array.isArray(weights) || !weights.every((w) => typeof w === 'number')) {
    throw new Error(`${file}: "weights" must be an array of numbers`);
  }
  if (weights.length !== features.length) {
    throw new Error(
      `${file}: expected one weight per feature (${features.length}); found ${weights.length}`
    );
  }
  if (typeof bias !== 'number') throw new Error(`${file}: "bias" must be a number`);
  return { features, weights, bias };
}

/** The linear example model. */
export default class LinearModel implements JsModel {
  private params: LinearWeights | null = null;

  /** Reads the `weights` artifact and records the load. */
  loadContext(context: ModelContext): void {
    const file = context.artifacts['weights'];
    if (file === undefined) throw new Error('Artifact "weights" is missing from the context');
    this.params = parseLinearWeights(readFileSync(file, 'utf8'), file);
    appendLoadLog(context.modelConfig);
  }

  /** `scale * (w·x + b)` per row. */
  predict(context: ModelContext, input: Table): Float64Array {
    const out = this.margin(input);
    const scale = configNumber(context.modelConfig, 'scale', 1);
    if (scale !== 1) for (let i = 0; i < out.length; i++) out[i]! *= scale;
    return out;
  }

  /** `(w·x + b) / ‖w‖` per row: the signed distance to the decision hyperplane. */
  predictMargin(_context: ModelContext, input: Table): Float64Array {
    const { weights } = this.loaded();
    const out = this.margin(input);
    let norm = 0;
    for (const w of weights) norm += w * w;
    norm = Math.sqrt(norm);
    for (let i = 0; i < out.length; i++) out[i]! /= norm;
    return out;
  }

  private loaded(): LinearWeights {
    if (this.params === null) throw new Error('LinearModel.predict called before loadContext');
    return this.params;
  }

  /** `w·x + b`, accumulated one column at a time. */
  private margin(input: Table): Float64Array {
    const { features, weights, bias } = this.loaded();
    const out = new Float64Array(input.numRows).fill(bias);
    for (let f = 0; f < features.length; f++) {
      const column = readFloat64(input, features[f]!);
      const w = weights[f]!;
      for (let i = 0; i < out.length; i++) out[i]! += w * column[i]!;
    }
    return out;
  }
}
