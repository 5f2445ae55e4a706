/**
 * Input schema enforcement on Arrow tables: MLflow's `_enforce_schema` rules
 * (`mlflow/models/utils.py`), applied to Arrow columns instead of pandas Series.
 *
 * Column schemas: missing required columns are an error, extra columns are dropped with a
 * warning, the result is in schema order, and each column is checked against its type and
 * safely widened (int32 -> long, float32 -> double, ...) with vectorized typed-array casts that
 * keep the null bitmap. Columns that already have the target type are passed through untouched,
 * and a table that needs no change at all is returned as the same object (zero-copy).
 *
 * Tensor schemas: the model receives a Table with **one column per tensor spec** (named after
 * the spec, or `"0"` for the unnamed tensor). Row `i` is the `i`-th slice along the first
 * dimension: a tensor of shape `(-1,)` is a primitive column of its dtype, and a tensor of shape
 * `(-1, d1, ..., dk)` is a column of nested `FixedSizeList`s (`d1` outermost) whose leaves have
 * the exact dtype.
 *
 * Type names in messages: numbers and booleans use numpy names (`int32`, `uint8`, `float64`,
 * `bool`), as MLflow's messages do; other Arrow types use Arrow's own type string (`Utf8`,
 * `Timestamp<MICROSECOND, UTC>`, `List<Int32>`); a non-numeric target is named by its MLflow
 * type (`string`, `datetime`, ...).
 *
 * @module
 */
import {
  Binary,
  Data,
  DataType,
  Field,
  FixedSizeList,
  List,
  Map_,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  TimestampMillisecond,
  Type,
  Utf8,
  Vector,
  makeBuilder,
  makeData,
  util,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { adoptTable } from '../adapters/arrow-guards.js';
import { arrowTypeFor } from './arrow-types.js';
import {
  describeValueType,
  isTensorSchema,
  optionalInputNames,
  requiredInputNames,
  isNamedSchema,
} from './schema.js';
import type { ColSpec, DataTypeName, Schema, TensorSpec, ValueType } from './types.js';

/**
 * Checks `table` against an input schema and returns the table the model receives.
 *
 * @param table - the input (any Arrow copy; a foreign table is adopted zero-copy)
 * @param schema - the model's input schema; `null` returns `table` unchanged
 * @param warn - receives the "extra inputs ignored" warning; defaults to {@link defaultWarn}
 * @returns a table with the schema's columns in schema order and Arrow types from
 *   `arrowTypeFor` (or, for tensor schemas, one column per tensor; see the module doc).
 *   The same object when nothing had to change.
 * @throws {ModelError} E_SCHEMA_MISMATCH when a required input is missing, a column's type
 *   cannot be safely converted, nested data breaks an Array/Object/Map spec, or a tensor's
 *   shape or dtype does not match
 * @throws {ModelError} E_INPUT_INVALID when a foreign Arrow type cannot be adopted
 */
export function enforceSchema(
  table: Table,
  schema: Schema | null,
  warn: WarnFn = defaultWarn
): Table {
  if (schema === null || schema.length === 0) return table;
  const input = adoptTable(table);
  if (isTensorSchema(schema)) return enforceTensorSchema(input, schema as TensorSpec[], warn);
  const specs = schema as ColSpec[];
  const names = input.schema.fields.map((f) => f.name);
  const picked: { index: number; spec: ColSpec }[] = [];
  if (isNamedSchema(schema)) {
    checkNamedColumns(names, schema, warn);
    for (const spec of specs) {
      const index = names.indexOf(spec.name!);
      if (index >= 0) picked.push({ index, spec });
    }
  } else {
    if (names.length < specs.length) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Model inference is missing inputs. The model signature declares ${specs.length} inputs  but ` +
          `the provided value only has ${names.length} inputs. Note: the inputs were not named in ` +
          'the signature so we can only verify their count.',
        { details: { expected: specs.length, found: names.length } }
      );
    }
    specs.forEach((spec, index) => picked.push({ index, spec }));
  }
  const columns = picked.map(({ index, spec }) => {
    const name = names[index]!;
    const vector = input.getChildAt(index)!;
    const data = vector.data.map((d) =>
      enforceValue(d, spec.type, { column: name, path: [] }, spec.required, true)
    );
    return { name, data, same: data.every((d, i) => d === vector.data[i]) };
  });
  const unchanged =
    columns.length === names.length && columns.every((c, i) => c.same && picked[i]!.index === i);
  if (unchanged) return input;
  return assembleTable(
    columns.map((c) => c.name),
    columns.map((c) => c.data),
    input.batches.map((b) => b.numRows)
  );
}

function pyList(names: readonly string[]): string {
  return `[${names.map((n) => `'${n}'`).join(', ')}]`;
}

function pySet(names: readonly string[]): string {
  return `{${names.map((n) => `'${n}'`).join(', ')}}`;
}

function checkNamedColumns(actual: readonly string[], schema: Schema, warn: WarnFn): void {
  const required = requiredInputNames(schema).map(String);
  const optional = optionalInputNames(schema).map(String);
  const actualSet = new Set(actual);
  const known = new Set([...required, ...optional]);
  const missing = required.filter((n) => !actualSet.has(n));
  const extra = actual.filter((n) => !known.has(n));
  if (missing.length > 0) {
    let message = `Model is missing inputs ${pyList(missing)}.`;
    if (extra.length > 0) message += ` Note that there were extra inputs: ${pyList(extra)}.`;
    throw new ModelError('E_SCHEMA_MISMATCH', message, { details: { missing, extra } });
  }
  if (extra.length > 0) {
    warn(
      'Found extra inputs in the model input that are not defined in the model signature: ' +
        `\`${pyList(extra)}\`. These inputs will be ignored.`
    );
  }
}

