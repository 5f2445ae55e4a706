/**
 * Polars (`nodejs-polars`) DataFrames and LazyFrames <-> Arrow.
 *
 * nodejs-polars is an optional peer dependency: frames are recognised by shape
 * (`Symbol.toStringTag` `DataFrame` / `LazyDataFrame` plus their methods) and read through their
 * own methods; the package itself is imported (lazily, once) only to build results.
 *
 * ## In (Polars -> Arrow)
 * - numeric columns without nulls (Int8..64, UInt8..64, Float32/64) are read with
 *   `Series.toTypedArray()` (one native copy) and viewed as Arrow vectors;
 * - every other column goes through Arrow IPC (`df.select(rest).writeIPC()`, read with
 *   `tableFromIPC`, which views the buffer), then Polars' `Utf8View`/`BinaryView` are rewritten
 *   as `Utf8`/`Binary` (`view-types.ts`): Polars strings, categoricals and binaries arrive as the
 *   types jsfunc carries. Dates, datetimes (their unit and zone), decimals, lists (LargeList),
 *   structs and nulls keep their Arrow types.
 * Why not IPC for everything: writing 1M rows x 10 Float64 columns (80 MB) through `writeIPC`
 * took 230-360 ms here, against 21-50 ms for the ten `toTypedArray` copies.
 *
 * ## Out (Arrow -> Polars)
 * Results go through Arrow IPC (`tableToIPC(..., 'file')` then `pl.readIPC`), or, for a
 * Float64/Float32/Int32/Int64 column without nulls, straight from its typed array
 * (`pl.Series(name, typedArray)`): `apply` returns a Series named `prediction`, `withColumn` the input DataFrame plus the column
 * (`df.withColumn`, replacing a column of that name in place), `mapBatches` one DataFrame per
 * output batch.
 *
 * ## LazyFrames
 * `apply`/`withColumn`/`predict` collect a LazyFrame (`collectSync`: the whole frame is
 * materialised; the result of `withColumn` is made lazy again). `mapBatches` streams it instead:
 * see {@link polarsBatches}.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { type RecordBatch, Table, type Vector, tableFromIPC, tableToIPC } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { adoptVector } from './arrow-guards.js';
import { tableOfVectors } from './record-batch.js';
import { typedArrayVector } from './typed-vector.js';
import { withoutViewTypes } from './view-types.js';

/** A Polars Series as jsfunc's public types describe it (by shape). */
export interface PolarsSeries {
  /** The Series name. */
  readonly name: string;
  /** The Polars dtype (`variant` is its name: `Float64`, `String`, ...). */
  readonly dtype: { readonly variant: string };
  /** Number of nulls. */
  nullCount(): number;
  /** The values as a typed array (numeric Series without nulls). */
  toTypedArray(): unknown;
}

/**
 * A Polars DataFrame as jsfunc's public types describe it: the members jsfunc calls, by shape
 * (nodejs-polars is an optional peer dependency, so jsfunc's declarations never import it). A
 * nodejs-polars `DataFrame` is one; the frames jsfunc returns are nodejs-polars `DataFrame`s.
 */
export interface PolarsDataFrame {
  /** Column names, in order. */
  readonly columns: string[];
  /** Number of rows. */
  readonly height: number;
  /** One column. */
  getColumn(name: string): PolarsSeries;
  /** Some columns. */
  select(...columns: string[]): PolarsDataFrame;
  /** Rows `[offset, offset + length)` (zero-copy in Polars). */
  slice(offset: number, length: number): PolarsDataFrame;
  /** The frame as Arrow IPC (file format) bytes. */
  writeIPC(): Uint8Array;
  /** The frame plus a column (a column of the same name is replaced in place). */
  withColumn(column: PolarsSeries): PolarsDataFrame;
  /** A LazyFrame over this frame. */
  lazy(): PolarsLazyFrame;
}

/** A Polars LazyFrame as jsfunc's public types describe it (see {@link PolarsDataFrame}). */
export interface PolarsLazyFrame {
  /** Runs the query (on Polars' threads). */
  collect(): Promise<PolarsDataFrame>;
  /** Runs the query on the calling thread. */
  collectSync(): PolarsDataFrame;
  /** Rows `[offset, offset + length)` of the query's result. */
  slice(offset: number, length: number): PolarsLazyFrame;
}

