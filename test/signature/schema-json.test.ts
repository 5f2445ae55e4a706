import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  parseParams,
  parseSchema,
  parseSignature,
  paramsToJson,
  pyFloatRepr,
  pyJsonString,
  schemaToJson,
  signatureToDict,
} from '../../src/signature/schema-json.js';
import { ModelError } from '../../src/errors.js';
import type { ParamSpec, Schema } from '../../src/signature/types.js';

function roundTripSchema(json: string): string {
  const schema = parseSchema(json);
  expect(schema).not.toBeNull();
  // structuredClone proves the parsed form is plain data (it crosses worker threads as is).
  return schemaToJson(structuredClone(schema!));
}

function roundTripParams(json: string): string {
  return paramsToJson(parseParams(json)!);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(ModelError.is(e)).toBe(true);
    return (e as ModelError).code;
  }
  return undefined;
}

describe('schema JSON round trips byte for byte', () => {
  // Strings MLflow writes, from tests/models/test_signature.py (test_signature_construction,
  // test_signature_for_rag) and the TensorSpec/ColSpec to_dict key orders in mlflow/types/schema.py.
  const vectors: [string, string][] = [
    [
      'unnamed binary (test_signature.py test_signature_construction)',
      '[{"type": "binary", "required": true}]',
    ],
    ['unnamed double', '[{"type": "double", "required": true}]'],
    [
      'RAG ChatCompletionRequest (test_signature.py test_signature_for_rag)',
      '[{"type": "array", "items": {"type": "object", "properties": {"content": {"type": "string", "required": true}, "role": {"type": "string", "required": true}}}, "name": "messages", "required": true}]',
    ],
    [
      'RAG ChatCompletionResponse (test_signature.py test_signature_for_rag)',
      '[{"type": "array", "items": {"type": "object", "properties": {"finish_reason": {"type": "string", "required": true}, "index": {"type": "integer", "required": true}, "message": {"type": "object", "properties": {"content": {"type": "string", "required": true}, "role": {"type": "string", "required": true}}, "required": true}}}, "name": "choices", "required": true}]',
    ],
    [
      'every primitive, named, optional',
      '[{"type": "boolean", "name": "a", "required": true}, {"type": "integer", "name": "b", "required": false}, {"type": "long", "name": "c", "required": true}, {"type": "float", "name": "d", "required": true}, {"type": "double", "name": "e", "required": true}, {"type": "string", "name": "f", "required": true}, {"type": "binary", "name": "g", "required": true}, {"type": "datetime", "name": "h", "required": false}]',
    ],
    [
      'map, any, sparkml_vector, nested array',
      '[{"type": "map", "values": {"type": "array", "items": {"type": "double"}}, "name": "m", "required": true}, {"type": "any", "name": "x", "required": false}, {"type": "sparkml_vector", "name": "v", "required": true}, {"type": "array", "items": {"type": "array", "items": {"type": "string"}}, "name": "q", "required": true}]',
    ],
    [
      'named tensors (TensorSpec.to_dict: name, type, tensor-spec)',
      '[{"name": "image", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 28, 28]}}, {"name": "metadata", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1, 10]}}]',
    ],
    ['unnamed tensor', '[{"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1]}}]'],
    [
      'non-ASCII names escaped like ensure_ascii',
      '[{"type": "string", "name": "caf\\u00e9 \\ud83d\\ude00 \\u007f", "required": true}]',
    ],
  ];
  for (const [label, json] of vectors) {
    it(label, () => {
      expect(roundTripSchema(json)).toBe(json);
    });
  }

  it('sorts object properties by name (code point order) when writing', () => {
    const schema: Schema = [
      {
        kind: 'column',
        name: 'o',
        required: true,
        type: {
          type: 'object',
          properties: [
            { name: 'b', type: { type: 'long' }, required: true },
            { name: 'B', type: { type: 'string' }, required: false },
            { name: 'a', type: { type: 'double' }, required: true },
          ],
        },
      },
    ];
    expect(schemaToJson(schema)).toBe(
      '[{"type": "object", "properties": {"B": {"type": "string", "required": false}, "a": {"type": "double", "required": true}, "b": {"type": "long", "required": true}}, "name": "o", "required": true}]'
    );
  });

  it('reads JSON without `required` (MLflow < 2.8) as required and writes the current form', () => {
    const schema = parseSchema(
      '[{"type": "double", "name": "x"}, {"name": "y", "type": "array", "items": {"type": "long"}}]'
    );
    expect(schema).toEqual([
      { kind: 'column', name: 'x', type: { type: 'double' }, required: true },
      {
        kind: 'column',
        name: 'y',
        type: { type: 'array', items: { type: 'long' } },
        required: true,
      },
    ]);
    expect(schemaToJson(schema!)).toBe(
      '[{"type": "double", "name": "x", "required": true}, {"type": "array", "items": {"type": "long"}, "name": "y", "required": true}]'
    );
  });

  it('normalises numpy dtype aliases to the name MLflow writes', () => {
    expect(
      roundTripSchema('[{"type": "tensor", "tensor-spec": {"dtype": "float", "shape": [-1, 3]}}]')
    ).toBe('[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]');
  });
});

