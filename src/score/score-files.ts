/**
 * `scoreFiles`: scores a file or a dataset of files with a model package, writing the input's
 * columns plus the prediction, in input order, to a file or a dataset directory. The body of
 * `jsfunc score`.
 *
 * Shape (why: the input's bytes are read, parsed and encoded by every core, not one): the
 * driver (this module, main thread) resolves the dataset, fixes its one schema, plans SPLITS
 * (`plan-input.ts`) and sends one task per split to the worker pool; each task reads its split,
 * scores it with the model (loaded once per worker) and encodes its output PIECE
 * (`score-split.ts`). The driver keeps a bounded window of tasks in flight and writes pieces
 * strictly in input order, so memory is bounded by the window, never by the file.
 *
 * Text splits (CSV/NDJSON byte ranges) are checked here as they come back in order: every
 * split's first record must start where the previous one's last ended, and a split sent with a
 * guessed record start is verified against the quote parities of the splits before it (and
 * re-run exactly when the guess was wrong), so the records equal a one-thread read's.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { extname, relative } from 'node:path';
import { type Schema as ArrowSchema, vectorFromArray, type DataType } from 'apache-arrow';
import { ModelError, deserializeError } from '../errors.js';
import { rebaseCsvError } from '../io/csv-errors.js';
import { rebaseNdjsonError } from '../io/ndjson-split.js';
import { scanTextPrefix } from './text-prefix.js';
import { isGlobPattern, resolveDataset } from '../io/dataset.js';
import type { DatasetCommit, ShardSpec } from '../io/dataset-output.js';
import { detectFormat, type Format } from '../io/format.js';
import { emptyBatch } from '../io/text-columns.js';
import { localModelPath } from '../package/load-model.js';
import { readMLmodel } from '../package/mlmodel.js';
import { compiledUrl } from '../pool/compiled-url.js';
import { createPool, type ModelPool } from '../pool/pool.js';
import type { TaskSuccess } from '../pool/protocol.js';
import { requiredInputNames } from '../signature/schema.js';
import type { Params } from '../signature/types.js';
import { appendResultColumn, flattenStructColumn } from '../udf/append-result.js';
import { resolveColumns, type ColumnMapping } from '../udf/column-mapping.js';
import type { ModelTaskFields } from '../udf/model-task.js';
import {
  sparkUdf,
  udfInternals,
  type SparkUdf,
  type SparkUdfStats,
  type UdfInternals,
} from '../udf/spark-udf.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { datasetOutput, fileOutput, type OutputSink } from './output-sink.js';
import { kParquetSplitRows, planInput, type InputPlan, type PlannedSplit } from './plan-input.js';
import type {
  OutputSpec,
  ScoreSplitResult,
  ScoreSplitTask,
  SplitSource,
  TextSource,
  TextStart,
} from './split-task.js';

/** Options of {@link scoreFiles}. Every field is optional. */
export interface ScoreFilesOptions {
  /** Input columns, by position onto the signature's inputs. Default: by name. */
  columns?: readonly string[];
  /** Result type (Spark DDL or Arrow type). Default: from the output signature. */
  resultType?: string | DataType;
  /** Name of the result column. Default `prediction` (a struct result: `prediction.<field>`). */
  outputColumn?: string;
  /** Worker threads of this run's own pool. Default `os.availableParallelism()`. */
  workers?: number;
  /** A pool to run on instead of a pool of this run's own (the caller closes it). */
  pool?: ModelPool;
  /** Most rows per `predict` call. Default 65536. */
  batchSize?: number;
  /** Inference params, validated once against the params schema. Default `{}`. */
  params?: Params;
  /** Overrides of the saved model config. Default `{}`. */
  modelConfig?: Record<string, unknown>;
  /** Fail a split that runs longer than this on its worker (ms). Default: none. */
  timeoutMs?: number;
  /**
   * Most milliseconds a worker may spend loading the model (the worker is then replaced and
   * the run fails with E_LOAD_TIMEOUT); `Infinity` for no limit. Default 120000.
   */
  loadTimeoutMs?: number;
  /** Re-run a split whose worker crashed, up to this many times. Default 0. */
  retries?: number;
  /** The input's format. Default: from the file extensions. */
  format?: Format;
  /**
   * The format of a dataset OUTPUT (a directory). Default: the input's format. A file output's
   * format always comes from its extension.
   */
  outputFormat?: Format;
  /**
   * Score only this shard of the job's splits (a contiguous block of them; every N-th batch of
   * an Arrow IPC stream), writing its parts into the output directory; the last shard to finish
   * commits the dataset. Every shard must be given the same input, model, options and count.
   * Default: the whole job.
   */
  shard?: ShardSpec;
  /**
   * Split sizes: Parquet row groups are grouped up to `rows` rows per split (default 131072);
   * text byte ranges and Arrow IPC batch groups are `bytes` long (default: IPC 8 MiB; text
   * 1/64 of the input, 1-32 MiB). A dataset output has one part per split. Shards of one job
   * must use the same values.
   */
  splitSize?: { rows?: number; bytes?: number };
  /** For `models:/` and `runs:/` URIs: the MLflow tracking URI. Default `MLFLOW_TRACKING_URI`, else `./mlruns`. */
  trackingUri?: string;
  /** Where downloaded packages are cached. Default `JSFUNC_CACHE_DIR`, else `~/.cache/jsfunc/models`. */
  cacheDir?: string;
  /** Stops the run: tasks are cancelled, nothing is left at the output, E_ABORTED. */
  signal?: AbortSignal;
  /** Called after each split is written (and once at the start). */
  onProgress?: (progress: ScoreProgress) => void;
  /** Receives warnings. Default `defaultWarn` (stderr). */
  warn?: WarnFn;
}

