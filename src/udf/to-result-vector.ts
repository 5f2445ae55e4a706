/**
 * Turns whatever a model's `predict` returned into ONE Arrow vector of the UDF result type,
 * with MLflow `spark_udf` semantics. Pure: runs inside pool workers, once per batch.
 *
 * The output is first seen as a list of named "output columns" (MLflow's `pd.DataFrame(result)`):
 * a 1-D result (typed array, plain array, Arrow vector, danfo Series, scalar) is one column
 * named `"0"`; an Arrow Table/RecordBatch, a columns object `{a: [...], b: Float64Array}`, an
 * array of row objects or a danfo DataFrame give named columns. Then, by result type:
 *
 * - primitive: the LEFTMOST column whose dtype is compatible (MLflow's `select_dtypes`):
 *   `int` keeps int8/uint8/int16/uint16/int32; `long` keeps int8/uint8/int16/uint16/int64
 *   (MLflow selects numpy `int`, so an int32/uint32 column is not taken for `long`); `float`
 *   and `double` keep every numeric column (cast); `boolean` keeps boolean columns; `string`
 *   keeps every column and stringifies it. A column of plain JS numbers counts as integer for
 *   `int`/`long` when every value is an integer in range (JS has no int dtype; MLflow would see
 *   int64 from Python ints). A column of only nulls is compatible with every type. A single
 *   column of row arrays (a 2-D array) is read as one column per position, as pandas does.
 * - `array<primitive>`: one column whose values are arrays (2-D array, Arrow List, column of
 *   typed arrays) converts row by row, a null or NaN row giving a null array (MLflow #8986);
 *   otherwise each row's compatible columns form the array.
 * - `array<array|struct|map>`: the leftmost column of nested values, converted row by row
 *   (tuples fill struct fields by position, objects by name).
 * - struct: fields are read BY NAME from the columns; a missing field is an error. Each field
 *   converts to its type; ints must be integral and in range (no silent truncation, unlike
 *   numpy's `astype`).
 * - map: per-row objects / `Map`s / Arrow map rows.
 *
 * Nulls (`null`/`undefined`) survive everywhere. NaN in a float/double column stays NaN (not
 * null); NaN becomes null only where the target cannot hold it (int/long, and a NaN row of an
 * array type). Strings: JS `String()` for numbers/booleans (`true`, not Python's `True`),
 * float32 values in their shortest float32 form (`0.1`, not `0.10000000149011612`), nested
 * values as JSON.
 *
 * Fast paths: a Float64Array for `double` is wrapped without copying; an Arrow vector already of
 * the result type is returned as is; typed arrays are cast with typed-array constructors; only
 * row-object and nested outputs pay a per-row cost.
 *
 * @module
 */
import {
  Field,
  List,
  Map_,
  Struct,
  Type,
  Utf8,
  isArrowRecordBatch,
  isArrowTable,
  isArrowVector,
  makeData,
  makeVector,
} from 'apache-arrow';
import type { Bool, Data, DataType, Float64, Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { formatResultType, primitiveArrowType, resultTypeToArrow } from './result-type.js';
import type { ResultPrimitive, ResultType } from './result-type.js';

type TypedArray =
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
type Dtype =
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

interface OutColumn {
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

const INTS: readonly Dtype[] = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
];

function outputError(message: string, details: Record<string, unknown> = {}): ModelError {
  return new ModelError('E_MODEL_OUTPUT', message, { details });
}

// ---------------------------------------------------------------------------------------------
// Normalising the output into columns

function isTyped(x: unknown): x is TypedArray {
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
      `${describe(x)}.`,
    { column: name }
  );
}

