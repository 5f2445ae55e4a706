/**
 * `jsfunc score`: batch scoring of a file or dataset through {@link scoreFiles}: splits of the
 * input are read, scored and encoded on the worker threads; the output is written in input
 * order, atomically (a failed run leaves no output at all).
 *
 * Output columns: the input's columns in their order, then the prediction. A struct result
 * (several output fields, e.g. `label string, score double`) becomes one top-level column per
 * field named `<output-column>.<field>`, in every format: CSV has no nested cells, and the same
 * flat columns read back alike from Parquet, Arrow, CSV and NDJSON. Input columns with those
 * names are replaced, as the prediction column itself is.
 *
 * @module
 */
import { ModelError } from '../../errors.js';
import type { ShardSpec } from '../../io/dataset-output.js';
import { FORMAT_EXTENSIONS, type Format } from '../../io/format.js';
import { scoreFiles, type ScoreFilesSummary, type ScoreProgress } from '../../score/score-files.js';
import { flattenStructColumn } from '../../udf/append-result.js';
import {
  loadTimeoutFlag,
  optionalInt,
  optionalJsonObject,
  optionalList,
  optionalString,
  requireString,
  kTrackingUriOption,
  trackingUriFlag,
} from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { Progress, formatCount } from '../progress.js';

const usage =
  'score -m MODEL -i INPUT -o OUTPUT [--columns a,b] [--result-type T] [--output-column NAME] ' +
  '[--workers N] [--batch-size N] [--params JSON] [--model-config JSON] [--timeout-ms N] ' +
  '[--load-timeout-ms N] [--retries N] ' +
  '[--output-format F] [--shard I/N] [--json]';

/** What a finished `score` run reports (the `--json` summary). */
export type ScoreSummary = ScoreFilesSummary;

export { flattenStructColumn };

function summaryLine(s: ScoreSummary): string {
  const loads = `${s.modelLoads} model load${s.modelLoads === 1 ? '' : 's'}`;
  const d = s.dataset;
  const shard =
    d === undefined
      ? ''
      : d.shard.count > 1
        ? ` (shard ${d.shard.index}/${d.shard.count}; ${d.committed ? 'all shards done: _SUCCESS written' : `waiting for shard${d.missing.length === 1 ? '' : 's'} ${d.missing.join(', ')}`})`
        : ' (_SUCCESS written)';
  return (
    `jsfunc: scored ${formatCount(s.rows)} row${s.rows === 1 ? '' : 's'} in ${s.seconds.toFixed(2)} s ` +
    `(${formatCount(s.rowsPerSecond)} rows/s), ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${loads} -> ${s.output}${shard}\n`
  );
}

/**
 * Parses `--shard I/N` (0-based I below N). Kubernetes indexed Jobs and Slurm arrays give I in
 * `JOB_COMPLETION_INDEX` / `SLURM_ARRAY_TASK_ID`: `--shard $JOB_COMPLETION_INDEX/8`.
 *
 * @param text - the flag's value
 * @returns the shard
 * @throws {ModelError} E_OPTION_INVALID naming the flag and the expected form
 */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!(count >= 1 && index >= 0 && index < count)) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `--shard must be I/N with 0 <= I < N (e.g. 0/4), found "${text}"`,
      { details: { option: 'shard', value: text } }
    );
  }
  return { index, count };
}

