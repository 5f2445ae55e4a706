import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  Dictionary,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeUtf8,
  List,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  makeVector,
  tableFromArrays,
  vectorFromArray,
  Map_,
} from 'apache-arrow';
import { enforceSchema } from '../../src/signature/enforce-schema.js';
import type { DataTypeName, Schema, TensorSpec, ValueType } from '../../src/signature/types.js';
import { col } from '../util/col-spec.js';
import { errorOf } from '../util/model-error.js';

function collect(): { warn: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m) => messages.push(m), messages };
}

describe('enforceSchema: column names', () => {
  const schema = [col('a', 'double'), col('b', 'string'), col('c', 'long', false)];

  it('returns the table unchanged without a schema', () => {
    const t = tableFromArrays({ x: new Float64Array([1]) });
    expect(enforceSchema(t, null)).toBe(t);
  });

  it('reports missing required inputs, with extras when present', () => {
    const t = tableFromArrays({ x: new Float64Array([1]) });
    const e = errorOf(() => enforceSchema(t, schema, () => {}));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toBe(
      "Model is missing inputs ['a', 'b']. Note that there were extra inputs: ['x']."
    );
    expect(e.details).toEqual({ missing: ['a', 'b'], extra: ['x'] });
    const e2 = errorOf(() => enforceSchema(tableFromArrays({ a: new Float64Array([1]) }), schema));
    expect(e2.message).toBe("Model is missing inputs ['b'].");
  });

  it('drops extra columns with a warning and reorders to schema order', () => {
    const t = new Table({
      x: vectorFromArray([1, 2], new Float64()),
      b: vectorFromArray(['p', 'q'], new Utf8()),
      a: vectorFromArray([3, 4], new Float64()),
    });
    const { warn, messages } = collect();
    const out = enforceSchema(t, schema, warn);
    // c is optional and absent: added, all null (see below).
    expect(out.schema.fields.map((f) => f.name)).toEqual(['a', 'b', 'c']);
    expect(out.getChild('a')!.toArray()).toEqual(new Float64Array([3, 4]));
    expect(out.getChild('b')!.toArray()).toEqual(['p', 'q']);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("`['x']`");
  });

  it('adds a missing optional column as all nulls of its type, and keeps a present one', () => {
    const t = tableFromArrays({ b: ['z'], a: new Float64Array([1]) });
    const filled = enforceSchema(t, schema);
    expect(filled.schema.fields.map((f) => f.name)).toEqual(['a', 'b', 'c']);
    expect(String(filled.getChild('c')!.type)).toBe('Int64');
    expect([...filled.getChild('c')!]).toEqual([null]);
    const t2 = tableFromArrays({ a: new Float64Array([1]), b: ['z'], c: new Int32Array([7]) });
    const out = enforceSchema(t2, schema);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['a', 'b', 'c']);
    expect(DataType.isInt(out.getChild('c')!.type) && out.getChild('c')!.type.bitWidth).toBe(64);
    expect(out.getChild('c')!.get(0)).toBe(7n);
  });

  it('fills missing optional columns of any type, batch by batch, with nulls the model can read', () => {
    const specs: Schema = [
      col('a', 'double'),
      col('arr', { type: 'array', items: { type: 'double' } }, false),
      col(
        'obj',
        { type: 'object', properties: [{ name: 'k', type: { type: 'string' }, required: true }] },
        false
      ),
      col('m', { type: 'map', values: { type: 'long' } }, false),
      col('t', 'datetime', false),
      col('anything', { type: 'any' }, false),
    ];
    const two = new Table([
      ...tableFromArrays({ a: new Float64Array([1, 2]) }).batches,
      ...tableFromArrays({ a: new Float64Array([3, 4, 5]) }).batches,
    ]);
    const out = enforceSchema(two, specs);
    expect(out.batches.map((b) => b.numRows)).toEqual([2, 3]);
    expect(out.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'a:Float64',
      'arr:List<Float64>',
      'obj:Struct<{k:Utf8}>',
      'm:Map<{key:Utf8, value:Int64}>',
      't:Timestamp<MILLISECOND>',
      'anything:Null',
    ]);
    for (const name of ['arr', 'obj', 'm', 't', 'anything']) {
      const v = out.getChild(name)!;
      expect([v.length, v.nullCount, v.get(4)]).toEqual([5, 5, null]);
    }
  });

  it('checks an optional column type when present', () => {
    const t = new Table({
      a: vectorFromArray([1], new Float64()),
      b: vectorFromArray(['z'], new Utf8()),
      c: vectorFromArray(['nope'], new Utf8()),
    });
    expect(errorOf(() => enforceSchema(t, schema)).message).toBe(
      'Incompatible input types for column c. Can not safely convert Utf8 to int64.'
    );
  });

  it('unnamed schema: positional, count only, keeps input names, drops extra trailing columns', () => {
    const unnamed = [col(undefined, 'double'), col(undefined, 'double'), col(undefined, 'double')];
    const two = tableFromArrays({ p: new Float64Array([1]), q: new Float64Array([2]) });
    expect(errorOf(() => enforceSchema(two, unnamed)).message).toContain(
      'The model signature declares 3 inputs  but the provided value only has 2 inputs.'
    );
    const four = tableFromArrays({
      p: new Float64Array([1]),
      q: new Float32Array([2]),
      r: new Int32Array([3]),
      s: new Float64Array([4]),
    });
    const out = enforceSchema(four, unnamed);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['p', 'q', 'r']);
    expect(out.schema.fields.every((f) => DataType.isFloat(f.type) && f.type.precision === 2)).toBe(
      true
    );
    expect(out.getChild('r')!.get(0)).toBe(3);
    const ints = tableFromArrays({
      p: new BigInt64Array([2n]),
      q: new Float64Array([2]),
      r: new Float64Array([3]),
    });
    expect(errorOf(() => enforceSchema(ints, unnamed)).message).toContain(
      'Can not safely convert int64 to float64'
    );
  });

  it('is zero-copy for a 65k-row table with matching types', () => {
    const n = 65_536;
    const t = tableFromArrays({ a: new Float64Array(n).fill(1.5), b: new Int32Array(n).fill(3) });
    const out = enforceSchema(t, [col('a', 'double'), col('b', 'integer')]);
    expect(out).toBe(t);
    const reordered = enforceSchema(t, [col('b', 'integer'), col('a', 'double')]);
    expect(reordered.getChild('a')!.data[0]!.values).toBe(t.getChild('a')!.data[0]!.values);
  });
});

