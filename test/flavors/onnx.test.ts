// The onnx flavor against the real ONNX models of MLflow's test resources (copied into
// test/fixtures/onnx by its committed script). Expected values come from running the
// InferenceSession directly, never from the flavor.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Table,
  Vector,
  makeData,
  makeVector,
  tableFromArrays,
  vectorFromArray,
} from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import {
  OnnxModel,
  executionProvidersFor,
  parseOnnxFlavor,
  toOrtSessionOptions,
} from '../../src/flavors/onnx.js';
import { inferOnnxSignature, tableToFeeds } from '../../src/flavors/onnx-io.js';
import { LOADABLE_FLAVORS, selectFlavor } from '../../src/flavors/registry.js';
import { loadModel } from '../../src/package/load-model.js';
import { saveOnnxModel } from '../../src/package/save-onnx-model.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import { rejectionOf } from '../util/model-error.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'onnx');
const SKLEARN = join(fixtures, 'sklearn_model.onnx');
const TF32 = join(fixtures, 'tf_model_multiple_inputs_float32.onnx');
const TF64 = join(fixtures, 'tf_model_multiple_inputs_float64.onnx');

// Iris-like rows: one of each species and some in between.
const IRIS = [
  [5.1, 3.5, 1.4, 0.2],
  [4.9, 3.0, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
  [5.8, 2.7, 5.1, 1.9],
  [5.9, 3.0, 5.1, 1.8],
  [5.7, 2.8, 4.1, 1.3],
];
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

let dir: string;
let seq = 0;
const fresh = (name: string) => join(dir, `${name}-${seq++}`);

/** Labels from running the session directly on the rows as one [N, 4] float32 tensor. */
async function directLabels(rows: number[][]): Promise<bigint[]> {
  const session = await ort.InferenceSession.create(SKLEARN);
  try {
    const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]);
    const out = await session.run({ float_input: x }, ['output_label']);
    return Array.from(out['output_label']!.data as BigInt64Array);
  } finally {
    await session.release();
  }
}

function irisTable(rows: number[][]): Table {
  return new Table(
    Object.fromEntries(
      FEATURES.map((f, j) => [f, makeVector(Float32Array.from(rows, (r) => r[j]!))])
    )
  );
}

function labelsOf(out: unknown): bigint[] {
  expect(out).toBeInstanceOf(Table);
  return Array.from((out as Table).getChild('output_label')!.toArray() as BigInt64Array);
}

