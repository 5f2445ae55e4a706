import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { enforceParams, validateParamDefault } from '../../src/signature/enforce-params.js';
import { formatPyDatetime, parseIsoDatetime } from '../../src/signature/iso-datetime.js';
import { ModelError } from '../../src/errors.js';
import { DataTypes } from '../../src/signature/types.js';
import type { DataTypeName, ParamSpec } from '../../src/signature/types.js';
import { errorOf } from '../util/model-error.js';

function spec(
  name: string,
  type: DataTypeName,
  dflt: unknown,
  shape: null | [-1] = null
): ParamSpec {
  return { name, type: { type }, default: dflt, shape };
}

function collect(): { warn: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m) => messages.push(m), messages };
}

describe('enforceParams without a params schema', () => {
  it('warns listing the ignored params and returns {}', () => {
    const w = collect();
    expect(enforceParams({ a: 1, b: 2 }, null, w.warn)).toEqual({});
    expect(w.messages).toHaveLength(1);
    expect(w.messages[0]).toMatch(
      /does not define a params schema\. Ignoring provided params: \["a","b"\]/
    );
  });

  it('is silent for absent or empty params', () => {
    const w = collect();
    expect(enforceParams(undefined, null, w.warn)).toEqual({});
    expect(enforceParams({}, null, w.warn)).toEqual({});
    expect(w.messages).toEqual([]);
  });
});

describe('enforceParams with a params schema', () => {
  // tests/pyfunc/test_pyfunc_schema_enforcement.py (params defaults / partial override, ~L1309)
  const specs = [spec('str_param', 'string', 'string'), spec('int_array', 'long', [1, 2, 3], [-1])];

  it('fills defaults, merges overrides and drops unknown keys with a warning', () => {
    const w = collect();
    expect(enforceParams({}, specs, w.warn)).toEqual({ str_param: 'string', int_array: [1, 2, 3] });
    expect(enforceParams({ str_param: 'new' }, specs, w.warn)).toEqual({
      str_param: 'new',
      int_array: [1, 2, 3],
    });
    expect(w.messages).toEqual([]);
    expect(enforceParams({ extra: 1, int_array: [4] }, specs, w.warn)).toEqual({
      int_array: [4],
      str_param: 'string',
    });
    expect(w.messages).toHaveLength(1);
    expect(w.messages[0]).toMatch(
      /Unrecognized params \["extra"\].*Supported params are: \["str_param","int_array"\]/
    );
  });

  it('fills defaults of params named like Object.prototype members (constructor, toString)', () => {
    const specs = [spec('constructor', 'long', 1), spec('toString', 'string', 'a')];
    expect(enforceParams({}, specs)).toEqual({ constructor: 1, toString: 'a' });
    expect(enforceParams({ toString: 'b' }, specs)).toEqual({ constructor: 1, toString: 'b' });
  });

  it('hands out copies of defaults', () => {
    const out = enforceParams({}, specs, () => {});
    (out['int_array'] as number[]).push(99);
    expect(enforceParams({}, specs, () => {})['int_array']).toEqual([1, 2, 3]);
  });

  it('rejects non-object params', () => {
    for (const bad of [[1, 2], 'x', new Map()]) {
      const e = errorOf(() => enforceParams(bad as never, specs));
      expect(e.code).toBe('E_PARAMS_INVALID');
      expect(e.message).toMatch(/Parameters must be a plain object/);
    }
  });

  it('collects every failure into one E_PARAMS_INVALID', () => {
    const many = [
      spec('l', 'long', 1),
      spec('d', 'datetime', new Date(0)),
      spec('s', 'string', 'a', [-1]),
      spec('ok', 'double', 0.5),
    ];
    const e = errorOf(() => enforceParams({ l: '1', d: 1.0, s: ['a', 3], ok: 2 }, many, () => {}));
    expect(e.code).toBe('E_PARAMS_INVALID');
    expect(e.message).toMatch(/param 'l': expected long, got string "1"/);
    expect(e.message).toMatch(/param 'd': expected datetime, got integer 1/);
    expect(e.message).toMatch(/param 's': expected string at index 1, got integer 3/);
    expect(e.message).not.toMatch(/'ok'/);
    expect((e.details['invalid'] as { name: string }[]).map((p) => p.name)).toEqual([
      'l',
      'd',
      's',
    ]);
  });

  it('requires a scalar for shape null and an array for shape [-1]', () => {
    // ParamSpec("a", long, [1,2,3], shape=None) -> "Value must be a scalar" (T1 ~L1542)
    expect(() => enforceParams({ a: [1, 2, 3] }, [spec('a', 'long', 1)], () => {})).toThrow(
      /expected a scalar long, got array \[1,2,3\]/
    );
    expect(() => enforceParams({ a: 1 }, [spec('a', 'long', [1], [-1])], () => {})).toThrow(
      /expected a 1D array of long \(shape \[-1\]\), got integer 1/
    );
    expect(() => enforceParams({ a: [[1]] }, [spec('a', 'long', [1], [-1])], () => {})).toThrow(
      /1D array/
    );
  });

  it('converts datetimes from ISO text and Date, and widens bigint into double', () => {
    const out = enforceParams(
      { d: '2023-06-26 12:00:00', e: new Date('2020-01-01T00:00:00Z'), f: 5n, ds: ['2023-06-26'] },
      [
        spec('d', 'datetime', null),
        spec('e', 'datetime', null),
        spec('f', 'double', 0.5),
        spec('ds', 'datetime', [], [-1]),
      ],
      () => {}
    );
    expect(out['d']).toEqual(new Date('2023-06-26T12:00:00Z'));
    expect(out['e']).toEqual(new Date('2020-01-01T00:00:00Z'));
    expect(out['f']).toBe(5);
    expect(out['ds']).toEqual([new Date('2023-06-26T00:00:00Z')]);
  });

  it('lets an explicit null through, as MLflow does', () => {
    expect(enforceParams({ a: null }, [spec('a', 'long', 1)], () => {})).toEqual({ a: null });
  });

  it('checks object params strictly (missing and undeclared properties)', () => {
    const obj: ParamSpec = {
      name: 'cfg',
      type: {
        type: 'object',
        properties: [
          { name: 'k', type: { type: 'long' }, required: true },
          { name: 'opt', type: { type: 'string' }, required: false },
        ],
      },
      default: { k: 1 },
      shape: null,
    };
    expect(enforceParams({ cfg: { k: 2, opt: 'x' } }, [obj], () => {})).toEqual({
      cfg: { k: 2, opt: 'x' },
    });
    expect(() => enforceParams({ cfg: { opt: 'x' } }, [obj], () => {})).toThrow(
      /missing required properties \["k"\]/
    );
    expect(() => enforceParams({ cfg: { k: 1, z: 1 } }, [obj], () => {})).toThrow(
      /undeclared properties \["z"\]/
    );
    expect(() => enforceParams({ cfg: { k: 'one' } }, [obj], () => {})).toThrow(
      /expected long at k, got string "one"/
    );
  });
});

