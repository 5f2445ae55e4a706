#!/usr/bin/env node
// `npm start`: the main job on an embedded default, from a fresh clone after `npm ci`
// (`npm start` builds first):
//
//   1. packages udf/<model> into out/models/<model> (jsfunc save --force),
//   2. generates out/data/<model>-<rows>.<format> unless it is already there
//      (scripts/generate-sample-data.mjs: seeded, written batch by batch),
//   3. scores it with `jsfunc score` (in this process, through runCli) into
//      out/scored/<model>-<rows>.<format> (the previous run's file there is removed while step 1
//      runs),
//   4. prints the summary: rows, seconds, rows/s, workers, model loads.
//
// Options: --model linear|mlp|noop|embedding-lookup|sentiment (default linear),
// --rows N (default 1000000), --workers N (default: cores), --batch-size N,
// --format arrows|parquet (default arrows: streamed both ways with bounded memory; parquet-wasm
// 0.8 holds a whole encoded file in memory while writing).
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_ROWS, SAMPLE_MODELS, generateSampleData } from './generate-sample-data.mjs';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const rel = (p) => relative(process.cwd(), p) || '.';

function fail(message) {
  console.error(`main-job: ${message}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      model: { type: 'string', default: 'linear' },
      rows: { type: 'string', default: String(DEFAULT_ROWS) },
      workers: { type: 'string' },
      'batch-size': { type: 'string' },
      format: { type: 'string', default: 'arrows' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  fail(
    `${e.message}\nusage: npm start -- [--model NAME] [--rows N] [--workers N] [--batch-size N] [--format arrows|parquet]`
  );
}
if (values.help) {
  console.log(
    `usage: npm start -- [--model ${SAMPLE_MODELS.join('|')}] [--rows N] [--workers N] [--batch-size N] [--format arrows|parquet]`
  );
  process.exit(0);
}
const model = values.model;
if (!SAMPLE_MODELS.includes(model))
  fail(`--model must be one of ${SAMPLE_MODELS.join(', ')}, found "${model}"`);
const rows = Number(values.rows);
if (!Number.isSafeInteger(rows) || rows < 1)
  fail(`--rows must be a positive integer, found "${values.rows}"`);
if (!['arrows', 'parquet'].includes(values.format))
  fail(`--format must be arrows or parquet, found "${values.format}"`);

const runCliPath = join(repoRoot, 'dist/cli/run-cli.js');
if (!existsSync(runCliPath))
  fail(`${rel(runCliPath)} is missing: run "npm run build" first (npm start does)`);
const { runCli } = await import(pathToFileURL(runCliPath).href);

const stderrIo = { write: (s) => process.stderr.write(s) };
async function jsfunc(argv, { captureStdout = false } = {}) {
  let stdout = '';
  const code = await runCli(argv, {
    stdout: captureStdout ? { write: (s) => (stdout += s) } : process.stdout,
    stderr: stderrIo,
    isTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns || 80,
  });
  if (code !== 0) {
    console.error(`main-job: 'jsfunc ${argv[0]}' failed with exit status ${code}`);
    process.exit(code);
  }
  return stdout;
}

const t0 = performance.now();
const ext = values.format;
const outPath = join(repoRoot, 'out/scored', `${model}-${rows}.${ext}`);
// The previous run's output is replaced anyway. Removed now, while packaging runs, its blocks
// are freed in the background; left in place, the score's final rename over it would free them
// (~45 ms for the default 88 MB file) inside the timed run.
const removingOldOutput = rm(outPath, { force: true });
const modelDir = join(repoRoot, 'out/models', model);
console.log(`[1/3] packaging udf/${model} -> ${rel(modelDir)}`);
await jsfunc(['save', '-s', join(repoRoot, 'udf', model, 'spec.mjs'), '-o', modelDir, '--force']);

const dataPath = join(repoRoot, 'out/data', `${model}-${rows}.${ext}`);
if (existsSync(dataPath)) {
  console.log(`[2/3] sample data: ${rel(dataPath)} (already there)`);
} else {
  const gen = await generateSampleData({ model, rows, out: dataPath });
  console.log(
    `[2/3] sample data: generated ${rows.toLocaleString('en-US')} rows -> ${rel(dataPath)} in ${gen.seconds.toFixed(2)} s`
  );
}

await removingOldOutput;
mkdirSync(join(repoRoot, 'out/scored'), { recursive: true });
console.log(`[3/3] jsfunc score -m ${rel(modelDir)} -i ${rel(dataPath)} -o ${rel(outPath)}`);
const scoreArgs = ['score', '-m', modelDir, '-i', dataPath, '-o', outPath, '--json'];
if (values.workers !== undefined) scoreArgs.push('--workers', values.workers);
if (values['batch-size'] !== undefined) scoreArgs.push('--batch-size', values['batch-size']);
const summary = JSON.parse(await jsfunc(scoreArgs, { captureStdout: true }));

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log('');
console.log(`model        ${model}`);
console.log(`rows         ${fmt(summary.rows)}`);
console.log(`seconds      ${summary.seconds.toFixed(2)}`);
console.log(`rows/s       ${fmt(summary.rowsPerSecond)}`);
console.log(`workers      ${summary.workers}`);
console.log(`model loads  ${summary.modelLoads}`);
console.log(`output       ${rel(outPath)}`);
console.log(
  `total        ${((performance.now() - t0) / 1000).toFixed(2)} s (packaging, data, scoring)`
);
