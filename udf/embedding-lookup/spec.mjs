// Packaging spec of the embedding-lookup example: `node udf/package.mjs embedding-lookup`.
import { join } from 'node:path';
import { col, repoRoot } from '../shared/spec-helpers.mjs';
import { defaults, generateEmbeddingTable, readHeader } from './generate-artifact.mjs';

/** Example name (the directory under udf/). */
export const name = 'embedding-lookup';

/** Path of the generated table under a repository root. */
export function artifactPath(rootDir = repoRoot) {
  return join(rootDir, 'udf/embedding-lookup/data/embeddings.f32');
}

/**
 * Generates the 40 MB table unless a table of the default size is already there.
 * @param {string} [rootDir=repoRoot] repository root
 * @param {import('../shared/spec-types.js').PrepareOptions} [options]
 * @returns {Promise<void>}
 */
export async function prepare(rootDir = repoRoot, options = {}) {
  const path = artifactPath(rootDir);
  const header = readHeader(path);
  const current =
    header !== null &&
    header.rows === defaults.rows &&
    header.dims === defaults.dims &&
    header.seed === defaults.seed;
  if (current && options.force !== true) return;
  const info = generateEmbeddingTable({ outPath: path });
  if (options.verbose === true) {
    console.log(`generated ${info.path} (${(info.bytes / 1e6).toFixed(1)} MB)`);
  }
}

/**
 * saveModel options for the embedding-lookup example (call `prepare` first).
 * @param {string} [rootDir=repoRoot] repository root
 * @param {Partial<import('../shared/spec-types.js').ExampleSaveOptions>} [overrides] merged over the result
 * @returns {import('../shared/spec-types.js').ExampleSaveOptions}
 */
export function saveOptions(rootDir = repoRoot, overrides = {}) {
  return {
    model: join(rootDir, 'udf/embedding-lookup/model.ts'),
    artifacts: { embeddings: artifactPath(rootDir) },
    signature: {
      inputs: [col('id', 'long'), col('x', 'double')],
      outputs: [col(undefined, 'double')],
      params: null,
    },
    inputExample: [
      { id: 0, x: 1 },
      { id: 4242, x: -0.5 },
    ],
    modelConfig: { loadLogPath: '', shareArtifact: true },
    metadata: { example: 'embedding-lookup', task: 'lookup' },
    ...overrides,
  };
}
