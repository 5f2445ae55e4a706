/**
 * Typed column builders shared by the text formats (CSV, NDJSON, MLflow JSON requests).
 *
 * Text has no column types, so jsfunc types it the way MLflow's scoring server does
 * (`pd.read_csv(dtype=schema types)`, `cast_df_types_according_to_schema`): each column that
 * the model input signature names is parsed to the signature's type (`integer` -> Int32, `long`
 * -> Int64, `double` -> Float64, `float` -> Float32, `boolean` -> Bool, `string` -> Utf8 even when
 * the text looks numeric, `binary` -> Binary from base64, `datetime` -> TimestampMillisecond from
 * ISO text, array/object/map -> List/Struct/Map from JSON). Columns the signature does not name
 * are inferred once, per COLUMN, from the first batch, and that type is then fixed for the rest
 * of the file so a later batch can never change a column's type.
 *
 * Inference rules (documented contract):
 * - CSV: a column with any quoted non-empty value is `string` (jsfunc's CSV writer quotes every
 *   string, so `"007"` stays a string on re-read). Otherwise all-integer text (no leading zeros,
 *   within int64) -> `long` (Int64, like pandas' int64); all decimal/`NaN`/`inf` text -> `double`;
 *   all `true`/`false` (any case) -> `boolean`; all ISO date-times (`YYYY-MM-DDTHH:MM...`) ->
 *   `datetime`; anything else (including integers with leading zeros such as zip codes) -> `string`.
 * - JSON: integral numbers -> `long`, other numbers -> `double`, booleans -> `boolean`, strings ->
 *   `string`, arrays -> `array` of the inferred item type, objects -> `object` with the union of
 *   keys (missing keys make a property optional); mixed kinds -> `string`.
 * - A column with no non-null value in the first batch -> `string`.
 * If a later batch holds a value that does not fit the inferred type (say `1.5` after a batch of
 * integers), reading fails with E_FORMAT_MALFORMED; declare the column in the signature to avoid it.
 *
 * Boolean text accepts `true`/`false` in any case and `1`/`0`. Datetime text without a zone is
 * read as UTC. An empty unquoted CSV cell is null; a quoted empty cell is the empty string for
 * string columns and null for every other type.
 *
 * @module
 */
import { parseIsoDatetime as parseIsoDate } from '../signature/iso-datetime.js';
import {
  type Data,
  type DataType,
  Field,
  Type as ArrowType,
  type RecordBatch,
  type Schema as ArrowSchema,
  Utf8,
  makeBuilder,
  makeData,
} from 'apache-arrow';
import { recordBatchOf } from '../adapters/record-batch.js';
import { ModelError } from '../errors.js';
import { shareData } from '../pool/shared-table.js';
import { arrowTypeFor } from '../signature/arrow-types.js';
import type { ColSpec, Schema, TensorSpec, ValueType } from '../signature/types.js';

