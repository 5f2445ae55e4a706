import type { SaveOnnxModelOptions } from '../../src/package/save-onnx-model.js';
import type { ModelSignature } from '../../src/signature/types.js';

/** The options the iris-onnx spec returns: saveOnnxModel options with every field the example sets. */
export interface IrisOnnxSaveOptions extends SaveOnnxModelOptions {
  onnxModel: string;
  signature: ModelSignature;
  /** Row-oriented input example (one iris row per class). */
  inputExample: Record<string, number>[];
  metadata: Record<string, unknown>;
}

/** Example name (the directory under udf/). */
export declare const name: 'iris-onnx';
/** Feature columns `sepal_length, sepal_width, petal_length, petal_width`, in input order. */
export declare const features: readonly string[];
/** Class names by label index: setosa, versicolor, virginica. */
export declare const classNames: readonly string[];
/**
 * saveOnnxModel options for the iris-onnx example.
 * @param rootDir - repository root (default: this checkout)
 * @param overrides - merged over the result (e.g. `{ modelConfig: { intra_op_num_threads: 1 } }`)
 */
export declare function saveOptions(
  rootDir?: string,
  overrides?: Partial<SaveOnnxModelOptions>
): IrisOnnxSaveOptions;
