import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import {
  DataType,
  Int32,
  type RecordBatch,
  Table,
  Utf8,
  tableFromArrays,
  vectorFromArray,
} from 'apache-arrow';
import { toTable } from '../../src/adapters/to-table.js';
import { enforceSchema } from '../../src/signature/enforce-schema.js';
import type { ColSpec, TensorSpec } from '../../src/signature/types.js';
import { col } from '../util/col-spec.js';
import { errorOf } from '../util/model-error.js';

const typeOf = (t: Table, name: string) => String(t.getChild(name)!.type);

describe('toTable: Arrow inputs', () => {
  it('returns our Table as is and wraps a RecordBatch', () => {
    const t = tableFromArrays({ a: new Float64Array([1, 2]) });
    expect(toTable(t)).toBe(t);
    const fromBatch = toTable(t.batches[0] as RecordBatch);
    expect(fromBatch.numRows).toBe(2);
    expect(fromBatch.getChild('a')!.data[0]!.values).toBe(t.getChild('a')!.data[0]!.values);
  });

  it('adopts a Table built by another apache-arrow copy (zero-copy)', () => {
    // The CommonJS build is a separate module instance: its classes are not ours.
    const foreign = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');
    expect(foreign.Table).not.toBe(Table);
    const ft = new foreign.Table({
      a: foreign.vectorFromArray([1, null, 3], new foreign.Int32()),
      s: foreign.vectorFromArray(['x', 'y', null], new foreign.Utf8()),
      l: foreign.vectorFromArray(
        [[1], [], [2, 3]],
        new foreign.List(new foreign.Field('item', new foreign.Float64(), true))
      ),
    });
    const t = toTable(ft as unknown as Table);
    expect(t).toBeInstanceOf(Table);
    expect(t.getChild('a')!.type).toBeInstanceOf(Int32);
    expect([...t.getChild('a')!]).toEqual([1, null, 3]);
    expect([...t.getChild('s')!]).toEqual(['x', 'y', null]);
    expect([...t.getChild('l')!.get(2)!]).toEqual([2, 3]);
    expect(t.getChild('a')!.data[0]!.values).toBe(ft.getChild('a')!.data[0]!.values);
    // and it goes through enforcement with our type checks
    expect(typeOf(enforceSchema(t, [col('a', 'long')]), 'a')).toBe('Int64');
  });
});

