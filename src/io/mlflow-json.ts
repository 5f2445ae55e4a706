/**
 * MLflow's scoring-server request and response forms (`mlflow/pyfunc/scoring_server`,
 * `mlflow/utils/proto_json_utils.py`), used by `jsfunc predict` and any HTTP front end.
 *
 * Requests: a JSON object with exactly one of `dataframe_split`, `dataframe_records`,
 * `instances`, `inputs`, plus an optional sibling `params`; or CSV text with a header row.
 * Values are cast to the signature's types leniently, as `cast_df_types_according_to_schema`
 * does (JSON integers into float columns, base64 text into binary columns), and columns the
 * signature does not name are inferred per column (see text-columns.ts).
 *
 * Responses: `{"predictions": ...}` where a table becomes a list of row objects and a vector a
 * list, int64 becomes a number, binary `base64.encodebytes` text, timestamps and dates Python
 * `isoformat()` text, as MLflow's `NumpyEncoder` writes them. NaN and infinities, which Python's
 * json module writes as bare `NaN`, are written as `null` so the body stays JSON.
 *
 * @module
 */
import { type DataType, Field, type RecordBatch, Table, Type } from 'apache-arrow';
import { recordBatchOf } from '../adapters/record-batch.js';
import { ModelError } from '../errors.js';
import { formatPyDatetime } from '../signature/iso-datetime.js';
import type { ColSpec, Params, Schema, TensorSpec, ValueType } from '../signature/types.js';
import { parseCsvBatch } from './csv.js';
import { jsonValue, kDefaultFormat } from './json-values.js';
import {
  buildColumnData,
  convertJson,
  inferJsonType,
  signatureColumnTypes,
  textColumnArrowType,
  valueTypeName,
} from './text-columns.js';

/** The four MLflow input keys, in the order MLflow's messages list them. */
export const MLFLOW_INPUT_KEYS = [
  'dataframe_split',
  'dataframe_records',
  'instances',
  'inputs',
] as const;

const REQUIRED_INPUT_FORMAT =
  'The input must be a JSON dictionary with exactly one of the input fields ' +
  `{${MLFLOW_INPUT_KEYS.map((k) => `'${k}'`).join(', ')}}`;

/**
 * The request shapes jsfunc accepts, for messages about a body of another shape (MLflow's own
 * message there is about its 1.x protocol and Python requirements files, which mean nothing
 * for a jsfunc package).
 */
export const ACCEPTED_REQUEST_SHAPES =
  'Accepted shapes: {"dataframe_split": {"columns": [...], "data": [[...], ...]}}, ' +
  '{"dataframe_records": [{"column": value, ...}, ...]}, {"instances": [...]}, ' +
  '{"inputs": {"column": [...], ...} or [...]}; each may have a sibling "params": {...}.';

/** A parsed scoring request. */
export interface MlflowRequest {
  /** The input data as a table (columns typed by the signature where it names them). */
  table: Table;
  /** The sibling `params` object, if the request had one (validated later against the params schema). */
  params?: Params;
}

function invalid(
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown
): ModelError {
  return new ModelError('E_INPUT_INVALID', message, { details, cause });
}

/** Python's `type(x)` repr, for messages that mirror MLflow's. */
function pyType(x: unknown): string {
  if (x === null || x === undefined) return "<class 'NoneType'>";
  if (Array.isArray(x)) return "<class 'list'>";
  switch (typeof x) {
    case 'string':
      return "<class 'str'>";
    case 'boolean':
      return "<class 'bool'>";
    case 'number':
      return Number.isInteger(x) ? "<class 'int'>" : "<class 'float'>";
    case 'object':
      return "<class 'dict'>";
    default:
      return `<class '${typeof x}'>`;
  }
}

