import { describe, it, expect } from 'vitest';
import {
  Field,
  Float32,
  Int32,
  Int64,
  List,
  Map_,
  Struct,
  TimestampMillisecond,
  Utf8,
  Bool,
  Int16,
} from 'apache-arrow';
import type { ColSpec, Schema, TensorSpec, ValueType } from '../../src/signature/types.js';
import {
  formatResultType,
  inferResultType,
  parseResultType,
  resultTypeToArrow,
} from '../../src/udf/result-type.js';
import type { ResultType } from '../../src/udf/result-type.js';
import { errorOf } from '../util/model-error.js';

const fmt = (s: string): string => formatResultType(parseResultType(s));
const cs = (type: ValueType, name?: string): ColSpec => ({
  kind: 'column',
  ...(name === undefined ? {} : { name }),
  type,
  required: true,
});
const ts = (dtype: string, shape: number[], name?: string): TensorSpec => ({
  kind: 'tensor',
  ...(name === undefined ? {} : { name }),
  dtype,
  shape,
});

describe('parseResultType: DDL', () => {
  it.each([
    ['int', 'int'],
    ['INTEGER', 'int'],
    ['bigint', 'bigint'],
    ['long', 'bigint'],
    ['float', 'float'],
    ['real', 'float'],
    ['double', 'double'],
    ['string', 'string'],
    ['bool', 'boolean'],
    ['Boolean', 'boolean'],
    ['array < double >', 'array<double>'],
    ['map<string, array<float>>', 'map<string,array<float>>'],
    ['struct<a: int, b string>', 'struct<a:int,b:string>'],
    ['`a b` int, `x``y`: long', 'struct<`a b`:int,`x``y`:bigint>'],
  ])('%s -> %s', (src, expected) => {
    expect(fmt(src)).toBe(expected);
  });

  // test_check_spark_udf_return_type, test_spark.py L545-L573 (#7): the "good" half.
  it.each([
    ['array<array<double>>', 'array<array<double>>'],
    [
      'a long, b boolean, c array<double>, d array<array<double>>',
      'struct<a:bigint,b:boolean,c:array<double>,d:array<array<double>>>',
    ],
    ['array<struct<a: int, b: boolean>>', 'array<struct<a:int,b:boolean>>'],
    ['array<struct<a: array<int>>>', 'array<struct<a:array<int>>>'],
    ['array<array<array<float>>>', 'array<array<array<float>>>'],
    ['a array<array<array<int>>>', 'struct<a:array<array<array<int>>>>'],
    ['struct<x: struct<a: long, b: boolean>>', 'struct<x:struct<a:bigint,b:boolean>>'],
    [
      'struct<x: array<struct<a: long, b: boolean>>>',
      'struct<x:array<struct<a:bigint,b:boolean>>>',
    ],
    ['struct<a: array<struct<a: int>>>', 'struct<a:array<struct<a:int>>>'],
  ])('accepts MLflow-valid %s', (src, expected) => {
    expect(fmt(src)).toBe(expected);
  });

  it('keeps struct fields in declared order (the column-list form, #3 L304)', () => {
    const rt = parseResultType(
      'r1 int, r2 float, r3 array<long>, r4 array<double>, r5 array<double>, r6 boolean, r7 string'
    );
    expect(rt.kind === 'struct' && rt.fields.map((f) => f.name)).toEqual([
      'r1',
      'r2',
      'r3',
      'r4',
      'r5',
      'r6',
      'r7',
    ]);
  });

  // The "bad" half of L545-L573 (#7) and the TimestampType case of L1184 (#17).
  it.each([
    'timestamp',
    'array<timestamp>',
    'struct<a: int, b: timestamp>',
    'a int, b date',
    'binary',
    'decimal(10, 2)',
    'smallint',
    'tinyint',
  ])('rejects %s as MLflow does', (src) => {
    const e = errorOf(() => parseResultType(src));
    expect(e.code).toBe('E_RESULT_TYPE_INVALID');
    expect(e.message).toMatch(/^Invalid 'spark_udf' result type: /);
    expect(e.message).toContain(
      src.replace(/\s+/g, '').startsWith('decimal') ? 'decimal(10,2)' : src
    );
  });

  it('rejects non-string map keys', () => {
    expect(errorOf(() => parseResultType('map<int, double>')).message).toContain(
      'map keys must be string'
    );
  });

  it.each([
    ['array<int', 9, "'>' closing array<"],
    ['struct<a int,>', 13, 'a field name'],
    ['', 0, 'a type name'],
    ['foo', 0, "unknown type 'foo'"],
    ['a int b', 6, "',' or end of input"],
    ['int;', 3, "';'"],
    ['struct<>', 7, 'a field name'],
  ])('names the position of a syntax error in %j', (src, pos, text) => {
    const e = errorOf(() => parseResultType(src));
    expect(e.code).toBe('E_RESULT_TYPE_INVALID');
    expect(e.message).toContain(`position ${pos}`);
    expect(e.message).toContain(text);
    expect(e.details).toMatchObject({ position: pos });
  });

  it('rejects duplicate struct field names', () => {
    expect(errorOf(() => parseResultType('a int, a long')).message).toContain(
      "duplicate field name 'a'"
    );
  });
});