describe('toTable: plain JS inputs without a schema', () => {
  it('infers column types from rows', () => {
    const t = toTable([
      {
        n: 1.5,
        i: 2n,
        s: 'a',
        b: true,
        d: new Date(0),
        bin: new Uint8Array([1]),
        l: [1, 2],
        o: { y: 'q', x: 1 },
      },
      { n: null, s: 'b' },
    ]);
    expect(t.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'n:Float64',
      'i:Int64',
      's:Utf8',
      'b:Bool',
      'd:Timestamp<MILLISECOND>',
      'bin:Binary',
      'l:List<Float64>',
      'o:Struct<{x:Float64, y:Utf8}>',
    ]);
    expect(t.getChild('n')!.get(1)).toBeNull();
    expect(t.getChild('b')!.get(1)).toBeNull();
  });

  it('stores a property missing from some objects as null (not "", NaN, false or a crash)', () => {
    const t = toTable([
      { o: { s: 'x', n: 1, b: true, l: [1], z: { q: 1 } }, l: [{ a: 1 }] },
      { o: {}, l: [{}] },
    ]);
    expect(t.getChild('o')!.get(1)!.toJSON()).toEqual({
      b: null,
      l: null,
      n: null,
      s: null,
      z: null,
    });
    expect(t.getChild('l')!.get(1)!.get(0)!.toJSON()).toEqual({ a: null });
    const o = t.getChild('o')!.data[0]!.children;
    expect(o.map((c) => c.nullCount)).toEqual([1, 1, 1, 1, 1]);
  });

  it('reads a key missing from a row as null even when Object.prototype has it', () => {
    // `row.constructor` / `row.toString` are inherited functions, not the row's values.
    const t = toTable([
      { a: 1, constructor: 2, o: { toString: 'x' } },
      { a: 2, o: {} },
    ]);
    expect([...t.getChild('constructor')!]).toEqual([2, null]);
    expect(t.getChild('o')!.get(1)!.toJSON()).toEqual({ toString: null });
    const typed = toTable(
      [
        { a: 1, toString: 'x', o: {} },
        { a: 2, o: {} },
      ],
      [
        col('a', 'long'),
        col('toString', 'string', false),
        col(
          'o',
          {
            type: 'object',
            properties: [{ name: 'constructor', type: { type: 'string' }, required: false }],
          },
          false
        ),
      ]
    );
    expect([...typed.getChild('toString')!]).toEqual(['x', null]);
    expect(typed.getChild('o')!.get(0)!.toJSON()).toEqual({ constructor: null });
  });

  it('reads columns of arrays, typed arrays and Vectors; typed arrays keep their type', () => {
    const t = toTable({
      a: [1, 2],
      b: new Int16Array([3, 4]),
      c: vectorFromArray(['x', 'y'], new Utf8()),
    });
    expect([typeOf(t, 'a'), typeOf(t, 'b'), typeOf(t, 'c')]).toEqual(['Float64', 'Int16', 'Utf8']);
    const one = toTable({ a: 1, b: 'x' });
    expect(one.numRows).toBe(1);
  });

  it('reads arrays of arrays as positional columns "0", "1", ...', () => {
    const t = toTable([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['0', '1']);
    expect([...t.getChild('1')!]).toEqual(['a', 'b']);
  });

  it('rejects ragged columns, mixed types and unsupported inputs', () => {
    const e = errorOf(() => toTable({ a: [1], b: [1, 2] }));
    expect(e.code).toBe('E_INPUT_INVALID');
    expect(e.message).toBe('Columns have different lengths: a has 1, b has 2.');
    expect(errorOf(() => toTable(new Set([1, 2, 3]))).message).toBe(
      'Expected input to be a table, rows or columns. Found: Set'
    );
    expect(errorOf(() => toTable(42 as never)).message).toBe(
      'Expected input to be a table, rows or columns. Found: number'
    );
    expect(errorOf(() => toTable({ a: [1, 'x'] })).message).toContain('column a');
  });
});