// ---------------------------------------------------------------------------------------------
// Widening table as a property: for each numeric source type x target, accepted iff MLflow's
// rule says so (written out independently below as a table), and values are preserved.

type Src = {
  name: string;
  type: () => DataType;
  kind: 'i' | 'u' | 'f';
  bytes: number;
  min: number;
  max: number;
};
const sources: Src[] = [
  { name: 'int8', type: () => new Int8(), kind: 'i', bytes: 1, min: -128, max: 127 },
  { name: 'int16', type: () => new Int16(), kind: 'i', bytes: 2, min: -32768, max: 32767 },
  {
    name: 'int32',
    type: () => new Int32(),
    kind: 'i',
    bytes: 4,
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
  },
  { name: 'int64', type: () => new Int64(), kind: 'i', bytes: 8, min: -(2 ** 53), max: 2 ** 53 },
  { name: 'uint8', type: () => new Uint8(), kind: 'u', bytes: 1, min: 0, max: 255 },
  { name: 'uint16', type: () => new Uint16(), kind: 'u', bytes: 2, min: 0, max: 65535 },
  { name: 'uint32', type: () => new Uint32(), kind: 'u', bytes: 4, min: 0, max: 2 ** 32 - 1 },
  { name: 'uint64', type: () => new Uint64(), kind: 'u', bytes: 8, min: 0, max: 2 ** 53 },
  { name: 'float16', type: () => new Float16(), kind: 'f', bytes: 2, min: -2048, max: 2048 },
  { name: 'float32', type: () => new Float32(), kind: 'f', bytes: 4, min: -1e6, max: 1e6 },
  { name: 'float64', type: () => new Float64(), kind: 'f', bytes: 8, min: -1e12, max: 1e12 },
];
// Accepted source types per target, from the brief / MLflow's tests (T1 L190-266).
const accepted: Record<string, string[]> = {
  integer: ['int8', 'int16', 'int32', 'uint8', 'uint16'],
  long: ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'],
  float: ['float16', 'float32'],
  double: ['int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'float16', 'float32', 'float64'],
};

function vectorOf(src: Src, values: (number | null)[]) {
  const isBig = src.bytes === 8 && src.kind !== 'f';
  return vectorFromArray(
    values.map((v) => (v === null ? null : isBig ? BigInt(v) : v)),
    src.type()
  );
}

describe('enforceSchema: numeric widening', () => {
  for (const target of Object.keys(accepted) as DataTypeName[]) {
    it(`target ${target}: accepted iff the widening table allows it, values preserved`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...sources),
          fc.array(fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null }), {
            minLength: 1,
            maxLength: 20,
          }),
          (src, raw) => {
            // Generate values in range and, when the source is integral or to integer targets, integral.
            const values = raw.map((v) => {
              if (v === null) return null;
              const clamped = Math.min(src.max, Math.max(src.min, v));
              return src.kind === 'f'
                ? src.bytes === 2
                  ? Math.round(clamped)
                  : Math.fround(clamped)
                : Math.trunc(clamped);
            });
            // Keep int64 away from the 0/1 exception here (tested separately).
            if (src.name === 'int64') values.push(5);
            const vector = vectorOf(src, values);
            const t = new Table({ a: vector });
            const ok = accepted[target]!.includes(src.name);
            if (!ok) {
              const e = errorOf(() => enforceSchema(t, [col('a', target)]));
              expect(e.code).toBe('E_SCHEMA_MISMATCH');
              expect(e.message).toContain(
                `Incompatible input types for column a. Can not safely convert ${src.name} to`
              );
              return;
            }
            const out = enforceSchema(t, [col('a', target)]).getChild('a')!;
            const expectedType = {
              integer: 'int32',
              long: 'int64',
              float: 'float32',
              double: 'float64',
            }[target as 'integer'];
            const t2 = out.type;
            const name = DataType.isInt(t2)
              ? `int${t2.bitWidth}`
              : DataType.isFloat(t2)
                ? `float${[16, 32, 64][t2.precision]}`
                : '?';
            expect(name).toBe(expectedType);
            expect(out.nullCount).toBe(vector.nullCount);
            for (let i = 0; i < values.length; i++) {
              const got = out.get(i);
              const want = vector.get(i);
              expect(got === null ? null : Number(got)).toBe(want === null ? null : Number(want));
            }
          }
        ),
        { numRuns: 60 }
      );
    });
  }

  it('int64 -> double/float only when every value is 0, 1 or null', () => {
    const v = vectorFromArray([0n, 1n, null, 1n], new Int64());
    const out = enforceSchema(new Table({ a: v }), [col('a', 'double')]).getChild('a')!;
    expect(out.toArray()).toEqual(new Float64Array([0, 1, 0, 1]));
    expect(out.get(2)).toBeNull();
    expect(
      DataType.isFloat(enforceSchema(new Table({ a: v }), [col('a', 'float')]).getChild('a')!.type)
    ).toBe(true);
    const bad = new Table({ a: vectorFromArray([0n, 2n], new Int64()) });
    const e = errorOf(() => enforceSchema(bad, [col('a', 'double')]));
    expect(e.message).toBe(
      'Incompatible input types for column a. Can not safely convert int64 to float64. ' +
        'Hint: int64 converts to a floating-point column only when every value is 0, 1 or null ' +
        '(MLflow rule). Declare the column long in the signature, or cast it to Float64 first.'
    );
    expect(e.details).toMatchObject({ column: 'a', found: 'int64', expected: 'float64' });
  });

  it('refuses float64 -> int64 as MLflow does, naming the fixes for JS numbers', () => {
    // tableFromArrays makes Float64 columns from JS numbers; a `long` signature refuses them.
    const t = tableFromArrays({ passengers: [1, 2] });
    const e = errorOf(() => enforceSchema(t, [col('passengers', 'long')]));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toBe(
      'Incompatible input types for column passengers. Can not safely convert float64 to int64. ' +
        'Hint: JavaScript numbers are float64. Declare the column double in the signature ' +
        "(inferSignature does for JS numbers unless given { integers: 'long' }), or send it as " +
        'an integer column (Arrow Int32/Int64, or an Int32Array/BigInt64Array).'
    );
    expect(e.details).toMatchObject({ column: 'passengers', found: 'float64', expected: 'int64' });
    // Either fix works: a double signature, or integer data.
    const asDouble = enforceSchema(t, [col('passengers', 'double')]);
    expect(asDouble.getChild('passengers')!.toArray()).toEqual(new Float64Array([1, 2]));
    const ints = tableFromArrays({ passengers: BigInt64Array.from([1n, 2n]) });
    expect(
      enforceSchema(ints, [col('passengers', 'long')])
        .getChild('passengers')!
        .get(1)
    ).toBe(2n);
  });

  it('adds the missing-values Hint for integral floats with nulls targeting integers', () => {
    const t = new Table({ a: vectorFromArray([1, null, 3], new Float64()) });
    const e = errorOf(() => enforceSchema(t, [col('a', 'integer')]));
    expect(e.message).toMatch(
      /^Incompatible input types for column a\. Can not safely convert float64 to int32\. Hint:/
    );
    expect(e.message).not.toContain('JavaScript numbers');
    // Fractions: not MLflow's missing-values hint, but the JS one (declare the column double).
    const t2 = new Table({ a: vectorFromArray([1.5, null], new Float64()) });
    const e2 = errorOf(() => enforceSchema(t2, [col('a', 'integer')]));
    expect(e2.message).not.toContain('missing values');
    expect(e2.message).toContain('Hint: JavaScript numbers are float64.');
  });

  it('a sliced chunk keeps its null bitmap alignment through a cast', () => {
    const v = vectorFromArray([1, null, 3, null, 5], new Int32()).slice(1, 4);
    const out = enforceSchema(new Table({ a: v }), [col('a', 'long')]).getChild('a')!;
    expect([...out]).toEqual([null, 3n, null]);
  });
});

