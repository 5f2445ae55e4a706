/**
 * `jsfunc info -m MODEL [--json]`: what a package holds, read without running model code.
 *
 * @module
 */
import { getModelInfo } from '../../package/model-info.js';
import { kTrackingUriOption, optionalInt, requireString, trackingUriFlag } from '../args.js';
import type { Command } from '../command.js';
import { formatInfo } from '../format-info.js';

/** bigint (long param defaults) is not JSON: write it as a number when exact, else as text. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}

const usage = 'info -m MODEL [--json] [--rows N]';

/** The `info` command. */
export const infoCommand: Command = {
  name: 'info',
  summary: 'show flavors, signature, params, input example, size and versions of a package',
  usage,
  help: `usage: jsfunc ${usage}

Shows what a model package holds without running its code: flavors (and which ones jsfunc can
load), the signature as tables (inputs, outputs: name, type, required), params with defaults,
the first rows of the input example, created time, size, uuid, and the versions it was saved
with. Works on MLflow-written packages too.

  -m, --model MODEL       model package directory (or its MLmodel file), or a model URI
      --tracking-uri URI  MLflow tracking URI for models:/ and runs:/ URIs
                          (default MLFLOW_TRACKING_URI, else ./mlruns)
      --json              print getModelInfo() as JSON instead of text
      --rows N            input example rows to show (default 5)
  -v, --verbose           stack traces on errors
`,
  options: {
    model: { type: 'string', short: 'm' },
    'tracking-uri': kTrackingUriOption,
    json: { type: 'boolean' },
    rows: { type: 'string' },
  },
  async run(values, _positionals, ctx) {
    const model = requireString(values, 'model', 'info');
    const rows = optionalInt(values, 'rows', 0) ?? 5;
    const info = await getModelInfo(model, {
      ...trackingUriFlag(values),
      ...(ctx.io.signal !== undefined ? { signal: ctx.io.signal } : {}),
    });
    ctx.io.stdout.write(
      values['json'] === true
        ? `${JSON.stringify(info, jsonReplacer, 2)}\n`
        : formatInfo(info, { exampleRows: rows })
    );
    return 0;
  },
};
