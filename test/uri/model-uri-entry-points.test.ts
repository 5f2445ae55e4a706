// Model URIs at every entry point: a package logged and registered in an MLflow file store is
// loaded, inspected, scored by `sparkUdf`, `jsfunc predict` and `jsfunc score` as
// `models:/<name>/<version>` and `models:/<name>/latest`, and an unknown version fails coded.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Table, makeVector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { loadModel } from '../../src/package/load-model.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import { logModel } from '../../src/uri/log-model.js';
import { registerModel } from '../../src/uri/register-model.js';
import { cli, packageExample, tempDir } from '../cli/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: string;
const features = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-uri-entry-'));
  store = join(dir, 'mlruns');
  const pkg = await packageExample('linear', dir);
  const logged = await logModel(pkg, { trackingUri: store, experimentName: 'entry' });
  await registerModel(logged.modelUri, 'linear', { trackingUri: store });
});
afterAll(() => cleanup());

const row = Object.fromEntries(features.map((f, i) => [f, i]));

describe('model URIs at the entry points', () => {
  it('loadModel, getModelInfo and sparkUdf take models:/ URIs', async () => {
    const local = await loadModel('models:/linear/1', { trackingUri: store });
    const expected = (await local.predict([row])) as Float64Array;
    const info = await getModelInfo('models:/linear/latest', { trackingUri: store });
    expect(info.loadableFlavors).toContain('js_function');
    const udf = await sparkUdf('models:/linear/1', { trackingUri: store, workers: 1 });
    try {
      const table = new Table(
        Object.fromEntries(features.map((f, i) => [f, makeVector(Float64Array.of(i))]))
      );
      const got = await udf.apply(table);
      expect([...(got as Iterable<number>)]).toEqual([...expected]);
    } finally {
      await udf.close();
    }
  });

  it('jsfunc predict and score take --tracking-uri; an unknown version is a coded error', async () => {
    const request = join(dir, 'request.json');
    await writeFile(request, JSON.stringify({ dataframe_records: [row] }));
    const predicted = await cli([
      'predict',
      '-m',
      'models:/linear/latest',
      '--tracking-uri',
      store,
      '-i',
      request,
    ]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toHaveProperty('predictions');
    const input = join(dir, 'in.csv');
    await writeFile(input, `${features.join(',')}\n${features.map((_, i) => i).join(',')}\n`);
    const out = join(dir, 'out.csv');
    const scored = await cli([
      'score',
      '-m',
      'models:/linear/1',
      '--tracking-uri',
      store,
      '-i',
      input,
      '-o',
      out,
    ]);
    expect(scored.code, scored.stderr).toBe(0);
    expect((await readFile(out, 'utf8')).split('\n')[0]).toBe(`${features.join(',')},prediction`);
    const missing = await cli(['info', '-m', 'models:/linear/7', '--tracking-uri', store]);
    expect(missing.code).toBe(ErrorCodes.E_MLMODEL_MISSING.exitCode);
    expect(missing.stderr).toMatch(/models:\/linear\/7/);
  });
});
