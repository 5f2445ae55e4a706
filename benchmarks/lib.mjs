// Shared harness of the benchmark scripts: flags, seeded data, interleaved timing with medians,
// console tables with ratios, packaging the udf/ examples, and the results JSON (with the
// machine's cores, Node and package versions).
//
// Every benchmark is a plain node script that imports jsfunc from ../dist/ (build first:
// `npx tsc -p tsconfig.build.json`, or `npm run bench`). Nothing here asserts on timings.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as arrow from 'apache-arrow';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, '..');
export const resultsDir = join(benchDir, 'results');
/** Where the benchmarks package the udf/ examples (git-ignored). */
export const modelsDir = join(repoRoot, 'out', 'bench');

/** Cores the pool may use (what `sparkUdf` defaults `workers` to). */
export const cores = os.availableParallelism();

/**
 * Parses the common flags plus `extra` (node:util parseArgs option specs). Every numeric flag
 * also reads an environment variable BENCH_<NAME> (e.g. BENCH_REPS=3), flags winning.
 *   --reps N     timed repetitions per variant (default per benchmark)
 *   --warmup N   untimed repetitions first
 *   --quick      smaller sizes and fewer reps (smoke run)
 * @param {Record<string, {type: 'string'|'boolean', default?: unknown}>} [extra]
 * @returns {Record<string, unknown>}
 */
export function flags(extra = {}) {
  const { values } = parseArgs({
    allowPositionals: true,
    strict: false,
    options: {
      reps: { type: 'string' },
      warmup: { type: 'string' },
      quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
      ...extra,
    },
  });
  return values;
}

/**
 * A numeric setting: the flag, else env BENCH_<NAME>, else the quick or normal default.
 * @param {Record<string, unknown>} values from {@link flags}
 * @param {string} name flag name (kebab-case; env var is upper snake case)
 * @param {number} normal default
 * @param {number} [quick] default under --quick (default: normal)
 */
