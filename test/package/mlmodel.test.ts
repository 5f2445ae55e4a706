import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { parseMLmodel, readMLmodel, serializeMLmodel } from '../../src/package/mlmodel.js';
import { MLFLOW_MODELS, tempDirs } from '../fixtures/package/paths.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

function expectCode(fn: () => unknown, code: string, text?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(ModelError.is(thrown)).toBe(true);
  expect((thrown as ModelError).code).toBe(code);
  if (text) expect((thrown as ModelError).message).toMatch(text);
}

describe('readMLmodel on MLflow-written files', () => {
  it('reads the 2.12 langchain model: flavors, signature, uuid, time, example info, unknown keys', async () => {
    const meta = await readMLmodel(join(MLFLOW_MODELS, 'langchain_2.12'));
    expect(Object.keys(meta.flavors).sort()).toEqual(['langchain', 'python_function']);
    expect(meta.flavors['python_function']?.['loader_module']).toBe('mlflow.langchain');
    expect(meta.modelUuid).toBe('bbdda59aafe84e11b2fc25a95e46aee1');
    expect(meta.utcTimeCreated).toBe('2024-05-17 23:15:28.764394');
    expect(meta.mlflowVersion).toBe('2.12.2');
    expect(meta.modelSizeBytes).toBe(6875);
    expect(meta.savedInputExampleInfo).toEqual({
      artifact_path: 'input_example.json',
      type: 'json_object',
    });
    const input = meta.signature?.inputs?.[0];
    expect(input).toMatchObject({
      kind: 'column',
      name: 'messages',
      required: true,
      type: { type: 'array' },
    });
    expect(meta.signature?.outputs).toEqual([
      { kind: 'column', type: { type: 'string' }, required: true },
    ]);
    expect(meta.signature?.params).toBeNull();
    // Unknown keys are kept, with their YAML 1.1 string typing.
    expect(meta.raw['databricks_runtime']).toBe('14.3');
    expect(meta.raw['run_id']).toBe('84552a129bfb45faa87f5fb3f05eb9cf');
    expect(meta.raw['resources']).toMatchObject({ api_version: '1' });
  });

  it('reads the 1.x sklearn model: env is a plain string, no signature', async () => {
    const meta = await readMLmodel(
      join(MLFLOW_MODELS, 'example_mlflow_1x_sklearn_model', 'MLmodel')
    );
    expect(meta.flavors['python_function']?.['env']).toBe('conda.yaml');
    expect(meta.flavors['python_function']?.['python_version']).toBe('3.10.19');
    expect(meta.signature).toBeNull();
    expect(meta.savedInputExampleInfo).toBeNull();
    expect(meta.mlflowVersion).toBe('1.30.1');
    expect(meta.utcTimeCreated).toBe('2024-10-29 07:39:02.032550');
  });

  it('reads the 2.8.1 pyfunc model and the 2.7.1 tensor-output model', async () => {
    const a = await readMLmodel(join(MLFLOW_MODELS, 'pyfunc_2.8.1'));
    expect(a.modelSizeBytes).toBe(737);
    expect(a.flavors['python_function']?.['env']).toEqual({
      conda: 'conda.yaml',
      virtualenv: 'python_env.yaml',
    });
    const b = await readMLmodel(join(MLFLOW_MODELS, 'pyfunc_tensor_output_2.7.1'));
    expect(b.modelUuid).toBe('test-model-uuid');
    // Old JSON without "required": defaults to true.
    expect(b.signature?.inputs).toEqual([
      { kind: 'column', name: 'test_model_input', type: { type: 'double' }, required: true },
    ]);
    expect(b.signature?.outputs).toEqual([
      { kind: 'tensor', name: 'test_model_output', dtype: 'float64', shape: [-1] },
    ]);
  });

  it('survives read -> write -> read with every key, foreign flavor and signature intact', async () => {
    for (const name of [
      'langchain_2.12',
      'example_mlflow_1x_sklearn_model',
      'pyfunc_2.8.1',
      'pyfunc_tensor_output_2.7.1',
    ]) {
      const meta = await readMLmodel(join(MLFLOW_MODELS, name));
      const again = parseMLmodel(serializeMLmodel(meta), `${name} (rewritten)`);
      expect(again.raw).toEqual(meta.raw);
      expect(again.signature).toEqual(meta.signature);
    }
  });
});