function describe(x: unknown): string {
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

/** MLflow's `pd.DataFrame(result)`: the output as a list of named columns. */
function toColumns(output: unknown): OutColumn[] {
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

/** A single column of row arrays (a 2-D array) read as one column per position, as pandas does. */
function expandMatrix(cols: OutColumn[]): OutColumn[] {
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

// ---------------------------------------------------------------------------------------------
// Column selection (MLflow select_dtypes)

function compatible(c: OutColumn, t: ResultPrimitive): boolean {
  const d = c.dtype;
  if (d === 'null' || t === 'string') return true;
  switch (t) {
    case 'int':
      return (
        ['int8', 'uint8', 'int16', 'uint16', 'int32'].includes(d) ||
        (d === 'number' && c.int32 === true)
      );
    case 'long':
      return (
        ['int8', 'uint8', 'int16', 'uint16', 'int64'].includes(d) ||
        (d === 'number' && c.safe === true)
      );
    case 'float':
    case 'double':
      return (
        INTS.includes(d) || d === 'float16' || d === 'float32' || d === 'float64' || d === 'number'
      );
    case 'boolean':
      return d === 'bool';
  }
}

function noneCompatible(t: ResultType, cols: OutColumn[]): ModelError {
  const what = formatResultType(t);
  return outputError(
    `The model did not produce any values compatible with the requested type '${what}'. ` +
      `Consider requesting udf with string or array<string>. Output columns: ` +
      `${cols.map((c) => `${c.name} (${c.dtype})`).join(', ') || '(none)'}.`,
    { resultType: what, columns: cols.map((c) => ({ name: c.name, dtype: c.dtype })) }
  );
}

// ---------------------------------------------------------------------------------------------
// Building Arrow data

const encoder = new TextEncoder();

function bitmap(n: number): Uint8Array {
  return new Uint8Array((n + 7) >> 3);
}

class Validity {
  readonly bits: Uint8Array;
  nulls = 0;
  constructor(n: number) {
    this.bits = bitmap(n).fill(0xff);
  }
  setNull(i: number): void {
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }
  props(): { nullCount: number; nullBitmap?: Uint8Array } {
    return this.nulls === 0 ? { nullCount: 0 } : { nullCount: this.nulls, nullBitmap: this.bits };
  }
}

function f32String(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = +x.toPrecision(p);
    if (Math.fround(s) === x) return String(s);
  }
  return String(x);
}

function stringify(v: unknown, fromFloat32: boolean): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return fromFloat32 ? f32String(v) : String(v);
    case 'bigint':
    case 'boolean':
      return String(v);
    default:
      if (v instanceof Date) return v.toISOString();
      return (
        JSON.stringify(v, (_k, x: unknown) =>
          typeof x === 'bigint'
            ? x.toString()
            : isTyped(x)
              ? Array.from(x as ArrayLike<unknown>)
              : x instanceof Map
                ? Object.fromEntries(x)
                : x
        ) ?? String(v)
      );
  }
}

