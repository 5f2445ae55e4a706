import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeVector, Table, tableFromArrays, vectorFromArray, Float64 } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import LinearModel, { parseLinearWeights } from './model.js';
import { features } from './spec.mjs';

const weightsPath = fileURLToPath(new URL('./weights.json', import.meta.url));
const saved = JSON.parse(readFileSync(weightsPath, 'utf8')) as { weights: number[]; bias: number };

function rows(n: number): number[][] {
  return Array.from({ length: n }, (_, r) => features.map((_, f) => ((r + 1) * (f - 4)) / 7));
}

function toTable(data: number[][]): Table {
  const cols: Record<string, Float64Array> = {};
  features.forEach((f, j) => (cols[f] = Float64Array.from(data, (row) => row[j]!)));
  return tableFromArrays(cols);
}

/** Row-at-a-time reference: sum of w_j * x_j plus b. */
function reference(row: number[]): number {
  return row.reduce((acc, x, j) => acc + saved.weights[j]! * x, saved.bias);
}

async function load(modelConfig: Record<string, unknown> = { scale: 1, loadLogPath: '' }) {
  const model = new LinearModel();
  const context = { artifacts: { weights: weightsPath }, modelConfig };
  await model.loadContext(context);
  return { model, context };
}

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('udf/linear', () => {
  it('computes w·x + b per row', async () => {
    const { model, context } = await load();
    const data = rows(5);
    const out = model.predict(context, toTable(data));
    expect(out).toBeInstanceOf(Float64Array);
    expect(Array.from(out)).toEqual(data.map((r) => expect.closeTo(reference(r), 12)));
  });

  it('multiplies by modelConfig.scale', async () => {
    const { model, context } = await load({ scale: -2.5, loadLogPath: '' });
    const data = rows(3);
    expect(Array.from(model.predict(context, toTable(data)))).toEqual(
      data.map((r) => expect.closeTo(-2.5 * reference(r), 12))
    );
  });

  it('reads multi-chunk tables and maps nulls to NaN', async () => {
    const { model, context } = await load();
    const data = rows(4);
    const table = toTable(data.slice(0, 2)).concat(toTable(data.slice(2)));
    expect(table.batches.length).toBe(2);
    expect(Array.from(model.predict(context, table))).toEqual(
      data.map((r) => expect.closeTo(reference(r), 12))
    );

    const cols: Record<string, ReturnType<typeof makeVector>> = {};
    for (const f of features) cols[f] = makeVector(Float64Array.from([1, 2]));
    cols['x3'] = vectorFromArray([1, null], new Float64());
    const out = model.predict(context, new Table(cols));
    expect(out[0]).toBeCloseTo(reference(features.map(() => 1)), 12);
    expect(out[1]).toBeNaN();
  });

  it('predictMargin is the signed distance to the hyperplane', async () => {
    const { model, context } = await load({ scale: 10, loadLogPath: '' });
    const norm = Math.hypot(...saved.weights);
    const data = rows(3);
    expect(Array.from(model.predictMargin(context, toTable(data)))).toEqual(
      data.map((r) => expect.closeTo(reference(r) / norm, 12))
    );
  });

  it('names the missing column', async () => {
    const { model, context } = await load();
    const table = tableFromArrays({ x0: Float64Array.from([1]) });
    expect(() => model.predict(context, table)).toThrow(/column "x1" is missing/);
  });

  it('appends one load-log line per loadContext', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jsfunc-linear-'));
    tmpDirs.push(dir);
    const log = join(dir, 'loads.log');
    await load({ scale: 1, loadLogPath: log });
    await load({ scale: 1, loadLogPath: log });
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(new RegExp(`^${process.pid} \\d+ \\d+$`));
  });

  it('fails to load without the weights artifact or with a mismatched file', async () => {
    const model = new LinearModel();
    expect(() => model.loadContext({ artifacts: {}, modelConfig: {} })).toThrow(/"weights"/);
    expect(() => model.predict({ artifacts: {}, modelConfig: {} }, toTable(rows(1)))).toThrow(
      /before loadContext/
    );
    const bad = JSON.stringify({ features: ['x0', 'x1'], weights: [1], bias: 0 });
    expect(() => parseLinearWeights(bad, 'w.json')).toThrow(
      /w.json: expected one weight per feature \(2\); found 1/
    );
  });
});
