import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import {
  Binary,
  Bool,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  DurationMillisecond,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  RecordBatch,
  Schema,
  SparseUnion,
  Struct,
  Table,
  TimeMicrosecond,
  TimeSecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  makeData,
  makeVector,
  tableFromArrays,
  util,
  vectorFromArray,
} from 'apache-arrow';
import type { DataType, Vector } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import {
  decodeDataType,
  decodeTable,
  decodeVector,
  encodeDataType,
  encodeTable,
  encodeVector,
  isSharedMemory,
  transferListOf,
  type WireData,
  type WireTable,
} from '../../src/pool/transfer.js';
import { shareTable } from '../../src/pool/shared-table.js';
import { planTable } from '../../src/pool/encode-table.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Arrow values as plain JS, so rows compare with toEqual whatever the row/vector classes. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'object') {
    const v = value as { toJSON?: () => unknown; [Symbol.iterator]?: unknown };
    if (arrow.isArrowVector(value)) return [...(value as Vector)].map(plain);
    if (typeof v.toJSON === 'function') {
      const json = v.toJSON();
      if (Array.isArray(json)) return json.map(plain);
      return Object.fromEntries(Object.entries(json as object).map(([k, x]) => [k, plain(x)]));
    }
  }
  return value;
}

function columnValues(vector: Vector): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < vector.length; i++) out.push(plain(vector.get(i)));
  return out;
}

function validity(vector: Vector): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < vector.length; i++) out.push(vector.isValid(i));
  return out;
}

/** Asserts `actual` equals `expected` field by field, type by type and value by value. */
function expectSameTable(actual: Table, expected: Table): void {
  expect(actual.numRows).toBe(expected.numRows);
  expect(actual.schema.fields.map((f) => f.name)).toEqual(
    expected.schema.fields.map((f) => f.name)
  );
  expect([...actual.schema.metadata]).toEqual([...expected.schema.metadata]);
  expected.schema.fields.forEach((field, j) => {
    const got = actual.schema.fields[j]!;
    expect(String(got.type), field.name).toBe(String(field.type));
    expect(util.compareTypes(got.type, field.type), `${field.name}: ${String(got.type)}`).toBe(
      true
    );
    expect(got.nullable).toBe(field.nullable);
    expect([...got.metadata]).toEqual([...field.metadata]);
    const a = actual.getChildAt(j)!;
    const e = expected.getChildAt(j)!;
    expect(validity(a), `${field.name} validity`).toEqual(validity(e));
    expect(columnValues(a), `${field.name} values`).toEqual(columnValues(e));
    // Arrow JS reports -1 for a sliced Null column's nullCount; every Null value is null.
    const expectedNulls = field.type.typeId === arrow.Type.Null ? e.length : e.nullCount;
    expect(a.nullCount, `${field.name} nullCount`).toBe(expectedNulls);
  });
}

function roundTrip(table: Table, shared = true): Table {
  return decodeTable(structuredClone(encodeTable(table, { shared })));
}

function field(name: string, type: DataType, nullable = true): Field {
  return new Field(name, type, nullable);
}

function withNulls<T>(values: T[], every = 3): (T | null)[] {
  return values.map((v, i) => (i % every === 1 ? null : v));
}

const N = 21;
const ints = (n = N) => Array.from({ length: n }, (_, i) => ((i * 7) % 100) - 50);