function isDict(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Columns in insertion order, each a list of raw JSON values. */
type Columns = Map<string, unknown[]>;

/**
 * Parses an MLflow JSON scoring request into a table and params.
 *
 * @param body - the request text, or an already-parsed JSON value
 * @param schema - the model input signature used to type the columns; default none
 * @returns the table and the optional params
 * @throws {ModelError} E_INPUT_INVALID with MLflow's message for malformed JSON, a body that is
 *   not a dictionary with exactly one input key, a malformed `dataframe_split`/`dataframe_records`,
 *   columns of unequal length, or a value that does not convert to its signature type
 * @example
 * ```ts
 * const { table, params } = parseMlflowRequest('{"inputs": {"x": [1, 2]}, "params": {"k": 1}}', sig.inputs);
 * ```
 */
export function parseMlflowRequest(body: string | unknown, schema?: Schema | null): MlflowRequest {
  let decoded: unknown = body;
  if (typeof body === 'string') {
    try {
      decoded = JSON.parse(body);
    } catch (e) {
      throw invalid(
        `Invalid input. Ensure that input is a valid JSON formatted string. Error: '${(e as Error).message}'`,
        {},
        e
      );
    }
  }
  if (Array.isArray(decoded)) {
    throw invalid(
      `Invalid input. ${REQUIRED_INPUT_FORMAT}. Received a list. ${ACCEPTED_REQUEST_SHAPES}`
    );
  }
  if (!isDict(decoded)) {
    throw invalid(
      `Invalid input. ${REQUIRED_INPUT_FORMAT}. Received unexpected input type '${pyType(decoded)}'. ${ACCEPTED_REQUEST_SHAPES}`
    );
  }
  const keys = Object.keys(decoded).filter((k) =>
    (MLFLOW_INPUT_KEYS as readonly string[]).includes(k)
  );
  if (keys.length !== 1) {
    const got = `[${Object.keys(decoded)
      .map((k) => `'${k}'`)
      .join(', ')}]`;
    throw invalid(
      `${REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: ${got}. ${ACCEPTED_REQUEST_SHAPES}`,
      { keys: Object.keys(decoded) }
    );
  }
  const key = keys[0] as (typeof MLFLOW_INPUT_KEYS)[number];
  const rawParams = decoded['params'];
  let params: Params | undefined;
  if (rawParams !== undefined && rawParams !== null) {
    if (!isDict(rawParams)) {
      throw invalid(`Params must be a dictionary. Got type '${pyType(rawParams).slice(8, -2)}'.`);
    }
    params = rawParams;
  }
  const data = decoded[key];
  let columns: Columns;
  switch (key) {
    case 'dataframe_split':
      columns = splitColumns(data);
      break;
    case 'dataframe_records':
      columns = recordsColumns(data);
      break;
    case 'instances':
      columns = instancesColumns(data, schema);
      break;
    case 'inputs':
      columns = inputsColumns(data, schema);
      break;
  }
  const table = columnsToTable(columns, schema);
  return params === undefined ? { table } : { table, params };
}

function splitColumns(data: unknown): Columns {
  if (!isDict(data)) {
    const what = Array.isArray(data) ? 'list' : `type ${pyType(data)}`;
    throw invalid(`Invalid input. Dataframe split format must be a dictionary. Got ${what}.`);
  }
  const keys = Object.keys(data);
  const extra = keys.filter((k) => !['columns', 'data', 'index'].includes(k));
  if (!keys.includes('data') || extra.length > 0) {
    throw invalid(
      "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' " +
        `and 'index' fields. Got {${keys.map((k) => `'${k}'`).join(', ')}}.`
    );
  }
  const rows = data['data'];
  const names = data['columns'];
  const bad = (why: string) =>
    invalid(
      "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' " +
        `format. Error: '${why}'`
    );
  if (!Array.isArray(rows)) throw bad(`DataFrame constructor not properly called!`);
  if (names !== undefined && names !== null && !Array.isArray(names))
    throw bad('columns must be a list');
  const asRows = rows.map((r) => (Array.isArray(r) ? (r as unknown[]) : [r]));
  const width = Array.isArray(names) ? names.length : longest(asRows);
  for (const r of asRows) {
    if (r.length !== width)
      throw bad(`${width} columns passed, passed data had ${r.length} columns`);
  }
  checkSplitIndex(data['index'], asRows.length, width, bad);
  const cols: Columns = new Map();
  for (let c = 0; c < width; c++) {
    const name = Array.isArray(names) ? String(names[c]) : String(c);
    if (cols.has(name)) throw bad(`duplicate column name '${name}'`);
    cols.set(
      name,
      asRows.map((r) => r[c])
    );
  }
  return cols;
}

/**
 * `pd.DataFrame(index=..., columns=..., data=...)` checks the index against the data: a length
 * that differs from the row count is pandas' "Shape of passed values" ValueError, which MLflow
 * turns into its "not a valid dataframe representation" 400. The index values themselves are
 * not kept (a DataFrame's index never reaches the JSON response).
 */
function checkSplitIndex(
  index: unknown,
  rows: number,
  width: number,
  bad: (why: string) => ModelError
): void {
  if (index === undefined || index === null) return;
  if (!Array.isArray(index)) {
    throw bad(
      `Index(...) must be called with a collection of some kind, ${pyRepr(index)} was passed`
    );
  }
  if (index.length === rows) return;
  if (rows === 0) throw bad('Empty data passed with indices specified.');
  throw bad(
    `Shape of passed values is (${rows}, ${width}), indices imply (${index.length}, ${width})`
  );
}

/** A short Python-like repr of a JSON scalar, for pandas-style messages. */
function pyRepr(x: unknown): string {
  if (x === null || x === undefined) return 'None';
  if (typeof x === 'string') return `'${x}'`;
  if (typeof x === 'boolean') return x ? 'True' : 'False';
  if (typeof x === 'number') return String(x);
  return '{...}';
}

function recordsColumns(data: unknown): Columns {
  if (!Array.isArray(data)) {
    const what = isDict(data) ? 'dictionary' : `type ${pyType(data)}`;
    throw invalid(
      `Invalid input. Dataframe records format must be a list of records. Got ${what}.`
    );
  }
  if (data.every((r) => Array.isArray(r))) return rowsToColumns(data as unknown[][]);
  if (!data.every(isDict)) {
    throw invalid(
      'Invalid input. Provided dataframe_records field is not a valid dataframe representation in ' +
        "'records' format. Error: 'records must all be dictionaries or all be lists'"
    );
  }
  return dictsToColumns(data);
}

function dictsToColumns(rows: readonly Record<string, unknown>[]): Columns {
  const cols: Columns = new Map();
  rows.forEach((row, r) => {
    for (const [k, v] of Object.entries(row)) {
      let col = cols.get(k);
      if (col === undefined) {
        col = new Array<unknown>(r).fill(null);
        cols.set(k, col);
      }
      col.push(v);
    }
    for (const col of cols.values()) if (col.length < r + 1) col.push(null);
  });
  return cols;
}

function rowsToColumns(rows: readonly unknown[][]): Columns {
  const width = longest(rows);
  const cols: Columns = new Map();
  for (let c = 0; c < width; c++)
    cols.set(
      String(c),
      rows.map((r) => r[c] ?? null)
    );
  return cols;
}

/** The longest row's length (a loop: spreading many rows into Math.max overflows the stack). */
function longest(rows: readonly (readonly unknown[])[]): number {
  let width = 0;
  for (const r of rows) if (r.length > width) width = r.length;
  return width;
}

function namedColumns(schema: Schema | null | undefined): string[] {
  if (schema == null) return [];
  return (schema as { name?: string }[]).flatMap((s) => (s.name === undefined ? [] : [s.name]));
}

/** `instances`: a list of dicts is TF-serving row format (MLflow turns it into columns). */
function instancesColumns(data: unknown, schema: Schema | null | undefined): Columns {
  if (Array.isArray(data) && data.length > 0 && isDict(data[0])) {
    if (!data.every(isDict)) {
      throw invalid(
        'Invalid input. The length of values for each input/column name are not the same'
      );
    }
    const cols: Columns = new Map();
    for (const item of data) {
      for (const [k, v] of Object.entries(item)) {
        let col = cols.get(k);
        if (col === undefined) cols.set(k, (col = []));
        col.push(v);
      }
    }
    checkEqualLengths(cols);
    return cols;
  }
  return castSchemaType(data, schema);
}

/** `inputs`: column format (a dict of lists), a list of records, or a list/array of values. */
function inputsColumns(data: unknown, schema: Schema | null | undefined): Columns {
  if (Array.isArray(data) && data.length > 0 && data.every(isDict)) {
    return dictsToColumns(data);
  }
  return castSchemaType(data, schema);
}

/** MLflow's `_cast_schema_type` shapes, producing columns. */
function castSchemaType(data: unknown, schema: Schema | null | undefined): Columns {
  const names = namedColumns(schema);
  const isTensor = schema?.[0]?.kind === 'tensor';
  if (schema != null && names.length === 1 && Array.isArray(data) && !data.some(isDict)) {
    // A single named input with a list: the list is that column.
    return new Map([[names[0] as string, data]]);
  }
  if (schema != null && schema.length > 0 && names.length === 0 && isDict(data)) {
    throw invalid(
      'Invalid input. Failed to parse input data. This model contains an un-named  model signature ' +
        'which expects a single n-dimensional array or a single value as input, however, an input ' +
        `of type ${pyType(data)} was found.`
    );
  }
  if (isDict(data)) return dictColumns(data, schema);
  if (Array.isArray(data)) {
    // A tensor input keeps each row whole (a list column); a column schema reads a 2-D list as
    // rows of positional columns, like pd.DataFrame(ndarray).
    if (!isTensor && data.length > 0 && data.every((r) => Array.isArray(r))) {
      return rowsToColumns(data as unknown[][]);
    }
    const name = isTensor ? ((schema?.[0] as TensorSpec).name ?? '0') : '0';
    return new Map([[name, data]]);
  }
  return new Map([[names[0] ?? '0', [data]]]);
}

/**
 * A dict under `inputs` (or a dict `instances`), as MLflow's `_enforce_schema` reads it after
 * `_cast_schema_type`:
 * - when the column schema has an Array or Object column, the dict is ONE row: each value is
 *   that row's cell (`{"query": ["a", "b"], "table": "t"}` with `query: array<string>` is one
 *   row whose `query` is the list);
 * - otherwise it is `pd.DataFrame(dict)`: lists are columns and a scalar value is broadcast to
 *   their length (`{"query": ["a", "b"], "table": "t"}` with string columns is two rows, both
 *   with `table = "t"`); a dict of scalars only is one row.
 */
function dictColumns(data: Record<string, unknown>, schema: Schema | null | undefined): Columns {
  const cols: Columns = new Map();
  if (hasArrayOrObjectColumn(schema)) {
    for (const [k, v] of Object.entries(data)) cols.set(k, [v]);
    return cols;
  }
  let length: number | undefined;
  let lengths = false;
  for (const v of Object.values(data)) {
    if (!Array.isArray(v)) continue;
    if (length !== undefined && v.length !== length) lengths = true;
    length ??= v.length;
  }
  for (const [k, v] of Object.entries(data)) {
    cols.set(k, Array.isArray(v) ? v : new Array<unknown>(length ?? 1).fill(v));
  }
  if (lengths) checkEqualLengths(cols);
  return cols;
}

/** MLflow's test `any(isinstance(col_spec.type, (Array, Object)) ...)` over a column schema. */
function hasArrayOrObjectColumn(schema: Schema | null | undefined): boolean {
  if (schema == null || schema[0]?.kind !== 'column') return false;
  return (schema as ColSpec[]).some((s) => s.type.type === 'array' || s.type.type === 'object');
}

function checkEqualLengths(cols: Columns): void {
  const lengths = new Set([...cols.values()].map((c) => c.length));
  if (lengths.size > 1) {
    throw invalid(
      'Invalid input. The length of values for each input/column name are not the same',
      {
        lengths: Object.fromEntries([...cols].map(([k, v]) => [k, v.length])),
      }
    );
  }
}

const PANDAS_TYPES: Record<string, string> = {
  integer: 'int32',
  long: 'int64',
  float: 'float32',
  double: 'float64',
  boolean: 'bool',
  string: 'object',
  binary: 'object',
  datetime: 'datetime64[ns]',
};

/** For a tensor dtype, the column value type at a nesting depth (rows of a [-1, k] tensor are lists). */
function tensorColumnType(spec: TensorSpec, values: readonly unknown[]): ValueType | null {
  const [scalar] = signatureColumnTypes([{ ...spec, name: 'x' }], ['x']);
  if (scalar == null) return null;
  let depth = 0;
  let probe: unknown = values.find((v) => v !== null && v !== undefined);
  while (Array.isArray(probe)) {
    depth++;
    probe = (probe as unknown[]).find((v) => v !== null && v !== undefined);
  }
  let vt: ValueType = scalar;
  for (let i = 0; i < depth; i++) vt = { type: 'array', items: vt };
  return vt;
}

function columnsToTable(cols: Columns, schema: Schema | null | undefined): Table {
  const names = [...cols.keys()];
  const length = cols.size === 0 ? 0 : (cols.values().next().value as unknown[]).length;
  const isTensor = schema?.[0]?.kind === 'tensor';
  const sigTypes = isTensor
    ? names.map((n) => {
        const specs = schema as TensorSpec[];
        const spec = specs.find((s) => s.name === n) ?? (specs.length === 1 ? specs[0] : undefined);
        return spec === undefined ? null : tensorColumnType(spec, cols.get(n) as unknown[]);
      })
    : signatureColumnTypes(schema, names);
  const types: DataType[] = [];
  const datas = names.map((name, i) => {
    const values = cols.get(name) as unknown[];
    const sig = sigTypes[i] ?? null;
    const declared = sig !== null && textColumnArrowType(sig) !== null;
    const vt: ValueType = declared ? (sig as ValueType) : inferJsonType(values);
    const converted = values.map((v) => {
      try {
        if (!declared && vt.type === 'string' && v !== null && typeof v === 'object')
          return JSON.stringify(v);
        return convertJson(v, vt);
      } catch (e) {
        const pandasType = PANDAS_TYPES[vt.type] ?? valueTypeName(vt);
        throw invalid(
          `Invalid input. Data is not compatible with model signature. Failed to convert column ${name} ` +
            `to type '${pandasType}'. Error: '${(e as Error).message}'`,
          { column: name, type: valueTypeName(vt) },
          e
        );
      }
    });
    const arrowType = textColumnArrowType(vt) as DataType;
    types.push(arrowType);
    return buildColumnData(arrowType, converted);
  });
  // Built in linear time: a request may carry very many columns (see record-batch.ts).
  const fields = names.map((n, i) => new Field(n, types[i]!, true));
  return new Table([recordBatchOf(fields, datas, length)]);
}

/**
 * Parses a `text/csv` scoring request (header row first) into a table, typing the columns by the
 * signature like `pd.read_csv(dtype=schema types)`. CSV requests carry no params.
 *
 * @param text - the CSV text
 * @param schema - the model input signature; default none (columns inferred)
 * @returns the table
 * @throws {ModelError} E_INPUT_INVALID with MLflow's "Failed to parse input as a Pandas DataFrame"
 *   message for a malformed row or a value that does not parse to its column type
 */
export function parseCsvRequest(text: string, schema?: Schema | null): Table {
  try {
    const batch = parseCsvBatch(text, { schema: schema ?? null, name: 'CSV input' });
    return batch === null ? new Table() : new Table([batch]);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw invalid(
      'Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted ' +
        `Pandas DataFrame produced using the \`pandas.DataFrame.to_csv()\` method. Error: '${msg}'`,
      ModelError.is(e) ? e.details : {},
      e
    );
  }
}

/* ---------------------------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------------------------- */

interface VectorLike {
  type: DataType;
  length: number;
  get(i: number): unknown;
}

function isVectorLike(x: unknown): x is VectorLike {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as { get?: unknown }).get === 'function' &&
    typeof (x as { length?: unknown }).length === 'number' &&
    typeof (x as { type?: { typeId?: unknown } }).type?.typeId === 'number'
  );
}

