import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatches } from '../../src/io/read-batches.js';
import { collect, tempDir } from './helpers.js';
// @ts-expect-error plain .mjs script without declarations
import { SAMPLE_MODELS, generateSampleData } from '../../scripts/generate-sample-data.mjs';

type Generate = (o: {
  model?: string;
  rows?: number;
  out?: string;
  seed?: number;
  batchSize?: number;
}) => Promise<{ path: string; rows: number }>;
const generate = generateSampleData as Generate;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('scripts/generate-sample-data.mjs', () => {
  it('is deterministic per seed, whatever the batch size', async () => {
    const a = await generate({ rows: 3000, out: join(dir, 'a.csv'), seed: 1, batchSize: 1000 });
    const b = await generate({ rows: 3000, out: join(dir, 'b.csv'), seed: 1, batchSize: 3000 });
    const c = await generate({ rows: 3000, out: join(dir, 'c.csv'), seed: 2 });
    expect(a.rows).toBe(3000);
    const [ta, tb, tc] = await Promise.all([a, b, c].map((r) => readFile(r.path, 'utf8')));
    expect(ta).toBe(tb);
    expect(ta).not.toBe(tc);
    expect(ta!.split('\n')[0]).toBe('x0,x1,x2,x3,x4,x5,x6,x7,x8,x9');
  });

  it('writes columns matching each example signature', async () => {
    const expected: Record<string, string[]> = {
      linear: [
        'x0: Float64',
        'x1: Float64',
        'x2: Float64',
        'x3: Float64',
        'x4: Float64',
        'x5: Float64',
        'x6: Float64',
        'x7: Float64',
        'x8: Float64',
        'x9: Float64',
      ],
      mlp: [
        'x0: Float64',
        'x1: Float64',
        'x2: Float64',
        'x3: Float64',
        'x4: Float64',
        'x5: Float64',
        'x6: Float64',
        'x7: Float64',
        'x8: Float64',
        'x9: Float64',
      ],
      noop: ['x0: Float64'],
      'embedding-lookup': ['id: Int64', 'x: Float64'],
      sentiment: ['text: Utf8', 'lang: Utf8'],
    };
    expect([...(SAMPLE_MODELS as string[])].sort()).toEqual(Object.keys(expected).sort());
    for (const model of Object.keys(expected)) {
      const { path } = await generate({
        model,
        rows: 100,
        out: join(dir, `${model}.arrows`),
        batchSize: 64,
      });
      const batches = await collect(readBatches(path));
      expect(batches.map((b) => b.numRows)).toEqual([64, 36]);
      expect(batches[0]!.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual(
        expected[model]
      );
    }
  });
});
