import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Binary,
  BinaryView,
  Bool,
  type Data,
  type DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  DenseUnion,
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
  TimeMillisecond,
  TimeNanosecond,
  TimeSecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Utf8View,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ByteBuffer,
  f16FromBits,
  f16round,
  writeBase64,
  writeDecimalWords,
  writeFloat64,
  writeInt64Words,
  writeNarrowFloat,
} from '../../src/io/byte-buffer.js';
import { readCsvBatches } from '../../src/io/csv.js';
import {
  csvCellWriter,
  csvCellWriters,
  csvHeaderBytes,
  encodeCsvBatch,
} from '../../src/io/csv-format.js';
import type { ColSpec, ValueType } from '../../src/signature/types.js';
import { col } from '../util/col-spec.js';
import { collect, rows, tempDir } from './helpers.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** One column's Data from values (64-bit types from bigints, straight into a BigInt64Array). */
function data(type: DataType, values: readonly unknown[]): Data {
  const t = type as unknown as { typeId: Type; bitWidth?: number; unit?: number };
  const wide =
    (t.typeId === Type.Int && t.bitWidth === 64) ||
    t.typeId === Type.Timestamp ||
    t.typeId === Type.Duration ||
    (t.typeId === Type.Time && t.bitWidth === 64) ||
    (t.typeId === Type.Date && t.unit === 1);
  if (!wide) return vectorFromArray(values as unknown[], type).data[0] as Data;
  const n = values.length;
  const signed = !(t.typeId === Type.Int && (type as unknown as Uint64).isSigned === false);
  const arr = signed ? new BigInt64Array(n) : new BigUint64Array(n);
  const bitmap = new Uint8Array(Math.ceil(n / 8) + 1);
  let nulls = 0;
  values.forEach((v, i) => {
    if (v === null) nulls++;
    else {
      (arr as BigInt64Array)[i] = v as bigint;
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
  });
  return makeData({ type, length: n, nullCount: nulls, nullBitmap: bitmap, data: arr } as never);
}

/** Map<key, value> (entries struct of a non-null key and a nullable value). */
function mapOf(key: DataType, value: DataType): DataType {
  const entries = new Struct([new Field('key', key, false), new Field('value', value, true)]);
  return new Map_(new Field('entries', entries, false) as never) as DataType;
}

/** A batch of named columns. */
function batchOf(columns: Record<string, Data>): RecordBatch {
  const names = Object.keys(columns);
  const datas = names.map((n) => columns[n] as Data);
  const fields = names.map((n, i) => new Field(n, (datas[i] as Data).type, true));
  const length = datas[0]?.length ?? 0;
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length, nullCount: 0, children: datas })
  );
}

/** The CSV cells of one column (the header line dropped). */
function cells(type: DataType, values: readonly unknown[]): string[] {
  const d = data(type, values);
  const w = csvCellWriter(d);
  const out = new ByteBuffer(16);
  return values.map((_, i) => {
    out.reset();
    w(out, i);
    return text(out.bytes());
  });
}

function decimalData(scale: number, precision: number, bits: 128 | 256, values: bigint[]): Data {
  const words = bits / 32;
  const arr = new Uint32Array(values.length * words);
  values.forEach((v, i) => {
    let u = BigInt.asUintN(bits, v);
    for (let w = 0; w < words; w++) {
      arr[i * words + w] = Number(u & 0xffffffffn);
      u >>= 32n;
    }
  });
  return makeData({
    type: new Decimal(scale, precision, bits),
    length: values.length,
    nullCount: 0,
    data: arr,
  });
}

const f32 = Math.fround;
const f16Bits = (v: number): number => {
  for (let b = 0; b < 0x10000; b++) if (Object.is(f16FromBits(b), v)) return b;
  throw new Error(`not a float16: ${v}`);
};