export function num(values, name, normal, quick = normal) {
  const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const raw = values[name] ?? env;
  if (raw === undefined || raw === true) return values.quick === true ? quick : normal;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a non-negative number; got ${raw}`);
  return n;
}

/** A comma-separated list setting (flag or env), e.g. `--sizes 1024,4096`. */
export function list(values, name, normal, quick = normal) {
  const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const raw = values[name] ?? env;
  if (raw === undefined || raw === true) return values.quick === true ? quick : normal;
  return String(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------- statistics

/** Quantile q in [0, 1] of numbers (linear interpolation). */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);

/** Rounds to `digits` significant digits (for tables and JSON). */
export function round(x, digits = 3) {
  if (!Number.isFinite(x) || x === 0) return x;
  const p = digits - 1 - Math.floor(Math.log10(Math.abs(x)));
  const f = 10 ** Math.max(0, p);
  return p >= 0 ? Math.round(x * f) / f : Math.round(x / 10 ** -p) * 10 ** -p;
}

/**
 * Runs the variants interleaved: `warmup` untimed rounds, then `reps` timed rounds, each round
 * running every variant once (so drift and noise on this shared machine hit all variants
 * alike). A variant is `{ name, run, before? }`; `run()` is timed and may return an object of
 * extra per-run fields (kept as `extra` samples); `before()`, if given, runs untimed right
 * before it (a full GC, say).
 *
 * `order` is the order within a round: `'fixed'` (as given), `'rotate'` (round r starts at
 * variant r, mod the count) or `'shuffle'` (a seeded random order per round). In a fixed or
 * rotated order a variant has the same neighbours every round, so what the one before it
 * leaves behind (garbage, idle worker threads, a busy calling thread) always lands on it; a
 * shuffle spreads that over all variants. A precaution more than a measured effect: two UDFs
 * of the same placement alternating alone in one process took the same time, while in
 * `placement.mjs` the one that always followed the calling-thread variants came out slower in
 * 12 runs of 17, and per-call timings showed only noise, no difference in what either did.
 * @param {{name: string, run: () => unknown, before?: () => unknown}[]} variants
 * @param {{warmup?: number, reps?: number, log?: boolean, order?: 'fixed' | 'rotate' | 'shuffle'}} [options]
 * @returns {Promise<Map<string, {samples: number[], extra: object[]}>>} milliseconds per run
 */
export async function interleave(
  variants,
  { warmup = 1, reps = 5, log = true, order = 'fixed' } = {}
) {
  const out = new Map(variants.map((v) => [v.name, { samples: [], extra: [] }]));
  for (let round = 0; round < warmup + reps; round++) {
    for (const v of roundOrder(variants, order, round)) {
      if (v.before !== undefined) await v.before();
      const t0 = performance.now();
      const extra = await v.run();
      const ms = performance.now() - t0;
      if (round >= warmup) {
        out.get(v.name).samples.push(ms);
        out.get(v.name).extra.push(extra ?? {});
      }
    }
    if (log) process.stderr.write(round < warmup ? 'w' : '.');
  }
  if (log) process.stderr.write('\n');
  return out;
}

/** The variants in the order of one `interleave` round (see there). */
function roundOrder(variants, order, round) {
  if (order === 'fixed') return variants;
  if (order === 'rotate') return variants.map((_, i) => variants[(i + round) % variants.length]);
  if (order !== 'shuffle') {
    throw new Error(`interleave: order ${order}; expected fixed, rotate or shuffle`);
  }
  const out = [...variants];
  const r = rng(round + 1);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Median, p25 and p75 of samples (ms), rounded. */
export function summarize(samples) {
  return {
    medianMs: round(median(samples), 4),
    p25Ms: round(quantile(samples, 0.25), 4),
    p75Ms: round(quantile(samples, 0.75), 4),
    reps: samples.length,
  };
}

/**
 * One variant's per-process results (each with `summarize`'s fields and `bestMs`) combined:
 * the median of their medians and quartiles, their reps added up, the best time of all.
 * @param {object[]} all one result per process (missing ones skipped)
 */
export function combineSummaries(all) {
  const each = (k) => all.map((x) => x?.[k]).filter((v) => v !== undefined && v !== null);
  return {
    medianMs: round(median(each('medianMs')), 4),
    p25Ms: round(median(each('p25Ms')), 4),
    p75Ms: round(median(each('p75Ms')), 4),
    reps: each('reps').reduce((a, b) => a + b, 0),
    bestMs: Math.min(...each('bestMs')),
  };
}

/** Prints a titled console.table. */
export function table(title, rows) {
  console.log(`\n${title}`);
  console.table(rows);
}

// ---------------------------------------------------------------------------------- results

function readVersion(pkgDir) {
  try {
    return JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Machine and version facts written with every result. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuModel: cpus[0]?.model?.trim(),
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    // A shared machine: the 1-minute load average at the end of the run tells how noisy it was.
    loadavg1: round(os.loadavg()[0], 3),
    versions: {
      jsfunc: readVersion(repoRoot),
      apacheArrow: readVersion(join(repoRoot, 'node_modules/apache-arrow')),
      tinypool: readVersion(join(repoRoot, 'node_modules/tinypool')),
      danfojs: readVersion(join(repoRoot, 'node_modules/danfojs-node')),
    },
  };
}

/**
 * Writes benchmarks/results/<name>.json atomically (temp file + rename).
 * @returns {string} the path written
 */
export function writeResults(name, payload) {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  const body = { benchmark: name, machine: machineInfo(), ...payload };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  console.log(`\nwrote ${path}`);
  return path;
}

// ---------------------------------------------------------------------------------- jsfunc

/** Imports a module of the compiled library (dist/), with a clear message when unbuilt. */
export async function importDist(rel) {
  const path = join(repoRoot, 'dist', rel);
  if (!existsSync(path))
    throw new Error(`${path} is missing: run "npx tsc -p tsconfig.build.json" first`);
  return import(pathToFileURL(path).href);
}

const packaged = new Map();

/**
 * Packages a udf/ example into out/bench/<name> (once per process; fresh each run so the
 * package matches the current code) and returns its path.
 * @param {string} name linear | mlp | sentiment | noop | embedding-lookup
 * @param {{reuse?: boolean}} [options] reuse an existing package (child processes)
 */
export async function modelPath(name, { reuse = false } = {}) {
  const outDir = join(modelsDir, name);
  if (packaged.has(name)) return packaged.get(name);
  if (!(reuse && existsSync(join(outDir, 'MLmodel')))) {
    const { packageExample } = await import(pathToFileURL(join(repoRoot, 'udf/package.mjs')).href);
    await packageExample(name, { outDir, force: true });
  }
  packaged.set(name, outDir);
  return outDir;
}

/**
 * Loads a package on the main thread and returns a function calling the user's own predict
 * method (no jsfunc conversion or enforcement): the "model's own predict" baseline.
 * @returns {Promise<{model: object, own: (table: arrow.Table, params?: object) => unknown}>}
 */
export async function ownPredict(path, loadOptions = {}) {
  const { loadModel } = await importDist('package/load-model.js');
  const model = await loadModel(path, loadOptions);
  const instance = model.unwrap();
  const fn = instance[model.predictFn];
  return { model, own: (t, params = {}) => fn.call(instance, model.context, t, params) };
}

// ---------------------------------------------------------------------------------- data

/** Deterministic PRNG (mulberry32). */
export function rng(seed = 1) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rows` x `cols` float64 columns x0..x{cols-1}, uniform in [-1, 1), as an Arrow Table. */
export function numericTable(rows, cols = 10, seed = 1) {
  const r = rng(seed);
  const columns = {};
  for (let c = 0; c < cols; c++) {
    const a = new Float64Array(rows);
    for (let i = 0; i < rows; i++) a[i] = r() * 2 - 1;
    columns[`x${c}`] = a;
  }
  return arrow.tableFromArrays(columns);
}

/** A `text` column of short reviews mixing lexicon words, negators and fillers. */
export function textTable(rows, seed = 2) {
  const r = rng(seed);
  const words = [
    'good',
    'great',
    'love',
    'bad',
    'terrible',
    'hate',
    'not',
    'never',
    'the',
    'movie',
    'was',
    'really',
    'service',
    'food',
    'and',
    'but',
    'quite',
    'it',
    'I',
    'this',
    'Excellent',
    'awful',
  ];
  const texts = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const n = 4 + Math.floor(r() * 12);
    const parts = new Array(n);
    for (let k = 0; k < n; k++) parts[k] = words[Math.floor(r() * words.length)];
    texts[i] = `${parts.join(' ')}.`;
  }
  return new arrow.Table({ text: arrow.vectorFromArray(texts, new arrow.Utf8()) });
}