function isTableLike(x: unknown): x is Table | RecordBatch {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as { numRows?: unknown }).numRows === 'number' &&
    typeof (x as { getChildAt?: unknown }).getChildAt === 'function' &&
    typeof (x as { schema?: { fields?: unknown } }).schema?.fields === 'object'
  );
}

function tableRows(t: Table | RecordBatch): Record<string, unknown>[] {
  const cols = t.schema.fields.map((f, i) => ({
    name: f.name,
    type: f.type as DataType,
    vec: t.getChildAt(i),
  }));
  const out: Record<string, unknown>[] = [];
  for (let r = 0; r < t.numRows; r++) {
    const row: Record<string, unknown> = {};
    for (const c of cols) row[c.name] = responseValue(c.vec?.get(r), c.type);
    out.push(row);
  }
  return out;
}

/**
 * Python's `base64.encodebytes`, what MLflow's `NumpyEncoder` writes for bytes: standard base64
 * in lines of at most 76 characters, each ending with a newline (`b'\x01\x02\x03'` ->
 * `"AQID\n"`; empty bytes -> `""`).
 *
 * @param bytes - the bytes
 * @returns the text
 */
export function base64EncodeBytes(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 76) out += `${b64.slice(i, i + 76)}\n`;
  return out;
}

/**
 * An Arrow timestamp as pandas' `Timestamp.isoformat()`: `2023-06-06T00:00:00` (no fraction
 * when it is zero), `.ffffff` microseconds otherwise; a zoned timestamp is written in UTC with
 * `+00:00`, the same instant pandas writes with its zone's offset.
 */