/** Builds a table from per-column chunk lists that share the same batch boundaries. */
function assembleTable(names: string[], columns: Data[][], batchLengths: number[]): Table {
  const fields = names.map((n, i) => new Field(n, columns[i]![0]?.type ?? new Utf8(), true));
  const schema = new ArrowSchema(fields);
  const batches = batchLengths.map(
    (length, b) =>
      new RecordBatch(
        schema,
        makeData({
          type: new Struct(fields),
          length,
          nullCount: 0,
          children: columns.map((chunks) => chunks[b]!),
        })
      )
  );
  return new Table(schema, batches);
}

// ---------------------------------------------------------------------------------------------
// Type names

/**
 * The numpy-style name of an Arrow type: `int32`, `uint8`, `float64`, `bool`; Arrow's type
 * string (`Utf8`, `List<Int32>`) for everything else.
 * @param type - an Arrow data type
 * @returns the name used in enforcement messages
 */
export function dtypeName(type: DataType): string {
  if (DataType.isInt(type)) return `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}`;
  if (DataType.isFloat(type))
    return ['float16', 'float32', 'float64'][type.precision] ?? String(type);
  if (DataType.isBool(type)) return 'bool';
  return String(type);
}

const TARGET_DTYPE: Record<DataTypeName, string> = {
  boolean: 'bool',
  integer: 'int32',
  long: 'int64',
  float: 'float32',
  double: 'float64',
  string: 'string',
  binary: 'binary',
  datetime: 'datetime',
};

// ---------------------------------------------------------------------------------------------
// Value enforcement

interface Where {
  column: string;
  /** Nested keys / `[]` steps below the column. */
  path: string[];
}

function where(w: Where): string {
  return w.path.length === 0 ? `column ${w.column}` : `column ${w.column} at ${w.path.join('')}`;
}

function mismatch(w: Where, message: string, details: Record<string, unknown> = {}): ModelError {
  return new ModelError('E_SCHEMA_MISMATCH', message, {
    details: { column: w.column, path: w.path.join(''), ...details },
  });
}

