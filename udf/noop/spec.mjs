// Packaging spec of the noop example: `node udf/package.mjs noop`.
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';

/** Example name (the directory under udf/). */
export const name = 'noop';

/**
 * saveModel options for the noop example (no artifacts).
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../shared/spec-types.js').ExampleSaveOptions>} [overrides] merged over the result
 * @returns {import('../shared/spec-types.js').ExampleSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    model: join(rootDir, 'udf/noop/model.ts'),
    artifacts: {},
    signature: { inputs: [col('x0', 'double')], outputs: [col(undefined, 'double')], params: null },
    inputExample: [{ x0: 1.5 }, { x0: -2 }],
    modelConfig: { loadLogPath: '' },
    metadata: { example: 'noop', task: 'benchmark-overhead' },
    ...overrides,
  };
}
