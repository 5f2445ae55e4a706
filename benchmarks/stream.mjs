// `jsfunc stream` (Arrow IPC stream on stdin -> scored stream on stdout, the process Spark's
// mapInArrow pipes to) against `jsfunc score -i x.arrows -o y.arrows` (the file engine reading
// and writing the same Arrow IPC stream format), side by side in one run (issue 11's target:
// stream throughput within 10% of score, i.e. stream s / score s <= 1.10).
//
//   node benchmarks/stream.mjs [--quick] [--runs N] [--rows N] [--batch-rows N] [--workers N]
//        [--data-dir DIR] [--keep]
//
// Input: vega-datasets' flights rows (date timestamp, delay/distance bigint, origin/destination
// strings), read from <data-dir>/flights-3m.parquet (made as benchmarks/e2e.mjs makes it) and
// written once as <data-dir>/flights-<rows>.arrows, an Arrow IPC stream of --batch-rows-row
// batches (default 3,000,000 rows in 64Ki-row batches: what pyarrow / Spark's
// maxRecordsPerBatch-sized batches look like). The model: udf/flights.
//
// Every run is a FRESH process timed from spawn to exit (node start, imports, pool start and
// model loads included), rounds alternating the two variants:
//   stream   node dist/cli/main.js stream -m flights --workers N  < in.arrows  > out-stream.arrows
//   score    node dist/cli/main.js score  -m flights --workers N -i in.arrows -o out-score.arrows
// stdin and stdout are the files themselves (no pipe in between, as the score variant has none).
// After the last round (untimed) the two outputs are read back and compared: same schema, same
// batches (row counts, in order), every column equal value for value.
//
// Results: benchmarks/results/stream.json (with the 1-minute load average at start and end).
import { spawn } from 'node:child_process';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import * as arrow from 'apache-arrow';
import { closeDuckDb, prepareData } from './e2e-data.mjs';
import {
  cores,
  flags,
  importDist,
  median,
  modelPath,
  num,
  repoRoot,
  round,
  table,
  writeResults,
} from './lib.mjs';

const loadavgStart = round(os.loadavg()[0], 3);
const values = flags({
  runs: { type: 'string' },
  rows: { type: 'string' },
  'batch-rows': { type: 'string' },
  workers: { type: 'string' },
  'data-dir': { type: 'string' },
  keep: { type: 'boolean' },
});
const runs = num(values, 'runs', 5, 1);
const rows = num(values, 'rows', 3_000_000, 500_000);
const batchRows = num(values, 'batch-rows', 65_536);
const workers = num(values, 'workers', cores);
const dataDir = resolve(
  repoRoot,
  String(values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? '.tmp/bench-data')
);
const cli = join(repoRoot, 'dist/cli/main.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first`);

const input = await makeInput();
const outDir = join(dataDir, 'out');
mkdirSync(outDir, { recursive: true });
const outStream = join(outDir, 'stream-out.arrows');
const outScore = join(outDir, 'score-out.arrows');
const model = await modelPath('flights');

const variants = [
  {
    name: 'jsfunc stream (stdin -> stdout)',
    run: () =>
      timed(['stream', '-m', model, '--workers', String(workers)], {
        stdin: input,
        stdout: outStream,
      }),
  },
  {
    name: 'jsfunc score (-i .arrows -o .arrows)',
    run: () =>
      timed(['score', '-m', model, '--workers', String(workers), '-i', input, '-o', outScore], {}),
  },
];

const samples = new Map(variants.map((v) => [v.name, []]));
process.stderr.write(`stream: ${rows} rows in ${batchRows}-row batches, ${workers} workers `);
for (let r = 0; r < runs; r++) {
  // Alternate which variant goes first, so drift on the shared machine hits both alike.
  const order = r % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) samples.get(v.name).push(await v.run());
  process.stderr.write('.');
}
process.stderr.write('\n');

