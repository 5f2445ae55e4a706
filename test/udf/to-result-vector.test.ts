import { describe, it, expect } from 'vitest';
import * as dfd from 'danfojs-node';
import {
  Field,
  Float64,
  Int32,
  List,
  tableFromArrays,
  vectorFromArray,
  Utf8,
  Struct,
} from 'apache-arrow';
import type { Vector } from 'apache-arrow';
import { parseResultType, resultTypeToArrow } from '../../src/udf/result-type.js';
import { toResultVector } from '../../src/udf/to-result-vector.js';
import { errorOf } from '../util/model-error.js';

const rt = parseResultType;
const run = (out: unknown, type: string, n: number): Vector => toResultVector(out, rt(type), n);
const values = (v: Vector): unknown[] => Array.from(v, (x: unknown) => toPlain(x));
function toPlain(x: unknown): unknown {
  if (x !== null && typeof x === 'object' && 'toJSON' in x)
    return toPlain((x as { toJSON(): unknown }).toJSON());
  if (Array.isArray(x)) return x.map(toPlain);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toPlain(v)]));
  }
  return x;
}

/**
 * MLflow's ConstantPyfuncWrapper (test_spark.py L56-L66): columns of dtypes
 * int32, int64, str, float32, double, bool holding 1, 2, "class1", 0.1, 0.2, True.
 */
function constantFrame(n: number): Record<string, unknown> {
  return {
    '0': new Int32Array(n).fill(1),
    '1': new BigInt64Array(n).fill(2n),
    '2': Array<string>(n).fill('class1'),
    '3': new Float32Array(n).fill(0.1),
    '4': new Float64Array(n).fill(0.2),
    '5': Array<boolean>(n).fill(true),
  };
}

describe('toResultVector: MLflow test_spark_udf (#1, test_spark.py L165)', () => {
  const n = 3;
  it.each([
    ['int', 1],
    ['long', 2n], // MLflow selects numpy `int` (int64) for LongType, skipping the int32 column
    ['float', Math.fround(1)],
    ['double', 1],
    ['string', '1'],
    ['boolean', true],
    ['bool', true],
  ])('%s picks the leftmost compatible column', (type, expected) => {
    const v = run(constantFrame(n), type, n);
    expect(String(v.type)).toBe(String(resultTypeToArrow(rt(type))));
    expect(values(v)).toEqual(Array(n).fill(expected));
  });

  it.each([
    ['array<int>', [1]],
    ['array<long>', [2n]],
    ['array<float>', [1, 2, Math.fround(0.1), Math.fround(0.2)]],
    ['array<double>', [1, 2, Math.fround(0.1), 0.2]],
    ['array<string>', ['1', '2', 'class1', '0.1', '0.2', 'true']],
    ['array<boolean>', [true]],
  ])('%s holds every compatible column in order', (type, expected) => {
    const v = run(constantFrame(n), type, n);
    expect(values(v)).toEqual(Array(n).fill(expected));
  });
});