/** What {@link ScoreFilesOptions.onProgress} receives. */
export interface ScoreProgress {
  /** Rows written so far. */
  rows: number;
  /** Input bytes covered by the splits written so far. */
  bytes: number;
  /** Input bytes of the whole run. */
  totalBytes: number;
  /** Input rows of the whole run, when known up front (Parquet); else null. */
  totalRows: number | null;
}

/** What a finished {@link scoreFiles} run reports. */
export interface ScoreFilesSummary {
  input: string;
  output: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Worker threads. */
  workers: number;
  /** Worker threads that scored at least one split. */
  workersUsed: number;
  /** Model loads across the workers. */
  modelLoads: number;
  /** Splits scored. */
  splits: number;
  /** Splits re-run after a worker crash. */
  retries: number;
  /**
   * Dataset outputs: whether `_SUCCESS` is written (every shard of the job has finished), and
   * which shards are still missing. Absent for a file output.
   */
  dataset?: { committed: boolean; missing: number[]; shard: ShardSpec };
}

const kDefaultBatchSize = 65536;

let splitHandler: string | undefined;
function splitHandlerUrl(): string {
  splitHandler ??= compiledUrl(new URL('./score-split.js', import.meta.url)).href;
  return splitHandler;
}

/**
 * Scores `input` with the model at `model` into `output`.
 *
 * @param model - model package directory, or a model URI (`models:/name/3`, `runs:/id/model`)
 * @param input - a file, a directory of files, or a glob (one format; Hive `key=value/`
 *   directories add partition columns)
 * @param output - the output file (format from its extension)
 * @param options - see {@link ScoreFilesOptions}
 * @returns the summary
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_UNSUPPORTED, E_OPTION_INVALID,
 *   E_MLMODEL_MISSING, E_SCHEMA_MISMATCH (before any split runs), E_FORMAT_MALFORMED (naming
 *   file and line or row group), the model's errors (naming file and rows), E_ABORTED; a failed
 *   run leaves nothing at `output`
 * @example
 * ```ts
 * const summary = await scoreFiles('out/flights', 'flights.parquet', 'scored.parquet', {
 *   workers: 2,
 * });
 * console.log(summary.rows, summary.rowsPerSecond);
 * ```
 */