describe('CSV cells: exact text per Arrow type', () => {
  const table: [string, DataType, unknown[], string[]][] = [
    ['int8', new Int8(), [-128, 127, 0, null], ['-128', '127', '0', '']],
    ['uint8', new Uint8(), [255, 0], ['255', '0']],
    ['int16', new Int16(), [-32768, 32767], ['-32768', '32767']],
    ['uint16', new Uint16(), [65535], ['65535']],
    ['int32', new Int32(), [-2147483648, 2147483647], ['-2147483648', '2147483647']],
    ['uint32', new Uint32(), [4294967295], ['4294967295']],
    [
      'int64',
      new Int64(),
      [-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n, -9007199254740993n, 0n, -1n, null],
      [
        '-9223372036854775808',
        '9223372036854775807',
        '9007199254740993',
        '-9007199254740993',
        '0',
        '-1',
        '',
      ],
    ],
    [
      'uint64',
      new Uint64(),
      [2n ** 64n - 1n, 2n ** 53n + 1n],
      ['18446744073709551615', '9007199254740993'],
    ],
    [
      'float64',
      new Float64(),
      [
        1,
        -0,
        0,
        0.1 + 0.2,
        NaN,
        Infinity,
        -Infinity,
        1e21,
        1e20,
        5e-324,
        1.5e-7,
        123.456,
        2 ** 53,
        -15.47,
      ],
      [
        '1.0',
        '-0.0',
        '0.0',
        '0.30000000000000004',
        'NaN',
        'inf',
        '-inf',
        '1e+21',
        '100000000000000000000.0',
        '5e-324',
        '1.5e-7',
        '123.456',
        '9007199254740992.0',
        '-15.47',
      ],
    ],
    [
      'float32',
      new Float32(),
      [
        f32(1 / 60),
        f32(0.1),
        3,
        16777216,
        1e10,
        f32(3.4028234663852886e38),
        f32(1.4e-45),
        -2.5,
        -0,
        NaN,
      ],
      [
        '0.016666668',
        '0.1',
        '3.0',
        '16777216.0',
        '10000000000.0',
        '3.4028235e+38',
        '1e-45',
        '-2.5',
        '-0.0',
        'NaN',
      ],
    ],
    [
      'float16',
      new Float16(),
      // 65500 reads back as float16 65504 (numpy prints it the same way).
      [f16round(0.1), 65504, f16round(1 / 3), 2 ** -24, -1],
      ['0.1', '65500.0', '0.3333', '6e-8', '-1.0'],
    ],
    ['bool', new Bool(), [true, false, null], ['true', 'false', '']],
    [
      'utf8',
      new Utf8(),
      ['a"b', '', 'x,y\nz', 'héllo 🚀', '007', null],
      ['"a""b"', '""', '"x,y\nz"', '"héllo 🚀"', '"007"', ''],
    ],
    ['large utf8', new LargeUtf8(), ['a"b', ''], ['"a""b"', '""']],
    [
      'binary',
      new Binary(),
      [Uint8Array.of(0, 255), new Uint8Array(0), Uint8Array.of(1, 2, 3, 4)],
      ['"AP8="', '""', '"AQIDBA=="'],
    ],
    ['large binary', new LargeBinary(), [Uint8Array.of(104, 105)], ['"aGk="']],
    ['fixed size binary', new FixedSizeBinary(2), [Uint8Array.of(0, 255)], ['"AP8="']],
    [
      'date day',
      new DateDay(),
      [Date.UTC(2023, 5, 6), Date.UTC(1969, 11, 31), Date.UTC(2000, 1, 29), null],
      ['2023-06-06', '1969-12-31', '2000-02-29', ''],
    ],
    ['date ms', new DateMillisecond(), [BigInt(Date.UTC(2023, 5, 6))], ['2023-06-06']],
    [
      'timestamp s',
      new TimestampSecond(),
      [1686009600n, -1n, 253402300799n],
      ['2023-06-06 00:00:00', '1969-12-31 23:59:59', '9999-12-31 23:59:59'],
    ],
    [
      'timestamp ms',
      new TimestampMillisecond(),
      [1686009600123n, 1686009600000n, -1n, 1686048330005n],
      [
        '2023-06-06 00:00:00.123',
        '2023-06-06 00:00:00',
        '1969-12-31 23:59:59.999',
        '2023-06-06 10:45:30.005',
      ],
    ],
    [
      'timestamp us',
      new TimestampMicrosecond(),
      [1686009600123456n, 1686009600123000n, 1686009600000000n, 1n],
      [
        '2023-06-06 00:00:00.123456',
        '2023-06-06 00:00:00.123000',
        '2023-06-06 00:00:00',
        '1970-01-01 00:00:00.000001',
      ],
    ],
    [
      'timestamp ns',
      new TimestampNanosecond(),
      [1686009600123456789n, 2n ** 63n - 1n, -(2n ** 63n) + 1n],
      [
        '2023-06-06 00:00:00.123456789',
        '2262-04-11 23:47:16.854775807',
        '1677-09-21 00:12:43.145224193',
      ],
    ],
    [
      'timestamp ms UTC',
      new TimestampMillisecond('UTC'),
      [1686009600000n, 1686009600123n],
      ['2023-06-06 00:00:00+00:00', '2023-06-06 00:00:00.123000+00:00'],
    ],
    [
      'timestamp ns UTC',
      new TimestampNanosecond('UTC'),
      [1686009600000000001n],
      ['2023-06-06 00:00:00.000000001+00:00'],
    ],
    [
      'timestamp s +05:30',
      new TimestampSecond('+05:30'),
      [1686009600n],
      ['2023-06-06 05:30:00+05:30'],
    ],
    [
      'timestamp s named zone',
      new TimestampSecond('America/New_York'),
      [1686009600n],
      ['2023-06-06 00:00:00+00:00'],
    ],
    ['time32 s', new TimeSecond(), [3661], ['01:01:01']],
    ['time32 ms', new TimeMillisecond(), [3661001, 0], ['01:01:01.001', '00:00:00']],
    [
      'time64 us',
      new TimeMicrosecond(),
      [1n, 86399999999n],
      ['00:00:00.000001', '23:59:59.999999'],
    ],
    ['time64 ns', new TimeNanosecond(), [1500000000n], ['00:00:01.500000000']],
    [
      'duration ms',
      new DurationMillisecond(),
      [1500n, -2n, 2n ** 63n - 1n],
      ['1500', '-2', '9223372036854775807'],
    ],
    [
      'list<double>',
      new List(new Field('item', new Float64(), true)),
      [[1.5, null], [], [1], [NaN], null],
      ['"[1.5,null]"', '"[]"', '"[1.0]"', '"[null]"', ''],
    ],
    [
      'struct',
      new Struct([new Field('a', new Utf8(), true), new Field('n', new Int64(), true)]),
      [
        { a: 'x"', n: 9007199254740993n },
        { a: null, n: 1n },
      ],
      ['"{""a"":""x\\"""",""n"":9007199254740993}"', '"{""a"":null,""n"":1}"'],
    ],
    [
      'fixed size list',
      new FixedSizeList(2, new Field('item', new Int32(), true)),
      [
        [1, 2],
        [3, null],
      ],
      ['"[1,2]"', '"[3,null]"'],
    ],
    [
      'dictionary',
      new Dictionary(new Utf8(), new Int32()),
      ['p', 'q', null, 'p'],
      ['"p"', '"q"', '', '"p"'],
    ],
    ['null', new Null(), [null, null], ['', '']],
  ];

  for (const [name, type, values, expected] of table) {
    it(name, () => {
      expect(cells(type, values)).toEqual(expected);
    });
  }

  it('map (string keys, and other keys written as JSON strings)', () => {
    const m1 = mapOf(new Utf8(), new Int32());
    expect(
      cells(m1, [
        new Map([
          ['k', 1],
          ['"', null],
        ]),
      ])
    ).toEqual(['"{""k"":1,""\\"""":null}"']);
    const m2 = mapOf(new Int32(), new Utf8());
    expect(cells(m2, [new Map([[1, 'x']])])).toEqual(['"{""1"":""x""}"']);
  });

  it('string and binary views (inline and in variadic buffers)', () => {
    const long = 'a string longer than "twelve" bytes';
    expect(cells(new Utf8View(), ['short', long, null, ''])).toEqual([
      '"short"',
      `"${long.replaceAll('"', '""')}"`,
      '',
      '""',
    ]);
    expect(cells(new BinaryView(), [Uint8Array.of(0, 255), new Uint8Array(20).fill(1)])).toEqual([
      '"AP8="',
      `"${Buffer.from(new Uint8Array(20).fill(1)).toString('base64')}"`,
    ]);
  });

  it('dense and sparse unions write the selected member', () => {
    const children = [new Field('i', new Int32(), true), new Field('s', new Utf8(), true)];
    const dense = makeData({
      type: new DenseUnion([0, 1], children),
      length: 3,
      nullCount: 0,
      typeIds: Int8Array.of(0, 1, 0),
      valueOffsets: Int32Array.of(0, 0, 1),
      children: [data(new Int32(), [7, 8]), data(new Utf8(), ['x'])],
    });
    const sparse = makeData({
      type: new SparseUnion([0, 1], children),
      length: 2,
      nullCount: 0,
      typeIds: Int8Array.of(1, 0),
      children: [data(new Int32(), [1, 2]), data(new Utf8(), ['a', 'b'])],
    });
    const out = new ByteBuffer(8);
    const all = (d: Data): string[] =>
      Array.from({ length: d.length }, (_, i) => {
        out.reset();
        csvCellWriter(d)(out, i);
        return text(out.bytes());
      });
    expect(all(dense)).toEqual(['7', '"x"', '8']);
    expect(all(sparse)).toEqual(['"a"', '2']);
  });

  it('decimal128 and decimal256 with their scale', () => {
    const out = new ByteBuffer(16);
    const cell = (d: Data, i: number): string => {
      out.reset();
      csvCellWriter(d)(out, i);
      return text(out.bytes());
    };
    const d = decimalData(2, 10, 128, [217600n, -5n, 0n, -(2n ** 127n), 2n ** 127n - 1n]);
    expect([0, 1, 2, 3, 4].map((i) => cell(d, i))).toEqual([
      '2176.00',
      '-0.05',
      '0.00',
      '-1701411834604692317316873037158841057.28',
      '1701411834604692317316873037158841057.27',
    ]);
    expect(cell(decimalData(0, 5, 128, [12n]), 0)).toBe('12');
    expect(cell(decimalData(-2, 5, 128, [12n]), 0)).toBe('1200');
    const big = decimalData(10, 76, 256, [10n ** 75n, -(10n ** 11n)]);
    expect(cell(big, 0)).toBe(`1${'0'.repeat(65)}.${'0'.repeat(10)}`);
    expect(cell(big, 1)).toBe('-10.0000000000');
  });

  it('intervals as ISO 8601 durations', () => {
    const out = new ByteBuffer(16);
    const cell = (d: Data, i: number): string => {
      out.reset();
      csvCellWriter(d)(out, i);
      return text(out.bytes());
    };
    const ym = makeData({
      type: new IntervalYearMonth(),
      length: 3,
      nullCount: 0,
      data: Int32Array.of(14, 0, -3),
    });
    expect([0, 1, 2].map((i) => cell(ym, i))).toEqual(['P1Y2M', 'PT0S', 'P-3M']);
    const dt = makeData({
      type: new IntervalDayTime(),
      length: 2,
      nullCount: 0,
      data: Int32Array.of(3, 4500, 0, 1),
    });
    expect([0, 1].map((i) => cell(dt, i))).toEqual(['P3DT4.5S', 'PT0.001S']);
    const mdn = makeData({
      type: new IntervalMonthDayNano(),
      length: 1,
      nullCount: 0,
      // months, days, then nanoseconds as an int64 (low word first): 3e9 ns.
      data: Int32Array.of(1, 2, 3e9 - 2 ** 32, 0),
    });
    expect(cell(mdn, 0)).toBe('P1M2DT3S');
  });

  it('a type without a text form is E_FORMAT_UNSUPPORTED', () => {
    const odd = {
      type: { typeId: 999, toString: () => 'Odd' },
      offset: 0,
      length: 1,
      nullCount: 0,
    };
    expect(() => csvCellWriter(odd as unknown as Data)).toThrow(
      expect.objectContaining({ code: 'E_FORMAT_UNSUPPORTED' })
    );
  });

  it('a one-column file writes a null as "" so its line is not empty', () => {
    const b = batchOf({ v: data(new Float64(), [1, null, 2]) });
    expect(text(encodeCsvBatch(b, { header: true }))).toBe('v\n1.0\n""\n2.0\n');
  });

  it('header names are quoted only when needed', () => {
    expect(text(csvHeaderBytes(['a', 'x"y', 'c,d', 'e\nf', '日本', ' sp ']))).toBe(
      'a,"x""y","c,d","e\nf",日本, sp \n'
    );
    const b = batchOf({ a: data(new Int32(), [1]), 'b,c': data(new Utf8(), ['x']) });
    expect(text(encodeCsvBatch(b, { header: true }))).toBe('a,"b,c"\n1,"x"\n');
    expect(text(encodeCsvBatch(b, { header: false }))).toBe('1,"x"\n');
  });

  it('sliced batches (offsets into bitmaps and buffers) write the slice only', () => {
    const b = batchOf({
      b: data(new Bool(), [true, false, null, true, false, null, true, true, false, true]),
      s: data(new Utf8(), ['a', 'b', null, 'd', 'e', null, 'g', 'h', 'i', 'j']),
      t: data(new TimestampMillisecond(), [0n, 1n, null, 3n, 4n, null, 6n, 7n, 8n, 9n]),
    });
    expect(text(encodeCsvBatch(b.slice(3, 9), { header: false }))).toBe(
      [
        'true,"d",1970-01-01 00:00:00.003',
        'false,"e",1970-01-01 00:00:00.004',
        ',,',
        'true,"g",1970-01-01 00:00:00.006',
        'true,"h",1970-01-01 00:00:00.007',
        'false,"i",1970-01-01 00:00:00.008',
        '',
      ].join('\n')
    );
  });

  it('appends to a given buffer and returns only the bytes of this batch', () => {
    const b = batchOf({ x: data(new Int32(), [1, 2]), y: data(new Utf8(), ['a', 'b']) });
    const out = new ByteBuffer(4);
    out.writeAscii('prefix|');
    const bytes = encodeCsvBatch(b, { header: true, out });
    expect(text(bytes)).toBe('x,y\n1,"a"\n2,"b"\n');
    expect(text(out.bytes())).toBe('prefix|x,y\n1,"a"\n2,"b"\n');
  });

  it('csvCellWriters append cells to verbatim input records (the passthrough)', () => {
    const input = new TextEncoder().encode('id,name\n1,"a,b"\n2,plain\n');
    const records = [
      [8, 15],
      [16, 23],
    ];
    const preds = batchOf({
      prediction: data(new Float64(), [0.5, null]),
      label: data(new Utf8(), ['yes', 'no']),
    });
    const out = new ByteBuffer(8);
    out.writeAscii('id,name,prediction,label\n');
    const writers = csvCellWriters(preds);
    records.forEach(([from, to], r) => {
      out.writeBytes(input, from!, to!);
      for (const w of writers) {
        out.writeByte(0x2c);
        w(out, r);
      }
      out.writeByte(0x0a);
    });
    expect(text(out.bytes())).toBe('id,name,prediction,label\n1,"a,b",0.5,"yes"\n2,plain,,"no"\n');
  });
});