/** One column per supported type, each with nulls, built by apache-arrow's own builders. */
function typeCases(): [string, Vector][] {
  const mdn = new Int32Array(N * 4).map((_, i) => i * 3 - 40);
  const dec = new Uint32Array(N * 4).map((_, i) => (i % 4 === 0 ? i * 11 : 0));
  const validBits = new Uint8Array(8).fill(0b10111011);
  return [
    ['int8', vectorFromArray(withNulls(ints()), new Int8())],
    ['int16', vectorFromArray(withNulls(ints()), new Int16())],
    ['int32', vectorFromArray(withNulls(ints()), new Int32())],
    [
      'int64',
      vectorFromArray(withNulls(ints().map((x) => BigInt(x) * 10_000_000_000n)), new Int64()),
    ],
    ['uint8', vectorFromArray(withNulls(ints().map(Math.abs)), new Uint8())],
    ['uint16', vectorFromArray(withNulls(ints().map(Math.abs)), new Uint16())],
    [
      'uint32',
      vectorFromArray(withNulls(ints().map((x) => Math.abs(x) * 40_000_000)), new Uint32()),
    ],
    [
      'uint64',
      vectorFromArray(withNulls(ints().map((x) => BigInt(Math.abs(x)) << 40n)), new Uint64()),
    ],
    ['float16', vectorFromArray(withNulls(ints().map((x) => x / 4)), new Float16())],
    ['float32', vectorFromArray(withNulls(ints().map((x) => x / 8)), new Float32())],
    ['float64', vectorFromArray(withNulls(ints().map((x) => x / 3)), new Float64())],
    ['bool', vectorFromArray(withNulls(ints().map((x) => x % 3 === 0)), new Bool())],
    [
      'utf8',
      vectorFromArray(
        withNulls(ints().map((x) => `é${x}日本🎉`.repeat(Math.abs(x) % 3))),
        new Utf8()
      ),
    ],
    ['large-utf8', vectorFromArray(withNulls(ints().map((x) => `ß${x}`)), new LargeUtf8())],
    [
      'binary',
      vectorFromArray(
        withNulls(ints().map((x) => new Uint8Array([x & 255, 1, 2].slice(0, Math.abs(x) % 4)))),
        new Binary()
      ),
    ],
    [
      'large-binary',
      vectorFromArray(
        withNulls(ints().map((x) => new Uint8Array([x & 255, 9]))),
        new LargeBinary()
      ),
    ],
    [
      'fixed-size-binary',
      vectorFromArray(
        withNulls(ints().map((x) => new Uint8Array([x & 255, 7, 8]))),
        new FixedSizeBinary(3)
      ),
    ],
    ['date-day', vectorFromArray(withNulls(ints().map((x) => x * 86_400_000)), new DateDay())],
    ['date-ms', vectorFromArray(withNulls(ints().map((x) => x * 1234)), new DateMillisecond())],
    [
      'timestamp-s-tz',
      vectorFromArray(withNulls(ints().map((x) => x * 1000)), new TimestampSecond('Europe/Paris')),
    ],
    [
      'timestamp-ns',
      vectorFromArray(withNulls(ints().map((x) => x * 1000)), new TimestampNanosecond()),
    ],
    ['time-s', vectorFromArray(withNulls(ints().map(Math.abs)), new TimeSecond())],
    [
      'time-us',
      vectorFromArray(
        withNulls(ints().map((x) => BigInt(Math.abs(x)) * 1000n)),
        new TimeMicrosecond()
      ),
    ],
    [
      'duration-ms',
      vectorFromArray(withNulls(ints().map((x) => BigInt(x))), new DurationMillisecond()),
    ],
    [
      'interval-dt',
      vectorFromArray(
        withNulls(ints().map((x) => new Int32Array([x, x * 2]))),
        new IntervalDayTime()
      ),
    ],
    [
      'interval-ym',
      vectorFromArray(withNulls(ints().map((x) => new Int32Array([x]))), new IntervalYearMonth()),
    ],
    [
      'interval-mdn',
      makeVector(
        makeData({ type: new IntervalMonthDayNano(), length: N, data: mdn, nullBitmap: validBits })
      ),
    ],
    [
      'decimal',
      makeVector(
        makeData({ type: new Decimal(2, 12, 128), length: N, data: dec, nullBitmap: validBits })
      ),
    ],
    ['null', vectorFromArray(new Array(N).fill(null), new Null())],
    [
      'list',
      vectorFromArray(
        withNulls(ints().map((x) => (x % 4 === 0 ? [] : [x, null, x + 1]))),
        new List(field('item', new Int32()))
      ),
    ],
    [
      'large-list',
      vectorFromArray(
        withNulls(ints().map((x) => [`${x}`, 'ü'])),
        new LargeList(field('item', new Utf8()))
      ),
    ],
    [
      'fixed-size-list',
      vectorFromArray(
        withNulls(ints().map((x) => [x / 2, null])),
        new FixedSizeList(2, field('item', new Float64()))
      ),
    ],
    [
      'struct',
      vectorFromArray(
        withNulls(ints().map((x) => ({ a: x, b: x % 2 ? `s${x}` : null }))),
        new Struct([field('a', new Int32()), field('b', new Utf8())])
      ),
    ],
    [
      'map',
      vectorFromArray(
        withNulls(
          ints().map(
            (x) =>
              new Map([
                [`k${x}`, x],
                ['z', x % 5 ? null : 1],
              ])
          )
        ),
        new Map_(
          field(
            'entries',
            new Struct([field('key', new Utf8(), false), field('value', new Int32())]),
            false
          )
        )
      ),
    ],
    [
      'dictionary',
      vectorFromArray(
        withNulls(ints().map((x) => ['red', 'grün', '青'][Math.abs(x) % 3]!)),
        new Dictionary(new Utf8(), new Int32())
      ),
    ],
    [
      'dictionary-int8',
      vectorFromArray(
        withNulls(ints().map((x) => `v${Math.abs(x) % 4}`)),
        new Dictionary(new Utf8(), new Int8())
      ),
    ],
  ];
}

function tableOf(columns: [string, Vector][]): Table {
  const fields = columns.map(
    ([name, v]) => new Field(name, v.type, true, new Map([['origin', name]]))
  );
  const schema = new Schema(
    fields,
    new Map([
      ['table', 'meta'],
      ['2', 'numeric-like key'],
    ])
  );
  const data = makeData({
    type: new Struct(fields),
    length: columns[0]![1].length,
    nullCount: 0,
    children: columns.map(([, v]) => v.data[0]!),
  });
  return new Table(schema, [new RecordBatch(schema, data)]);
}

