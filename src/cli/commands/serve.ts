/**
 * `jsfunc serve -m MODEL [-p PORT] [-h HOST]`: MLflow's scoring server (`mlflow models serve`)
 * for a package, until Ctrl-C.
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
} from '../args.js';
import type { Command } from '../command.js';

const usage =
  'serve -m MODEL [-p PORT] [--host HOST] [--timeout-ms N] [--load-timeout-ms N] ' +
  '[--model-config JSON] [--debug-errors]';

/** The `serve` command. */
export const serveCommand: Command = {
  name: 'serve',
  summary: "serve a package over HTTP with MLflow's scoring protocol (/invocations, /ping)",
  usage,
  help: `usage: jsfunc ${usage}

Loads the model once and answers MLflow's scoring-server protocol: POST /invocations with
application/json (dataframe_split, dataframe_records, instances, inputs, optional params) or
text/csv, returning {"predictions": ...}; GET /ping, /health and /version. Errors are MLflow's
{"error_code", "message"} bodies. Runs until Ctrl-C, then lets in-flight requests finish.

  -m, --model DIR          model package directory
  -p, --port N             TCP port (default 5000, as mlflow models serve; 0 picks a free one)
      --host HOST          interface to bind (default 127.0.0.1)
      --timeout-ms N       per-request limit, answered with 504 (default 60000)
      --load-timeout-ms N  fail with E_LOAD_TIMEOUT (exit 24) when loading the model takes
                           longer (default 120000; 0: no limit)
      --model-config JSON  overrides of the saved model config
      --debug-errors       send stack traces in error bodies ("stack_trace", as MLflow does).
                           They name this machine's files and install paths: debugging only.
                           Without it they are only written to stderr (the server log).
  -v, --verbose            stack traces on errors

Ctrl-C (SIGINT) or SIGTERM stops the server and exits 0 once in-flight requests have finished.
`,
  options: {
    model: { type: 'string', short: 'm' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
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
      loadTimeoutMs: loadTimeoutFlag(values),
      modelConfig: optionalJsonObject(values, 'model-config'),
      warn: ctx.warn,
      debugErrors: values['debug-errors'] === true,
      log: (text) => ctx.io.stderr.write(`${text}\n`),
      ...(ctx.io.signal !== undefined ? { signal: ctx.io.signal } : {}),
    });
    ctx.io.stderr.write(`jsfunc: serving ${model} at ${server.url} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      if (ctx.io.signal === undefined) return;
      if (ctx.io.signal.aborted) resolve();
      else ctx.io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  },
};