const check = compareOutputs(outStream, outScore);
const base = median(samples.get(variants[1].name));
const results = variants.map((v) => {
  const s = samples.get(v.name);
  const med = median(s);
  return {
    variant: v.name,
    rows,
    batchRows,
    workers,
    medianMs: round(med, 4),
    bestMs: round(Math.min(...s), 4),
    samplesMs: s.map((x) => round(x, 4)),
    rowsPerSec: round(rows / (med / 1000)),
    vsScore: round(med / base),
  };
});
table(
  `stream vs score: flights model, ${rows} rows (.arrows in and out), ${workers} workers, fresh processes, medians of ${runs}; vs = median / score median (target <= 1.10); outputs equal: ${check.equal}`,
  results.map((r) => ({
    variant: r.variant,
    'median ms': r.medianMs,
    'best ms': r.bestMs,
    'rows/s': r.rowsPerSec,
    vs: r.vsScore,
  }))
);
if (!check.equal) console.error(`OUTPUTS DIFFER: ${check.reason}`);
writeResults('stream', {
  description:
    '`jsfunc stream` (stdin -> stdout, Arrow IPC stream) vs `jsfunc score -i x.arrows -o y.arrows`, same model, rows and workers, fresh processes timed from spawn to exit',
  loadavgStart,
  runs,
  outputsEqual: check.equal,
  ...(check.equal ? {} : { mismatch: check.reason }),
  results,
});
if (values.keep !== true) {
  rmSync(outStream, { force: true });
  rmSync(outScore, { force: true });
}
if (!check.equal) process.exitCode = 1;

/** Spawns the CLI with stdin/stdout bound to files; milliseconds from spawn to exit. */
async function timed(args, { stdin, stdout }) {
  const inFd = stdin === undefined ? 'ignore' : openSync(stdin, 'r');
  const outFd = stdout === undefined ? 'ignore' : openSync(stdout, 'w');
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: repoRoot,
    stdio: [inFd, outFd, 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'close');
  const ms = performance.now() - t0;
  if (typeof inFd === 'number') closeSync(inFd);
  if (typeof outFd === 'number') closeSync(outFd);
  if (code !== 0) throw new Error(`jsfunc ${args[0]} exited with ${code}: ${stderr.slice(-2000)}`);
  return ms;
}

/** <data-dir>/flights-<rows>.arrows: the flights rows as an Arrow IPC stream (made once). */
async function makeInput() {
  const vegaParquet = join(repoRoot, 'node_modules/vega-datasets/data/flights-3m.parquet');
  const { 'flights-3m.parquet': parquet } = await prepareData(dataDir, vegaParquet, [
    'flights-3m.parquet',
  ]);
  closeDuckDb();
  const path = join(dataDir, `flights-${rows}-${batchRows}.arrows`);
  if (existsSync(path)) return path;
  const { readBatches } = await importDist('io/read-batches.js');
  const table = await collect(readBatches(parquet), rows);
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  const writer = arrow.RecordBatchStreamWriter.throughNode();
  writer.pipe(out);
  for (let a = 0; a < table.numRows; a += batchRows) {
    for (const b of table.slice(a, Math.min(table.numRows, a + batchRows)).batches) writer.write(b);
  }
  writer.end();
  await once(out, 'close');
  renameSync(tmp, path);
  return path;
}

/** The first `n` rows of a batch stream (repeated when the source is shorter), as one Table. */
async function collect(batches, n) {
  const got = [];
  let have = 0;
  for await (const b of batches) {
    got.push(b);
    have += b.numRows;
    if (have >= n) break;
  }
  let t = new arrow.Table(got);
  while (t.numRows < n) t = t.concat(t);
  return t.slice(0, n);
}

/** Same schema, same batch row counts in order, every column equal value for value. */
function compareOutputs(a, b) {
  const ta = arrow.tableFromIPC(readFileSync(a));
  const tb = arrow.tableFromIPC(readFileSync(b));
  const names = (t) => t.schema.fields.map((f) => `${f.name}:${f.type}`).join(',');
  if (names(ta) !== names(tb))
    return { equal: false, reason: `schemas ${names(ta)} vs ${names(tb)}` };
  const sizes = (t) => t.batches.map((x) => x.numRows).join(',');
  if (sizes(ta) !== sizes(tb)) return { equal: false, reason: 'batch sizes differ' };
  if (ta.numRows !== rows) return { equal: false, reason: `${ta.numRows} rows, expected ${rows}` };
  for (const f of ta.schema.fields) {
    const ca = ta.getChild(f.name);
    const cb = tb.getChild(f.name);
    for (let i = 0; i < ta.numRows; i++) {
      const x = ca.get(i);
      const y = cb.get(i);
      if (x !== y && !(Number.isNaN(x) && Number.isNaN(y)))
        return { equal: false, reason: `column ${f.name} row ${i}: ${x} vs ${y}` };
    }
  }
  return { equal: true };
}