/** A value that could not be converted to its column type; callers add file/line/column. */
export class ConversionError extends Error {
  override get name(): string {
    return 'ConversionError';
  }
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NAN_WORDS = new Set(['nan', 'NaN', 'NAN', '-nan', '-NaN']);
const POS_INF = new Set(['inf', 'Inf', 'INF', 'infinity', 'Infinity', '+inf', '+Infinity']);
const NEG_INF = new Set(['-inf', '-Inf', '-INF', '-infinity', '-Infinity']);
const ISO_DATETIME_RE =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const BASE64_RE = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The Arrow type jsfunc gives a text column of MLflow type `vt` (`arrowTypeFor`), or `null` when
 * the type has no fixed column form (`any`, or nested types containing `any`), in which case the
 * column is inferred.
 *
 * @param vt - the MLflow value type
 * @returns the Arrow type, or null
 */
export function textColumnArrowType(vt: ValueType): DataType | null {
  return arrowTypeFor(vt);
}

const TENSOR_DTYPES: Record<string, ValueType> = {
  bool: { type: 'boolean' },
  int8: { type: 'integer' },
  int16: { type: 'integer' },
  int32: { type: 'integer' },
  uint8: { type: 'integer' },
  uint16: { type: 'integer' },
  int64: { type: 'long' },
  uint32: { type: 'long' },
  float16: { type: 'float' },
  float32: { type: 'float' },
  float64: { type: 'double' },
  str: { type: 'string' },
  bytes: { type: 'binary' },
};

/**
 * Resolves the signature type of each text column.
 *
 * A named column schema binds by name; an unnamed one binds by position (MLflow's input names are
 * then 0..n-1); a tensor schema binds its 1-D tensors by name through their numpy dtype, or a
 * single unnamed tensor to every column.
 *
 * @param schema - the model input signature, or null/undefined for none
 * @param names - the column names found in the file, in file order
 * @returns one entry per column: its MLflow value type, or null to infer it
 */
export function signatureColumnTypes(
  schema: Schema | null | undefined,
  names: readonly string[]
): (ValueType | null)[] {
  if (schema == null || schema.length === 0) return names.map(() => null);
  const first = schema[0];
  if (first?.kind === 'tensor') {
    const tensors = schema as TensorSpec[];
    const byName = new Map(tensors.filter((t) => t.name !== undefined).map((t) => [t.name, t]));
    const single = tensors.length === 1 && first.name === undefined ? first : undefined;
    return names.map((n) => {
      const spec = byName.get(n) ?? single;
      return spec === undefined ? null : (TENSOR_DTYPES[spec.dtype] ?? null);
    });
  }
  const cols = schema as ColSpec[];
  if (first?.name === undefined) return names.map((_, i) => cols[i]?.type ?? null);
  const byName = new Map(cols.map((c) => [c.name, c.type]));
  return names.map((n) => byName.get(n) ?? null);
}

/** Parses ISO date-time text to epoch milliseconds; text without a zone is UTC (as numpy). */
export function parseIsoDatetime(text: string): number {
  const d = parseIsoDate(text.trim());
  if (d === null) throw new ConversionError(`expected an ISO date-time, found '${text}'`);
  return d.getTime();
}

function parseFloatText(t: string): number {
  if (FLOAT_RE.test(t)) return Number(t);
  if (NAN_WORDS.has(t)) return Number.NaN;
  if (POS_INF.has(t)) return Number.POSITIVE_INFINITY;
  if (NEG_INF.has(t)) return Number.NEGATIVE_INFINITY;
  throw new ConversionError(`expected a number, found '${t}'`);
}

function parseIntText(t: string, bits: 32 | 64): number | bigint {
  if (!INT_RE.test(t)) throw new ConversionError(`expected an integer, found '${t}'`);
  const big = BigInt(t);
  if (bits === 32) {
    if (big < -2147483648n || big > 2147483647n) {
      throw new ConversionError(`integer ${t} is out of range for int32`);
    }
    return Number(big);
  }
  if (big < INT64_MIN || big > INT64_MAX) {
    throw new ConversionError(`integer ${t} is out of range for int64`);
  }
  return big;
}

function parseBoolText(t: string): boolean {
  const l = t.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw new ConversionError(`expected true/false/1/0, found '${t}'`);
}

function decodeBase64(t: string): Uint8Array {
  if (!BASE64_RE.test(t)) throw new ConversionError(`expected base64 text, found '${t}'`);
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/**
 * Converts one CSV cell to the JS value the Arrow builder of `vt` takes.
 *
 * @param cell - the cell text; null for an unquoted empty cell
 * @param vt - the column's MLflow value type
 * @returns the typed value (null for a missing value)
 * @throws {ConversionError} when the text does not parse to the type
 */
export function convertText(cell: string | null, vt: ValueType): unknown {
  if (cell === null) return null;
  if (vt.type === 'string') return cell;
  // A quoted empty cell is an empty byte string (the writer quotes binary); elsewhere it is null.
  if (vt.type === 'binary' && cell === '') return new Uint8Array(0);
  const t = cell.trim();
  if (t === '') return null;
  switch (vt.type) {
    case 'integer':
      return parseIntText(t, 32);
    case 'long':
      return parseIntText(t, 64);
    case 'float':
    case 'double':
      return parseFloatText(t);
    case 'boolean':
      return parseBoolText(t);
    case 'binary':
      return decodeBase64(t);
    case 'datetime':
      return parseIsoDatetime(t);
    case 'array':
    case 'object':
    case 'map': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch {
        throw new ConversionError(`expected JSON text for a ${vt.type} value, found '${cell}'`);
      }
      return convertJson(parsed, vt);
    }
    default:
      return cell;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'dictionary';
  return typeof value;
}

/**
 * Converts one JSON value to the JS value the Arrow builder of `vt` takes, leniently like pandas
 * `astype` (JSON integers into float columns, numeric strings into numeric columns, numbers into
 * string columns), but never silently truncating (1.5 into an integer column fails).
 *
 * @param value - the parsed JSON value
 * @param vt - the column's MLflow value type
 * @returns the typed value (null for null/undefined)
 * @throws {ConversionError} when the value does not convert
 */
export function convertJson(value: unknown, vt: ValueType): unknown {
  if (value === null || value === undefined) return null;
  switch (vt.type) {
    case 'integer':
    case 'long': {
      const bits = vt.type === 'integer' ? 32 : 64;
      if (typeof value === 'boolean') return bits === 32 ? Number(value) : BigInt(value);
      if (typeof value === 'bigint') return parseIntText(value.toString(), bits);
      if (typeof value === 'number') {
        if (!Number.isInteger(value)) {
          throw new ConversionError(`expected an integer, found ${value}`);
        }
        return parseIntText(BigInt(value).toString(), bits);
      }
      if (typeof value === 'string') return parseIntText(value.trim(), bits);
      throw new ConversionError(`expected an integer, found ${describe(value)}`);
    }
    case 'float':
    case 'double':
      if (typeof value === 'number') return value;
      if (typeof value === 'boolean') return Number(value);
      if (typeof value === 'bigint') return Number(value);
      if (typeof value === 'string') return parseFloatText(value.trim());
      throw new ConversionError(`expected a number, found ${describe(value)}`);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
      if (typeof value === 'string') return parseBoolText(value.trim());
      throw new ConversionError(`expected a boolean, found ${JSON.stringify(value)}`);
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
        return String(value);
      }
      throw new ConversionError(`expected a string, found ${describe(value)}`);
    case 'binary':
      if (typeof value === 'string') return decodeBase64(value);
      if (value instanceof Uint8Array) return value;
      throw new ConversionError(`expected base64 text, found ${describe(value)}`);
    case 'datetime':
      if (typeof value === 'string') return parseIsoDatetime(value);
      if (typeof value === 'number') return value;
      if (value instanceof Date) return value.getTime();
      throw new ConversionError(`expected an ISO date-time, found ${describe(value)}`);
    case 'array':
      if (!Array.isArray(value)) {
        throw new ConversionError(
          `Expected data to be list or numpy array, got ${describe(value)}`
        );
      }
      return value.map((v) => convertJson(v, vt.items));
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConversionError(`Expected data to be dictionary, got ${describe(value)}`);
      }
      const obj = value as Record<string, unknown>;
      const known = new Set(vt.properties.map((p) => p.name));
      const extra = Object.keys(obj).filter((k) => !known.has(k));
      if (extra.length > 0) {
        throw new ConversionError(
          `Invalid properties not defined in the schema found: {${extra.map((k) => `'${k}'`).join(', ')}}`
        );
      }
      const missing = vt.properties.filter((p) => p.required && obj[p.name] == null);
      if (missing.length > 0) {
        throw new ConversionError(
          `Missing required properties: {${missing.map((p) => `'${p.name}'`).join(', ')}}`
        );
      }
      const out: Record<string, unknown> = {};
      for (const p of vt.properties) out[p.name] = convertJson(obj[p.name], p.type);
      return out;
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConversionError(`Expected data to be dictionary, got ${describe(value)}`);
      }
      const out = new Map<string, unknown>();
      for (const [k, v] of Object.entries(value)) out.set(k, convertJson(v, vt.values));
      return out;
    }
    default:
      return value;
  }
}