/** The parts of nodejs-polars used to build results (loaded lazily). */
interface PolarsModule {
  readIPC(body: Buffer): PolarsDataFrame;
  Series(name: string, values: ArrayBufferView): PolarsSeries;
}

/** Result types a Series is built from directly (a typed array, no nulls), by Arrow type name. */
const DIRECT_SERIES: Readonly<Record<string, string>> = {
  Float64: 'Float64',
  Float32: 'Float32',
  Int32: 'Int32',
  Int64: 'Int64',
};

const NUMERIC = new Set([
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float32',
  'Float64',
]);

function tagOf(x: unknown): string {
  return Object.prototype.toString.call(x);
}

/**
 * True for a Polars DataFrame (any nodejs-polars copy), recognised by shape.
 *
 * @param x - any value
 * @returns whether `x` is a Polars DataFrame
 */
export function isPolarsDataFrame(x: unknown): x is PolarsDataFrame {
  if (typeof x !== 'object' || x === null || tagOf(x) !== '[object DataFrame]') return false;
  const f = x as Record<string, unknown>;
  return ['writeIPC', 'getColumn', 'select', 'withColumn'].every((m) => typeof f[m] === 'function');
}

/**
 * True for a Polars LazyFrame (any nodejs-polars copy), recognised by shape.
 *
 * @param x - any value
 * @returns whether `x` is a Polars LazyFrame
 */
export function isPolarsLazyFrame(x: unknown): x is PolarsLazyFrame {
  if (typeof x !== 'object' || x === null || tagOf(x) !== '[object LazyDataFrame]') return false;
  const f = x as Record<string, unknown>;
  return ['collect', 'collectSync', 'slice'].every((m) => typeof f[m] === 'function');
}

let polarsModule: PolarsModule | undefined;

/** Loads nodejs-polars on first use (synchronously: it is a CommonJS package). */
function polars(): PolarsModule {
  if (polarsModule === undefined) {
    try {
      polarsModule = createRequire(import.meta.url)('nodejs-polars') as PolarsModule;
    } catch (cause) {
      throw new ModelError(
        'E_INPUT_INVALID',
        'Returning a Polars DataFrame needs the optional peer dependency nodejs-polars: npm install nodejs-polars',
        { details: { package: 'nodejs-polars' }, cause }
      );
    }
  }
  return polarsModule;
}