/** Converts one value to a primitive of `t`, strictly; null for missing values. */
function convertValue(
  v: unknown,
  t: ResultPrimitive,
  where: () => string,
  fromFloat32 = false
): unknown {
  if (v === null || v === undefined) return null;
  const bad = (): never => {
    throw outputError(
      `${where()}: expected ${t === 'long' ? 'bigint' : t}, found ${describeValue(v)}.`
    );
  };
  switch (t) {
    case 'string':
      return stringify(v, fromFloat32);
    case 'boolean':
      return typeof v === 'boolean' ? v : bad();
    case 'float':
    case 'double':
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad();
    case 'int':
      if (typeof v === 'bigint') v = Number(v);
      if (typeof v !== 'number') return bad();
      if (Number.isNaN(v)) return null;
      return Number.isInteger(v) && v <= 2147483647 && v >= -2147483648 ? v : bad();
    case 'long':
      if (typeof v === 'bigint') return v >= -(2n ** 63n) && v < 2n ** 63n ? v : bad();
      if (typeof v !== 'number') return bad();
      if (Number.isNaN(v)) return null;
      return Number.isSafeInteger(v) ? BigInt(v) : bad();
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return `${typeof v} ${String(v)}`;
  return describe(v);
}

/** Vectorized casts of a null-free typed array; undefined when there is no safe fast cast. */
function castTyped(a: TypedArray, t: ResultPrimitive): TypedArray | undefined {
  const big = a instanceof BigInt64Array || a instanceof BigUint64Array;
  switch (t) {
    case 'double':
      return a instanceof Float64Array
        ? a
        : big
          ? Float64Array.from(a as BigInt64Array, Number)
          : new Float64Array(a as Float32Array);
    case 'float':
      return a instanceof Float32Array
        ? a
        : big
          ? Float32Array.from(a as BigInt64Array, Number)
          : new Float32Array(a as Float64Array);
    case 'int':
      if (a instanceof Int32Array) return a;
      return a instanceof Int8Array ||
        a instanceof Uint8Array ||
        a instanceof Uint8ClampedArray ||
        a instanceof Int16Array ||
        a instanceof Uint16Array
        ? new Int32Array(a)
        : undefined;
    case 'long':
      if (a instanceof BigInt64Array) return a;
      return a instanceof Int8Array ||
        a instanceof Uint8Array ||
        a instanceof Uint8ClampedArray ||
        a instanceof Int16Array ||
        a instanceof Uint16Array ||
        a instanceof Int32Array ||
        a instanceof Uint32Array
        ? BigInt64Array.from(a as Int32Array, (x) => BigInt(x))
        : undefined;
    default:
      return undefined;
  }
}

/** Builds primitive data of `t` from `n` values read by `get` (the slow, per-value path). */
function primitiveData(
  t: ResultPrimitive,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string,
  fromFloat32: boolean | ((i: number) => boolean) = false
): Data {
  const type = primitiveArrowType(t);
  const valid = new Validity(n);
  if (t === 'string') {
    const strs: (string | null)[] = new Array(n);
    let max = 0;
    for (let i = 0; i < n; i++) {
      const f32 = typeof fromFloat32 === 'function' ? fromFloat32(i) : fromFloat32;
      const s = convertValue(get(i), t, () => where(i), f32) as string | null;
      strs[i] = s;
      if (s === null) valid.setNull(i);
      else max += s.length * 3;
    }
    const bytes = new Uint8Array(max);
    const offsets = new Int32Array(n + 1);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const s = strs[i];
      if (s !== null && s !== undefined && s.length > 0)
        pos += encoder.encodeInto(s, bytes.subarray(pos)).written;
      offsets[i + 1] = pos;
    }
    return makeData({
      type: type as Utf8,
      length: n,
      ...valid.props(),
      valueOffsets: offsets,
      data: bytes.subarray(0, pos),
    });
  }
  if (t === 'boolean') {
    const bits = bitmap(n);
    for (let i = 0; i < n; i++) {
      const b = convertValue(get(i), t, () => where(i));
      if (b === null) valid.setNull(i);
      else if (b === true) bits[i >> 3]! |= 1 << (i & 7);
    }
    return makeData({ type: type as Bool, length: n, ...valid.props(), data: bits });
  }
  const values =
    t === 'double'
      ? new Float64Array(n)
      : t === 'float'
        ? new Float32Array(n)
        : t === 'int'
          ? new Int32Array(n)
          : new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const x = convertValue(get(i), t, () => where(i));
    if (x === null) valid.setNull(i);
    else (values as { [k: number]: unknown })[i] = x;
  }
  return makeData({
    type: type as Float64,
    length: n,
    ...valid.props(),
    data: values as Float64Array,
  });
}

/** Converts a whole output column to primitive data of `t` (fast paths first). */
function columnToPrimitive(c: OutColumn, t: ResultPrimitive, label: string): Data {
  const where = (i: number): string => `${label} row ${i}`;
  if (c.typed !== undefined && t !== 'string' && t !== 'boolean') {
    const cast = castTyped(c.typed, t);
    if (cast !== undefined)
      return makeData({
        type: primitiveArrowType(t) as Float64,
        length: cast.length,
        nullCount: 0,
        data: cast as Float64Array,
      });
  }
  if (c.dtype === 'number' && (t === 'double' || t === 'float')) {
    // Plain JS numbers (already classified): one tight loop, nulls into the bitmap.
    const n = c.length;
    const out = t === 'double' ? new Float64Array(n) : new Float32Array(n);
    const valid = new Validity(n);
    for (let i = 0; i < n; i++) {
      const v = c.get(i) as number | null | undefined;
      if (v === null || v === undefined) valid.setNull(i);
      else out[i] = v;
    }
    return makeData({
      type: primitiveArrowType(t) as Float64,
      length: n,
      ...valid.props(),
      data: out as Float64Array,
    });
  }
  return primitiveData(t, c.length, c.get, where, c.dtype === 'float32');
}

function sameArrowType(v: Vector, t: DataType): boolean {
  return String(v.type) === String(t);
}