/**
 * Infers the MLflow type of a CSV column from its cells (see the module docs for the rules).
 *
 * @param cells - the column's cells in the first batch (null = empty)
 * @param quoted - whether any non-empty cell of the column was quoted
 * @returns the inferred type
 */
export function inferTextType(cells: readonly (string | null)[], quoted: boolean): ValueType {
  if (quoted) return { type: 'string' };
  let isInt = true;
  let isFloat = true;
  let isBool = true;
  let isDate = true;
  let seen = false;
  for (const c of cells) {
    if (c === null) continue;
    const t = c.trim();
    if (t === '') continue;
    seen = true;
    if (isInt && !(INT_RE.test(t) && !/^[+-]?0\d/.test(t) && inInt64(t))) isInt = false;
    if (isFloat && !(FLOAT_RE.test(t) || NAN_WORDS.has(t) || POS_INF.has(t) || NEG_INF.has(t))) {
      isFloat = false;
    }
    if (isFloat && /^[+-]?0\d/.test(t)) isFloat = false;
    if (isBool && t.toLowerCase() !== 'true' && t.toLowerCase() !== 'false') isBool = false;
    if (isDate && !(t.length > 10 && ISO_DATETIME_RE.test(t))) isDate = false;
    if (!isInt && !isFloat && !isBool && !isDate) return { type: 'string' };
  }
  if (!seen) return { type: 'string' };
  if (isInt) return { type: 'long' };
  if (isFloat) return { type: 'double' };
  if (isBool) return { type: 'boolean' };
  if (isDate) return { type: 'datetime' };
  return { type: 'string' };
}

