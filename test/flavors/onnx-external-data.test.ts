// The onnx flavor with ONNX external data (weights in a file next to model.onnx, which MLflow's
// `mlflow.onnx.save_model` writes by default): sessions are created from the model's path, so
// onnxruntime finds the weights file and memory-maps it (one copy in the page cache for every
// session of the process; benchmarks/memory.mjs measures it). Releasing the model releases its
// session.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, type Float32, type Table, type Vector } from 'apache-arrow';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxModel } from '../../src/flavors/onnx.js';
import { loadModel } from '../../src/package/load-model.js';
import { ONNX_EXTERNAL_DATA_FILE, saveOnnxModel } from '../../src/package/save-onnx-model.js';
import { externalizeInitializers } from '../../src/package/onnx-external-data.js';
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

describe('saveOnnxModel({ externalData: true })', () => {
  const rows = 256;
  const dims = 8; // 8 KiB of weights: above the 1 KiB threshold

  it('moves the weights to model.onnx.data; the package scores as the embedded one', async () => {
    const source = join(dir, 'embedded-large.onnx');
    writeGatherModel({ out: source, rows, dims });
    const embedded = join(dir, 'pkg-embedded');
    const external = join(dir, 'pkg-external');
    await saveOnnxModel(embedded, { onnxModel: source, signature: null });
    await saveOnnxModel(external, { onnxModel: source, signature: null, externalData: true });
    expect(readdirSync(embedded)).not.toContain(ONNX_EXTERNAL_DATA_FILE);
    expect(readdirSync(external)).toContain(ONNX_EXTERNAL_DATA_FILE);
    expect(statSync(join(external, 'model.onnx')).size).toBeLessThan(400);
    const data = readFileSync(join(external, ONNX_EXTERNAL_DATA_FILE));
    expect(data.length).toBe(rows * dims * 4);
    expect(
      new Float32Array(data.buffer, data.byteOffset, rows * dims).every(
        (v, i) => v === gatherWeights(rows, dims)[i]
      )
    ).toBe(true);
    const ids = tableFromArrays({ ids: BigInt64Array.from([0n, 7n, 255n, 7n]) });
    const score = async (pkg: string) => {
      const model = await loadModel(pkg, { warn: () => undefined });
      const y = ((await model.predict(ids)) as Table).getChild('Y')!;
      await model.release();
      return Array.from({ length: y.length }, (_, i) =>
        Array.from((y.get(i) as Vector<Float32>).toArray())
      );
    };
    expect(await score(external)).toEqual(await score(embedded));
  });

  it('copies a model whose initializers are all small as it is', async () => {
    const source = join(dir, 'embedded-small.onnx');
    writeGatherModel({ out: source, rows: 4, dims: 4 }); // 64 bytes
    expect(externalizeInitializers(readFileSync(source), 'x.data')).toBeNull();
    const pkg = join(dir, 'pkg-small');
    await saveOnnxModel(pkg, { onnxModel: source, signature: null, externalData: true });
    expect(readdirSync(pkg)).not.toContain(ONNX_EXTERNAL_DATA_FILE);
    expect(readFileSync(join(pkg, 'model.onnx')).equals(readFileSync(source))).toBe(true);
  });

  it('rejects a non-boolean option and a malformed model with coded errors', async () => {
    const source = join(dir, 'embedded-small.onnx');
    await expect(
      saveOnnxModel(join(dir, 'pkg-bad-option'), {
        onnxModel: source,
        externalData: 'yes' as unknown as boolean,
      })
    ).rejects.toMatchObject({ code: 'E_OPTION_INVALID', details: { option: 'externalData' } });
    expect(() => externalizeInitializers(Uint8Array.from([0x3a, 0x05, 0x01]), 'x')).toThrow(
      expect.objectContaining({ code: 'E_MODEL_LOAD' }) as unknown as Error
    );
  });
});
