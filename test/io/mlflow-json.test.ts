import {
  Binary,
  Field,
  Float64,
  Int32,
  Int64,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  formatPredictions,
  parseCsvRequest,
  parseMlflowRequest,
} from '../../src/io/mlflow-json.js';
import type { ColSpec, TensorSpec } from '../../src/signature/types.js';
import { rows, typesOf } from './helpers.js';
import { errorOf } from '../util/model-error.js';

const xy: ColSpec[] = [
  { kind: 'column', name: 'x', type: { type: 'double' }, required: true },
  { kind: 'column', name: 'n', type: { type: 'integer' }, required: true },
];

function tableRows(t: Table) {
  return rows(t.batches);
}

describe('parseMlflowRequest: the four input forms', () => {
  it('dataframe_split with columns, data and index; JSON ints into a double column', () => {
    const { table, params } = parseMlflowRequest(
      '{"dataframe_split": {"columns": ["x", "n"], "data": [[1, 2], [2.5, 3]], "index": [7, 8]}}',
      xy
    );
    expect(params).toBeUndefined();
    expect(typesOf(table.batches[0]!)).toEqual(['x: Float64', 'n: Int32']);
    expect(tableRows(table)).toEqual([
      { x: 1, n: 2 },
      { x: 2.5, n: 3 },
    ]);
  });

  it('dataframe_split without columns names them 0..n-1', () => {
    const { table } = parseMlflowRequest({ dataframe_split: { data: [[1, 'a']] } });
    expect(table.schema.fields.map((f) => f.name)).toEqual(['0', '1']);
  });

  it('dataframe_records: missing keys become nulls, signature types apply', () => {
    const { table } = parseMlflowRequest(
      { dataframe_records: [{ x: 1, n: 1 }, { n: 2 }, { x: 3, n: 3, extra: 's' }] },
      xy
    );
    expect(typesOf(table.batches[0]!)).toEqual(['x: Float64', 'n: Int32', 'extra: Utf8']);
    expect(tableRows(table)).toEqual([
      { x: 1, n: 1, extra: null },
      { x: null, n: 2, extra: null },
      { x: 3, n: 3, extra: 's' },
    ]);
  });

  it('instances: a list of dicts becomes columns; unequal lengths fail like MLflow', () => {
    const { table } = parseMlflowRequest(
      {
        instances: [
          { x: 1, n: 5 },
          { x: 2, n: 6 },
        ],
      },
      xy
    );
    expect(tableRows(table)).toEqual([
      { x: 1, n: 5 },
      { x: 2, n: 6 },
    ]);
    const e = errorOf(() => parseMlflowRequest({ instances: [{ x: 1, n: 5 }, { x: 2 }] }, xy));
    expect(e.code).toBe('E_INPUT_INVALID');
    expect(e.message).toBe(
      'Invalid input. The length of values for each input/column name are not the same'
    );
  });

  it('inputs: a dict of lists is columns; params come along', () => {
    const { table, params } = parseMlflowRequest(
      { inputs: { x: [1, 2], n: [3, 4] }, params: { k: 2 } },
      xy
    );
    expect(params).toEqual({ k: 2 });
    expect(tableRows(table)).toEqual([
      { x: 1, n: 3 },
      { x: 2, n: 4 },
    ]);
  });

  it('inputs: a list binds to the single column of a one-column schema', () => {
    const one: ColSpec[] = [
      { kind: 'column', name: 'text', type: { type: 'string' }, required: true },
    ];
    const { table } = parseMlflowRequest({ inputs: ['a', '007'] }, one);
    expect(typesOf(table.batches[0]!)).toEqual(['text: Utf8']);
    expect(tableRows(table)).toEqual([{ text: 'a' }, { text: '007' }]);
  });

  it('inputs for a tensor signature keeps each row as a list of the tensor dtype', () => {
    const t: TensorSpec[] = [{ kind: 'tensor', dtype: 'float32', shape: [-1, 2] }];
    const { table } = parseMlflowRequest(
      {
        inputs: [
          [1, 2],
          [3, 4],
        ],
      },
      t
    );
    expect(typesOf(table.batches[0]!)).toEqual(['0: List<Float32>']);
    expect(tableRows(table)).toEqual([{ '0': [1, 2] }, { '0': [3, 4] }]);
  });

  it('binary columns are base64-decoded, datetime columns parse ISO text, long keeps precision', () => {
    const sig: ColSpec[] = [
      { kind: 'column', name: 'b', type: { type: 'binary' }, required: true },
      { kind: 'column', name: 't', type: { type: 'datetime' }, required: true },
      { kind: 'column', name: 'l', type: { type: 'long' }, required: true },
    ];
    const { table } = parseMlflowRequest(
      {
        dataframe_records: [
          {
            b: Buffer.from('hi').toString('base64'),
            t: '2024-01-02T03:04:05',
            l: '9007199254740993',
          },
        ],
      },
      sig
    );
    expect(typesOf(table.batches[0]!)).toEqual([
      'b: Binary',
      't: Timestamp<MILLISECOND>',
      'l: Int64',
    ]);
    expect(tableRows(table)).toEqual([
      { b: [104, 105], t: Date.UTC(2024, 0, 2, 3, 4, 5), l: 9007199254740993n },
    ]);
  });
});

