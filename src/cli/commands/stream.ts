/**
 * `jsfunc stream -m MODEL`: Arrow IPC stream in on stdin, scored Arrow IPC stream out on stdout.
 *
 * The process an engine pipes its batches to: Spark's `mapInArrow` (one `jsfunc stream` per
 * executor or partition), Ray, Dask or a shell pipeline. Each input batch gives exactly one
 * output batch, in input order: the input's columns plus the result (or the result alone with
 * `--result-only`). Batches are scored on the worker pool, several in flight (each worker loads
 * the model once); reading is paced by writing (back-pressure: at most `workers * 2` batches
 * are held, and a full stdout pipe stops the reading), so memory never grows with the stream.
 *
 * Failures: a coded `jsfunc: E_...` line on stderr and the code's exit status; the output
 * stream then ends without its end-of-stream marker, so a reader sees it as truncated. A
 * reader that closes stdout stops the run (E_ABORTED). SIGINT/SIGTERM: E_INTERRUPTED.
 *
 * @module
 */
import { createReadStream, fstatSync } from 'node:fs';
import {
  Field,
  RecordBatch,
  RecordBatchReader,
  Schema as ArrowSchema,
  Struct,
  Table,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { ModelError } from '../../errors.js';
import { IpcEncoder, type VectorByteSink } from '../../io/arrow-ipc.js';
import { appendResultColumn } from '../../udf/append-result.js';
import { sparkUdf, type SparkUdf } from '../../udf/spark-udf.js';
import {
  optionalInt,
  optionalJsonObject,
  optionalList,
  optionalString,
  requireString,
  kTrackingUriOption,
  trackingUriFlag,
} from '../args.js';
import type { Command } from '../command.js';

const usage =
  'stream -m MODEL [--columns a,b] [--result-type T] [--output-column NAME] [--result-only] ' +
  '[--workers N] [--batch-size N] [--params JSON] [--model-config JSON] [--retries N] [--keep-open]';

/** The `stream` command. */
export const streamCommand: Command = {
  name: 'stream',
  summary: 'score an Arrow IPC stream from stdin to stdout (for Spark mapInArrow and pipes)',
  usage,
  help: `usage: jsfunc ${usage}

Reads an Arrow IPC stream on stdin and writes the scored stream on stdout: one output batch per
input batch, in order, with the input's columns plus the result column (or only the result with
--result-only). Batches are scored on a worker pool that loads the model once per worker;
reading is paced by writing, so memory stays bounded however long the stream is.

  -m, --model MODEL        model package directory, or a model URI
      --tracking-uri URI   MLflow tracking URI for models:/ and runs:/ URIs
                           (default MLFLOW_TRACKING_URI, else ./mlruns)
      --columns a,b        input columns, by position onto the signature's inputs
      --result-type T      Spark DDL result type (default: from the output signature)
      --output-column NAME result column (default prediction); a struct result stays a struct
      --result-only        write only the result column
      --workers N          worker threads (default: the machine's cores)
      --batch-size N       split input batches larger than N rows across workers (default:
                           never; each input batch is one task, batches run in parallel)
      --params JSON        inference params, validated against the params schema
      --model-config JSON  overrides of the saved model config
      --retries N          re-run a batch whose worker crashed, up to N times (default 0)
      --keep-open          after a stream's end marker, read the next stream on stdin and write
                           its scored stream, until stdin closes: one process (its workers and
                           loaded models) serves many partitions in turn

On failure: one 'jsfunc: E_CODE: message' line on stderr, the code's exit status, and an output
stream without its end marker.
`,
  options: {
    model: { type: 'string', short: 'm' },
    'tracking-uri': kTrackingUriOption,
    columns: { type: 'string' },
    'result-type': { type: 'string' },
    'output-column': { type: 'string' },
    'result-only': { type: 'boolean' },
    workers: { type: 'string' },
    'batch-size': { type: 'string' },
    params: { type: 'string' },
    'model-config': { type: 'string' },
    retries: { type: 'string' },
    'keep-open': { type: 'boolean' },
  },
  async run(values, _positionals, ctx) {
    const model = requireString(values, 'model', 'stream');
    const outputColumn = optionalString(values, 'output-column') ?? 'prediction';
    if (outputColumn === '') {
      throw new ModelError('E_OPTION_INVALID', '--output-column must be a non-empty name', {
        details: { option: 'output-column' },
      });
    }
    const columns = optionalList(values, 'columns');
    const batchSize = optionalInt(values, 'batch-size');
    const opt = <K extends string, V>(key: K, v: V | undefined) =>
      v === undefined ? {} : ({ [key]: v } as { [P in K]: V });
    const signal = ctx.io.signal;
    const out = stdoutSink(signal);
    const udf = await sparkUdf(model, {
      warn: ctx.warn,
      ...trackingUriFlag(values),
      batchSize: batchSize ?? Number.MAX_SAFE_INTEGER,
      ...opt('resultType', optionalString(values, 'result-type')),
      ...opt('workers', optionalInt(values, 'workers')),
      ...opt('params', optionalJsonObject(values, 'params')),
      ...opt('modelConfig', optionalJsonObject(values, 'model-config')),
      ...opt('retries', optionalInt(values, 'retries', 0)),
      signal: out.signal,
    });
    let failed = true;
    try {
      const source = ctx.io.stdin ?? stdinSource();
      const score = scoreStreamWith(udf, out.sink, {
        outputColumn,
        resultOnly: values['result-only'] === true,
        ...(columns !== undefined ? { columns } : {}),
      });
      if (values['keep-open'] === true) {
        for await (const reader of openStdinStreams(source)) await score(reader);
      } else {
        await score(await openStdin(source));
      }
      failed = false;
    } catch (e) {
      throw out.signal.aborted && !(signal?.aborted ?? false) ? stdoutClosed(e) : e;
    } finally {
      await udf.close({ cancel: failed });
    }
    return 0;
  },
};

/** What scoring one stream needs besides its batches. */
interface StreamScoring {
  outputColumn: string;
  resultOnly: boolean;
  columns?: string[];
}

type StdinStream = AsyncIterable<RecordBatch> & { schema: ArrowSchema };

/** Scores one input stream to one output stream (schema, one batch per input batch, end marker). */
function scoreStreamWith(
  udf: SparkUdf,
  sink: VectorByteSink,
  { outputColumn, resultOnly, columns }: StreamScoring
): (reader: StdinStream) => Promise<void> {
  return async (reader) => {
    const schema = outputSchema(reader.schema, outputColumn, udf.arrowType, resultOnly);
    const encoder = new IpcEncoder(sink, 'stream', schema);
    // Input batch sizes, in order: a batch larger than --batch-size comes back in pieces,
    // joined again so that every input batch gives one output batch.
    const sizes: number[] = [];
    async function* inputs(): AsyncGenerator<RecordBatch> {
      for await (const batch of reader) {
        sizes.push(batch.numRows);
        yield batch;
      }
    }
    let pieces: RecordBatch[] = [];
    let rows = 0;
    const mapOptions = { outputColumn, ...(columns !== undefined ? { columns } : {}) };
    for await (const scored of udf.mapBatches(inputs(), mapOptions)) {
      pieces.push(scored);
      rows += scored.numRows;
      if (rows < (sizes[0] ?? 0)) continue;
      sizes.shift();
      const whole = joinBatches(pieces);
      pieces = [];
      rows = 0;
      await encoder.write(resultOnly ? onlyColumn(whole, outputColumn) : whole);
    }
    // Zero-row batches never reach the model; they still give one (empty) output batch.
    await encoder.finish();
  };
}

/** The output schema: the input's columns plus the result (or the result alone). */
function outputSchema(
  input: ArrowSchema,
  column: string,
  type: DataType,
  resultOnly: boolean
): ArrowSchema {
  const field = new Field(column, type, true);
  if (resultOnly) return new ArrowSchema([field]);
  const empty = new RecordBatch(
    input,
    makeData({
      type: new Struct(input.fields),
      length: 0,
      children: input.fields.map((f) => vectorFromArray([], f.type).data[0]!),
      nullCount: 0,
    })
  );
  return appendResultColumn(empty, column, vectorFromArray([], type)).schema;
}

/**
 * stdin: read in 1 MiB pieces when it is a regular file (`jsfunc stream < in.arrows`), which
 * halves the reads and the joining of pieces into messages against the 64 KiB `process.stdin`
 * reads; a pipe or a terminal is `process.stdin` itself (a pipe hands over at most its buffer
 * per read anyway, and `fs` reads of a non-blocking pipe fail with EAGAIN).
 */
function stdinSource(): AsyncIterable<string | Uint8Array> {
  let file = false;
  try {
    file = fstatSync(0).isFile();
  } catch {
    // no stdin: process.stdin reports it
  }
  return file
    ? createReadStream('', { fd: 0, highWaterMark: 1 << 20, autoClose: false })
    : process.stdin;
}

/**
 * Every stream on stdin, one after the other (`--keep-open`): a stream's end marker is followed
 * by the next stream's schema. No bytes at all is no stream (the run ends with nothing written).
 */
async function* openStdinStreams(
  input: AsyncIterable<string | Uint8Array>
): AsyncGenerator<StdinStream, void, undefined> {
  const readers = RecordBatchReader.readAll(stdinBytes(input)) as AsyncIterable<
    RecordBatchReader & AsyncIterable<RecordBatch>
  >;
  const it = readers[Symbol.asyncIterator]();
  for (let index = 0; ; index++) {
    let next: IteratorResult<RecordBatchReader & AsyncIterable<RecordBatch>>;
    try {
      next = await it.next();
    } catch (e) {
      throw malformed(`stream ${index + 1} on stdin is not an Arrow IPC stream`, e);
    }
    if (next.done === true) return;
    yield guarded(next.value.schema, next.value, true);
  }
}

async function* stdinBytes(input: AsyncIterable<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

function malformed(what: string, cause: unknown): ModelError {
  return new ModelError(
    'E_FORMAT_MALFORMED',
    `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
    { details: { file: 'stdin' }, cause }
  );
}

/**
 * A reader's batches with malformed messages reported as coded errors. With `oneStream`, the
 * batches end at the placeholder apache-arrow yields for a stream without batches: its reader
 * (21.x) returns that empty batch at the end marker without ending, and would go on reading
 * the next stream's batches as its own.
 */
function guarded(
  schema: ArrowSchema,
  it: AsyncIterable<RecordBatch>,
  oneStream = false
): StdinStream {
  return {
    schema,
    async *[Symbol.asyncIterator]() {
      try {
        for await (const batch of it) {
          yield batch;
          if (oneStream && batch.constructor.name === '_InternalEmptyPlaceholderRecordBatch') break;
        }
      } catch (e) {
        if (ModelError.is(e)) throw e;
        throw malformed('stdin: a malformed Arrow IPC message', e);
      }
    },
  };
}

async function openStdin(input: AsyncIterable<string | Uint8Array>): Promise<StdinStream> {
  let reader;
  try {
    reader = await RecordBatchReader.from(stdinBytes(input));
    await reader.open();
  } catch (e) {
    throw malformed('stdin is not an Arrow IPC stream', e);
  }
  if (reader.schema === undefined || reader.schema === null) {
    throw new ModelError(
      'E_FORMAT_MALFORMED',
      'stdin holds no Arrow IPC stream (no schema message): expected an Arrow IPC stream, as pyarrow.ipc.new_stream or Spark mapInArrow write it',
      { details: { file: 'stdin' } }
    );
  }
  return guarded(reader.schema, reader as AsyncIterable<RecordBatch>);
}

/** One batch from the pieces of one input batch (the pieces themselves when there is one). */
function joinBatches(pieces: RecordBatch[]): RecordBatch {
  if (pieces.length === 1) return pieces[0]!;
  const table = new Table(pieces);
  const fields = table.schema.fields;
  const children: Data[] = fields.map((f, i) => {
    const column = table.getChildAt(i)!;
    return column.data.length === 1
      ? column.data[0]!
      : vectorFromArray([...column], f.type).data[0]!;
  });
  return new RecordBatch(
    table.schema,
    makeData({ type: new Struct(fields), length: table.numRows, children, nullCount: 0 })
  );
}

function onlyColumn(batch: RecordBatch, name: string): RecordBatch {
  const at = batch.schema.fields.findIndex((f) => f.name === name);
  return batch.selectAt([at]);
}

function stdoutClosed(cause: unknown): ModelError {
  return new ModelError('E_ABORTED', 'stdout was closed by its reader; scoring stopped', {
    details: { file: 'stdout' },
    cause,
  });
}

/**
 * stdout as a byte sink with back-pressure (a write waits for `drain` when the pipe is full),
 * and a signal that fires when the reader closes the pipe (EPIPE) or the run is interrupted.
 */
function stdoutSink(outer: AbortSignal | undefined): { sink: VectorByteSink; signal: AbortSignal } {
  const controller = new AbortController();
  const stdout = process.stdout;
  let broken: Error | undefined;
  const onError = (e: Error) => {
    broken = e;
    controller.abort(e);
  };
  stdout.on('error', onError);
  outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
  const write = (chunk: Uint8Array | string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (broken !== undefined) return reject(broken);
      const ok = stdout.write(chunk, (e) => (e ? reject(e) : undefined));
      if (ok) resolve();
      else stdout.once('drain', () => resolve());
    });
  return {
    signal: controller.signal,
    sink: {
      write,
      async writev(chunks) {
        for (const c of chunks) await write(c);
      },
    },
  };
}