describe('toResultVector: output forms', () => {
  it('wraps a Float64Array for double without copying', () => {
    const a = new Float64Array([1.5, 2.5, NaN]);
    const v = run(a, 'double', 3);
    expect(v.data[0]?.values).toBe(a);
    expect(v.get(2)).toBeNaN(); // NaN stays NaN, not null
    expect(v.nullCount).toBe(0);
  });

  it('returns an Arrow vector already of the result type as is', () => {
    const src = vectorFromArray([1, null, 3], new Int32());
    expect(run(src, 'int', 3)).toBe(src);
  });

  it('casts typed arrays and Arrow vectors', () => {
    expect(values(run(new Int16Array([1, -2]), 'int', 2))).toEqual([1, -2]);
    expect(values(run(new Int16Array([1, -2]), 'long', 2))).toEqual([1n, -2n]);
    expect(values(run(new BigInt64Array([5n]), 'double', 1))).toEqual([5]);
    expect(values(run(vectorFromArray([1.5, null], new Float64()), 'float', 2))).toEqual([
      1.5,
      null,
    ]);
  });

  it('reads plain arrays of numbers, strings, booleans and nulls', () => {
    expect(values(run([1, null, 3], 'int', 3))).toEqual([1, null, 3]);
    expect(values(run([1, null, 3], 'long', 3))).toEqual([1n, null, 3n]);
    expect(values(run([0.5, null], 'double', 2))).toEqual([0.5, null]);
    expect(values(run(['a', null], 'string', 2))).toEqual(['a', null]);
    expect(values(run([true, null, false], 'boolean', 3))).toEqual([true, null, false]);
    expect(values(run([null, null], 'double', 2))).toEqual([null, null]);
  });

  it('does not take non-integral or out-of-range JS numbers for int', () => {
    expect(errorOf(() => run([1.5, 2], 'int', 2)).code).toBe('E_MODEL_OUTPUT');
    expect(errorOf(() => run([2 ** 40], 'int', 1)).code).toBe('E_MODEL_OUTPUT');
    expect(values(run([2 ** 40], 'long', 1))).toEqual([2n ** 40n]);
  });

  it('reads an Arrow Table and RecordBatch by leftmost compatible column', () => {
    const t = tableFromArrays({ label: ['x', 'y'], score: new Float64Array([0.1, 0.9]) });
    expect(values(run(t, 'double', 2))).toEqual([0.1, 0.9]);
    expect(values(run(t.batches[0], 'string', 2))).toEqual(['x', 'y']);
  });

  it('reads rows of objects and objects of columns', () => {
    const rows = [
      { label: 'a', score: 0.5 },
      { label: 'b', score: 0.25 },
    ];
    expect(values(run(rows, 'double', 2))).toEqual([0.5, 0.25]);
    expect(values(run({ label: ['a', 'b'], score: new Float32Array([1, 2]) }, 'float', 2))).toEqual(
      [1, 2]
    );
  });

  it('reads danfo Series and DataFrame by shape', () => {
    const s = new dfd.Series([1, 2, 3]);
    expect(values(run(s, 'int', 3))).toEqual([1, 2, 3]);
    const df = new dfd.DataFrame({ name: ['a', 'b'], p: [0.5, 0.75] });
    expect(values(run(df, 'double', 2))).toEqual([0.5, 0.75]);
    expect(values(run(df, 'struct<p:double,name:string>', 2))).toEqual([
      { p: 0.5, name: 'a' },
      { p: 0.75, name: 'b' },
    ]);
  });

  it('accepts a fake danfo-shaped DataFrame without $dataIncolumnFormat', () => {
    const fake = {
      $isSeries: false,
      columns: ['a', 'b'],
      values: [
        [1, 'x'],
        [2, 'y'],
      ],
    };
    expect(values(run(fake, 'string', 2))).toEqual(['1', '2']);
    expect(values(run(fake, 'array<string>', 2))).toEqual([
      ['1', 'x'],
      ['2', 'y'],
    ]);
  });

  it('treats a scalar as a one-row result', () => {
    expect(values(run(7, 'int', 1))).toEqual([7]);
    expect(errorOf(() => run(7, 'int', 3)).message).toContain('returned 1 rows for a batch of 3');
  });

  it('reads a 2-D array as one column per position for primitive types', () => {
    expect(
      values(
        run(
          [
            [1, 'a'],
            [2, 'b'],
          ],
          'string',
          2
        )
      )
    ).toEqual(['1', '2']);
    expect(
      values(
        run(
          [
            ['a', 1.5],
            ['b', 2.5],
          ],
          'double',
          2
        )
      )
    ).toEqual([1.5, 2.5]);
  });
});

describe('toResultVector: string stringification', () => {
  it('uses JS String(), shortest float32 text and JSON for nested values', () => {
    const v = run(
      { f: new Float32Array([0.1]), b: [false], big: new BigInt64Array([9n]), o: [{ a: [1] }] },
      'array<string>',
      1
    );
    expect(values(v)).toEqual([['0.1', 'false', '9', '{"a":[1]}']]);
  });
});

describe('toResultVector: array results', () => {
  it('converts a column of row arrays, typed arrays and Arrow lists', () => {
    expect(values(run([[1, 2], [3]], 'array<long>', 2))).toEqual([[1n, 2n], [3n]]);
    const typed = [new Float64Array([1, 2]), new Float64Array([3])];
    const v = run(typed, 'array<double>', 2);
    expect(values(v)).toEqual([[1, 2], [3]]);
    const list = vectorFromArray([[1, 2], null], new List(new Field('element', new Int32(), true)));
    expect(values(run(list, 'array<double>', 2))).toEqual([[1, 2], null]);
  });

  it('turns null and NaN rows into null arrays (#15, MLflow #8986, test_spark.py L1063)', () => {
    const out = { a: [new Float64Array([1, NaN]), null, NaN] };
    const v = run(out, 'a array<double>', 3);
    const a = v.getChildAt(0)!;
    expect(a.get(1)).toBeNull();
    expect(a.get(2)).toBeNull();
    const first = Array.from(a.get(0) as Vector);
    expect(first[0]).toBe(1);
    expect(first[1]).toBeNaN();
  });

  it('builds array<array<double>> from 3-D nested arrays (#5, L456-L485)', () => {
    const row = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    expect(values(run([row, row], 'array<array<double>>', 2))).toEqual([row, row]);
  });

  it('builds array<struct> from tuples (#14, test_spark.py L1030)', () => {
    const out = [[['str', 0, 1, 0.0, 0.1, true]], [['str', 0, 1, 0.0, 0.1, true]]];
    const v = run(
      out,
      'array<struct<str:string,int:int,long:long,float:float,double:double,bool:boolean>>',
      2
    );
    expect(values(v)[0]).toEqual([
      { str: 'str', int: 0, long: 1n, float: 0, double: 0.1, bool: true },
    ]);
  });
});