/** Per-row values of a nested result type, converted recursively. */
function nestedData(
  rt: ResultType,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  switch (rt.kind) {
    case 'primitive':
      return primitiveData(rt.type, n, get, where);
    case 'array':
      return listData(rt, n, get, where);
    case 'struct':
      return structRows(rt, n, get, where);
    case 'map':
      return mapData(rt, n, get, where);
  }
}

/** The items of one array-typed row: null for a null or NaN row (MLflow #8986). */
function rowItems(v: unknown, where: () => string, rt: ResultType): ArrayLike<unknown> | null {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
  if (Array.isArray(v) || isTyped(v)) return v as ArrayLike<unknown>;
  if (isArrowVector(v)) {
    const arr: unknown = v.toArray();
    return isTyped(arr) && v.nullCount === 0 ? arr : Array.from(v as Vector);
  }
  throw outputError(
    `${where()}: expected an array for ${formatResultType(rt)}, found ${describeValue(v)}.`
  );
}

function listData(
  rt: Extract<ResultType, { kind: 'array' }>,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  const valid = new Validity(n);
  const offsets = new Int32Array(n + 1);
  const rows: (ArrayLike<unknown> | null)[] = new Array(n);
  let total = 0;
  let allTyped = true;
  for (let i = 0; i < n; i++) {
    const items = rowItems(get(i), () => where(i), rt);
    rows[i] = items;
    if (items === null) valid.setNull(i);
    else {
      total += items.length;
      if (!isTyped(items)) allTyped = false;
    }
    offsets[i + 1] = total;
  }
  let child: Data | undefined;
  const el = rt.element;
  if (allTyped && el.kind === 'primitive') {
    // Fast path: rows of typed arrays concatenated with TypedArray.set when the cast is safe.
    const probe = rows.find((r) => r !== null) as TypedArray | undefined;
    const target = probe === undefined ? undefined : castTyped(probe.subarray(0, 0), el.type);
    if (target !== undefined) {
      const Ctor = target.constructor as { new (n: number): TypedArray };
      const out = new Ctor(total);
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        const r = rows[i] as TypedArray | null;
        if (r === null) continue;
        const cast = castTyped(r, el.type);
        if (cast === undefined || cast.constructor !== Ctor) ok = false;
        else (out as Float64Array).set(cast as Float64Array, offsets[i]);
      }
      if (ok)
        child = makeData({
          type: primitiveArrowType(el.type) as Float64,
          length: total,
          nullCount: 0,
          data: out as Float64Array,
        });
    }
  }
  if (child === undefined) {
    const flat: unknown[] = new Array(total);
    const rowOf = new Int32Array(total);
    for (let i = 0, k = 0; i < n; i++) {
      const r = rows[i];
      if (r === null || r === undefined) continue;
      for (let j = 0; j < r.length; j++, k++) {
        flat[k] = r[j];
        rowOf[k] = i;
      }
    }
    child = nestedData(
      el,
      total,
      (k) => flat[k],
      (k) => `${where(rowOf[k] ?? 0)} element ${k - (offsets[rowOf[k] ?? 0] ?? 0)}`
    );
  }
  return makeData({
    type: new List(new Field('element', child.type, true)),
    length: n,
    ...valid.props(),
    valueOffsets: offsets,
    child,
  });
}

function structOf(rt: Extract<ResultType, { kind: 'struct' }>, children: Data[]): Struct {
  return new Struct(rt.fields.map((f, i) => new Field(f.name, (children[i] as Data).type, true)));
}

function structRows(
  rt: Extract<ResultType, { kind: 'struct' }>,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  const valid = new Validity(n);
  const rows: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    rows[i] = v;
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)))
      valid.setNull(i);
    else if (typeof v !== 'object') {
      throw outputError(
        `${where(i)}: expected an object or tuple for ${formatResultType(rt)}, found ${describeValue(v)}.`
      );
    }
  }
  const children = rt.fields.map((f, j) =>
    nestedData(
      f.type,
      n,
      (i) => {
        const r = rows[i] as
          Record<string, unknown> | unknown[] | Map<string, unknown> | null | undefined;
        if (r === null || r === undefined || typeof r !== 'object') return null;
        if (Array.isArray(r)) return r[j];
        if (r instanceof Map) return r.get(f.name);
        return (r as Record<string, unknown>)[f.name];
      },
      (i) => `${where(i)} field '${f.name}'`
    )
  );
  return makeData({ type: structOf(rt, children), length: n, ...valid.props(), children });
}

