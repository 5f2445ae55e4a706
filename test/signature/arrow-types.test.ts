import { describe, it, expect } from 'vitest';
import {
  Binary,
  Bool,
  DateDay,
  Dictionary,
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
  LargeBinary,
  LargeUtf8,
  List,
  Map_,
  Null,
  Struct,
  TimeMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
} from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import {
  arrowTypeFor,
  arrowTypeForTensorDtype,
  valueTypeFor,
} from '../../src/signature/arrow-types.js';
import { DataTypes } from '../../src/signature/types.js';
import type { ValueType } from '../../src/signature/types.js';

describe('arrowTypeFor', () => {
  it('maps each primitive to its canonical Arrow type', () => {
    const expected: Record<string, string> = {
      boolean: 'Bool',
      integer: 'Int32',
      long: 'Int64',
      float: 'Float32',
      double: 'Float64',
      string: 'Utf8',
      binary: 'Binary',
      datetime: 'Timestamp<MILLISECOND>',
    };
    for (const t of DataTypes) expect(String(arrowTypeFor({ type: t }))).toBe(expected[t]);
  });

  it('maps nested types; object fields sorted and nullable; map keys Utf8', () => {
    const obj: ValueType = {
      type: 'object',
      properties: [
        { name: 'z', type: { type: 'long' }, required: true },
        { name: 'a', type: { type: 'array', items: { type: 'string' } }, required: true },
      ],
    };
    const struct = arrowTypeFor(obj)!;
    expect(struct.typeId).toBe(Type.Struct);
    expect(struct.children.map((f: Field) => [f.name, String(f.type), f.nullable])).toEqual([
      ['a', 'List<Utf8>', true],
      ['z', 'Int64', true],
    ]);
    const map = arrowTypeFor({ type: 'map', values: { type: 'double' } })!;
    expect(map.typeId).toBe(Type.Map);
    expect(String(map)).toBe('Map<{key:Utf8, value:Float64}>');
    expect((map as Map_).children[0]?.type.children[0]?.nullable).toBe(false);
    expect(String(arrowTypeFor({ type: 'sparkml_vector' }))).toBe('List<Float64>');
  });

  it('has no Arrow type for any, even nested', () => {
    expect(arrowTypeFor({ type: 'any' })).toBeNull();
    expect(arrowTypeFor({ type: 'array', items: { type: 'any' } })).toBeNull();
  });

  it('round trips through valueTypeFor', () => {
    const types: ValueType[] = [
      ...DataTypes.map((t) => ({ type: t }) as ValueType),
      { type: 'array', items: { type: 'array', items: { type: 'long' } } },
      { type: 'map', values: { type: 'boolean' } },
      {
        type: 'object',
        properties: [
          { name: 'a', type: { type: 'datetime' }, required: true },
          { name: 'b', type: { type: 'map', values: { type: 'string' } }, required: true },
        ],
      },
    ];
    for (const t of types) expect(valueTypeFor(arrowTypeFor(t)!)).toEqual(t);
  });
});

describe('valueTypeFor (MLflow inference table)', () => {
  const cases: [DataType, ValueType][] = [
    [new Int8(), { type: 'integer' }],
    [new Int16(), { type: 'integer' }],
    [new Int32(), { type: 'integer' }],
    [new Uint8(), { type: 'integer' }],
    [new Uint16(), { type: 'integer' }],
    [new Int64(), { type: 'long' }],
    [new Uint32(), { type: 'long' }],
    [new Uint64(), { type: 'long' }],
    [new Float16(), { type: 'float' }],
    [new Float32(), { type: 'float' }],
    [new Float64(), { type: 'double' }],
    [new Utf8(), { type: 'string' }],
    [new LargeUtf8(), { type: 'string' }],
    [new Binary(), { type: 'binary' }],
    [new LargeBinary(), { type: 'binary' }],
    [new FixedSizeBinary(4), { type: 'binary' }],
    [new TimestampSecond(), { type: 'datetime' }],
    [new TimestampNanosecond(), { type: 'datetime' }],
    [new DateDay(), { type: 'datetime' }],
    [new Bool(), { type: 'boolean' }],
    [new Null(), { type: 'any' }],
    [
      new FixedSizeList(3, new Field('item', new Float32())),
      { type: 'array', items: { type: 'float' } },
    ],
    [new Dictionary(new Utf8(), new Int32()), { type: 'string' }],
  ];
  for (const [arrow, expected] of cases) {
    it(`${String(arrow)} -> ${JSON.stringify(expected)}`, () => {
      expect(valueTypeFor(arrow)).toEqual(expected);
    });
  }

  it('reads types by typeId, so a type from another Arrow copy works', () => {
    // A structural stand-in for a List<Int64> built by a different apache-arrow instance.
    const foreign = {
      typeId: Type.List,
      children: [
        { name: 'item', nullable: true, type: { typeId: Type.Int, bitWidth: 64, isSigned: true } },
      ],
    } as unknown as DataType;
    expect(valueTypeFor(foreign)).toEqual({ type: 'array', items: { type: 'long' } });
  });

  it('rejects types with no MLflow equivalent and non-string map keys', () => {
    expect(() => valueTypeFor(new TimeMillisecond())).toThrow(/Time.*no MLflow equivalent/);
    const intKeys = new Map_(
      new Field(
        'entries',
        new Struct<any>([new Field('key', new Int32(), false), new Field('value', new Utf8())]),
        false
      )
    );
    expect(() => valueTypeFor(intKeys)).toThrow(/map keys must be strings, found integer/);
    expect(() => valueTypeFor(new Struct([]))).toThrow(/empty object/);
  });

  it('List of Struct maps to array<object>', () => {
    const t = new List(
      new Field('item', new Struct([new Field('b', new Utf8()), new Field('a', new Int32())]))
    );
    expect(valueTypeFor(t)).toEqual({
      type: 'array',
      items: {
        type: 'object',
        properties: [
          { name: 'a', type: { type: 'integer' }, required: true },
          { name: 'b', type: { type: 'string' }, required: true },
        ],
      },
    });
  });
});

describe('arrowTypeForTensorDtype', () => {
  it('maps numpy dtype names', () => {
    const cases: [string, string | null][] = [
      ['bool', 'Bool'],
      ['int8', 'Int8'],
      ['int64', 'Int64'],
      ['uint8', 'Uint8'],
      ['uint64', 'Uint64'],
      ['float16', 'Float16'],
      ['float32', 'Float32'],
      ['float64', 'Float64'],
      ['str', 'Utf8'],
      ['bytes', 'Binary'],
      ['datetime64[ns]', 'Timestamp<NANOSECOND>'],
      ['datetime64[ms]', 'Timestamp<MILLISECOND>'],
      ['object', null],
      ['complex64', null],
    ];
    for (const [dtype, arrow] of cases) {
      const t = arrowTypeForTensorDtype(dtype);
      expect(t === null ? null : String(t)).toBe(arrow);
    }
  });
});
