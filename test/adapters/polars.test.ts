// Polars DataFrames and LazyFrames in, Polars out: typed-array and IPC reads, Polars' view types
// rewritten, LazyFrames streamed in slices, and the UDF path through real worker threads
// (composed as spark-udf.ts calls frames.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pl from 'nodejs-polars';
import {
  Float64,
  type Table,
  Utf8,
  makeVector,
  tableFromArrays,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { frameToTable, toArrowInput, toBatchSource } from '../../src/adapters/frames.js';
import { isArrowTableLike } from '../../src/adapters/arrow-guards.js';
import {
  isPolarsDataFrame,
  isPolarsLazyFrame,
  polarsBatches,
  polarsFromBatch,
  polarsSeriesOf,
  polarsToTable,
  polarsWithColumn,
  type PolarsDataFrame,
  type PolarsLazyFrame,
} from '../../src/adapters/polars.js';
import { loadModel } from '../../src/package/load-model.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { sparkUdf, type SparkUdf } from '../../src/udf/spark-udf.js';
import { errorOf, rejectionOf } from '../util/model-error.js';
import { tempDirs } from '../util/temp-dir.js';
import { linearModel } from './frame-fixtures.js';

const dirs = tempDirs();
let pool: ModelPool;
let udf: SparkUdf;
let modelDir: string;

beforeAll(async () => {
  modelDir = linearModel(dirs.make('jsfunc-polars-'));
  pool = createPool({ workers: 1 });
  udf = await sparkUdf(modelDir, { pool, warn: () => undefined, batchSize: 4 });
});

afterAll(async () => {
  await udf.close();
  await pool.close();
  dirs.cleanup();
});

const values = (t: Table, name: string) => [...t.getChild(name)!];
const types = (t: Table) =>
  Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]));