export async function scoreFiles(
  model: string,
  input: string,
  output: string,
  options: ScoreFilesOptions = {}
): Promise<ScoreFilesSummary> {
  const started = performance.now();
  const warn = options.warn ?? defaultWarn;
  const outputColumn = options.outputColumn ?? 'prediction';
  if (typeof outputColumn !== 'string' || outputColumn === '') {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.outputColumn must be a non-empty string, found ${JSON.stringify(outputColumn)}`,
      { details: { option: 'outputColumn' } }
    );
  }
  const batchSize = options.batchSize ?? kDefaultBatchSize;
  for (const [key, value] of Object.entries(options.splitSize ?? {})) {
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
      throw new ModelError(
        'E_OPTION_INVALID',
        `options.splitSize.${key} must be a positive integer, found ${String(value)}`,
        { details: { option: `splitSize.${key}`, value: String(value) } }
      );
    }
  }
  const signal = options.signal;
  const shard = checkShard(options.shard);
  // Cheap checks first, in the order a user fixes them: output format, input files, model.
  const toDirectory = await isDirectoryOutput(output);
  if (shard.count > 1 && !toDirectory) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `A sharded run writes a dataset directory: ${output} names a file (give a directory, e.g. ${output.replace(/\.[^./\\]*$/, '')}/).`,
      { details: { option: 'shard', output } }
    );
  }
  if (options.format === undefined && !(await isDirectoryOrGlob(input))) detectFormat(input);
  let outFormat = toDirectory ? options.outputFormat : detectFormat(output);
  if (outFormat === 'json') throw jsonOutput(output);
  const dataset = await resolveDataset(input, options.format ? { format: options.format } : {});
  // A model URI (models:/, runs:/) is resolved, and downloaded if need be, once.
  const local = await localModelPath(model, {
    ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(signal !== undefined ? { signal } : {}),
  });
  outFormat ??= dataset.format;
  if (outFormat === 'json') throw jsonOutput(output);
  const format: Exclude<Format, 'json'> = outFormat;
  // Threads start before the package and the input are read: they take longer to start.
  const pool =
    options.pool ?? createPool(options.workers !== undefined ? { workers: options.workers } : {});
  const starting = sparkUdf(local, {
    warn,
    pool,
    batchSize,
    ...(options.resultType !== undefined ? { resultType: options.resultType } : {}),
    ...(options.params !== undefined ? { params: options.params } : {}),
    ...(options.modelConfig !== undefined ? { modelConfig: options.modelConfig } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.loadTimeoutMs !== undefined ? { loadTimeoutMs: options.loadTimeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(signal !== undefined ? { signal } : {}),
  });
  starting.catch(() => undefined); // observed below, or closed in `finally`
  let udf: SparkUdf | undefined;
  let sink: OutputSink | undefined;
  let commit: DatasetCommit | null = null;
  let failed = true;
  let stats: SparkUdfStats | undefined;
  let rows = 0;
  let splits = 0;
  try {
    const metadata = await readMLmodel(local);
    const signature = metadata.signature?.inputs ?? null;
    const plan = await planInput(dataset, signature, batchSize, {
      rows: options.splitSize?.rows ?? kParquetSplitRows,
      bytes: options.splitSize?.bytes ?? null,
    });
    const needed = signature === null ? [] : requiredInputNames(signature);
    if (plan.schema.fields.length === 0 && needed.length > 0) {
      // An empty text file (no header, no line): every input the model needs is missing.
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `${dataset.input}: the input has no columns (an empty file?); the model needs ` +
          `[${needed.map((n) => `'${n}'`).join(', ')}].`,
        { details: { path: dataset.input, missing: needed, found: [] } }
      );
    }
    let mapping: ColumnMapping;
    try {
      mapping = resolveColumns(signature, plan.schema, options.columns);
    } catch (e) {
      throw prefixed(e, dataset.input);
    }
    udf = await starting;
    const internals = udfInternals(udf);
    const outputSchema = scoredSchema(plan.schema, outputColumn, udf.arrowType);
    const passthrough = canPassThrough(plan, format, outputSchema, toDirectory);
    const spec: OutputSpec = {
      format,
      column: outputColumn,
      mode: passthrough ? 'passthrough' : 'full',
    };
    // Passthrough copies every input column's bytes: only the model's columns are decoded.
    const projection = passthrough ? fileColumnsUsed(mapping, plan) : null;
    sink = toDirectory
      ? await datasetOutput(
          output,
          format,
          outputSchema,
          jobFingerprint(internals.modelKey, plan, spec, shard, options),
          shard
        )
      : fileOutput(output, format, outputSchema);
    const run = new SplitRun(plan, internals, {
      mapping,
      output: spec,
      batchSize,
      signal,
      sink,
      shard,
      projection,
      onProgress: options.onProgress,
    });
    ({ rows, splits } = await run.run());
    stats = udf.stats();
    commit = await sink.finish(rows);
    failed = false;
  } finally {
    if (failed) await sink?.abort();
    const pending = udf ?? (await starting.catch(() => undefined));
    if (pending !== undefined) {
      stats ??= pending.stats();
      await pending.close({ cancel: failed });
    }
    if (options.pool === undefined) await pool.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    input,
    output,
    rows,
    seconds,
    rowsPerSecond: seconds > 0 ? rows / seconds : 0,
    workers: pool.workers,
    workersUsed: stats?.perWorker.length ?? 0,
    modelLoads: stats?.modelLoads ?? 0,
    splits,
    retries: stats?.retries ?? 0,
    ...(commit !== null
      ? { dataset: { committed: commit.committed, missing: commit.missing, shard } }
      : {}),
  };
}

function jsonOutput(output: string): ModelError {
  return new ModelError(
    'E_FORMAT_UNSUPPORTED',
    `Batch output cannot be written as .json (${output}); use .ndjson/.jsonl, .csv, .parquet, .arrow or .arrows.`,
    { details: { path: output, format: 'json' } }
  );
}

function checkShard(shard: ShardSpec | undefined): ShardSpec {
  if (shard === undefined) return { index: 0, count: 1 };
  const { index, count } = shard;
  if (
    !Number.isInteger(count) ||
    count < 1 ||
    !Number.isInteger(index) ||
    index < 0 ||
    index >= count
  ) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.shard must be { index, count } with 0 <= index < count, found ${JSON.stringify(shard)}`,
      { details: { option: 'shard', value: shard } }
    );
  }
  return { index, count };
}