/** `id: int64` (0..idRange) and `x: float64` columns for the embedding-lookup model. */
export function embeddingTable(rows, idRange = 10_000, seed = 3) {
  const r = rng(seed);
  const id = new BigInt64Array(rows);
  const x = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    id[i] = BigInt(Math.floor(r() * idRange));
    x[i] = r() * 2 - 1;
  }
  return arrow.tableFromArrays({ id, x });
}

/** Splits a table into RecordBatches of `size` rows (zero-copy slices). */
export function batchesOf(t, size) {
  const out = [];
  for (let a = 0; a < t.numRows; a += size)
    out.push(...t.slice(a, Math.min(t.numRows, a + size)).batches);
  return out;
}

// ---------------------------------------------------------------------------------- children

/**
 * Runs the calling benchmark `n` times, each in a fresh process, one after the other: `script`
 * with this process's own arguments plus `--processes 1 --child`, each child's last JSON line
 * parsed (see {@link runChild}).
 * @param {number} n processes
 * @param {string} script the benchmark's file (`fileURLToPath(import.meta.url)`)
 * @param {string} label what the progress line on stderr names
 * @returns {Promise<object[]>} one result per process, in order
 */
export async function childRuns(n, script, label) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    process.stderr.write(`${label}: process ${i + 1} of ${n}\n`);
    runs.push(await runChild(script, [...process.argv.slice(2), '--processes', '1', '--child']));
  }
  return runs;
}

/**
 * Runs `node <script> <args>` and parses the last stdout line that is JSON.
 * @returns {Promise<object>}
 */
export function runChild(script, args, { env = {} } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop();
      if (code !== 0 || line === undefined) {
        reject(
          new Error(`${script} ${args.join(' ')} exited with ${code}: ${stdout.slice(-2000)}`)
        );
        return;
      }
      resolvePromise(JSON.parse(line));
    });
  });
}

/** Samples process RSS every `everyMs` until stopped; returns the peak in bytes. */
export function rssSampler(everyMs = 5) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const rss = process.memoryUsage.rss();
      return Math.max(peak, rss);
    },
  };
}

export const MB = 2 ** 20;

// ---------------------------------------------------------------------------------- machine probe

