/**
 * The compute-heavy example for benchmarks: a multilayer perceptron, 10 -> 64 -> 64 -> 1 with
 * tanh hidden layers and a linear output (about 4,900 multiply-adds per row).
 *
 * - Input: ten double columns `x0..x9` (the `features` of the weights file).
 * - Output: one double per row; a null input gives NaN for that row.
 * - Artifact `weights`: the JSON written by `generate-weights.mjs` (any chain of dense layers
 *   works; sizes are checked at load).
 * - Config: `loadLogPath` (default "") appends one line per `loadContext`.
 *
 * `predict` reads each column once into a typed array, then runs every row through the layers
 * with scratch buffers allocated once per batch: no per-row allocation, only typed-array loops.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Table } from 'apache-arrow';
import type { JsModel, ModelContext } from '../../src/package/types.js';
import { readFloat64 } from '../shared/columns.js';
import { appendLoadLog } from '../shared/load-log.js';

interface Layer {
  inputs: number;
  outputs: number;
  tanh: boolean;
  /** Row-major: weights[o * inputs + i]. */
  weights: Float64Array;
  bias: Float64Array;
}

interface Network {
  features: string[];
  layers: Layer[];
}

/** The mlp example model. */
export default class MlpModel implements JsModel {
  private network: Network | null = null;

  /** Reads and checks the `weights` artifact; records the load. */
  loadContext(context: ModelContext): void {
    const file = context.artifacts['weights'];
    if (file === undefined) throw new Error('Artifact "weights" is missing from the context');
    this.network = parseNetwork(readFileSync(file, 'utf8'), file);
    appendLoadLog(context.modelConfig);
  }

  /** Layer sizes, input first (e.g. `[10, 64, 64, 1]`). */
  get sizes(): number[] {
    const { layers } = this.loaded();
    return [layers[0]!.inputs, ...layers.map((l) => l.outputs)];
  }

  /** The network output per row. */
  predict(_context: ModelContext, input: Table): Float64Array {
    const { features, layers } = this.loaded();
    const columns = features.map((f) => readFloat64(input, f));
    const n = input.numRows;
    const out = new Float64Array(n);
    const width = Math.max(...layers.map((l) => Math.max(l.inputs, l.outputs)));
    let a = new Float64Array(width);
    let b = new Float64Array(width);
    for (let r = 0; r < n; r++) {
      for (let f = 0; f < columns.length; f++) a[f] = columns[f]![r]!;
      for (const { inputs, outputs, tanh, weights, bias } of layers) {
        for (let o = 0; o < outputs; o++) {
          let sum = bias[o]!;
          const row = o * inputs;
          for (let i = 0; i < inputs; i++) sum += weights[row + i]! * a[i]!;
          b[o] = tanh ? Math.tanh(sum) : sum;
        }
        const t = a;
        a = b;
        b = t;
      }
      // NaN inputs propagate through the sums, so null rows come out NaN without a branch.
      out[r] = a[0]!;
    }
    return out;
  }

  private loaded(): Network {
    if (this.network === null) throw new Error('MlpModel.predict called before loadContext');
    return this.network;
  }
}

/**
 * Parses a weights JSON and checks that the layers chain and end in one output.
 *
 * @param text - file content
 * @param file - file path, for messages
 * @returns the network with typed-array weights
 * @throws {Error} naming the layer and the size that does not fit
 */
function parseNetwork(text: string, file: string): Network {
  const raw = JSON.parse(text) as {
    features?: unknown;
    layers?: {
      inputs: number;
      outputs: number;
      activation: string;
      weights: number[];
      bias: number[];
    }[];
  };
  const features = raw.features;
  if (!Array.isArray(features) || !features.every((f) => typeof f === 'string')) {
    throw new Error(`${file}: "features" must be an array of column names`);
  }
  if (!Array.isArray(raw.layers) || raw.layers.length === 0) {
    throw new Error(`${file}: "layers" must be a non-empty array`);
  }
  let expectedInputs = features.length;
  const layers = raw.layers.map((l, k): Layer => {
    if (l.inputs !== expectedInputs) {
      throw new Error(`${file}: layers[${k}].inputs must be ${expectedInputs}; found ${l.inputs}`);
    }
    if (!Array.isArray(l.weights) || l.weights.length !== l.inputs * l.outputs) {
      throw new Error(
        `${file}: layers[${k}].weights must have ${l.inputs * l.outputs} values; found ${l.weights?.length}`
      );
    }
    if (!Array.isArray(l.bias) || l.bias.length !== l.outputs) {
      throw new Error(
        `${file}: layers[${k}].bias must have ${l.outputs} values; found ${l.bias?.length}`
      );
    }
    if (l.activation !== 'tanh' && l.activation !== 'linear') {
      throw new Error(
        `${file}: layers[${k}].activation must be "tanh" or "linear"; found ${l.activation}`
      );
    }
    expectedInputs = l.outputs;
    return {
      inputs: l.inputs,
      outputs: l.outputs,
      tanh: l.activation === 'tanh',
      weights: Float64Array.from(l.weights),
      bias: Float64Array.from(l.bias),
    };
  });
  if (expectedInputs !== 1)
    throw new Error(`${file}: the last layer must have 1 output; found ${expectedInputs}`);
  return { features, layers };
}
