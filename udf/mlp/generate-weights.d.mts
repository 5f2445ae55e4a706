/** One dense layer as stored in the weights JSON (weights row-major: `[o * inputs + i]`). */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  activation: 'tanh' | 'linear';
  weights: number[];
  bias: number[];
}
/** The weights JSON. */
export interface MlpWeights {
  features: string[];
  seed: number;
  layers: DenseLayer[];
}
/** Default output: `udf/mlp/data/weights.json` (git-ignored). */
export declare const defaultPath: string;
/** Defaults: features x0..x9, hidden [64, 64], seed 7. */
export declare const defaults: { features: string[]; hidden: number[]; seed: number };
/**
 * Builds Glorot-uniform weights from mulberry32(seed).
 * @throws {Error} when a hidden size is not a positive integer
 */
export declare function makeWeights(options?: {
  features?: string[];
  hidden?: number[];
  seed?: number;
}): MlpWeights;
/** Writes {@link makeWeights} to `outPath` (default {@link defaultPath}). */
export declare function generateWeights(options?: {
  outPath?: string;
  features?: string[];
  hidden?: number[];
  seed?: number;
}): { path: string; parameters: number };