describe('parseMlflowRequest: MLflow error messages', () => {
  it('malformed JSON', () => {
    const e = errorOf(() => parseMlflowRequest('{"inputs": [1,'));
    expect(e.code).toBe('E_INPUT_INVALID');
    expect(e.message).toMatch(
      /^Invalid input\. Ensure that input is a valid JSON formatted string\. Error: '.+'$/
    );
  });

  it('no input key, several keys, and a list body', () => {
    const prefix =
      "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";
    const none = errorOf(() => parseMlflowRequest({ columns: ['a'], data: [[1]] }));
    expect(
      none.message.startsWith(
        `${prefix}. Received dictionary with input fields: ['columns', 'data']. Accepted shapes:`
      )
    ).toBe(true);
    const two = errorOf(() => parseMlflowRequest({ inputs: [1], instances: [1] }));
    expect(two.message).toContain("Received dictionary with input fields: ['inputs', 'instances']");
    const list = errorOf(() => parseMlflowRequest('[1, 2]'));
    expect(
      list.message.startsWith(`Invalid input. ${prefix}. Received a list. Accepted shapes:`)
    ).toBe(true);
    for (const e of [none, two, list]) expect(e.code).toBe('E_INPUT_INVALID');
  });

  it('dataframe_split with other keys', () => {
    const e = errorOf(() =>
      parseMlflowRequest({ dataframe_split: { columns: ['a'], rows: [[1]] } })
    );
    expect(e.message).toBe(
      "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {'columns', 'rows'}."
    );
  });

  it('dataframe_records given a dictionary', () => {
    const e = errorOf(() => parseMlflowRequest({ dataframe_records: { a: [1] } }));
    expect(e.message).toBe(
      'Invalid input. Dataframe records format must be a list of records. Got dictionary.'
    );
  });

  it('a value that does not convert to the signature type', () => {
    const e = errorOf(() => parseMlflowRequest({ inputs: { x: [1], n: ['abc'] } }, xy));
    expect(e.code).toBe('E_INPUT_INVALID');
    expect(e.message).toMatch(
      /^Invalid input\. Data is not compatible with model signature\. Failed to convert column n to type 'int32'\. Error: '.*abc.*'$/
    );
    expect(e.details['column']).toBe('n');
  });
});

describe('parseCsvRequest', () => {
  it('types columns by the signature: integer -> Int32, string stays "007"', () => {
    const sig: ColSpec[] = [
      { kind: 'column', name: 'n', type: { type: 'integer' }, required: true },
      { kind: 'column', name: 'zip', type: { type: 'string' }, required: true },
    ];
    const t = parseCsvRequest('n,zip\n1,007\n2,\n', sig);
    expect(typesOf(t.batches[0]!)).toEqual(['n: Int32', 'zip: Utf8']);
    expect(tableRows(t)).toEqual([
      { n: 1, zip: '007' },
      { n: 2, zip: null },
    ]);
  });

  it("fails with MLflow's CSV message on a bad row", () => {
    const e = errorOf(() => parseCsvRequest('a,b\n1,2\n3\n'));
    expect(e.code).toBe('E_INPUT_INVALID');
    expect(e.message).toMatch(/^Failed to parse input as a Pandas DataFrame\..*line 3/);
  });
});

describe('formatPredictions', () => {
  it('a table becomes a list of row objects; bigint -> number, binary -> base64, timestamp -> ISO', () => {
    const t = new Table({
      l: vectorFromArray([1n, null], new Int64()),
      b: vectorFromArray([new Uint8Array([104, 105]), null], new Binary()),
      t: vectorFromArray([Date.UTC(2024, 0, 2), null], new TimestampMillisecond()),
      s: vectorFromArray(['x', 'y'], new Utf8()),
    });
    expect(JSON.parse(formatPredictions(t))).toEqual({
      predictions: [
        { l: 1, b: 'aGk=', t: '2024-01-02T00:00:00.000', s: 'x' },
        { l: null, b: null, t: null, s: 'y' },
      ],
    });
  });

  it('a vector becomes a list, a struct vector a list of objects, NaN null', () => {
    expect(formatPredictions(vectorFromArray([1.5, Number.NaN, null], new Float64()))).toBe(
      '{"predictions":[1.5,null,null]}'
    );
    expect(formatPredictions(vectorFromArray([3, 4], new Int32()))).toBe('{"predictions":[3,4]}');
    const st = vectorFromArray([{ a: 1 }], new Struct([new Field('a', new Float64(), true)]));
    expect(formatPredictions(st)).toBe('{"predictions":[{"a":1}]}');
  });

  it('plain values: typed arrays, bigint, Date and nested objects', () => {
    expect(
      JSON.parse(
        formatPredictions({
          scores: new Float32Array([0.5]),
          n: 2n,
          when: new Date(0),
          raw: new Uint8Array([1]),
        })
      )
    ).toEqual({
      predictions: { scores: [0.5], n: 2, when: '1970-01-01T00:00:00.000Z', raw: 'AQ==' },
    });
  });
});
