// Packaging spec of the mlp example: `node udf/package.mjs mlp`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';
import { defaults, generateWeights } from './generate-weights.mjs';

/** Example name (the directory under udf/). */
export const name = 'mlp';

/** Path of the generated weights under a repository root. */
export function artifactPath(rootDir = repoRoot) {
  return join(rootDir, 'udf/mlp/data/weights.json');
}

/**
 * Generates the weights unless they exist (generation is deterministic, so existing weights
 * from the same script are the same bytes).
 * @param {string} [rootDir=repoRoot] repository root
 * @param {import('../shared/spec-types.js').PrepareOptions} [options]
 * @returns {Promise<void>}
 */
export async function prepare(rootDir = repoRoot, options = {}) {
  const path = artifactPath(rootDir);
  if (existsSync(path) && options.force !== true) return;
  const info = generateWeights({ outPath: path });
  if (options.verbose === true)
    console.log(`generated ${info.path} (${info.parameters} parameters)`);
}

/**
 * saveModel options for the mlp example (call `prepare` first).
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../shared/spec-types.js').ExampleSaveOptions>} [overrides] merged over the result
 * @returns {import('../shared/spec-types.js').ExampleSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    model: join(rootDir, 'udf/mlp/model.ts'),
    artifacts: { weights: artifactPath(rootDir) },
    signature: {
      inputs: defaults.features.map((f) => col(f, 'double')),
      outputs: [col(undefined, 'double')],
      params: null,
    },
    inputExample: [Object.fromEntries(defaults.features.map((f, i) => [f, i / 10]))],
    modelConfig: { loadLogPath: '' },
    metadata: { example: 'mlp', task: 'regression', layers: [10, ...defaults.hidden, 1] },
    ...overrides,
  };
}
