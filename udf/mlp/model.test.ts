import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, type Vector, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWeights, makeWeights, type MlpWeights } from './generate-weights.mjs';
import MlpModel from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'jsfunc-mlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const defaultPath = join(dir, 'default.json');
const smallPath = join(dir, 'small.json');
generateWeights({ outPath: defaultPath });
generateWeights({ outPath: smallPath, hidden: [8, 4], seed: 3 });

/** Straightforward nested-array forward pass: h = act(W h + b) layer by layer. */
function reference(weights: MlpWeights, x: number[]): number {
  let h = x;
  for (const layer of weights.layers) {
    const W = Array.from({ length: layer.outputs }, (_, o) =>
      layer.weights.slice(o * layer.inputs, (o + 1) * layer.inputs)
    );
    h = W.map((row, o) => {
      const z = row.reduce((acc, w, i) => acc + w * h[i]!, layer.bias[o]!);
      return layer.activation === 'tanh' ? Math.tanh(z) : z;
    });
  }
  return h[0]!;
}

function inputs(n: number, features: string[]): number[][] {
  return Array.from({ length: n }, (_, r) =>
    features.map((_, f) => Math.sin(r * 13 + f * 7) * (1 + r / 3))
  );
}

function toTable(features: string[], data: number[][]): Table {
  const cols: Record<string, Float64Array> = {};
  features.forEach((f, j) => (cols[f] = Float64Array.from(data, (row) => row[j]!)));
  return tableFromArrays(cols);
}

function load(path: string, modelConfig: Record<string, unknown> = { loadLogPath: '' }) {
  const model = new MlpModel();
  const context = { artifacts: { weights: path }, modelConfig };
  model.loadContext(context);
  return { model, context };
}

describe('udf/mlp', () => {
  it('generates deterministic 10 -> 64 -> 64 -> 1 weights by default', () => {
    const { model } = load(defaultPath);
    expect(model.sizes).toEqual([10, 64, 64, 1]);
    expect(makeWeights()).toEqual(JSON.parse(readFileSync(defaultPath, 'utf8')));
    expect(makeWeights({ seed: 8 })).not.toEqual(makeWeights());
    expect(() => makeWeights({ hidden: [0] })).toThrow(/positive integers/);
  });

  it.each([
    ['default', defaultPath],
    ['small', smallPath],
  ])('matches a nested-array forward pass (%s weights)', (_label, path) => {
    const weights = JSON.parse(readFileSync(path, 'utf8')) as MlpWeights;
    const { model, context } = load(path);
    const data = inputs(6, weights.features);
    const out = model.predict(context, toTable(weights.features, data));
    expect(out).toBeInstanceOf(Float64Array);
    expect(Array.from(out)).toEqual(data.map((x) => expect.closeTo(reference(weights, x), 12)));
  });

  it('reads multi-chunk tables and gives NaN for null inputs', () => {
    const weights = JSON.parse(readFileSync(smallPath, 'utf8')) as MlpWeights;
    const { model, context } = load(smallPath);
    const data = inputs(5, weights.features);
    const chunked = toTable(weights.features, data.slice(0, 2)).concat(
      toTable(weights.features, data.slice(2))
    );
    expect(Array.from(model.predict(context, chunked))).toEqual(
      data.map((x) => expect.closeTo(reference(weights, x), 12))
    );
    const cols: Record<string, Vector<Float64>> = {};
    for (const f of weights.features) cols[f] = vectorFromArray([1, 2], new Float64());
    cols['x4'] = vectorFromArray([null, 2], new Float64());
    const out = model.predict(context, new Table(cols));
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeCloseTo(
      reference(
        weights,
        weights.features.map(() => 2)
      ),
      12
    );
  });

  it('rejects weights whose layers do not chain', () => {
    const weights = makeWeights({ hidden: [4] });
    weights.layers[1]!.inputs = 5;
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(weights));
    expect(() => load(bad)).toThrow(/layers\[1\]\.inputs must be 4; found 5/);
  });

  it('appends one load-log line per loadContext', () => {
    const log = join(dir, 'loads.log');
    load(smallPath, { loadLogPath: log });
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });
});
