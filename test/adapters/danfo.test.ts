import { describe, it, expect } from 'vitest';
import { Bool, Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { DataFrame, Series } from 'danfojs-node';
import {
  danfoToTable,
  type DanfoDataFrame,
  type DanfoSeries,
  isDanfoFrame,
  isDanfoSeries,
  tableToDanfo,
  vectorToDanfoSeries,
} from '../../src/adapters/danfo.js';
import { toTable } from '../../src/adapters/to-table.js';
import { type ModelError } from '../../src/errors.js';

describe('danfo adapter', () => {
  it('reads zone-less ISO text in a datetime column as UTC, whatever the local time zone', () => {
    const before = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      const df = new DataFrame(
        { t: ['2020-01-01T00:00:00', '1969-12-31 23:59:59.999', null] },
        { dtypes: ['datetime'] }
      );
      const t = danfoToTable(df);
      expect([...t.getChild('t')!]).toEqual([Date.UTC(2020, 0, 1), -1, null]);
    } finally {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    }
  });

  it('declares danfo objects structurally: danfojs-node objects fit, results are danfo objects', () => {
    // Compile-time half: jsfunc's declarations never import danfojs-node (an optional peer), yet
    // danfo's own classes satisfy them and jsfunc's results can be typed as danfo's classes.
    const frame: DanfoDataFrame = new DataFrame({ a: [1, 2] });
    const series: DanfoSeries = frame.column('a');
    const back = tableToDanfo(danfoToTable(frame)) as DataFrame;
    expect(back).toBeInstanceOf(DataFrame);
    expect([frame.shape, series.shape, back.columns]).toEqual([[2, 1], [2, 1], ['a']]);
    expect(vectorToDanfoSeries(vectorFromArray([1, 2], new Int32()))).toBeInstanceOf(Series);
  });

  it('recognises DataFrames and Series by shape', () => {
    const df = new DataFrame({ a: [1, 2] });
    const s = new Series([1, 2]);
    expect([isDanfoFrame(df), isDanfoSeries(df)]).toEqual([true, false]);
    expect([isDanfoFrame(s), isDanfoSeries(s)]).toEqual([false, true]);
    expect(isDanfoFrame({ $columns: [], $dtypes: [] })).toBe(false);
    expect(isDanfoFrame(new Table())).toBe(false);
  });

  it('round trips table -> danfo -> table preserving values, types and nulls', () => {
    const table = new Table({
      f: vectorFromArray([1.25, null, -3e10], new Float64()),
      i: vectorFromArray([1, 2 ** 31 - 1, null], new Int32()),
      s: vectorFromArray(['a', null, 'c'], new Utf8()),
      b: vectorFromArray([true, false, null], new Bool()),
    });
    const df = tableToDanfo(table);
    expect(df.columns).toEqual(['f', 'i', 's', 'b']);
    expect(df.dtypes).toEqual(['float32', 'int32', 'string', 'boolean']);
    const back = danfoToTable(df);
    expect(back.schema.fields.map((f) => String(f.type))).toEqual([
      'Float64',
      'Int32',
      'Utf8',
      'Bool',
    ]);
    for (const name of ['f', 'i', 's', 'b'] as const) {
      expect([...back.getChild(name)!]).toEqual([...table.getChild(name)!]);
    }
  });

  it('maps danfo NaN/undefined to Arrow nulls and rejects non-int32 values in int32 columns', () => {
    const df = new DataFrame({ x: [1.5, NaN, 2], y: ['p', undefined, 'q'] });
    const t = danfoToTable(df);
    expect([...t.getChild('x')!]).toEqual([1.5, null, 2]);
    expect([...t.getChild('y')!]).toEqual(['p', null, 'q']);
    const big = new DataFrame({ n: [1, 2 ** 40] }, { dtypes: ['int32'] });
    const e = (() => {
      try {
        danfoToTable(big);
      } catch (err) {
        return err as ModelError;
      }
      return null;
    })();
    expect(e?.code).toBe('E_INPUT_INVALID');
    expect(e?.message).toContain('danfo column n');
  });

  it('toTable converts danfo columns to the signature types', () => {
    const df = new DataFrame({ a: [1, 2], b: ['x', 'y'] });
    const t = toTable(df, [
      { kind: 'column', name: 'a', type: { type: 'long' }, required: true },
      { kind: 'column', name: 'b', type: { type: 'string' }, required: true },
    ]);
    expect(String(t.getChild('a')!.type)).toBe('Int64');
    expect([...t.getChild('a')!]).toEqual([1n, 2n]);
  });

  it('builds a Series from a vector, nulls as NaN for numbers', () => {
    const s = vectorToDanfoSeries(vectorFromArray([1, null, 3], new Int32()), 'score');
    expect(s.columns).toEqual(['score']);
    expect(s.dtypes).toEqual(['int32']);
    expect(s.values).toEqual([1, NaN, 3]);
  });

  it('builds a frame whose rows, columns, index and config match one danfo builds itself', () => {
    const table = new Table({
      f: vectorFromArray([0.5, null, 7, -1], new Float64()),
      i: vectorFromArray([3, null, -4, 9], new Int32()),
      s: vectorFromArray(['x', 'y', null, 'w'], new Utf8()),
    });
    // The declared type is structural (jsfunc's types never import danfo); the value is a
    // danfojs-node DataFrame, typed as one for danfo's full API.
    const df = tableToDanfo(table) as DataFrame;
    const own = new DataFrame(
      { f: [0.5, NaN, 7, -1], i: [3, NaN, -4, 9], s: ['x', 'y', null, 'w'] },
      { dtypes: ['float32', 'int32', 'string'] }
    );
    expect(df.values).toEqual(own.values);
    expect(df.index).toEqual(own.index);
    expect(df.config.isLowMemoryMode).toBe(false);
    expect(df.getColumnData).toEqual(own.getColumnData);
    for (const c of ['f', 'i', 's']) expect(df.column(c).values).toEqual(own.column(c).values);
    // danfo operations see consistent data (they read rows or the column cache).
    expect(df.iloc({ rows: [1, 3] }).values).toEqual(own.iloc({ rows: [1, 3] }).values);
    expect(df.loc({ columns: ['i'] }).values).toEqual(own.loc({ columns: ['i'] }).values);
    df.addColumn('g', [1, 2, 3, 4], { inplace: true });
    expect(df.column('g').values).toEqual([1, 2, 3, 4]);
    expect(df.values[0]).toEqual([0.5, 3, 'x', 1]);
  });

  it('reads frames in low-memory mode and after in-place edits', () => {
    const low = new DataFrame(
      { a: [1, NaN, 3], b: ['p', 'q', 'r'] },
      { config: { lowMemoryMode: true } }
    );
    const t = danfoToTable(low);
    expect([...t.getChild('a')!]).toEqual([1, null, 3]);
    expect([...t.getChild('b')!]).toEqual(['p', 'q', 'r']);
    const df = new DataFrame({ a: [1.5, 2.5], b: ['p', 'q'] });
    df.addColumn('c', [10, 20], { inplace: true });
    df.drop({ columns: ['a'], inplace: true });
    const t2 = danfoToTable(df);
    expect(t2.schema.fields.map((f) => f.name)).toEqual(['b', 'c']);
    expect([...t2.getChild('c')!]).toEqual([10, 20]);
  });

  it('puts numeric columns in shared memory (they cross to UDF workers without a copy)', () => {
    const t = danfoToTable(
      new DataFrame({ x: [1.5, NaN, 3], n: [1, 2, 3] }, { dtypes: ['float32', 'int32'] })
    );
    for (const name of ['x', 'n']) {
      const data = t.getChild(name)!.data[0]!;
      expect(Object.prototype.toString.call(data.values.buffer)).toBe('[object SharedArrayBuffer]');
    }
    expect(Object.prototype.toString.call(t.getChild('x')!.data[0]!.nullBitmap!.buffer)).toBe(
      '[object SharedArrayBuffer]'
    );
    expect([...t.getChild('x')!]).toEqual([1.5, null, 3]);
    expect([...t.getChild('n')!]).toEqual([1, 2, 3]);
  });
});
