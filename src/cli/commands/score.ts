/**
 * `jsfunc score`: batch scoring of a file through `sparkUdf.mapBatches`, streaming batch by
 * batch with bounded memory, written atomically (temporary file + rename; any failure removes
 * it, so a failed run leaves no output at all).
 *
 * Output columns: the input's columns in their order, then the prediction. A struct result
 * (several output fields, e.g. `label string, score double`) becomes one top-level column per
 * field named `<output-column>.<field>`, in every format: CSV has no nested cells, and the same
 * flat columns read back alike from Parquet, Arrow, CSV and NDJSON. Input columns with those
 * names are replaced, as the prediction column itself is.
 *
 * @module
 */
import { stat } from 'node:fs/promises';
import { Field, RecordBatch, Schema, Struct, Table, Type, makeData } from 'apache-arrow';
import { ModelError } from '../../errors.js';
import { assertReadable } from '../../io/file-errors.js';
import { detectFormat } from '../../io/format.js';
import { readAhead, readBatches } from '../../io/read-batches.js';
import { createBatchWriter } from '../../io/write-batches.js';
import { readMLmodel } from '../../package/mlmodel.js';
import { createPool } from '../../pool/pool.js';
import { emptyBatch } from '../../io/text-columns.js';
import { applyMapping, resolveColumns } from '../../udf/column-mapping.js';
import { inferResultType, parseResultType, resultTypeToArrow } from '../../udf/result-type.js';
import { sparkUdf, type SparkUdf, type SparkUdfStats } from '../../udf/spark-udf.js';
import {
  optionalInt,
  optionalJsonObject,
  optionalList,
  optionalString,
  requireString,
} from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { Progress, formatCount } from '../progress.js';
import { IpcRowEstimator, estimateRowTotal } from '../row-count.js';

const usage =
  'score -m MODEL -i INPUT -o OUTPUT [--columns a,b] [--result-type T] [--output-column NAME] ' +
  '[--workers N] [--batch-size N] [--params JSON] [--model-config JSON] [--timeout-ms N] [--retries N] [--json]';

/** What a finished `score` run reports (the `--json` summary). */
export interface ScoreSummary {
  input: string;
  output: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Pool size. */
  workers: number;
  /** Worker threads that scored at least one batch. */
  workersUsed: number;
  modelLoads: number;
  batches: number;
  retries: number;
}

/**
 * Replaces a struct column by one column per field, `<name>.<field>`; other batches pass as
 * they are. Rows where the struct itself is null become null in every field column.
 *
 * @param batch - a scored batch
 * @param name - the prediction column
 * @returns the flattened batch
 */
export function flattenStructColumn(batch: RecordBatch, name: string): RecordBatch {
  const index = batch.schema.fields.findIndex((f) => f.name === name);
  const field = batch.schema.fields[index];
  if (field === undefined || field.type.typeId !== Type.Struct) return batch;
  const structData = batch.data.children[index]!;
  const only = new Schema([field]);
  const single = new RecordBatch(
    only,
    makeData({
      type: new Struct(only.fields),
      length: batch.numRows,
      children: [structData],
      nullCount: 0,
    })
  );
  const parts = applyMapping(new Table(single), { kind: 'struct', source: name });
  const partData = parts.batches[0]?.data.children ?? [];
  const flatFields = parts.schema.fields.map(
    (f) => new Field(`${name}.${f.name}`, f.type, true, f.metadata)
  );
  const flatNames = new Set(flatFields.map((f) => f.name));
  const keep = batch.schema.fields
    .map((f, i) => [f, i] as const)
    .filter(([f]) => f.name !== name && !flatNames.has(f.name));
  const fields = [...keep.map(([f]) => f), ...flatFields];
  const children = [...keep.map(([, i]) => batch.data.children[i]!), ...partData];
  const data = makeData({
    type: new Struct(fields),
    length: batch.numRows,
    children,
    nullCount: 0,
  });
  return new RecordBatch(new Schema(fields, batch.schema.metadata), data);
}

