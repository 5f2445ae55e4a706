// arquero tables in, arquero tables out: zero-copy reads, types and values both ways, and the
// UDF path through real worker threads (composed as spark-udf.ts calls frames.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { type Table, tableFromArrays, tableToIPC, type Vector } from 'apache-arrow';
import {
  arqueroFromBatch,
  arqueroToTable,
  isArqueroTable,
  type ArqueroTable,
} from '../../src/adapters/arquero.js';
import { frameToTable, toArrowInput, toBatchSource } from '../../src/adapters/frames.js';
import { isArrowTableLike } from '../../src/adapters/arrow-guards.js';
import { loadModel } from '../../src/package/load-model.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { sparkUdf, type SparkUdf } from '../../src/udf/spark-udf.js';
import { tempDirs } from '../util/temp-dir.js';
import { rejectionOf } from '../util/model-error.js';
import { linearModel } from './frame-fixtures.js';

const dirs = tempDirs();
let pool: ModelPool;
let udf: SparkUdf;
let modelDir: string;

beforeAll(async () => {
  modelDir = linearModel(dirs.make('jsfunc-arquero-'));
  pool = createPool({ workers: 1 });
  udf = await sparkUdf(modelDir, { pool, warn: () => undefined, batchSize: 2 });
});

afterAll(async () => {
  await udf.close();
  await pool.close();
  dirs.cleanup();
});

const values = (t: Table, name: string) => [...t.getChild(name)!];

describe('arquero -> Arrow', () => {
  it('recognises arquero tables by shape, and nothing else as one', () => {
    const dt = aq.table({ a: [1] });
    expect(isArqueroTable(dt)).toBe(true);
    expect(isArqueroTable(tableFromArrays({ a: [1] }))).toBe(false);
    expect(isArqueroTable({ numRows: () => 1 })).toBe(false);
    // An arquero table must not pass for an Arrow table (toTable checks Arrow first).
    expect(isArrowTableLike(dt)).toBe(false);
    // Compile-time: arquero's ColumnTable satisfies jsfunc's structural type.
    const typed: ArqueroTable = dt;
    expect(typed.numRows()).toBe(1);
  });

  it('wraps typed-array columns without copying', () => {
    const x = new Float64Array([1.5, NaN, 3]);
    const n = new Int32Array([1, 2, 3]);
    const big = new BigInt64Array([1n, 2n, 3n]);
    const t = arqueroToTable(aq.table({ x, n, big }));
    expect(t.schema.fields.map((f) => String(f.type))).toEqual(['Float64', 'Int32', 'Int64']);
    expect(t.getChild('x')!.data[0]!.values).toBe(x);
    expect(t.getChild('n')!.data[0]!.values).toBe(n);
    // NaN is a value in arquero (typed arrays hold no nulls).
    expect(t.getChild('x')!.nullCount).toBe(0);
    expect(Number.isNaN(t.getChild('x')!.get(1))).toBe(true);
    expect(values(t, 'big')).toEqual([1n, 2n, 3n]);
  });

  it('wraps the columns of aq.fromArrow(bytes) (flechette) and of aq.fromArrow(arrow-js) without copying', () => {
    const source = tableFromArrays({ x: new Float64Array([1, 2]), s: ['p', 'q'] });
    const viaBytes = aq.fromArrow(tableToIPC(source));
    const flechette = viaBytes.column('x') as unknown as { data: { values: Float64Array }[] };
    const t = arqueroToTable(viaBytes);
    expect(t.getChild('x')!.data[0]!.values).toBe(flechette.data[0]!.values);
    expect(values(t, 's')).toEqual(['p', 'q']);
    const viaArrowJs = arqueroToTable(aq.fromArrow(source as never));
    expect(viaArrowJs.getChild('x')!.data[0]!.values).toBe(source.getChild('x')!.data[0]!.values);
  });

  it('converts ints, floats, strings, booleans, dates, timestamps and nulls with their types', () => {
    const day = new Date(Date.UTC(2020, 0, 2));
    const instant = new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6));
    const dt = aq.table({
      i: [1, null, -3],
      f: [1.5, 2, null],
      s: ['a', null, 'ccccccccccccccccccc'],
      b: [true, false, null],
      d: [day, null, day],
      ts: [instant, day, null],
      big: [2 ** 40, 1, null],
    });
    const t = arqueroToTable(dt);
    expect(Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]))).toEqual({
      i: 'Int8',
      f: 'Float64',
      s: 'Dictionary<Int32, Utf8>',
      b: 'Bool',
      d: 'Date32<DAY>',
      ts: 'Timestamp<MILLISECOND>',
      big: 'Float64',
    });
    expect(values(t, 'i')).toEqual([1, null, -3]);
    expect(values(t, 'f')).toEqual([1.5, 2, null]);
    expect(values(t, 's')).toEqual(['a', null, 'ccccccccccccccccccc']);
    expect(values(t, 'b')).toEqual([true, false, null]);
    expect(values(t, 'd')).toEqual([day.getTime(), null, day.getTime()]);
    expect(values(t, 'ts')).toEqual([instant.getTime(), day.getTime(), null]);
    expect(values(t, 'big')).toEqual([2 ** 40, 1, null]);
  });

  it('reads only the visible rows of a filtered, ordered table, in order', () => {
    const dt = aq.table({ x: new Float64Array([3, 1, 2, 5]), s: ['c', 'a', 'b', 'e'] });
    const view = dt.filter((d: { x: number }) => d.x < 5).orderby('x');
    const t = arqueroToTable(view);
    expect(values(t, 'x')).toEqual([1, 2, 3]);
    expect(values(t, 's')).toEqual(['a', 'b', 'c']);
  });

  it('fails with E_INPUT_INVALID naming the column when arquero cannot encode it', () => {
    let error: unknown;
    try {
      arqueroToTable(aq.table({ ok: [1, 2], mixed: [1, 'a'] }));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'E_INPUT_INVALID', details: { columns: ['mixed'] } });
  });
});

