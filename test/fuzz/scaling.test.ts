/**
 * Every package-side parser is linear (issue 8, item 3c): for each shape of document, a 4x
 * larger input must cost less than 8x the time (see `expectLinear`). The `yaml` package's
 * duplicate-key check made 4x the keys cost ~16x (40,000 keys: 10-13 s); alias resolution and
 * `!!omap` had the same growth.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { formatInfo } from '../../src/cli/format-info.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { parseMLmodel } from '../../src/package/mlmodel.js';
import { saveModel } from '../../src/package/save-model.js';
import { jsonTextTooDeep } from '../../src/signature/nesting-depth.js';
import { parseParams, parseSchema } from '../../src/signature/schema-json.js';
import { signatureOption } from '../../src/signature/signature-option.js';
import { THROWS_ON_IMPORT, tempDirs } from '../fixtures/package/paths.js';
import { expectLinear, fastest, fastestAsync, withinLinearBound } from './fuzz-helpers.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

const head = 'flavors:\n  x: {}\n';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Times `run(make(n))` and `run(make(4n))` (after a warm-up) and checks the growth. A ratio
 * over the bound is measured again (best of 3) before failing: GC and a busy machine can make
 * one measurement look superlinear, a quadratic algorithm fails both.
 */
function linear<T>(
  label: string,
  n: number,
  make: (n: number) => T,
  run: (input: T) => unknown
): void {
  const small = make(n);
  const large = make(4 * n);
  fastest(() => run(small), 1); // warm-up (errors are part of what is timed)
  let times = [fastest(() => run(small), 1), fastest(() => run(large), 1)] as const;
  if (!withinLinearBound(times[0], times[1]))
    times = [fastest(() => run(small), 3), fastest(() => run(large), 3)] as const;
  expectLinear(label, times[0], times[1]);
}

describe('parsers grow linearly with their input', () => {
  it('MLmodel YAML: keys of one block mapping, with and without a duplicate at the end', () => {
    const keys = (n: number) =>
      range(n)
        .map((i) => `  k${i}: ${i}\n`)
        .join('');
    linear(
      'block keys',
      4000,
      (n) => `${head}metadata:\n${keys(n)}`,
      (t) => parseMLmodel(t, 'f')
    );
    linear(
      'block keys + duplicate',
      4000,
      (n) => `${head}metadata:\n${keys(n)}  k0: again\n`,
      (t) => parseMLmodel(t, 'f')
    );
  });

  it('MLmodel YAML: flow mapping keys, a sequence of mappings, anchors, !!omap', () => {
    const parse = (t: string) => parseMLmodel(t, 'f');
    linear(
      'flow keys',
      4000,
      (n) =>
        `${head}m: {${range(n)
          .map((i) => `k${i}: ${i}`)
          .join(', ')}}\n`,
      parse
    );
    linear(
      'sequence of mappings',
      1000,
      (n) =>
        `${head}s:\n${range(n)
          .map((i) => `- {a: ${i}, b: x${i}}\n`)
          .join('')}`,
      parse
    );
    linear(
      'anchors',
      2000,
      (n) =>
        `${head}${range(n)
          .map((i) => `a${i}: &a${i} v${i}\n`)
          .join('')}`,
      parse
    );
    linear(
      'aliases (refused after 50)',
      2000,
      (n) =>
        `${head}${range(n)
          .map((i) => `a${i}: &a${i} v${i}\nb${i}: *a${i}\n`)
          .join('')}`,
      parse
    );
    linear(
      '!!omap',
      4000,
      (n) =>
        `${head}m: !!omap\n${range(n)
          .map((i) => `- k${i}: ${i}\n`)
          .join('')}`,
      parse
    );
  });

  it('signature JSON: columns, object properties, params; the typed signature option', () => {
    const cols = (n: number) =>
      `[${range(n)
        .map((i) => `{"type": "double", "name": "c${i}", "required": true}`)
        .join(', ')}]`;
    linear('schema columns', 40_000, cols, parseSchema);
    linear(
      'object properties',
      30_000,
      (n) =>
        `[{"type": "object", "name": "o", "required": true, "properties": {${range(n)
          .map((i) => `"p${i}": {"type": "long", "required": false}`)
          .join(', ')}}}]`,
      parseSchema
    );
    linear(
      'params',
      40_000,
      (n) =>
        `[${range(n)
          .map((i) => `{"name": "p${i}", "type": "double", "default": ${i}.5, "shape": null}`)
          .join(', ')}]`,
      parseParams
    );
    linear(
      'typed signature option',
      10_000,
      (n) => ({ inputs: parseSchema(cols(n)) }),
      (sig) => signatureOption(sig)
    );
    linear(
      'JSON depth scan',
      1_000_000,
      (n) => `[${'"x", '.repeat(n)}1]`,
      (t) => jsonTextTooDeep(t)
    );
  });

  describe('input example read and printed by info', () => {
    let base = '';
    beforeAll(async () => {
      base = join(tmp.make(), 'base');
      await saveModel(base, { model: THROWS_ON_IMPORT, inputExample: [{ x: 1, s: 'a' }] });
    });

    it('rows of input_example.json', async () => {
      const packages = [100_000, 400_000].map((n) => {
        const dir = join(tmp.make(), `rows-${n}`);
        cpSync(base, dir, { recursive: true });
        const data = range(n)
          .map((i) => `[${i}, "s${i}"]`)
          .join(', ');
        writeFileSync(
          join(dir, 'input_example.json'),
          `{"columns": ["x", "s"], "data": [${data}]}`
        );
        return dir;
      });
      const run = async (dir: string) => formatInfo(await getModelInfo(dir));
      await fastestAsync(() => run(packages[0]!), 1);
      let small = await fastestAsync(() => run(packages[0]!), 1);
      let large = await fastestAsync(() => run(packages[1]!), 1);
      if (!withinLinearBound(small, large)) {
        small = await fastestAsync(() => run(packages[0]!), 3);
        large = await fastestAsync(() => run(packages[1]!), 3);
      }
      expectLinear('input example rows', small, large);
    });
  });
});
