import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getModelInfo } from '../../src/package/model-info.js';
import { saveModel } from '../../src/package/save-model.js';
import { MLFLOW_MODELS, THROWS_ON_IMPORT, tempDirs } from '../fixtures/package/paths.js';

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