/**
 * What the CsvEncoder of `src/io/csv.ts` wrote (commit 544303a) for the types it wrote right,
 * frozen here so the new writer is held to it after the old one is deleted: integers with
 * `String`, float64 with `formatCsvFloat`, strings always quoted, booleans, dates, base64.
 */
function legacyCsv(batch: RecordBatch): string {
  const quote = (s: string): string => `"${s.replaceAll('"', '""')}"`;
  const float = (v: number): string => {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'inf';
    if (v === -Infinity) return '-inf';
    const s = String(v);
    return /^-?\d+$/.test(s) ? `${s}.0` : s;
  };
  const fmt = (type: DataType, v: unknown): string => {
    switch (type.typeId) {
      case Type.Int:
        return String(v);
      case Type.Float:
        return float(v as number);
      case Type.Bool:
        return v ? 'true' : 'false';
      case Type.Utf8:
      case Type.LargeUtf8:
        return quote(v as string);
      case Type.Date:
        return new Date(v as number).toISOString().slice(0, 10);
      case Type.Binary:
        return quote(Buffer.from(v as Uint8Array).toString('base64'));
      default:
        throw new Error(`legacyCsv: ${String(type)}`);
    }
  };
  const fields = batch.schema.fields;
  const parts = [
    fields.map((f) => (/[",\r\n]/.test(f.name) ? quote(f.name) : f.name)).join(','),
    '\n',
  ];
  for (let r = 0; r < batch.numRows; r++) {
    fields.forEach((f, c) => {
      if (c > 0) parts.push(',');
      const v: unknown = batch.getChildAt(c)?.get(r);
      if (v !== null && v !== undefined) parts.push(fmt(f.type as DataType, v));
    });
    parts.push('\n');
  }
  return parts.join('');
}

const nullable = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.option(a, { nil: null, freq: 5 });
const csvish = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '"', '""', ',', '\n', '\r\n', 'a,"b"\nc', '007', ' x ', 'NaN', 'null')
);
const int64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n)
);
const float64 = fc.oneof(
  fc.double(),
  fc.integer().map((i) => i / 100),
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 45 }), fc.integer({ min: 0, max: 14 }), fc.boolean())
    .map(([m, k, neg]) => (neg ? -m : m) / 10 ** k),
  fc.constantFrom(-0, 5e-324, 2.2250738585072014e-308, 1e21, 1e-7, 0.1, 2 ** 53)
);
const float32 = fc.oneof(
  fc.float(),
  fc.integer().map((i) => f32(i / 1000))
);