function nestedMismatch(w: Where, message: string): ModelError {
  return mismatch(w, `Failed to enforce schema of ${where(w)}. ${message}`);
}

/** The validity of row `i` of `data` (relative to the chunk). */
function valid(data: Data, i: number): boolean {
  return data.nullCount === 0 || data.getValid(i);
}

/**
 * Enforces one chunk against a value type. Returns the chunk itself when it already conforms.
 * `top` marks a top-level column (where nulls are allowed, as MLflow allows NaN/None in
 * columns); nested values follow MLflow's `_enforce_type` (`required` values may not be null).
 */
function enforceValue(
  data: Data,
  type: ValueType,
  w: Where,
  required: boolean,
  top: boolean
): Data {
  switch (type.type) {
    case 'any':
    case 'sparkml_vector':
      return data;
    case 'array':
      return enforceArray(data, type.items, w, required);
    case 'object':
      return enforceObject(data, type.properties, w, required);
    case 'map':
      return enforceMap(data, type.values, w, required);
    default:
      if (!top && required && data.type.typeId !== Type.Null) checkNoNulls(data, w, type.type);
      return enforcePrimitive(data, type.type, w);
  }
}

function checkNoNulls(data: Data, w: Where, expected: string): void {
  if (data.nullCount === 0) return;
  for (let i = 0; i < data.length; i++) {
    if (!valid(data, i)) {
      throw nestedMismatch(w, `Expected data to be ${expected}, got null (row ${i}).`);
    }
  }
}

function enforceArray(data: Data, items: ValueType, w: Where, required: boolean): Data {
  const t = data.type;
  if (!DataType.isList(t) && !DataType.isFixedSizeList(t)) {
    throw incompatible(w, t, describeValueType({ type: 'array', items }));
  }
  if (required && items.type !== 'any') checkNoNulls(data, w, 'list');
  const itemWhere = { column: w.column, path: [...w.path, '[]'] };
  if (DataType.isList(t)) {
    const child = data.children[0]!;
    const next = enforceValue(child, items, itemWhere, required, false);
    if (next === child) return data;
    return data.clone(
      new List(new Field(t.children[0]!.name, next.type, true)),
      data.offset,
      data.length,
      data.nullCount,
      undefined,
      [next]
    );
  }
  // FixedSizeList -> List: offsets are i * size over the (already row-relative) child.
  const size = (t as FixedSizeList).listSize;
  const child = data.children[0]!;
  const next = enforceValue(child, items, itemWhere, required, false);
  const offsets = new Int32Array(data.length + 1);
  for (let i = 0; i <= data.length; i++) offsets[i] = i * size;
  return makeData({
    type: new List(new Field('item', next.type, true)),
    offset: data.offset,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullBitmap,
    valueOffsets: offsets,
    child: next,
  });
}

function enforceObject(
  data: Data,
  properties: readonly { name: string; type: ValueType; required: boolean }[],
  w: Where,
  required: boolean
): Data {
  const t = data.type;
  if (!DataType.isStruct(t)) {
    throw incompatible(w, t, describeValueType({ type: 'object', properties: [...properties] }));
  }
  if (required) checkNoNulls(data, w, 'dictionary');
  const fieldNames = t.children.map((f) => f.name);
  const missing = properties
    .filter((p) => p.required && !fieldNames.includes(p.name))
    .map((p) => p.name);
  if (missing.length > 0) throw nestedMismatch(w, `Missing required properties: ${pySet(missing)}`);
  const invalid = fieldNames.filter((n) => !properties.some((p) => p.name === n));
  if (invalid.length > 0) {
    throw nestedMismatch(
      w,
      `Invalid properties not defined in the schema found: ${pySet(invalid)}`
    );
  }
  let changed = false;
  const fields: Field[] = [];
  const children: Data[] = [];
  let order = 0;
  for (const prop of properties) {
    const index = fieldNames.indexOf(prop.name);
    if (index < 0) continue;
    const child = data.children[index]!;
    const propWhere = { column: w.column, path: [...w.path, `.${prop.name}`] };
    // Only rows where the parent object is present carry the property.
    const next = enforceValue(child, prop.type, propWhere, false, false);
    if (prop.required && child.nullCount > 0) {
      for (let i = 0; i < data.length; i++) {
        if (valid(data, i) && !valid(child, i)) {
          throw nestedMismatch(
            w,
            `Failed to enforce schema for key \`${prop.name}\`. Expected type ${describeValueType(prop.type)}, received null (row ${i}).`
          );
        }
      }
    }
    if (next !== child || index !== order) changed = true;
    order++;
    fields.push(new Field(prop.name, next.type, true));
    children.push(next);
  }
  if (!changed) return data;
  return data.clone(
    new Struct(fields),
    data.offset,
    data.length,
    data.nullCount,
    undefined,
    children
  );
}