// ---------------------------------------------------------------------------------------------
// round trips
// ---------------------------------------------------------------------------------------------

describe('encodeTable / decodeTable round trips', () => {
  const cases = typeCases();
  const all = tableOf(cases);

  it.each(cases.map(([name]) => name))(
    'round-trips a %s column with nulls (shared and transferable)',
    (name) => {
      const table = all.select([name]);
      expect(table.getChild(name)!.nullCount).toBeGreaterThan(0);
      expectSameTable(roundTrip(table, true), table);
      expectSameTable(roundTrip(table, false), table);
    }
  );

  it('round-trips every type in one table, with schema and field metadata', () => {
    const decoded = roundTrip(all);
    expectSameTable(decoded, all);
    expect(decoded.batches).toHaveLength(1);
  });

  it('round-trips slices at every bit offset (null bitmaps and bools not byte-aligned)', () => {
    for (let start = 0; start <= 9; start++) {
      for (const length of [0, 1, 5, 8, 11]) {
        const slice = all.slice(start, start + length);
        expectSameTable(roundTrip(slice), slice);
      }
    }
  });

  it('concatenates multi-batch tables, including batches that are themselves slices', () => {
    const parts = [all.slice(3, 10), all.slice(0, 1), all.slice(5, 21), all.slice(2, 2)];
    const multi = new Table(
      all.schema,
      parts.flatMap((p) => p.batches)
    );
    expect(multi.batches.length).toBeGreaterThan(2);
    const decoded = roundTrip(multi);
    expect(decoded.batches).toHaveLength(1);
    expectSameTable(decoded, multi);
  });

  it('handles empty tables: zero rows, zero batches', () => {
    const zeroRows = all.slice(0, 0);
    expectSameTable(roundTrip(zeroRows), zeroRows);
    const noBatches = new Table(all.schema, []);
    expect(noBatches.batches).toHaveLength(0);
    expectSameTable(roundTrip(noBatches), noBatches);
  });

  it('round-trips nested List<Struct<List<Utf8>, Int64>> with nulls at every level, sliced', () => {
    const type = new List(
      field(
        'item',
        new Struct([field('tags', new List(field('item', new Utf8()))), field('n', new Int64())])
      )
    );
    const rows = Array.from({ length: 30 }, (_, i) =>
      i % 7 === 3
        ? null
        : Array.from({ length: i % 4 }, (_, k) =>
            (i + k) % 5 === 2
              ? null
              : {
                  tags: (i + k) % 3 ? [`t${i}`, null, 'ñ'] : null,
                  n: (i + k) % 4 ? BigInt(i * k) : null,
                }
          )
    );
    const table = tableOf([['nested', vectorFromArray(rows, type)]]);
    expectSameTable(roundTrip(table), table);
    for (const [s, e] of [
      [1, 29],
      [3, 12],
      [13, 14],
    ] as const) {
      expectSameTable(roundTrip(table.slice(s, e)), table.slice(s, e));
    }
  });

  it('unifies chunks that carry different dictionaries (indices rebased)', () => {
    const type = new Dictionary(new Utf8(), new Int16());
    const a = vectorFromArray(['x', 'y', null, 'x'], type);
    const b = vectorFromArray(['z', 'w', 'w', null, 'z'], type);
    expect(a.data[0]!.dictionary).not.toBe(b.data[0]!.dictionary);
    const schema = new Schema([field('d', type)]);
    const batch = (v: Vector) =>
      new RecordBatch(
        schema,
        makeData({
          type: new Struct(schema.fields),
          length: v.length,
          nullCount: 0,
          children: [v.data[0]!],
        })
      );
    const multi = new Table(schema, [batch(a), batch(b.slice(1))]);
    const decoded = roundTrip(multi);
    expect(columnValues(decoded.getChild('d')!)).toEqual([
      'x',
      'y',
      null,
      'x',
      'w',
      'w',
      null,
      'z',
    ]);
    expectSameTable(decoded, multi);
  });

  it('rejects differing dictionaries that indices cannot address', () => {
    const type = new Dictionary(new Utf8(), new Int8());
    const a = vectorFromArray(
      Array.from({ length: 100 }, (_, i) => `a${i}`),
      type
    );
    const b = vectorFromArray(
      Array.from({ length: 100 }, (_, i) => `b${i}`),
      type
    );
    const schema = new Schema([field('cat', type)]);
    const batch = (v: Vector) =>
      new RecordBatch(
        schema,
        makeData({
          type: new Struct(schema.fields),
          length: v.length,
          nullCount: 0,
          children: [v.data[0]!],
        })
      );
    const err = captureError(() => encodeTable(new Table(schema, [batch(a), batch(b)])));
    expect(err.code).toBe('E_INPUT_INVALID');
    expect(err.message).toContain('"cat"');
    expect(err.message).toContain('200');
  });

  it('accepts a table built by the CommonJS copy of apache-arrow (recognised by typeId)', () => {
    const cjs = createRequire(import.meta.url)('apache-arrow') as typeof arrow;
    const foreign = cjs.tableFromArrays({
      x: Float64Array.from([1.5, 2.5, 3.5]),
      s: ['a', 'bb', 'ccc'],
    });
    const decoded = decodeTable(encodeTable(foreign as unknown as Table).valueOf() as WireTable);
    expect(decoded.getChild('x')!.toArray()).toEqual(Float64Array.from([1.5, 2.5, 3.5]));
    expect(columnValues(decoded.getChild('s')!)).toEqual(['a', 'bb', 'ccc']);
    expect(decoded.schema.fields.map((f) => String(f.type))).toEqual(
      foreign.schema.fields.map((f) => String(f.type))
    );
  });

  it('copies only the rows of a slice, and decodes as views of the batch buffer', () => {
    const big = tableOf([
      ['x', makeVector(Float64Array.from({ length: 100_000 }, (_, i) => i))],
      [
        's',
        vectorFromArray(
          Array.from({ length: 100_000 }, (_, i) => `row${i}`),
          new Utf8()
        ),
      ],
    ]);
    const wire = encodeTable(big.slice(50_000, 50_010));
    // 10 float64 + 11 int32 offsets + "row50000".."row50009" (80 bytes), each 8-aligned.
    expect(wire.buffer.byteLength).toBeLessThan(256);
    const decoded = decodeTable(wire);
    expect(Array.from(decoded.getChild('x')!.toArray() as Float64Array)).toEqual(
      Array.from({ length: 10 }, (_, i) => 50_000 + i)
    );
    expect(decoded.getChild('s')!.get(9)).toBe('row50009');
    const data = decoded.getChild('x')!.data[0]!;
    expect(data.values.buffer).toBe(wire.buffer);
    expect(data.values.byteOffset % 8).toBe(0);
    expect(data.offset).toBe(0);
  });
});

