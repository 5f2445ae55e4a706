import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { normalizeSignature } from '../../src/cli/commands/save.js';
import { loadModel } from '../../src/package/load-model.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { cli, listDir, repoRoot, tempDir } from './helpers.js';

const fixtures = join(repoRoot, 'test/fixtures/cli');
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function predictX(path: string, xs: number[], options = {}): Promise<number[]> {
  const model = await loadModel(path, { warn: () => {}, ...options });
  return Array.from((await model.predict(xs.map((x) => ({ x })))) as ArrayLike<number>);
}

describe('jsfunc save', () => {
  it('packages udf/linear from its spec module, loadable with the spec signature', async () => {
    const out = join(dir, 'linear');
    const run = await cli(['save', '-s', join(repoRoot, 'udf/linear/spec.mjs'), '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^saved model to ${out} \\(uuid [0-9a-f]{32}, `));
    const info = await getModelInfo(out);
    const spec = (await import(join(repoRoot, 'udf/linear/spec.mjs'))) as { features: string[] };
    expect(info.signature?.inputs?.map((c) => c.name)).toEqual(spec.features);
    expect(info.metadata).toEqual({ example: 'linear', task: 'regression' });
  });

  it('packages from a JSON spec with paths relative to the spec file, and flags override it', async () => {
    const out = join(dir, 'from-json');
    const run = await cli(['save', '--spec', join(fixtures, 'spec.json'), '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(await predictX(out, [1, -2])).toEqual([6, -12]);
    const info = await getModelInfo(out);
    expect(info.metadata).toEqual({ source: 'spec.json' });
    expect(info.inputExample).toEqual({ columns: ['x'], data: [[1.5], [2]] });

    const over = join(dir, 'from-json-over');
    const r2 = await cli([
      'save',
      '-s',
      join(fixtures, 'spec.json'),
      '-o',
      over,
      '--config',
      '{"extra": 10}',
      '--predict-fn',
      'predictNegated',
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await predictX(over, [1])).toEqual([-30]);
  });

  it('packages from flags: --model, --artifact, --signature, --config, --metadata', async () => {
    const out = join(dir, 'flags');
    const run = await cli([
      'save',
      '--model',
      join(fixtures, 'scale-model.mjs'),
      '--artifact',
      `factor=${join(fixtures, 'factor.json')}`,
      '--signature',
      join(fixtures, 'signature.json'),
      '--config',
      '{"extra": 1}',
      '--metadata',
      '{"owner": "cli-test"}',
      '-o',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(await predictX(out, [2, 4])).toEqual([6, 12]);
    const info = await getModelInfo(out);
    expect(info.signature).toEqual({
      inputs: [{ kind: 'column', name: 'x', type: { type: 'double' }, required: true }],
      outputs: [{ kind: 'column', type: { type: 'double' }, required: true }],
      params: null,
    });
    expect(info.metadata).toEqual({ owner: 'cli-test' });
  });

  it('--force replaces a model package but never another non-empty directory', async () => {
    const out = join(dir, 'force');
    const args = ['save', '-s', join(fixtures, 'spec.json'), '-o', out];
    expect((await cli(args)).code).toBe(0);
    const first = (await getModelInfo(out)).modelUuid;
    const again = await cli(args);
    expect(again.code).toBe(ErrorCodes.E_TARGET_NOT_EMPTY.exitCode);
    expect(again.stderr).toMatch(/^jsfunc: E_TARGET_NOT_EMPTY: /);
    expect((await cli([...args, '--force'])).code).toBe(0);
    expect((await getModelInfo(out)).modelUuid).not.toBe(first);

    const other = join(dir, 'user-data');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'keep me');
    const refused = await cli(['save', '-s', join(fixtures, 'spec.json'), '-o', other, '--force']);
    expect(refused.code).toBe(ErrorCodes.E_TARGET_NOT_EMPTY.exitCode);
    expect(refused.stderr).toContain('holds no MLmodel file');
    expect(await readFile(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('rejects bad invocations with their own messages', async () => {
    const both = await cli(['save', '-s', 'a.json', '--model', 'm.mjs', '-o', join(dir, 'x')]);
    expect(both).toMatchObject({ code: 2 });
    expect(both.stderr.split('\n')[0]).toBe(
      'jsfunc: give one of --spec, --model and --onnx, not --spec and --model'
    );
    const onnxAndModel = await cli(['save', '--onnx', 'a.onnx', '--model', 'm.mjs', '-o', 'x']);
    expect(onnxAndModel.code).toBe(2);
    expect(onnxAndModel.stderr).toContain('not --model and --onnx');
    const none = await cli(['save', '-o', join(dir, 'x')]);
    expect(none.code).toBe(2);
    const ext = await cli(['save', '-s', join(fixtures, 'factor.yaml'), '-o', join(dir, 'x')]);
    expect(ext.code).toBe(ErrorCodes.E_FORMAT_UNSUPPORTED.exitCode);
    const art = await cli([
      'save',
      '--model',
      join(fixtures, 'scale-model.mjs'),
      '--artifact',
      'factor',
      '-o',
      join(dir, 'x'),
    ]);
    expect(art.code).toBe(ErrorCodes.E_OPTION_INVALID.exitCode);
    expect(art.stderr).toBe(
      'jsfunc: E_OPTION_INVALID: --artifact must be name=value, found "factor"\n'
    );
    const missingSpec = await cli([
      'save',
      '-s',
      join(fixtures, 'nope.json'),
      '-o',
      join(dir, 'x'),
    ]);
    expect(missingSpec.code).toBe(ErrorCodes.E_FILE_NOT_FOUND.exitCode);
    expect(await listDir(dir)).not.toContain('x');
  });
});

describe('normalizeSignature', () => {
  it('accepts MLflow strings, MLflow arrays and jsfunc objects alike', () => {
    const fromStrings = normalizeSignature(
      { inputs: '[{"type": "long", "name": "id"}]', outputs: null },
      't'
    );
    const fromArrays = normalizeSignature({ inputs: [{ type: 'long', name: 'id' }] }, 't');
    const own = normalizeSignature(
      { inputs: [{ kind: 'column', name: 'id', type: { type: 'long' }, required: true }] },
      't'
    );
    expect(fromStrings).toEqual(fromArrays);
    expect(own).toEqual(fromArrays);
    expect(() => normalizeSignature({ inputs: [{ type: 'nope', name: 'id' }] }, 't')).toThrow(
      /nope/
    );
    expect(normalizeSignature(null, 't')).toBeNull();
  });
});

describe('jsfunc save --onnx', () => {
  const irisOnnx = join(repoRoot, 'test/fixtures/onnx/sklearn_model.onnx');
  const features = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
  // Iris rows 0, 50, 70, 100 and 133: all three classes, two of them near a boundary.
  const irisRows = [
    [5.1, 3.5, 1.4, 0.2],
    [7.0, 3.2, 4.7, 1.4],
    [5.9, 3.2, 4.8, 1.8],
    [6.3, 3.3, 6.0, 2.5],
    [6.3, 2.8, 5.1, 1.5],
  ];
  let sessionLabels: number[];

  beforeAll(async () => {
    // The reference: onnxruntime itself on the same rows, as one float32 [N, 4] tensor.
    const session = await ort.InferenceSession.create(irisOnnx);
    try {
      const input = new ort.Tensor('float32', Float32Array.from(irisRows.flat()), [
        irisRows.length,
        4,
      ]);
      const out = await session.run({ float_input: input }, ['output_label']);
      sessionLabels = Array.from(out['output_label']!.data as BigInt64Array, Number);
    } finally {
      await session.release();
    }
    expect(new Set(sessionLabels).size).toBe(3);
  });

  /** Scores `irisRows` (as CSV with `features` as header) with `jsfunc predict`; the labels. */
  async function predictLabels(model: string): Promise<number[]> {
    const input = join(dir, 'iris-request.csv');
    await writeFile(input, [features.join(','), ...irisRows.map((r) => r.join(','))].join('\n'));
    const run = await cli(['predict', '-m', model, '-i', input]);
    expect(run.code, run.stderr).toBe(0);
    const { predictions } = JSON.parse(run.stdout) as {
      predictions: { output_label: number }[];
    };
    return predictions.map((p) => p.output_label);
  }

  it('packages an .onnx file with onnx + python_function flavors, scored by jsfunc predict', async () => {
    const signature = join(dir, 'iris-signature.json');
    await writeFile(
      signature,
      JSON.stringify({
        inputs: features.map((name) => ({ type: 'double', name })),
        outputs: [{ type: 'long', name: 'output_label' }],
      })
    );
    const out = join(dir, 'iris-flags');
    const run = await cli([
      'save',
      '--onnx',
      irisOnnx,
      '--signature',
      signature,
      '--metadata',
      '{"owner": "cli-test"}',
      '--config',
      '{"intra_op_num_threads": 1}',
      '-o',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^saved model to ${out} \\(uuid [0-9a-f]{32}, `));
    const info = await getModelInfo(out);
    expect(Object.keys(info.flavors).sort()).toEqual(['onnx', 'python_function']);
    expect(info.flavors['python_function']?.['loader_module']).toBe('mlflow.onnx');
    expect(info.flavors['onnx']?.['onnx_session_options']).toEqual({ intra_op_num_threads: 1 });
    expect(info.signature?.inputs?.map((c) => c.name)).toEqual(features);
    expect(info.metadata).toEqual({ owner: 'cli-test' });
    expect(await readFile(join(out, 'model.onnx'))).toEqual(await readFile(irisOnnx));
    expect(await predictLabels(out)).toEqual(sessionLabels);
  });

  it('infers a tensor signature without --signature; predict packs any 4 columns', async () => {
    const out = join(dir, 'iris-inferred');
    const run = await cli(['save', '--onnx', irisOnnx, '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    const inputs = (await getModelInfo(out)).signature?.inputs;
    expect(inputs).toEqual([{ kind: 'tensor', dtype: 'float32', shape: [-1, 4] }]);
    expect(await predictLabels(out)).toEqual(sessionLabels);
  });

  it('routes spec modules and JSON specs naming onnxModel to saveOnnxModel', async () => {
    const fromModule = join(dir, 'iris-spec');
    const run = await cli([
      'save',
      '-s',
      join(repoRoot, 'udf/iris-onnx/spec.mjs'),
      '-o',
      fromModule,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(Object.keys((await getModelInfo(fromModule)).flavors).sort()).toEqual([
      'onnx',
      'python_function',
    ]);
    expect(await predictLabels(fromModule)).toEqual(sessionLabels);

    // A JSON spec's onnxModel is relative to the spec file.
    const specDir = join(dir, 'onnx-json-spec');
    await mkdir(specDir);
    await copyFile(irisOnnx, join(specDir, 'iris.onnx'));
    await writeFile(
      join(specDir, 'spec.json'),
      JSON.stringify({ onnxModel: 'iris.onnx', metadata: { source: 'json' } })
    );
    const fromJson = join(dir, 'iris-json');
    const r2 = await cli(['save', '-s', join(specDir, 'spec.json'), '-o', fromJson]);
    expect(r2.code, r2.stderr).toBe(0);
    expect((await getModelInfo(fromJson)).metadata).toEqual({ source: 'json' });
    expect(await predictLabels(fromJson)).toEqual(sessionLabels);
  });

  it('refuses JS-only flags for ONNX models', async () => {
    const flag = await cli(['save', '--onnx', irisOnnx, '--predict-fn', 'p', '-o', join(dir, 'y')]);
    expect(flag.code).toBe(2);
    expect(flag.stderr.split('\n')[0]).toBe(
      'jsfunc: --predict-fn applies to JS models, not to --onnx'
    );
    const spec = join(repoRoot, 'udf/iris-onnx/spec.mjs');
    const art = await cli([
      'save',
      '-s',
      spec,
      '--artifact',
      `a=${irisOnnx}`,
      '-o',
      join(dir, 'y'),
    ]);
    expect(art.code).toBe(ErrorCodes.E_OPTION_INVALID.exitCode);
    expect(art.stderr).toMatch(
      /^jsfunc: E_OPTION_INVALID: Spec .* takes no artifacts \(--artifact\)/
    );
    expect(await listDir(dir)).not.toContain('y');
  });

  it('a missing .onnx file is E_ARTIFACT_MISSING and leaves no output; --force keeps the old package', async () => {
    const out = join(dir, 'iris-missing');
    const missing = join(dir, 'nope.onnx');
    const run = await cli(['save', '--onnx', missing, '-o', out]);
    expect(run.code).toBe(ErrorCodes.E_ARTIFACT_MISSING.exitCode);
    expect(run.stderr).toMatch(/^jsfunc: E_ARTIFACT_MISSING: .*nope\.onnx/);
    expect(await listDir(dir)).not.toContain('iris-missing');

    // --force over a package: the failed save must not have removed the package it replaces.
    const pkg = join(dir, 'iris-force');
    expect((await cli(['save', '--onnx', irisOnnx, '-o', pkg])).code).toBe(0);
    const uuid = (await getModelInfo(pkg)).modelUuid;
    const before = await listDir(dir);
    const forced = await cli(['save', '--onnx', missing, '-o', pkg, '--force']);
    expect(forced.code).toBe(ErrorCodes.E_ARTIFACT_MISSING.exitCode);
    expect((await getModelInfo(pkg)).modelUuid).toBe(uuid);
    expect(await listDir(dir)).toEqual(before); // no staging directory left behind
    const replaced = await cli(['save', '--onnx', irisOnnx, '-o', pkg, '--force']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect((await getModelInfo(pkg)).modelUuid).not.toBe(uuid);
    expect(await listDir(dir)).toEqual(before);
  });
});
