import { describe, it, expect } from 'vitest';
import {
  Table,
  tableFromArrays,
  tableFromJSON,
  vectorFromArray,
  Float32,
  Int16,
  Int64,
  Utf8,
} from 'apache-arrow';
import { inferSignature, type InferSignatureOptions } from '../../src/signature/infer-signature.js';
import { enforceSchema } from '../../src/signature/enforce-schema.js';
import { paramsToJson, schemaToJson, signatureToDict } from '../../src/signature/schema-json.js';
import type { ColSpec } from '../../src/signature/types.js';

async function inputsJson(input: unknown, options?: InferSignatureOptions): Promise<string> {
  return schemaToJson((await inferSignature(input, undefined, undefined, options)).inputs!);
}

/** MLflow's Python rule for whole numbers: the MLflow test cases below use it. */
const MLFLOW_INTS: InferSignatureOptions = { integers: 'long' };

describe('JS numbers (one number type: float64)', () => {
  it('infer double by default, whole or not, so Float64 data fits the signature', async () => {
    const sig = await inferSignature([{ passengers: 1, fare: 2.5 }]);
    expect(schemaToJson(sig.inputs!)).toBe(
      '[{"type": "double", "name": "passengers", "required": true}, {"type": "double", "name": "fare", "required": true}]'
    );
    // The newcomer's path: a table from JS numbers (Float64) is accepted as is.
    const table = tableFromArrays({ passengers: [1, 2], fare: [2.5, 3] });
    const input = enforceSchema(table, sig.inputs, () => {});
    expect(input.getChild('passengers')!.toArray()).toBeInstanceOf(Float64Array);
  });

  it("apply to nested values and outputs too; { integers: 'long' } gives MLflow's long", async () => {
    const rows = [{ a: [1, 2], o: { k: 3 }, m: new Map([['x', 4]]) }];
    expect(await inputsJson(rows)).toBe(
      '[{"type": "array", "items": {"type": "double"}, "name": "a", "required": true}, ' +
        '{"type": "object", "properties": {"k": {"type": "double", "required": true}}, "name": "o", "required": true}, ' +
        '{"type": "map", "values": {"type": "double"}, "name": "m", "required": true}]'
    );
    expect(await inputsJson(rows, MLFLOW_INTS)).toBe(
      '[{"type": "array", "items": {"type": "long"}, "name": "a", "required": true}, ' +
        '{"type": "object", "properties": {"k": {"type": "long", "required": true}}, "name": "o", "required": true}, ' +
        '{"type": "map", "values": {"type": "long"}, "name": "m", "required": true}]'
    );
    const out = await inferSignature([{ x: 1 }], [0, 1], undefined, MLFLOW_INTS);
    expect(schemaToJson(out.outputs!)).toBe('[{"type": "long", "required": true}]');
    expect(schemaToJson((await inferSignature([{ x: 1 }], [0, 1])).outputs!)).toBe(
      '[{"type": "double", "required": true}]'
    );
  });

  it('keep bigint as long, fractions as double, and typed arrays and Arrow types as they are', async () => {
    expect(await inputsJson([{ b: 1n }, { b: 2 }])).toBe(
      '[{"type": "long", "name": "b", "required": true}]'
    );
    expect(await inputsJson([{ f: 1 }, { f: 1.5 }], MLFLOW_INTS)).toBe(
      '[{"type": "double", "name": "f", "required": true}]'
    );
    expect(await inputsJson({ i: new Int32Array(1), l: new BigInt64Array(1) })).toBe(
      '[{"type": "integer", "name": "i", "required": true}, {"type": "long", "name": "l", "required": true}]'
    );
    const arrow = new Table({ n: vectorFromArray([1n, 2n], new Int64()) });
    expect(await inputsJson(arrow)).toBe('[{"type": "long", "name": "n", "required": true}]');
  });

  it('leave params alone: an integral param is long (it stays a JS number)', async () => {
    const sig = await inferSignature([{ x: 1 }], undefined, { k: 3 });
    expect(paramsToJson(sig.params!)).toBe(
      '[{"name": "k", "default": 3, "shape": null, "type": "long"}]'
    );
  });

  it('reject an unknown integers option', async () => {
    await expect(
      inferSignature([{ x: 1 }], undefined, undefined, {
        integers: 'int' as unknown as 'long',
      })
    ).rejects.toMatchObject({
      code: 'E_OPTION_INVALID',
      message: expect.stringMatching(
        /options\.integers must be 'double' or 'long', got string "int"/
      ),
    });
  });
});

