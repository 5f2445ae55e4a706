/**
 * Converts every input `predict` accepts into an Arrow Table.
 *
 * Accepted: an Arrow Table or RecordBatch (from any apache-arrow copy; foreign ones are adopted
 * zero-copy), rows (an array of plain objects), columns (an object of arrays, typed arrays or
 * Arrow Vectors; all-scalar values make one row), an array of arrays (positional columns named
 * `"0"`, `"1"`, ...), a danfo DataFrame or Series, and a single array / typed array / Vector
 * (one column, bound to the schema's only required input as MLflow does, else named `"0"`).
 *
 * With a schema, plain JS values are converted to the signature's Arrow type when they fit
 * exactly (3 into an integer column is fine, 3.5 is an error naming the column, row and value);
 * typed arrays and Arrow vectors keep their own types and `enforceSchema` then applies MLflow's
 * widening rules. Without a schema (or for `any` and for columns the schema does not name),
 * types are inferred: number -> Float64, bigint -> Int64, string -> Utf8, boolean -> Bool,
 * Date -> TimestampMillisecond, Uint8Array -> Binary, arrays -> List, objects -> Struct (fields
 * sorted by name).
 *
 * Under a tensor schema, plain values become columns of the tensor's dtype (fitting exactly, as
 * above): scalars make a primitive column (`enforceSchema` packs several of them into an unnamed
 * `(-1, n)` tensor) and arrays of one inner shape make nested FixedSizeLists.
 *
 * @module
 */
import {
  Binary,
  Bool,
  type Data,
  DataType,
  Field,
  FixedSizeList,
  Float64,
  Int64,
  List,
  Null,
  Precision,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  Vector,
  makeData,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { PredictInput } from '../package/types.js';
import { arrowTypeFor, arrowTypeForTensorDtype } from '../signature/arrow-types.js';
import { isNamedSchema, isTensorSchema, requiredInputNames } from '../signature/schema.js';
import type { Schema, TensorSpec, ValueType } from '../signature/types.js';
import {
  adoptRecordBatch,
  adoptTable,
  adoptVector,
  isArrowRecordBatchLike,
  isArrowTableLike,
  isArrowVectorLike,
} from './arrow-guards.js';
import {
  danfoColumns,
  danfoToTable,
  isDanfoFrame,
  isDanfoSeries,
  tableFromVectors,
} from './danfo.js';

/** What a column's values are converted to: a column type, a tensor spec, or inferred. */
type Target = { kind: 'value'; type: ValueType } | { kind: 'tensor'; spec: TensorSpec } | null;

/**
 * Converts any accepted input to an Arrow Table.
 *
 * @param input - Arrow Table / RecordBatch, rows, columns, array of arrays, danfo DataFrame or
 *   Series, or a single array / typed array / Vector
 * @param schema - the model's input schema, used to type plain JS values and to bind a single
 *   column; omitted or `null` infers types
 * @returns an Arrow Table (the input itself when it already is one of our Tables)
 * @throws {ModelError} E_INPUT_INVALID for unsupported input, ragged columns or values whose
 *   type cannot be inferred
 * @throws {ModelError} E_SCHEMA_MISMATCH when a plain value does not fit its column's type
 */
export function toTable(input: PredictInput, schema?: Schema | null): Table {
  const s = schema ?? null;
  if (isArrowTableLike(input)) return adoptTable(input);
  if (isArrowRecordBatchLike(input)) return new Table(adoptRecordBatch(input));
  if (isDanfoFrame(input)) {
    if (s === null) return danfoToTable(input);
    const { names, values } = danfoColumns(input);
    return fromColumns(
      names,
      values.map((v) => missingToNull(v)),
      s
    );
  }
  if (isDanfoSeries(input)) {
    const values = Array.from((input as unknown as { values: ArrayLike<unknown> }).values);
    return fromColumns([singleName(s)], [missingToNull(values)], s);
  }
  if (isArrowVectorLike(input)) return fromColumns([singleName(s)], [input], s);
  if (ArrayBuffer.isView(input) && !(input instanceof DataView)) {
    return fromColumns([singleName(s)], [input as unknown as ArrayLike<unknown>], s);
  }
  if (Array.isArray(input)) return fromArray(input, s);
  if (isPlainObject(input)) return fromRecord(input, s);
  throw new ModelError(
    'E_INPUT_INVALID',
    `Expected input to be a table, rows or columns. Found: ${typeName(input)}`,
    { details: { found: typeName(input) } }
  );
}

function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'Object';
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

function missingToNull(values: unknown[]): unknown[] {
  return values.map((v) =>
    v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : v
  );
}

/** The column name for single-column input: the schema's only required input, else "0". */
function singleName(schema: Schema | null): string {
  if (schema !== null && isNamedSchema(schema)) {
    const required = requiredInputNames(schema);
    if (required.length === 1) return required[0]!;
    if (schema.length === 1 && schema[0]!.name !== undefined) return schema[0]!.name;
  }
  return '0';
}

function fromArray(input: readonly unknown[], schema: Schema | null): Table {
  if (input.length === 0) return emptyTable(schema);
  const first = input.find((r) => r !== null && r !== undefined);
  if (isPlainObject(first)) {
    // Rows: columns in first-seen key order, gathered column by column.
    const names: string[] = [];
    const seen = new Set<string>();
    input.forEach((row, i) => {
      if (!isPlainObject(row)) {
        throw new ModelError(
          'E_INPUT_INVALID',
          `Row ${i} is ${typeName(row)}; expected every row to be a plain object.`,
          {
            details: { row: i },
          }
        );
      }
      for (const k of Object.keys(row)) {
        if (!seen.has(k)) {
          seen.add(k);
          names.push(k);
        }
      }
    });
    const columns = names.map((n) =>
      input.map((row) => (row as Record<string, unknown>)[n] ?? null)
    );
    return fromColumns(names, columns, schema);
  }
  if (Array.isArray(first) && !tensorColumnSchema(schema)) {
    // Array of arrays: positional columns "0", "1", ...
    const width = Math.max(...input.map((r) => (Array.isArray(r) ? r.length : 0)));
    input.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw new ModelError(
          'E_INPUT_INVALID',
          `Row ${i} has ${Array.isArray(row) ? row.length : typeName(row)} values; expected ${width} (rows of an array of arrays must have equal lengths).`,
          { details: { row: i } }
        );
      }
    });
    const names = Array.from({ length: width }, (_, j) => String(j));
    const columns = names.map((_, j) => input.map((row) => (row as unknown[])[j] ?? null));
    return fromColumns(names, columns, schema);
  }
  return fromColumns([singleName(schema)], [input], schema);
}

