/**
 * Helpers for the reliability tests of the pool, the CLI and the server: hand-written model
 * packages with chosen misbehaviour (no bundler), and running a script against the built
 * `dist/` in a child process, where dying is observable instead of killing the test runner.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: child scripts run with it as cwd so `apache-arrow` and `dist/` resolve. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `file:` URL of a module under `dist/` (e.g. `udf/spark-udf.js`), for child scripts. */
export function distUrl(path: string): string {
  return new URL(`../../dist/${path}`, import.meta.url).href;
}

/** A column of a model signature written by {@link writeModel}. */
export interface SigColumn {
  name: string;
  type: 'double' | 'long' | 'string';
}

/**
 * Writes a model package: `MLmodel` (a `js_function` flavor) and `code/model.mjs` = `source`,
 * whose default export is the model class.
 *
 * @param dir - the package directory (created)
 * @param source - the model module's text
 * @param inputs - input signature columns; default one double `x`
 * @param config - the saved model config (`context.modelConfig`; keys `--model-config` may
 *   override); default `{}`
 * @returns `dir`
 */
export function writeModel(
  dir: string,
  source: string,
  inputs: readonly SigColumn[] = [{ name: 'x', type: 'double' }],
  config: Record<string, unknown> = {}
): string {
  mkdirSync(join(dir, 'code'), { recursive: true });
  writeFileSync(join(dir, 'code', 'model.mjs'), source);
  const specs = inputs.map((c) => ({ type: c.type, name: c.name, required: true }));
  const outputs = [{ type: 'double', required: true }];
  writeFileSync(
    join(dir, 'MLmodel'),
    [
      'artifact_path: model',
      'flavors:',
      '  js_function:',
      '    loader_module: jsfunc',
      '    code: code',
      '    entry: code/model.mjs',
      '    export_name: default',
      '    predict_fn: predict',
      `    config: ${JSON.stringify(config)}`,
      `    node_version: ${JSON.stringify(process.versions.node)}`,
      'model_uuid: 0123456789abcdef0123456789abcdef',
      'signature:',
      `  inputs: ${JSON.stringify(JSON.stringify(specs))}`,
      `  outputs: ${JSON.stringify(JSON.stringify(outputs))}`,
      "utc_time_created: '2024-01-01 00:00:00.000000'",
      '',
    ].join('\n')
  );
  return dir;
}

/** What a child process did. */
export interface ChildRun {
  /** Exit status (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs an ES module script (text) in a child `node` with the repository root as cwd.
 *
 * @param code - the module's text (bare imports resolve from the repository)
 * @param timeoutMs - kill it after this long; default 60000
 * @returns how it ended and its output
 */
export function runScript(code: string, timeoutMs = 60_000): Promise<ChildRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', code],
      { cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      }
    );
  });
}

/** A model that scores `x * 2`. */
export const DOUBLING_MODEL = `
export default class Doubling {
  predict(context, input) {
    const xs = input.getChild('x').toArray();
    return Float64Array.from(xs, (x) => x * 2);
  }
}
`;