describe('the widening table (MLflow _ALLOWED_CONVERSIONS_FOR_PARAMS)', () => {
  // What kind of JS value each generator produces, and which declared types accept it:
  // exact matches plus long<-integer, float<-integer|long, double<-integer|long|float.
  const dates = fc.date({
    min: new Date('1900-01-01T00:00:00Z'),
    max: new Date('2200-01-01T00:00:00Z'),
    noInvalidDate: true,
  });
  const kinds = {
    boolean: fc.boolean(),
    integer: fc.integer(),
    bigint: fc.bigInt(),
    fraction: fc
      .double({ noNaN: true, noDefaultInfinity: true })
      .filter((x) => !Number.isInteger(x)),
    string: fc.string().filter((s) => parseIsoDatetime(s) === null),
    date: dates,
    isoText: dates.map(formatPyDatetime),
  } as const;
  const accepts: Record<DataTypeName, (keyof typeof kinds)[]> = {
    boolean: ['boolean'],
    integer: ['integer'],
    long: ['integer', 'bigint'],
    float: ['integer', 'bigint', 'fraction'],
    double: ['integer', 'bigint', 'fraction'],
    string: ['string', 'isoText'], // ISO text is still text
    binary: [],
    datetime: ['date', 'isoText'],
  };
  const declared = DataTypes.filter((t) => t !== 'binary');

  for (const [kind, arb] of Object.entries(kinds) as [
    keyof typeof kinds,
    fc.Arbitrary<unknown>,
  ][]) {
    it(`${kind} values are accepted exactly by ${declared.filter((t) => accepts[t].includes(kind)).join(', ') || 'nothing'}`, () => {
      fc.assert(
        fc.property(arb, fc.constantFrom(...declared), (value, type) => {
          let ok = true;
          try {
            enforceParams({ p: value }, [spec('p', type, null)], () => {});
          } catch (e) {
            if (!ModelError.is(e) || e.code !== 'E_PARAMS_INVALID') throw e;
            ok = false;
          }
          expect(ok).toBe(accepts[type].includes(kind));
        }),
        { numRuns: 150 }
      );
    });
  }
});

describe('validateParamDefault', () => {
  it('rejects binary params and bad shapes with E_SIGNATURE_INVALID', () => {
    expect(errorOf(() => validateParamDefault(spec('b', 'binary', 'x'))).code).toBe(
      'E_SIGNATURE_INVALID'
    );
    expect(() =>
      validateParamDefault({ ...spec('s', 'long', [1]), shape: [2] as unknown as [-1] })
    ).toThrow(/Shape must be null/);
    expect(() => validateParamDefault(spec('i', 'integer', 1.5))).toThrow(
      /Invalid default for param 'i': integer.*expected integer, got number 1.5/
    );
  });

  it('converts the default', () => {
    expect(validateParamDefault(spec('d', 'datetime', '2023-06-26')).default).toEqual(
      new Date('2023-06-26T00:00:00Z')
    );
  });
});

describe('enforceParams with deeply nested values (issue 8, item 7)', () => {
  it('reports a 100,000-deep value as E_PARAMS_INVALID, not a RangeError', () => {
    const n = 100_000;
    const deep = JSON.parse(`${'['.repeat(n)}1${']'.repeat(n)}`) as unknown;
    const specs: ParamSpec[] = [
      { name: 'p', type: { type: 'double' }, default: null, shape: [-1] },
      { name: 'q', type: { type: 'long' }, default: null, shape: null },
    ];
    for (const params of [{ p: deep }, { q: deep }]) {
      const error = errorOf(() => enforceParams(params, specs));
      expect(error.code).toBe('E_PARAMS_INVALID');
      expect(error.message.length).toBeLessThan(400);
    }
  });
});