describe('serializeMLmodel', () => {
  const meta = parseMLmodel(
    [
      'zeta: 1',
      'flavors:',
      '  js_function: {loader_module: jsfunc, list: [a, b]}',
      "utc_time_created: '2024-05-17 23:15:28.764394'",
      'model_uuid: 0123456789abcdef0123456789abcdef',
      'metadata: {flag: "yes", version: "1.10", when: "2024-01-02"}',
      '',
    ].join('\n'),
    'inline'
  );
  const text = serializeMLmodel(meta);

  it('sorts keys, uses block style and indentless sequences like PyYAML', () => {
    const topKeys = text
      .split('\n')
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(':')[0]);
    expect(topKeys).toEqual([...topKeys].sort());
    expect(text).toContain('    list:\n    - a\n    - b\n');
    expect(text).not.toMatch(/[{}[\]]\s*$/m);
  });

  it('quotes strings that YAML 1.1 would read as another type', () => {
    expect(text).toContain("utc_time_created: '2024-05-17 23:15:28.764394'\n");
    expect(text).toContain("flag: 'yes'");
    expect(text).toContain("version: '1.10'");
    expect(text).toContain("when: '2024-01-02'");
  });

  it('is byte-stable: serialize(parse(serialize(x))) === serialize(x)', () => {
    expect(serializeMLmodel(parseMLmodel(text, 'again'))).toBe(text);
  });

  it('drops typed fields set to null and writes typed fields over raw', () => {
    const out = parseMLmodel(
      serializeMLmodel({ ...meta, metadata: null, modelSizeBytes: 42 }),
      'x'
    );
    expect(out.metadata).toBeNull();
    expect('metadata' in out.raw).toBe(false);
    expect(out.modelSizeBytes).toBe(42);
    expect(out.raw['zeta']).toBe(1);
  });
});

describe('readMLmodel / parseMLmodel errors', () => {
  it('accepts a directory or the MLmodel file; anything else is E_MLMODEL_MISSING', async () => {
    const dir = tmp.make();
    const missing = join(dir, 'nope');
    await expect(readMLmodel(missing)).rejects.toMatchObject({
      code: 'E_MLMODEL_MISSING',
      message: `Could not find an "MLmodel" configuration file at "${missing}"`,
    });
    await expect(readMLmodel(dir)).rejects.toMatchObject({ code: 'E_MLMODEL_MISSING' });
  });

  it('rejects malformed YAML naming the file', () => {
    expectCode(
      () => parseMLmodel('flavors: [unclosed\n', '/pkg/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/pkg\/MLmodel.*malformed YAML/
    );
    expectCode(
      () => parseMLmodel('a: 1\na: 2\n', '/pkg/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/pkg\/MLmodel/
    );
  });

  it('stops a billion-laughs alias bomb quickly', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'bcdefghi';
    let prev = 'a';
    for (const n of names) {
      lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
      prev = n;
    }
    lines.push('flavors: {x: {}}');
    expectCode(
      () => parseMLmodel(lines.join('\n'), '/bomb/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/bomb\/MLmodel.*alias/
    );
  });

  it('rejects documents that are not a mapping, and missing or malformed flavors', () => {
    for (const text of ['', '- a\n- b\n', 'just a string\n', '42\n']) {
      expectCode(() => parseMLmodel(text, 'f'), 'E_MLMODEL_INVALID', /expected a YAML mapping/);
    }
    expectCode(
      () => parseMLmodel('model_uuid: x\n', 'f'),
      'E_MLMODEL_INVALID',
      /"flavors" must be a mapping.*found null/
    );
    expectCode(() => parseMLmodel('flavors: [a]\n', 'f'), 'E_MLMODEL_INVALID', /found a list/);
    expectCode(
      () => parseMLmodel('flavors: {js_function: 3}\n', 'f'),
      'E_MLMODEL_INVALID',
      /flavor "js_function"/
    );
  });

  it('reports a malformed signature as E_SIGNATURE_INVALID naming the file', async () => {
    const dir = tmp.make();
    mkdirSync(join(dir, 'm'));
    writeFileSync(
      join(dir, 'm', 'MLmodel'),
      'flavors: {}\nsignature:\n  inputs: \'[{"type": "nope"\'\n'
    );
    await expect(readMLmodel(join(dir, 'm'))).rejects.toMatchObject({
      code: 'E_SIGNATURE_INVALID',
      message: expect.stringContaining(join(dir, 'm', 'MLmodel')),
    });
    expect(readFileSync(join(dir, 'm', 'MLmodel'), 'utf8')).toContain('signature');
  });
});
