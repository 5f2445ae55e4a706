/**
 * danfo.js DataFrame / Series <-> Arrow, column by column.
 *
 * danfo objects are recognised by shape (`$columns`, `$dtypes`, `$isSeries`), so this module
 * never imports danfo to check an input. danfojs-node itself is loaded lazily, on the first call
 * that has to *build* a danfo object, with `createRequire` (it is a CommonJS package): a
 * synchronous lazy load keeps `tableToDanfo` synchronous, and the core never pays for danfo's
 * import (which pulls tfjs) unless danfo output is asked for.
 *
 * dtype mapping (danfo -> Arrow): `float32` -> Float64 (danfo's "float32" columns hold JS
 * doubles, so Float64 keeps every value), `int32` -> Int32, `string` -> Utf8, `boolean` -> Bool,
 * `datetime` -> TimestampMillisecond. Missing values: danfo marks them with `null`, `undefined`
 * or (in numeric columns) `NaN`; all three become Arrow nulls.
 *
 * Arrow -> danfo: Int8/16/32 and Uint8/16 -> `int32`; other numbers (Int64, Uint32/64,
 * Float16/32/64) -> `float32` (as JS numbers); Bool -> `boolean`; Utf8, LargeUtf8 and
 * dictionary-encoded strings -> `string`; Timestamp/Date -> `datetime` (Date objects). Arrow
 * nulls become `NaN` in numeric columns (danfo's missing marker there) and `null` otherwise.
 *
 * ## Speed (the dataframe path was 933 of 938 ms of a trivial model's danfo `withColumn`)
 * - danfo -> Arrow reads each column from the frame's column-format cache
 *   (`$dataIncolumnFormat`, kept by danfo whenever `lowMemoryMode` is off) instead of
 *   `df.column(name)`, which copies the whole index and builds a Series per call (~80 ms per
 *   200K-row column); in low-memory mode it asks danfo for the bare column array. Numeric
 *   columns are written in one pass into typed arrays allocated over a `SharedArrayBuffer`, so
 *   they cross to UDF workers without another copy.
 * - Arrow -> danfo builds the row-major arrays danfo stores (`$data`) in one transpose and hands
 *   danfo the column arrays it already has as its column cache: the frame is constructed with
 *   `lowMemoryMode: true` (so danfo skips its own transpose back to columns), then the mode is
 *   switched off and the cache filled. The public constructor still validates names and dtypes
 *   and builds the index. Measured on 200K x 10 float columns: 40-50 ms vs 130-150 ms for
 *   `new DataFrame({col: values})` and 110-180 ms for `new DataFrame(rows)`.
 *
 * @module
 */
import { createRequire } from 'node:module';
import {
  Bool,
  DataType,
  Float64,
  Int32,
  Table,
  TimestampMillisecond,
  Utf8,
  Vector,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeName } from '../signature/arrow-types.js';
import { parseIsoDatetime } from '../signature/iso-datetime.js';
import { adoptTable, adoptVector } from './arrow-guards.js';

/**
 * A danfo.js DataFrame as jsfunc's public types describe it: the public members jsfunc reads,
 * by shape. danfojs-node is an optional peer dependency, so jsfunc's declarations never import
 * its types (a project without danfo compiles against jsfunc with `skipLibCheck: false`). A
 * danfojs-node `DataFrame` is a `DanfoDataFrame`; the frames jsfunc returns are danfojs-node
 * `DataFrame`s, to type as one with `as DataFrame` (`import type { DataFrame } from
 * 'danfojs-node'`) for danfo's full API.
 */
export interface DanfoDataFrame {
  /** `false` for a DataFrame. */
  readonly $isSeries: boolean;
  /** Column names, in order. */
  readonly columns: string[];
  /** danfo dtypes (`float32`, `int32`, `string`, `boolean`, `datetime`), one per column. */
  readonly dtypes: string[];
  /** `[rows, columns]`. */
  readonly shape: number[];
  /** Row labels. */
  readonly index: (string | number)[];
  /** The values, row-major (one array per row). */
  readonly values: unknown;
  /** One column as a Series. */
  column(name: string): DanfoSeries;
}