async function* prepend<T>(first: T, rest: AsyncIterator<T>): AsyncGenerator<T> {
  try {
    yield first;
    for (;;) {
      const next = await rest.next();
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

function summaryLine(s: ScoreSummary): string {
  const loads = `${s.modelLoads} model load${s.modelLoads === 1 ? '' : 's'}`;
  return (
    `jsfunc: scored ${formatCount(s.rows)} rows in ${s.seconds.toFixed(2)} s ` +
    `(${formatCount(s.rowsPerSecond)} rows/s), ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${loads} -> ${s.output}\n`
  );
}

/**
 * Runs a scoring job (the body of `jsfunc score`, callable from scripts).
 *
 * @param options - the parsed flags
 * @param ctx - output and warnings
 * @returns the summary
 * @throws {ModelError} E_FILE_NOT_FOUND (input), E_FORMAT_UNSUPPORTED (extension),
 *   E_OPTION_INVALID (workers < 1), E_MLMODEL_MISSING, E_SCHEMA_MISMATCH (a column the model needs is not in the file, before
 *   scoring starts), E_FORMAT_MALFORMED (bad row), and any scoring error; never leaves output
 */
export async function scoreFile(
  options: {
    model: string;
    input: string;
    output: string;
    columns?: string[];
    resultType?: string;
    outputColumn?: string;
    workers?: number;
    batchSize?: number;
    params?: Record<string, unknown>;
    modelConfig?: Record<string, unknown>;
    timeoutMs?: number;
    retries?: number;
  },
  ctx: CommandContext
): Promise<ScoreSummary> {
  const started = performance.now();
  const { model, input, output } = options;
  const outputColumn = options.outputColumn ?? 'prediction';
  const signal = ctx.io.signal;
  // Cheap checks first, in the order a user fixes them: formats, input file, model package.
  const inFormat = detectFormat(input);
  const outFormat = detectFormat(output);
  if (inFormat === 'json') {
    throw new ModelError(
      'E_FORMAT_UNSUPPORTED',
      `${input}: score reads .parquet, .arrow, .arrows, .csv and .ndjson/.jsonl files; .json is an MLflow request body (use 'jsfunc predict').`,
      { details: { path: input, format: inFormat } }
    );
  }
  const writer = createBatchWriter(output, { format: outFormat });
  await assertReadable(input);
  // Start the worker threads before anything else: they take longer to start (imports, then the
  // model load on their first batch) than everything below, which runs meanwhile. The pool is
  // this run's own (closed at the end), so it starts before the UDF has read the package. UDF
  // errors (bad params, result type) are still reported after the model package, the input's
  // first batch and its columns checked out.
  const pool = createPool(options.workers !== undefined ? { workers: options.workers } : {});
  const starting = sparkUdf(model, {
    warn: ctx.warn,
    pool,
    ...(options.resultType !== undefined ? { resultType: options.resultType } : {}),
    ...(options.params !== undefined ? { params: options.params } : {}),
    ...(options.modelConfig !== undefined ? { modelConfig: options.modelConfig } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(signal !== undefined ? { signal } : {}),
  });
  starting.catch(() => undefined); // observed below, or closed in `finally`
  let udf: SparkUdf | undefined;
  let failed = true;
  let rows = 0;
  let stats: SparkUdfStats | undefined;
  let progress: Progress | undefined;
  let source: AsyncGenerator<RecordBatch> | undefined;
  // The write in progress: scoring the next batch overlaps it (at most one at a time).
  let writing: Promise<void> | undefined;
  try {
    const metadata = await readMLmodel(model);
    const schema = metadata.signature?.inputs ?? null;
    const total = estimateRowTotal(input, inFormat);
    // Read ahead in the background (bounded): batches are read while the pool starts and while
    // earlier batches are scored and written, not only when the UDF asks for the next one.
    source = readAhead(
      readBatches(input, {
        format: inFormat,
        schema,
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(signal !== undefined ? { signal } : {}),
        warn: ctx.warn,
      })
    );
    const first = await source.next();
    progress = new Progress(ctx.io.stderr, {
      tty: ctx.io.isTTY,
      columns: ctx.io.columns ?? 80,
      total: await total,
    });
    if (first.done === true) {
      // No batch at all (an NDJSON file with no rows, a CSV file without even a header): the
      // output still gets the prediction column(s), so binary formats have a schema and text
      // formats a header. A header-only CSV yields an empty batch and takes the path below.
      const rt =
        options.resultType !== undefined
          ? parseResultType(options.resultType)
          : inferResultType(metadata.signature?.outputs ?? null, () => {});
      const empty = flattenStructColumn(
        emptyBatch(new Schema([new Field(outputColumn, resultTypeToArrow(rt), true)])),
        outputColumn
      );
      await writer.write(empty);
      await writer.close();
    } else {
      // Map columns on the first batch before any batch is scored, so a missing column fails
      // fast and names the file.
      try {
        resolveColumns(schema, first.value.schema, options.columns);
      } catch (e) {
        if (ModelError.is(e)) {
          throw new ModelError(e.code, `${input}: ${e.message}`, {
            details: { ...e.details, path: input },
            cause: e,
          });
        }
        throw e;
      }
      udf = await starting;
      const ipc =
        inFormat === 'arrow' || inFormat === 'arrows'
          ? new IpcRowEstimator((await stat(input)).size)
          : undefined;
      const bar = progress;
      const observed =
        ipc === undefined ? prepend(first.value, source) : observe(prepend(first.value, source));
      async function* observe(batches: AsyncGenerator<RecordBatch>): AsyncGenerator<RecordBatch> {
        for await (const b of batches) {
          bar.setTotal(ipc!.observe(b));
          yield b;
        }
      }
      const mapOptions = {
        outputColumn,
        ...(options.columns !== undefined ? { columns: options.columns } : {}),
      };
      for await (const scored of udf.mapBatches(observed, mapOptions)) {
        const flat = flattenStructColumn(scored, outputColumn);
        await writing;
        writing = writer.write(flat).then(() => {
          rows += flat.numRows;
          bar.update(rows);
        });
        writing.catch(() => undefined); // a failure is thrown by the next `await writing`
      }
      await writing;
      stats = udf.stats();
      // Every batch is scored: stopping the pool overlaps finishing the file.
      await Promise.all([writer.close(), udf.close().then(() => pool.close())]);
    }
    failed = false;
  } finally {
    progress?.finish();
    if (failed) {
      await writing?.catch(() => undefined);
      await writer.abort();
    }
    await source?.return(undefined).catch(() => undefined);
    const pending = udf ?? (await starting.catch(() => undefined));
    if (pending !== undefined) {
      stats ??= pending.stats();
      await pending.close({ cancel: failed });
    }
    await pool.close();
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
    batches: stats?.batches ?? 0,
    retries: stats?.retries ?? 0,
  };
}

/** The `score` command. */
export const scoreCommand: Command = {
  name: 'score',
  summary: 'score a Parquet/Arrow/CSV/NDJSON file on worker threads, writing input + prediction',
  usage,
  help: `usage: jsfunc ${usage}

Scores every row of INPUT with the model on a worker-thread pool (each worker loads the model
once) and writes OUTPUT: the input's columns, in order, plus the prediction column(s), same row
order. Streams batch by batch. Formats by extension: .parquet, .arrow/.feather (IPC file),
.arrows (IPC stream), .csv, .ndjson/.jsonl. CSV and NDJSON values are typed by the model's
input signature. OUTPUT is written to a temporary file and renamed at the end: a failed run
leaves no output.

  -m, --model DIR          model package directory
  -i, --input FILE         input file
  -o, --output FILE        output file (replaced if it exists)
      --columns a,b        input columns, by position onto the signature's inputs
                           (default: the signature's names)
      --result-type T      Spark DDL result type: double, array<float>, 'label string,
                           score double', ... (default: from the output signature)
      --output-column NAME prediction column (default prediction). A struct result becomes
                           one column per field, NAME.<field> (e.g. prediction.label,
                           prediction.score), in every format.
      --workers N          worker threads (default: the machine's cores)
      --batch-size N       most rows per batch sent to a worker (default 65536)
      --params JSON        inference params, validated against the params schema
      --model-config JSON  overrides of the saved model config
      --timeout-ms N       fail a batch that runs longer than N ms on its worker
      --retries N          re-run a batch whose worker crashed, up to N times (default 0)
      --json               print the summary as JSON on stdout
  -v, --verbose            stack traces on errors

Progress: a bar on a terminal (rows, rows/s, ETA), else one summary line on stderr at the end
(rows, seconds, rows/s, workers, model loads).
`,
  options: {
    model: { type: 'string', short: 'm' },
    input: { type: 'string', short: 'i' },
    output: { type: 'string', short: 'o' },
    columns: { type: 'string' },
    'result-type': { type: 'string' },
    'output-column': { type: 'string' },
    workers: { type: 'string' },
    'batch-size': { type: 'string' },
    params: { type: 'string' },
    'model-config': { type: 'string' },
    'timeout-ms': { type: 'string' },
    retries: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, _positionals, ctx) {
    const outputColumn = optionalString(values, 'output-column');
    if (outputColumn === '') {
      throw new ModelError(
        'E_OPTION_INVALID',
        '--output-column must be a non-empty name, found ""',
        {
          details: { option: 'output-column' },
        }
      );
    }
    const opt = <K extends string, V>(key: K, v: V | undefined) =>
      v === undefined ? {} : ({ [key]: v } as { [P in K]: V });
    const summary = await scoreFile(
      {
        model: requireString(values, 'model', 'score'),
        input: requireString(values, 'input', 'score'),
        output: requireString(values, 'output', 'score'),
        ...opt('columns', optionalList(values, 'columns')),
        ...opt('resultType', optionalString(values, 'result-type')),
        ...opt('outputColumn', outputColumn),
        ...opt('workers', optionalInt(values, 'workers')),
        ...opt('batchSize', optionalInt(values, 'batch-size')),
        ...opt('params', optionalJsonObject(values, 'params')),
        ...opt('modelConfig', optionalJsonObject(values, 'model-config')),
        ...opt('timeoutMs', optionalInt(values, 'timeout-ms')),
        ...opt('retries', optionalInt(values, 'retries', 0)),
      },
      ctx
    );
    if (values['json'] === true) ctx.io.stdout.write(`${JSON.stringify(summary)}\n`);
    else ctx.io.stderr.write(summaryLine(summary));
    return 0;
  },
};
