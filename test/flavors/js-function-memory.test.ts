/**
 * Issue 8, item 6: a model's code must be freed with the model. Bundles used to be imported as
 * `data:` URL ES modules, which Node keeps until the process exits: 100 distinct 500 KB
 * packages through one pool (model cache of 4) grew RSS by ~4-7 MB each.
 *
 * Measuring memory is noisy, so these tests count what is alive instead. Each package's model
 * class registers itself in a process-wide FinalizationRegistry when it loads; after the models
 * are dropped (in-process) or evicted (in a pool worker), a forced full GC must finalize all but
 * a few. With ES module bundles none is ever finalized, so the count equals the packages loaded.
 * The GC is forced through `v8.setFlagsFromString('--expose-gc')` and a fresh context's `gc`,
 * so no command-line flag is needed; waiting a few timer turns lets finalizers run.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { saveModel } from '../../src/package/save-model.js';
import { createPool } from '../../src/pool/pool.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import { tempDirs } from '../fixtures/package/paths.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

/** Code big enough to matter (~120 KB bundled), distinct per package through `SEED`. */
const MODEL_SOURCE = `
import v8 from 'node:v8';
import vm from 'node:vm';
const SEED = 1234567;
const g = globalThis;
g.__jsfuncLive ??= { count: 0, registry: new FinalizationRegistry(() => { g.__jsfuncLive.count--; }) };
${Array.from({ length: 1500 }, (_, i) => `function f${i}(x) { return x * ${i} + SEED + "padding-${i}".length; }`).join('\n')}
const TABLE = [${Array.from({ length: 1500 }, (_, i) => `f${i}`).join(', ')}];
export async function liveModels() {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
  return g.__jsfuncLive.count;
}
export default class Model {
  loadContext() {
    g.__jsfuncLive.count++;
    g.__jsfuncLive.registry.register(Model, SEED);
  }
  async predict(_context, input) {
    const live = await liveModels();
    return Array.from({ length: input.numRows }, (_, i) => TABLE[i % TABLE.length](0) * 0 + live);
  }
}
`;

const PACKAGES = 16;

/** Model classes loaded in this process and not yet finalized (see MODEL_SOURCE). */
function liveModels(): number {
  return (globalThis as { __jsfuncLive?: { count: number } }).__jsfuncLive?.count ?? 0;
}

/** A few full GCs with timer turns between them, so finalizers run. */
async function collectGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
}
let packages: string[] = [];

beforeAll(async () => {
  const project = tmp.make();
  writeFileSync(join(project, 'model.mjs'), MODEL_SOURCE);
  const first = join(project, 'pkg-0');
  await saveModel(first, { model: join(project, 'model.mjs') });
  const entry = join('code', 'model.cjs');
  const code = readFileSync(join(first, entry), 'utf8');
  expect(code).toContain('1234567');
  packages = [first];
  // Clones with distinct code text: distinct compiled scripts (and, before, distinct modules).
  for (let i = 1; i < PACKAGES; i++) {
    const dir = join(project, `pkg-${i}`);
    cpSync(first, dir, { recursive: true });
    writeFileSync(join(dir, entry), code.replace('1234567', String(1234567 + i)));
    packages.push(dir);
  }
});

describe('evicted model code is garbage-collected', () => {
  it('in process: dropped models leave at most a couple of classes alive', async () => {
    for (const dir of packages) {
      const model = await loadModel(dir);
      expect(await model.predict([{ x: 1 }])).toEqual([expect.any(Number)]);
    }
    // With ES module bundles every class stays reachable from its module: the count is 16.
    // Now 2 are seen: package 0 (whose module scope holds the registry's callback) and the last
    // one loaded; 4 leaves room for GC timing.
    await collectGarbage();
    expect(liveModels()).toBeLessThanOrEqual(4);
  });

  it('in a pool worker with a model cache of 2: evicted models are collected', async () => {
    const pool = createPool({ workers: 1, cache: { maxEntries: 2 } });
    const table = tableFromArrays({ x: Float64Array.from([1, 2]) });
    const live: number[] = [];
    try {
      for (const dir of packages) {
        const udf = await sparkUdf(dir, { pool, resultType: 'double' });
        try {
          const out = (await udf.apply(table, ['x'])) as { get(i: number): number };
          live.push(out.get(0));
        } finally {
          await udf.close();
        }
      }
    } finally {
      await pool.close();
    }
    // Seen: 3 from the third package on (the two cached, the one scored among them, and package 0:
    // it holds the registry's callback). Before: 1, 2, 3, ..., 16.
    expect(Math.max(...live.slice(4))).toBeLessThanOrEqual(5);
    expect(live.at(-1)).toBeLessThan(PACKAGES / 2);
  });
});