function enforceMap(data: Data, values: ValueType, w: Where, required: boolean): Data {
  const t = data.type;
  if (!DataType.isMap(t)) throw incompatible(w, t, describeValueType({ type: 'map', values }));
  if (required && values.type !== 'any') checkNoNulls(data, w, 'dict');
  const entries = data.children[0]!;
  const keys = entries.children[0]!;
  if (!DataType.isUtf8(keys.type) && !DataType.isLargeUtf8(keys.type)) {
    throw nestedMismatch(w, 'Expected all keys in the map type data are string type.');
  }
  const vals = entries.children[1]!;
  const next = enforceValue(
    vals,
    values,
    { column: w.column, path: [...w.path, '{}'] },
    required,
    false
  );
  if (next === vals) return data;
  const entryType = new Struct([
    new Field('key', keys.type, false),
    new Field('value', next.type, true),
  ]);
  const newEntries = entries.clone(
    entryType,
    entries.offset,
    entries.length,
    entries.nullCount,
    undefined,
    [keys, next]
  );
  return data.clone(
    new Map_(new Field('entries', entryType, false), (t as Map_).keysSorted),
    data.offset,
    data.length,
    data.nullCount,
    undefined,
    [newEntries]
  );
}

function incompatible(w: Where, actual: DataType, expected: string, hint = ''): ModelError {
  const found = dtypeName(actual);
  const target =
    w.path.length === 0 ? `column ${w.column}` : `column ${w.column} (at ${w.path.join('')})`;
  return mismatch(
    w,
    `Incompatible input types for ${target}. Can not safely convert ${found} to ${expected}.${hint}`,
    {
      expected,
      found,
    }
  );
}

// ---------------------------------------------------------------------------------------------
// Primitive columns: MLflow's `_enforce_mlflow_datatype`

const HINT =
  ' Hint: the type mismatch is likely caused by missing values. The column holds only integral ' +
  'values and nulls/NaN, but is typed as floating point. Declare the column as double whenever it ' +
  'may have missing values, or send it as an integer column (Arrow integers can be null).';

interface NumKind {
  kind: 'i' | 'u' | 'f';
  size: number;
}

function numKind(type: DataType): NumKind | null {
  if (DataType.isInt(type)) return { kind: type.isSigned ? 'i' : 'u', size: type.bitWidth / 8 };
  if (DataType.isFloat(type)) return { kind: 'f', size: [2, 4, 8][type.precision]! };
  return null;
}

const TARGET_KIND: Partial<Record<DataTypeName, NumKind>> = {
  integer: { kind: 'i', size: 4 },
  long: { kind: 'i', size: 8 },
  float: { kind: 'f', size: 4 },
  double: { kind: 'f', size: 8 },
};

/**
 * MLflow's numeric upcast rule: same kind and not narrower; unsigned to a strictly wider
 * signed integer; any integer of at most 32 bits to double.
 */
function isSafeUpcast(src: NumKind, dst: NumKind): boolean {
  if (src.kind === dst.kind) return src.size <= dst.size;
  if (src.kind === 'u' && dst.kind === 'i') return src.size < dst.size;
  if (src.kind !== 'f' && dst.kind === 'f' && dst.size === 8) return src.size <= 6;
  return false;
}

