import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { loadModel } from '../../src/package/load-model.js';
import type { LoadedModel } from '../../src/package/types.js';
import { cli, listDir, packageExample, tempDir } from './helpers.js';

const features = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'];
const rows = [
  Object.fromEntries(features.map((f, i) => [f, i + 1])),
  Object.fromEntries(features.map((f, i) => [f, (i % 3) - 1.5])),
  Object.fromEntries(features.map((f) => [f, 0])),
];

let dir: string;
let cleanup: () => Promise<void>;
let linear: string;
let sentiment: string;
let linearModel: LoadedModel;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  linear = await packageExample('linear', dir);
  sentiment = await packageExample('sentiment', dir);
  linearModel = await loadModel(linear, { warn: () => {} });
});
afterAll(() => cleanup());

async function expectedLinear(): Promise<number[]> {
  return Array.from((await linearModel.predict(rows)) as ArrayLike<number>);
}

describe('jsfunc predict', () => {
  const forms: [string, unknown][] = [
    [
      'dataframe_split',
      { dataframe_split: { columns: features, data: rows.map((r) => features.map((f) => r[f])) } },
    ],
    ['dataframe_records', { dataframe_records: rows }],
    ['instances', { instances: rows }],
    ['inputs', { inputs: Object.fromEntries(features.map((f) => [f, rows.map((r) => r[f])])) }],
  ];
  for (const [form, body] of forms) {
    it(`scores a ${form} request like the model's own predict`, async () => {
      const input = join(dir, `${form}.json`);
      await writeFile(input, JSON.stringify(body));
      const run = await cli(['predict', '-m', linear, '-i', input]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ predictions: await expectedLinear() });
    });
  }

  it('reads CSV by extension and with -t csv, and writes -o atomically', async () => {
    const csv = [features.join(','), ...rows.map((r) => features.map((f) => r[f]).join(','))].join(
      '\n'
    );
    await writeFile(join(dir, 'req.csv'), csv);
    await writeFile(join(dir, 'req.txt'), csv);
    const out = join(dir, 'pred.json');
    const a = await cli(['predict', '-m', linear, '-i', join(dir, 'req.csv'), '-o', out]);
    expect(a).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({
      predictions: await expectedLinear(),
    });
    const b = await cli(['predict', '-m', linear, '-i', join(dir, 'req.txt'), '-t', 'csv']);
    expect(JSON.parse(b.stdout)).toEqual({ predictions: await expectedLinear() });
  });

  it('reads stdin for -i - and accepts the mlflow flag names', async () => {
    const stdin = (async function* () {
      yield Buffer.from(JSON.stringify({ dataframe_records: rows.slice(0, 1) }));
      yield Buffer.from(' ');
    })();
    const run = await cli(['predict', '--model-uri', linear, '--input-path', '-'], { stdin });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).predictions).toEqual((await expectedLinear()).slice(0, 1));
  });

  it('passes body params and lets --params override them', async () => {
    const model = await loadModel(sentiment, { warn: () => {} });
    const records = [
      { text: 'good good great', lang: 'en' },
      { text: 'bad movie', lang: 'en' },
      { text: 'it was fine', lang: 'en' },
    ];
    const input = join(dir, 'sent.json');
    await writeFile(
      input,
      JSON.stringify({ dataframe_records: records, params: { threshold: 0.99, lowercase: true } })
    );
    const plain = await cli(['predict', '-m', sentiment, '-i', input]);
    expect(plain.code).toBe(0);
    const body = JSON.parse(plain.stdout) as { predictions: unknown };
    const fromBody = JSON.parse(
      JSON.stringify(await model.predict(records, { threshold: 0.99, lowercase: true }))
    );
    expect(body.predictions).toEqual(fromBody);
    const over = await cli([
      'predict',
      '-m',
      sentiment,
      '-i',
      input,
      '--params',
      '{"threshold": 0.01}',
    ]);
    const merged = JSON.parse(
      JSON.stringify(await model.predict(records, { threshold: 0.01, lowercase: true }))
    );
    expect(JSON.parse(over.stdout).predictions).toEqual(merged);
    // The params matter for this data: otherwise the override would prove nothing.
    expect(merged).not.toEqual(fromBody);
  });

  it('fails with one line and the code exit status, and leaves no output file', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"dataframe_records": [');
    const sub = join(dir, 'failed');
    await (await import('node:fs/promises')).mkdir(sub);
    const run = await cli(['predict', '-m', linear, '-i', bad, '-o', join(sub, 'out.json')]);
    expect(run.code).toBe(ErrorCodes.E_INPUT_INVALID.exitCode);
    expect(run.stderr).toMatch(
      /^jsfunc: E_INPUT_INVALID: Invalid input\. Ensure that input is a valid JSON/
    );
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(await listDir(sub)).toEqual([]);

    const missing = await cli(['predict', '-m', linear, '-i', join(dir, 'nope.json')]);
    expect(missing.code).toBe(ErrorCodes.E_FILE_NOT_FOUND.exitCode);
    expect(missing.stderr).toContain('nope.json does not exist');

    const type = await cli(['predict', '-m', linear, '-i', bad, '-t', 'xml']);
    expect(type.code).toBe(ErrorCodes.E_FORMAT_UNSUPPORTED.exitCode);
    expect(type.stderr).toContain('--content-type must be json or csv');

    const params = await cli(['predict', '-m', linear, '-i', bad, '--params', '[1]']);
    expect(params.code).toBe(ErrorCodes.E_OPTION_INVALID.exitCode);
    expect(params.stderr).toBe(
      'jsfunc: E_OPTION_INVALID: --params must be a JSON object, found "[1]"\n'
    );
  });
});