describe('CSV output is byte-identical to the old CsvEncoder where that was right', () => {
  it('strings, integers (8..64 bit), float64 (not -0), booleans, dates, binary', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            s: nullable(csvish),
            i8: nullable(fc.integer({ min: -128, max: 127 })),
            u16: nullable(fc.integer({ min: 0, max: 65535 })),
            i32: nullable(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
            u32: nullable(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
            i64: nullable(int64),
            u64: nullable(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
            d: nullable(float64.filter((v) => !Object.is(v, -0))),
            b: nullable(fc.boolean()),
            day: nullable(fc.integer({ min: -700000, max: 2900000 }).map((x) => x * 86400000)),
            bin: nullable(fc.uint8Array({ maxLength: 10 })),
          }),
          { maxLength: 30 }
        ),
        (rs) => {
          const pick = <K extends keyof (typeof rs)[number]>(k: K) => rs.map((r) => r[k]);
          const b = batchOf({
            s: data(new Utf8(), pick('s')),
            'i,8': data(new Int8(), pick('i8')),
            u16: data(new Uint16(), pick('u16')),
            i32: data(new Int32(), pick('i32')),
            u32: data(new Uint32(), pick('u32')),
            i64: data(new Int64(), pick('i64')),
            u64: data(new Uint64(), pick('u64')),
            d: data(new Float64(), pick('d')),
            b: data(new Bool(), pick('b')),
            day: data(new DateDay(), pick('day')),
            bin: data(new Binary(), pick('bin')),
          });
          expect(text(encodeCsvBatch(b, { header: true }))).toBe(legacyCsv(b));
        }
      ),
      { numRuns: 150 }
    );
  });
});