/** Polars' own failure (a dtype it cannot export, ...) as a coded error. */
function polarsFailed(what: string, cause: unknown): ModelError {
  return new ModelError(
    'E_INPUT_INVALID',
    `Polars could not ${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
    { cause }
  );
}

/**
 * Converts a Polars DataFrame to an Arrow Table (see the module doc for how each column type
 * travels).
 *
 * @param df - a Polars DataFrame
 * @returns a Table with the same columns, in order
 * @throws {ModelError} E_INPUT_INVALID when Polars cannot export a column (Object dtype)
 */
export function polarsToTable(df: PolarsDataFrame): Table {
  const names = df.columns;
  const vectors: (Vector | undefined)[] = names.map((name) => {
    const series = df.getColumn(name);
    // toTypedArray is only called where Polars implements it (it panics elsewhere).
    if (!NUMERIC.has(series.dtype.variant) || series.nullCount() !== 0) return undefined;
    return typedArrayVector(series.toTypedArray() as ArrayBufferView);
  });
  const rest = names.filter((_, i) => vectors[i] === undefined);
  if (rest.length > 0) {
    let bytes: Uint8Array;
    try {
      bytes = df.select(...rest).writeIPC();
    } catch (cause) {
      throw polarsFailed(`export column(s) ${rest.join(', ')} as Arrow`, cause);
    }
    const encoded = withoutViewTypes(tableFromIPC(bytes));
    rest.forEach((name, i) => (vectors[names.indexOf(name)] = encoded.getChildAt(i)!));
  }
  if (names.length === 0) return new Table();
  return tableOfVectors(names, vectors as Vector[]);
}

/**
 * Converts a LazyFrame by collecting it on the calling thread (the whole result is
 * materialised; stream it with {@link polarsBatches} instead).
 *
 * @param lf - a Polars LazyFrame
 * @returns the collected frame
 * @throws {ModelError} E_INPUT_INVALID when the query fails
 */
export function collectLazy(lf: PolarsLazyFrame): PolarsDataFrame {
  try {
    return lf.collectSync();
  } catch (cause) {
    throw polarsFailed('run the LazyFrame query', cause);
  }
}

/** A Polars DataFrame read from the IPC file bytes of `table`. */
function fromArrow(table: Table): PolarsDataFrame {
  const ipc = tableToIPC(table, 'file');
  try {
    return polars().readIPC(Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength));
  } catch (cause) {
    if (ModelError.is(cause)) throw cause;
    throw polarsFailed('read the result', cause);
  }
}

/**
 * The result column as a Polars Series (what `apply` returns for Polars input).
 *
 * @param vector - one value per row
 * @param name - the Series name; default `prediction`
 * @returns a nodejs-polars Series
 * @throws {ModelError} E_INPUT_INVALID when nodejs-polars is not installed
 */
export function polarsSeriesOf(vector: Vector, name = 'prediction'): PolarsSeries {
  const v = adoptVector(vector);
  const direct = DIRECT_SERIES[String(v.type)];
  if (direct !== undefined && v.nullCount === 0) {
    // One contiguous typed array (a copy only when the result has several chunks) handed to
    // Polars: cheaper than an IPC round trip (measured 8-45 ms vs 26-45 ms for 1M doubles).
    const series = polars().Series(name, v.toArray() as ArrayBufferView);
    if (series.dtype.variant === direct) return series;
  }
  return fromArrow(new Table({ [name]: v })).getColumn(name);
}

/**
 * `df` plus the column, as Polars' `withColumn` places it (a column of that name is replaced in
 * place, else appended).
 *
 * @param df - the input frame
 * @param name - the column name
 * @param vector - one value per row of `df`
 * @returns a new DataFrame
 * @throws {ModelError} E_INPUT_INVALID when nodejs-polars is not installed
 */
export function polarsWithColumn(
  df: PolarsDataFrame,
  name: string,
  vector: Vector
): PolarsDataFrame {
  return df.withColumn(polarsSeriesOf(vector, name));
}

/**
 * A record batch as a Polars DataFrame (what `mapBatches` yields for Polars input).
 *
 * @param batch - the output batch
 * @returns a new DataFrame
 * @throws {ModelError} E_INPUT_INVALID when nodejs-polars is not installed
 */
export function polarsFromBatch(batch: RecordBatch): PolarsDataFrame {
  return fromArrow(new Table([batch]));
}

/**
 * Streams a LazyFrame (or a DataFrame) as Arrow record batches, `sliceRows` rows at a time.
 *
 * A LazyFrame is run slice by slice, `lf.slice(offset, sliceRows).collect()` on Polars' threads,
 * the next slice collected while the current one is converted and scored: at most two slices
 * are materialised at once (plus the batches the UDF holds in flight), whatever the size of the
 * result. nodejs-polars 0.25 has no batch iterator (`collect` and `collectSync` materialise the
 * whole result; `sinkIpc` writes it to a file), so each slice re-runs the query with the slice
 * pushed down: scans (`scanParquet`, `scanIPC`, in-memory frames) read only the rows of the
 * slice, while a query whose slice cannot be pushed below a sort, join or group-by re-runs it
 * for every slice. Collect such a query once (`await lf.collect()`) and pass the DataFrame.
 * A DataFrame is sliced without copying (Polars slices are views).
 *
 * @param frame - a Polars LazyFrame or DataFrame
 * @param sliceRows - rows per slice (positive)
 * @returns the batches, in row order
 * @throws {ModelError} E_INPUT_INVALID when the query fails
 */
export async function* polarsBatches(
  frame: PolarsLazyFrame | PolarsDataFrame,
  sliceRows: number
): AsyncGenerator<RecordBatch, void, undefined> {
  if (isPolarsDataFrame(frame)) {
    for (let offset = 0; offset < frame.height; offset += sliceRows) {
      yield* polarsToTable(frame.slice(offset, sliceRows)).batches;
    }
    return;
  }
  const collect = (offset: number): Promise<PolarsDataFrame> => {
    const p = frame.slice(offset, sliceRows).collect();
    p.catch(() => undefined); // a prefetch the consumer abandoned must not go unhandled
    return p;
  };
  let next = collect(0);
  for (let offset = 0; ; offset += sliceRows) {
    let df: PolarsDataFrame;
    try {
      df = await next;
    } catch (cause) {
      throw polarsFailed(`run the LazyFrame query (rows from ${offset})`, cause);
    }
    const full = df.height === sliceRows;
    if (full) next = collect(offset + sliceRows);
    if (df.height > 0) yield* polarsToTable(df).batches;
    if (!full) return;
  }
}