describe('Polars -> Arrow', () => {
  it('recognises DataFrames and LazyFrames by shape, and nothing else as one', () => {
    const df = pl.DataFrame({ a: [1] });
    expect([isPolarsDataFrame(df), isPolarsLazyFrame(df)]).toEqual([true, false]);
    expect([isPolarsDataFrame(df.lazy()), isPolarsLazyFrame(df.lazy())]).toEqual([false, true]);
    expect(isPolarsDataFrame(tableFromArrays({ a: [1] }))).toBe(false);
    expect(isArrowTableLike(df)).toBe(false);
    // Compile-time: nodejs-polars' classes satisfy jsfunc's structural types.
    const typed: PolarsDataFrame = df;
    const lazy: PolarsLazyFrame = df.lazy();
    expect([typed.height, typeof lazy.collect]).toEqual([1, 'function']);
  });

  it('reads numeric columns without nulls as typed arrays, the rest through IPC', () => {
    const df = pl
      .DataFrame({ f: [1.5, 2.5], n: [1, null] })
      .withColumns(
        pl.col('f').cast(pl.Int32).alias('i32'),
        pl.col('f').cast(pl.Int64).alias('i64'),
        pl.col('f').cast(pl.UInt8).alias('u8'),
        pl.col('f').cast(pl.Float32).alias('f32')
      );
    const t = polarsToTable(df);
    expect(types(t)).toEqual({
      f: 'Float64',
      n: 'Float64',
      i32: 'Int32',
      i64: 'Int64',
      u8: 'Uint8',
      f32: 'Float32',
    });
    expect(values(t, 'f')).toEqual([1.5, 2.5]);
    expect(values(t, 'n')).toEqual([1, null]);
    expect(values(t, 'i32')).toEqual([1, 2]);
    expect(values(t, 'i64')).toEqual([1n, 2n]);
    expect(values(t, 'u8')).toEqual([1, 2]);
  });

  it('converts strings, categoricals, booleans, dates, datetimes, lists and nulls, view types rewritten', () => {
    const long = 'a string well past twelve bytes ✓';
    const df = pl
      .DataFrame({
        s: ['x', null, long],
        b: [true, null, false],
        t: [new Date(Date.UTC(2020, 0, 2, 3, 4, 5)), null, new Date(0)],
        i: [1, 2, null],
      })
      .withColumns(
        pl.col('s').cast(pl.Categorical).alias('cat'),
        pl.col('t').cast(pl.Date).alias('day'),
        pl.col('i').cast(pl.Int64).alias('i64'),
        pl.concatList([pl.col('s'), pl.col('s')]).alias('pair')
      );
    const t = polarsToTable(df);
    expect(types(t)).toEqual({
      s: 'Utf8',
      b: 'Bool',
      t: 'Timestamp<MILLISECOND>',
      i: 'Float64',
      cat: 'Dictionary<Uint32, Utf8>',
      day: 'Date32<DAY>',
      i64: 'Int64',
      pair: 'LargeList<Utf8>',
    });
    expect(values(t, 's')).toEqual(['x', null, long]);
    expect(values(t, 'cat')).toEqual(['x', null, long]);
    expect(values(t, 'b')).toEqual([true, null, false]);
    expect(values(t, 't')).toEqual([Date.UTC(2020, 0, 2, 3, 4, 5), null, 0]);
    expect(values(t, 'day')).toEqual([Date.UTC(2020, 0, 2), null, 0]);
    expect(values(t, 'i64')).toEqual([1n, 2n, null]);
    expect(t.getChild('pair')!.get(2)!.toArray()).toEqual([long, long]);
  });

  it('streams a LazyFrame in slices, prefetching one slice ahead, in row order', async () => {
    const n = 10_000;
    const lf = pl.DataFrame({ i: Array.from({ length: n }, (_, k) => k) }).lazy();
    // Record the slices asked for (the proxy keeps the LazyFrame's shape and tag).
    const asked: number[] = [];
    const spied = new Proxy(lf, {
      get: (target, key) =>
        key === 'slice'
          ? (offset: number, length: number) => (asked.push(offset), target.slice(offset, length))
          : (Reflect.get(target, key) as unknown),
    });
    const sizes: number[] = [];
    const askedAtYield: number[][] = [];
    let next = 0;
    for await (const batch of polarsBatches(spied, 3000)) {
      sizes.push(batch.numRows);
      askedAtYield.push([...asked]);
      for (const v of batch.getChild('i')!) expect(v).toBe(next++);
    }
    expect(sizes).toEqual([3000, 3000, 3000, 1000]);
    // While slice k is consumed, slice k+1 is already being collected (and no further one).
    expect(askedAtYield).toEqual([
      [0, 3000],
      [0, 3000, 6000],
      [0, 3000, 6000, 9000],
      [0, 3000, 6000, 9000],
    ]);
    const empty = [];
    for await (const b of polarsBatches(lf.filter(pl.col('i').lt(0)), 100)) empty.push(b);
    expect(empty).toEqual([]);
  });

  it('slices a DataFrame given to mapBatches the same way', async () => {
    const df = pl.DataFrame({ i: [0, 1, 2, 3, 4] });
    const sizes: number[] = [];
    for await (const batch of polarsBatches(df, 2)) sizes.push(batch.numRows);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('converts only the columns asked for, and keeps the whole frame for withColumn', () => {
    const df = pl.DataFrame({ a: [1.5, 2.5], b: ['x', 'y'], c: [3, 4] });
    const asked: (readonly string[])[] = [];
    const input = toArrowInput(df, (names) => (asked.push(names), ['c', 'a']))!;
    expect(asked).toEqual([['a', 'b', 'c']]);
    expect(input.table.schema.fields.map((f) => f.name)).toEqual(['c', 'a']);
    expect([...input.table.getChild('a')!]).toEqual([1.5, 2.5]);
    const out = input.withColumn('p', makeVector(Float64Array.of(7, 8))) as PolarsDataFrame;
    expect(out.columns).toEqual(['a', 'b', 'c', 'p']);
    // null, or a name the frame lacks: every column (the UDF's error then lists them all).
    expect(toArrowInput(df, () => null)!.table.numCols).toBe(3);
    expect(toArrowInput(df, () => ['a', 'nope'])!.table.numCols).toBe(3);
    expect(toArrowInput(df.lazy(), () => ['b'])!.table.schema.fields.map((f) => f.name)).toEqual([
      'b',
    ]);
  });

  it('fails with E_INPUT_INVALID when the LazyFrame query fails', async () => {
    const lf = pl.scanParquet('/nonexistent/jsfunc-test.parquet');
    expect(errorOf(() => toArrowInput(lf)).code).toBe('E_INPUT_INVALID');
    const stream = toBatchSource(lf)!.batches[Symbol.asyncIterator]();
    expect((await rejectionOf(stream.next())).message).toMatch(
      /Polars could not run the LazyFrame query/
    );
  });
});

describe('Arrow -> Polars', () => {
  it('makes a Series of the result type, nulls included', () => {
    const s = polarsSeriesOf(vectorFromArray([1.5, null, 3], new Float64()));
    expect([s.name, s.dtype.variant]).toEqual(['prediction', 'Float64']);
    expect((s as unknown as { toArray(): unknown[] }).toArray()).toEqual([1.5, null, 3]);
    const labels = polarsSeriesOf(vectorFromArray(['a', null], new Utf8()), 'label');
    expect([labels.name, labels.dtype.variant]).toEqual(['label', 'String']);
  });

  it('adds a column to a DataFrame, replacing one of the same name in place', () => {
    const df = pl.DataFrame({ a: [1, 2], b: ['x', 'y'] });
    const added = polarsWithColumn(df, 'p', makeVector(new Float64Array([5, 6])));
    expect(added.columns).toEqual(['a', 'b', 'p']);
    const replaced = polarsWithColumn(df, 'a', makeVector(new Float64Array([5, 6])));
    expect((replaced as unknown as { toRecords(): unknown[] }).toRecords()).toEqual([
      { a: 5, b: 'x' },
      { a: 6, b: 'y' },
    ]);
  });

  it('round trips a batch: Polars -> Arrow -> Polars keeps dtypes and values', () => {
    const df = pl.DataFrame({ f: [1.5, null], s: ['x', null], b: [true, false] });
    const back = polarsFromBatch(polarsToTable(df).batches[0]!) as unknown as pl.DataFrame;
    expect(back.dtypes.map((d) => d.variant)).toEqual(['Float64', 'String', 'Bool']);
    expect(back.toRecords()).toEqual(df.toRecords());
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

describe('Polars through sparkUdf and loadModel', () => {
  // JS numbers make Float64 columns in Polars: b is cast to the signature's long.
  const frame = () =>
    pl
      .DataFrame({ a: [1, 2, 3], b: [10, 20, null], tag: ['p', 'q', 'r'] })
      .withColumns(pl.col('b').cast(pl.Int64));

  it('apply returns a Series', async () => {
    const out = (await apply(frame())) as pl.Series;
    expect(out.name).toBe('prediction');
    expect(out.toArray()).toEqual([12, 24, NaN]);
  });

  it('withColumn returns a DataFrame (and a LazyFrame for a LazyFrame)', async () => {
    const out = (await withColumn(frame(), 'p')) as pl.DataFrame;
    expect(isPolarsDataFrame(out)).toBe(true);
    expect(out.columns).toEqual(['a', 'b', 'tag', 'p']);
    const lazy = (await withColumn(frame().lazy(), 'p')) as pl.LazyDataFrame;
    expect(isPolarsLazyFrame(lazy)).toBe(true);
    expect((await lazy.collect()).getColumn('p').toArray()).toEqual([12, 24, NaN]);
  });

  it('mapBatches streams a LazyFrame and yields DataFrames in order', async () => {
    const lf = pl
      .DataFrame({ a: Array.from({ length: 10 }, (_, i) => i), b: Array(10).fill(1) })
      .lazy()
      .withColumns(pl.col('b').cast(pl.Int64));
    const source = toBatchSource(lf, 4)!;
    expect(source.kind).toBe('polars-lazy');
    const out: pl.DataFrame[] = [];
    for await (const df of source.wrap(udf.mapBatches(source.batches)))
      out.push(df as pl.DataFrame);
    expect(out.map((d) => d.height)).toEqual([4, 4, 2]);
    expect(out.flatMap((d) => d.getColumn('prediction').toArray())).toEqual(
      Array.from({ length: 10 }, (_, i) => i * 2 + 1)
    );
  });

  it('converts only the columns the model reads (the frame stays whole for withColumn)', async () => {
    const selected: string[][] = [];
    const spy = <T extends pl.DataFrame>(df: T): T => {
      const select = df.select.bind(df);
      (df as { select: unknown }).select = (...names: string[]) => {
        selected.push(names);
        return select(...names);
      };
      return df;
    };
    // (Without the choice, the conversion itself selects ['b', 'tag'], the columns it exports
    // through IPC, from the same frame.)
    expect(((await udf.apply(spy(frame()))) as pl.Series).toArray()).toEqual([12, 24, NaN]);
    expect(selected).toEqual([['a', 'b']]);
    const out = (await udf.withColumn(spy(frame()), 'p')) as pl.DataFrame;
    expect(out.columns).toEqual(['a', 'b', 'tag', 'p']);
    expect(out.getColumn('tag').toArray()).toEqual(['p', 'q', 'r']);
    expect(selected).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    // A required input missing by name: every column is converted (the conversion's own IPC
    // select is all that is seen), so the error lists every column, as for Arrow input.
    const error = await rejectionOf(udf.apply(spy(pl.DataFrame({ A: [1.0], tag: ['x'] }))));
    expect(error.code).toBe('E_SCHEMA_MISMATCH');
    expect(selected.slice(2)).toEqual([['tag']]);
  });

  it('missing columns fail with the same E_SCHEMA_MISMATCH as Arrow input', async () => {
    const viaFrame = await rejectionOf(apply(pl.DataFrame({ a: [1.0] })));
    const viaArrow = await rejectionOf(udf.apply(tableFromArrays({ a: new Float64Array([1]) })));
    expect(viaFrame.code).toBe('E_SCHEMA_MISMATCH');
    expect(viaFrame.message).toBe(viaArrow.message);
  });

  it('loadModel().predict scores the Arrow table frameToTable makes (LazyFrames collected)', async () => {
    const model = await loadModel(modelDir, { warn: () => undefined });
    const out = (await model.predict(frameToTable(frame().lazy())!)) as Float64Array;
    expect(Array.from(out)).toEqual([12, 24, NaN]);
  });
});