/** An onnx package laid out as `mlflow.onnx.save_model` (MLflow 2.x) writes it. */
function mlflowPackage(model: string, extra = ''): string {
  const pkg = fresh('mlflow-onnx');
  mkdirSync(pkg);
  copyFileSync(model, join(pkg, 'model.onnx'));
  writeFileSync(
    join(pkg, 'MLmodel'),
    `flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_session_options: null
    onnx_version: 1.14.1
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.9.18
mlflow_version: 2.9.2
model_size_bytes: 1234
model_uuid: 4b6d1d3c8a3a4e4e9b8f0f1c2d3e4f50
utc_time_created: '2024-01-10 12:00:00.123456'
${extra}`
  );
  writeFileSync(join(pkg, 'requirements.txt'), 'mlflow==2.9.2\nonnx==1.14.1\nonnxruntime==1.16.3');
  return pkg;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-onnx-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('onnx flavor: sklearn model saved with saveOnnxModel', () => {
  it('predicts the labels the session gives, and skips the ZipMap output with a warning', async () => {
    const pkg = fresh('sklearn');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    const warnings: string[] = [];
    const model = await loadModel(pkg, { warn: (m) => warnings.push(m) });
    const expected = await directLabels(IRIS);
    expect(new Set(expected.map(Number)).size).toBeGreaterThan(1);
    for (const label of expected) expect([0n, 1n, 2n]).toContain(label);

    const out = (await model.predict(irisTable(IRIS))) as Table;
    expect(labelsOf(out)).toEqual(expected);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['output_label']);
    expect(warnings.some((w) => w.includes('"output_probability"') && w.includes('not'))).toBe(
      true
    );

    // One tensor column (the rows as 4-element arrays) feeds the same tensor.
    const asTensor = await model.predict({ float_input: IRIS });
    expect(labelsOf(asTensor)).toEqual(expected);
    expect(model.unwrap<OnnxModel>()).toBeInstanceOf(OnnxModel);
  });

  it('predicts from plain rows, columns and arrays of arrays under the (-1, 4) float32 signature', async () => {
    const pkg = fresh('sklearn-plain');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    const model = await loadModel(pkg, { warn: () => undefined });
    expect(model.signature?.inputs).toEqual([{ kind: 'tensor', dtype: 'float32', shape: [-1, 4] }]);
    const expected = await directLabels(IRIS);
    const rows = IRIS.map((r) => ({ a: r[0], b: r[1], c: r[2], d: r[3] }));
    expect(labelsOf(await model.predict(rows))).toEqual(expected);
    const columns = Object.fromEntries(FEATURES.map((f, j) => [f, IRIS.map((r) => r[j]!)]));
    expect(labelsOf(await model.predict(columns))).toEqual(expected);
    expect(labelsOf(await model.predict(IRIS))).toEqual(expected);
    // Three features do not make the (-1, 4) tensor.
    const three = await rejectionOf(
      model.predict(IRIS.map((r) => ({ a: r[0], b: r[1], c: r[2] })))
    );
    expect(three.code).toBe('E_SCHEMA_MISMATCH');
    expect(three.message).toContain('the input table passed had 3 columns');
  });

  it('rejects a table whose columns do not fit the inferred signature', async () => {
    const pkg = fresh('sklearn-bad');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    const model = await loadModel(pkg, { warn: () => undefined });
    const three = new Table({
      a: makeVector(Float32Array.of(1, 2)),
      b: makeVector(Float32Array.of(1, 2)),
      c: makeVector(Float32Array.of(1, 2)),
    });
    expect((await rejectionOf(model.predict(three))).code).toBe('E_SCHEMA_MISMATCH');
    const float64 = tableFromArrays({
      a: Float64Array.of(1),
      b: Float64Array.of(1),
      c: Float64Array.of(1),
      d: Float64Array.of(1),
    });
    expect((await rejectionOf(model.predict(float64))).code).toBe('E_SCHEMA_MISMATCH');
  });
});

describe('onnx flavor: tf model with two inputs', () => {
  for (const [file, dtype] of [
    [TF32, 'float32'],
    [TF64, 'float64'],
  ] as const) {
    it(`multiplies the two input columns (${dtype})`, async () => {
      const pkg = fresh(`tf-${dtype}`);
      await saveOnnxModel(pkg, { onnxModel: file });
      const model = await loadModel(pkg, { warn: () => undefined });
      const a = Array.from({ length: 10 }, (_, i) => i * 0.5 - 2);
      const b = Array.from({ length: 10 }, (_, i) => 3 - i * 0.25);
      const out = (await model.predict({ 'first_input:0': a, 'second_input:0': b })) as Table;
      const col = out.getChild('output:0')!;
      expect(col.type).toBeInstanceOf(dtype === 'float32' ? Float32 : Float64);
      const round = dtype === 'float32' ? Math.fround : (x: number) => x;
      expect(Array.from(col.toArray() as ArrayLike<number>)).toEqual(
        a.map((x, i) => round(round(x) * round(b[i]!)))
      );
      const missing = await rejectionOf(model.predict({ 'first_input:0': a, other: b }));
      expect(missing.code).toBe('E_SCHEMA_MISMATCH');
      expect(missing.message).toContain('second_input:0');
    });
  }
});

