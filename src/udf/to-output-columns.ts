/**
 * A model's output seen as MLflow's `pd.DataFrame(result)`: a list of named output columns, each
 * with the numpy-like dtype that drives MLflow's column selection (`select_dtypes`). The Arrow
 * vector of the result type is built from these columns by `toResultVector`.
 *
 * @module
 */
import { Type, isArrowRecordBatch, isArrowTable, isArrowVector } from 'apache-arrow';
import type { DataType, Struct, Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';

/** The typed arrays an output column may come as. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** The numpy-like dtype of an output column, which drives MLflow's column selection. */
export type Dtype =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'bool'
  | 'string'
  | 'number' /* plain JS numbers */
  | 'null'
  | 'nested'
  | 'other';

/** One named output column, with its dtype and a row accessor. */
export interface OutColumn {
  name: string;
  length: number;
  dtype: Dtype;
  /** For `number`: every non-null, non-NaN value is an integer (int32-range / safe-range). */
  int32?: boolean;
  safe?: boolean;
  /** Dense values without nulls, when the column came as a typed array (or null-free vector). */
  typed?: TypedArray;
  /** The Arrow vector the column came from. */
  vector?: Vector;
  get(i: number): unknown;
}

/** The integer dtypes. */
export const INTS: readonly Dtype[] = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
];

/** An E_MODEL_OUTPUT error with `details`. */
export function outputError(message: string, details: Record<string, unknown> = {}): ModelError {
  return new ModelError('E_MODEL_OUTPUT', message, { details });
}

/** True for typed arrays (any `ArrayBuffer` view but `DataView`). */
export function isTyped(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

function isDanfo(x: unknown): x is { $isSeries: boolean; values: unknown; columns?: string[] } {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { $isSeries?: unknown }).$isSeries === 'boolean'
  );
}

function typedDtype(a: TypedArray): Dtype {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof BigUint64Array) return 'uint64';
  return 'uint8';
}

function typedColumn(name: string, a: TypedArray): OutColumn {
  return { name, length: a.length, dtype: typedDtype(a), typed: a, get: (i) => a[i] };
}

function vectorDtype(t: DataType): Dtype {
  const x = t as DataType & {
    bitWidth?: number;
    isSigned?: boolean;
    precision?: number;
    dictionary?: DataType;
  };
  switch (t.typeId) {
    case Type.Int:
      return `${x.isSigned === true ? 'int' : 'uint'}${x.bitWidth ?? 32}` as Dtype;
    case Type.Float:
      return x.precision === 0 ? 'float16' : x.precision === 1 ? 'float32' : 'float64';
    case Type.Bool:
      return 'bool';
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    case Type.Dictionary:
      return x.dictionary !== undefined && vectorDtype(x.dictionary) === 'string'
        ? 'string'
        : 'other';
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.Struct:
    case Type.Map:
      return 'nested';
    case Type.Null:
      return 'null';
    default:
      return 'other';
  }
}

function vectorColumn(name: string, v: Vector): OutColumn {
  const dtype = vectorDtype(v.type as DataType);
  const col: OutColumn = { name, length: v.length, dtype, vector: v, get: (i) => v.get(i) };
  if (v.nullCount === 0 && (INTS.includes(dtype) || dtype === 'float32' || dtype === 'float64')) {
    col.typed = v.toArray() as TypedArray;
  }
  return col;
}

/** One pass over plain JS values to find the column's dtype. */
function valuesColumn(name: string, values: ArrayLike<unknown>): OutColumn {
  let num = 0,
    str = 0,
    bool = 0,
    big = 0,
    nested = 0,
    other = 0;
  let int32 = true,
    safe = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    switch (typeof v) {
      case 'number':
        num++;
        if (!Number.isNaN(v)) {
          if (!Number.isSafeInteger(v)) safe = int32 = false;
          else if (v > 2147483647 || v < -2147483648) int32 = false;
        }
        break;
      case 'string':
        str++;
        break;
      case 'boolean':
        bool++;
        break;
      case 'bigint':
        big++;
        break;
      case 'object':
        if (v instanceof Date) other++;
        else nested++;
        break;
      default:
        other++;
    }
  }
  const nonNull = num + str + bool + big + nested + other;
  const dtype: Dtype =
    nonNull === 0
      ? 'null'
      : num === nonNull
        ? 'number'
        : str === nonNull
          ? 'string'
          : bool === nonNull
            ? 'bool'
            : big === nonNull
              ? 'int64'
              : nested === nonNull
                ? 'nested'
                : 'other';
  return { name, length: values.length, dtype, int32, safe, get: (i) => values[i] };
}