describe('parseResultType: Arrow DataType and plain ResultType', () => {
  it('reads Arrow types by typeId', () => {
    const t = new Struct([
      new Field('label', new Utf8()),
      new Field('score', new Float32()),
      new Field('ids', new List(new Field('item', new Int64()))),
      new Field('ok', new Bool()),
      new Field('n', new Int32()),
      new Field(
        'm',
        new Map_<Utf8, Int32>(
          new Field(
            'entries',
            new Struct<{ key: Utf8; value: Int32 }>([
              new Field('key', new Utf8(), false),
              new Field('value', new Int32()),
            ]),
            false
          )
        )
      ),
    ]);
    expect(formatResultType(parseResultType(t))).toBe(
      'struct<label:string,score:float,ids:array<bigint>,ok:boolean,n:int,m:map<string,int>>'
    );
  });

  it('rejects Arrow types with no result type', () => {
    expect(errorOf(() => parseResultType(new TimestampMillisecond())).code).toBe(
      'E_RESULT_TYPE_INVALID'
    );
    expect(errorOf(() => parseResultType(new Int16())).code).toBe('E_RESULT_TYPE_INVALID');
  });

  it('validates a plain ResultType (it may have crossed a thread or come from JSON)', () => {
    const ok: ResultType = { kind: 'array', element: { kind: 'primitive', type: 'long' } };
    expect(parseResultType(ok)).toEqual(ok);
    expect(
      errorOf(() =>
        parseResultType({ kind: 'primitive', type: 'timestamp' } as unknown as ResultType)
      ).message
    ).toContain('timestamp');
    expect(errorOf(() => parseResultType({ kind: 'struct', fields: [] })).code).toBe(
      'E_RESULT_TYPE_INVALID'
    );
  });
});

describe('formatResultType / resultTypeToArrow', () => {
  it('round-trips through DDL text', () => {
    for (const src of [
      'struct<label:string,score:double>',
      'array<map<string,array<bigint>>>',
      'struct<`a.b`:int>',
    ]) {
      const rt = parseResultType(src);
      expect(parseResultType(formatResultType(rt))).toEqual(rt);
    }
  });

  it('maps to the Arrow types a result vector uses', () => {
    expect(
      String(resultTypeToArrow(parseResultType('struct<label:string,score:double,ids:array<int>>')))
    ).toBe('Struct<{label:Utf8, score:Float64, ids:List<Int32>}>');
    const m = resultTypeToArrow(parseResultType('map<string,float>'));
    expect(String(m)).toBe('Map<{key:Utf8, value:Float32}>');
    // A round trip through Arrow gives the same result type back.
    const rt = parseResultType('a boolean, b bigint, c array<array<float>>, d map<string,string>');
    expect(parseResultType(resultTypeToArrow(rt))).toEqual(rt);
  });
});