function mapEntries(v: unknown): [string, unknown][] | null | undefined {
  if (v === null || v === undefined) return null;
  if (v instanceof Map) return [...v].map(([k, x]) => [String(k), x]);
  if (typeof v === 'object' && !Array.isArray(v) && !isTyped(v)) {
    const toJSON = (v as { toJSON?: () => unknown }).toJSON;
    const obj = typeof toJSON === 'function' ? toJSON.call(v) : v;
    if (typeof obj === 'object' && obj !== null)
      return Object.entries(obj as Record<string, unknown>);
  }
  return undefined;
}

function mapData(
  rt: Extract<ResultType, { kind: 'map' }>,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  const valid = new Validity(n);
  const offsets = new Int32Array(n + 1);
  const keys: string[] = [];
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = get(i);
    const entries = mapEntries(v);
    if (entries === undefined)
      throw outputError(
        `${where(i)}: expected an object or Map for ${formatResultType(rt)}, found ${describeValue(v)}.`
      );
    if (entries === null) valid.setNull(i);
    else {
      for (const [k, x] of entries) {
        keys.push(k);
        values.push(x);
      }
    }
    offsets[i + 1] = keys.length;
  }
  const keyData = primitiveData(
    'string',
    keys.length,
    (k) => keys[k],
    () => 'map key'
  );
  const valueData = nestedData(
    rt.value,
    values.length,
    (k) => values[k],
    (k) => `${where(0)} map value '${keys[k]}'`
  );
  const entryType = new Struct([
    new Field('key', keyData.type, false),
    new Field('value', valueData.type, true),
  ]);
  const entries = makeData({
    type: entryType,
    length: keys.length,
    nullCount: 0,
    children: [keyData, valueData],
  });
  return makeData({
    type: new Map_(new Field('entries', entryType, false), false),
    length: n,
    ...valid.props(),
    valueOffsets: offsets,
    child: entries,
  });
}

// ---------------------------------------------------------------------------------------------
// Entry point

/**
 * Converts a model's `predict` output for one batch into ONE Arrow vector of the result type,
 * following MLflow `spark_udf` rules (see the module documentation for the full table).
 *
 * @param output - what `predict` returned: a typed array, a plain array (values, row arrays or
 *   row objects), an Arrow Vector / Table / RecordBatch, an object of columns, a danfo Series
 *   or DataFrame, or a scalar (a one-row result).
 * @param rt - the result type, from `parseResultType` or `inferResultType`.
 * @param numRows - the number of rows in the input batch; the result must have exactly as many.
 * @returns a vector whose type equals `resultTypeToArrow(rt)` and whose length is `numRows`.
 * @throws {ModelError} E_MODEL_OUTPUT when the output has the wrong number of rows
 *   (`model returned 9 rows for a batch of 10`), has no column compatible with a primitive
 *   result type, lacks a struct field, or holds a value that cannot convert (for example 1.5
 *   for an int field).
 */