function inInt64(t: string): boolean {
  const b = BigInt(t);
  return b >= INT64_MIN && b <= INT64_MAX;
}

/**
 * Infers the MLflow type of a JSON column from its values (see the module docs for the rules).
 *
 * @param values - the column's values in the first batch
 * @returns the inferred type
 */
export function inferJsonType(values: readonly unknown[]): ValueType {
  const kinds = new Set<string>();
  let integral = true;
  const arrays: unknown[] = [];
  const objects: Record<string, unknown>[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) {
      kinds.add('array');
      arrays.push(...(v as unknown[]));
    } else if (typeof v === 'object') {
      kinds.add('object');
      objects.push(v as Record<string, unknown>);
    } else {
      kinds.add(typeof v);
      if (typeof v === 'number' && !Number.isInteger(v)) integral = false;
    }
  }
  if (kinds.size !== 1) return { type: 'string' };
  const [kind] = kinds;
  switch (kind) {
    case 'number':
      return { type: integral ? 'long' : 'double' };
    case 'bigint':
      return { type: 'long' };
    case 'boolean':
      return { type: 'boolean' };
    case 'array':
      return { type: 'array', items: inferJsonType(arrays) };
    case 'object': {
      const names = [...new Set(objects.flatMap((o) => Object.keys(o)))].sort();
      return {
        type: 'object',
        properties: names.map((name) => ({
          name,
          type: inferJsonType(objects.map((o) => o[name])),
          required: objects.every((o) => o[name] != null),
        })),
      };
    }
    default:
      return { type: 'string' };
  }
}

/** Renders a value type the way MLflow names it in messages (`long`, `Array(double)`, ...). */
export function valueTypeName(vt: ValueType): string {
  switch (vt.type) {
    case 'array':
      return `Array(${valueTypeName(vt.items)})`;
    case 'object':
      return `Object(${vt.properties.map((p) => `${p.name}: ${valueTypeName(p.type)}`).join(', ')})`;
    case 'map':
      return `Map(str -> ${valueTypeName(vt.values)})`;
    default:
      return vt.type;
  }
}