function timestampText(ms: number, zoned: boolean): string {
  // Microseconds fit a double exactly for any date within ~285 years of 1970.
  const micros = Math.round(ms * 1000);
  const seconds = Math.floor(micros / 1e6);
  const fraction = micros - seconds * 1e6;
  const base = formatPyDatetime(new Date(seconds * 1000));
  const tail = fraction === 0 ? '' : `.${String(fraction).padStart(6, '0')}`;
  return `${base}${tail}${zoned ? '+00:00' : ''}`;
}

/**
 * One Arrow cell as MLflow's response encoder writes it (`to_dict(orient="records")` then
 * `NumpyEncoder`): int64 as a number, float NaN/infinities as null (so the body stays JSON),
 * binary as `base64.encodebytes` text, timestamps as `isoformat()` text, dates as `YYYY-MM-DD`,
 * lists, structs and maps recursively.
 */
function responseValue(value: unknown, type: DataType): unknown {
  return jsonValue(value, type, 'number', mlflowLeaf);
}

/** The leaves MLflow's encoder renders its own way; everything else as {@link jsonValue}. */
function mlflowLeaf(value: unknown, type: DataType): unknown {
  switch (type.typeId) {
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return base64EncodeBytes(value as Uint8Array);
    case Type.Timestamp:
      return timestampText(
        Number(value),
        Boolean((type as unknown as { timezone?: string | null }).timezone)
      );
    default:
      return kDefaultFormat;
  }
}