describe('enforceSchema: other primitive types', () => {
  it('boolean accepts only Bool', () => {
    const t = new Table({ a: vectorFromArray([true, null], new Bool()) });
    expect(enforceSchema(t, [col('a', 'boolean')])).toBe(t);
    expect(
      errorOf(() =>
        enforceSchema(new Table({ a: vectorFromArray([1], new Int8()) }), [col('a', 'boolean')])
      ).message
    ).toBe('Incompatible input types for column a. Can not safely convert int8 to bool.');
  });

  it('string accepts Utf8, LargeUtf8 and dictionary-encoded strings, converted to Utf8', () => {
    const large = new Table({ a: vectorFromArray(['x', null, 'yz'], new LargeUtf8()) });
    const out = enforceSchema(large, [col('a', 'string')]).getChild('a')!;
    expect(DataType.isUtf8(out.type)).toBe(true);
    expect([...out]).toEqual(['x', null, 'yz']);
    const dict = new Table({
      a: vectorFromArray(['p', 'q', 'p'], new Dictionary(new Utf8(), new Int32())),
    });
    const out2 = enforceSchema(dict, [col('a', 'string')]).getChild('a')!;
    expect(DataType.isUtf8(out2.type)).toBe(true);
    expect([...out2]).toEqual(['p', 'q', 'p']);
  });

  it('binary accepts Binary and FixedSizeBinary', () => {
    const fixed = new Table({
      a: vectorFromArray([new Uint8Array([1, 2]), new Uint8Array([3, 4])], new FixedSizeBinary(2)),
    });
    const out = enforceSchema(fixed, [col('a', 'binary')]).getChild('a')!;
    expect(DataType.isBinary(out.type)).toBe(true);
    expect(out.get(1)).toEqual(new Uint8Array([3, 4]));
    const bin = new Table({ a: vectorFromArray([new Uint8Array([9])], new Binary()) });
    expect(enforceSchema(bin, [col('a', 'binary')])).toBe(bin);
  });

  it('datetime accepts any naive timestamp unit, dates and ISO strings as TimestampMillisecond', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    const cases: Table[] = [
      new Table({ a: vectorFromArray([ms], new TimestampMillisecond()) }),
      new Table({
        a: makeVector({
          type: new TimestampMicrosecond(),
          data: new BigInt64Array([BigInt(ms) * 1000n + 999n]),
        }),
      }),
      new Table({ a: vectorFromArray([new Date(ms).toISOString()], new Utf8()) }),
    ];
    for (const t of cases) {
      const out = enforceSchema(t, [col('a', 'datetime')]).getChild('a')!;
      expect(out.type).toBeInstanceOf(TimestampMillisecond);
      expect(Number(out.data[0]!.values[0])).toBe(ms);
    }
    const secs = new Table({
      a: makeVector({ type: new TimestampSecond(), data: new BigInt64Array([-1n]) }),
    });
    expect(
      Number(enforceSchema(secs, [col('a', 'datetime')]).getChild('a')!.data[0]!.values[0])
    ).toBe(-1000);
    const day = new Table({ a: makeVector({ type: new DateDay(), data: new Int32Array([2]) }) });
    expect(
      Number(enforceSchema(day, [col('a', 'datetime')]).getChild('a')!.data[0]!.values[0])
    ).toBe(2 * 86_400_000);
    const tz = new Table({
      a: makeVector({ type: new TimestampMillisecond('UTC'), data: new BigInt64Array([0n]) }),
    });
    expect(errorOf(() => enforceSchema(tz, [col('a', 'datetime')])).message).toContain(
      'timezone-naive'
    );
    const bad = new Table({ a: vectorFromArray(['not a date'], new Utf8()) });
    expect(errorOf(() => enforceSchema(bad, [col('a', 'datetime')])).message).toContain(
      'Failed to convert column a'
    );
  });

  it('datetime reads zone-less ISO strings as UTC whatever the process time zone', () => {
    // numpy/pandas datetimes are naive; jsfunc stores them as UTC (iso-datetime.ts). Date.parse
    // would read '2020-01-01T00:00:00' in local time.
    const t = new Table({
      a: vectorFromArray(['2020-01-01T00:00:00', '1969-12-31 23:59:59.999', null], new Utf8()),
    });
    const before = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      const out = enforceSchema(t, [col('a', 'datetime')]).getChild('a')!;
      expect([...out]).toEqual([Date.UTC(2020, 0, 1), -1, null]);
    } finally {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    }
  });
});