export function toResultVector(output: unknown, rt: ResultType, numRows: number): Vector {
  // A map result is one map per row; a plain array is per-row already, so do not split rows
  // into columns.
  if (rt.kind === 'map' && Array.isArray(output)) {
    checkLength(output.length, numRows);
    return makeVector(
      mapData(
        rt,
        numRows,
        (i) => output[i],
        (i) => `Model output row ${i}`
      )
    );
  }
  const cols = toColumns(output);
  for (const c of cols) checkLength(c.length, numRows, cols.length > 1 ? c.name : undefined);
  if (cols.length === 0 && numRows > 0) {
    throw outputError(`The model returned no columns for a batch of ${numRows} rows.`, {
      rows: 0,
      expected: numRows,
    });
  }
  const label = (c: OutColumn): string => `Model output column '${c.name}'`;

  switch (rt.kind) {
    case 'primitive': {
      const candidates = expandMatrix(cols);
      const c = candidates.find((x) => compatible(x, rt.type));
      if (c === undefined) throw noneCompatible(rt, candidates);
      const type = primitiveArrowType(rt.type);
      if (c.vector !== undefined && sameArrowType(c.vector, type)) return c.vector;
      return makeVector(columnToPrimitive(c, rt.type, label(c)));
    }
    case 'array': {
      const el = rt.element;
      const listCol = cols.length === 1 ? cols[0] : undefined;
      if (el.kind !== 'primitive') {
        const c = cols.find((x) => x.dtype === 'nested') ?? cols[0];
        if (c === undefined) throw noneCompatible(rt, cols);
        if (c.vector !== undefined && sameArrowType(c.vector, resultTypeToArrow(rt)))
          return c.vector;
        return makeVector(listData(rt, numRows, c.get, (i) => `${label(c)} row ${i}`));
      }
      if (
        listCol !== undefined &&
        (listCol.dtype === 'nested' || (listCol.dtype === 'null' && numRows > 0))
      ) {
        if (listCol.vector !== undefined && sameArrowType(listCol.vector, resultTypeToArrow(rt)))
          return listCol.vector;
        return makeVector(listData(rt, numRows, listCol.get, (i) => `${label(listCol)} row ${i}`));
      }
      const selected = cols.filter((x) => compatible(x, el.type));
      if (selected.length === 0) throw noneCompatible(el, cols);
      return makeVector(rowsOfColumns(selected, el.type, numRows));
    }
    case 'struct': {
      const byName = new Map(cols.map((c) => [c.name, c] as const));
      const children = rt.fields.map((f) => {
        const c = byName.get(f.name);
        if (c === undefined) {
          throw outputError(
            `Model output has no column '${f.name}' for field '${f.name}' of result type ` +
              `${formatResultType(rt)}. Available columns: ${cols.map((x) => x.name).join(', ') || '(none)'}.`,
            { field: f.name, available: cols.map((x) => x.name) }
          );
        }
        const fieldLabel = `Model output field '${f.name}'`;
        if (f.type.kind === 'primitive') return columnToPrimitive(c, f.type.type, fieldLabel);
        return nestedData(f.type, numRows, c.get, (i) => `${fieldLabel} row ${i}`);
      });
      return makeVector(
        makeData({ type: structOf(rt, children), length: numRows, nullCount: 0, children })
      );
    }
    case 'map': {
      const c = cols.find((x) => x.dtype === 'nested') ?? cols[0];
      if (c === undefined) throw noneCompatible(rt, cols);
      return makeVector(mapData(rt, numRows, c.get, (i) => `${label(c)} row ${i}`));
    }
  }
}

/** MLflow's array<prim> from several columns: each row's compatible columns, in order. */
function rowsOfColumns(cols: OutColumn[], t: ResultPrimitive, n: number): Data {
  const k = cols.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = i * k;
  let child: Data | undefined;
  if (t !== 'string' && t !== 'boolean') {
    const casts = cols.map((c) => (c.typed === undefined ? undefined : castTyped(c.typed, t)));
    if (casts.every((x) => x !== undefined)) {
      const Ctor = (casts[0] as TypedArray).constructor as { new (n: number): TypedArray };
      const out = new Ctor(n * k) as Float64Array;
      casts.forEach((a, j) => {
        const src = a as Float64Array;
        for (let i = 0; i < n; i++) out[i * k + j] = src[i] as number;
      });
      child = makeData({
        type: primitiveArrowType(t) as Float64,
        length: n * k,
        nullCount: 0,
        data: out,
      });
    }
  }
  child ??= primitiveData(
    t,
    n * k,
    (x) => (cols[x % k] as OutColumn).get(Math.floor(x / k)),
    (x) => `Model output column '${(cols[x % k] as OutColumn).name}' row ${Math.floor(x / k)}`,
    (x) => (cols[x % k] as OutColumn).dtype === 'float32'
  );
  return makeData({
    type: new List(new Field('element', child.type, true)),
    length: n,
    nullCount: 0,
    valueOffsets: offsets,
    child,
  });
}

function checkLength(rows: number, numRows: number, column?: string): void {
  if (rows !== numRows) {
    throw outputError(
      `The model returned ${rows} rows for a batch of ${numRows}` +
        (column === undefined ? '.' : ` (output column '${column}').`),
      { rows, expected: numRows, ...(column === undefined ? {} : { column }) }
    );
  }
}