describe('schema rules (Schema.__init__)', () => {
  const cases: [string, string, RegExp][] = [
    ['empty inputs', '[]', /empty inputs/],
    [
      'named and unnamed',
      '[{"type": "double", "name": "a"}, {"type": "double"}]',
      /combination of named and unnamed/,
    ],
    [
      'ColSpec and TensorSpec',
      '[{"type": "double", "name": "a"}, {"name": "b", "type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [-1]}}]',
      /combination of ColSpec and TensorSpec/,
    ],
    [
      'multiple unnamed tensors',
      '[{"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [-1]}}, {"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [-1]}}]',
      /multiple unnamed TensorSpecs/,
    ],
    ['unnamed optional', '[{"type": "double", "required": false}]', /unnamed optional inputs/],
    [
      'sized string dtype',
      '[{"type": "tensor", "tensor-spec": {"dtype": "<U5", "shape": [-1]}}]',
      /size information.*"str"/,
    ],
    [
      'sized bytes dtype',
      '[{"type": "tensor", "tensor-spec": {"dtype": "|S3", "shape": [-1]}}]',
      /size information.*"bytes"/,
    ],
    [
      'unknown dtype',
      '[{"type": "tensor", "tensor-spec": {"dtype": "quaternion", "shape": [-1]}}]',
      /unsupported numpy dtype 'quaternion'/,
    ],
    [
      'bad shape',
      '[{"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [-1, 2.5]}}]',
      /shape/,
    ],
    ['unknown type', '[{"type": "decimal", "name": "a"}]', /unsupported type 'decimal'/],
    ['array without items', '[{"type": "array", "name": "a"}]', /needs `items`/],
    ['empty object', '[{"type": "object", "properties": {}, "name": "a"}]', /empty properties/],
    ['map without values', '[{"type": "map", "name": "a"}]', /needs `values`/],
    [
      'duplicate names',
      '[{"type": "double", "name": "a"}, {"type": "long", "name": "a"}]',
      /duplicated input name 'a'/,
    ],
    ['not a list', '{"type": "double"}', /must be a list/],
    ['bad JSON', '[{"type": ', /not valid JSON/],
  ];
  for (const [label, json, message] of cases) {
    it(`rejects ${label}`, () => {
      expect(() => parseSchema(json)).toThrow(message);
      expect(codeOf(() => parseSchema(json))).toBe('E_SIGNATURE_INVALID');
    });
  }

  it('returns null for null', () => {
    expect(parseSchema(null)).toBeNull();
    expect(parseParams(null)).toBeNull();
  });
});

