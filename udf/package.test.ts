/**
 * Each example packaged through its spec with saveModel, then loaded and scored through
 * loadModel: the end-to-end path the README, the main job and the benchmarks rely on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/package/load-model.js';
import { saveModel } from '../src/package/save-model.js';
import * as embedding from './embedding-lookup/spec.mjs';
import { generateEmbeddingTable } from './embedding-lookup/generate-artifact.mjs';
import * as linear from './linear/spec.mjs';
import * as mlp from './mlp/spec.mjs';
import { generateWeights } from './mlp/generate-weights.mjs';
import * as noop from './noop/spec.mjs';
import * as sentiment from './sentiment/spec.mjs';
import EmbeddingLookupModel from './embedding-lookup/model.js';
import MlpModel from './mlp/model.js';
import { tableFromArrays } from 'apache-arrow';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jsfunc-udf-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { warn: () => {} };
const rows = (n: number) =>
  Array.from({ length: n }, (_, r) =>
    Object.fromEntries(linear.features.map((f, j) => [f, (r + 1) * (j - 3) * 0.25]))
  );

describe('udf examples through saveModel -> loadModel', () => {
  it('linear: scale override, predictFn override and load log', async () => {
    const out = join(dir, 'linear');
    await saveModel(out, linear.saveOptions());
    const saved = JSON.parse(readFileSync(join(repoRoot, 'udf/linear/weights.json'), 'utf8')) as {
      weights: number[];
      bias: number;
    };
    const ref = (row: Record<string, number>) =>
      linear.features.reduce((acc, f, j) => acc + saved.weights[j]! * row[f]!, saved.bias);
    const data = rows(4);

    const log = join(dir, 'linear-loads.log');
    const model = await loadModel(out, { ...quiet, modelConfig: { scale: 2, loadLogPath: log } });
    const scores = (await model.predict(data)) as Float64Array;
    expect(Array.from(scores)).toEqual(data.map((r) => expect.closeTo(2 * ref(r), 12)));
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

    const margin = await loadModel(out, { ...quiet, predictFn: 'predictMargin' });
    const norm = Math.hypot(...saved.weights);
    expect(Array.from((await margin.predict(data)) as Float64Array)).toEqual(
      data.map((r) => expect.closeTo(ref(r) / norm, 12))
    );
  });

  it('linear: predictFn saved in the package', async () => {
    const out = join(dir, 'linear-margin');
    const meta = await saveModel(out, linear.saveOptions(repoRoot, { predictFn: 'predictMargin' }));
    expect(meta.flavors['js_function']?.['predict_fn']).toBe('predictMargin');
    const model = await loadModel(out, quiet);
    expect(model.predictFn).toBe('predictMargin');
  });

  it('sentiment: params schema defaults and overrides, optional lang column', async () => {
    const out = join(dir, 'sentiment');
    await saveModel(out, sentiment.saveOptions());
    const model = await loadModel(out, quiet);
    const input = [{ text: 'good good bad' }, { text: 'Me encanta' }];
    expect(await model.predict(input)).toEqual([
      { label: 'positive', score: expect.closeTo(1 / (1 + Math.exp(-1)), 12) },
      { label: 'neutral', score: 0.5 },
    ]);
    const strict = (await model.predict(input, { threshold: 0.9 })) as { label: string }[];
    expect(strict[0]!.label).toBe('negative');
    const withLang = (await model.predict([{ text: 'Me encanta', lang: 'es' }])) as {
      label: string;
    }[];
    expect(withLang[0]!.label).toBe('positive');
  });

  it('embedding-lookup: long ids through the packaged (small) table', async () => {
    const table = join(dir, 'small.f32');
    generateEmbeddingTable({ outPath: table, rows: 20, dims: 8, seed: 5 });
    const out = join(dir, 'embedding');
    await saveModel(out, embedding.saveOptions(repoRoot, { artifacts: { embeddings: table } }));
    const model = await loadModel(out, quiet);
    const input = [
      { id: 3, x: 2 },
      { id: 23, x: -1 },
    ];
    const direct = new EmbeddingLookupModel();
    direct.loadContext({ artifacts: { embeddings: table }, modelConfig: {} });
    const expected = direct.predict(
      { artifacts: {}, modelConfig: {} },
      tableFromArrays({ id: BigInt64Array.from([3n, 23n]), x: Float64Array.from([2, -1]) })
    );
    expect(Array.from((await model.predict(input)) as Float64Array)).toEqual(
      Array.from(expected, (v) => expect.closeTo(v, 12))
    );
  });

  it('mlp: packaged weights give the same output as the class', async () => {
    const weights = join(dir, 'mlp-weights.json');
    generateWeights({ outPath: weights, hidden: [6, 5], seed: 11 });
    const out = join(dir, 'mlp');
    await saveModel(out, mlp.saveOptions(repoRoot, { artifacts: { weights } }));
    const model = await loadModel(out, quiet);
    const data = rows(3);
    const direct = new MlpModel();
    direct.loadContext({ artifacts: { weights }, modelConfig: {} });
    const cols = Object.fromEntries(
      linear.features.map((f) => [f, Float64Array.from(data, (r) => r[f]!)])
    );
    const expected = direct.predict({ artifacts: {}, modelConfig: {} }, tableFromArrays(cols));
    expect(Array.from((await model.predict(data)) as Float64Array)).toEqual(
      Array.from(expected, (v) => expect.closeTo(v, 12))
    );
  });

  it('noop: echoes x0', async () => {
    const out = join(dir, 'noop');
    await saveModel(out, noop.saveOptions());
    const model = await loadModel(out, quiet);
    expect(Array.from((await model.predict([{ x0: 1.5 }, { x0: -3 }])) as Float64Array)).toEqual([
      1.5, -3,
    ]);
  });
});

describe('udf/package.mjs', () => {
  const script = join(repoRoot, 'udf/package.mjs');
  const built = existsSync(join(repoRoot, 'dist/package/save-model.js'));

  it('packages an example with plain node, refuses a non-empty target without --force', () => {
    expect(built, 'run "npm run build" first: package.mjs imports dist/').toBe(true);
    const out = join(dir, 'cli-noop');
    const first = spawnSync(process.execPath, [script, 'noop', out], { encoding: 'utf8' });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(existsSync(join(out, 'MLmodel'))).toBe(true);
    const again = spawnSync(process.execPath, [script, 'noop', out], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/E_TARGET_NOT_EMPTY/);
    const forced = spawnSync(process.execPath, [script, 'noop', out, '--force'], {
      encoding: 'utf8',
    });
    expect(forced.status).toBe(0);
  });

  it('lists the examples on a bad name', () => {
    const run = spawnSync(process.execPath, [script, 'nope'], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    // Every directory of udf/ with a spec.mjs is an example (others are added over time).
    const examples = readdirSync(join(repoRoot, 'udf'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(repoRoot, 'udf', d.name, 'spec.mjs')))
      .map((d) => d.name)
      .sort();
    expect(examples).toEqual(expect.arrayContaining(['linear', 'mlp', 'noop', 'sentiment']));
    expect(run.stderr).toContain(`expected one of: ${examples.join(', ')}\n`);
  });
});
