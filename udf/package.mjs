#!/usr/bin/env node
// Packages one example model of udf/ as an MLmodel directory, with plain node (no TS loader):
//
//   npm run build                     # saveModel runs from dist/
//   node udf/package.mjs <name> [outDir=out/<name>] [--force]
//
// <name> is a directory of udf/ with a spec.mjs (linear, sentiment, embedding-lookup, mlp, noop,
// iris-onnx). A spec whose options name an `onnxModel` (iris-onnx) is saved with saveOnnxModel.
// Generated artifacts (the embedding table, the mlp weights) are created first when missing.
// --force removes outDir before saving (saveModel refuses a non-empty target, as MLflow does).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const udfDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(udfDir, '..');

/** Names of the examples: directories of udf/ that hold a spec.mjs. */
export function exampleNames() {
  return readdirSync(udfDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(udfDir, e.name, 'spec.mjs')))
    .map((e) => e.name)
    .sort();
}

/**
 * Prepares and saves one example.
 * @param {string} name example name
 * @param {{ outDir?: string, force?: boolean, verbose?: boolean, overrides?: object }} [options]
 * @returns {Promise<{ outDir: string, metadata: unknown }>}
 */
export async function packageExample(name, options = {}) {
  const names = exampleNames();
  if (!names.includes(name)) {
    throw new Error(`Unknown example "${name}"; expected one of: ${names.join(', ')}`);
  }
  const saveModulePath = join(repoRoot, 'dist/package/save-model.js');
  if (!existsSync(saveModulePath)) {
    throw new Error(
      `${relative(process.cwd(), saveModulePath)} is missing: run "npm run build" first`
    );
  }
  const spec = await import(pathToFileURL(join(udfDir, name, 'spec.mjs')).href);
  const outDir = resolve(options.outDir ?? join(repoRoot, 'out', name));
  if (options.force === true) rmSync(outDir, { recursive: true, force: true });
  if (typeof spec.prepare === 'function') {
    await spec.prepare(repoRoot, { verbose: options.verbose === true });
  }
  const saveOptions = spec.saveOptions(repoRoot, options.overrides ?? {});
  // ONNX examples carry a .onnx file instead of model code: the onnx flavor's saver packages them.
  const onnx = typeof saveOptions?.onnxModel === 'string';
  const modulePath = onnx ? join(repoRoot, 'dist/package/save-onnx-model.js') : saveModulePath;
  const saver = await import(pathToFileURL(modulePath).href);
  const metadata = onnx
    ? await saver.saveOnnxModel(outDir, saveOptions)
    : await saver.saveModel(outDir, saveOptions);
  return { outDir, metadata };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  const [name, outDir] = positionals;
  if (values.help === true || name === undefined || positionals.length > 2) {
    console.error(
      `usage: node udf/package.mjs <name> [outDir=out/<name>] [--force]\nexamples: ${exampleNames().join(', ')}`
    );
    process.exitCode = values.help === true ? 0 : 2;
  } else {
    const started = performance.now();
    try {
      const result = await packageExample(name, { outDir, force: values.force, verbose: true });
      const size = result.metadata?.modelSizeBytes;
      const ms = (performance.now() - started).toFixed(0);
      console.log(
        `saved ${name} to ${relative(process.cwd(), result.outDir) || '.'}` +
          (typeof size === 'number' ? ` (${(size / 1e6).toFixed(2)} MB)` : '') +
          ` in ${ms} ms`
      );
    } catch (error) {
      // ModelError carries a stable code; show it so scripts can tell failures apart.
      const code = error?.code ? `${error.code}: ` : '';
      console.error(`package ${name} failed: ${code}${error?.message ?? String(error)}`);
      process.exitCode = 1;
    }
  }
}
