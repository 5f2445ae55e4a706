import {
  Binary,
  Field,
  Float64,
  Int32,
  Int64,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  base64EncodeBytes,
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
  it('a table becomes a list of row objects; bigint -> number, binary -> base64.encodebytes, timestamp -> isoformat()', () => {
    const t = new Table({
      l: vectorFromArray([1n, null], new Int64()),
      b: vectorFromArray([new Uint8Array([104, 105]), null], new Binary()),
      t: vectorFromArray([Date.UTC(2024, 0, 2), null], new TimestampMillisecond()),
      s: vectorFromArray(['x', 'y'], new Utf8()),
    });
    expect(JSON.parse(formatPredictions(t))).toEqual({
      predictions: [
        { l: 1, b: 'aGk=\n', t: '2024-01-02T00:00:00', s: 'x' },
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
      predictions: { scores: [0.5], n: 2, when: '1970-01-01T00:00:00', raw: 'AQ==\n' },
    });
  });
});

describe('parseMlflowRequest: dicts as MLflow reads them (issue 10)', () => {
  const str = (name: string): ColSpec => ({
    kind: 'column',
    name,
    type: { type: 'string' },
    required: true,
  });
  const arr = (name: string): ColSpec => ({
    kind: 'column',
    name,
    type: { type: 'array', items: { type: 'string' } },
    required: true,
  });

  it('with an Array or Object column in the schema, a dict of lists is ONE row (inputs and instances)', () => {
    for (const key of ['inputs', 'instances']) {
      const { table } = parseMlflowRequest({ [key]: { query: ['a', 'b'], table: 't' } }, [
        arr('query'),
        str('table'),
      ]);
      expect(tableRows(table)).toEqual([{ query: ['a', 'b'], table: 't' }]);
    }
    const obj: ColSpec = {
      kind: 'column',
      name: 'o',
      type: { type: 'object', properties: [{ name: 'a', type: { type: 'long' }, required: true }] },
      required: true,
    };
    expect(tableRows(parseMlflowRequest({ inputs: { o: { a: 1 } } }, [obj]).table)).toEqual([
      { o: { a: '1n' } },
    ]);
  });

  it('without one, lists are columns and a scalar is broadcast to their length', () => {
    const { table } = parseMlflowRequest({ inputs: { query: ['a', 'b'], table: 't' } }, [
      str('query'),
      str('table'),
    ]);
    expect(tableRows(table)).toEqual([
      { query: 'a', table: 't' },
      { query: 'b', table: 't' },
    ]);
    // Only scalars: one row; no schema: the same rules.
    expect(tableRows(parseMlflowRequest({ inputs: { a: 1, b: 'x' } }).table)).toEqual([
      { a: 1n, b: 'x' },
    ]);
    expect(parseMlflowRequest({ inputs: { a: [], b: 'x' } }).table.numRows).toBe(0);
    const e = errorOf(() => parseMlflowRequest({ inputs: { a: [1], b: [1, 2], c: 3 } }));
    expect(e.message).toBe(
      'Invalid input. The length of values for each input/column name are not the same'
    );
  });

  it('dataframe_split: an index of another length is a 400 like pandas/MLflow; a matching one is ignored', () => {
    const bad =
      "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: ";
    const e = errorOf(() =>
      parseMlflowRequest({ dataframe_split: { columns: ['a'], data: [[1], [2]], index: [0] } })
    );
    expect(e.code).toBe('E_INPUT_INVALID');
    expect(e.message).toBe(`${bad}'Shape of passed values is (2, 1), indices imply (1, 1)'`);
    expect(
      errorOf(() => parseMlflowRequest({ dataframe_split: { data: [], index: [0] } })).message
    ).toBe(`${bad}'Empty data passed with indices specified.'`);
    expect(
      errorOf(() => parseMlflowRequest({ dataframe_split: { data: [[1]], index: 5 } })).message
    ).toBe(`${bad}'Index(...) must be called with a collection of some kind, 5 was passed'`);
    const { table } = parseMlflowRequest({
      dataframe_split: { columns: ['a'], data: [[1], [2]], index: ['r1', 'r2'] },
    });
    expect(table.numRows).toBe(2);
    expect(
      parseMlflowRequest({ dataframe_split: { data: [[1]], index: null } }).table.numRows
    ).toBe(1);
  });
});

describe('formatPredictions: MLflow NumpyEncoder forms (issue 10)', () => {
  it('timestamps as isoformat(): microseconds only when present, zoned ones with +00:00', () => {
    const t = new Table({
      naive: vectorFromArray(
        [Date.UTC(2023, 5, 6), Date.UTC(2023, 5, 6, 12, 30, 0, 250)],
        new TimestampMillisecond()
      ),
      zoned: vectorFromArray(
        [Date.UTC(2023, 5, 6), Date.UTC(2023, 5, 6)],
        new TimestampMillisecond('UTC')
      ),
    });
    expect(JSON.parse(formatPredictions(t))).toEqual({
      predictions: [
        { naive: '2023-06-06T00:00:00', zoned: '2023-06-06T00:00:00+00:00' },
        { naive: '2023-06-06T12:30:00.250000', zoned: '2023-06-06T00:00:00+00:00' },
      ],
    });
    const micros = new Table({
      t: vectorFromArray(
        [new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 500))],
        new TimestampMicrosecond()
      ),
    });
    expect(JSON.parse(formatPredictions(micros))).toEqual({
      predictions: [{ t: '1969-12-31T23:59:59.500000' }],
    });
  });

  it('bytes as base64.encodebytes: 76-character lines, each ending with a newline', () => {
    expect(base64EncodeBytes(new Uint8Array([1, 2, 3]))).toBe('AQID\n');
    expect(base64EncodeBytes(new Uint8Array(0))).toBe('');
    const long = new Uint8Array(120).fill(255);
    const text = Buffer.from(long).toString('base64');
    expect(text.length).toBe(160);
    expect(base64EncodeBytes(long)).toBe(
      `${text.slice(0, 76)}\n${text.slice(76, 152)}\n${text.slice(152)}\n`
    );
    expect(JSON.parse(formatPredictions([new Uint8Array([1, 2, 3])]))).toEqual({
      predictions: ['AQID\n'],
    });
  });

  it('Dates (datetime params echoed) as naive isoformat(); unwrapped drops the wrapper', () => {
    const when = new Date(Date.UTC(2023, 5, 6));
    expect(formatPredictions({ dt: when })).toBe('{"predictions":{"dt":"2023-06-06T00:00:00"}}');
    expect(formatPredictions([1, 2], { unwrapped: true })).toBe('[1,2]');
  });
});
