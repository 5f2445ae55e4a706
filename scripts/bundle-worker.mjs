#!/usr/bin/env node
// Bundles the pool worker: dist/worker/main.js (compiled from src/worker/main.ts) and everything
// it imports -> dist/worker-bundle/main.js (+ a chunk for the lazily imported file handler).
// Run by `npm run build` after tsc; the pool prefers the bundle (src/pool/pool.ts,
// workerFileUrl) and falls back to the unbundled modules when it is missing or older than them.
//
// Why: a worker importing jsfunc module by module loads ~250 ES modules (~150 of them
// apache-arrow's), most of a UDF's cold start; one file parses several times faster.
//
// What stays external (imported from node_modules at run time):
// - tinypool: its worker runtime (which started this file) recognises a moved reply by a
//   module-private Symbol, so the worker must use the very same tinypool module instance;
// - packages with native code or files located next to their own module (onnxruntime-node,
//   parquet-wasm's .wasm, duckdb, polars, esbuild) and optional peers (danfojs-node, arquero);
//   every other package (apache-arrow, yaml, flatbuffers, tslib, ...) is bundled.
// The bundle sits one directory below dist/, like every module it contains, so their
// `new URL('../x', import.meta.url)` paths keep pointing where they did.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'worker-bundle');

/** Packages never bundled (see the header). */
export const kExternal = [
  'tinypool',
  'onnxruntime-node',
  'onnxruntime-common',
  'parquet-wasm',
  'esbuild',
  'danfojs-node',
  'arquero',
  'nodejs-polars',
  '@duckdb/node-api',
  '@duckdb/*',
];

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: join(root, 'dist', 'worker', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: kExternal,
  // CommonJS packages inside an ES module bundle call `require` (for node: built-ins).
  banner: {
    js: "import { createRequire as __jsfuncCreateRequire } from 'node:module';\nconst require = __jsfuncCreateRequire(import.meta.url);",
  },
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});
const inputs = Object.keys(result.metafile.inputs).length;
const outputs = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .map(([file, o]) => `${file.split('/').pop()} ${(o.bytes / 1024).toFixed(0)} KB`);
console.log(`worker bundle: ${inputs} modules -> ${outputs.join(', ')}`);
