/**
 * `jsfunc serve -m MODEL [-p PORT] [--workers W] ...`: MLflow's scoring server (`mlflow models
 * serve`) for a package, until Ctrl-C. Thin: every behaviour is `serve()`'s (`server/listen.ts`).
 *
 * @module
 */
import { serve } from '../../server/listen.js';
import {
  loadTimeoutFlag,
  optionalInt,
  optionalJsonObject,
  optionalString,
  requireString,
  kTrackingUriOption,
  trackingUriFlag,
} from '../args.js';
import type { Command } from '../command.js';

const usage =
  'serve -m MODEL [--tracking-uri URI] [-p PORT] [--host HOST] [--workers W] [--max-batch-rows N] ' +
  '[--max-wait-us N] [--timeout-ms N] [--load-timeout-ms N] [--max-body-bytes N] ' +
  '[--max-buffered-bytes N] [--model-config JSON] [--debug-errors]';

/** The `serve` command. */
export const serveCommand: Command = {
  name: 'serve',
  summary: "serve a package over HTTP with MLflow's scoring protocol (/invocations, /ping)",
  usage,
  help: `usage: jsfunc ${usage}

Loads the model once and answers MLflow's scoring-server protocol: POST /invocations with
application/json (dataframe_split, dataframe_records, instances, inputs, optional params),
text/csv or application/vnd.apache.arrow.stream, returning {"predictions": ...} (or an Arrow IPC
stream with "Accept: application/vnd.apache.arrow.stream"); GET /ping, /health and /version.
Errors are MLflow's {"error_code", "message"} bodies. Runs until Ctrl-C, then lets in-flight
requests finish.

  -m, --model MODEL          model package directory, or a model URI (models:/, runs:/)
      --tracking-uri URI     MLflow tracking URI for models:/ and runs:/ URIs
                             (default MLFLOW_TRACKING_URI, else ./mlruns)
  -p, --port N               TCP port (default 5000, as mlflow models serve; 0 picks a free one)
      --host HOST            interface to bind (default 127.0.0.1)
      --workers W            score on W worker threads (the sparkUdf pool, the model loaded once
                             in each), merging concurrent requests into batches; the main thread
                             only does HTTP, so /ping answers and 504s leave on time while a
                             model runs. Default 0: predict on the main thread, one call per
                             request (fastest for trivial models)
      --max-batch-rows N     with --workers: a batch goes to a free worker once it holds N rows,
                             and no predict call gets more (a larger request is scored alone;
                             1 never merges). Default 1024
      --max-wait-us N        with --workers: longest a queued request waits for others before
                             its batch goes to a free worker (rounded up to whole ms). Default 0:
                             requests merge while every worker is busy
      --timeout-ms N         per-request limit, answered with 504 "Request processing time
                             exceeded limit" (default 60000). With --workers the 504 leaves on
                             time even while a synchronous model runs: a request still queued
                             is withdrawn (never scored); a running batch keeps running for the
                             other requests in it (the late result is dropped); a batch that
                             itself runs N ms is cancelled: its worker is terminated and replaced
                             (the model loaded again), its requests all answered 504 by then.
                             Without --workers a synchronous predict holds the event loop, so
                             its answer (result or 504) leaves only when it returns; an async
                             predict keeps running, its result dropped (as MLflow's server)
      --load-timeout-ms N    fail with E_LOAD_TIMEOUT (exit 24) when loading the model takes
                             longer (default 120000; 0: no limit)
      --max-body-bytes N     largest request body; larger ones get 413 (default 104857600)
      --max-buffered-bytes N most bytes of request bodies held at once; beyond it requests get
                             503 with Retry-After, unread (default 268435456)
      --model-config JSON    overrides of the saved model config
      --debug-errors         send stack traces in error bodies ("stack_trace", as MLflow does).
                             They name this machine's files and install paths: debugging only.
                             Without it they are only written to stderr (the server log).
  -v, --verbose              stack traces on errors

Ctrl-C (SIGINT) or SIGTERM stops the server and exits 0 once in-flight requests have finished.
`,
  options: {
    model: { type: 'string', short: 'm' },
    'tracking-uri': kTrackingUriOption,
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    workers: { type: 'string' },
    'max-batch-rows': { type: 'string' },
    'max-wait-us': { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'max-buffered-bytes': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'load-timeout-ms': { type: 'string' },
    'model-config': { type: 'string' },
    'debug-errors': { type: 'boolean' },
  },
  async run(values, _positionals, ctx) {
    const model = requireString(values, 'model', 'serve');
    const server = await serve(model, {
      port: optionalInt(values, 'port', 0) ?? 5000,
      host: optionalString(values, 'host') ?? '127.0.0.1',
      timeoutMs: optionalInt(values, 'timeout-ms'),
      workers: optionalInt(values, 'workers', 0),
      maxBatchRows: optionalInt(values, 'max-batch-rows'),
      maxWaitUs: optionalInt(values, 'max-wait-us', 0),
      maxBodyBytes: optionalInt(values, 'max-body-bytes'),
      maxBufferedBytes: optionalInt(values, 'max-buffered-bytes'),
      loadTimeoutMs: loadTimeoutFlag(values),
      modelConfig: optionalJsonObject(values, 'model-config'),
      ...trackingUriFlag(values),
      warn: ctx.warn,
      debugErrors: values['debug-errors'] === true,
      log: (text) => ctx.io.stderr.write(`${text}\n`),
      ...(ctx.io.signal !== undefined ? { signal: ctx.io.signal } : {}),
    });
    const mode = server.workers > 0 ? `${server.workers} workers` : 'main thread';
    ctx.io.stderr.write(`jsfunc: serving ${model} at ${server.url} on ${mode} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      if (ctx.io.signal === undefined) return;
      if (ctx.io.signal.aborted) resolve();
      else ctx.io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  },
};
