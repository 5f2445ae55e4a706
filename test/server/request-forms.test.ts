// Issue 10, item 3: the request forms and response formatting of MLflow's scoring server, ported
// from MLflow's tests (tests/pyfunc/test_pyfunc_schema_enforcement.py: serving with dicts, with
// objects and arrays, `instances`; tests/pyfunc/test_scoring_server.py: split orientation,
// params) and run against both backends: the main thread and the worker pool.
//
// The model echoes its input (MLflow's tests use `return model_input`), so the response is the
// table the server built from the request: `df.to_dict(orient="records")` in MLflow's tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { createScoringApp, type ScoringApp } from '../../src/server/app.js';
import type { ScoringBackend } from '../../src/server/backend.js';
import { createPoolBackend } from '../../src/server/pool-backend.js';
import { bodyOf, writeJsPackage } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'jsfunc-forms-'));

const ECHO = `
export default class Echo {
  predict(context, input, params) {
    if (params.echo_params) return { dt: params.dt, note: params.note };
    return input;
  }
}
`;

/** MLflow JSON specs of the input schemas used below. */
const SCHEMAS = {
  query: [{ type: 'string', name: 'query', required: true }],
  queryTable: [
    { type: 'string', name: 'query', required: true },
    { type: 'string', name: 'table', required: true },
  ],
  queryArray: [{ type: 'array', items: { type: 'string' }, name: 'query', required: true }],
  queryArrayTable: [
    { type: 'array', items: { type: 'string' }, name: 'query', required: true },
    { type: 'string', name: 'table', required: true },
  ],
  queryArrayOptionalTable: [
    { type: 'array', items: { type: 'string' }, name: 'query', required: true },
    { type: 'string', name: 'table', required: false },
  ],
  objects: [
    {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string', required: true } } },
      name: 'query',
      required: true,
    },
    { type: 'array', items: { type: 'string' }, name: 'table', required: true },
  ],
  object: [
    {
      type: 'object',
      properties: {
        a: { type: 'string', required: true },
        b: { type: 'long', required: true },
      },
      name: 'query',
      required: true,
    },
  ],
  typed: [
    { type: 'datetime', name: 'when', required: true },
    { type: 'binary', name: 'raw', required: true },
  ],
} as const;
type SchemaName = keyof typeof SCHEMAS;

const PARAMS = [
  { name: 'dt', type: 'datetime', default: '2023-06-06T00:00:00', shape: null },
  { name: 'note', type: 'string', default: 'n', shape: null },
  { name: 'echo_params', type: 'boolean', default: false, shape: null },
];

function writeEcho(name: SchemaName): string {
  return writeJsPackage(join(root, name), ECHO, SCHEMAS[name], PARAMS);
}

const modes = ['main thread', 'pool'] as const;
type Mode = (typeof modes)[number];
const apps = new Map<string, ScoringApp>();
const backends: ScoringBackend[] = [];

beforeAll(async () => {
  for (const name of Object.keys(SCHEMAS) as SchemaName[]) {
    const dir = writeEcho(name);
    const model = await loadModel(dir, { warn: () => undefined });
    apps.set(`main thread/${name}`, createScoringApp(model, { warn: () => undefined }));
  }
  // One pool app, for the schemas the pool cases use (a worker per backend).
  for (const name of ['queryTable', 'queryArrayTable', 'objects', 'typed'] as SchemaName[]) {
    const backend = await createPoolBackend(join(root, name), {
      workers: 1,
      maxBatchRows: 1024,
      maxWaitUs: 0,
      timeoutMs: 20_000,
      loadTimeoutMs: 30_000,
      warn: () => undefined,
    });
    backends.push(backend);
    apps.set(`pool/${name}`, createScoringApp(backend, { log: () => undefined }));
  }
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  rmSync(root, { recursive: true, force: true });
});

function app(mode: Mode, schema: SchemaName): ScoringApp {
  const found = apps.get(`${mode}/${schema}`) ?? apps.get(`main thread/${schema}`);
  if (found === undefined) throw new Error(`no app for ${schema}`);
  return found;
}