/**
 * Runs a scoring job (the body of `jsfunc score`, callable from scripts) with a progress bar.
 *
 * @param options - the parsed flags
 * @param ctx - output and warnings
 * @returns the summary
 * @throws {ModelError} as {@link scoreFiles}; never leaves output
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
    loadTimeoutMs?: number;
    retries?: number;
    outputFormat?: Format;
    shard?: ShardSpec;
    trackingUri?: string;
  },
  ctx: CommandContext
): Promise<ScoreSummary> {
  const { model, input, output, ...rest } = options;
  let progress: Progress | undefined;
  const onProgress = (p: ScoreProgress) => {
    progress ??= new Progress(ctx.io.stderr, { tty: ctx.io.isTTY, columns: ctx.io.columns ?? 80 });
    // Rows are exact from Parquet footers; for text and IPC inputs, estimated from the bytes
    // covered so far.
    if (p.totalRows !== null) progress.setTotal({ rows: p.totalRows, exact: true });
    else if (p.bytes > 0 && p.rows > 0) {
      progress.setTotal({ rows: Math.round((p.rows / p.bytes) * p.totalBytes), exact: false });
    }
    progress.update(p.rows);
  };
  try {
    return await scoreFiles(model, input, output, {
      ...rest,
      warn: ctx.warn,
      onProgress,
      ...(ctx.io.signal !== undefined ? { signal: ctx.io.signal } : {}),
    });
  } finally {
    progress?.finish();
  }
}

function shardFlag(text: string | undefined): ShardSpec | undefined {
  return text === undefined ? undefined : parseShard(text);
}

function outputFormatFlag(text: string | undefined): Format | undefined {
  if (text === undefined) return undefined;
  const format = FORMAT_EXTENSIONS[`.${text.toLowerCase().replace(/^\./, '')}`];
  if (format === undefined || format === 'json') {
    throw new ModelError(
      'E_OPTION_INVALID',
      `--output-format must be parquet, arrow, arrows, csv or ndjson, found "${text}"`,
      { details: { option: 'output-format', value: text } }
    );
  }
  return format;
}

/** The `score` command. */
export const scoreCommand: Command = {
  name: 'score',
  summary: 'score a Parquet/Arrow/CSV/NDJSON file on worker threads, writing input + prediction',
  usage,
  help: `usage: jsfunc ${usage}

Scores every row of INPUT with the model on a worker-thread pool (each worker loads the model
once) and writes OUTPUT: the input's columns, in order, plus the prediction column(s), same row
order. The input is split (Parquet row groups, Arrow batches, CSV/NDJSON byte ranges) and every
split is read, scored and encoded on a worker. Formats by extension: .parquet, .arrow/.feather
(IPC file), .arrows (IPC stream), .csv, .ndjson/.jsonl. CSV and NDJSON values are typed by the
model's input signature. An output FILE is written to a temporary file and renamed at the end:
a failed run leaves no output.

INPUT may be a file, a directory or a glob ('data/*.parquet', quoted) of files of one format,
read as one table in path order; 'key=value' directories (Hive partitions) add columns.
OUTPUT may be a directory (a path ending in /, an existing directory, or a name without an
extension): a dataset in Spark's layout, one part-NNNNN-<job>.<ext> per split and _SUCCESS
last, which DuckDB, Polars, Spark and pandas read as one table.

  -m, --model MODEL        model package directory, or a model URI
      --tracking-uri URI   MLflow tracking URI for models:/ and runs:/ URIs
                           (default MLFLOW_TRACKING_URI, else ./mlruns)
  -i, --input PATH         input file, directory or glob
  -o, --output PATH        output file (replaced if it exists) or dataset directory
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
      --load-timeout-ms N  fail when a worker takes longer than N ms to load the model
                           (default 120000; 0 = no limit)
      --retries N          re-run a batch whose worker crashed, up to N times (default 0)
      --output-format F    format of a dataset OUTPUT directory: parquet, arrow, arrows, csv,
                           ndjson (default: the input's)
      --shard I/N          score only shard I (0-based) of N into the OUTPUT directory; every
                           shard runs with the same flags; the last one to finish writes
                           _SUCCESS (or run 'jsfunc commit OUTPUT'). E.g. in a Kubernetes
                           indexed Job: --shard $JOB_COMPLETION_INDEX/N
      --json               print the summary as JSON on stdout
  -v, --verbose            stack traces on errors

Progress: a bar on a terminal (rows, rows/s, ETA), else one summary line on stderr at the end
(rows, seconds, rows/s, workers, model loads).
`,
  options: {
    model: { type: 'string', short: 'm' },
    'tracking-uri': kTrackingUriOption,
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
    'load-timeout-ms': { type: 'string' },
    retries: { type: 'string' },
    'output-format': { type: 'string' },
    shard: { type: 'string' },
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
        ...opt('loadTimeoutMs', loadTimeoutFlag(values)),
        ...opt('retries', optionalInt(values, 'retries', 0)),
        ...opt('outputFormat', outputFormatFlag(optionalString(values, 'output-format'))),
        ...opt('shard', shardFlag(optionalString(values, 'shard'))),
        ...trackingUriFlag(values),
      },
      ctx
    );
    if (values['json'] === true) ctx.io.stdout.write(`${JSON.stringify(summary)}\n`);
    else ctx.io.stderr.write(summaryLine(summary));
    return 0;
  },
};