describe('encodeVector / decodeVector', () => {
  it('round-trips a multi-chunk vector into one chunk', () => {
    const v = vectorFromArray(['a', null, 'çà'], new Utf8()).concat(
      vectorFromArray(['d', 'e'], new Utf8())
    );
    expect(v.data).toHaveLength(2);
    const decoded = decodeVector(structuredClone(encodeVector(v, { shared: false })));
    expect(decoded.data).toHaveLength(1);
    expect(columnValues(decoded)).toEqual(['a', null, 'çà', 'd', 'e']);
    expect(String(decoded.type)).toBe('Utf8');
  });

  it('round-trips a sliced struct vector with bit-offset nulls', () => {
    const type = new Struct([field('f', new Float32()), field('ok', new Bool())]);
    const v = vectorFromArray(
      Array.from({ length: 20 }, (_, i) => (i % 3 ? { f: i, ok: i % 2 === 0 } : null)),
      type
    ).slice(3, 17);
    const decoded = decodeVector(encodeVector(v));
    expect(columnValues(decoded)).toEqual(columnValues(v));
    expect(validity(decoded)).toEqual(validity(v));
  });
});

describe('type codec', () => {
  it('describes types as plain data and rebuilds equal types', () => {
    for (const [name, v] of typeCases()) {
      const wire = encodeDataType(v.type, name);
      expect(structuredClone(wire)).toEqual(wire);
      expect(util.compareTypes(decodeDataType(wire), v.type), name).toBe(true);
    }
  });

  it('keeps timestamp time zones, decimal scale and dictionary ids', () => {
    const dict = new Dictionary(new Utf8(), new Uint16(), 42, true);
    expect(decodeDataType(encodeDataType(dict))).toMatchObject({ id: 42, isOrdered: true });
    expect(encodeDataType(new TimestampSecond('Asia/Tokyo'))).toEqual({
      kind: 'timestamp',
      unit: 'second',
      timezone: 'Asia/Tokyo',
    });
    expect(encodeDataType(new Decimal(3, 9, 128))).toEqual({
      kind: 'decimal',
      precision: 9,
      scale: 3,
      bitWidth: 128,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// errors and transfer lists
// ---------------------------------------------------------------------------------------------

function captureError(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    expect(ModelError.is(error)).toBe(true);
    return error as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('errors', () => {
  it('rejects unsupported column types, naming the column and the type', () => {
    const union = new SparseUnion([0, 1], [field('i', new Int32()), field('s', new Utf8())]);
    const v = makeVector(
      makeData({
        type: union,
        length: 2,
        typeIds: Int8Array.from([0, 1]),
        children: [
          vectorFromArray([1, 2], new Int32()).data[0]!,
          vectorFromArray(['a', 'b'], new Utf8()).data[0]!,
        ],
      })
    );
    const err = captureError(() => encodeTable(tableOf([['choice', v]])));
    expect(err.code).toBe('E_INPUT_INVALID');
    expect(err.message).toContain('"choice"');
    expect(err.message).toContain('Union');
  });

  it('names the nested path of an unsupported child type', () => {
    const union = new SparseUnion([0], [field('i', new Int32())]);
    const type = new Struct([field('inner', union)]);
    const err = captureError(() => encodeDataType(type, 'outer'));
    expect(err.message).toContain('"outer.inner"');
  });

  it('rejects non-tables and malformed wire objects', () => {
    expect(captureError(() => encodeTable({} as Table)).code).toBe('E_INPUT_INVALID');
    expect(captureError(() => encodeVector([1, 2] as unknown as Vector)).code).toBe(
      'E_INPUT_INVALID'
    );
    expect(captureError(() => decodeTable({ format: 'nope' } as unknown as WireTable)).code).toBe(
      'E_INPUT_INVALID'
    );
    const wire = encodeTable(tableFromArrays({ x: Float64Array.from([1, 2]) }));
    const broken = {
      ...wire,
      columns: [{ ...wire.columns[0]!, values: { byteOffset: 4096, byteLength: 16 } }],
    };
    expect(captureError(() => decodeTable(broken)).code).toBe('E_INPUT_INVALID');
  });

  it('rejects a wire table whose buffer was transferred away', () => {
    const wire = encodeTable(tableFromArrays({ x: Float64Array.from([1, 2, 3]) }), {
      shared: false,
    });
    structuredClone(wire, { transfer: transferListOf(wire) });
    expect(captureError(() => decodeTable(wire)).code).toBe('E_INPUT_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------
// zero-copy for SharedArrayBuffer-backed input
// ---------------------------------------------------------------------------------------------

/** A copy of `src` inside a SharedArrayBuffer, `pad` bytes in (so byteOffset is not 0). */
function inShared<A extends Float64Array | Int32Array | Uint8Array>(src: A, pad = 16): A {
  const Ctor = src.constructor as new (b: ArrayBufferLike, o: number, n: number) => A;
  const sab = new SharedArrayBuffer(pad + src.byteLength + 8);
  const out = new Ctor(sab, pad, src.length);
  out.set(src as never);
  return out;
}

/** Every wire buffer of a column that was copied into the batch buffer (no `source`). */
function copiedBuffers(node: WireData): string[] {
  const out: string[] = [];
  for (const key of ['values', 'valueOffsets', 'nullBitmap'] as const)
    if (node[key] !== undefined && node[key].source === undefined) out.push(key);
  for (const c of node.children) out.push(...copiedBuffers(c).map((k) => `child.${k}`));
  if (node.dictionary) out.push(...copiedBuffers(node.dictionary).map((k) => `dict.${k}`));
  return out;
}

describe('SharedArrayBuffer-backed input is sent without copying', () => {
  const n = 100;
  const xs = inShared(Float64Array.from({ length: n }, (_, i) => i * 1.5));
  const is = inShared(
    Int32Array.from({ length: n }, (_, i) => i - 50),
    24
  );
  // Nulls at rows 3, 10 and 77 (bits cleared); the bitmap also lives in shared memory.
  const bits = new Uint8Array((n + 7) >> 3).fill(0xff);
  for (const r of [3, 10, 77]) bits[r >> 3]! &= ~(1 << (r & 7));
  const bitmap = inShared(bits, 40);
  const table = new Table({
    x: makeVector(makeData({ type: new Float64(), length: n, data: xs })),
    i: makeVector(
      makeData({ type: new Int32(), length: n, nullCount: 3, nullBitmap: bitmap, data: is })
    ),
  });

  it('decodes views of the very same SharedArrayBuffer at the same byteOffset', () => {
    const wire = encodeTable(table);
    expect(wire.buffer.byteLength).toBe(0); // nothing was copied
    expect(wire.columns.flatMap(copiedBuffers)).toEqual([]);
    const decoded = decodeTable(wire);
    const x = decoded.getChild('x')!.data[0]!;
    const i = decoded.getChild('i')!.data[0]!;
    expect(x.values.buffer).toBe(xs.buffer);
    expect(x.values.byteOffset).toBe(xs.byteOffset);
    expect(i.values.buffer).toBe(is.buffer);
    expect(i.values.byteOffset).toBe(is.byteOffset);
    expect(i.nullBitmap!.buffer).toBe(bitmap.buffer);
    expect(i.nullBitmap!.byteOffset).toBe(bitmap.byteOffset);
    expectSameTable(decoded, table);
  });

  it('still shares memory after structured clone (a write to the original is visible)', () => {
    const decoded = decodeTable(structuredClone(encodeTable(table.slice(8, 40))));
    expect(isSharedMemory(decoded.getChild('x')!.data[0]!.values.buffer)).toBe(true);
    expect(decoded.getChild('x')!.get(0)).toBe(12);
    const saved = xs[8]!;
    xs[8] = -1;
    try {
      expect(decoded.getChild('x')!.get(0)).toBe(-1);
    } finally {
      xs[8] = saved;
    }
  });

  it('sends byte-aligned slices as ranges, re-packs bitmaps at odd bit offsets', () => {
    for (const [start, end] of [
      [8, 80],
      [3, 90],
      [11, 12],
      [0, 0],
    ] as const) {
      const slice = table.slice(start, end);
      const wire = encodeTable(slice);
      const [x, i] = wire.columns as [WireData, WireData];
      expect(x.values!.source).toBe(xs.buffer);
      expect(x.values!.byteOffset).toBe(xs.byteOffset + start * 8);
      expect(i.values!.source).toBe(is.buffer);
      const hasNulls = [3, 10, 77].some((r) => r >= start && r < end);
      if ((start & 7) === 0 && hasNulls) expect(i.nullBitmap!.source).toBe(bitmap.buffer);
      // Bitmaps at odd bit offsets are the only thing copied.
      if ((start & 7) !== 0 && hasNulls) expect(copiedBuffers(i)).toEqual(['nullBitmap']);
      expect(wire.buffer.byteLength).toBeLessThanOrEqual((end - start + 7) >> 3);
      const decoded = decodeTable(structuredClone(wire));
      expectSameTable(decoded, slice);
      expect(decoded.getChild('i')!.nullCount).toBe(
        [3, 10, 77].filter((r) => r >= start && r < end).length
      );
    }
  });

  it('concatenates (copies) a column spanning several record batches', () => {
    const multi = new Table([...table.slice(90, 100).batches, ...table.slice(0, 5).batches]);
    const wire = encodeTable(multi.slice(5, 12));
    expect(wire.columns.flatMap(copiedBuffers)).toContain('values');
    expectSameTable(decodeTable(structuredClone(wire)), multi.slice(5, 12));
  });

  it('copies everything with reuseShared: false', () => {
    const wire = encodeTable(table, { reuseShared: false });
    expect(wire.columns.flatMap(copiedBuffers)).toEqual(['values', 'values', 'nullBitmap']);
    const decoded = decodeTable(wire);
    expect(decoded.getChild('x')!.data[0]!.values.buffer).toBe(wire.buffer);
    expectSameTable(decoded, table);
  });

  it('round-trips every type of a shared table at every bit offset', () => {
    const shared = shareTable(tableOf(typeCases()));
    for (let start = 0; start <= 9; start++) {
      for (const length of [0, 1, 5, 8, 11]) {
        const slice = shared.slice(start, start + length);
        const wire = encodeTable(slice);
        const copied = wire.columns
          .map((c, j) => [shared.schema.fields[j]!.name, copiedBuffers(c)] as const)
          .filter(([, c]) => c.length > 0)
          .map(([name]) => name);
        // From a byte boundary nothing is copied, except List/Map offsets that do not start
        // at 0 (they are rebased) and bitmaps of their children at odd bit offsets.
        if (start === 0 && length > 0) expect(copied).toEqual([]);
        if (start === 8 && length > 0) expect(copied).toEqual(['list', 'large-list', 'map']);
        expectSameTable(decodeTable(structuredClone(wire)), slice);
      }
    }
  });

  it('sends Utf8 slices with their absolute offsets over the shared bytes', () => {
    const words = Array.from({ length: 30 }, (_, k) => (k % 4 === 2 ? null : `w${k}é`));
    const shared = shareTable(new Table({ s: vectorFromArray(words, new Utf8()) }));
    const slice = shared.slice(7, 19);
    const wire = encodeTable(slice);
    const s = wire.columns[0]!;
    expect(copiedBuffers(s)).toEqual(['nullBitmap']); // bit offset 7
    const decoded = decodeTable(structuredClone(wire));
    expect(decoded.getChild('s')!.toArray()).toEqual(words.slice(7, 19));
    expect(decoded.getChild('s')!.data[0]!.valueOffsets[0]).toBeGreaterThan(0);
  });
});

describe('transferListOf', () => {
  it('lists the ArrayBuffer when not shared, nothing when shared', () => {
    const table = tableFromArrays({ x: Float64Array.from([1, 2, 3]) });
    const shared = encodeTable(table);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(transferListOf(shared)).toEqual([]);
    const owned = encodeTable(table, { shared: false });
    expect(owned.buffer).toBeInstanceOf(ArrayBuffer);
    expect(transferListOf(owned)).toEqual([owned.buffer]);
    // The caller's table is never detached by transferring the wire buffer.
    structuredClone(owned, { transfer: transferListOf(owned) });
    expect(table.getChild('x')!.toArray()).toEqual(Float64Array.from([1, 2, 3]));
  });
});

// ---------------------------------------------------------------------------------------------
// encoding into a reused slab (planTable + finish(into))
// ---------------------------------------------------------------------------------------------

/** A buffer as a reused slab looks: big enough, full of an earlier batch's bytes. */
function dirtySlab(bytes: number, fill = 0xff): SharedArrayBuffer {
  const slab = new SharedArrayBuffer(bytes + 64);
  new Uint8Array(slab).fill(fill);
  return slab;
}

describe('planTable + finish into a reused slab', () => {
  const cases = typeCases();
  const all = tableOf(cases);

  it('reports the bytes it copies, and none for a table already in shared memory', () => {
    const table = tableFromArrays({
      x: Float64Array.from([1, 2, 3]),
      y: Int32Array.from([1, 2, 3]),
    });
    const plan = planTable(table);
    expect(plan.copiedBytes).toBe(encodeTable(table).buffer.byteLength);
    expect(plan.sharedBytes).toBe(0);
    const shared = planTable(shareTable(table));
    expect(shared.copiedBytes).toBe(0);
    expect(shared.sharedBytes).toBeGreaterThanOrEqual(3 * 8 + 3 * 4);
  });

  it('gives the same table as a fresh buffer, for every type at every bit offset, over stale bytes', () => {
    for (const fill of [0xff, 0xa5]) {
      for (let start = 0; start <= 9; start++) {
        for (const length of [1, 5, 8, 11]) {
          const slice = all.slice(start, start + length);
          const plan = planTable(slice);
          const wire = plan.finish(dirtySlab(plan.copiedBytes, fill));
          expectSameTable(decodeTable(structuredClone(wire)), slice);
        }
      }
    }
  });

  it('re-packs multi-batch bitmaps and offsets over stale bytes', () => {
    const parts = [all.slice(3, 10), all.slice(0, 1), all.slice(5, 21), all.slice(2, 2)];
    const multi = new Table(
      all.schema,
      parts.flatMap((p) => p.batches)
    );
    const plan = planTable(multi);
    expectSameTable(decodeTable(plan.finish(dirtySlab(plan.copiedBytes))), multi);
  });

  it('can finish twice (a batch re-sent after a crash), each time a full copy', () => {
    const slice = all.slice(3, 17);
    const plan = planTable(slice);
    const first = plan.finish(dirtySlab(plan.copiedBytes));
    const second = plan.finish(dirtySlab(plan.copiedBytes, 0x11));
    expect(second.buffer).not.toBe(first.buffer);
    expectSameTable(decodeTable(first), slice);
    expectSameTable(decodeTable(second), slice);
  });

  it('refuses a buffer smaller than the plan', () => {
    const plan = planTable(all.slice(0, 10));
    const error = captureError(() => plan.finish(new SharedArrayBuffer(plan.copiedBytes - 1)));
    expect(error.code).toBe('E_INTERNAL');
  });
});

// ---------------------------------------------------------------------------------------------
// property test
// ---------------------------------------------------------------------------------------------

type Gen = { type: () => DataType; value: fc.Arbitrary<unknown> };
const GENS: Record<string, Gen> = {
  int32: { type: () => new Int32(), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  int64: { type: () => new Int64(), value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  uint8: { type: () => new Uint8(), value: fc.integer({ min: 0, max: 255 }) },
  float64: { type: () => new Float64(), value: fc.double() },
  float32: { type: () => new Float32(), value: fc.float({ noNaN: true }) },
  bool: { type: () => new Bool(), value: fc.boolean() },
  utf8: { type: () => new Utf8(), value: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  binary: { type: () => new Binary(), value: fc.uint8Array({ maxLength: 5 }) },
  date: {
    type: () => new DateDay(),
    value: fc.integer({ min: -50_000, max: 50_000 }).map((d) => d * 86_400_000),
  },
  list: {
    type: () => new List(field('item', new Int16())),
    value: fc.array(fc.option(fc.integer({ min: -999, max: 999 })), { maxLength: 4 }),
  },
  struct: {
    type: () => new Struct([field('a', new Float64()), field('b', new Utf8())]),
    value: fc.record({ a: fc.option(fc.double()), b: fc.option(fc.string({ maxLength: 3 })) }),
  },
  dictionary: {
    type: () => new Dictionary(new Utf8(), new Int32()),
    value: fc.constantFrom('a', 'bé', 'c', '日'),
  },
};

describe('property: decodeTable(encodeTable(t)) equals t', () => {
  it('for random columns x null ratios x slices x chunkings', () => {
    const column = fc
      .record({
        kind: fc.constantFrom(...Object.keys(GENS)),
        nullRatio: fc.constantFrom(0, 0.1, 0.5, 1),
      })
      .chain(({ kind, nullRatio }) =>
        fc.record({
          kind: fc.constant(kind),
          values: fc.array(
            fc
              .tuple(fc.double({ min: 0, max: 1, noNaN: true }), GENS[kind]!.value)
              .map(([r, v]) => (r < nullRatio ? null : v)),
            { minLength: 40, maxLength: 40 }
          ),
        })
      );
    fc.assert(
      fc.property(
        fc.array(column, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(39), fc.nat(40)), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (columns, cuts, shared) => {
          const vectors: [string, Vector][] = columns.map((c, j) => [
            `${c.kind}_${j}`,
            vectorFromArray(c.values, GENS[c.kind]!.type()),
          ]);
          const whole = tableOf(vectors);
          const batches = cuts.flatMap(
            ([start, len]) => whole.slice(start, Math.min(40, start + len)).batches
          );
          const table = new Table(whole.schema, batches);
          expectSameTable(roundTrip(table, shared), table);
        }
      ),
      { numRuns: 60 }
    );
  });
});

// ---------------------------------------------------------------------------------------------
// through a real worker thread
// ---------------------------------------------------------------------------------------------

const DIST_TRANSFER = fileURLToPath(new URL('../../dist/pool/transfer.js', import.meta.url));

/**
 * Runs inside the worker (CommonJS eval). Decodes the posted table with the compiled
 * transfer.js, computes y = 2 * x + byteLength(s) (null when either is null), returns it as a
 * wire vector on the transfer list; with `poke`, also writes into the decoded x column.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const arrow = require(workerData.arrowPath);
import(workerData.transferUrl).then(({ decodeTable, encodeVector, transferListOf }) => {
  parentPort.on('message', ({ wire, poke }) => {
    const table = decodeTable(wire);
    const x = table.getChild('x');
    const s = table.getChild('s');
    const y = [];
    for (let i = 0; i < table.numRows; i++) {
      const a = x.get(i), b = s.get(i);
      y.push(a === null || b === null ? null : 2 * a + Buffer.byteLength(b));
    }
    const values = x.data[0].values;
    const sharedInput = values.buffer instanceof SharedArrayBuffer;
    if (poke) values[0] = 999;
    const result = encodeVector(arrow.vectorFromArray(y, new arrow.Float64()), { shared: false });
    parentPort.postMessage({ result, sharedInput }, transferListOf(result));
  });
  parentPort.postMessage('ready');
});
`;

async function withWorker<T>(fn: (call: (msg: unknown) => Promise<any>) => Promise<T>): Promise<T> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      transferUrl: pathToFileURL(DIST_TRANSFER).href,
      arrowPath: createRequire(import.meta.url).resolve('apache-arrow'),
    },
  });
  try {
    const pending: ((m: unknown) => void)[] = [];
    const errored = new Promise<never>((_, reject) => worker.once('error', reject));
    worker.on('message', (m) => pending.shift()?.(m));
    const next = () => Promise.race([new Promise((resolve) => pending.push(resolve)), errored]);
    await next(); // 'ready'
    return await fn((msg) => {
      const reply = next();
      worker.postMessage(msg);
      return reply;
    });
  } finally {
    await worker.terminate();
  }
}

describe('through a worker_threads Worker (compiled dist/)', () => {
  it('has a build to run', () => {
    // The worker imports dist/pool/transfer.js: run `npx tsc -p tsconfig.build.json` first
    // (`npm test` builds before testing).
    expect(existsSync(DIST_TRANSFER)).toBe(true);
  });

  it('survives postMessage both ways, sliced input, result transferred back', async () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => i / 4);
    const s = Array.from({ length: 1000 }, (_, i) => (i % 9 === 4 ? null : `ü${i}`));
    const table = tableFromArrays({ x, s }).slice(13, 990);
    const expected = Array.from({ length: table.numRows }, (_, i) => {
      const a = table.getChild('x')!.get(i) as number;
      const b = table.getChild('s')!.get(i) as string | null;
      return b === null ? null : 2 * a + Buffer.byteLength(b);
    });
    for (const shared of [true, false]) {
      const wire = encodeTable(table, { shared });
      const reply = await withWorker((call) => {
        const r = call({ wire, poke: false });
        return r;
      });
      const y = decodeVector(reply.result);
      expect(reply.sharedInput).toBe(shared);
      expect(reply.result.buffer).toBeInstanceOf(ArrayBuffer);
      expect(columnValues(y)).toEqual(expected);
    }
  });

  it('with shared: true the worker sees the same memory (its write is visible here)', async () => {
    const table = tableFromArrays({ x: Float64Array.from([1, 2, 3]), s: ['a', 'b', 'c'] });
    const wire = encodeTable(table, { shared: true });
    const mine = decodeTable(wire);
    expect(mine.getChild('x')!.get(0)).toBe(1);
    const reply = await withWorker((call) => call({ wire, poke: true }));
    expect(reply.sharedInput).toBe(true);
    expect(mine.getChild('x')!.get(0)).toBe(999);
    // The caller's own table was copied from, never shared or detached.
    expect(table.getChild('x')!.get(0)).toBe(1);
    // The worker computed from the values before its write.
    expect(columnValues(decodeVector(reply.result))).toEqual([3, 5, 7]);
  });

  it('with shared: false and a transfer list, the buffer moves (detached here)', async () => {
    const table = tableFromArrays({ x: Float64Array.from([1, 2]), s: ['ab', 'c'] });
    const wire = encodeTable(table, { shared: false });
    const byteLength = wire.buffer.byteLength;
    const worker = new Worker(
      'require("node:worker_threads").parentPort.once("message", (m) => require("node:worker_threads").parentPort.postMessage(m.buffer.byteLength))',
      {
        eval: true,
      }
    );
    try {
      const got = new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      worker.postMessage(wire, transferListOf(wire));
      expect(await got).toBe(byteLength);
      expect(wire.buffer.byteLength).toBe(0);
    } finally {
      await worker.terminate();
    }
  });
});
