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
  DataType,
  type Field,
  Null,
  Table,
  type Vector,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { frameToTable } from './frames.js';
import type { PredictInput } from '../package/types.js';
import { arrowTypeFor } from '../signature/arrow-types.js';
import { isNamedSchema, isTensorSchema, requiredInputNames } from '../signature/schema.js';
import type { ColSpec, Schema, TensorSpec, ValueType } from '../signature/types.js';
import {
  adoptRecordBatch,
  adoptTable,
  adoptVector,
  isArrowRecordBatchLike,
  isArrowTableLike,
  isArrowVectorLike,
} from './arrow-guards.js';
import { danfoColumns, danfoToTable, isDanfoFrame, isDanfoSeries } from './danfo.js';
import { coerce, numericFast } from './coerce-value.js';
import { inferType } from './infer-type.js';
import { isPlainObject, ownValue, typeName } from './plain-object.js';
import { tableOfVectors } from './record-batch.js';
import { tensorVector } from './tensor-vector.js';

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
  const frame = frameToTable(input);
  if (frame !== null) return frame;
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
      input.map((row) => ownValue(row as Record<string, unknown>, n) ?? null)
    );
    return fromColumns(names, columns, schema);
  }
  if (Array.isArray(first) && !tensorColumnSchema(schema)) {
    // Array of arrays: positional columns "0", "1", ...
    // A loop: spreading many rows into Math.max overflows the stack.
    let width = 0;
    for (const r of input) if (Array.isArray(r) && r.length > width) width = r.length;
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
  // MLflow's `_enforce_schema`: with an Array or Object column in the schema a dict is ONE row
  // (`{ query: ['a', 'b'], table: 't' }` with `query: array<string>`), as in serving
  // (`io/mlflow-json.ts`). Typed arrays and Arrow Vectors stay columns.
  const typedColumn = (v: unknown) => isArrowVectorLike(v) || ArrayBuffer.isView(v);
  if (names.length > 0 && hasArrayOrObjectColumn(schema) && !values.some(typedColumn)) {
    return fromColumns(
      names,
      values.map((v) => [v ?? null]),
      schema
    );
  }
  // Otherwise `pd.DataFrame(dict)`: a scalar beside list columns is broadcast to their length.
  const lengths = new Set(values.filter(isColumn).map((v) => (v as ArrayLike<unknown>).length));
  if (lengths.size === 1) {
    const [length] = lengths;
    return fromColumns(
      names,
      values.map((v) =>
        isColumn(v) ? (v as ArrayLike<unknown>) : new Array<unknown>(length).fill(v ?? null)
      ),
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

/** MLflow's `any(isinstance(col_spec.type, (Array, Object)) ...)` over a column schema. */
function hasArrayOrObjectColumn(schema: Schema | null): boolean {
  if (schema === null || isTensorSchema(schema)) return false;
  return (schema as ColSpec[]).some((s) => s.type.type === 'array' || s.type.type === 'object');
}

function emptyTable(schema: Schema | null): Table {
  if (schema === null || isTensorSchema(schema)) return new Table();
  const names: string[] = [];
  const vectors: Vector[] = [];
  schema.forEach((spec, i) => {
    names.push(spec.name ?? String(i));
    vectors.push(vectorFromArray([], arrowTypeFor(spec.type) ?? new Null()));
  });
  return tableOfVectors(names, vectors);
}

/**
 * The conversion target of each column, by name or position. The schema's names are indexed
 * once (the first spec of a name wins, as `find` did): one lookup per column keeps a request
 * with many columns linear.
 */
function targetsFor(schema: Schema | null): (name: string, index: number) => Target {
  if (schema === null) return () => null;
  const byName = new Map<string, Schema[number]>();
  if (isNamedSchema(schema)) {
    for (const spec of schema)
      if (spec.name !== undefined && !byName.has(spec.name)) byName.set(spec.name, spec);
  }
  if (isTensorSchema(schema)) {
    return (name) => {
      const spec = isNamedSchema(schema) ? byName.get(name) : schema[0];
      return spec === undefined ? null : { kind: 'tensor', spec: spec as TensorSpec };
    };
  }
  return (name, index) => {
    const spec = (isNamedSchema(schema) ? byName.get(name) : schema[index]) as ColSpec | undefined;
    return spec === undefined ? null : { kind: 'value', type: spec.type };
  };
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
  const targetFor = targetsFor(schema);
  const vectors = columns.map((c, i) => toVector(names[i]!, c, targetFor(names[i]!, i)));
  return tableOfVectors(names, vectors);
}

function toVector(name: string, values: ArrayLike<unknown> | Vector, target: Target): Vector {
  if (isArrowVectorLike(values)) return adoptVector(values);
  if (ArrayBuffer.isView(values)) return makeVector(values as unknown as Int32Array);
  const arr = Array.isArray(values) ? (values as unknown[]) : Array.from(values);
  if (target?.kind === 'tensor') return tensorVector(name, arr, target.spec);
  const type = target === null ? null : target.type;
  if (type === null || type.type === 'any') {
    const inferred = inferType(name, arr, []);
    return vectorFromArray(fillStructs(arr, inferred), inferred) as Vector;
  }
  const fast = numericFast(name, arr, type);
  if (fast !== null) return fast;
  const coerced = arr.map((v, row) => coerce(v, type, { column: name, row, path: '' }));
  const arrow = arrowTypeFor(type) ?? inferType(name, coerced, []);
  return vectorFromArray(fillStructs(coerced, arrow), arrow) as Vector;
}

/** True when `type` has a Struct at any depth. */
function hasStruct(type: DataType): boolean {
  return DataType.isStruct(type) || (type.children ?? []).some((f: Field) => hasStruct(f.type));
}

/**
 * Arrow's struct builder reads `value[field]` and does not treat a missing key as null: a row
 * object without the key would store `''`, `NaN` or `false` (or crash for a list), and a key
 * named like an `Object.prototype` member (`constructor`) would read the inherited function.
 * So every object under a Struct type is copied onto a null-prototype object holding each
 * field's own value or null. Columns without Structs are returned as they are.
 */
function fillStructs(values: unknown[], type: DataType): unknown[] {
  return hasStruct(type) ? values.map((v) => fill(v, type)) : values;
}

function fill(v: unknown, type: DataType): unknown {
  if (v === null || v === undefined) return null;
  if (DataType.isStruct(type) && isPlainObject(v)) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const f of type.children as Field[]) out[f.name] = fill(ownValue(v, f.name), f.type);
    return out;
  }
  if ((DataType.isList(type) || DataType.isFixedSizeList(type)) && Array.isArray(v)) {
    const item = (type.children[0] as Field).type;
    return hasStruct(item) ? v.map((x) => fill(x, item)) : v;
  }
  if (DataType.isMap(type)) {
    const value = ((type.children[0] as Field).type.children[1] as Field).type;
    if (!hasStruct(value)) return v;
    const entries = v instanceof Map ? [...v] : isPlainObject(v) ? Object.entries(v) : null;
    return entries === null ? v : new Map(entries.map(([k, x]) => [k, fill(x, value)]));
  }
  return v;
}