/** True for an unnamed tensor schema: nested arrays are then one tensor column, not positions. */
function tensorColumnSchema(schema: Schema | null): boolean {
  return schema !== null && isTensorSchema(schema) && !isNamedSchema(schema);
}

function fromRecord(input: Record<string, unknown>, schema: Schema | null): Table {
  const names = Object.keys(input);
  const values = names.map((n) => input[n]);
  const isColumn = (v: unknown) =>
    Array.isArray(v) || isArrowVectorLike(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  // MLflow: a dict of scalars is one row.
  if (names.length > 0 && values.every((v) => !isColumn(v))) {
    return fromColumns(
      names,
      values.map((v) => [v ?? null]),
      schema
    );
  }
  const bad = names.filter((_, i) => !isColumn(values[i]));
  if (bad.length > 0) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column ${bad[0]} is ${typeName(values[names.indexOf(bad[0]!)])}; expected every column to be an array, a typed array or an Arrow Vector.`,
      { details: { columns: bad } }
    );
  }
  return fromColumns(names, values as ArrayLike<unknown>[], schema);
}

function emptyTable(schema: Schema | null): Table {
  if (schema === null || isTensorSchema(schema)) return new Table();
  const names: string[] = [];
  const vectors: Vector[] = [];
  schema.forEach((spec, i) => {
    names.push(spec.name ?? String(i));
    vectors.push(vectorFromArray([], arrowTypeFor(spec.type) ?? new Null()));
  });
  return tableFromVectors(names, vectors);
}

function targetFor(schema: Schema | null, name: string, index: number): Target {
  if (schema === null) return null;
  if (isTensorSchema(schema)) {
    const spec = isNamedSchema(schema) ? schema.find((s) => s.name === name) : schema[0];
    return spec === undefined ? null : { kind: 'tensor', spec };
  }
  const spec = isNamedSchema(schema) ? schema.find((s) => s.name === name) : schema[index];
  return spec === undefined ? null : { kind: 'value', type: spec.type };
}

function fromColumns(
  names: string[],
  columns: (ArrayLike<unknown> | Vector)[],
  schema: Schema | null
): Table {
  const lengths = columns.map((c) => c.length);
  const distinct = new Set(lengths);
  if (distinct.size > 1) {
    const described = names.map((n, i) => `${n} has ${lengths[i]}`).join(', ');
    throw new ModelError('E_INPUT_INVALID', `Columns have different lengths: ${described}.`, {
      details: { lengths: Object.fromEntries(names.map((n, i) => [n, lengths[i]])) },
    });
  }
  const vectors = columns.map((c, i) => toVector(names[i]!, c, targetFor(schema, names[i]!, i)));
  return tableFromVectors(names, vectors);
}

function toVector(name: string, values: ArrayLike<unknown> | Vector, target: Target): Vector {
  if (isArrowVectorLike(values)) return adoptVector(values);
  if (ArrayBuffer.isView(values)) return makeVector(values as unknown as Int32Array);
  const arr = Array.isArray(values) ? (values as unknown[]) : Array.from(values);
  if (target?.kind === 'tensor') return tensorVector(name, arr, target.spec);
  const type = target === null ? null : target.type;
  if (type === null || type.type === 'any')
    return vectorFromArray(arr, inferType(name, arr, [])) as Vector;
  const fast = numericFast(name, arr, type);
  if (fast !== null) return fast;
  const coerced = arr.map((v, row) => coerce(v, type, { column: name, row, path: '' }));
  const arrow = arrowTypeFor(type) ?? inferType(name, coerced, []);
  return vectorFromArray(coerced, arrow) as Vector;
}

// ---------------------------------------------------------------------------------------------
// Plain values -> the signature's types

interface At {
  column: string;
  row: number;
  path: string;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return typeName(v);
  return String(v);
}

function unfit(at: At, v: unknown, expected: string): ModelError {
  const where = `column ${at.column}${at.path}, row ${at.row}`;
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `Incompatible input for ${where}: ${show(v)} cannot be stored as ${expected} without loss.`,
    {
      details: { column: at.column, row: at.row, path: at.path, value: show(v), expected },
    }
  );
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Builds integer/long/float/double columns straight into typed arrays (no per-row boxing). */
function numericFast(name: string, arr: unknown[], type: ValueType): Vector | null {
  if (
    type.type !== 'integer' &&
    type.type !== 'float' &&
    type.type !== 'double' &&
    type.type !== 'long'
  )
    return null;
  const n = arr.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  const out =
    type.type === 'integer'
      ? new Int32Array(n)
      : type.type === 'long'
        ? new BigInt64Array(n)
        : type.type === 'float'
          ? new Float32Array(n)
          : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    const at = { column: name, row: i, path: '' };
    const c = coerce(v, type, at);
    (out as { [i: number]: number | bigint })[i] = c as number | bigint;
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const arrow = arrowTypeFor(type)!;
  return new Vector([
    makeData({
      type: arrow,
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data: out,
    } as never),
  ]);
}

function coerce(v: unknown, type: ValueType, at: At): unknown {
  if (v === null || v === undefined) return null;
  switch (type.type) {
    case 'integer':
      if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX)
        return v;
      if (typeof v === 'bigint' && v >= BigInt(INT32_MIN) && v <= BigInt(INT32_MAX))
        return Number(v);
      throw unfit(at, v, 'integer (int32)');
    case 'long':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
      if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) return v;
      throw unfit(at, v, 'long (int64)');
    case 'float':
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
      throw unfit(at, v, `${type.type} (${type.type === 'float' ? 'float32' : 'float64'})`);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      throw unfit(at, v, 'boolean');
    case 'string':
      if (typeof v === 'string') return v;
      throw unfit(at, v, 'string');
    case 'binary':
      if (v instanceof Uint8Array) return v;
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      throw unfit(at, v, 'binary');
    case 'datetime': {
      if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
      if (typeof v === 'string') {
        const ms = Date.parse(v);
        if (!Number.isNaN(ms)) return ms;
      }
      throw unfit(at, v, 'datetime');
    }
    case 'array': {
      const items = Array.isArray(v)
        ? v
        : ArrayBuffer.isView(v) && !(v instanceof DataView)
          ? Array.from(v as unknown as ArrayLike<unknown>)
          : null;
      if (items === null) throw unfit(at, v, 'array');
      return items.map((x, i) => coerce(x, type.items, { ...at, path: `${at.path}[${i}]` }));
    }
    case 'object': {
      if (!isPlainObject(v)) throw unfit(at, v, 'object');
      const keys = Object.keys(v);
      const missing = type.properties
        .filter((p) => p.required && (v[p.name] === undefined || v[p.name] === null))
        .map((p) => p.name);
      const where = `column ${at.column}${at.path}, row ${at.row}`;
      if (missing.length > 0) {
        throw new ModelError(
          'E_SCHEMA_MISMATCH',
          `Incompatible input for ${where}: Missing required properties: {${missing.map((m) => `'${m}'`).join(', ')}}`,
          {
            details: { column: at.column, row: at.row, missing },
          }
        );
      }
      const extra = keys.filter((k) => !type.properties.some((p) => p.name === k));
      if (extra.length > 0) {
        throw new ModelError(
          'E_SCHEMA_MISMATCH',
          `Incompatible input for ${where}: Invalid properties not defined in the schema found: {${extra.map((m) => `'${m}'`).join(', ')}}`,
          { details: { column: at.column, row: at.row, extra } }
        );
      }
      const out: Record<string, unknown> = {};
      for (const p of type.properties)
        out[p.name] = coerce(v[p.name], p.type, { ...at, path: `${at.path}.${p.name}` });
      return out;
    }
    case 'map': {
      const entries =
        v instanceof Map ? [...v.entries()] : isPlainObject(v) ? Object.entries(v) : null;
      if (entries === null) throw unfit(at, v, 'map');
      return new Map(
        entries.map(([k, x]) => {
          if (typeof k !== 'string') throw unfit(at, k, 'map key (string)');
          return [k, coerce(x, type.values, { ...at, path: `${at.path}[${JSON.stringify(k)}]` })];
        })
      );
    }
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Tensors: plain (nested) values -> columns of the spec's dtype
//
// The nesting comes from the values, not from the spec. A column of scalars is a primitive
// column of the dtype: under an unnamed (-1, n) spec enforceSchema packs n such columns into
// one tensor, as MLflow's `DataFrame.to_numpy()` does, and under (-1,) it is the tensor itself.
// A column whose values are arrays of one inner shape becomes nested FixedSizeLists of the
// dtype. Whether that shape matches the spec is left to enforceSchema, so shape messages have a
// single source.

function tensorVector(name: string, arr: unknown[], spec: TensorSpec): Vector {
  const leaf = arrowTypeForTensorDtype(spec.dtype);
  if (leaf === null) return vectorFromArray(arr, inferType(name, arr, [])) as Vector;
  // Bytes are leaves even though a Uint8Array is array-like.
  const isNested = (v: unknown): v is ArrayLike<unknown> =>
    Array.isArray(v) ||
    (ArrayBuffer.isView(v) &&
      !(v instanceof DataView) &&
      !(DataType.isBinary(leaf) && v instanceof Uint8Array));
  const inner: number[] = [];
  for (let v = arr[0]; isNested(v); v = v[0]) inner.push(v.length);
  const size = inner.reduce((a, b) => a * b, 1);
  const toLeaf = leafConverter(leaf, spec.dtype);
  const n = arr.length;
  // Numeric leaves go straight into one typed array; other leaves through Arrow's builder.
  const fast =
    DataType.isInt(leaf) || (DataType.isFloat(leaf) && leaf.precision !== Precision.HALF);
  const Ctor = leaf.ArrayType as unknown as new (n: number) => { [i: number]: unknown };
  const out = fast ? new Ctor(n * size) : null;
  const flat: unknown[] = [];
  let k = 0;
  const walk = (v: unknown, depth: number, at: At): unknown => {
    if (v === null || v === undefined) throw tensorNull(name, at);
    if (depth === inner.length) {
      if (isNested(v)) throw unfit(at, v, spec.dtype);
      const x = toLeaf(v, at);
      if (out !== null) out[k++] = x;
      return x;
    }
    if (!isNested(v)) throw unfit(at, v, `an array of ${inner[depth]} ${spec.dtype} values`);
    if (v.length !== inner[depth]) throw tensorRagged(name, at, v.length, inner[depth]!);
    const items: unknown[] = [];
    for (let i = 0; i < v.length; i++)
      items.push(walk(v[i], depth + 1, { ...at, path: `${at.path}[${i}]` }));
    return items;
  };
  for (let row = 0; row < n; row++) flat.push(walk(arr[row], 0, { column: name, row, path: '' }));
  let type: DataType = leaf;
  for (let d = inner.length - 1; d >= 0; d--)
    type = new FixedSizeList(inner[d]!, new Field('item', type, false));
  if (out === null) return vectorFromArray(flat, type) as Vector;
  let data: Data = makeData({ type: leaf, length: n * size, data: out } as never) as Data;
  for (let d = inner.length - 1; d >= 0; d--) {
    const levelSize = inner.slice(0, d).reduce((a, b) => a * b, n);
    data = makeData({
      type: new FixedSizeList(inner[d]!, new Field('item', data.type, false)),
      length: levelSize,
      child: data,
    });
  }
  return new Vector([data]);
}

function tensorNull(column: string, at: At): ModelError {
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `Tensor input column ${column} holds nulls (row ${at.row}${at.path}); tensors cannot have missing values.`,
    { details: { column, row: at.row, path: at.path } }
  );
}

function tensorRagged(column: string, at: At, found: number, expected: number): ModelError {
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `The value in the input column '${column}' could not be converted to a tensor: row ${at.row}${at.path} ` +
      `has ${found} elements, row 0 has ${expected}. Ensure that each of the input list elements are of uniform length.`,
    { details: { column, row: at.row, path: at.path, found, expected } }
  );
}

/** Checks one plain value against a tensor dtype: it must fit exactly, as for column types. */
function leafConverter(leaf: DataType, dtype: string): (v: unknown, at: At) => unknown {
  if (DataType.isInt(leaf)) {
    const bits = BigInt(leaf.bitWidth);
    const min = leaf.isSigned ? -(2n ** (bits - 1n)) : 0n;
    const max = leaf.isSigned ? 2n ** (bits - 1n) - 1n : 2n ** bits - 1n;
    const big = leaf.bitWidth === 64;
    return (v, at) => {
      const b =
        typeof v === 'bigint'
          ? v
          : typeof v === 'number' && Number.isSafeInteger(v)
            ? BigInt(v)
            : null;
      if (b === null || b < min || b > max) throw unfit(at, v, dtype);
      return big ? b : Number(b);
    };
  }
  if (DataType.isFloat(leaf) || DataType.isTimestamp(leaf)) {
    return (v, at) => {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
      throw unfit(at, v, dtype);
    };
  }
  const ok = DataType.isBool(leaf)
    ? (v: unknown) => typeof v === 'boolean'
    : DataType.isUtf8(leaf)
      ? (v: unknown) => typeof v === 'string'
      : (v: unknown) => v instanceof Uint8Array;
  return (v, at) => {
    if (!ok(v)) throw unfit(at, v, dtype);
    return v;
  };
}

// ---------------------------------------------------------------------------------------------
// Type inference

function inferType(column: string, values: readonly unknown[], path: string[]): DataType {
  let kind: string | null = null;
  const items: unknown[] = [];
  const objects: Record<string, unknown>[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k =
      typeof v === 'number'
        ? 'number'
        : typeof v === 'bigint'
          ? 'bigint'
          : typeof v === 'string'
            ? 'string'
            : typeof v === 'boolean'
              ? 'boolean'
              : v instanceof Date
                ? 'date'
                : v instanceof Uint8Array
                  ? 'binary'
                  : Array.isArray(v)
                    ? 'array'
                    : isPlainObject(v)
                      ? 'object'
                      : `unsupported ${typeName(v)}`;
    if (k.startsWith('unsupported') || (kind !== null && kind !== k)) {
      const where = path.length === 0 ? `column ${column}` : `column ${column} at ${path.join('')}`;
      throw new ModelError(
        'E_INPUT_INVALID',
        kind !== null && kind !== k && !k.startsWith('unsupported')
          ? `Cannot infer a type for ${where}: it mixes ${kind} and ${k} values.`
          : `Cannot infer a type for ${where}: ${k.replace('unsupported ', '')} values are not supported.`,
        { details: { column, path: path.join('') } }
      );
    }
    kind = k;
    if (k === 'array') items.push(...(v as unknown[]));
    if (k === 'object') objects.push(v as Record<string, unknown>);
  }
  switch (kind) {
    case null:
      return new Null();
    case 'number':
      return new Float64();
    case 'bigint':
      return new Int64();
    case 'string':
      return new Utf8();
    case 'boolean':
      return new Bool();
    case 'date':
      return new TimestampMillisecond();
    case 'binary':
      return new Binary();
    case 'array':
      return new List(new Field('item', inferType(column, items, [...path, '[]']), true));
    default: {
      const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))].sort();
      return new Struct(
        keys.map(
          (k) =>
            new Field(
              k,
              inferType(
                column,
                objects.map((o) => o[k] ?? null),
                [...path, `.${k}`]
              ),
              true
            )
        )
      );
    }
  }
}