describe('params JSON', () => {
  // ParamSpec.to_dict order (name, default, shape, type); vectors from tests/types/test_schema.py
  // test_param_spec_to_and_from_dict and tests/models/test_signature.py test_signature_construction.
  const vectors: [string, string][] = [
    [
      'string (test_signature.py)',
      '[{"name": "param1", "default": "test", "shape": null, "type": "string"}]',
    ],
    [
      'float32 default as Python float',
      '[{"name": "float_param", "default": 0.10000000149011612, "shape": null, "type": "float"}]',
    ],
    [
      'double with integral default keeps .0',
      '[{"name": "temperature", "default": 1.0, "shape": null, "type": "double"}]',
    ],
    [
      'tiny and huge doubles use Python repr',
      '[{"name": "eps", "default": [1e-05, 0.0001, 1e+16, 1234567890123456.0, -2.5], "shape": [-1], "type": "double"}]',
    ],
    [
      'long array',
      '[{"name": "long_array", "default": [100, 200], "shape": [-1], "type": "long"}]',
    ],
    [
      'datetime (test_schema.py)',
      '[{"name": "datetime_param", "default": "2023-06-26T00:00:00", "shape": null, "type": "datetime"}]',
    ],
    [
      'datetime array',
      '[{"name": "datetime_array", "default": ["2023-06-26T00:00:00", "2023-06-27T12:30:00.250000"], "shape": [-1], "type": "datetime"}]',
    ],
    [
      'boolean, integer, null default',
      '[{"name": "b", "default": true, "shape": null, "type": "boolean"}, {"name": "i", "default": 3, "shape": null, "type": "integer"}, {"name": "n", "default": null, "shape": null, "type": "long"}]',
    ],
    [
      'object param (type then properties, from ParamSpec.to_dict result.update)',
      '[{"name": "config", "default": {"b": 1.0, "a": "x"}, "shape": null, "type": "object", "properties": {"a": {"type": "string", "required": true}, "b": {"type": "double", "required": true}}}]',
    ],
    [
      'non-ASCII default',
      '[{"name": "greeting", "default": "gr\\u00fc\\u00df dich", "shape": null, "type": "string"}]',
    ],
  ];
  for (const [label, json] of vectors) {
    it(`round trips ${label}`, () => {
      expect(roundTripParams(json)).toBe(json);
    });
  }

  it('converts datetime defaults to Date (UTC, naive text)', () => {
    const [spec] = parseParams(
      '[{"name": "d", "default": "2023-06-26T01:02:03", "shape": null, "type": "datetime"}]'
    )!;
    expect(spec!.default).toBeInstanceOf(Date);
    expect((spec!.default as Date).toISOString()).toBe('2023-06-26T01:02:03.000Z');
  });

  it('accepts the legacy `dtype` key (test_schema.py test_param_spec_from_dict_backward_compatibility)', () => {
    const params = parseParams(
      '[{"name": "str_param", "dtype": "string", "default": "str_a", "shape": null}]'
    );
    expect(params).toEqual([
      { name: 'str_param', type: { type: 'string' }, default: 'str_a', shape: null },
    ]);
    expect(paramsToJson(params!)).toBe(
      '[{"name": "str_param", "default": "str_a", "shape": null, "type": "string"}]'
    );
  });

  const bad: [string, string, RegExp][] = [
    [
      'binary',
      '[{"name": "p", "default": "x", "shape": null, "type": "binary"}]',
      /Binary type is not supported/,
    ],
    [
      'array type',
      '[{"name": "p", "default": [], "shape": null, "type": "array"}]',
      /unsupported type 'array'/,
    ],
    [
      'shape [2]',
      '[{"name": "p", "default": [1, 2], "shape": [2], "type": "long"}]',
      /shape must be null.*\[2\]/,
    ],
    [
      'scalar default for [-1]',
      '[{"name": "p", "default": 1, "shape": [-1], "type": "long"}]',
      /1D array/,
    ],
    [
      'array default for scalar',
      '[{"name": "p", "default": [1, 2, 3], "shape": null, "type": "long"}]',
      /scalar long/,
    ],
    [
      'string default for long',
      '[{"name": "p", "default": "1", "shape": null, "type": "long"}]',
      /expected long, got string "1"/,
    ],
    [
      'fraction for integer',
      '[{"name": "p", "default": 1.5, "shape": null, "type": "integer"}]',
      /expected integer, got number 1.5/,
    ],
    [
      'bad datetime',
      '[{"name": "p", "default": 1.0, "shape": null, "type": "datetime"}]',
      /datetime/,
    ],
    [
      'object missing property',
      '[{"name": "p", "default": {}, "shape": null, "type": "object", "properties": {"a": {"type": "string"}}}]',
      /missing required properties \["a"\]/,
    ],
    [
      'object extra property',
      '[{"name": "p", "default": {"a": "x", "c": 1}, "shape": null, "type": "object", "properties": {"a": {"type": "string"}}}]',
      /undeclared properties \["c"\]/,
    ],
    [
      'missing default key',
      '[{"name": "p", "shape": null, "type": "long"}]',
      /missing keys in ParamSpec JSON/i,
    ],
    [
      'duplicates',
      '[{"name": "p", "default": 1, "shape": null, "type": "long"}, {"name": "p", "default": 1, "shape": null, "type": "long"}]',
      /Duplicated parameters/,
    ],
  ];
  for (const [label, json, message] of bad) {
    it(`rejects ${label}`, () => {
      expect(() => parseParams(json)).toThrow(message);
      expect(codeOf(() => parseParams(json))).toBe('E_SIGNATURE_INVALID');
    });
  }
});