function enforcePrimitive(data: Data, target: DataTypeName, w: Where): Data {
  const type = data.type;
  const arrow = arrowTypeFor({ type: target })!;
  if (type.typeId === Type.Null) return nullData(arrow, data.length);
  const expected = TARGET_DTYPE[target];
  switch (target) {
    case 'boolean':
      if (DataType.isBool(type)) return data;
      throw incompatible(w, type, expected);
    case 'string':
      if (DataType.isUtf8(type)) return data;
      if (DataType.isLargeUtf8(type)) return largeToSmall(data, new Utf8(), w);
      if (
        DataType.isDictionary(type) &&
        (DataType.isUtf8(type.dictionary) || DataType.isLargeUtf8(type.dictionary))
      ) {
        return rebuild(new Utf8(), data);
      }
      throw incompatible(w, type, expected);
    case 'binary':
      if (DataType.isBinary(type)) return data;
      if (DataType.isLargeBinary(type)) return largeToSmall(data, new Binary(), w);
      if (DataType.isFixedSizeBinary(type)) return fixedToBinary(data, type.byteWidth);
      throw incompatible(w, type, expected);
    case 'datetime':
      return toTimestampMs(data, w);
    default:
      return castNumeric(data, target, w);
  }
}

function castNumeric(data: Data, target: DataTypeName, w: Where): Data {
  const type = data.type;
  const dst = TARGET_KIND[target]!;
  const arrow = arrowTypeFor({ type: target })!;
  const src = numKind(type);
  if (src === null) throw incompatible(w, type, TARGET_DTYPE[target]);
  if (src.kind === dst.kind && src.size === dst.size) return data;
  const n = data.length;
  const values = data.values as ArrayLike<number | bigint>;
  if (isSafeUpcast(src, dst)) return withValues(arrow, data, convert(values, n, src, dst));
  // MLflow's exception: int64 holding only 0, 1 and missing values converts to float/double.
  if (src.kind === 'i' && src.size === 8 && dst.kind === 'f') {
    const big = values as BigInt64Array;
    let ok = true;
    for (let i = 0; i < n && ok; i++)
      if (big[i] !== 0n && big[i] !== 1n && valid(data, i)) ok = false;
    if (ok) return withValues(arrow, data, convert(values, n, src, dst));
  }
  let hint = '';
  if (src.kind === 'f' && dst.kind === 'i') hint = integralWithMissing(data, src) ? HINT : '';
  throw incompatible(w, type, TARGET_DTYPE[target], hint);
}

/** True when a float chunk has missing values (null or NaN) and every other value is integral. */
function integralWithMissing(data: Data, src: NumKind): boolean {
  const values = data.values as ArrayLike<number>;
  let missing = data.nullCount > 0;
  for (let i = 0; i < data.length; i++) {
    if (!valid(data, i)) continue;
    const v = src.size === 2 ? util.uint16ToFloat64(values[i]!) : values[i]!;
    if (Number.isNaN(v)) missing = true;
    else if (!Number.isInteger(v)) return false;
  }
  return missing;
}

/** Typed-array conversion of the first `n` values; float16 is decoded from its bits. */
function convert(
  values: ArrayLike<number | bigint>,
  n: number,
  src: NumKind,
  dst: NumKind
): ArrayLike<number | bigint> {
  if (dst.kind === 'i' && dst.size === 8) {
    const out = new BigInt64Array(n);
    const v = values as ArrayLike<number>;
    for (let i = 0; i < n; i++) out[i] = BigInt(v[i]!);
    return out;
  }
  const out =
    dst.kind === 'f'
      ? dst.size === 4
        ? new Float32Array(n)
        : new Float64Array(n)
      : new Int32Array(n);
  if (src.size === 8 && src.kind !== 'f') {
    const v = values as ArrayLike<bigint>;
    for (let i = 0; i < n; i++) out[i] = Number(v[i]!);
  } else if (src.kind === 'f' && src.size === 2) {
    const v = values as ArrayLike<number>;
    for (let i = 0; i < n; i++) out[i] = util.uint16ToFloat64(v[i]!);
  } else {
    out.set((values as Int32Array).subarray(0, n));
  }
  return out;
}

