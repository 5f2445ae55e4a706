// Packaging spec of the iris-onnx example: `node udf/package.mjs iris-onnx`, or
// `jsfunc save -s udf/iris-onnx/spec.mjs -o out/iris-onnx`.
//
// The model is MLflow's test model test/fixtures/onnx/sklearn_model.onnx: skl2onnx's export of
// a scikit-learn LogisticRegression trained on iris. Its graph takes one input `float_input`
// float32 [N, 4] and returns `output_label` int64 [N] (the class index: 0 setosa, 1 versicolor,
// 2 virginica) and `output_probability` (a ZipMap sequence, which onnxruntime-node cannot
// return; the onnx flavor leaves it out with a warning at load).
//
// The signature names the four measurements as double columns instead of the tensor spec the
// graph would give (an unnamed float32 (-1, 4) tensor): sparkUdf and `jsfunc score` then map
// table columns by name, CSV numbers (float64) pass enforcement as they are, and the flavor
// stacks the columns in signature order into the [N, 4] tensor, casting float64 to float32 as
// MLflow's `_OnnxModelWrapper` does. The output is declared as a `long` column so the UDF result
// type is a plain long per row (a 1-D tensor spec would make it array<long>).
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';

/** Example name (the directory under udf/). */
export const name = 'iris-onnx';

/** Feature columns, in the order the model's [N, 4] input expects them (centimetres). */
export const features = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

/** Class names by label index (sklearn's `load_iris().target_names`). */
export const classNames = ['setosa', 'versicolor', 'virginica'];

/**
 * saveOnnxModel options for the iris-onnx example.
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../../src/package/save-onnx-model.js').SaveOnnxModelOptions>} [overrides] merged over the result
 * @returns {import('./spec.d.mts').IrisOnnxSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    onnxModel: join(rootDir, 'test/fixtures/onnx/sklearn_model.onnx'),
    signature: {
      inputs: features.map((f) => col(f, 'double')),
      outputs: [col('output_label', 'long')],
      params: null,
    },
    // Rows 0, 50 and 100 of the iris data set: one of each class.
    inputExample: [
      { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      { sepal_length: 7.0, sepal_width: 3.2, petal_length: 4.7, petal_width: 1.4 },
      { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 },
    ],
    metadata: { example: 'iris-onnx', task: 'classification', classes: classNames },
    ...overrides,
  };
}