const kSpinSource = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + Math.sqrt(i)) % 1e9;
  parentPort.postMessage(x);
});`;

/**
 * Raw worker_threads (no jsfunc) spinning a fixed CPU loop, to measure how much parallelism the
 * shared machine actually gives while a benchmark runs: `run(k)` has k threads each do the same
 * loop at once; parallelism = k * time(1) / time(k) (2.0 on two idle cores).
 * @param {number} threads threads to start
 * @param {number} iterations loop length per thread per run
 */
export async function spinProbe(threads, iterations = 20_000_000) {
  const { Worker } = await import('node:worker_threads');
  const workers = Array.from({ length: threads }, () => new Worker(kSpinSource, { eval: true }));
  const once = (w) =>
    new Promise((res) => {
      w.once('message', res);
      w.postMessage(iterations);
    });
  return {
    run: (k) => Promise.all(workers.slice(0, k).map(once)),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

// ------------------------------------------------------------------- the model's own ceiling

const kRawModelSource = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { loadModel } = await import(workerData.loadModelUrl);
  const { tableFromArrays } = await import(workerData.arrowUrl);
  const model = await loadModel(workerData.path, {});
  const instance = model.unwrap();
  const fn = instance[model.predictFn];
  const columns = {};
  for (const c of workerData.columns) columns[c.name] = new Float64Array(c.buffer, c.byteOffset, c.length);
  const part = tableFromArrays(columns);
  parentPort.on('message', (into) => {
    const out = fn.call(instance, model.context, part, {});
    // With a result buffer: this thread's rows of one shared output, as a UDF must return them.
    if (into !== null) new Float64Array(into, workerData.start * 8, part.numRows).set(out);
    parentPort.postMessage('done');
  });
  parentPort.postMessage('ready');
})();`;

/**
 * The model's own ceiling on this machine: k raw worker_threads (no jsfunc: no pool, no
 * enforcement, no transfer), each with the model loaded and its 1/k of the rows already in
 * shared memory, calling the model's own predict at once. `run(k)` times what the hardware
 * gives a model that is split k ways for free; a memory-bound model stops scaling here, and no
 * placement can beat it. `run(k, { results: true })` also writes each thread's predictions into
 * one fresh shared output per call (one copy, none on the calling thread): the least a
 * placement must do that returns its results in fresh shared memory. Such memory is invisible
 * to V8's heap accounting (a SharedArrayBuffer's backing store counts 0 towards the external
 * memory that triggers a GC), so one per call piles up until something else triggers a GC.
 * `run(k, { results: 'plain' })` has each thread write into one reused shared output and the
 * calling thread copy it into a fresh ordinary `Float64Array` per call: the least a placement
 * must do that returns an ordinary, GC-accounted result, as jsfunc does.
 * @param {string} path model package
 * @param {import('apache-arrow').Table} table float64 columns (copied once into shared memory)
 * @param {number} threads most threads
 */
export async function rawModelThreads(path, table, threads) {
  const { Worker } = await import('node:worker_threads');
  const loadModelUrl = pathToFileURL(join(repoRoot, 'dist', 'package', 'load-model.js')).href;
  const arrowUrl = import.meta.resolve('apache-arrow');
  const n = table.numRows;
  const shared = table.schema.fields.map((f) => {
    const values = table.getChild(f.name).toArray();
    const copy = new Float64Array(new SharedArrayBuffer(values.byteLength));
    copy.set(values);
    return { name: f.name, values: copy };
  });
  const groups = [];
  for (let k = 1; k <= threads; k++) {
    const workers = [];
    for (let i = 0; i < k; i++) {
      const start = Math.floor((i * n) / k);
      const end = Math.floor(((i + 1) * n) / k);
      const columns = shared.map((c) => ({
        name: c.name,
        buffer: c.values.buffer,
        byteOffset: start * 8,
        length: end - start,
      }));
      const w = new Worker(kRawModelSource, {
        eval: true,
        workerData: { loadModelUrl, arrowUrl, path, columns, start },
      });
      await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      workers.push({ w, start, end });
    }
    groups.push(workers);
  }
  const once = (w, into) =>
    new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage(into);
    });
  // One output reused by every 'plain' run (as jsfunc reuses its result slabs).
  const slab = new SharedArrayBuffer(n * 8);
  return {
    run: async (k, { results = false } = {}) => {
      if (results !== 'plain') {
        const into = results ? new SharedArrayBuffer(n * 8) : null;
        return Promise.all(groups[k - 1].map(({ w }) => once(w, into)));
      }
      // Each thread's rows are copied as soon as it answers, as jsfunc copies a task's.
      const out = new Float64Array(n);
      await Promise.all(
        groups[k - 1].map(({ w, start, end }) =>
          once(w, slab).then(() => out.set(new Float64Array(slab, start * 8, end - start), start))
        )
      );
      return out;
    },
    close: () => Promise.all(groups.flat().map(({ w }) => w.terminate())),
  };
}