describe('toResultVector: struct results', () => {
  it('builds the struct of test_spark.py L304 (#3) from a columns object', () => {
    const n = 2;
    const out = {
      r1: Array(n).fill(1),
      r2: Array(n).fill(1.5),
      r3: Array(n).fill([1, 2]),
      r4: Array.from({ length: n }, () => new Float64Array([1.5, 2.5])),
      r5: [
        [1.5, 2.5],
        [1.5, 2.5],
      ],
      r6: Array(n).fill(true),
      r7: Array(n).fill('abc'),
    };
    const type =
      'r1 int, r2 float, r3 array<long>, r4 array<double>, r5 array<double>, r6 boolean, r7 string';
    const v = run(out, type, n);
    expect(String(v.type)).toBe(String(resultTypeToArrow(rt(type))));
    expect(values(v)).toEqual(
      Array(n).fill({
        r1: 1,
        r2: 1.5,
        r3: [1n, 2n],
        r4: [1.5, 2.5],
        r5: [1.5, 2.5],
        r6: true,
        r7: 'abc',
      })
    );
  });

  it('builds nested structs from row objects', () => {
    const rows = [
      { x: { a: 1, b: true }, y: [{ a: 2 }] },
      { x: null, y: [] },
    ];
    const v = run(rows, 'struct<x: struct<a: long, b: boolean>, y: array<struct<a:int>>>', 2);
    expect(values(v)).toEqual([
      { x: { a: 1n, b: true }, y: [{ a: 2 }] },
      { x: null, y: [] },
    ]);
  });

  it('names the missing field and the available columns', () => {
    const e = errorOf(() => run({ label: ['a'] }, 'struct<label:string,score:double>', 1));
    expect(e.code).toBe('E_MODEL_OUTPUT');
    expect(e.message).toContain("'score'");
    expect(e.message).toContain('Available columns: label');
  });

  it('refuses a non-integral value for an int field instead of truncating', () => {
    const e = errorOf(() => run({ r: [1, 2.5] }, 'r int', 2));
    expect(e.code).toBe('E_MODEL_OUTPUT');
    expect(e.message).toContain("field 'r' row 1");
    expect(e.message).toContain('2.5');
  });

  it('keeps nulls in every field type', () => {
    const v = run(
      { a: [null], b: [null], c: [null], d: [null] },
      'a int, b string, c array<int>, d boolean',
      1
    );
    expect(values(v)).toEqual([{ a: null, b: null, c: null, d: null }]);
  });

  it('reads struct fields from an Arrow struct vector', () => {
    const t = tableFromArrays({ a: new Int32Array([1, 2]), b: ['x', 'y'] });
    const struct = vectorFromArray(
      [
        { a: 1, b: 'x' },
        { a: 2, b: 'y' },
      ],
      new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)])
    );
    expect(values(run(struct, 'b string, a long', 2))).toEqual([
      { b: 'x', a: 1n },
      { b: 'y', a: 2n },
    ]);
    expect(values(run(t, 'b string', 2))).toEqual([{ b: 'x' }, { b: 'y' }]);
  });
});

describe('toResultVector: map results', () => {
  it('builds map<string,T> from row objects and Maps', () => {
    const v = run([{ a: 1, b: 2 }, null, new Map([['c', 3]])], 'map<string,double>', 3);
    expect(v.length).toBe(3);
    expect(v.get(1)).toBeNull();
    expect(toPlain(v.get(0))).toEqual({ a: 1, b: 2 });
    expect(toPlain(v.get(2))).toEqual({ c: 3 });
    expect(String(v.type)).toBe(String(resultTypeToArrow(rt('map<string,double>'))));
  });
});

describe('toResultVector: errors', () => {
  it('reports the row count mismatch with both numbers', () => {
    const e = errorOf(() => run(new Float64Array(9), 'double', 10));
    expect(e.code).toBe('E_MODEL_OUTPUT');
    expect(e.message).toContain('model returned 9 rows for a batch of 10');
    expect(e.details).toMatchObject({ rows: 9, expected: 10 });
  });

  it('reports no compatible column in MLflow words', () => {
    const e = errorOf(() => run(['a', 'b'], 'int', 2));
    expect(e.message).toContain(
      "The model did not produce any values compatible with the requested type 'int'. Consider requesting udf with string or array<string>."
    );
    expect(errorOf(() => run(new Int32Array(2), 'long', 2)).code).toBe('E_MODEL_OUTPUT');
    expect(errorOf(() => run(new Float64Array(2), 'boolean', 2)).code).toBe('E_MODEL_OUTPUT');
  });

  it('rejects undefined output', () => {
    expect(errorOf(() => run(undefined, 'double', 1)).code).toBe('E_MODEL_OUTPUT');
  });
});

describe('toResultVector: zero rows', () => {
  it('returns an empty vector of the result type', () => {
    const v = run(new Float64Array(0), 'double', 0);
    expect(v.length).toBe(0);
    expect(String(v.type)).toBe('Float64');
  });
});