describe('onnx flavor: packages written by MLflow', () => {
  it('loads an mlflow.onnx package and stacks float64 columns into the float32 input', async () => {
    const pkg = mlflowPackage(SKLEARN);
    const model = await loadModel(pkg, { warn: () => undefined });
    // Plain JS numbers become float64 columns, cast to float32 as MLflow's wrapper does.
    const rows = IRIS.map((r) => Object.fromEntries(FEATURES.map((f, j) => [f, r[j]])));
    expect(labelsOf(await model.predict(rows))).toEqual(await directLabels(IRIS));
    // MLflow's default providers (CUDA first) still load on a CPU-only install.
    expect(model.context.modelConfig['providers']).toEqual([
      'CUDAExecutionProvider',
      'CPUExecutionProvider',
    ]);
  });

  it('feeds each input of a multi-input package from the column of the same name', async () => {
    const pkg = mlflowPackage(TF32);
    const model = await loadModel(pkg, { warn: () => undefined });
    const a = Float64Array.from({ length: 10 }, (_, i) => i + 1);
    const b = Float64Array.from({ length: 10 }, (_, i) => 2 * i);
    const out = (await model.predict({
      'second_input:0': b,
      'first_input:0': a,
      ignored: a,
    })) as Table;
    expect(Array.from(out.getChild('output:0')!.toArray() as Float32Array)).toEqual(
      Array.from(a, (x, i) => x * b[i]!)
    );
  });

  it('reports a missing input column without a signature as a schema mismatch', async () => {
    const model = await loadModel(mlflowPackage(TF32), { warn: () => undefined });
    const e = await rejectionOf(
      model.predict({ 'first_input:0': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] })
    );
    // The flavor's own ModelError passes through loadModel's predict unchanged.
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain("'second_input:0'");
  });

  it('honours saved onnx_session_options and lets modelConfig override them', async () => {
    const pkg = mlflowPackage(SKLEARN, '');
    // Replace the null options by MLflow-written ones.
    const text = (await import('node:fs'))
      .readFileSync(join(pkg, 'MLmodel'), 'utf8')
      .replace(
        'onnx_session_options: null',
        'onnx_session_options:\n      execution_mode: sequential\n      intra_op_num_threads: 2'
      );
    writeFileSync(join(pkg, 'MLmodel'), text);
    const saved = await loadModel(pkg, { warn: () => undefined });
    expect(saved.context.modelConfig).toMatchObject({
      execution_mode: 'sequential',
      intra_op_num_threads: 2,
    });
    const warnings: string[] = [];
    const over = await loadModel(pkg, {
      modelConfig: { intra_op_num_threads: 1, scale: 3 },
      warn: (m) => warnings.push(m),
    });
    expect(over.context.modelConfig).toMatchObject({
      execution_mode: 'sequential',
      intra_op_num_threads: 1,
    });
    expect(warnings.some((w) => w.includes('scale') && w.includes('ignored'))).toBe(true);
    expect(labelsOf(await over.predict(irisTable(IRIS.slice(0, 2))))).toEqual(
      await directLabels(IRIS.slice(0, 2))
    );
    const bad = await rejectionOf(
      loadModel(pkg, { modelConfig: { intra_op_num_threads: -1 }, warn: () => undefined })
    );
    expect(bad.code).toBe('E_OPTION_INVALID');
    expect(bad.message).toContain('intra_op_num_threads');
  });
});

describe('onnx flavor: load errors', () => {
  it('E_ARTIFACT_MISSING when model.onnx is missing', async () => {
    const pkg = mlflowPackage(SKLEARN);
    rmSync(join(pkg, 'model.onnx'));
    const e = await rejectionOf(loadModel(pkg));
    expect(e.code).toBe('E_ARTIFACT_MISSING');
    expect(e.message).toContain('model.onnx');
  });

  it('E_MODEL_LOAD for a corrupt model file', async () => {
    const pkg = mlflowPackage(SKLEARN);
    writeFileSync(join(pkg, 'model.onnx'), Buffer.from('this is not a protobuf model at all'));
    const e = await rejectionOf(loadModel(pkg));
    expect(e.code).toBe('E_MODEL_LOAD');
    expect(e.message).toContain('model.onnx');
  });

  it('E_OPTION_INVALID for a predictFn other than predict', async () => {
    const e = await rejectionOf(
      loadModel(mlflowPackage(SKLEARN), { predictFn: 'predict_proba', warn: () => undefined })
    );
    expect(e.code).toBe('E_OPTION_INVALID');
  });

  it('E_MLMODEL_INVALID for a flavor whose data is not a file name', () => {
    expect(() => parseOnnxFlavor({ data: 3 }, 'MLmodel')).toThrow(/"data"/);
  });
});

