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
import { scoreFiles, type ScoreFilesSummary, type ScoreProgress } from '../../score/score-files.js';
import { flattenStructColumn } from '../../udf/append-result.js';
import {
  optionalInt,
  optionalJsonObject,
  optionalList,
  optionalString,
  requireString,
} from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { Progress, formatCount } from '../progress.js';

const usage =
  'score -m MODEL -i INPUT -o OUTPUT [--columns a,b] [--result-type T] [--output-column NAME] ' +
  '[--workers N] [--batch-size N] [--params JSON] [--model-config JSON] [--timeout-ms N] [--retries N] [--json]';

/** What a finished `score` run reports (the `--json` summary). */
export type ScoreSummary = ScoreFilesSummary;

export { flattenStructColumn };

function summaryLine(s: ScoreSummary): string {
  const loads = `${s.modelLoads} model load${s.modelLoads === 1 ? '' : 's'}`;
  return (
    `jsfunc: scored ${formatCount(s.rows)} row${s.rows === 1 ? '' : 's'} in ${s.seconds.toFixed(2)} s ` +
    `(${formatCount(s.rowsPerSecond)} rows/s), ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${loads} -> ${s.output}\n`
  );
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
    retries?: number;
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