async function post(
  mode: Mode,
  schema: SchemaName,
  body: unknown
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await app(mode, schema).handle({
    method: 'POST',
    url: '/invocations',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: bodyOf(res) as Record<string, unknown> };
}

/** pandas `to_dict(orient="split")` / `"records"` of the expected frame. */
function split(rows: Record<string, unknown>[]) {
  const columns = Object.keys(rows[0] ?? {});
  return { columns, data: rows.map((r) => columns.map((c) => r[c] ?? null)) };
}

describe('the issue-10 dicts in LoadedModel.predict (MLflow pyfunc predict)', () => {
  it('a dict of lists is one row with an Array column in the schema, else scalars are broadcast', async () => {
    const data = { query: ['a', 'b'], table: 't' };
    const withArray = await loadModel(join(root, 'queryArrayTable'), { warn: () => undefined });
    const oneRow = (await withArray.predict(data)) as Table;
    expect(oneRow.numRows).toBe(1);
    expect(oneRow.getChild('query')?.get(0)?.toArray()).toEqual(['a', 'b']);
    expect(oneRow.getChild('table')?.get(0)).toBe('t');
    const strings = await loadModel(join(root, 'queryTable'), { warn: () => undefined });
    const twoRows = (await strings.predict(data)) as Table;
    expect(twoRows.toArray().map((r) => ({ ...r }))).toEqual([
      { query: 'a', table: 't' },
      { query: 'b', table: 't' },
    ]);
    await expect(strings.predict({ query: ['a', 'b'], table: ['t'] })).rejects.toThrow(
      /different lengths/
    );
  });
});

describe.each(modes)('MLflow request forms (%s)', (mode) => {
  // test_pyfunc_model_serving_with_dicts: string columns, so a dict of lists is columns and a
  // scalar is broadcast (pd.DataFrame(dict)).
  const withDicts: [string, SchemaName, Record<string, unknown>, Record<string, unknown>[]][] = [
    ['one scalar', 'query', { query: 'sentence' }, [{ query: 'sentence' }]],
    [
      'a list',
      'query',
      { query: ['sentence_1', 'sentence_2'] },
      [{ query: 'sentence_1' }, { query: 'sentence_2' }],
    ],
    [
      'a list and a scalar (broadcast)',
      'queryTable',
      { query: ['sentence_1', 'sentence_2'], table: 'some_table' },
      [
        { query: 'sentence_1', table: 'some_table' },
        { query: 'sentence_2', table: 'some_table' },
      ],
    ],
  ];
  describe.each(['inputs', 'dataframe_split', 'dataframe_records'])('%s', (key) => {
    it.each(withDicts)('serving with dicts: %s', async (_name, schema, data, expected) => {
      const payload =
        key === 'inputs'
          ? { inputs: data }
          : key === 'dataframe_split'
            ? { dataframe_split: split(expected) }
            : { dataframe_records: expected };
      const res = await post(mode, schema, payload);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toEqual({ predictions: expected });
    });
  });

  // test_pyfunc_model_scoring_with_objects_and_arrays (+ _instances): with an Array or Object
  // column in the schema a dict is ONE row whatever its values are.
  const objectsAndArrays: [string, SchemaName, unknown, Record<string, unknown>[]][] = [
    [
      'a list for an array column',
      'queryArray',
      { query: ['sentence_1', 'sentence_2'] },
      [{ query: ['sentence_1', 'sentence_2'] }],
    ],
    [
      'a list and a scalar',
      'queryArrayTable',
      { query: ['sentence_1', 'sentence_2'], table: 'some_table' },
      [{ query: ['sentence_1', 'sentence_2'], table: 'some_table' }],
    ],
    [
      'lists of objects and strings',
      'objects',
      { query: [{ name: 'value' }, { name: 'value' }], table: ['some_table'] },
      [{ query: [{ name: 'value' }, { name: 'value' }], table: ['some_table'] }],
    ],
    ['an object', 'object', { query: { a: 'a', b: 1 } }, [{ query: { a: 'a', b: 1 } }]],
    [
      'records',
      'query',
      [{ query: 'sentence' }, { query: 'sentence' }],
      [{ query: 'sentence' }, { query: 'sentence' }],
    ],
    [
      'records with a missing optional column',
      'queryArrayOptionalTable',
      [{ query: ['sentence_1', 'sentence_2'], table: 'some_table' }, { query: ['sentence_1'] }],
      // MLflow answers NaN for the missing cell (bare NaN in its JSON); jsfunc writes null.
      [
        { query: ['sentence_1', 'sentence_2'], table: 'some_table' },
        { query: ['sentence_1'], table: null },
      ],
    ],
  ];
  describe.each(['inputs', 'dataframe_split', 'dataframe_records', 'instances'])('%s', (key) => {
    it.each(objectsAndArrays)('objects and arrays: %s', async (name, schema, data, expected) => {
      // MLflow's `instances` turns records into columns and then checks their lengths: the
      // record without the optional column fails there too (its test of instances errors).
      if (key === 'instances' && name.includes('missing optional')) {
        const res = await post(mode, schema, { instances: data });
        expect(res.status).toBe(400);
        return;
      }
      const payload =
        key === 'inputs' || key === 'instances'
          ? { [key]: data }
          : key === 'dataframe_split'
            ? { dataframe_split: split(expected) }
            : { dataframe_records: expected };
      const res = await post(mode, schema, payload);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toEqual({ predictions: expected });
    });
  });

  it('the issue-10 cases: inputs dict of lists is one row with an array column, broadcast without', async () => {
    const data = { query: ['a', 'b'], table: 't' };
    const oneRow = await post(mode, 'queryArrayTable', { inputs: data });
    expect(oneRow.json).toEqual({ predictions: [{ query: ['a', 'b'], table: 't' }] });
    const twoRows = await post(mode, 'queryTable', { inputs: data });
    expect(twoRows.json).toEqual({
      predictions: [
        { query: 'a', table: 't' },
        { query: 'b', table: 't' },
      ],
    });
  });

  it('inputs with lists of unequal length fail (400)', async () => {
    const res = await post(mode, 'queryTable', { inputs: { query: ['a', 'b'], table: ['t'] } });
    expect(res.status).toBe(400);
    expect(res.json['message']).toContain('The length of values for each input/column name');
  });

  it("dataframe_split whose index length differs from data: 400 BAD_REQUEST, MLflow's message", async () => {
    const res = await post(mode, 'queryTable', {
      dataframe_split: { columns: ['query', 'table'], data: [['a', 't']], index: [0, 1, 2] },
    });
    expect(res.status).toBe(400);
    expect(res.json['error_code']).toBe('BAD_REQUEST');
    expect(res.json['message']).toBe(
      "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: 'Shape of passed values is (1, 2), indices imply (3, 2)'"
    );
    const ok = await post(mode, 'queryTable', {
      dataframe_split: { columns: ['query', 'table'], data: [['a', 't']], index: [7] },
    });
    expect(ok.status).toBe(200);
  });

  it("a top-level schema error has MLflow's 'Failed to enforce schema of data ... with schema' wording", async () => {
    const res = await post(mode, 'queryTable', { inputs: { nope: ['x'] } });
    expect(res.status).toBe(400);
    expect(res.json['error_code']).toBe('INVALID_PARAMETER_VALUE');
    expect(res.json['message']).toBe(
      "Failed to predict data '<1 rows x 1 columns: nope>'. \nError: Failed to enforce schema of " +
        "data '<1 rows x 1 columns: nope>' with schema '['query': string (required), 'table': " +
        "string (required)]'. Error: Model is missing inputs ['query', 'table']. Note that there " +
        "were extra inputs: ['nope']."
    );
    // Nested types in MLflow's repr; an Arrow body reaches enforcement with its own types (JSON
    // values are converted while parsing, with MLflow's "Data is not compatible" message).
    const arrow = tableToIPC(tableFromArrays({ query: ['not a list'], table: ['t'] }), 'stream');
    const nested = await app(mode, 'objects').handle({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
      body: arrow,
    });
    expect(nested.status).toBe(400);
    expect((bodyOf(nested) as Record<string, string>)['message']).toContain(
      "with schema '['query': Array({name: string (required)}) (required), 'table': Array(string) (required)]'. Error: "
    );
  });

  it('datetime cells and params are written as isoformat(), bytes as base64.encodebytes', async () => {
    const raw = Buffer.alloc(60, 7);
    const res = await post(mode, 'typed', {
      dataframe_records: [
        { when: '2023-06-06T00:00:00', raw: Buffer.from([1, 2, 3]).toString('base64') },
        { when: '2023-06-06 12:30:00.250', raw: raw.toString('base64') },
      ],
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({
      predictions: [
        { when: '2023-06-06T00:00:00', raw: 'AQID\n' },
        {
          when: '2023-06-06T12:30:00.250000',
          // encodebytes: lines of 76 characters, each ending with a newline.
          raw: `${raw.toString('base64').slice(0, 76)}\n${raw.toString('base64').slice(76)}\n`,
        },
      ],
    });
    const params = await post(mode, 'typed', {
      inputs: { when: ['2023-06-06T00:00:00'], raw: ['AQID'] },
      params: { echo_params: true, dt: '2024-02-03T04:05:06' },
    });
    expect(params.json).toEqual({ predictions: { dt: '2024-02-03T04:05:06', note: 'n' } });
  });
});