describe('Python json.dumps helpers', () => {
  it('formats floats like repr(float)', () => {
    // Expected strings are what CPython prints for repr() of the same doubles.
    const cases: [number, string][] = [
      [1, '1.0'],
      [0.1, '0.1'],
      [-0, '-0.0'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1.5e-7, '1.5e-07'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [123456789012345680000, '1.2345678901234568e+20'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
      [5e-324, '5e-324'],
    ];
    for (const [n, text] of cases) expect(pyFloatRepr(n)).toBe(text);
  });

  it('escapes strings like ensure_ascii', () => {
    expect(pyJsonString('a"b\\c\n\t\u0001é\u2028😀\u007f')).toBe(
      '"a\\"b\\\\c\\n\\t\\u0001\\u00e9\\u2028\\ud83d\\ude00\\u007f"'
    );
  });
});

describe('signature mapping', () => {
  it('parses and writes {inputs, outputs, params}', () => {
    const dict = {
      inputs: '[{"type": "double", "name": "x", "required": true}]',
      outputs: null,
      params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]',
    };
    const sig = parseSignature(dict);
    expect(sig?.inputs?.[0]?.name).toBe('x');
    expect(sig?.outputs).toBeNull();
    expect(signatureToDict(sig!)).toEqual(dict);
  });

  it('is null when absent or empty', () => {
    expect(parseSignature(undefined)).toBeNull();
    expect(parseSignature(null)).toBeNull();
    expect(parseSignature({ inputs: null, outputs: null, params: null })).toBeNull();
  });

  it('names the key that failed', () => {
    expect(() => parseSignature({ outputs: '[]' })).toThrow(/^signature\.outputs: .*empty inputs/);
    expect(() => parseSignature({ inputs: 3 })).toThrow(
      /signature\.inputs must be a JSON string or null/
    );
  });
});

describe('real MLflow MLmodel files', () => {
  const root = '/work/shared/mlflow-models';
  const dirs = existsSync(root)
    ? readdirSync(root).filter((d) => existsSync(join(root, d, 'MLmodel')))
    : [];

  it('finds the shared MLmodel files', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(4);
  });

  for (const dir of dirs) {
    it(`${dir}: every signature parses and re-serializes in MLflow's current form`, () => {
      const meta = parseYaml(readFileSync(join(root, dir, 'MLmodel'), 'utf8')) as {
        signature?: Record<string, string | null>;
      };
      const sig = parseSignature(meta.signature);
      if (meta.signature === undefined) {
        expect(sig).toBeNull();
        return;
      }
      const written = signatureToDict(sig!);
      for (const key of ['inputs', 'outputs', 'params'] as const) {
        const original = meta.signature[key] ?? null;
        if (original === null) {
          expect(written[key]).toBeNull();
          continue;
        }
        // Writing is a fixed point: parse(write(x)) writes the same text again.
        expect(schemaOrParamsJson(key, written[key]!)).toBe(written[key]);
        // And it equals the original, except for files older than MLflow's current form
        // (2.7.1: no `required`, and a hand-ordered TensorSpec; see canonicalLegacy).
        expect(written[key]).toBe(canonicalLegacy(original));
      }
    });
  }
});