/**
 * A dataset output: a path ending with a separator, an existing directory, or a path without
 * an extension. Anything else is a file whose extension names its format.
 */
async function isDirectoryOutput(output: string): Promise<boolean> {
  if (/[\\/]$/.test(output)) return true;
  try {
    if ((await stat(output)).isDirectory()) return true;
  } catch {
    // not there yet
  }
  return extname(output) === '';
}

/**
 * The job's fingerprint: the same for every shard and every rerun of one job (on any machine:
 * file paths relative to the dataset root, no times), different when the input files, the
 * model or an option that changes the output differs. Part names derive from it.
 */
function jobFingerprint(
  modelKey: string,
  plan: InputPlan,
  output: OutputSpec,
  shard: ShardSpec,
  options: ScoreFilesOptions
): string {
  const root = plan.dataset.root;
  const files = plan.dataset.files.map((f) => [relative(root, f.path), f.size]);
  const text = JSON.stringify({
    modelKey,
    files,
    format: plan.dataset.format,
    output,
    shards: shard.count,
    columns: options.columns ?? null,
    resultType:
      typeof options.resultType === 'string'
        ? options.resultType
        : String(options.resultType ?? ''),
    params: options.params ?? null,
    batchSize: options.batchSize ?? null,
    splitSize: options.splitSize ?? null,
  });
  return createHash('sha256').update(text).digest('hex');
}

