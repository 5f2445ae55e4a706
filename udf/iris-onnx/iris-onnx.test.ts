/**
 * The iris-onnx example packaged through its spec (in-process with saveOnnxModel, and with
 * `node udf/package.mjs iris-onnx`), loaded with loadModel, and checked against onnxruntime's
 * InferenceSession run directly on the same rows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromArrays } from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { saveOnnxModel } from '../../src/package/save-onnx-model.js';
import * as spec from './spec.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jsfunc-udf-iris-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { warn: () => {} };

/** Iris rows (index in the data set: 0, 1, 50, 70, 83, 100, 119, 133), near-boundary ones included. */
const irisRows: number[][] = [
  [5.1, 3.5, 1.4, 0.2],
  [4.9, 3.0, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [5.9, 3.2, 4.8, 1.8],
  [6.0, 2.7, 5.1, 1.6],
  [6.3, 3.3, 6.0, 2.5],
  [6.0, 2.2, 5.0, 1.5],
  [6.3, 2.8, 5.1, 1.5],
];
const asRecords = (rows: number[][]) =>
  rows.map((r) => Object.fromEntries(spec.features.map((f, j) => [f, r[j]!])));

/** Labels from onnxruntime directly: the rows as one float32 [N, 4] tensor. */
let sessionLabels: number[];
beforeAll(async () => {
  const session = await ort.InferenceSession.create(
    join(repoRoot, 'test/fixtures/onnx/sklearn_model.onnx')
  );
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
});

function labelsOf(result: unknown): number[] {
  const table = result as { getChild(name: string): { toArray(): ArrayLike<bigint> } | null };
  const column = table.getChild('output_label');
  expect(column).not.toBeNull();
  return Array.from(column!.toArray(), Number);
}

describe('udf/iris-onnx', () => {
  it('packages with the named-column signature and scores like the bare session', async () => {
    const out = join(dir, 'in-process');
    const meta = await saveOnnxModel(out, spec.saveOptions());
    expect(Object.keys(meta.flavors).sort()).toEqual(['onnx', 'python_function']);
    // The rows cover all three classes, so equal labels are a real check.
    expect(new Set(sessionLabels).size).toBe(3);

    const info = await getModelInfo(out);
    expect(info.signature?.inputs?.map((c) => c.name)).toEqual(spec.features);
    expect(info.inputExample).toEqual({
      columns: spec.features,
      data: spec.saveOptions().inputExample.map((r) => spec.features.map((f) => r[f])),
    });

    const model = await loadModel(out, quiet);
    expect(labelsOf(await model.predict(asRecords(irisRows)))).toEqual(sessionLabels);
    // Columns are matched by name: a table with its columns in reverse order scores the same.
    const reversed = tableFromArrays(
      Object.fromEntries(
        [...spec.features]
          .reverse()
          .map((f) => [f, Float64Array.from(irisRows, (r) => r[spec.features.indexOf(f)]!)])
      )
    );
    expect(labelsOf(await model.predict(reversed))).toEqual(sessionLabels);
  });

  it('rejects a row without one of the four measurements, naming the column', async () => {
    const out = join(dir, 'missing-col');
    await saveOnnxModel(out, spec.saveOptions());
    const model = await loadModel(out, quiet);
    const rows = asRecords(irisRows.slice(0, 2)).map((r) => {
      const partial: Record<string, number> = { ...r };
      delete partial['petal_width'];
      return partial;
    });
    await expect(model.predict(rows)).rejects.toThrow(/petal_width/);
  });

  it('node udf/package.mjs iris-onnx packages it with saveOnnxModel', async () => {
    expect(
      existsSync(join(repoRoot, 'dist/package/save-onnx-model.js')),
      'run "npm run build" first: package.mjs imports dist/'
    ).toBe(true);
    const out = join(dir, 'script');
    const run = spawnSync(process.execPath, [join(repoRoot, 'udf/package.mjs'), 'iris-onnx', out], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^saved iris-onnx to /);
    const info = await getModelInfo(out);
    expect(Object.keys(info.flavors).sort()).toEqual(['onnx', 'python_function']);
    expect(info.metadata).toEqual(spec.saveOptions().metadata);
    const model = await loadModel(out, quiet);
    expect(labelsOf(await model.predict(asRecords(irisRows)))).toEqual(sessionLabels);
  });
});