describe('flavor registry', () => {
  it('prefers js_function, then onnx, and lists both as loadable', () => {
    expect(LOADABLE_FLAVORS).toEqual(['js_function', 'onnx']);
    expect(selectFlavor({ flavors: { onnx: {}, js_function: {} } }, '/p').loader.name).toBe(
      'js_function'
    );
    expect(selectFlavor({ flavors: { python_function: {}, onnx: {} } }, '/p').loader.name).toBe(
      'onnx'
    );
    try {
      selectFlavor({ flavors: { sklearn: {} } }, '/p');
      throw new Error('expected E_FLAVOR_UNSUPPORTED');
    } catch (e) {
      expect((e as ModelError).code).toBe('E_FLAVOR_UNSUPPORTED');
      expect((e as ModelError).message).toContain('jsfunc loads [js_function, onnx]');
    }
  });
});

describe('onnx-io helpers', () => {
  it('infers an unnamed spec for one input and named specs for several, -1 for dynamic dims', async () => {
    const sk = await ort.InferenceSession.create(SKLEARN);
    const tf = await ort.InferenceSession.create(TF64);
    try {
      const skSig = inferOnnxSignature(sk.inputMetadata, sk.outputMetadata);
      const meta = sk.inputMetadata[0]!;
      expect(meta.isTensor && typeof meta.shape[0]).toBe('string');
      expect(skSig.inputs).toEqual([{ kind: 'tensor', dtype: 'float32', shape: [-1, 4] }]);
      expect(skSig.outputs).toEqual([
        { kind: 'tensor', name: 'output_label', dtype: 'int64', shape: [-1] },
      ]);
      const tfSig = inferOnnxSignature(tf.inputMetadata, tf.outputMetadata);
      expect(tfSig.inputs).toEqual(
        tf.inputNames.map((name) => ({ kind: 'tensor', name, dtype: 'float64', shape: [10] }))
      );
    } finally {
      await sk.release();
      await tf.release();
    }
  });

  it('feeds a float32 column without copying and refuses nulls and non-integral ints', () => {
    const values = Float32Array.of(1, 2, 3);
    const fed = tableToFeeds(
      new Table({ x: makeVector(values) }),
      [{ name: 'x', type: 'float32', shape: ['N'] }],
      ort.Tensor as never
    );
    // onnxruntime-node reads the column's own memory: same buffer, no copy.
    expect((fed['x']!.data as Float32Array).buffer).toBe(values.buffer);
    expect(fed['x']!.dims).toEqual([3]);
    // SharedArrayBuffer-backed columns (batches from the worker boundary) are copied once,
    // since onnxruntime-node refuses them.
    const shared = new Float32Array(new SharedArrayBuffer(12));
    shared.set([1, 2, 3]);
    const fedShared = tableToFeeds(
      new Table({ x: makeVector(shared) }),
      [{ name: 'x', type: 'float32', shape: ['N'] }],
      ort.Tensor as never
    );
    expect((fedShared['x']!.data as Float32Array).buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(fedShared['x']!.data as Float32Array)).toEqual([1, 2, 3]);
    const withNull = new Table({ x: vectorFromArray([1, null, 3], new Float64()) });
    expect(() =>
      tableToFeeds(withNull, [{ name: 'x', type: 'float32', shape: ['N'] }], ort.Tensor as never)
    ).toThrow(/nulls/);
    const frac = new Table({ x: makeVector(Float64Array.of(1.5)) });
    expect(() =>
      tableToFeeds(frac, [{ name: 'x', type: 'int64', shape: ['N'] }], ort.Tensor as never)
    ).toThrow(/non-integer value 1.5/);
    const ints = tableToFeeds(
      new Table({ x: makeVector(Int32Array.of(4, 5)) }),
      [{ name: 'x', type: 'int64', shape: ['N', 1] }],
      ort.Tensor as never
    );
    expect(Array.from(ints['x']!.data as BigInt64Array)).toEqual([4n, 5n]);
    expect(ints['x']!.dims).toEqual([2, 1]);
  });

  it('maps MLflow session options and providers', () => {
    const fail = (m: string) => new ModelError('E_OPTION_INVALID', m);
    expect(
      toOrtSessionOptions(
        {
          intra_op_num_threads: 1,
          execution_mode: 'PARALLEL',
          graph_optimization_level: 99,
          extra_session_config: { 'session.x': '1' },
        },
        fail
      )
    ).toEqual({
      intraOpNumThreads: 1,
      executionMode: 'parallel',
      graphOptimizationLevel: 'all',
      extra: { 'session.x': '1' },
    });
    expect(() => toOrtSessionOptions({ bogus: 1 }, fail)).toThrow(/bogus/);
    expect(executionProvidersFor(undefined, ['cpu', 'webgpu'])).toEqual(['cpu']);
    expect(executionProvidersFor(['WebGpuExecutionProvider'], ['cpu', 'webgpu'])).toEqual([
      'webgpu',
      'cpu',
    ]);
  });
});

