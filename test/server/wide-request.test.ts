// Issue 8, item 3b: a request with very many columns must cost time linear in its size.
// apache-arrow's RecordBatch constructor runs Schema.assign (a findIndex per field): one row
// with 100,000 extra columns blocked `serve` for 7.8 s, 40,000 for about 8 s on the test
// machine. The batch is now built once (adapters/record-batch.ts), on the request path of
// /invocations (mlflow-json) and of predict with plain objects (toTable).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Field,
  Float64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBatchOf, tableOfVectors } from '../../src/adapters/record-batch.js';
import { loadModel } from '../../src/package/load-model.js';
import type { LoadedModel } from '../../src/package/types.js';
import { createScoringApp } from '../../src/server/app.js';
import { writeModel } from '../pool/helpers.js';
import { bodyOf } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'jsfunc-wide-'));
let model: LoadedModel;
beforeAll(async () => {
  const dir = writeModel(
    join(root, 'sum'),
    `export default class Sum {
      predict(context, input) {
        return Float64Array.from(input.getChild('x').toArray(), (x) => x + input.numCols);
      }
    }`
  );
  model = await loadModel(dir, { warn: () => undefined });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** 60,000 columns: 10 to 27 s before (quadratic), about 1 to 2 s after on an idle machine. */
const WIDE = 60_000;
/**
 * The cause, counted: field comparisons `Schema.prototype.assign` may make (its `findIndex` per
 * field), summed over a request. Linear construction never asks it for WIDE x WIDE of them.
 */
let assignWork = 0;
const originalAssign = Schema.prototype.assign;
beforeAll(() => {
  Schema.prototype.assign = function (this: Schema, ...args: unknown[]) {
    const other =
      args[0] instanceof Schema ? args[0].fields : Array.isArray(args[0]) ? args[0] : args;
    assignWork += this.fields.length * (other as unknown[]).length;
    return (originalAssign as (...a: unknown[]) => Schema).apply(this, args);
  } as typeof Schema.prototype.assign;
});
afterAll(() => {
  Schema.prototype.assign = originalAssign;
});

function wideColumns(): Record<string, number[]> {
  const cols: Record<string, number[]> = { x: [1] };
  for (let i = 0; i < WIDE; i++) cols[`c${i}`] = [i];
  return cols;
}

describe('requests with very many columns', () => {
  it.each(['inputs', 'dataframe_records', 'dataframe_split'])(
    `POST /invocations (%s) with ${WIDE} extra columns builds its batch in linear work`,
    async (form) => {
      const cols = wideColumns();
      const row = Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v[0]]));
      const body =
        form === 'inputs'
          ? { inputs: cols }
          : form === 'dataframe_records'
            ? { dataframe_records: [row] }
            : { dataframe_split: { columns: Object.keys(row), data: [Object.values(row)] } };
      const app = createScoringApp(model, { warn: () => undefined, log: () => undefined });
      assignWork = 0;
      const res = await app.handle({
        method: 'POST',
        url: '/invocations',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      // Extra columns are dropped before the model sees the input: one column left.
      expect(bodyOf(res)).toEqual({ predictions: [2] });
      expect(assignWork).toBeLessThan(10 * WIDE);
    }
  );

  it(`predict with a plain object of ${WIDE} extra columns builds its table in linear work`, async () => {
    assignWork = 0;
    const out = (await model.predict(wideColumns(), undefined, { warn: () => undefined })) as
      Float64Array | number[];
    expect(Array.from(out)).toEqual([2]);
    expect(assignWork).toBeLessThan(10 * WIDE);
  });
});

describe('recordBatchOf / tableOfVectors', () => {
  it('builds what the RecordBatch constructor builds', () => {
    const fields = [new Field('a', new Float64(), true), new Field('b', new Utf8(), false)];
    const children = [
      vectorFromArray([1, 2, null], new Float64()).data[0]!,
      vectorFromArray(['x', 'y', 'z'], new Utf8()).data[0]!,
    ];
    const fast = recordBatchOf(fields, children, 3);
    const slow = new RecordBatch(
      new Schema(fields),
      makeData({ type: new Struct(fields), length: 3, nullCount: 0, children })
    );
    expect(fast.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual(
      slow.schema.fields.map((f) => [f.name, String(f.type), f.nullable])
    );
    expect(fast.numRows).toBe(3);
    expect(fast.numCols).toBe(2);
    expect(fast.toArray().map((r) => r.toJSON())).toEqual(slow.toArray().map((r) => r.toJSON()));
    expect(fast.getChild('b')?.toArray()).toEqual(['x', 'y', 'z']);
    // Slicing and selecting (which re-run the constructor) still work on it.
    expect(fast.slice(1).getChild('a')?.toArray()).toEqual(slow.slice(1).getChild('a')?.toArray());
    expect(fast.select(['b']).numCols).toBe(1);
  });

  it('falls back to the constructor (which pads) when a child is shorter', () => {
    const fields = [new Field('a', new Float64(), true)];
    const short = vectorFromArray([1], new Float64()).data[0]!;
    const batch = recordBatchOf(fields, [short], 2);
    expect(batch.numRows).toBe(2);
    expect(batch.getChild('a')?.toArray()).toHaveLength(2);
  });

  it('tableOfVectors keeps names, order and types, and handles chunked vectors', () => {
    const a = vectorFromArray([1, 2], new Float64());
    const b = vectorFromArray(['p', 'q'], new Utf8());
    const t = tableOfVectors(['b', 'a'], [b, a]);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['b', 'a']);
    expect(t.getChild('a')?.toArray()).toEqual(Float64Array.from([1, 2]));
    const chunked = vectorFromArray([1], new Float64()).concat(vectorFromArray([2], new Float64()));
    const t2 = tableOfVectors(['c', 'b'], [chunked, b]);
    expect(t2.numRows).toBe(2);
    expect([...t2.getChild('c')!]).toEqual([1, 2]);
  });
});
