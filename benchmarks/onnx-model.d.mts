/** The weights of {@link writeGatherModel}: value i = ((i * 2654435761) mod 1000) / 1000 - 0.5. */
export declare function gatherWeights(rows: number, dims: number): Float32Array;
/**
 * Writes a Gather model (`Y = W[ids]`, ids int64 [N], Y float32 [N, dims]); `externalData` puts
 * `W` in a separate file next to `out`, named by the model (ONNX external data); `reduce`
 * outputs `S` = each row's sum instead.
 */
export declare function writeGatherModel(options: {
  out: string;
  rows?: number;
  dims?: number;
  externalData?: string;
  /** Output `S` = the sum of each gathered row (float32 [N]) instead of the rows. */
  reduce?: boolean;
}): { modelBytes: number; weightBytes: number };