describe('enforceSchema: nested specs', () => {
  const objType: ValueType = {
    type: 'object',
    properties: [
      { name: 'a', type: { type: 'string' }, required: true },
      { name: 'b', type: { type: 'long' }, required: false },
    ],
  };
  const structOf = (fields: Record<string, DataType>, rows: Record<string, unknown>[]) =>
    vectorFromArray(
      rows,
      new Struct(Object.entries(fields).map(([n, t]) => new Field(n, t, true)))
    );

  it('objects: exact properties pass, values are widened, properties ordered as the schema', () => {
    const t = new Table({ o: structOf({ b: new Int32(), a: new Utf8() }, [{ b: 1, a: 'x' }]) });
    const out = enforceSchema(t, [col('o', objType)]).getChild('o')!;
    expect((out.type as Struct).children.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'a:Utf8',
      'b:Int64',
    ]);
    expect(out.get(0)!.toJSON()).toEqual({ a: 'x', b: 1n });
  });

  it('objects: missing required and extra properties are errors', () => {
    const missing = new Table({ o: structOf({ b: new Int64() }, [{ b: 1n }]) });
    expect(errorOf(() => enforceSchema(missing, [col('o', objType)])).message).toContain(
      "Missing required properties: {'a'}"
    );
    const extra = new Table({
      o: structOf({ a: new Utf8(), c: new Utf8() }, [{ a: 'x', c: 'y' }]),
    });
    expect(errorOf(() => enforceSchema(extra, [col('o', objType)])).message).toContain(
      "Invalid properties not defined in the schema found: {'c'}"
    );
    const optionalMissing = new Table({ o: structOf({ a: new Utf8() }, [{ a: 'x' }]) });
    expect(
      enforceSchema(optionalMissing, [col('o', objType)])
        .getChild('o')!
        .get(0)!
        .toJSON()
    ).toEqual({ a: 'x' });
    const nullRequired = new Table({ o: structOf({ a: new Utf8() }, [{ a: null }]) });
    expect(errorOf(() => enforceSchema(nullRequired, [col('o', objType)])).message).toContain(
      'Failed to enforce schema for key `a`'
    );
    const wrong = new Table({ o: structOf({ a: new Float64() }, [{ a: 1 }]) });
    const e = errorOf(() => enforceSchema(wrong, [col('o', objType)]));
    expect(e.message).toContain('Can not safely convert float64 to string');
    expect(e.details['path']).toBe('.a');
  });

  it('arrays: items are checked recursively; FixedSizeList becomes List', () => {
    const arr: ValueType = { type: 'array', items: { type: 'double' } };
    const t = new Table({
      l: vectorFromArray([[1, 2], [3]], new List(new Field('item', new Int32(), true))),
    });
    const out = enforceSchema(t, [col('l', arr)]).getChild('l')!;
    expect(String(out.type)).toBe('List<Float64>');
    expect([...out].map((v) => [...v!])).toEqual([[1, 2], [3]]);
    const fixed = new Table({
      l: vectorFromArray(
        [
          [1, 2],
          [3, 4],
        ],
        new FixedSizeList(2, new Field('item', new Float64(), true))
      ),
    });
    const out2 = enforceSchema(fixed, [col('l', arr)]).getChild('l')!;
    expect(String(out2.type)).toBe('List<Float64>');
    expect([...out2.get(1)!]).toEqual([3, 4]);
    const strings = new Table({
      l: vectorFromArray([['a']], new List(new Field('item', new Utf8(), true))),
    });
    expect(errorOf(() => enforceSchema(strings, [col('l', arr)])).message).toContain(
      'Can not safely convert Utf8 to float64'
    );
    const notList = new Table({ l: vectorFromArray([1], new Float64()) });
    expect(errorOf(() => enforceSchema(notList, [col('l', arr)])).message).toContain(
      'to array<double>'
    );
    const anyItems = enforceSchema(strings, [col('l', { type: 'array', items: { type: 'any' } })]);
    expect(anyItems.getChild('l')!.type).toBe(strings.getChild('l')!.type);
  });

  it('maps: string keys, values checked; any accepts everything', () => {
    const m = vectorFromArray(
      [new Map([['k', 1]])],
      new Map_(
        new Field(
          'entries',
          new Struct<any>([
            new Field('key', new Utf8(), false),
            new Field('value', new Int32(), true),
          ]),
          false
        )
      )
    );
    const out = enforceSchema(new Table({ m }), [
      col('m', { type: 'map', values: { type: 'long' } }),
    ]).getChild('m')!;
    expect(out.get(0)!.toJSON()).toEqual({ k: 1n });
    expect(String(out.type)).toContain('Int64');
    expect(
      errorOf(() =>
        enforceSchema(new Table({ m }), [col('m', { type: 'map', values: { type: 'string' } })])
      ).code
    ).toBe('E_SCHEMA_MISMATCH');
    const t = new Table({ m });
    expect(enforceSchema(t, [col('m', { type: 'any' })])).toBe(t);
  });
});

