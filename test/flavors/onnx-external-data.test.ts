// The onnx flavor with ONNX external data (weights in a file next to model.onnx, which MLflow's
// `mlflow.onnx.save_model` writes by default): sessions are created from the model's path, so
// onnxruntime finds the weights file and memory-maps it (one copy in the page cache for every
// session of the process; benchmarks/memory.mjs measures it). Releasing the model releases its
// session.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, type Float32, type Table, type Vector } from 'apache-arrow';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxModel } from '../../src/flavors/onnx.js';
import { loadModel } from '../../src/package/load-model.js';
import { saveOnnxModel } from '../../src/package/save-onnx-model.js';
import { gatherWeights, writeGatherModel } from '../../benchmarks/onnx-model.mjs';

const ROWS = 64;
const DIMS = 4;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-onnx-external-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A package whose model.onnx keeps its weights in `weights.bin` beside it. */
async function externalPackage(): Promise<string> {
  const embedded = join(dir, 'embedded.onnx');
  writeGatherModel({ out: embedded, rows: ROWS, dims: DIMS });
  const pkg = join(dir, 'pkg');
  await saveOnnxModel(pkg, { onnxModel: embedded, signature: null });
  // Replace the model by its external-data form (as onnx.save_model(save_as_external_data=True)).
  const { modelBytes } = writeGatherModel({
    out: join(pkg, 'model.onnx'),
    rows: ROWS,
    dims: DIMS,
    externalData: join(pkg, 'weights.bin'),
  });
  expect(modelBytes).toBeLessThan(200);
  return pkg;
}

describe('onnx flavor: external data', () => {
  it('loads weights kept in a file next to model.onnx and scores with them', async () => {
    const pkg = await externalPackage();
    const model = await loadModel(pkg, { warn: () => undefined });
    const ids = [0, 5, 63];
    const out = (await model.predict(
      tableFromArrays({ ids: BigInt64Array.from(ids, (i) => BigInt(i)) })
    )) as Table;
    const y = out.getChild('Y')!;
    const w = gatherWeights(ROWS, DIMS);
    ids.forEach((id, row) => {
      expect(Array.from((y.get(row) as Vector<Float32>).toArray())).toEqual(
        Array.from(w.subarray(id * DIMS, (id + 1) * DIMS))
      );
    });
    await model.release();
  });

  it('release() releases the session (later runs fail; a second release is a no-op)', async () => {
    const pkg = join(dir, 'pkg');
    const model = await loadModel(pkg, { warn: () => undefined });
    const session = model.unwrap<OnnxModel>().session;
    await model.release();
    await model.release();
    await expect(session.run({ ids: new Tensor('int64', [1n], [1]) })).rejects.toThrow();
  });

  it('names a missing weights file in the load error', async () => {
    const pkg = join(dir, 'pkg');
    rmSync(join(pkg, 'weights.bin'));
    await expect(loadModel(pkg, { warn: () => undefined })).rejects.toMatchObject({
      code: 'E_MODEL_LOAD',
      message: expect.stringMatching(/weights\.bin/) as unknown,
    });
  });
});