describe('inference from rows (array of plain objects)', () => {
  it('marks keys missing from some rows optional (test_schema.py test_schema_inference_on_dictionary_of_strings)', async () => {
    expect(await inputsJson([{ a: 1 }, { a: 1, b: ['a', 'b'] }], MLFLOW_INTS)).toBe(
      '[{"type": "long", "name": "a", "required": true}, {"type": "array", "items": {"type": "string"}, "name": "b", "required": false}]'
    );
    // test_schema_inference_on_list_of_dicts
    expect(await inputsJson([{ a: 1 }, { b: 'a' }], MLFLOW_INTS)).toBe(
      '[{"type": "long", "name": "a", "required": false}, {"type": "string", "name": "b", "required": false}]'
    );
  });

  it('reads a key missing from a row as missing even when Object.prototype has it', async () => {
    expect(await inputsJson([{ a: 1, constructor: 2 }, { a: 2 }], MLFLOW_INTS)).toBe(
      '[{"type": "long", "name": "a", "required": true}, ' +
        '{"type": "long", "name": "constructor", "required": false}]'
    );
  });

  it('infers every primitive', async () => {
    const row = {
      b: true,
      i: 3,
      d: 2.5,
      big: 5n,
      s: 'x',
      bin: new Uint8Array([1]),
      buf: Buffer.from('hi'),
      t: new Date(0),
    };
    expect(await inputsJson([row], MLFLOW_INTS)).toBe(
      '[{"type": "boolean", "name": "b", "required": true}, {"type": "long", "name": "i", "required": true}, {"type": "double", "name": "d", "required": true}, {"type": "long", "name": "big", "required": true}, {"type": "string", "name": "s", "required": true}, {"type": "binary", "name": "bin", "required": true}, {"type": "binary", "name": "buf", "required": true}, {"type": "datetime", "name": "t", "required": true}]'
    );
  });

  it('widens integers to double when a column also holds fractions or NaN', async () => {
    const sig = await inferSignature(
      [{ x: 1 }, { x: 1.5 }, { y: NaN }, { y: 2 }],
      undefined,
      undefined,
      MLFLOW_INTS
    );
    expect(sig.inputs).toEqual([
      { kind: 'column', name: 'x', type: { type: 'double' }, required: false },
      { kind: 'column', name: 'y', type: { type: 'double' }, required: false },
    ]);
  });

  it('infers nested arrays (test_signature.py test_infer_signature_on_nested_array)', async () => {
    const sig = await inferSignature(
      [{ queries: [['a', 'b', 'c'], ['d', 'e'], []] }],
      [{ answers: [['f', 'g'], ['h']] }]
    );
    expect(signatureToDict(sig)).toEqual({
      inputs:
        '[{"type": "array", "items": {"type": "array", "items": {"type": "string"}}, "name": "queries", "required": true}]',
      outputs:
        '[{"type": "array", "items": {"type": "array", "items": {"type": "string"}}, "name": "answers", "required": true}]',
      params: null,
    });
  });

  it('infers arrays of objects with optional properties (test_schema.py test_nested_array_object_to_and_from_dict)', async () => {
    const data = [{ p: 'a', arr: [{ p2: true, arr2: [1, 2, 3] }, { arr2: [2, 3, 4] }] }];
    expect(await inputsJson(data, MLFLOW_INTS)).toBe(
      '[{"type": "string", "name": "p", "required": true}, {"type": "array", "items": {"type": "object", "properties": {"arr2": {"type": "array", "items": {"type": "long"}, "required": true}, "p2": {"type": "boolean", "required": false}}}, "name": "arr", "required": true}]'
    );
  });

  it('types all-null columns as optional any, typed arrays in rows as arrays, Map as map', async () => {
    const sig = await inferSignature([
      { n: null, v: new Float32Array([1, 2]), m: new Map([['k', 1.5]]) },
      { n: undefined, v: new Float32Array([3]), m: new Map() },
    ]);
    expect(sig.inputs).toEqual([
      { kind: 'column', name: 'n', type: { type: 'any' }, required: false },
      {
        kind: 'column',
        name: 'v',
        type: { type: 'array', items: { type: 'float' } },
        required: true,
      },
      {
        kind: 'column',
        name: 'm',
        type: { type: 'map', values: { type: 'double' } },
        required: true,
      },
    ]);
  });

  it('rejects mixed-type columns naming the column (test_schema.py test_schema_inference_on_list_with_errors)', async () => {
    await expect(
      inferSignature([
        { a: 1, b: 'c' },
        { a: 1, b: ['a', 'b'] },
      ])
    ).rejects.toThrow(/column 'b': values have mixed types \(string and array \["a","b"\]\)/);
    await expect(inferSignature(['a', 1])).rejects.toMatchObject({ code: 'E_SIGNATURE_INVALID' });
    await expect(inferSignature([{ a: [1, 'x'] }])).rejects.toThrow(
      /column 'a' items: values have mixed types/
    );
  });

  it('rejects empty input', async () => {
    await expect(inferSignature([])).rejects.toThrow(/empty array/);
    await expect(inferSignature({})).rejects.toThrow(/empty object/);
  });
});