describe('onnx flavor in worker threads', () => {
  it('defaults intra_op_num_threads to 1 inside a worker thread, not on the main thread', async () => {
    const pkg = fresh('sklearn-threads');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    const main = await loadModel(pkg, { warn: () => undefined });
    expect(main.context.modelConfig['intra_op_num_threads']).toBeUndefined();
    // The compiled loader (dist/, built before the tests) loaded in a real worker thread.
    const loader = new URL('../../dist/package/load-model.js', import.meta.url).href;
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.loader)
         .then((m) => m.loadModel(workerData.pkg, { warn: () => undefined }))
         .then((model) => parentPort.postMessage({ ...model.context.modelConfig }))
         .catch((e) => parentPort.postMessage({ error: String(e) }));`,
      { eval: true, workerData: { loader, pkg } }
    );
    const config = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(config).toMatchObject({ intra_op_num_threads: 1 });
  });

  it('scores the sklearn package through sparkUdf with result type long', async () => {
    const pkg = fresh('sklearn-udf');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    const rows = Array.from({ length: 64 }, (_, i) =>
      IRIS[i % IRIS.length]!.map((v, j) => v + ((i * (j + 1)) % 5) * 0.1)
    );
    const udf = await sparkUdf(pkg, {
      resultType: 'long',
      workers: 2,
      batchSize: 16,
      warn: () => undefined,
    });
    try {
      // The inferred signature is one unnamed (-1, 4) tensor: the four feature columns are
      // stacked into it, in the order given.
      const columns = new Table(
        Object.fromEntries([
          ['id', makeVector(Int32Array.from(rows, (_, i) => i))],
          ...FEATURES.map((f, j) => [f, makeVector(Float32Array.from(rows, (r) => r[j]!))]),
        ])
      );
      const result = await udf.apply(columns, FEATURES);
      const expected = await directLabels(rows);
      expect(Array.from(result as Iterable<bigint>)).toEqual(expected);
      // One FixedSizeList column holding the rows feeds the same tensor.
      const child = makeData({
        type: new Float32(),
        length: rows.length * 4,
        data: Float32Array.from(rows.flat()),
      });
      const features = makeData({
        type: new FixedSizeList(4, new Field('item', new Float32(), false)),
        length: rows.length,
        child,
      });
      const asList = await udf.apply(new Table({ features: new Vector([features]) }), ['features']);
      expect(Array.from(asList as Iterable<bigint>)).toEqual(expected);
    } finally {
      await udf.close();
    }
  });
});