/**
 * A danfo.js Series as jsfunc's public types describe it (see {@link DanfoDataFrame}): a
 * danfojs-node `Series` is one; the Series jsfunc returns are danfojs-node `Series`.
 */
export interface DanfoSeries {
  /** `true` for a Series. */
  readonly $isSeries: boolean;
  /** The Series name, in a list. */
  readonly columns: string[];
  /** The one dtype, in a list. */
  readonly dtypes: string[];
  /** `[rows, 1]`. */
  readonly shape: number[];
  /** Row labels. */
  readonly index: (string | number)[];
  /** The values, in row order. */
  readonly values: unknown;
}

/** The parts of the danfojs-node module used to build frames (loaded lazily). */
interface DanfoModule {
  DataFrame: new (data: unknown, options?: Record<string, unknown>) => DanfoDataFrame;
  Series: new (data: unknown, options?: Record<string, unknown>) => DanfoSeries;
}

let danfoModule: DanfoModule | undefined;

/** Loads danfojs-node on first use (synchronously; see the module doc for why). */
function danfo(): DanfoModule {
  if (danfoModule === undefined) {
    try {
      danfoModule = createRequire(import.meta.url)('danfojs-node') as DanfoModule;
    } catch (cause) {
      // An optional peer dependency: only users who hand jsfunc danfo objects need it.
      throw new ModelError(
        'E_INPUT_INVALID',
        'Converting to a danfo DataFrame needs the optional peer dependency danfojs-node: npm install danfojs-node',
        { details: { package: 'danfojs-node' }, cause }
      );
    }
  }
  return danfoModule;
}

type Shape = Record<string, unknown>;

/**
 * True for a danfo.js DataFrame (from any danfo copy), recognised by shape: `$columns` and
 * `$dtypes` arrays, `$isSeries === false` and a `column` method.
 * @param x - any value
 * @returns whether `x` is a danfo DataFrame
 */
export function isDanfoFrame(x: unknown): x is DanfoDataFrame {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Shape;
  return (
    s['$isSeries'] === false &&
    Array.isArray(s['$columns']) &&
    Array.isArray(s['$dtypes']) &&
    typeof s['column'] === 'function'
  );
}

/**
 * True for a danfo.js Series, recognised by shape (`$isSeries === true`, `$dtypes` array).
 * @param x - any value
 * @returns whether `x` is a danfo Series
 */
export function isDanfoSeries(x: unknown): x is DanfoSeries {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Shape;
  return s['$isSeries'] === true && Array.isArray(s['$dtypes']);
}

/** The columns of a danfo DataFrame as plain arrays, with their danfo dtypes. */
export interface DanfoColumns {
  names: string[];
  dtypes: string[];
  values: unknown[][];
}

/**
 * Reads a danfo DataFrame column by column (no row objects or Series are built). The arrays
 * may be danfo's own column cache: read them, do not modify them.
 * @param df - a danfo DataFrame
 * @returns column names, danfo dtypes and the value arrays
 */
export function danfoColumns(df: DanfoDataFrame): DanfoColumns {
  const frame = df as unknown as FrameInternals;
  const names = frame.$columns.map(String);
  const dtypes = frame.$dtypes.map(String);
  const rows = Array.isArray(frame.$data) ? frame.$data.length : undefined;
  const cache = frame.$dataIncolumnFormat;
  // The column cache is authoritative only when danfo keeps it (not in low-memory mode) and its
  // shape matches; otherwise ask danfo for each bare column (no Series, no index copy).
  const cached =
    frame.$config?.isLowMemoryMode !== true &&
    Array.isArray(cache) &&
    cache.length === names.length &&
    cache.every((c) => Array.isArray(c) && (rows === undefined || c.length === rows));
  const values = names.map((n, j) => {
    if (cached) return cache[j] as unknown[];
    if (typeof frame.$getColumnData === 'function')
      return Array.from(frame.$getColumnData(n, false) as ArrayLike<unknown>);
    return Array.from(frame.column(n).values as ArrayLike<unknown>);
  });
  return { names, dtypes, values };
}