/** A chunk with new type and values, keeping offset, length and the null bitmap. */
function withValues(type: DataType, data: Data, values: ArrayLike<number | bigint>): Data {
  return new Data(type, data.offset, data.length, data.nullCount, [
    undefined,
    values,
    data.nullBitmap,
  ] as never);
}

function nullData(type: DataType, length: number): Data {
  const b = makeBuilder({ type, nullValues: [null, undefined] });
  for (let i = 0; i < length; i++) b.append(null);
  return b.finish().flush();
}

/** Rebuilds a chunk value by value (for dictionary decoding and string parsing only). */
function rebuild(
  type: DataType,
  data: Data,
  map: (v: unknown, i: number) => unknown = (v) => v
): Data {
  const source = new Vector([data]);
  const b = makeBuilder({ type, nullValues: [null, undefined] });
  for (let i = 0; i < data.length; i++) b.append(map(source.get(i), i) as never);
  return b.finish().flush();
}

/** LargeUtf8/LargeBinary -> Utf8/Binary: 64-bit offsets narrowed to 32 bits (no value copy). */
function largeToSmall(data: Data, type: Utf8 | Binary, w: Where): Data {
  const big = data.valueOffsets as unknown as BigInt64Array;
  const n = data.length;
  const base = big[0]!;
  if (big[n]! - base > 0x7fffffffn) {
    throw mismatch(
      w,
      `Column ${w.column} holds more than 2 GiB of data and cannot be converted to ${String(type)}.`
    );
  }
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = Number(big[i]! - base);
  const values = (data.values as Uint8Array).subarray(Number(base), Number(big[n]!));
  return new Data(type, data.offset, n, data.nullCount, [
    offsets,
    values,
    data.nullBitmap,
  ] as never);
}

function fixedToBinary(data: Data, width: number): Data {
  const n = data.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = i * width;
  const values = (data.values as Uint8Array).subarray(0, n * width);
  return new Data(new Binary(), data.offset, n, data.nullCount, [
    offsets,
    values,
    data.nullBitmap,
  ] as never);
}

const MS_PER_UNIT = [1000n, 1n, 1n, 1n]; // multipliers for SECOND, MILLISECOND
const DIV_PER_UNIT = [1n, 1n, 1000n, 1000000n]; // divisors for MICROSECOND, NANOSECOND

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function toTimestampMs(data: Data, w: Where): Data {
  const type = data.type;
  const n = data.length;
  if (DataType.isTimestamp(type)) {
    if (type.timezone) {
      throw mismatch(
        w,
        `Incompatible input types for column ${w.column}. The datetime type only accepts timezone-naive ` +
          `values, but the column is ${String(type)}.`,
        { found: String(type) }
      );
    }
    if (type.unit === 1)
      return data.type instanceof TimestampMillisecond
        ? data
        : withValues(new TimestampMillisecond(), data, data.values);
    const v = data.values as BigInt64Array;
    const out = new BigInt64Array(n);
    const mul = MS_PER_UNIT[type.unit]!;
    const div = DIV_PER_UNIT[type.unit]!;
    for (let i = 0; i < n; i++) out[i] = div === 1n ? v[i]! * mul : floorDiv(v[i]!, div);
    return withValues(new TimestampMillisecond(), data, out);
  }
  if (DataType.isDate(type)) {
    if (type.unit === 1)
      return withValues(
        new TimestampMillisecond(),
        data,
        (data.values as BigInt64Array).subarray(0, n)
      );
    const v = data.values as Int32Array;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(v[i]!) * 86400000n;
    return withValues(new TimestampMillisecond(), data, out);
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
    // MLflow parses object columns to datetime (`astype('datetime64[ns]')`).
    return rebuild(new TimestampMillisecond(), data, (v, i) => {
      if (v === null || v === undefined) return null;
      const ms = Date.parse(String(v));
      if (Number.isNaN(ms)) {
        throw mismatch(
          w,
          `Failed to convert column ${w.column} from type ${dtypeName(type)} to datetime: cannot parse '${String(v)}' (row ${i}).`
        );
      }
      return ms;
    });
  }
  throw incompatible(w, type, 'datetime');
}