/** Whether `input` names a directory or a glob (else a file, whose extension is checked first). */
async function isDirectoryOrGlob(input: string): Promise<boolean> {
  if (isGlobPattern(input)) return true;
  try {
    return (await stat(input)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether the run can copy the input's encoded bytes instead of re-encoding them: Parquet ->
 * Parquet (column chunks) and CSV -> CSV (records, so input columns come out exactly as they
 * came in). The result columns must be new names (a result replacing an input column keeps that
 * column's place, which copied bytes cannot); one Parquet output file needs every input file to
 * have the same Parquet schema (a dataset output has a file per split); CSV records cannot take
 * partition columns.
 */
function canPassThrough(
  plan: InputPlan,
  format: Format,
  outputSchema: ArrowSchema,
  toDirectory: boolean
): boolean {
  const from = plan.dataset.format;
  if (from !== format || (from !== 'parquet' && from !== 'csv')) return false;
  if (from === 'parquet' && !toDirectory && !plan.uniformParquetSchema) return false;
  if (from === 'csv' && plan.dataset.partitionKeys.length > 0) return false;
  const input = plan.schema.fields.map((f) => f.name);
  const output = outputSchema.fields.map((f) => f.name);
  // No result name among the inputs: the output is the input's columns, then new ones.
  return (
    output.length > input.length &&
    input.every((n, i) => output[i] === n) &&
    new Set(output).size === output.length
  );
}

/** The file columns (not partition columns) the model reads through `mapping`. */
function fileColumnsUsed(mapping: ColumnMapping, plan: InputPlan): string[] {
  const sources = mapping.kind === 'struct' ? [mapping.source] : mapping.pairs.map((p) => p.source);
  const partitions = new Set(plan.dataset.partitionKeys);
  const used = [...new Set(sources.filter((s) => !partitions.has(s)))];
  // A model of partition columns only still needs the row count: read one file column.
  return used.length > 0 ? used : [plan.schema.fields[0]!.name];
}

/** The output schema: the input's columns plus the result, flattened, as workers build it. */
function scoredSchema(input: ArrowSchema, column: string, type: DataType): ArrowSchema {
  const empty = appendResultColumn(emptyBatch(input), column, vectorFromArray([], type));
  return flattenStructColumn(empty, column).schema;
}

function prefixed(e: unknown, input: string): unknown {
  if (!ModelError.is(e)) return e;
  return new ModelError(e.code, `${input}: ${e.message}`, {
    details: { ...e.details, path: input },
    cause: e,
  });
}

interface RunSettings {
  mapping: ColumnMapping;
  output: OutputSpec;
  batchSize: number;
  signal: AbortSignal | undefined;
  sink: OutputSink;
  shard: ShardSpec;
  /** Parquet sources: the file columns to decode (null: all). */
  projection: string[] | null;
  onProgress: ((p: ScoreProgress) => void) | undefined;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface InFlight {
  split: PlannedSplit;
  how: TextStart | undefined;
  result: Promise<Settled<TaskSuccess<ScoreSplitResult>>>;
}

/** Per-file state of text splits, advanced in split order. */
interface TextCursor {
  /** The quote state at the raw start of the file's next split (from the parities so far). */
  inQuotes: boolean;
  /**
   * Where the next split's first record must start; null when the split before it was not
   * scored by this run (a shard starting mid-file), so there is nothing to compare with.
   */
  next: number | null;
  /** Line terminators before it; null when not counted (counted from the file on an error). */
  lines: number | null;
}

/** One run's window of split tasks: dispatch ahead, settle and write in order. */
class SplitRun {
  readonly #plan: InputPlan;
  readonly #udf: UdfInternals;
  readonly #s: RunSettings;
  #rows = 0;
  /** Rows of the splits settled so far (ahead of `#rows` while a write is in progress). */
  #rowsSettled = 0;
  #bytes = 0;
  #splits = 0;
  readonly #cursors = new Map<number, TextCursor>();

  constructor(plan: InputPlan, udf: UdfInternals, settings: RunSettings) {
    this.#plan = plan;
    this.#udf = udf;
    this.#s = settings;
  }

  async run(): Promise<{ rows: number; splits: number }> {
    const { workers, inFlightPerWorker } = this.#udf.options;
    const limit = Math.max(1, workers * inFlightPerWorker);
    const source = this.#owned()[Symbol.asyncIterator]();
    const queue: InFlight[] = [];
    let exhausted = false;
    let writing: Promise<void> | undefined;
    this.#progress();
    try {
      for (;;) {
        while (!exhausted && queue.length < limit) {
          this.#throwIfAborted();
          const next = await source.next();
          if (next.done === true) {
            exhausted = true;
            break;
          }
          queue.push(this.#dispatch(next.value, this.#firstGuess(next.value)));
        }
        const head = queue.shift();
        if (head === undefined) break;
        const result = await this.#settle(head);
        this.#splits++;
        await writing;
        const piece = result.piece;
        const split = head.split;
        writing = this.#s.sink.write(split.index, piece).then(() => {
          this.#rows += result.rows;
          this.#bytes += split.bytes;
          this.#progress();
        });
        writing.catch(() => undefined); // a failure is thrown by the next `await writing`
      }
      await writing;
      return { rows: this.#rows, splits: this.#splits };
    } finally {
      await writing?.catch(() => undefined);
      await source.return?.(undefined);
      // Tasks still in flight after a failure finish in the background; the UDF's close waits.
      for (const f of queue) void f.result;
    }
  }

  /**
   * The splits this run scores. A shard of a planned input (files with footers or sizes) takes
   * a contiguous block of the splits, so its text splits follow each other (their quote state
   * carries over) and it reads each file's bytes once; a shard of an Arrow IPC stream, whose
   * splits appear as the stream is read, takes every N-th batch.
   */
  async *#owned(): AsyncGenerator<PlannedSplit> {
    const { index, count } = this.#s.shard;
    const splits = this.#plan.splits(this.#s.signal);
    if (count === 1) {
      yield* splits;
      return;
    }
    if (this.#plan.dataset.format === 'arrows') {
      for await (const split of splits) if (split.index % count === index) yield split;
      return;
    }
    const all: PlannedSplit[] = [];
    for await (const split of splits) all.push(split);
    const from = Math.floor((index * all.length) / count);
    const to = Math.floor(((index + 1) * all.length) / count);
    yield* all.slice(from, to);
  }

  #throwIfAborted(): void {
    if (this.#s.signal?.aborted === true) {
      throw new ModelError('E_ABORTED', 'Scoring was aborted by its AbortSignal.', {
        cause: this.#s.signal.reason,
      });
    }
  }

  #progress(): void {
    this.#s.onProgress?.({
      rows: this.#rows,
      bytes: this.#bytes,
      totalBytes: this.#plan.totalBytes,
      totalRows: this.#plan.totalRows,
    });
  }

  /** The start mode a text split is first sent with: exact at a file's data start, else a guess. */
  #firstGuess(split: PlannedSplit): TextStart | undefined {
    const s = split.source;
    if (s.kind !== 'csv' && s.kind !== 'ndjson') return undefined;
    return s.how;
  }

  #dispatch(split: PlannedSplit, how: TextStart | undefined): InFlight {
    const source = this.#source(split, how);
    const file = this.#plan.dataset.files[split.fileIndex]!;
    const task: Omit<ScoreSplitTask, 'handler' | keyof ModelTaskFields> = {
      split: split.index,
      file: file.path,
      source,
      partitions:
        file.partitions.length === 0
          ? null
          : { values: [...file.partitions], types: this.#plan.partitionTypes },
      mapping: this.#s.mapping,
      batchSize: this.#s.batchSize,
      output: this.#s.output,
    };
    const result = this.#udf
      .withRetries(null, () => this.#udf.runTask<ScoreSplitResult>(splitHandlerUrl(), task))
      .then(
        (value): Settled<TaskSuccess<ScoreSplitResult>> => ({ ok: true, value }),
        (error: unknown): Settled<TaskSuccess<ScoreSplitResult>> => ({ ok: false, error })
      );
    return { split, how, result };
  }

  /** What the split's task reads: its start mode, projection and record bounds applied. */
  #source(split: PlannedSplit, how: TextStart | undefined): SplitSource {
    const s = split.source;
    const projection = this.#s.projection;
    if (s.kind === 'parquet') return { ...s, columns: projection };
    if (s.kind !== 'csv' && s.kind !== 'ndjson') return s;
    const keep = projection === null ? null : new Set(projection);
    return {
      ...s,
      how: how ?? s.how,
      columns:
        keep === null
          ? s.columns
          : s.columns.map((c) => (keep.has(c.name) ? c : { ...c, type: 'skip' as const })),
      ...(projection !== null && this.#s.output.mode === 'passthrough'
        ? { recordBounds: true }
        : {}),
    };
  }

  /**
   * The text cursor of a file: where its next split must start, its quote state and lines. A
   * shard whose first split of the file starts mid-file scans the bytes before it for their
   * quote parity (the splits there belong to other shards).
   */
  async #cursor(split: PlannedSplit): Promise<TextCursor> {
    let cursor = this.#cursors.get(split.fileIndex);
    if (cursor === undefined) {
      const start = this.#plan.textStarts![split.fileIndex]!;
      const source = split.source as TextSource;
      if (source.start === start.dataStart) {
        cursor = { inQuotes: false, next: start.dataStart, lines: start.lines };
      } else {
        const quotes = source.kind === 'csv';
        const prefix = quotes
          ? await scanTextPrefix(source.path, start.dataStart, source.start)
          : { parity: 0 };
        cursor = { inQuotes: prefix.parity === 1, next: null, lines: null };
      }
      this.#cursors.set(split.fileIndex, cursor);
    }
    return cursor;
  }

  /** Line terminators before `offset` of a text file (header included). */
  async #linesBefore(split: PlannedSplit, offset: number): Promise<number> {
    const start = this.#plan.textStarts![split.fileIndex]!;
    const source = split.source as TextSource;
    const scan = await scanTextPrefix(source.path, start.dataStart, offset, true);
    return start.lines + scan.lines;
  }

  /**
   * Waits for a split in order and checks it. A text split sent with a guessed start is
   * verified against the quote state the splits before it give (true state at its raw start =
   * XOR of their parities): a wrong guess is re-run with the exact state. Its first record must
   * start where the previous split's last ended; its parse error (returned, not thrown) counts
   * only then, with its line re-based.
   */
  async #settle(head: InFlight): Promise<ScoreSplitResult> {
    const split = head.split;
    const file = this.#plan.dataset.files[split.fileIndex]!.path;
    let settled = await head.result;
    if (!settled.ok) throw this.#located(settled.error, file, split);
    let value = settled.value.value;
    const text = value.text;
    if (text !== undefined) {
      const cursor = await this.#cursor(split);
      const state = cursor.inQuotes ? 1 : 0;
      if (text.guessParity !== null && text.guessParity !== state) {
        settled = await this.#dispatch(split, { kind: 'exact', inQuotes: cursor.inQuotes }).result;
        if (!settled.ok) throw this.#located(settled.error, file, split);
        value = settled.value.value;
      }
      const facts = value.text!;
      if (cursor.next !== null && facts.first !== cursor.next) {
        throw new ModelError(
          'E_INTERNAL',
          `${file}: split ${split.index} starts its records at byte ${facts.first}, but the split before it ended at byte ${cursor.next}`,
          { details: { file, split: split.index, first: facts.first, expected: cursor.next } }
        );
      }
      if (value.error !== undefined) {
        const error = deserializeError(value.error);
        const lines = cursor.lines ?? (await this.#linesBefore(split, facts.first));
        throw split.source.kind === 'csv'
          ? rebaseCsvError(error, lines)
          : rebaseNdjsonError(error, lines);
      }
      cursor.inQuotes = (state ^ facts.parity) === 1;
      cursor.next = facts.next;
      cursor.lines = cursor.lines === null ? null : cursor.lines + facts.lines;
    }
    this.#udf.countRows(settled.value.threadId, value.rows);
    this.#rowsSettled += value.rows;
    return value;
  }

  #located(error: unknown, file: string, split: PlannedSplit): unknown {
    if (!ModelError.is(error)) return error;
    const d = error.details;
    if (typeof d['rowInSplit'] === 'number' && typeof d['rowsInChunk'] === 'number') {
      const a = this.#rowsSettled + d['rowInSplit'];
      const b = a + d['rowsInChunk'] - 1;
      return new ModelError(error.code, `${file}: rows ${a}..${b}: ${error.message}`, {
        details: { ...d, file, rowStart: a, rowEnd: b + 1, split: split.index },
        cause: error.cause ?? error,
      });
    }
    return error;
  }
}