function plainJson(x: unknown): unknown {
  if (x === null || x === undefined) return null;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  // A JS Date stands for Python's naive datetime (what a datetime param is): isoformat().
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? null : formatPyDatetime(x);
  if (x instanceof Uint8Array) return base64EncodeBytes(x);
  if (isTableLike(x)) return tableRows(x);
  if (isVectorLike(x)) {
    const out: unknown[] = [];
    for (let i = 0; i < x.length; i++) out.push(responseValue(x.get(i), x.type));
    return out;
  }
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<unknown>, plainJson);
  if (Array.isArray(x)) return x.map(plainJson);
  if (x instanceof Map)
    return Object.fromEntries([...x].map(([k, v]) => [String(k), plainJson(v)]));
  if (typeof x === 'object') {
    if (typeof (x as { toJSON?: unknown }).toJSON === 'function')
      return plainJson((x as { toJSON(): unknown }).toJSON());
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plainJson(v)]));
  }
  return x;
}

/** Options of {@link formatPredictions}. */
export interface FormatPredictionsOptions {
  /**
   * Write the predictions alone, without the `{"predictions": ...}` wrapper (MLflow's answer to
   * an LLM "unified" body with `messages` / `prompt` / `input`). Default false.
   */
  unwrapped?: boolean;
}

/**
 * Renders a model result as MLflow's scoring response body `{"predictions": ...}`.
 *
 * A Table/RecordBatch (or a struct vector) becomes a list of row objects (`to_dict(orient=
 * "records")`), any other vector or array a list; int64 values become numbers, binary
 * `base64.encodebytes` text (`"AQID\n"`), timestamps and `Date`s Python `isoformat()` text
 * (`"2023-06-06T00:00:00"`), NaN/infinities null.
 *
 * @param result - the model output: an Arrow Table, RecordBatch or Vector, an array, or any
 *   JSON-able value
 * @param options - `unwrapped` drops the `predictions` wrapper; default wrapped
 * @returns the JSON text of the response body
 * @throws TypeError when the result cannot be written as JSON (a circular object)
 */
export function formatPredictions(result: unknown, options: FormatPredictionsOptions = {}): string {
  const predictions = plainJson(result);
  return JSON.stringify(options.unwrapped === true ? predictions : { predictions });
}