// ---------------------------------------------------------------------------------------------
// Tensor schemas: MLflow's `_enforce_tensor_schema` / `_enforce_tensor_spec`

function pyShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function enforceTensorSchema(table: Table, specs: TensorSpec[], warn: WarnFn): Table {
  const names = table.schema.fields.map((f) => f.name);
  if (isNamedSchema(specs)) {
    checkNamedColumns(names, specs, warn);
    const outNames = specs.map((s) => s.name!);
    const columns = specs.map((spec) => {
      const vector = table.getChild(spec.name!)!;
      return enforceTensorVector(vector, spec, spec.name!);
    });
    return assembleSingle(outNames, columns);
  }
  const spec = specs[0]!;
  if (names.length === 0 || table.numRows === 0) {
    throw new ModelError('E_SCHEMA_MISMATCH', 'Input table is empty.', { details: {} });
  }
  if (names.length === 1)
    return assembleSingle(['0'], [enforceTensorVector(table.getChildAt(0)!, spec, names[0]!)]);
  // Several scalar columns form a 2-D tensor (-1, ncols), as MLflow's DataFrame.to_numpy().
  const shape = spec.shape;
  if (shape.length !== 2 || shape[0] !== -1 || shape[1] !== names.length) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      'This model contains a model signature with an unnamed input. Since the input data is a table ' +
        'containing multiple columns, the input shape must be of the structure (-1, number_of_columns). ' +
        `Instead, the input table passed had ${names.length} columns and an input shape of ${pyShape(shape)}.`,
      { details: { columns: names.length, shape } }
    );
  }
  const vectors = names.map((_, i) => table.getChildAt(i)!);
  for (const v of vectors) checkDtype(v.type, spec.dtype);
  const leafType = vectors[0]!.type;
  const n = table.numRows;
  const k = names.length;
  const Ctor = leafType.ArrayType as unknown as new (
    n: number
  ) => ArrayLike<number> & { [i: number]: number | bigint };
  const out = new Ctor(n * k) as { [i: number]: number | bigint };
  vectors.forEach((v, j) => {
    let row = 0;
    for (const d of v.data) {
      if (d.nullCount > 0)
        throw new ModelError(
          'E_SCHEMA_MISMATCH',
          `Tensor input column ${names[j]} holds nulls; tensors cannot have missing values.`,
          { details: { column: names[j] } }
        );
      const values = d.values as ArrayLike<number | bigint>;
      for (let i = 0; i < d.length; i++) out[(row + i) * k + j] = values[i]!;
      row += d.length;
    }
  });
  const child = makeData({ type: leafType, length: n * k, data: out as never } as never) as Data;
  const fsl = makeData({
    type: new FixedSizeList(k, new Field('item', leafType, false)),
    length: n,
    child,
  });
  return assembleSingle(['0'], [new Vector([fsl])]);
}

function assembleSingle(names: string[], vectors: Vector[]): Table {
  const columns: Record<string, Vector> = {};
  names.forEach((name, i) => (columns[name] = vectors[i]!));
  // Tensor columns are rebuilt per chunk and may not share boundaries; Table re-slices them.
  return new Table(columns).select(names);
}