/**
 * Builds one Arrow vector's data from already-converted values, in shared memory: a UDF sends
 * the columns of a batch read from text to its workers without copying them (see
 * `pool/transfer.ts`). Int8/16/32 and Float32/64 columns of JS numbers (and Int64 of bigints)
 * are written in one pass into typed arrays over a `SharedArrayBuffer`; other types go through
 * Arrow's builder and are then copied once into shared memory (cheap next to parsing the text).
 *
 * @param type - the Arrow type
 * @param values - converted values (null for missing)
 * @returns the column's Arrow Data
 */
export function buildColumnData(type: DataType, values: readonly unknown[]): Data {
  const direct = buildNumericShared(type, values);
  if (direct !== undefined) return direct;
  const builder = makeBuilder({ type, nullValues: [null, undefined] });
  for (const v of values) builder.append(v);
  return shareData(builder.finish().flush() as Data);
}

type NumericCtor =
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor;

/** Fixed-width numeric columns straight into shared memory; undefined for other types/values. */
function buildNumericShared(type: DataType, values: readonly unknown[]): Data | undefined {
  const t = type as unknown as {
    typeId: number;
    bitWidth?: number;
    isSigned?: boolean;
    precision?: number;
  };
  let Ctor: NumericCtor | undefined;
  if (t.typeId === ArrowType.Int && t.isSigned === true) {
    Ctor = ({ 8: Int8Array, 16: Int16Array, 32: Int32Array, 64: BigInt64Array } as const)[
      t.bitWidth as 8 | 16 | 32 | 64
    ];
  } else if (t.typeId === ArrowType.Float) {
    Ctor = t.precision === 1 ? Float32Array : t.precision === 2 ? Float64Array : undefined;
  }
  if (Ctor === undefined) return undefined;
  const big = Ctor === BigInt64Array;
  const n = values.length;
  const out = new (Ctor as new (b: ArrayBufferLike) => Float64Array | BigInt64Array)(
    new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT)
  );
  const bitmap = new Uint8Array(new SharedArrayBuffer((n + 7) >> 3));
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    // Anything but the expected JS type: let Arrow's builder decide, as before.
    if (big ? typeof v !== 'bigint' : typeof v !== 'number') return undefined;
    out[i] = v as never;
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return makeData({
    type,
    length: n,
    nullCount: nulls,
    nullBitmap: nulls > 0 ? bitmap : null,
    data: out,
  } as never) as Data;
}

/**
 * Assembles a RecordBatch from named columns of Arrow Data (all fields nullable).
 *
 * @param names - column names
 * @param types - Arrow types, one per column
 * @param datas - column data, one per column, all of `length` rows
 * @param length - the number of rows (needed when there are no columns)
 * @returns the batch
 */
export function assembleBatch(
  names: readonly string[],
  types: readonly DataType[],
  datas: Data[],
  length: number
): RecordBatch {
  const fields = names.map((n, i) => new Field(n, types[i] as DataType, true));
  return recordBatchOf(fields, datas, length);
}

/**
 * Accumulates raw rows of a text file and turns every `batchSize` of them into a typed
 * RecordBatch. Column types come from the signature, or are inferred from the first flushed
 * batch and then frozen (so every later batch has the same schema).
 */
export class TextBatchAssembler {
  private readonly cells: unknown[][];
  private lines: number[] = [];
  private readonly quoted: boolean[];
  private types: (ValueType | null)[];
  private readonly declared: boolean[];
  private arrowTypes: DataType[] | null = null;

  /**
   * @param names - column names in file order
   * @param types - the signature type of each column, or null to infer it
   * @param mode - `csv` (cells are text or null) or `json` (cells are parsed JSON values)
   * @param file - the file (or request) name used in error messages
   */
  constructor(
    readonly names: readonly string[],
    types: readonly (ValueType | null)[],
    private readonly mode: 'csv' | 'json',
    private readonly file: string
  ) {
    this.cells = names.map(() => []);
    this.quoted = names.map(() => false);
    this.types = [...types];
    this.declared = types.map((t) => t !== null && textColumnArrowType(t) !== null);
  }