describe('enforceSchema: tensors', () => {
  const tensor = (shape: number[], dtype: string, name?: string): TensorSpec => ({
    kind: 'tensor',
    ...(name === undefined ? {} : { name }),
    dtype,
    shape,
  });

  it('packs numeric columns into one (-1, ncols) FixedSizeList column named "0"', () => {
    const t = tableFromArrays({ x: new Float32Array([1, 2]), y: new Float32Array([3, 4]) });
    const out = enforceSchema(t, [tensor([-1, 2], 'float32')]);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['0']);
    expect([...out.getChild('0')!.get(1)!]).toEqual([2, 4]);
    expect(errorOf(() => enforceSchema(t, [tensor([-1, 3], 'float32')])).message).toContain(
      '(-1, number_of_columns)'
    );
    expect(errorOf(() => enforceSchema(t, [tensor([-1, 2], 'float64')])).message).toBe(
      'dtype of input float32 does not match expected dtype float64'
    );
  });

  it('checks rank and fixed dimensions, reshaping lists into FixedSizeList', () => {
    const rows = vectorFromArray([[1, 2, 3, 4]], new List(new Field('item', new Int32(), true)));
    const t = new Table({ t: rows });
    expect(errorOf(() => enforceSchema(t, [tensor([-1, 5], 'int32', 't')])).message).toBe(
      'Shape of input (1, 4) does not match expected shape (-1, 5)'
    );
    expect(errorOf(() => enforceSchema(t, [tensor([-1, 4], 'uint64', 't')])).message).toBe(
      'dtype of input int32 does not match expected dtype uint64'
    );
    const out = enforceSchema(t, [tensor([-1, 4], 'int32', 't')]).getChild('t')!;
    expect(out.type).toBeInstanceOf(FixedSizeList);
    expect([...out.get(0)!]).toEqual([1, 2, 3, 4]);
    const ragged = new Table({
      t: vectorFromArray([[1], [2, 3]], new List(new Field('item', new Int32(), true))),
    });
    expect(
      errorOf(() => enforceSchema(ragged, [tensor([-1, -1], 'int32', 't')])).message
    ).toContain('uniform length');
  });

  it('a scalar column serves (-1,) as is and (-1, 1) reshaped; named tensors drop extras', () => {
    const t = tableFromArrays({ a: new Float64Array([1, 2]), z: new Float64Array([0, 0]) });
    const { warn, messages } = collect();
    const out = enforceSchema(t, [tensor([-1], 'float64', 'a')], warn);
    expect(out.getChild('a')!.data[0]!.values).toBe(t.getChild('a')!.data[0]!.values);
    expect(messages).toHaveLength(1);
    const out2 = enforceSchema(t, [tensor([-1, 1], 'float64', 'a')], () => {});
    expect([...out2.getChild('a')!.get(1)!]).toEqual([2]);
    expect(errorOf(() => enforceSchema(t, [tensor([-1], 'float64', 'q')])).message).toContain(
      "Model is missing inputs ['q']"
    );
  });
});

describe('enforceSchema: chunked input', () => {
  it('keeps batch boundaries when casting multi-batch tables', () => {
    const t1 = new Table({
      a: vectorFromArray([1, 2], new Int32()),
      b: vectorFromArray(['x', 'y'], new Utf8()),
    });
    const t2 = new Table({
      a: vectorFromArray([3], new Int32()),
      b: vectorFromArray(['z'], new Utf8()),
    });
    const t = new Table([...t1.batches, ...t2.batches]);
    const out = enforceSchema(t, [col('b', 'string'), col('a', 'double')] as Schema);
    expect(out.batches.map((b) => b.numRows)).toEqual([2, 1]);
    expect([...out.getChild('a')!]).toEqual([1, 2, 3]);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['b', 'a']);
  });
});
