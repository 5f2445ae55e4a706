/**
 * The one dispatch between jsfunc's Arrow core and the dataframe libraries it accepts besides
 * danfo: arquero tables, Polars DataFrames and Polars LazyFrames. `sparkUdf` (`apply`,
 * `withColumn`, `mapBatches`) and `toTable` (so `loadModel().predict`) call only this module:
 * the input becomes Arrow here, and the result goes back into the kind of object that came in.
 *
 * Every library is an optional peer dependency recognised by shape; nothing here imports one
 * (Polars is loaded only to build a Polars result, see `polars.ts`).
 *
 * | input            | `apply` returns              | `withColumn` returns          | `mapBatches` yields       |
 * | ---------------- | ---------------------------- | ----------------------------- | ------------------------- |
 * | arquero table    | a one-column arquero table   | the table plus the column     | an arquero table per batch |
 * | Polars DataFrame | a Polars Series              | the DataFrame plus the column | a DataFrame per batch      |
 * | Polars LazyFrame | a Polars Series (collected)  | a LazyFrame (collected)       | a DataFrame per slice      |
 *
 * The result column is named `prediction` where `apply` needs a name.
 *
 * @module
 */
import type { RecordBatch, Table, Vector } from 'apache-arrow';
import {
  arqueroFromBatch,
  arqueroFromVector,
  arqueroToTable,
  arqueroWithColumn,
  isArqueroTable,
} from './arquero.js';
import {
  type PolarsDataFrame,
  collectLazy,
  isPolarsDataFrame,
  isPolarsLazyFrame,
  polarsBatches,
  polarsFromBatch,
  polarsSeriesOf,
  polarsToTable,
  polarsWithColumn,
} from './polars.js';

/** The dataframe libraries this module dispatches to. */
export type FrameKind = 'arquero' | 'polars' | 'polars-lazy';

/** The name `apply` gives its result column (a Series or one-column table needs one). */
export const APPLY_COLUMN = 'prediction';

/** A dataframe input as Arrow, and the way back to its own kind. */
export interface FrameInput {
  /** Which library the input came from. */
  readonly kind: FrameKind;
  /** The input as an Arrow Table (zero-copy where the library allows). */
  readonly table: Table;
  /**
   * `apply`'s result for this input: the column as the library's one-dimensional kind.
   * @param vector - one value per input row
   */
  fromVector(vector: Vector): object;
  /**
   * `withColumn`'s result for this input: the input plus the column (replaced in place when
   * the name exists).
   * @param name - the column name
   * @param vector - one value per input row
   */
  withColumn(name: string, vector: Vector): object;
}

/**
 * Which columns of a frame the caller needs (e.g. the model's inputs), given the frame's column
 * names; null (or a list naming a column the frame lacks) converts every column.
 */
export type KeepColumns = (names: readonly string[]) => readonly string[] | null;

/**
 * The columns of `df` that `keep` asks for (Polars `select` shares the columns, no copy): a
 * Polars frame leaves with one copy per converted column, so converting only the model's
 * columns saves the copies of the others. The frame itself stays whole for `withColumn`.
 */
function kept(df: PolarsDataFrame, keep: KeepColumns | undefined): PolarsDataFrame {
  const names = keep?.(df.columns) ?? null;
  if (names === null || names.length === df.columns.length) return df;
  const present = new Set(df.columns);
  return names.every((n) => present.has(n)) ? df.select(...names) : df;
}

/**
 * Recognises an arquero table or a Polars DataFrame / LazyFrame and converts it to Arrow.
 *
 * @param input - any value
 * @param keep - the columns to convert, from the frame's names (default: all). Polars only:
 *   arquero columns are viewed without copying, so converting fewer saves nothing.
 * @returns the input as Arrow with the way back, or null when `input` is none of these (Arrow,
 *   danfo and plain values are handled by their own paths)
 * @throws {ModelError} E_INPUT_INVALID when the library cannot export a column
 */
export function toArrowInput(input: unknown, keep?: KeepColumns): FrameInput | null {
  if (isArqueroTable(input)) {
    return {
      kind: 'arquero',
      table: arqueroToTable(input),
      fromVector: (v) => arqueroFromVector(input, APPLY_COLUMN, v),
      withColumn: (name, v) => arqueroWithColumn(input, name, v),
    };
  }
  if (isPolarsDataFrame(input)) {
    return {
      kind: 'polars',
      table: polarsToTable(kept(input, keep)),
      fromVector: (v) => polarsSeriesOf(v, APPLY_COLUMN),
      withColumn: (name, v) => polarsWithColumn(input, name, v),
    };
  }
  if (isPolarsLazyFrame(input)) {
    const df = collectLazy(input);
    return {
      kind: 'polars-lazy',
      table: polarsToTable(kept(df, keep)),
      fromVector: (v) => polarsSeriesOf(v, APPLY_COLUMN),
      withColumn: (name, v) => polarsWithColumn(df, name, v).lazy(),
    };
  }
  return null;
}

/**
 * The Arrow Table of a dataframe input, for `toTable` (`loadModel().predict`).
 *
 * @param input - any value
 * @returns the Table, or null when `input` is not an arquero table or a Polars frame
 * @throws {ModelError} E_INPUT_INVALID when the library cannot export a column
 */
export function frameToTable(input: unknown): Table | null {
  return toArrowInput(input)?.table ?? null;
}

/** A dataframe given to `mapBatches`: its record batches, and the way back per output batch. */
export interface FrameBatches {
  /** Which library the source came from. */
  readonly kind: FrameKind;
  /** The source's rows as Arrow record batches, in order. */
  readonly batches: AsyncIterable<RecordBatch>;
  /**
   * Turns the scored batches back into the source's kind, one object per batch.
   * @param scored - `mapBatches`' output over {@link FrameBatches.batches}
   */
  wrap(scored: AsyncIterable<RecordBatch>): AsyncGenerator<object, void, undefined>;
}

async function* mapEach<T>(
  scored: AsyncIterable<RecordBatch>,
  convert: (batch: RecordBatch) => T
): AsyncGenerator<T, void, undefined> {
  for await (const batch of scored) yield convert(batch);
}

async function* batchesOf(table: () => Table): AsyncGenerator<RecordBatch, void, undefined> {
  yield* table().batches;
}

/**
 * Recognises a dataframe given to `mapBatches` (arquero table, Polars DataFrame or LazyFrame).
 *
 * A LazyFrame or DataFrame is streamed `sliceRows` rows at a time (see `polarsBatches` for the
 * memory behaviour); an arquero table is converted once (it is in memory already).
 *
 * @param source - what `mapBatches` was given
 * @param sliceRows - rows per Polars slice (the UDF's `batchSize`); default 65536
 * @returns the batches and the way back, or null when `source` is none of these
 */
export function toBatchSource(source: unknown, sliceRows = 65_536): FrameBatches | null {
  if (isArqueroTable(source)) {
    return {
      kind: 'arquero',
      batches: batchesOf(() => arqueroToTable(source)),
      wrap: (scored) => mapEach(scored, (b) => arqueroFromBatch(source, b)),
    };
  }
  const lazy = isPolarsLazyFrame(source);
  if (lazy || isPolarsDataFrame(source)) {
    return {
      kind: lazy ? 'polars-lazy' : 'polars',
      batches: polarsBatches(source, sliceRows),
      wrap: (scored) => mapEach(scored, polarsFromBatch),
    };
  }
  return null;
}