describe('inferResultType (MLflow _infer_spark_udf_return_type)', () => {
  it('defaults to double with a warning when there is no output schema', () => {
    const warnings: string[] = [];
    expect(inferResultType(null, (m) => warnings.push(m))).toEqual({
      kind: 'primitive',
      type: 'double',
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("'double'");
  });

  it('uses the type of a single output (#6, L516)', () => {
    expect(formatResultType(inferResultType([cs({ type: 'long' })]))).toBe('bigint');
  });

  it('builds a struct from several ColSpec outputs (#4, L349)', () => {
    const outputs: Schema = [
      cs({ type: 'integer' }, 'r1'),
      cs({ type: 'float' }, 'r2'),
      cs({ type: 'boolean' }, 'r3'),
      cs({ type: 'string' }, 'r4'),
    ];
    expect(formatResultType(inferResultType(outputs))).toBe(
      'struct<r1:int,r2:float,r3:boolean,r4:string>'
    );
  });

  it('names unnamed outputs by index', () => {
    expect(
      formatResultType(inferResultType([cs({ type: 'double' }), cs({ type: 'string' })]))
    ).toBe('struct<0:double,1:string>');
  });

  it('maps tensor outputs by dtype and rank (#5, L399-L485)', () => {
    const outputs: Schema = [
      ts('int64', [2], 'r1'),
      ts('float64', [2], 'r2'),
      ts('float64', [2, 3], 'r4'),
      ts('float32', [-1], 'r6'),
      ts('int32', [-1, 4], 'r7'),
      ts('bool', [3], 'r8'),
    ];
    expect(formatResultType(inferResultType(outputs))).toBe(
      'struct<r1:array<bigint>,r2:array<double>,r4:array<array<double>>,r6:array<float>,r7:array<array<int>>,r8:array<boolean>>'
    );
    expect(formatResultType(inferResultType([ts('float64', [2, 3])]))).toBe('array<array<double>>');
  });

  it('rejects tensors of more than 2 dimensions', () => {
    const e = errorOf(() => inferResultType([ts('float32', [-1, 2, 3], 'img')]));
    expect(e.code).toBe('E_RESULT_TYPE_INVALID');
    expect(e.message).toContain('Only 1D or 2D tensors are supported');
    expect(e.message).toContain("'img'");
  });

  it('maps nested Array / Object / Map outputs (#19, L1499)', () => {
    const t: ValueType = {
      type: 'object',
      properties: [
        { name: 'arr', type: { type: 'array', items: { type: 'integer' } }, required: true },
        { name: 'm', type: { type: 'map', values: { type: 'double' } }, required: false },
        {
          name: 'o',
          type: {
            type: 'object',
            properties: [{ name: 'b', type: { type: 'boolean' }, required: true }],
          },
          required: true,
        },
      ],
    };
    expect(
      formatResultType(
        inferResultType([cs(t, 'x'), cs({ type: 'array', items: { type: 'string' } }, 'y')])
      )
    ).toBe(
      'struct<x:struct<arr:array<int>,m:map<string,double>,o:struct<b:boolean>>,y:array<string>>'
    );
  });

  it.each(['binary', 'datetime', 'any'] as const)(
    'refuses a %s output, naming it (documented choice)',
    (type) => {
      const e = errorOf(() => inferResultType([cs({ type: 'double' }, 'ok'), cs({ type }, 'bad')]));
      expect(e.code).toBe('E_RESULT_TYPE_INVALID');
      expect(e.message).toContain("'bad'");
      expect(e.message).toContain(type);
    }
  );
});