describe('inference from columns (object of arrays)', () => {
  it('maps typed arrays by element type and plain arrays by value', async () => {
    const cols = {
      f32: new Float32Array(2),
      f64: new Float64Array(2),
      i32: new Int32Array(2),
      u8: new Uint8Array(2),
      u32: new Uint32Array(2),
      i64: new BigInt64Array(2),
      s: ['a', null],
    };
    expect(await inputsJson(cols)).toBe(
      '[{"type": "float", "name": "f32", "required": true}, {"type": "double", "name": "f64", "required": true}, {"type": "integer", "name": "i32", "required": true}, {"type": "integer", "name": "u8", "required": true}, {"type": "long", "name": "u32", "required": true}, {"type": "long", "name": "i64", "required": true}, {"type": "string", "name": "s", "required": false}]'
    );
  });

  it('rejects ragged columns', async () => {
    await expect(inferSignature({ a: [1, 2], b: [1] })).rejects.toThrow(
      /different lengths \(a=2, b=1\)/
    );
  });

  it('treats an object of scalars as one row', async () => {
    // test_schema.py: {"a": "a", "b": ["a", "b"]} -> a: string, b: array<string>
    expect(await inputsJson({ a: 'a', b: ['a', 'b'] })).toBe(
      '[{"type": "string", "name": "a", "required": true}, {"type": "array", "items": {"type": "string"}, "name": "b", "required": true}]'
    );
  });
});

