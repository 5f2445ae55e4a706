// Packaging spec of the linear example: `node udf/package.mjs linear`.
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';

/** Example name (the directory under udf/). */
export const name = 'linear';

/** Feature columns, in signature order. */
export const features = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'];

/**
 * saveModel options for the linear example.
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../shared/spec-types.js').ExampleSaveOptions>} [overrides] merged over the result
 * @returns {import('../shared/spec-types.js').ExampleSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    model: join(rootDir, 'udf/linear/model.ts'),
    artifacts: { weights: join(rootDir, 'udf/linear/weights.json') },
    signature: {
      inputs: features.map((f) => col(f, 'double')),
      outputs: [col(undefined, 'double')],
      params: null,
    },
    inputExample: [
      { x0: 1, x1: 0, x2: 0.5, x3: -1, x4: 2, x5: 0, x6: 0.25, x7: 4, x8: -0.5, x9: 1 },
      { x0: 0, x1: 1, x2: 0, x3: 0, x4: 0, x5: 0, x6: 0, x7: 0, x8: 0, x9: 0 },
    ],
    modelConfig: { scale: 1, loadLogPath: '' },
    metadata: { example: 'linear', task: 'regression' },
    ...overrides,
  };
}