  /** Rows held and not yet flushed. */
  get size(): number {
    return this.lines.length;
  }

  /**
   * Adds one row.
   *
   * @param row - one cell per column (shorter rows are padded with null)
   * @param line - the 1-based line number of the row, for error messages
   * @param quoted - for CSV: which cells were quoted (drives inference)
   */
  push(row: readonly unknown[], line: number, quoted?: readonly boolean[]): void {
    for (let i = 0; i < this.cells.length; i++) {
      (this.cells[i] as unknown[]).push(row[i] ?? null);
      if (quoted?.[i] === true && row[i] !== '') this.quoted[i] = true;
    }
    this.lines.push(line);
  }

  /** Marks column `i` as having held a quoted non-empty cell (CSV inference). */
  markQuoted(i: number): void {
    this.quoted[i] = true;
  }

  /** The MLflow types of the columns, once known (after the first flush). */
  get columnTypes(): readonly (ValueType | null)[] {
    return this.types;
  }

  /**
   * Converts the held rows to a RecordBatch and clears them.
   *
   * @returns the batch
   * @throws {ModelError} E_FORMAT_MALFORMED naming the file, line, column and value that failed
   */
  flush(): RecordBatch {
    if (this.arrowTypes === null) {
      this.types = this.types.map((t, i) => {
        if (t !== null && textColumnArrowType(t) !== null) return t;
        const col = this.cells[i] as unknown[];
        return this.mode === 'csv'
          ? inferTextType(col as (string | null)[], this.quoted[i] === true)
          : inferJsonType(col);
      });
      this.arrowTypes = this.types.map((t) => textColumnArrowType(t as ValueType) ?? new Utf8());
    }
    const length = this.lines.length;
    const datas = this.names.map((name, i) => {
      const vt = this.types[i] as ValueType;
      const raw = this.cells[i] as unknown[];
      const converted = new Array<unknown>(length);
      for (let r = 0; r < length; r++) {
        const cell = raw[r];
        try {
          converted[r] =
            this.mode === 'csv' ? convertText(cell as string | null, vt) : convertJson(cell, vt);
        } catch (e) {
          throw this.malformed(name, vt, cell, this.lines[r] ?? 0, e);
        }
      }
      raw.length = 0;
      return buildColumnData((this.arrowTypes as DataType[])[i] as DataType, converted);
    });
    this.lines = [];
    return assembleBatch(this.names, this.arrowTypes, datas, length);
  }

  private malformed(name: string, vt: ValueType, cell: unknown, line: number, e: unknown) {
    const shown = typeof cell === 'string' ? cell : JSON.stringify(cell);
    const reason = e instanceof Error ? e.message : String(e);
    const i = this.names.indexOf(name);
    const hint = this.declared[i]
      ? ''
      : ' The type was inferred from the first batch; declare the column in the model signature to fix it.';
    return new ModelError(
      'E_FORMAT_MALFORMED',
      `${this.file}: line ${line}, column '${name}': cannot read ${JSON.stringify(shown)} as ` +
        `${valueTypeName(vt)} (${reason}).${hint}`,
      {
        details: { file: this.file, line, column: name, value: shown, type: valueTypeName(vt) },
        cause: e,
      }
    );
  }
}

/**
 * A zero-row batch with the given schema's columns (any types, nested included).
 *
 * @param schema - the Arrow schema
 * @returns the empty batch
 */
export function emptyBatch(schema: ArrowSchema): RecordBatch {
  const fields = schema.fields;
  return assembleBatch(
    fields.map((f) => f.name),
    fields.map((f) => f.type as DataType),
    fields.map((f) => buildColumnData(f.type as DataType, [])),
    0
  );
}