describe('CSV round trip through readCsvBatches', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  let n = 0;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => {
    await cleanup();
  });

  /** Writes `batch` as CSV, reads it back typed by `schema`, returns the rows. */
  async function roundTrip(batch: RecordBatch, schema: ColSpec[]) {
    const path = join(dir, `rt-${n++}.csv`);
    await writeFile(path, encodeCsvBatch(batch, { header: true }));
    return rows(await collect(readCsvBatches(path, { schema })));
  }

  const spec = (name: string, type: ValueType['type']): ColSpec =>
    col(name, { type } as ValueType, false);

  it('every scalar type, random values with nulls, reads back to the same values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            s: nullable(csvish),
            i16: nullable(fc.integer({ min: -32768, max: 32767 })),
            u32: nullable(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
            i64: nullable(int64),
            d: nullable(float64),
            f: nullable(float32),
            b: nullable(fc.boolean()),
            bin: nullable(fc.uint8Array({ maxLength: 8 })),
            ms: nullable(fc.bigInt({ min: -62135596800000n, max: 253402300799999n })),
            day: nullable(fc.integer({ min: -719162, max: 2932896 })),
          }),
          { minLength: 1, maxLength: 25 }
        ),
        async (rs) => {
          const pick = <K extends keyof (typeof rs)[number]>(k: K) => rs.map((r) => r[k]);
          const b = batchOf({
            s: data(new Utf8(), pick('s')),
            i16: data(new Int16(), pick('i16')),
            u32: data(new Uint32(), pick('u32')),
            i64: data(new Int64(), pick('i64')),
            d: data(new Float64(), pick('d')),
            f: data(new Float32(), pick('f')),
            b: data(new Bool(), pick('b')),
            bin: data(new Binary(), pick('bin')),
            ms: data(new TimestampMillisecond(), pick('ms')),
            day: data(
              new DateDay(),
              pick('day').map((x) => (x === null ? null : x * 86400000))
            ),
          });
          const back = await roundTrip(b, [
            spec('s', 'string'),
            spec('i16', 'integer'),
            spec('u32', 'long'),
            spec('i64', 'long'),
            spec('d', 'double'),
            spec('f', 'float'),
            spec('b', 'boolean'),
            spec('bin', 'binary'),
            spec('ms', 'datetime'),
            spec('day', 'datetime'),
          ]);
          const want: Record<string, unknown>[] = rows([b]).map((r) => ({
            ...r,
            u32: r['u32'] === null ? null : BigInt(r['u32'] as number),
          }));
          expect(back).toEqual(want);
          // toEqual does not tell -0 from 0; the writer must.
          back.forEach((r, i) => expect(Object.is(r['d'], want[i]?.['d'])).toBe(true));
        }
      ),
      { numRuns: 40 }
    );
  });

  it('timestamps of every unit and zone read back to the same instant (at ms precision)', async () => {
    const units = [
      { type: new TimestampSecond(), perMs: 0n, min: -62135596800n, max: 253402300799n },
      { type: new TimestampMicrosecond('UTC'), perMs: 1000n, min: -6e16, max: 2.5e17 },
      {
        type: new TimestampNanosecond(),
        perMs: 1000000n,
        min: -(2n ** 63n) + 1n,
        max: 2n ** 63n - 1n,
      },
      { type: new TimestampMillisecond('+05:30'), perMs: 1n, min: -6e13, max: 2.5e14 },
    ];
    for (const u of units) {
      await fc.assert(
        fc.asyncProperty(
          fc.array(nullable(fc.bigInt({ min: BigInt(u.min), max: BigInt(u.max) })), {
            minLength: 1,
            maxLength: 20,
          }),
          async (vs) => {
            const b = batchOf({ t: data(u.type, vs) });
            const back = await roundTrip(b, [spec('t', 'datetime')]);
            const floorDiv = (a: bigint, d: bigint): bigint => {
              const q = a / d;
              return a % d !== 0n && a < 0n ? q - 1n : q;
            };
            expect(back.map((r) => r['t'])).toEqual(
              vs.map((v) =>
                v === null ? null : Number(u.perMs === 0n ? v * 1000n : floorDiv(v, u.perMs))
              )
            );
          }
        ),
        { numRuns: 15 }
      );
    }
  });

  it('float16, decimals, dictionaries and nested values read back (typed by a signature)', async () => {
    const f16 = [f16round(0.1), f16round(1 / 3), 65504, 2 ** -24, -0, null];
    const b = batchOf({
      h: makeData({
        type: new Float16(),
        length: 6,
        nullCount: 1,
        nullBitmap: Uint8Array.of(0b011111),
        data: Uint16Array.from(f16.map((v) => (v === null ? 0 : f16Bits(v)))),
      }),
      dec: (() => {
        const d = decimalData(2, 10, 128, [217600n, -5n, 0n, 1n, 123456789012345n, 99n]);
        return d;
      })(),
      dict: data(new Dictionary(new Utf8(), new Int32()), ['p', 'q', null, 'p', '"', '']),
      li: data(new List(new Field('item', new Float64(), true)), [
        [1.5, null],
        [],
        null,
        [2],
        [-0],
        [1e21],
      ]),
      st: data(new Struct([new Field('a', new Utf8(), true), new Field('n', new Int64(), true)]), [
        { a: 'x', n: 1n },
        { a: null, n: 2n },
        null,
        { a: '"', n: 3n },
        { a: '', n: 4n },
        { a: 'é', n: 5n },
      ]),
    });
    const back = await roundTrip(b, [
      spec('h', 'float'),
      spec('dec', 'double'),
      spec('dict', 'string'),
      col('li', { type: 'array', items: { type: 'double' } }, false),
      col(
        'st',
        {
          type: 'object',
          properties: [
            { name: 'a', type: { type: 'string' }, required: false },
            { name: 'n', type: { type: 'long' }, required: false },
          ],
        },
        false
      ),
    ]);
    expect(back.map((r) => (r['h'] === null ? null : f16round(r['h'] as number)))).toEqual(f16);
    expect(back.map((r) => r['dec'])).toEqual([2176, -0.05, 0, 0.01, 1234567890123.45, 0.99]);
    expect(back.map((r) => r['dict'])).toEqual(['p', 'q', null, 'p', '"', '']);
    // (the rows() helper turns lists into JSON, so -0 in a list compares as 0 on both sides)
    expect(back.map((r) => r['li'])).toEqual(rows([b]).map((r) => r['li']));
    expect(back.map((r) => r['st'])).toEqual([
      { a: 'x', n: '1n' },
      { a: null, n: '2n' },
      null,
      { a: '"', n: '3n' },
      { a: '', n: '4n' },
      { a: 'é', n: '5n' },
    ]);
  });

  it('random decimals (128/256 bit, any scale) and lists of doubles read back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(128 as const, 256 as const),
        fc.integer({ min: -2, max: 12 }),
        fc.array(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), {
          minLength: 1,
          maxLength: 15,
        }),
        fc.array(nullable(fc.array(nullable(float64), { maxLength: 4 })), {
          minLength: 15,
          maxLength: 15,
        }),
        async (bits, scale, decs, lists) => {
          const b = batchOf({
            dec: decimalData(scale, 38, bits, decs),
            li: data(new List(new Field('item', new Float64(), true)), lists.slice(0, decs.length)),
          });
          const back = await roundTrip(b, [
            spec('dec', 'double'),
            col('li', { type: 'array', items: { type: 'double' } }, false),
          ]);
          const decimalText = (x: bigint): string => {
            const neg = x < 0n;
            let t = (neg ? -x : x).toString();
            if (scale > 0) {
              t = t.padStart(scale + 1, '0');
              t = `${t.slice(0, -scale)}.${t.slice(-scale)}`;
            } else t += '0'.repeat(-scale);
            return (neg ? '-' : '') + t;
          };
          expect(back.map((r) => r['dec'])).toEqual(decs.map((x) => Number(decimalText(x))));
          expect(back.map((r) => r['li'])).toEqual(rows([b]).map((r) => r['li']));
        }
      ),
      { numRuns: 30 }
    );
  });

  it('without a signature, the inferred types are the written ones', async () => {
    const b = batchOf({
      i: data(new Int64(), [1n, -2n]),
      d: data(new Float64(), [1, 2.5]),
      f: data(new Float32(), [f32(1 / 60), 3]),
      b: data(new Bool(), [true, false]),
      s: data(new Utf8(), ['007', '1.5']),
      t: data(new TimestampMicrosecond(), [1686009600123456n, 1686009600000000n]),
      dec: decimalData(2, 10, 128, [217600n, 1n]),
    });
    const path = join(dir, 'infer.csv');
    await writeFile(path, encodeCsvBatch(b, { header: true }));
    const [back] = await collect(readCsvBatches(path));
    expect(back?.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual([
      'i: Int64',
      'd: Float64',
      'f: Float64',
      'b: Bool',
      's: Utf8',
      't: Timestamp<MILLISECOND>',
      'dec: Float64',
    ]);
    expect(rows([back as RecordBatch])[0]).toMatchObject({ f: 0.016666668, s: '007', dec: 2176 });
  });
});