function checkDtype(actual: DataType, dtype: string): void {
  if (dtype === 'object') return;
  const name =
    dtype === 'str'
      ? DataType.isUtf8(actual) || DataType.isLargeUtf8(actual)
        ? 'str'
        : dtypeName(actual)
      : dtype === 'bytes'
        ? DataType.isBinary(actual) || DataType.isLargeBinary(actual)
          ? 'bytes'
          : dtypeName(actual)
        : dtypeName(actual);
  if (name !== dtype) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `dtype of input ${name} does not match expected dtype ${dtype}`,
      {
        details: { found: name, expected: dtype },
      }
    );
  }
}

/** Shape of one chunk (first dim = rows) and the chunk with List levels turned into FixedSizeList. */
function tensorChunk(data: Data, column: string): { shape: number[]; data: Data } {
  const t = data.type;
  if (DataType.isFixedSizeList(t) || DataType.isList(t)) {
    if (data.nullCount > 0) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Tensor input column ${column} holds nulls; tensors cannot have missing values.`,
        { details: { column } }
      );
    }
    let size: number;
    let child: Data;
    if (DataType.isFixedSizeList(t)) {
      size = t.listSize;
      child = data.children[0]!;
    } else {
      const offsets = data.valueOffsets as Int32Array;
      size = data.length === 0 ? 0 : offsets[1]! - offsets[0]!;
      for (let i = 0; i < data.length; i++) {
        if (offsets[i + 1]! - offsets[i]! !== size) {
          throw new ModelError(
            'E_SCHEMA_MISMATCH',
            `The value in the input column '${column}' could not be converted to a tensor: row ${i} has ` +
              `${offsets[i + 1]! - offsets[i]!} elements, row 0 has ${size}. Ensure that each of the input list elements are of uniform length.`,
            { details: { column, row: i } }
          );
        }
      }
      child = data.children[0]!.slice(offsets[0]!, offsets[data.length]! - offsets[0]!);
    }
    const inner = tensorChunk(child, column);
    const innerShape = inner.shape.slice(1);
    const fsl =
      DataType.isFixedSizeList(t) && inner.data === child
        ? data
        : makeData({
            type: new FixedSizeList(size, new Field('item', inner.data.type, false)),
            length: data.length,
            child: inner.data,
          });
    return { shape: [data.length, size, ...innerShape], data: fsl };
  }
  return { shape: [data.length], data };
}

function leafTypeOf(type: DataType): DataType {
  let t = type;
  while (DataType.isFixedSizeList(t) || DataType.isList(t)) t = t.children[0]!.type;
  return t;
}

function enforceTensorVector(vector: Vector, spec: TensorSpec, column: string): Vector {
  const chunks = vector.data.map((d) => tensorChunk(d, column));
  const inner = chunks[0]?.shape.slice(1) ?? [];
  for (const c of chunks) {
    const s = c.shape.slice(1);
    if (s.length !== inner.length || s.some((x, i) => x !== inner[i])) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `The value in the input column '${column}' has a different shape in different batches.`,
        { details: { column } }
      );
    }
  }
  let shape = [vector.length, ...inner];
  let out = chunks.map((c) => c.data);
  const expected = spec.shape;
  // A scalar column against (-1, 1): MLflow reshapes it to one element per row.
  if (shape.length === 1 && expected.length === 2 && expected[1] === 1) {
    out = out.map((d) =>
      makeData({
        type: new FixedSizeList(1, new Field('item', d.type, false)),
        length: d.length,
        child: d,
      })
    );
    shape = [vector.length, 1];
  }
  const matches =
    shape.length === expected.length && expected.every((dim, i) => dim === -1 || dim === shape[i]);
  if (!matches) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `Shape of input ${pyShape(shape)} does not match expected shape ${pyShape(expected)}`,
      {
        details: { column, shape, expected },
      }
    );
  }
  for (const d of out)
    if (shape.length === 1 && d.nullCount > 0) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Tensor input column ${column} holds nulls; tensors cannot have missing values.`,
        { details: { column } }
      );
    }
  checkDtype(leafTypeOf(out[0]?.type ?? vector.type), spec.dtype);
  return out.every((d, i) => d === vector.data[i]) ? vector : new Vector(out);
}
