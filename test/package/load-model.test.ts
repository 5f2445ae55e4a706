import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { isArrowVector, tableFromArrays } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { saveModel } from '../../src/package/save-model.js';
import type { ModelSignature } from '../../src/signature/types.js';
import {
  ARROW_MODEL,
  BAD_EXPORTS,
  COUNTER_MODEL,
  FIXTURES,
  MLFLOW_MODELS,
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

interface Counter {
  loadCalls: number;
  predictCalls: number;
  seenParams: Record<string, unknown> | null;
}

let dir = '';
beforeAll(async () => {
  dir = join(tmp.make(), 'counter');
  await saveModel(dir, {
    model: COUNTER_MODEL,
    artifacts: { weights: WEIGHTS },
    signature,
    modelConfig: { scale: 2 },
    metadata: { team: 'risk' },
  });
});

describe('loadModel + predict', () => {
  it('enforces the signature and params, calls predict, never reloads', async () => {
    const model = await loadModel(dir, { warn: () => undefined });
    expect(model.path).toBe(dir);
    expect(model.signature).toEqual(signature);
    expect(model.metadata.metadata).toEqual({ team: 'risk' });
    expect(model.predictFn).toBe('predict');
    // Rows with an int column and an extra column: widened to double, extra dropped.
    expect(
      await model.predict([
        { x: 1, extra: 'a' },
        { x: 2, extra: 'b' },
      ])
    ).toEqual([20, 40]);
    expect(await model.predict({ x: [0.5] }, { k: 3 })).toEqual([10]);
    expect(await model.predict(tableFromArrays({ x: Float64Array.from([1]) }))).toEqual([20]);
    const inner = model.unwrap<Counter>();
    expect(inner.loadCalls).toBe(1);
    expect(inner.predictCalls).toBe(3);
    expect(inner.seenParams).toEqual({ k: 1 });
  });

  it('sends predict warnings to the per-call warn when given, else to the load-time one', async () => {
    const atLoad: string[] = [];
    const perCall: string[] = [];
    const model = await loadModel(dir, { warn: (m) => atLoad.push(m) });
    await model.predict([{ x: 1, extra: 'a' }], { unknown: 1 }, { warn: (m) => perCall.push(m) });
    expect(perCall.join('\n')).toMatch(/extra/);
    expect(perCall.join('\n')).toMatch(/unknown/);
    expect(atLoad).toEqual([]);
    await model.predict([{ x: 1, extra: 'a' }]);
    expect(atLoad.join('\n')).toMatch(/extra/);
  });

  it('applies modelConfig overrides and the predictFn override', async () => {
    const warnings: string[] = [];
    const model = await loadModel(dir, {
      modelConfig: { scale: 3, nope: 1 },
      predictFn: 'predictNegated',
      warn: (m) => warnings.push(m),
    });
    expect(model.context.modelConfig).toEqual({ scale: 3 });
    expect(warnings.some((w) => /nope/.test(w))).toBe(true);
    expect(await model.predict([{ x: 1 }])).toEqual([-30]);
  });

  it('rejects input that breaks the signature and invalid params', async () => {
    const model = await loadModel(dir, { warn: () => undefined });
    await expect(model.predict([{ y: 1 }])).rejects.toMatchObject({ code: 'E_SCHEMA_MISMATCH' });
    await expect(model.predict([{ x: 1 }], { k: 'many' })).rejects.toMatchObject({
      code: 'E_PARAMS_INVALID',
    });
    expect(model.unwrap<Counter>().predictCalls).toBe(0);
  });

  it('wraps a predict failure as E_MODEL_PREDICT keeping message, cause and stack', async () => {
    const failing = join(tmp.make(), 'fails');
    await saveModel(failing, { model: { path: BAD_EXPORTS, exportName: 'FailsToPredict' } });
    const model = await loadModel(failing);
    const error = (await model.predict([{ x: 1 }]).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({
      code: 'E_MODEL_PREDICT',
      message: expect.stringContaining('row 3 is bad'),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
    expect((error.cause as Error).stack).toContain(`file://${join(failing, 'code/model.cjs')}`);
    expect(error.stack).toContain('row 3 is bad');
  });

  it('passes a ModelError raised inside predict through unchanged', async () => {
    const root = tmp.make();
    const src = join(root, 'raises.mjs');
    // A model that raises a jsfunc error on purpose, as a flavor's own input check does. It is
    // recognised by shape (ModelError.is), so it need not import jsfunc.
    writeFileSync(
      src,
      `export default class Raises {
        predict() {
          const e = new Error('output column "y" is missing');
          e.name = 'ModelError';
          e.code = 'E_MODEL_OUTPUT';
          throw e;
        }
      }\n`
    );
    const pkg = join(root, 'raises');
    await saveModel(pkg, { model: { path: src } });
    const model = await loadModel(pkg);
    const error = (await model.predict([{ x: 1 }]).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({
      name: 'ModelError',
      code: 'E_MODEL_OUTPUT',
      message: 'output column "y" is missing',
    });
    expect(error.cause).toBeUndefined();
  });

  it('refuses an MLflow python_function package with E_FLAVOR_UNSUPPORTED', async () => {
    await expect(loadModel(join(MLFLOW_MODELS, 'pyfunc_2.8.1'))).rejects.toMatchObject({
      code: 'E_FLAVOR_UNSUPPORTED',
      message: expect.stringMatching(/\[python_function\].*jsfunc loads \[js_function, onnx\]/),
    });
  });
});

describe('environment check at load', () => {
  it('warns when the Node major or an external package version differs', async () => {
    const pkg = join(tmp.make(), 'drift');
    await saveModel(pkg, { model: ARROW_MODEL });
    const envFile = join(pkg, 'js_env.json');
    const env = JSON.parse(readFileSync(envFile, 'utf8')) as {
      node_version: string;
      external: Record<string, string>;
    };
    const quiet: string[] = [];
    await loadModel(pkg, { warn: (m) => quiet.push(m) });
    expect(quiet).toEqual([]);
    writeFileSync(
      envFile,
      JSON.stringify({ ...env, node_version: '12.0.0', external: { 'apache-arrow': '1.0.0' } })
    );
    const warnings: string[] = [];
    await loadModel(pkg, { warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/saved with Node 12\.0\.0 but is loaded with Node 20/);
    expect(warnings[1]).toMatch(
      new RegExp(
        `apache-arrow@1\\.0\\.0 but apache-arrow@${env.external['apache-arrow']} is loaded`
      )
    );
  });
});

describe('relocatability', () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it('loads from another cwd after the sources and artifacts are deleted and the package is moved', async () => {
    const src = tmp.make('jsfunc-src-');
    for (const f of ['counter-model.ts', 'helper.ts', 'arrow-model.ts', 'weights.json'])
      cpSync(join(FIXTURES, f), join(src, f));
    const saved = join(tmp.make(), 'pkg');
    await saveModel(saved, {
      model: join(src, 'counter-model.ts'),
      artifacts: { weights: join(src, 'weights.json') },
      modelConfig: { scale: 1 },
    });
    const savedArrow = join(tmp.make(), 'arrow-pkg');
    await saveModel(savedArrow, { model: join(src, 'arrow-model.ts') });
    rmSync(src, { recursive: true });

    const moved = join(tmp.make('jsfunc-moved-'), 'pkg');
    const movedArrow = join(tmp.make('jsfunc-moved-'), 'arrow');
    cpSync(saved, moved, { recursive: true });
    cpSync(savedArrow, movedArrow, { recursive: true });
    rmSync(saved, { recursive: true });
    rmSync(savedArrow, { recursive: true });
    process.chdir(tmp.make('jsfunc-cwd-'));

    const model = await loadModel(moved, { warn: () => undefined });
    expect(model.context.artifacts['weights']).toBe(join(moved, 'artifacts/weights/weights.json'));
    expect(await model.predict({ x: [1, 2] })).toEqual([10, 20]);

    // The moved package still imports apache-arrow: it resolves to jsfunc's own copy.
    const arrow = await loadModel(movedArrow, { warn: () => undefined });
    const out = await arrow.predict({ x: Float64Array.from([1, 2]) });
    expect(isArrowVector(out)).toBe(true);
    expect(Array.from((out as { toArray(): Float64Array }).toArray())).toEqual([2, 3]);
    expect(arrow.unwrap<{ sameArrow: boolean }>().sameArrow).toBe(true);
  });
});

describe('worker threads', () => {
  // Workers run compiled code: like the pool tests, this uses dist/ (the test command builds first).
  it("loads two models in a worker thread and predicts, sharing the worker's apache-arrow", async () => {
    const pkg = join(tmp.make(), 'arrow');
    await saveModel(pkg, { model: ARROW_MODEL });
    // Relative to this file, not process.cwd(): the relocatability tests chdir elsewhere.
    const loader = new URL('../../dist/package/load-model.js', import.meta.url).href;
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { loadModel } = await import(workerData.loader);
      const a = await loadModel(workerData.pkg, { warn: () => {} });
      const b = await loadModel(workerData.pkg, { warn: () => {} });
      const out = await a.predict({ x: [1, 2, 3] });
      parentPort.postMessage({ out: Array.from(out.toArray()), same: a.unwrap().sameArrow, distinct: a.unwrap() !== b.unwrap() });
    `;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
      workerData: { loader, pkg },
    });
    const result = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(result).toEqual({ out: [2, 3, 4], same: true, distinct: true });
  });
});
