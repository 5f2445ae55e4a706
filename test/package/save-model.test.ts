import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tableFromArrays } from 'apache-arrow';
import { loadModel } from '../../src/package/load-model.js';
import { parseMLmodel, readMLmodel, serializeMLmodel } from '../../src/package/mlmodel.js';
import {
  abandonSave,
  ensureEmptyTarget,
  formatUtcTime,
  jsonClone,
  saveModel,
} from '../../src/package/save-model.js';
import type { ModelSignature } from '../../src/signature/types.js';
import {
  ARROW_MODEL,
  COUNTER_MODEL,
  FIXTURES,
  WEIGHTS,
  tempDirs,
} from '../fixtures/package/paths.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

const signature: ModelSignature = {
  inputs: [{ kind: 'column', name: 'x', type: { type: 'double' }, required: true }],
  outputs: [{ kind: 'column', type: { type: 'double' }, required: true }],
  params: [{ name: 'k', type: { type: 'long' }, default: 1, shape: null }],
};

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]
  );
}

describe('saveModel: a full package', () => {
  let dir = '';
  let text = '';
  let yaml: Record<string, unknown> = {};
  beforeAll(async () => {
    dir = join(tmp.make(), 'out', 'counter');
    await saveModel(dir, {
      model: COUNTER_MODEL,
      artifacts: {
        weights: WEIGHTS,
        fixtures_dir: join(FIXTURES, 'mlflow-models', 'langchain_2.12'),
      },
      signature,
      inputExample: [{ x: 1.5 }, { x: 2 }],
      modelConfig: { scale: 2, label: 'on' },
      metadata: { team: 'risk' },
      predictFn: 'predictNegated',
    });
    text = readFileSync(join(dir, 'MLmodel'), 'utf8');
    yaml = parse(text) as Record<string, unknown>;
  });

  it('writes the MLflow layout: MLmodel, bundled code, artifacts, examples, env', () => {
    const files = walk(dir)
      .map((f) => relative(dir, f))
      .sort();
    expect(files).toEqual([
      'MLmodel',
      'artifacts/fixtures_dir/MLmodel',
      'artifacts/fixtures_dir/input_example.json',
      'artifacts/weights/weights.json',
      'code/model.cjs',
      'input_example.json',
      'js_env.json',
      'serving_input_example.json',
    ]);
    // The local helper is bundled in, no relative import is left.
    const code = readFileSync(join(dir, 'code/model.cjs'), 'utf8');
    expect(code).toContain('function scaleAll');
    expect(code).not.toMatch(/from\s+["']\.\.?\//);
  });

  it('records the js_function flavor with MLflow key names and no python_function', () => {
    const flavors = yaml['flavors'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(flavors)).toEqual(['js_function']);
    expect(flavors['js_function']).toEqual({
      loader_module: 'jsfunc',
      code: 'code',
      entry: 'code/model.cjs',
      export_name: 'default',
      predict_fn: 'predictNegated',
      config: { scale: 2, label: 'on' },
      artifacts: {
        weights: { path: 'artifacts/weights/weights.json', uri: WEIGHTS },
        fixtures_dir: {
          path: 'artifacts/fixtures_dir',
          uri: join(FIXTURES, 'mlflow-models', 'langchain_2.12'),
        },
      },
      node_version: process.versions.node,
      env: { node: 'js_env.json' },
    });
  });

  it('writes uuid, naive UTC time with microseconds, jsfunc_version, no mlflow_version', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
    ) as { version: string };
    expect(yaml['model_uuid']).toMatch(/^[0-9a-f]{32}$/);
    expect(text).toMatch(/^utc_time_created: '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?'$/m);
    expect(yaml['jsfunc_version']).toBe(pkg.version);
    expect('mlflow_version' in yaml).toBe(false);
    expect(yaml['metadata']).toEqual({ team: 'risk' });
    // 'on' would be a boolean to PyYAML: it must be quoted.
    expect(text).toContain("label: 'on'");
  });

  it('writes the signature as MLflow JSON strings', () => {
    const sig = yaml['signature'] as Record<string, string>;
    expect(JSON.parse(sig['inputs']!)).toEqual([{ type: 'double', name: 'x', required: true }]);
    expect(JSON.parse(sig['params']!)).toEqual([
      { name: 'k', type: 'long', default: 1, shape: null },
    ]);
  });

  it('writes the input example in split form and the serving example', () => {
    expect(yaml['saved_input_example_info']).toEqual({
      artifact_path: 'input_example.json',
      type: 'dataframe',
      pandas_orient: 'split',
      serving_input_path: 'serving_input_example.json',
    });
    const split = { columns: ['x'], data: [[1.5], [2]] };
    expect(JSON.parse(readFileSync(join(dir, 'input_example.json'), 'utf8'))).toEqual(split);
    expect(JSON.parse(readFileSync(join(dir, 'serving_input_example.json'), 'utf8'))).toEqual({
      dataframe_split: split,
    });
  });

  it('records model_size_bytes as the size of every file but MLmodel', () => {
    const total = walk(dir)
      .filter((f) => relative(dir, f) !== 'MLmodel')
      .reduce((acc, f) => acc + statSync(f).size, 0);
    expect(yaml['model_size_bytes']).toBe(total);
  });

  it('re-serializes its own MLmodel byte for byte', async () => {
    expect(serializeMLmodel(parseMLmodel(text, 'own'))).toBe(text);
    expect(serializeMLmodel(await readMLmodel(dir))).toBe(text);
  });

  it('records the environment: node version, external apache-arrow version', () => {
    const env = JSON.parse(readFileSync(join(dir, 'js_env.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(env['node_version']).toBe(process.versions.node);
    expect(env['bundled']).toEqual({});
    // counter-model only imports apache-arrow as a type: nothing external at run time.
    expect(env['external']).toEqual({});
  });
});

describe('saveModel: externals and bundled npm packages', () => {
  it('keeps apache-arrow external and records its installed version', async () => {
    const dir = join(tmp.make(), 'arrow');
    await saveModel(dir, {
      model: ARROW_MODEL,
      inputExample: tableFromArrays({ x: Float64Array.from([1, 2]) }),
    });
    const arrowVersion = (
      JSON.parse(readFileSync('node_modules/apache-arrow/package.json', 'utf8')) as {
        version: string;
      }
    ).version;
    const env = JSON.parse(readFileSync(join(dir, 'js_env.json'), 'utf8')) as {
      external: Record<string, string>;
    };
    expect(env.external).toEqual({ 'apache-arrow': arrowVersion });
    const code = readFileSync(join(dir, 'code/model.cjs'), 'utf8');
    expect(code).toContain('"jsfunc-external:apache-arrow"');
    expect(code.length).toBeLessThan(20_000);
    expect(JSON.parse(readFileSync(join(dir, 'input_example.json'), 'utf8'))).toEqual({
      columns: ['x'],
      data: [[1], [2]],
    });
  });

  it('bundles an ordinary CommonJS npm package and records its version', async () => {
    const project = tmp.make();
    mkdirSync(join(project, 'node_modules', 'leftpad-cjs'), { recursive: true });
    writeFileSync(
      join(project, 'node_modules', 'leftpad-cjs', 'package.json'),
      '{"name":"leftpad-cjs","version":"4.5.6","main":"index.js"}'
    );
    writeFileSync(
      join(project, 'node_modules', 'leftpad-cjs', 'index.js'),
      'const path = require("path"); module.exports = (s) => path.basename(__dirname) + ":" + s;'
    );
    writeFileSync(
      join(project, 'model.mjs'),
      'import pad from "leftpad-cjs";\nexport default class M { predict() { return pad("x"); } }\n'
    );
    const dir = join(project, 'pkg');
    await saveModel(dir, { model: join(project, 'model.mjs') });
    const env = JSON.parse(readFileSync(join(dir, 'js_env.json'), 'utf8')) as {
      bundled: unknown;
      external: unknown;
    };
    expect(env.bundled).toEqual({ 'leftpad-cjs': '4.5.6' });
    expect(env.external).toEqual({});
    expect(readFileSync(join(dir, 'code/model.cjs'), 'utf8')).toContain(
      'path.basename(__jsfuncDirname)'
    );
  });
});

describe('saveModel: failures', () => {
  it("refuses a non-empty target with MLflow's message, accepts an empty one", async () => {
    const dir = tmp.make();
    writeFileSync(join(dir, 'keep.txt'), 'x');
    await expect(saveModel(dir, { model: COUNTER_MODEL })).rejects.toMatchObject({
      code: 'E_TARGET_NOT_EMPTY',
      message: `Path '${dir}' already exists and is not empty`,
    });
    expect(readdirSync(dir)).toEqual(['keep.txt']);
    const empty = tmp.make();
    await saveModel(empty, { model: COUNTER_MODEL });
    expect(existsSync(join(empty, 'MLmodel'))).toBe(true);
  });

  it('names a missing artifact and a missing model module, creating nothing', async () => {
    const root = tmp.make();
    await expect(
      saveModel(join(root, 'a'), {
        model: COUNTER_MODEL,
        artifacts: { weights: join(root, 'missing.json') },
      })
    ).rejects.toMatchObject({
      code: 'E_ARTIFACT_MISSING',
      message: expect.stringMatching(/Artifact "weights".*missing\.json/),
    });
    await expect(
      saveModel(join(root, 'b'), { model: join(root, 'nope.ts') })
    ).rejects.toMatchObject({
      code: 'E_ARTIFACT_MISSING',
      message: expect.stringContaining('nope.ts'),
    });
    expect(readdirSync(root)).toEqual([]);
  });

  it('reports esbuild errors as E_SAVE_FAILED naming the file, and cleans up', async () => {
    const root = tmp.make();
    writeFileSync(join(root, 'broken.ts'), 'export default class {\n  predict( {\n}\n');
    writeFileSync(
      join(root, 'imports-missing.ts'),
      'import x from "./not-there.js";\nexport default x;\n'
    );
    await expect(
      saveModel(join(root, 'p1'), { model: join(root, 'broken.ts') })
    ).rejects.toMatchObject({
      code: 'E_SAVE_FAILED',
      message: expect.stringContaining(join(root, 'broken.ts')),
    });
    await expect(
      saveModel(join(root, 'p2'), { model: join(root, 'imports-missing.ts') })
    ).rejects.toMatchObject({
      code: 'E_SAVE_FAILED',
      message: expect.stringMatching(/imports-missing\.ts.*not-there/),
    });
    expect(readdirSync(root).sort()).toEqual(['broken.ts', 'imports-missing.ts']);
  });

  it('validates options', async () => {
    const root = tmp.make();
    await expect(
      saveModel(join(root, 'a'), { model: COUNTER_MODEL, artifacts: { '../up': WEIGHTS } })
    ).rejects.toMatchObject({
      code: 'E_OPTION_INVALID',
    });
    await expect(
      saveModel(join(root, 'b'), { model: COUNTER_MODEL, predictFn: 'not a name' })
    ).rejects.toMatchObject({
      code: 'E_OPTION_INVALID',
    });
    await expect(
      saveModel(join(root, 'c'), {
        model: COUNTER_MODEL,
        modelConfig: { big: 1n } as unknown as Record<string, unknown>,
      })
    ).rejects.toMatchObject({ code: 'E_OPTION_INVALID' });
  });
});

describe('formatUtcTime', () => {
  it('formats like Python str(datetime): microseconds, omitted when zero', () => {
    expect(formatUtcTime(Date.UTC(2024, 4, 17, 23, 15, 28) * 1000 + 764394)).toBe(
      '2024-05-17 23:15:28.764394'
    );
    expect(formatUtcTime(Date.UTC(2024, 0, 2, 3, 4, 5) * 1000)).toBe('2024-01-02 03:04:05');
    expect(formatUtcTime(Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 7)).toBe(
      '2024-01-02 03:04:05.000007'
    );
  });
});

describe('save helpers shared with saveOnnxModel', () => {
  it('ensureEmptyTarget: true for a new path, false for an empty directory, else E_TARGET_NOT_EMPTY', async () => {
    const root = tmp.make();
    expect(await ensureEmptyTarget(join(root, 'new'))).toBe(true);
    expect(await ensureEmptyTarget(root)).toBe(false);
    const file = join(root, 'file.txt');
    writeFileSync(file, 'x');
    for (const p of [root, file]) {
      await expect(ensureEmptyTarget(p)).rejects.toMatchObject({
        code: 'E_TARGET_NOT_EMPTY',
        message: `Path '${p}' already exists and is not empty`,
        details: { path: p },
      });
    }
  });

  it('abandonSave removes a created directory, empties an existing one, wraps foreign errors', async () => {
    const created = join(tmp.make(), 'pkg');
    mkdirSync(created);
    writeFileSync(join(created, 'MLmodel'), 'x');
    const boom = new Error('disk full');
    const wrapped = await abandonSave(created, true, boom, 'the ONNX model');
    expect(existsSync(created)).toBe(false);
    expect(wrapped).toMatchObject({
      code: 'E_SAVE_FAILED',
      message: `Saving the ONNX model to "${created}" failed: Error: disk full`,
      cause: boom,
    });
    const existing = tmp.make();
    mkdirSync(join(existing, 'code'));
    writeFileSync(join(existing, 'code', 'model.mjs'), 'x');
    const own = jsonCloneError();
    expect(await abandonSave(existing, false, own, 'the model')).toBe(own);
    expect(readdirSync(existing)).toEqual([]);
  });

  it('jsonClone copies a plain object and refuses what JSON cannot carry', () => {
    const value = { a: [1, { b: 'x' }] };
    const copy = jsonClone(value, 'options.metadata');
    expect(copy).toEqual(value);
    expect(copy['a']).not.toBe(value.a);
    for (const bad of [[1], 'x', { n: 1n }]) {
      expect(() => jsonClone(bad, 'options.metadata')).toThrow(
        expect.objectContaining({
          code: 'E_OPTION_INVALID',
          message: 'options.metadata must be a JSON-serializable object',
        })
      );
    }
  });
});

function jsonCloneError(): unknown {
  try {
    jsonClone([], 'options.modelConfig');
  } catch (e) {
    return e;
  }
  throw new Error('expected jsonClone to throw');
}

describe('saveModel: bundle formats (issue 8, item 6)', () => {
  it('writes a function body (code/model.cjs) with import.meta, __dirname and import() working', async () => {
    const project = tmp.make();
    writeFileSync(
      join(project, 'meta-model.mjs'),
      [
        "import { tableFromArrays } from 'apache-arrow';",
        'const seen = { url: import.meta.url, file: import.meta.filename, dir: import.meta.dirname, cjsDir: __dirname };',
        'export default class M {',
        '  async predict(_ctx, input) {',
        "    const arrow = await import('apache-arrow');",
        "    const path = await import('node:path');",
        '    return { seen, sameArrow: arrow.tableFromArrays === tableFromArrays, sep: path.sep, rows: input.numRows };',
        '  }',
        '}',
        '',
      ].join('\n')
    );
    const dir = join(project, 'pkg');
    const meta = await saveModel(dir, { model: join(project, 'meta-model.mjs') });
    expect(meta.flavors['js_function']?.['entry']).toBe('code/model.cjs');
    const model = await loadModel(dir);
    const file = join(dir, 'code', 'model.cjs');
    expect(await model.predict([{ x: 1 }])).toEqual({
      seen: { url: `file://${file}`, file, dir: join(dir, 'code'), cjsDir: join(dir, 'code') },
      sameArrow: true,
      sep: '/',
      rows: 1,
    });
  });

  it('falls back to an ES module (code/model.mjs) for top-level await, which still loads', async () => {
    const project = tmp.make();
    writeFileSync(
      join(project, 'tla-model.mjs'),
      'const k = await Promise.resolve(5);\nexport default class M { predict() { return [k]; } }\n'
    );
    const dir = join(project, 'pkg');
    const meta = await saveModel(dir, { model: join(project, 'tla-model.mjs') });
    expect(meta.flavors['js_function']?.['entry']).toBe('code/model.mjs');
    expect(existsSync(join(dir, 'code', 'model.cjs'))).toBe(false);
    expect(await (await loadModel(dir)).predict([{ x: 1 }])).toEqual([5]);
  });
});

describe('saveModel: the signature option in MLflow form (issue 8, item 7)', () => {
  const mlflowSignature = {
    inputs: '[{"type": "double", "name": "x", "required": true}]',
    outputs: '[{"type": "double", "required": true}]',
    params: '[{"name": "k", "default": 1, "shape": null, "type": "long"}]',
  };

  it('accepts {inputs, outputs, params} JSON strings, as an MLmodel holds them', async () => {
    const dir = join(tmp.make(), 'mlflow-sig');
    const meta = await saveModel(dir, { model: COUNTER_MODEL, signature: mlflowSignature });
    const raw = parse(readFileSync(join(dir, 'MLmodel'), 'utf8')) as Record<string, unknown>;
    expect(raw['signature']).toEqual(mlflowSignature);
    expect((await readMLmodel(dir)).signature).toEqual(meta.signature);
    expect(meta.signature?.inputs).toEqual(signature.inputs);
  });

  it('refuses a malformed signature with E_SIGNATURE_INVALID before writing anything', async () => {
    for (const [value, text] of [
      [
        { inputs: '[{"type": "double"' },
        /options\.signature: signature\.inputs: Schema is not valid JSON/,
      ],
      [
        { inputs: 7 },
        /options\.signature\.inputs must be a list of specs, MLflow schema JSON text, or null/,
      ],
      [
        { inputs: signature.inputs, outputs: mlflowSignature.outputs },
        /mixes jsfunc specs and MLflow JSON/,
      ],
    ] as const) {
      const dir = join(tmp.make(), 'bad-sig');
      await expect(
        saveModel(dir, { model: COUNTER_MODEL, signature: value as never })
      ).rejects.toMatchObject({
        code: 'E_SIGNATURE_INVALID',
        message: expect.stringMatching(text),
      });
      expect(existsSync(dir)).toBe(false);
    }
  });
});