describe('inference from Arrow', () => {
  it('maps column types with valueTypeFor and marks columns with nulls optional', async () => {
    const table = new Table({
      x: vectorFromArray(new Float32Array([1, 2])),
      n: vectorFromArray([1, null], new Int16()),
      s: vectorFromArray(['a', 'b'], new Utf8()),
    });
    expect(await inputsJson(table)).toBe(
      '[{"type": "float", "name": "x", "required": true}, {"type": "integer", "name": "n", "required": false}, {"type": "string", "name": "s", "required": true}]'
    );
    expect(await inputsJson(table.batches[0])).toBe(await inputsJson(table));
  });

  it('marks struct properties with nulls optional', async () => {
    const table = tableFromJSON([{ o: { a: 1, b: 'x' } }, { o: { a: 2, b: null } }]);
    const [spec] = (await inferSignature(table)).inputs as ColSpec[];
    expect(spec?.type).toEqual({
      type: 'object',
      properties: [
        { name: 'a', type: { type: 'double' }, required: true },
        { name: 'b', type: { type: 'string' }, required: false },
      ],
    });
  });
});

describe('outputs', () => {
  it('a single array, typed array or Vector is one unnamed column', async () => {
    const out = async (o: unknown): Promise<string> =>
      schemaToJson((await inferSignature([{ x: 1 }], o)).outputs!);
    expect(await out(new Float64Array([0.5]))).toBe('[{"type": "double", "required": true}]');
    expect(await out([0.5, 1])).toBe('[{"type": "double", "required": true}]');
    expect(await out(['a', null])).toBe('[{"type": "string", "required": true}]');
    expect(await out(vectorFromArray([1, 2], new Float32()))).toBe(
      '[{"type": "float", "required": true}]'
    );
    expect((await inferSignature([{ x: 1 }])).outputs).toBeNull();
  });
});

describe('params (test_schema.py test_infer_param_schema)', () => {
  it('keeps key order, uses values as defaults, arrays get shape [-1]', async () => {
    const sig = await inferSignature([{ x: 1 }], undefined, {
      str_param: 'str_a',
      bool_param: true,
      double_param: 1.5,
      long_param: 100,
      big: 7n,
      datetime_param: new Date('2023-06-26T00:00:00Z'),
      str_list: ['a', 'b', 'c'],
      num_list: [1, 2.5],
      f32: new Float32Array([0.5]),
      empty: [],
      cfg: { k: 1, name: 'x' },
    });
    expect(paramsToJson(sig.params!)).toBe(
      '[{"name": "str_param", "default": "str_a", "shape": null, "type": "string"}, ' +
        '{"name": "bool_param", "default": true, "shape": null, "type": "boolean"}, ' +
        '{"name": "double_param", "default": 1.5, "shape": null, "type": "double"}, ' +
        '{"name": "long_param", "default": 100, "shape": null, "type": "long"}, ' +
        '{"name": "big", "default": 7, "shape": null, "type": "long"}, ' +
        '{"name": "datetime_param", "default": "2023-06-26T00:00:00", "shape": null, "type": "datetime"}, ' +
        '{"name": "str_list", "default": ["a", "b", "c"], "shape": [-1], "type": "string"}, ' +
        '{"name": "num_list", "default": [1.0, 2.5], "shape": [-1], "type": "double"}, ' +
        '{"name": "f32", "default": [0.5], "shape": [-1], "type": "float"}, ' +
        '{"name": "empty", "default": [], "shape": [-1], "type": "double"}, ' +
        '{"name": "cfg", "default": {"k": 1, "name": "x"}, "shape": null, "type": "object", "properties": {"k": {"type": "long", "required": true}, "name": {"type": "string", "required": true}}}]'
    );
  });

  it('lists every param it cannot infer in one error', async () => {
    const err = inferSignature([{ x: 1 }], undefined, {
      a: 'ok',
      b: [[1, 2]],
      c: new Uint8Array([1]),
      d: null,
      e: [1, 'x'],
    });
    await expect(err).rejects.toMatchObject({ code: 'E_SIGNATURE_INVALID' });
    await expect(err).rejects.toThrow(
      /'b': .*nested array.*'c': Binary type is not supported.*'d': .*got null.*'e': .*one type/
    );
    await expect(inferSignature([{ x: 1 }], undefined, ['a'])).rejects.toThrow(
      /Expected parameters to be a plain object/
    );
  });
});