/** The danfo 1.x DataFrame internals this module reads and fills (danfojs-node 1.2.0). */
interface FrameInternals {
  $columns: string[];
  $dtypes: string[];
  $data?: unknown[][];
  $dataIncolumnFormat?: unknown[][];
  $config?: { isLowMemoryMode?: boolean; setIsLowMemoryMode?(on: boolean): void };
  $getColumnData?(name: string, returnSeries: false): ArrayLike<unknown>;
  column(name: string): { values: unknown };
}

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * A fixed-width numeric vector from JS numbers, with a validity bitmap for missing values. Both
 * live in a SharedArrayBuffer: a UDF sends them to its workers without copying.
 */
function numericVector(values: unknown[], kind: 'int32' | 'float64', column: string): Vector {
  const n = values.length;
  const data =
    kind === 'int32'
      ? new Int32Array(new SharedArrayBuffer(n * 4))
      : new Float64Array(new SharedArrayBuffer(n * 8));
  const bitmap = new Uint8Array(new SharedArrayBuffer((n + 7) >> 3));
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isMissing(v)) {
      nulls++;
      continue;
    }
    if (
      typeof v !== 'number' ||
      (kind === 'int32' && (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31))
    ) {
      throw new ModelError(
        'E_INPUT_INVALID',
        `danfo column ${column} (dtype ${kind === 'int32' ? 'int32' : 'float32'}) holds ${JSON.stringify(String(v))} at row ${i}, ` +
          `which is not ${kind === 'int32' ? 'a 32-bit integer' : 'a number'}.`,
        { details: { column, row: i } }
      );
    }
    data[i] = v;
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const type = kind === 'int32' ? new Int32() : new Float64();
  return new Vector([
    makeData({
      type,
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data,
    } as never),
  ]);
}

function normalize(values: unknown[]): unknown[] {
  return values.map((v) => (isMissing(v) ? null : v));
}

/**
 * Converts one danfo column to an Arrow vector by its danfo dtype.
 * @throws {ModelError} E_INPUT_INVALID when a value does not fit the dtype
 */
function danfoColumnToVector(name: string, dtype: string, values: unknown[]): Vector {
  switch (dtype) {
    case 'float32':
      return numericVector(values, 'float64', name);
    case 'int32':
      return numericVector(values, 'int32', name);
    case 'string':
      return vectorFromArray(
        normalize(values).map((v) => (v === null ? null : String(v))),
        new Utf8()
      );
    case 'boolean':
      return vectorFromArray(normalize(values) as (boolean | null)[], new Bool());
    case 'datetime':
      return vectorFromArray(
        normalize(values).map((v) => (v === null ? null : v instanceof Date ? v : toDate(v))),
        new TimestampMillisecond()
      );
    default:
      throw new ModelError(
        'E_INPUT_INVALID',
        `danfo column ${name} has unsupported dtype ${dtype}.`,
        {
          details: { column: name, dtype },
        }
      );
  }
}

/**
 * Converts a danfo DataFrame to an Arrow Table, column by column (see the module doc for the
 * dtype mapping and missing values).
 * @param df - a danfo DataFrame
 * @returns a Table with one column per DataFrame column, in order
 * @throws {ModelError} E_INPUT_INVALID for an unsupported dtype or a value that does not fit it
 */
export function danfoToTable(df: DanfoDataFrame): Table {
  const { names, dtypes, values } = danfoColumns(df);
  const columns = names.map((n, i) => danfoColumnToVector(n, dtypes[i]!, values[i]!));
  return tableFromVectors(names, columns);
}

/** A Table from named vectors, keeping the given column order (even for numeric-like names). */
export function tableFromVectors(names: readonly string[], vectors: readonly Vector[]): Table {
  const record: Record<string, Vector> = {};
  names.forEach((n, i) => (record[n] = vectors[i]!));
  const table = new Table(record);
  return table.select([...names]);
}

interface DanfoColumn {
  dtype: 'int32' | 'float32' | 'string' | 'boolean' | 'datetime';
  values: unknown[];
}

