/**
 * `jsfunc predict`: MLflow's `mlflow models predict` for a jsfunc package. The model is loaded
 * in this process with `loadModel`; the request is one of MLflow's JSON forms or CSV, parsed
 * with the model's input signature as MLflow's scoring server does; the answer is
 * `{"predictions": ...}`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ModelError } from '../../errors.js';
import { removeStaleTempFiles } from '../../io/dataset-output.js';
import { fileNotFound } from '../../io/file-errors.js';
import { formatPredictions, parseCsvRequest, parseMlflowRequest } from '../../io/mlflow-json.js';
import { loadModel } from '../../package/load-model.js';
import { checkLoadTimeoutMs, withLoadTimeout } from '../../pool/load-timeout.js';
import { releaseModel } from '../../pool/model-cache.js';
import type { Params } from '../../signature/types.js';
import {
  UsageError,
  loadTimeoutFlag,
  optionalJsonObject,
  optionalString,
  type FlagValues,
  kTrackingUriOption,
  trackingUriFlag,
} from '../args.js';
import type { CliIo, Command } from '../command.js';
import { writeFileAtomic } from '../write-file-atomic.js';

const usage =
  'predict -m MODEL [-i INPUT|-] [-o OUTPUT] [-t json|csv] [--params JSON] [--model-config JSON] ' +
  '[--load-timeout-ms N]';

/**
 * Waits for `work` unless `signal` aborts first (the bin aborts on SIGINT/SIGTERM): the work
 * itself cannot be cancelled (a model's predict), only the waiting.
 *
 * @throws the signal's reason when it is a ModelError (E_INTERRUPTED from the bin), else E_ABORTED
 */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const reason: unknown = signal.reason;
      reject(
        ModelError.is(reason)
          ? reason
          : new ModelError('E_ABORTED', 'predict was aborted', { cause: reason })
      );
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      }
    );
  });
}

/** Reads a flag given under its jsfunc name or its `mlflow models predict` name. */
function either(values: FlagValues, name: string, alias: string): string | undefined {
  const a = optionalString(values, name);
  const b = optionalString(values, alias);
  if (a !== undefined && b !== undefined)
    throw new UsageError(`give --${name} or --${alias}, not both`, 'predict');
  return a ?? b;
}

async function readStdin(io: CliIo): Promise<string> {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of io.stdin ?? process.stdin) {
    chunks.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  chunks.push(decoder.decode());
  return chunks.join('');
}

/**
 * Picks the request content type: `-t`, else `.csv` means CSV, else JSON (MLflow's default).
 *
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for a `-t` other than json or csv
 */
function contentType(flag: string | undefined, input: string | undefined): 'json' | 'csv' {
  if (flag !== undefined) {
    const t = flag.toLowerCase().replace(/^(application|text)\//, '');
    if (t === 'json' || t === 'csv') return t;
    throw new ModelError(
      'E_FORMAT_UNSUPPORTED',
      `--content-type must be json or csv (or application/json, text/csv), found '${flag}'`,
      { details: { option: 'content-type', value: flag } }
    );
  }
  return input !== undefined && input !== '-' && extname(input).toLowerCase() === '.csv'
    ? 'csv'
    : 'json';
}

/** The `predict` command. */
export const predictCommand: Command = {
  name: 'predict',
  summary: "score one request (MLflow JSON or CSV) in-process, like 'mlflow models predict'",
  usage,
  help: `usage: jsfunc ${usage}

Loads the model in this process and scores one request, like 'mlflow models predict'.

  -m, --model MODEL         model package directory (alias --model-uri), or a model URI
      --tracking-uri URI    MLflow tracking URI for models:/ and runs:/ URIs
                            (default MLFLOW_TRACKING_URI, else ./mlruns)
  -i, --input FILE          request body; '-' or absent reads stdin (alias --input-path)
  -o, --output FILE         write {"predictions": ...} here (atomically); default stdout
                            (alias --output-path)
  -t, --content-type TYPE   json or csv; default: csv for a .csv input, else json
      --params JSON         inference params; merged over the body's "params" (flag wins)
      --model-config JSON   overrides of the saved model config
      --load-timeout-ms N   fail with E_LOAD_TIMEOUT (exit 24) when loading the model takes
                            longer (default 120000; 0: no limit)
  -v, --verbose             stack traces on errors

JSON bodies take MLflow's forms, with an optional sibling "params":
  {"dataframe_split": {"columns": [...], "data": [[...]]}}
  {"dataframe_records": [{...}, ...]}
  {"instances": [...]}      {"inputs": {...} or [...]}
CSV has a header row. Values are cast to the input signature's types.
Ctrl-C (SIGINT) or SIGTERM stops it with E_INTERRUPTED (exit 130).
`,
  options: {
    model: { type: 'string', short: 'm' },
    'tracking-uri': kTrackingUriOption,
    'model-uri': { type: 'string' },
    input: { type: 'string', short: 'i' },
    'input-path': { type: 'string' },
    output: { type: 'string', short: 'o' },
    'output-path': { type: 'string' },
    'content-type': { type: 'string', short: 't' },
    params: { type: 'string' },
    'model-config': { type: 'string' },
    'load-timeout-ms': { type: 'string' },
  },
  async run(values, _positionals, ctx) {
    const modelPath = either(values, 'model', 'model-uri');
    if (modelPath === undefined) throw new UsageError('missing required option --model', 'predict');
    const input = either(values, 'input', 'input-path');
    const output = either(values, 'output', 'output-path');
    const type = contentType(optionalString(values, 'content-type'), input);
    const flagParams = optionalJsonObject(values, 'params');
    const modelConfig = optionalJsonObject(values, 'model-config');
    const loadTimeoutMs = loadTimeoutFlag(values);
    const signal = ctx.io.signal;

    let body: string;
    if (input === undefined || input === '-') {
      body = await unlessAborted(readStdin(ctx.io), signal);
    } else {
      try {
        body = await readFile(input, 'utf8');
      } catch (cause) {
        throw fileNotFound(input, cause);
      }
    }

    const model = await withLoadTimeout(
      loadModel(modelPath, {
        warn: ctx.warn,
        ...trackingUriFlag(values),
        ...(modelConfig ? { modelConfig } : {}),
      }),
      {
        modelPath,
        loadTimeoutMs: checkLoadTimeoutMs(loadTimeoutMs, '--load-timeout-ms'),
        ...(signal !== undefined ? { signal } : {}),
        release: releaseModel,
      }
    );
    const schema = model.signature?.inputs ?? null;
    let table;
    let params: Params | undefined;
    if (type === 'csv') {
      table = parseCsvRequest(body, schema);
    } else {
      const request = parseMlflowRequest(body, schema);
      table = request.table;
      params = request.params;
    }
    if (flagParams !== undefined) params = { ...(params ?? {}), ...flagParams };
    const result = await unlessAborted(model.predict(table, params), signal);
    const text = `${formatPredictions(result)}\n`;
    if (output === undefined || output === '-') {
      ctx.io.stdout.write(text);
    } else {
      // Temporary files a killed run (SIGKILL) left next to the output.
      await removeStaleTempFiles(output);
      await writeFileAtomic(output, text);
    }
    return 0;
  },
};
