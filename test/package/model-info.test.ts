import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatInfo } from '../../src/cli/format-info.js';
import { readJsEnv } from '../../src/package/environment.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { saveModel } from '../../src/package/save-model.js';
import { MLFLOW_MODELS, THROWS_ON_IMPORT, tempDirs } from '../fixtures/package/paths.js';
import { rejectionOf } from '../util/model-error.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

describe('getModelInfo on MLflow-written packages', () => {
  it('summarises every shared MLflow MLmodel, none loadable by jsfunc', async () => {
    const names = readdirSync(MLFLOW_MODELS).sort();
    expect(names).toEqual([
      'example_mlflow_1x_sklearn_model',
      'langchain_2.12',
      'pyfunc_2.8.1',
      'pyfunc_tensor_output_2.7.1',
    ]);
    for (const name of names) {
      const info = await getModelInfo(join(MLFLOW_MODELS, name));
      expect(info.flavors['python_function']).toBeDefined();
      expect(info.loadableFlavors).toEqual([]);
      expect(info.modelUuid).toEqual(expect.any(String));
      expect(info.utcTimeCreated).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
      expect(info.jsfuncVersion).toBeNull();
      expect(info.env).toBeNull();
      expect(JSON.parse(JSON.stringify(info))).toMatchObject({ path: join(MLFLOW_MODELS, name) });
    }
  });

  it('parses the input example of the langchain model', async () => {
    const info = await getModelInfo(join(MLFLOW_MODELS, 'langchain_2.12', 'MLmodel'));
    expect(info.inputExampleInfo).toEqual({
      artifact_path: 'input_example.json',
      type: 'json_object',
    });
    expect(info.inputExample).toEqual({
      messages: [{ role: 'user', content: 'What is Retrieval-augmented Generation?' }],
    });
    expect(info.signatureJson?.['outputs']).toBe('[{"type": "string", "required": true}]');
    expect(info.mlflowVersion).toBe('2.12.2');
  });

  it('reports the 1.x model: plain-string env, no signature, no example', async () => {
    const info = await getModelInfo(join(MLFLOW_MODELS, 'example_mlflow_1x_sklearn_model'));
    expect(info.flavors['python_function']?.['env']).toBe('conda.yaml');
    expect(info.signature).toBeNull();
    expect(info.inputExample).toBeNull();
    expect(Object.keys(info.flavors).sort()).toEqual(['python_function', 'sklearn']);
  });
});

describe('getModelInfo on jsfunc packages', () => {
  it('summarises without running the model code', async () => {
    const dir = join(tmp.make(), 'throws');
    // This module throws at import: getModelInfo must not import it.
    await saveModel(dir, {
      model: THROWS_ON_IMPORT,
      inputExample: { x: [1, 2] },
      metadata: { team: 'risk' },
    });
    const info = await getModelInfo(dir);
    expect(info.loadableFlavors).toEqual(['js_function']);
    expect(info.modelUuid).toMatch(/^[0-9a-f]{32}$/);
    expect(info.inputExample).toEqual({ columns: ['x'], data: [[1], [2]] });
    expect(info.metadata).toEqual({ team: 'risk' });
    expect(info.env?.node_version).toBe(process.versions.node);
    expect(info.jsfuncVersion).toEqual(info.env?.jsfunc_version);
    expect(info.modelSizeBytes).toBeGreaterThan(0);
  });

  it('fails with E_MLMODEL_MISSING for a directory without MLmodel', async () => {
    const dir = tmp.make();
    await expect(getModelInfo(dir)).rejects.toMatchObject({
      code: 'E_MLMODEL_MISSING',
      message: `Could not find an "MLmodel" configuration file at "${dir}"`,
    });
  });
});

describe('getModelInfo on broken documents (issue 8, item 7)', () => {
  async function saved(name: string): Promise<string> {
    const dir = join(tmp.make(), name);
    await saveModel(dir, { model: THROWS_ON_IMPORT, inputExample: { x: [1, 2] } });
    return dir;
  }

  it('refuses a 100,000-deep input example with E_FORMAT_MALFORMED (was a RangeError in info)', async () => {
    const dir = await saved('deep-example');
    const n = 100_000;
    writeFileSync(join(dir, 'input_example.json'), `${'['.repeat(n)}${']'.repeat(n)}`);
    const error = await rejectionOf(getModelInfo(dir));
    expect(error.code).toBe('E_FORMAT_MALFORMED');
    expect(error.message).toMatch(
      /input example "input_example\.json" .* nests deeper than 100 levels/
    );
  });

  it('shows an input example that is not JSON as absent, as before', async () => {
    const dir = await saved('bad-example');
    writeFileSync(join(dir, 'input_example.json'), '{"columns": [');
    expect((await getModelInfo(dir)).inputExample).toBeNull();
  });

  it('reads js_env.json strictly: deep or ill-typed is E_MLMODEL_INVALID, shown as absent by info', async () => {
    const dir = await saved('bad-env');
    const n = 100_000;
    for (const [text, message] of [
      [`{"external": {"a": ${'['.repeat(n)}${']'.repeat(n)}}}`, /nested deeper than 100 levels/],
      ['{"external": {"a": [1]}}', /"external\.a" must be a version string or null, found object/],
      ['{"node_version": {"major": 20}}', /"node_version" must be a string, found object/],
      ['[1]', /expected a JSON object/],
      ['{', /not valid JSON/],
    ] as const) {
      writeFileSync(join(dir, 'js_env.json'), text);
      const error = await rejectionOf(readJsEnv(dir));
      expect(error.code).toBe('E_MLMODEL_INVALID');
      expect(error.message).toMatch(message);
      const info = await getModelInfo(dir);
      expect(info.env).toBeNull();
      expect(() => formatInfo(info)).not.toThrow();
    }
    writeFileSync(join(dir, 'js_env.json'), '{"external": {"__proto__": null}, "bundled": {}}');
    const env = await readJsEnv(dir);
    expect(Object.getPrototypeOf(env?.external)).toBe(Object.prototype);
    expect(Object.keys(env?.external ?? {})).toEqual(['__proto__']);
  });

  it('prints param defaults and metadata nested to the limit, as text and JSON', async () => {
    const dir = join(tmp.make(), 'printable');
    await saveModel(dir, {
      model: THROWS_ON_IMPORT,
      signature: {
        inputs: '[{"type": "double", "name": "x", "required": true}]',
        params:
          '[{"name": "big", "default": 9007199254740991, "shape": null, "type": "long"}, ' +
          '{"name": "many", "default": [1, 2], "shape": [-1], "type": "long"}]',
      },
      metadata: { deep: JSON.parse(`${'['.repeat(90)}${']'.repeat(90)}`) as unknown },
    });
    const info = await getModelInfo(dir);
    const text = formatInfo(info);
    expect(text).toMatch(/big\s+long\s+9007199254740991/);
    expect(text).toMatch(/many\s+long\[\]\s+\[1,2\]/);
    expect(JSON.stringify(info)).toContain('"deep":[[[[');
  });
});