function anyColumn(name: string, x: unknown): OutColumn {
  if (isTyped(x)) return typedColumn(name, x);
  if (isArrowVector(x)) return vectorColumn(name, x);
  if (Array.isArray(x)) return valuesColumn(name, x);
  if (isDanfo(x) && x.$isSeries) return anyColumn(name, x.values);
  throw outputError(
    `Model output column '${name}' must be an array, typed array or Arrow vector, but found ` +
      `${describeOutput(x)}.`,
    { column: name }
  );
}

/** A short description of a value's kind for messages: `null`, `an array`, `an object (Map)`. */
export function describeOutput(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `a ${typeof x}`;
}

function isRowObject(x: unknown): x is Record<string, unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    !isTyped(x) &&
    !isArrowVector(x) &&
    !(x instanceof Map) &&
    !(x instanceof Date)
  );
}

/**
 * MLflow's `pd.DataFrame(result)`: a model's output as a list of named columns (a 1-D result is
 * one column named `"0"`; tables, column objects, row objects and danfo frames give their names).
 *
 * @param output - what `predict` returned (see `toResultVector` for the accepted forms).
 * @returns the output columns, in output order; not yet checked for length.
 * @throws {ModelError} E_MODEL_OUTPUT when the output is null/undefined or a named column is not
 *   an array, typed array or Arrow vector.
 */
export function toOutputColumns(output: unknown): OutColumn[] {
  if (isArrowTable(output) || isArrowRecordBatch(output)) {
    return output.schema.fields.map((f, i) => vectorColumn(f.name, output.getChildAt(i) as Vector));
  }
  if (isArrowVector(output)) {
    if (output.type.typeId === Type.Struct) {
      const fields = (output.type as Struct).children;
      return fields.map((f, i) => vectorColumn(f.name, output.getChildAt(i) as Vector));
    }
    return [vectorColumn('0', output)];
  }
  if (isTyped(output)) return [typedColumn('0', output)];
  if (isDanfo(output)) {
    if (output.$isSeries) return [anyColumn('0', output.values)];
    const names = output.columns ?? [];
    const byCol = (output as { $dataIncolumnFormat?: unknown }).$dataIncolumnFormat;
    if (Array.isArray(byCol) && byCol.length === names.length) {
      return names.map((n, j) => anyColumn(n, byCol[j]));
    }
    const rows = output.values as unknown[][];
    return names.map((n, j) =>
      valuesColumn(
        n,
        rows.map((r) => r[j])
      )
    );
  }
  if (Array.isArray(output)) {
    const first = output.find((v) => v !== null && v !== undefined);
    if (
      first !== undefined &&
      isRowObject(first) &&
      typeof (first as { toJSON?: unknown }).toJSON !== 'function'
    ) {
      return rowsToColumns(output);
    }
    return [valuesColumn('0', output)];
  }
  if (output instanceof Map) return [...output].map(([k, v]) => anyColumn(String(k), v));
  if (isRowObject(output)) return Object.entries(output).map(([k, v]) => anyColumn(k, v));
  if (output === null || output === undefined) {
    throw outputError(`The model returned ${String(output)}; expected predictions.`);
  }
  // A scalar becomes a one-row frame, as MLflow's pd.DataFrame([result]).
  return [valuesColumn('0', [output])];
}

function rowsToColumns(rows: unknown[]): OutColumn[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!isRowObject(r)) continue;
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
    }
  }
  return names.map((n) =>
    valuesColumn(
      n,
      rows.map((r) => (isRowObject(r) ? r[n] : undefined))
    )
  );
}

function isRowList(v: unknown): boolean {
  return Array.isArray(v) || isTyped(v) || isArrowVector(v);
}

/**
 * A single column of row arrays (a 2-D array) read as one column per position, as pandas does.
 *
 * @param cols - the output columns.
 * @returns one column per position when `cols` is one column of row lists; otherwise `cols`.
 */
export function expandMatrix(cols: OutColumn[]): OutColumn[] {
  const only = cols[0];
  if (cols.length !== 1 || only === undefined || only.dtype !== 'nested') return cols;
  let width = 0;
  for (let i = 0; i < only.length; i++) {
    const v = only.get(i);
    if (v === null || v === undefined) continue;
    if (!isRowList(v)) return cols;
    width = Math.max(width, (v as ArrayLike<unknown>).length);
  }
  return Array.from({ length: width }, (_, j) =>
    valuesColumn(
      String(j),
      Array.from({ length: only.length }, (_, i) => {
        const row = only.get(i) as
          ({ get?: (k: number) => unknown } & ArrayLike<unknown>) | null | undefined;
        if (row === null || row === undefined) return null;
        return isArrowVector(row) ? row.get(j) : row[j];
      })
    )
  );
}