function vectorToDanfoColumn(vector: Vector, name: string): DanfoColumn {
  const type = vector.type;
  const n = vector.length;
  const hasNulls = vector.nullCount > 0;
  if (DataType.isInt(type) || DataType.isFloat(type)) {
    // int32 holds Int8/16/32 and Uint8/16 exactly; wider integers and floats become float32.
    const small =
      DataType.isInt(type) && (type.isSigned ? type.bitWidth <= 32 : type.bitWidth <= 16);
    const values = new Array<number>(n);
    if (!hasNulls && (small || (DataType.isFloat(type) && type.precision > 0))) {
      const arr = vector.toArray() as ArrayLike<number>;
      for (let i = 0; i < n; i++) values[i] = arr[i]!;
    } else {
      let i = 0;
      for (const v of vector) values[i++] = v === null ? NaN : Number(v);
    }
    return { dtype: small ? 'int32' : 'float32', values };
  }
  if (DataType.isBool(type)) return { dtype: 'boolean', values: Array.from(vector) };
  if (
    DataType.isUtf8(type) ||
    DataType.isLargeUtf8(type) ||
    (DataType.isDictionary(type) &&
      (DataType.isUtf8(type.dictionary) || DataType.isLargeUtf8(type.dictionary)))
  ) {
    return { dtype: 'string', values: Array.from(vector) };
  }
  if (DataType.isTimestamp(type) || DataType.isDate(type)) {
    return {
      dtype: 'datetime',
      values: Array.from(vector, (v) => (v === null ? null : new Date(Number(v)))),
    };
  }
  throw new ModelError(
    'E_INPUT_INVALID',
    `Column ${name} has Arrow type ${arrowTypeName(type)}, which danfo cannot hold (supported: numbers, booleans, strings, timestamps).`,
    { details: { column: name, type: arrowTypeName(type) } }
  );
}

/**
 * Converts an Arrow Table to a danfo DataFrame, column by column (loads danfojs-node on first
 * use).
 * @param table - an Arrow Table (any Arrow copy)
 * @returns a DataFrame with the same columns, in order, and mapped dtypes
 * @throws {ModelError} E_INPUT_INVALID for a column type danfo cannot hold (List, Struct, Binary, ...)
 */
export function tableToDanfo(table: Table): DanfoDataFrame {
  const t = adoptTable(table);
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n, i) => vectorToDanfoColumn(t.getChildAt(i)!, n));
  const { DataFrame: Frame } = danfo();
  const dtypes = cols.map((c) => c.dtype);
  if (t.numRows === 0 || names.length === 0) return new Frame([], { columns: names, dtypes });
  // danfo stores rows ($data) AND, outside low-memory mode, columns ($dataIncolumnFormat).
  // We have the columns: build the rows once, let the constructor skip its transpose back
  // (low-memory mode), then switch the mode off and give it our columns as its cache.
  const n = t.numRows;
  const m = cols.length;
  const rows = new Array<unknown[]>(n);
  for (let i = 0; i < n; i++) {
    const row = new Array<unknown>(m);
    for (let j = 0; j < m; j++) row[j] = cols[j]!.values[i];
    rows[i] = row;
  }
  const df = new Frame(rows, { columns: names, dtypes, config: { lowMemoryMode: true } });
  const frame = df as unknown as FrameInternals;
  // Another danfo build without this setter: construct the ordinary way (danfo transposes).
  if (typeof frame.$config?.setIsLowMemoryMode !== 'function')
    return new Frame(rows, { columns: names, dtypes });
  frame.$config.setIsLowMemoryMode(false);
  frame.$dataIncolumnFormat = cols.map((c) => c.values);
  return df;
}

/**
 * Converts an Arrow Vector to a danfo Series (loads danfojs-node on first use).
 * @param vector - an Arrow Vector (any Arrow copy)
 * @param name - the Series name; danfo's default (`"0"`) when omitted
 * @returns a Series with the mapped dtype
 * @throws {ModelError} E_INPUT_INVALID for a type danfo cannot hold
 */
export function vectorToDanfoSeries(vector: Vector, name?: string): DanfoSeries {
  const v = adoptVector(vector);
  const col = vectorToDanfoColumn(v, name ?? '0');
  const { Series: SeriesCtor } = danfo();
  return new SeriesCtor(col.values, {
    dtypes: [col.dtype],
    ...(name === undefined ? {} : { columns: [name] }),
  });
}

/** ISO text without a zone is UTC (numpy's naive datetimes), never the process's local time. */
function toDate(v: unknown): Date {
  if (typeof v === 'string') return parseIsoDatetime(v) ?? new Date(v);
  return new Date(v as number);
}
