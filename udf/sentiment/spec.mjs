// Packaging spec of the sentiment example: `node udf/package.mjs sentiment`.
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';

/** Example name (the directory under udf/). */
export const name = 'sentiment';

/**
 * saveModel options for the sentiment example.
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../shared/spec-types.js').ExampleSaveOptions>} [overrides] merged over the result
 * @returns {import('../shared/spec-types.js').ExampleSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    model: join(rootDir, 'udf/sentiment/model.ts'),
    artifacts: { lexicon: join(rootDir, 'udf/sentiment/lexicon.json') },
    signature: {
      inputs: [col('text', 'string'), col('lang', 'string', false)],
      outputs: [col('label', 'string'), col('score', 'double')],
      params: [
        { name: 'threshold', type: { type: 'double' }, default: 0.5, shape: null },
        { name: 'lowercase', type: { type: 'boolean' }, default: true, shape: null },
      ],
    },
    inputExample: [
      { text: 'I love this, it is great', lang: 'en' },
      { text: 'No me gusta, es malo', lang: 'es' },
    ],
    modelConfig: { loadLogPath: '' },
    metadata: { example: 'sentiment', task: 'text-classification' },
    ...overrides,
  };
}