describe('toTable: plain JS inputs with a schema', () => {
  const schema = [
    col('i', 'integer'),
    col('l', 'long'),
    col('f', 'float'),
    col('s', 'string', false),
  ];

  it('converts values to the signature types when they fit exactly', () => {
    const t = toTable(
      [
        { i: 3, l: 4, f: 0.5, s: 'x' },
        { i: null, l: 2n ** 40n, f: 1 },
      ],
      schema
    );
    expect([typeOf(t, 'i'), typeOf(t, 'l'), typeOf(t, 'f'), typeOf(t, 's')]).toEqual([
      'Int32',
      'Int64',
      'Float32',
      'Utf8',
    ]);
    expect([...t.getChild('i')!]).toEqual([3, null]);
    expect([...t.getChild('l')!]).toEqual([4n, 2n ** 40n]);
    expect(enforceSchema(t, schema).getChild('i')!.data[0]).toBe(t.getChild('i')!.data[0]);
  });

  it('3.5 into an integer column names the column, the row and the value', () => {
    const e = errorOf(() => toTable({ i: [3, 3.5], l: [1, 2], f: [1, 2] }, schema));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toBe(
      'Incompatible input for column i, row 1: 3.5 cannot be stored as integer (int32) without loss.'
    );
    expect(e.details).toMatchObject({ column: 'i', row: 1, value: '3.5' });
    expect(errorOf(() => toTable({ i: [2 ** 31], l: [1], f: [1] }, schema)).message).toContain(
      '2147483648'
    );
    expect(errorOf(() => toTable({ i: ['3'], l: [1], f: [1] }, schema)).message).toContain(
      '"3" cannot be stored as integer'
    );
    expect(errorOf(() => toTable({ i: [1], l: [1], f: ['x'] }, schema)).message).toContain(
      'column f, row 0'
    );
  });

  it('reads zone-less ISO strings of a datetime column as UTC whatever the time zone', () => {
    const before = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      const t = toTable({ d: ['2020-01-01T00:00:00', '1969-12-31 23:59:59.999', '2020-01-01'] }, [
        col('d', 'datetime'),
      ]);
      expect([...t.getChild('d')!]).toEqual([Date.UTC(2020, 0, 1), -1, Date.UTC(2020, 0, 1)]);
    } finally {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    }
  });

  it('converts dates, ISO strings, binary and nested values', () => {
    const nested: ColSpec[] = [
      col('d', 'datetime'),
      col('b', 'binary', false),
      col('arr', { type: 'array', items: { type: 'long' } }, false),
      col(
        'obj',
        { type: 'object', properties: [{ name: 'a', type: { type: 'string' }, required: true }] },
        false
      ),
      col('m', { type: 'map', values: { type: 'double' } }, false),
    ];
    const t = toTable(
      [
        {
          d: '2024-01-02T00:00:00Z',
          b: Buffer.from('hi'),
          arr: [1, 2],
          obj: { a: 'x' },
          m: { k: 1 },
        },
        { d: new Date(5) },
      ],
      nested
    );
    expect(t.getChild('d')!.get(0)).toBe(Date.parse('2024-01-02T00:00:00Z'));
    expect(t.getChild('d')!.get(1)).toBe(5);
    expect(new TextDecoder().decode(t.getChild('b')!.get(0)!)).toBe('hi');
    expect([...t.getChild('arr')!.get(0)!]).toEqual([1n, 2n]);
    expect(t.getChild('obj')!.get(0)!.toJSON()).toEqual({ a: 'x' });
    expect(t.getChild('m')!.get(0)!.toJSON()).toEqual({ k: 1 });
    expect(enforceSchema(t, nested).numRows).toBe(2);
    expect(errorOf(() => toTable([{ obj: { a: 'x', c: 1 } }], nested)).message).toContain(
      "Invalid properties not defined in the schema found: {'c'}"
    );
    expect(errorOf(() => toTable([{ arr: [1, 1.5] }], nested)).message).toContain(
      'column arr[1], row 0: 1.5'
    );
  });

  it('binds a single array or typed array to the only required column', () => {
    const t = toTable([1, 2, 3], [col('x', 'double')]);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['x']);
    const typed = toTable(new Int32Array([1, 2]), [col('x', 'long'), col('y', 'string', false)]);
    expect(typeOf(typed, 'x')).toBe('Int32');
    expect(typeOf(enforceSchema(typed, [col('x', 'long')]), 'x')).toBe('Int64');
  });

  it('maps arrays of arrays by position for an unnamed schema', () => {
    const unnamed = [col(undefined, 'integer'), col(undefined, 'string')];
    const t = toTable(
      [
        [1, 'a'],
        [2, 'b'],
      ],
      unnamed
    );
    expect([typeOf(t, '0'), typeOf(t, '1')]).toEqual(['Int32', 'Utf8']);
    expect(errorOf(() => toTable([[1.5, 'a']], unnamed)).message).toContain('column 0, row 0: 1.5');
  });

  it('builds tensors in the spec dtype', () => {
    const spec: TensorSpec = { kind: 'tensor', dtype: 'float32', shape: [-1, 2] };
    const t = toTable(
      [
        [1, 2],
        [3, 4],
      ],
      [spec]
    );
    const out = enforceSchema(t, [spec]);
    expect([...out.getChild('0')!.get(1)!]).toEqual([3, 4]);
    const ints: TensorSpec = { kind: 'tensor', name: 'x', dtype: 'int64', shape: [-1] };
    expect(String(toTable({ x: [1, 2] }, [ints]).getChild('x')!.type)).toBe('Int64');
    expect(errorOf(() => toTable({ x: [1.5] }, [ints])).message).toContain(
      '1.5 cannot be stored as int64'
    );
  });

  describe('under an unnamed (-1, 4) float32 tensor', () => {
    const spec: TensorSpec = { kind: 'tensor', dtype: 'float32', shape: [-1, 4] };
    const rows = [
      { a: 5.1, b: 3.5, c: 1.4, d: 0.2 },
      { a: 6.2, b: 2.9, c: 4.3, d: 1.3 },
    ];
    const expected = rows.map((r) => [r.a, r.b, r.c, r.d].map(Math.fround));
    const packed = (t: Table) =>
      [...enforceSchema(t, [spec]).getChild('0')!].map((v) => [...(v as Iterable<number>)]);

    it('builds one Float32 column per feature from rows and from columns; enforcement packs them', () => {
      const t = toTable(rows, [spec]);
      expect(t.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
        'a:Float32',
        'b:Float32',
        'c:Float32',
        'd:Float32',
      ]);
      expect(packed(t)).toEqual(expected);
      const columns = { a: [5.1, 6.2], b: [3.5, 2.9], c: [1.4, 4.3], d: [0.2, 1.3] };
      expect(packed(toTable(columns, [spec]))).toEqual(expected);
    });

    it('builds one FixedSizeList<Float32> column from an array of arrays', () => {
      const t = toTable(
        rows.map((r) => [r.a, r.b, r.c, r.d]),
        [spec]
      );
      expect(typeOf(t, '0')).toBe('FixedSizeList[4]<Float32>');
      expect(packed(t)).toEqual(expected);
    });

    it('refuses nulls and ragged rows naming the column and row', () => {
      expect(errorOf(() => toTable([{ a: 1, b: null }], [spec])).message).toBe(
        'Tensor input column b holds nulls (row 0); tensors cannot have missing values.'
      );
      expect(
        errorOf(() =>
          toTable(
            [
              [1, 2, 3, 4],
              [1, 2, 3],
            ],
            [spec]
          )
        ).message
      ).toContain(
        "input column '0' could not be converted to a tensor: row 1 has 3 elements, row 0 has 4"
      );
    });
  });

  it('builds FixedSizeList columns of the dtype for named tensors fed arrays of the inner shape', () => {
    const img: TensorSpec = { kind: 'tensor', name: 'img', dtype: 'uint8', shape: [-1, 2, 2] };
    const ids: TensorSpec = { kind: 'tensor', name: 'ids', dtype: 'int64', shape: [-1, 3] };
    const schema = [img, ids];
    const rows = [
      {
        img: [
          [1, 2],
          [3, 4],
        ],
        ids: [1, 2, 3],
      },
      {
        img: [
          [5, 6],
          [7, 255],
        ],
        ids: [4, 5, 2 ** 40],
      },
    ];
    const t = toTable(rows, schema);
    expect([typeOf(t, 'img'), typeOf(t, 'ids')]).toEqual([
      'FixedSizeList[2]<FixedSizeList[2]<Uint8>>',
      'FixedSizeList[3]<Int64>',
    ]);
    const out = enforceSchema(t, schema);
    // Valid input passes enforcement untouched.
    expect(out.getChild('img')!.data[0]).toBe(t.getChild('img')!.data[0]);
    expect(
      [...(out.getChild('img')!.get(1) as Iterable<Iterable<number>>)].map((r) => [...r])
    ).toEqual([
      [5, 6],
      [7, 255],
    ]);
    expect([...(out.getChild('ids')!.get(1) as Iterable<bigint>)]).toEqual([4n, 5n, 2n ** 40n]);
    const cols = toTable(
      {
        ids: [new Int32Array([1, 2, 3])],
        img: [
          [
            [0, 0],
            [0, 0],
          ],
        ],
      },
      schema
    );
    expect(typeOf(cols, 'ids')).toBe('FixedSizeList[3]<Int64>');
    expect(
      errorOf(() =>
        toTable(
          {
            img: [
              [
                [1, 2],
                [3, 256],
              ],
            ],
            ids: [[1, 2, 3]],
          },
          schema
        )
      ).message
    ).toContain('column img[1][1], row 0: 256 cannot be stored as uint8');
    const mixed = {
      img: [
        [
          [1, 2],
          [3, 4],
        ],
        [[1, 2], 5],
      ],
      ids: [
        [1, 2, 3],
        [1, 2, 3],
      ],
    };
    expect(errorOf(() => toTable(mixed, schema)).message).toContain(
      'column img[1], row 1: 5 cannot be stored as an array of 2 uint8 values'
    );
    // The nesting comes from the values; a wrong shape is enforcement's to report.
    const flat = toTable({ img: [[1, 2]], ids: [[1, 2, 3]] }, schema);
    expect(errorOf(() => enforceSchema(flat, schema)).message).toBe(
      'Shape of input (1, 2) does not match expected shape (-1, 2, 2)'
    );
  });

  it('reads an empty row list as an empty table with the schema columns', () => {
    const t = toTable([], [col('a', 'double'), col('b', 'string')]);
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => String(f.type))).toEqual(['Float64', 'Utf8']);
    expect(DataType.isFloat(t.getChild('a')!.type)).toBe(true);
  });
});
