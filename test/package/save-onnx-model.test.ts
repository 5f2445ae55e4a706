// saveOnnxModel: MLflow's mlflow.onnx layout, read back with a YAML parser (not our reader) so
// the file is checked the way MLflow's PyYAML would see it.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadModel } from '../../src/package/load-model.js';
import { readMLmodel } from '../../src/package/mlmodel.js';
import { readOnnxHeader, saveOnnxModel } from '../../src/package/save-onnx-model.js';
import type { ModelSignature } from '../../src/signature/types.js';
import { rejectionOf } from '../util/model-error.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'onnx');
const SKLEARN = join(fixtures, 'sklearn_model.onnx');
const TF32 = join(fixtures, 'tf_model_multiple_inputs_float32.onnx');

let dir: string;
let seq = 0;
const fresh = (name: string) => join(dir, `${name}-${seq++}`);

/** Encodes a protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const bytesField = (field: number, body: number[]) => [
  ...varint(field * 8 + 2),
  ...varint(body.length),
  ...body,
];
const text = (s: string) => [...new TextEncoder().encode(s)];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-save-onnx-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('saveOnnxModel', () => {
  it('writes the files and both flavors as mlflow.onnx.save_model does', async () => {
    const pkg = fresh('sklearn');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    expect(readdirSync(pkg).sort()).toEqual(
      [
        'MLmodel',
        'conda.yaml',
        'js_env.json',
        'model.onnx',
        'python_env.yaml',
        'requirements.txt',
      ].sort()
    );
    expect(readFileSync(join(pkg, 'model.onnx'))).toEqual(readFileSync(SKLEARN));
    const mlmodel = parse(readFileSync(join(pkg, 'MLmodel'), 'utf8'), { version: '1.1' }) as Record<
      string,
      any
    >;
    expect(mlmodel['flavors']['python_function']).toEqual({
      loader_module: 'mlflow.onnx',
      data: 'model.onnx',
      env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
      python_version: '3.10',
    });
    const onnx = mlmodel['flavors']['onnx'];
    expect(onnx).toMatchObject({
      data: 'model.onnx',
      providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
      code: null,
      onnx_session_options: null,
      onnx_version: 'unknown',
    });
    expect(mlmodel['model_uuid']).toMatch(/^[0-9a-f]{32}$/);
    expect(mlmodel['utc_time_created']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
    expect(mlmodel['model_size_bytes']).toBe(
      readFileSync(SKLEARN).length + readFileSync(join(pkg, 'js_env.json')).length
    );

    const conda = parse(readFileSync(join(pkg, 'conda.yaml'), 'utf8')) as Record<string, any>;
    expect(conda).toEqual({
      channels: ['conda-forge'],
      dependencies: ['python=3.10', 'pip', { pip: ['mlflow', 'onnx', 'onnxruntime'] }],
      name: 'mlflow-env',
    });
    const pyenv = parse(readFileSync(join(pkg, 'python_env.yaml'), 'utf8')) as Record<string, any>;
    expect(pyenv).toEqual({
      python: '3.10',
      build_dependencies: ['pip', 'setuptools', 'wheel'],
      dependencies: ['-r requirements.txt'],
    });
    expect(readFileSync(join(pkg, 'requirements.txt'), 'utf8').split('\n')).toEqual([
      'mlflow',
      'onnx',
      'onnxruntime',
    ]);
  });

  it('records the IR version, opset and producer the file carries', async () => {
    const pkg = fresh('header');
    await saveOnnxModel(pkg, { onnxModel: SKLEARN });
    const onnx = (await readMLmodel(pkg)).flavors['onnx']!;
    const header = readOnnxHeader(readFileSync(SKLEARN));
    expect(onnx).toMatchObject({
      ir_version: header.irVersion,
      opset_version: header.opsetVersion,
      producer: header.producer,
    });
    expect(header.opsetVersion).toBeGreaterThan(0);
    expect(header.irVersion).toBeGreaterThan(0);
    expect(header.producer).toMatch(/skl2onnx/);
  });

  it('infers the signature from the session metadata', async () => {
    const pkg = fresh('tf');
    const meta = await saveOnnxModel(pkg, { onnxModel: TF32 });
    const session = await ort.InferenceSession.create(TF32);
    try {
      const expected = session.inputMetadata.map((m) => ({
        kind: 'tensor',
        name: m.name,
        dtype: 'float32',
        shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' ? d : -1)) : [],
      }));
      expect(meta.signature?.inputs).toEqual(expected);
      expect((await readMLmodel(pkg)).signature?.inputs).toEqual(expected);
      expect(meta.signature?.outputs).toEqual([
        { kind: 'tensor', name: 'output:0', dtype: 'float32', shape: [10] },
      ]);
    } finally {
      await session.release();
    }
  });

  it('keeps a given signature, writes none for null, and saves an input example', async () => {
    const sig: ModelSignature = {
      inputs: [{ kind: 'tensor', dtype: 'float32', shape: [-1, 4] }],
      outputs: null,
      params: null,
    };
    const a = fresh('given');
    expect(
      (
        await saveOnnxModel(a, {
          onnxModel: SKLEARN,
          signature: sig,
          inputExample: [[5.1, 3.5, 1.4, 0.2]],
        })
      ).signature
    ).toEqual(sig);
    expect((await readMLmodel(a)).signature).toEqual(sig);
    expect(existsSync(join(a, 'input_example.json'))).toBe(true);
    expect((await readMLmodel(a)).savedInputExampleInfo?.artifact_path).toBe('input_example.json');
    const b = fresh('none');
    await saveOnnxModel(b, { onnxModel: SKLEARN, signature: null });
    expect((await readMLmodel(b)).signature).toBeNull();
    expect(readFileSync(join(b, 'MLmodel'), 'utf8')).not.toContain('signature');
  });

  it('records modelConfig as onnx_session_options, which loading applies', async () => {
    const pkg = fresh('options');
    await saveOnnxModel(pkg, {
      onnxModel: SKLEARN,
      modelConfig: { intra_op_num_threads: 1, execution_mode: 'sequential' },
      providers: ['CPUExecutionProvider'],
      metadata: { owner: 'team-a' },
    });
    const meta = await readMLmodel(pkg);
    expect(meta.flavors['onnx']!['onnx_session_options']).toEqual({
      intra_op_num_threads: 1,
      execution_mode: 'sequential',
    });
    expect(meta.flavors['onnx']!['providers']).toEqual(['CPUExecutionProvider']);
    expect(meta.metadata).toEqual({ owner: 'team-a' });
    const model = await loadModel(pkg, { warn: () => undefined });
    expect(model.context.modelConfig).toMatchObject({
      intra_op_num_threads: 1,
      execution_mode: 'sequential',
    });
  });

  it('rejects bad options, a missing file, a non-empty target and a corrupt model without writing', async () => {
    expect(
      (
        await rejectionOf(
          saveOnnxModel(fresh('x'), { onnxModel: SKLEARN, modelConfig: { threads: 2 } })
        )
      ).code
    ).toBe('E_OPTION_INVALID');
    expect(
      (await rejectionOf(saveOnnxModel(fresh('x'), { onnxModel: SKLEARN, pythonVersion: 'three' })))
        .code
    ).toBe('E_OPTION_INVALID');
    const missing = await rejectionOf(
      saveOnnxModel(fresh('x'), { onnxModel: join(dir, 'nope.onnx') })
    );
    expect(missing.code).toBe('E_ARTIFACT_MISSING');
    expect(missing.message).toContain('nope.onnx');

    const full = fresh('full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'x');
    expect((await rejectionOf(saveOnnxModel(full, { onnxModel: SKLEARN }))).code).toBe(
      'E_TARGET_NOT_EMPTY'
    );
    expect(readdirSync(full)).toEqual(['keep.txt']);

    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.from('definitely not onnx'));
    const target = fresh('corrupt');
    expect((await rejectionOf(saveOnnxModel(target, { onnxModel: corrupt }))).code).toBe(
      'E_MODEL_LOAD'
    );
    expect(existsSync(target)).toBe(false);
  });
});

describe('readOnnxHeader', () => {
  it('reads ir_version, the default-domain opset and the producer of a hand-built ModelProto', () => {
    const opset = (domain: string, version: number) =>
      bytesField(8, [
        ...(domain ? bytesField(1, text(domain)) : []),
        ...varint(2 * 8),
        ...varint(version),
      ]);
    const bytes = Uint8Array.from([
      ...varint(1 * 8),
      ...varint(7),
      ...bytesField(2, text('tool')),
      ...bytesField(3, text('1.2')),
      ...bytesField(7, [1, 2, 3, 4, 5]), // graph: skipped, not decoded
      ...opset('ai.onnx.ml', 1),
      ...opset('', 13),
    ]);
    expect(readOnnxHeader(bytes)).toEqual({ irVersion: 7, opsetVersion: 13, producer: 'tool 1.2' });
    expect(readOnnxHeader(Uint8Array.from([0xff]))).toEqual({
      irVersion: null,
      opsetVersion: null,
      producer: null,
    });
  });
});