describe('byte-buffer appenders', () => {
  const out = new ByteBuffer(1);
  const run = (f: () => void): string => {
    out.reset();
    f();
    return text(out.bytes());
  };

  it('grows geometrically and keeps what was written', () => {
    const b = new ByteBuffer(1);
    for (let i = 0; i < 1000; i++) b.writeAscii('abc');
    b.writeUtf8('é🚀');
    b.writeBytes(new Uint8Array(100).fill(120), 10, 90);
    expect(b.length).toBe(3000 + 6 + 80);
    expect(text(b.bytes())).toBe(`${'abc'.repeat(1000)}é🚀${'x'.repeat(80)}`);
    expect(b.buf.length).toBeLessThan(2 * b.length + 64);
    b.reset();
    expect(b.bytes().length).toBe(0);
  });

  it('float64 text equals String(v) (+ .0 for integers) for any double', () => {
    fc.assert(
      fc.property(float64, (v) => {
        fc.pre(Number.isFinite(v));
        const s = Object.is(v, -0) ? '-0' : String(v);
        expect(run(() => writeFloat64(out, v))).toBe(/^-?\d+$/.test(s) ? `${s}.0` : s);
      }),
      { numRuns: 20000 }
    );
  });

  it('float32 text is the shortest that reads back through Math.fround', () => {
    fc.assert(
      fc.property(float32, (v) => {
        fc.pre(Number.isFinite(v) && v !== 0);
        const t = run(() => writeNarrowFloat(out, v, Math.fround, 9));
        expect(Math.fround(Number(t))).toBe(v);
        const digits = t.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
        const sig = digits.replace(/0+$/, '').length;
        // No shorter decimal reads back: try every (sig - 1)-digit rounding of v.
        if (sig > 1) expect(Math.fround(Number(v.toPrecision(sig - 1)))).not.toBe(v);
      }),
      { numRuns: 20000 }
    );
  });

  it('every float16 value reads back through f16round', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = f16FromBits(bits);
      if (!Number.isFinite(v) || v === 0) continue;
      const t = run(() => writeNarrowFloat(out, v, f16round, 5));
      if (f16round(Number(t)) !== v) expect(t).toBe(`reads back to ${v}`);
    }
    expect(run(() => writeNarrowFloat(out, 0.0999755859375, f16round, 5))).toBe('0.1');
  });

  it('int64 words: exact digits for any int64 and uint64', () => {
    const big = new BigInt64Array(1);
    const w = new Int32Array(big.buffer);
    fc.assert(
      fc.property(int64, (x) => {
        big[0] = x;
        expect(run(() => writeInt64Words(out, w[0]!, w[1]!, true))).toBe(x.toString());
        expect(run(() => writeInt64Words(out, w[0]!, w[1]!, false))).toBe(
          BigInt.asUintN(64, x).toString()
        );
      }),
      { numRuns: 5000 }
    );
  });

  it('decimal words: exact digits with the scale, 128 and 256 bit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(128, 256),
        fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n }),
        fc.integer({ min: -3, max: 40 }),
        (bits, raw, scale) => {
          const x = BigInt.asIntN(bits, raw);
          const words = new Uint32Array(bits / 32);
          let u = BigInt.asUintN(bits, x);
          for (let i = 0; i < words.length; i++) {
            words[i] = Number(u & 0xffffffffn);
            u >>= 32n;
          }
          const neg = x < 0n;
          let s = (neg ? -x : x).toString();
          if (scale > 0) {
            s = s.padStart(scale + 1, '0');
            s = `${s.slice(0, -scale)}.${s.slice(-scale)}`;
          } else if (x !== 0n) s += '0'.repeat(-scale);
          expect(run(() => writeDecimalWords(out, words, 0, words.length, scale))).toBe(
            (neg ? '-' : '') + s
          );
        }
      ),
      { numRuns: 3000 }
    );
  });

  it('base64 equals Buffer.toString("base64")', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(run(() => writeBase64(out, bytes, 0, bytes.length))).toBe(
          Buffer.from(bytes).toString('base64')
        );
      })
    );
  });

  it('timestamps and dates agree with Date.prototype.toISOString', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62135596800000, max: 253402300799999 }), (ms) => {
        const b = batchOf({ t: data(new TimestampMillisecond(), [BigInt(ms)]) });
        const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
        const frac = iso.slice(19, 23) === '.000' ? '' : iso.slice(19, 23);
        expect(text(encodeCsvBatch(b, { header: false }))).toBe(
          `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}\n`
        );
      }),
      { numRuns: 5000 }
    );
  });
});

it('a table of every supported type encodes (no type is refused)', () => {
  const t = new Table({
    a: vectorFromArray([1, 2], new Int32()),
    b: vectorFromArray(['x', null], new Utf8()),
  });
  expect(text(encodeCsvBatch(t.batches[0] as RecordBatch, { header: true }))).toBe(
    'a,b\n1,"x"\n2,\n'
  );
});