function schemaOrParamsJson(key: 'inputs' | 'outputs' | 'params', json: string): string {
  return key === 'params'
    ? paramsToJson(parseParams(json) as ParamSpec[])
    : schemaToJson(parseSchema(json)!);
}

/**
 * What current MLflow writes for a legacy spec string: ColSpecs gain `"required": true`, and
 * TensorSpecs put `name` first (TensorSpec.to_dict). Built with JSON.parse + string assembly
 * independent of the code under test, for the two legacy shapes in the shared files.
 */
function canonicalLegacy(original: string): string {
  const specs = JSON.parse(original) as Record<string, unknown>[];
  if (
    specs.every((s) => 'required' in s || s['type'] === 'tensor') &&
    !specs.some((s) => s['type'] === 'tensor' && 'name' in s)
  ) {
    return original;
  }
  return (
    '[' +
    specs
      .map((s) => {
        if (s['type'] === 'tensor') {
          const ts = s['tensor-spec'] as { dtype: string; shape: number[] };
          const name = 'name' in s ? `"name": ${JSON.stringify(s['name'])}, ` : '';
          return `{${name}"type": "tensor", "tensor-spec": {"dtype": ${JSON.stringify(ts.dtype)}, "shape": [${ts.shape.join(', ')}]}}`;
        }
        const name = 'name' in s ? `, "name": ${JSON.stringify(s['name'])}` : '';
        return `{"type": ${JSON.stringify(s['type'])}${name}, "required": ${String(s['required'] ?? true)}}`;
      })
      .join(', ') +
    ']'
  );
}

describe('nesting limit of signature and params JSON (issue 8, item 7)', () => {
  const deepType = (n: number): string =>
    '{"type": "array", "items": '.repeat(n) + '{"type": "double"}' + '}'.repeat(n);

  it('reads 98 levels of array types; refuses 100,000 with E_SIGNATURE_INVALID, not a RangeError', () => {
    const ok = parseSchema(`[{"name": "a", ${deepType(98).slice(1)}]`);
    expect(ok?.[0]).toMatchObject({ name: 'a' });
    for (const n of [100, 100_000]) {
      let thrown: unknown;
      try {
        parseSchema(`[{"name": "a", ${deepType(n).slice(1)}]`);
      } catch (e) {
        thrown = e;
      }
      expect(ModelError.is(thrown), String(thrown)).toBe(true);
      expect(thrown).toMatchObject({
        code: 'E_SIGNATURE_INVALID',
        message: 'Schema JSON nests deeper than 100 levels',
      });
    }
  });

  it('refuses deep params: a nested default, nested object properties', () => {
    const n = 100_000;
    const deepDefault = `[{"name": "p", "type": "double", "default": ${'['.repeat(n)}1${']'.repeat(n)}, "shape": [-1]}]`;
    const props =
      '{"a": {"type": "object", "properties": '.repeat(n) +
      '{"a": {"type": "double"}}' +
      '}}'.repeat(n);
    const deepProps = `[{"name": "p", "type": "object", "properties": ${props}, "default": null, "shape": null}]`;
    for (const json of [deepDefault, deepProps]) {
      expect(() => parseParams(json)).toThrow(/Params schema JSON nests deeper than 100 levels/);
    }
    expect(() => parseSignature({ params: deepDefault })).toThrow(
      /signature\.params: Params schema JSON nests deeper than 100 levels/
    );
  });

  it('keeps error messages short when the offending value is large', () => {
    const big = JSON.stringify(Array.from({ length: 10_000 }, (_, i) => i));
    let message = '';
    try {
      parseSchema(`[{"name": "a", "type": "array", "items": ${big}}]`);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/an array type needs `items` as a type object, found \[0,1,2,/);
    expect(message.length).toBeLessThan(200);
  });
});
