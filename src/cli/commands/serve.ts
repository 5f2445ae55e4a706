/**
 * `jsfunc serve -m MODEL [-p PORT] [-h HOST]`: MLflow's scoring server (`mlflow models serve`)
 * for a package, until Ctrl-C.
 *
 * @module
 */
import { serve } from '../../server/listen.js';
import { optionalInt, optionalJsonObject, optionalString, requireString } from '../args.js';
import type { Command } from '../command.js';

const usage = 'serve -m MODEL [-p PORT] [--host HOST] [--timeout-ms N] [--model-config JSON]';

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
      --model-config JSON  overrides of the saved model config
  -v, --verbose            stack traces on errors
`,
  options: {
    model: { type: 'string', short: 'm' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'timeout-ms': { type: 'string' },
    'model-config': { type: 'string' },
  },
  async run(values, _positionals, ctx) {
    const model = requireString(values, 'model', 'serve');
    const server = await serve(model, {
      port: optionalInt(values, 'port', 0) ?? 5000,
      host: optionalString(values, 'host') ?? '127.0.0.1',
      timeoutMs: optionalInt(values, 'timeout-ms'),
      modelConfig: optionalJsonObject(values, 'model-config'),
      warn: ctx.warn,
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