describe('Arrow -> arquero', () => {
  it('turns a batch back into an arquero table of the same class, values and nulls intact', () => {
    const like = aq.table({ a: [0] });
    const day = new Date(Date.UTC(2021, 5, 6));
    const source = aq.table({
      f: new Float64Array([1.25, -2]),
      i: [1, null],
      s: ['x', null],
      b: [null, true],
      d: [day, null],
      n: [2 ** 40, null],
    });
    const batch = arqueroToTable(source).batches[0]!;
    const back = arqueroFromBatch(like, batch) as ColumnTable;
    expect(back).toBeInstanceOf(like.constructor);
    expect(back.objects()).toEqual([
      { f: 1.25, i: 1, s: 'x', b: null, d: day, n: 2 ** 40 },
      { f: -2, i: null, s: null, b: true, d: null, n: null },
    ]);
    expect(back.column('f')).toBeInstanceOf(Float64Array);
  });
});

/** `apply` as spark-udf.ts composes it with frames.ts. */
async function apply(frame: object): Promise<object> {
  const input = toArrowInput(frame)!;
  return input.fromVector((await udf.apply(input.table)) as Vector);
}

/** `withColumn` as spark-udf.ts composes it with frames.ts. */
async function withColumn(frame: object, name: string): Promise<object> {
  const input = toArrowInput(frame)!;
  return input.withColumn(name, (await udf.apply(input.table)) as Vector);
}

describe('arquero through sparkUdf and loadModel', () => {
  const frame = () =>
    aq.table({ a: new Float64Array([1, 2, 3]), b: [10, 20, null], tag: ['p', 'q', 'r'] });

  it('apply returns a one-column arquero table of the same class', async () => {
    const dt = frame();
    const out = (await apply(dt)) as ColumnTable;
    expect(out).toBeInstanceOf(dt.constructor);
    expect(out.columnNames()).toEqual(['prediction']);
    // One contiguous typed array (the worker's result decodes as a plain Float type).
    expect(out.column('prediction')).toBeInstanceOf(Float64Array);
    expect(Array.from(out.column('prediction') as Float64Array)).toEqual([12, 24, NaN]);
    expect((dt.assign(out) as ColumnTable).columnNames()).toEqual(['a', 'b', 'tag', 'prediction']);
  });

  it('withColumn returns the input table plus the column, replacing one of the same name in place', async () => {
    const dt = frame();
    const out = (await withColumn(dt, 'score')) as ColumnTable;
    expect(out.columnNames()).toEqual(['a', 'b', 'tag', 'score']);
    expect(out.column('a')).toBe(dt.column('a'));
    const replaced = (await withColumn(dt, 'tag')) as ColumnTable;
    expect(replaced.columnNames()).toEqual(['a', 'b', 'tag']);
    expect(Array.from(replaced.column('tag') as Float64Array)).toEqual([12, 24, NaN]);
  });

  it('mapBatches yields arquero tables, one per scored batch, in order', async () => {
    const source = toBatchSource(frame())!;
    const out: ColumnTable[] = [];
    for await (const t of source.wrap(udf.mapBatches(source.batches))) out.push(t as ColumnTable);
    expect(out.length).toBe(2); // batchSize 2: 3 rows in two tasks
    expect(out.flatMap((t) => t.objects())).toEqual([
      { a: 1, b: 10, tag: 'p', prediction: 12 },
      { a: 2, b: 20, tag: 'q', prediction: 24 },
      { a: 3, b: null, tag: 'r', prediction: NaN },
    ]);
  });

  it('missing columns fail with the same E_SCHEMA_MISMATCH as Arrow input', async () => {
    const dt = aq.table({ a: new Float64Array([1]) });
    const viaFrame = await rejectionOf(apply(dt));
    const viaArrow = await rejectionOf(udf.apply(tableFromArrays({ a: new Float64Array([1]) })));
    expect(viaFrame.code).toBe('E_SCHEMA_MISMATCH');
    expect(viaFrame.message).toBe(viaArrow.message);
  });

  it('loadModel().predict scores the Arrow table frameToTable makes', async () => {
    const model = await loadModel(modelDir, { warn: () => undefined });
    const out = (await model.predict(frameToTable(frame())!)) as Float64Array;
    expect(Array.from(out)).toEqual([12, 24, NaN]);
  });
});
