// Packaging spec of the flights example: `node udf/package.mjs flights`.
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';

/** Example name (the directory under udf/). */
export const name = 'flights';

/**
 * saveModel options for the flights example (no artifacts).
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../shared/spec-types.js').ExampleSaveOptions>} [overrides] merged over the result
 * @returns {import('../shared/spec-types.js').ExampleSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    model: join(rootDir, 'udf/flights/model.ts'),
    artifacts: {},
    signature: {
      inputs: [col('delay', 'long'), col('distance', 'long')],
      outputs: [col(undefined, 'double')],
      params: null,
    },
    inputExample: [
      { delay: 33, distance: 2176 },
      { delay: -5, distance: 215 },
    ],
    modelConfig: { loadLogPath: '' },
    metadata: { example: 'flights', task: 'regression' },
    ...overrides,
  };
}
