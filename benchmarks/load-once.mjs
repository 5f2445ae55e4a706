// Load once: model loads and wall time for N batches with sparkUdf's per-worker cache vs naive
// variants that load the model for every batch (MLflow's spark_udf in local mode), with the
// embedding-lookup model (its loadContext reads, checks and normalizes a 40 MB table).
//
//   node benchmarks/load-once.mjs [--quick] [--reps N] [--batches N] [--batch-rows N]
//
// Variants, interleaved round by round over the same N record batches:
//   udf warm               a long-lived sparkUdf (W = cores) already holding the model: 0 loads
//   udf cold               createPool + sparkUdf + mapBatches + close: pool spawn + W loads
//   naive pool             tinypool (W = cores) running benchmarks/naive-worker.mjs, which calls
//                          loadModel + predict for every batch: N loads
//   naive main             loadModel + predict for every batch on the main thread: N loads
//   main, load once        one loadModel, then predict per batch on the main thread: 0 loads
// Loads are counted from the model's own load log (modelConfig.loadLogPath; one line per
// loadContext), one log file per variant.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Tinypool from 'tinypool';
import {
  batchesOf,
  cores,
  embeddingTable,
  flags,
  importDist,
  interleave,
  modelPath,
  num,
  repoRoot,
  round,
  summarize,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({ batches: { type: 'string' }, 'batch-rows': { type: 'string' } });
const reps = num(values, 'reps', 3, 2);
const warmup = num(values, 'warmup', 1, 1);
const nBatches = num(values, 'batches', 16, 8);
const batchRows = num(values, 'batch-rows', 16_384, 8_192);

const { sparkUdf } = await importDist('udf/spark-udf.js');
const { createPool } = await importDist('pool/pool.js');
const { loadModel } = await importDist('package/load-model.js');
const path = await modelPath('embedding-lookup');
const data = embeddingTable(nBatches * batchRows);
const batches = batchesOf(data, batchRows);
const W = cores;

const logDir = join(repoRoot, '.tmp', 'bench-load-once');
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
const logOf = (name) => join(logDir, `${name.replace(/\W+/g, '-')}.log`);
const loadsIn = (file) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
const quiet = () => {};

/** Runs `body` and returns how many loads its log gained. */
function counted(name, body) {
  const log = logOf(name);
  return async () => {
    const before = loadsIn(log);
    await body({ loadLogPath: log });
    return { loads: loadsIn(log) - before };
  };
}

async function drain(udf) {
  let rows = 0;
  for await (const out of udf.mapBatches(batches)) rows += out.numRows;
  if (rows !== data.numRows) throw new Error(`scored ${rows} of ${data.numRows} rows`);
}

const warm = await sparkUdf(path, {
  workers: W,
  batchSize: batchRows,
  resultType: 'double',
  modelConfig: { loadLogPath: logOf('udf warm') },
  warn: quiet,
});
const naivePool = new Tinypool({
  filename: new URL('./naive-worker.mjs', import.meta.url).href,
  minThreads: W,
  maxThreads: W,
  isolateWorkers: false,
});
const columnsOf = (b) => ({
  id: b.getChild('id').toArray().slice(),
  x: b.getChild('x').toArray().slice(),
});
const main = await loadModel(path, {
  modelConfig: { loadLogPath: logOf('main, load once') },
  warn: quiet,
});

const variants = [
  { name: 'udf warm', run: counted('udf warm', () => drain(warm)) },
  {
    name: 'udf cold',
    run: counted('udf cold', async (modelConfig) => {
      const pool = createPool({ workers: W });
      const udf = await sparkUdf(path, {
        pool,
        batchSize: batchRows,
        resultType: 'double',
        modelConfig,
        warn: quiet,
      });
      await drain(udf);
      await udf.close();
      await pool.close();
    }),
  },
  {
    name: 'naive pool',
    run: counted('naive pool', async (modelConfig) => {
      // At most 2 batches per worker in flight, as sparkUdf does.
      const pending = [];
      for (const b of batches) {
        if (pending.length >= 2 * W) await pending.shift();
        pending.push(naivePool.run({ path, modelConfig, columns: columnsOf(b) }));
      }
      await Promise.all(pending);
    }),
  },
  {
    name: 'naive main',
    run: counted('naive main', async (modelConfig) => {
      for (const b of batches) {
        const model = await loadModel(path, { modelConfig, warn: quiet });
        await model.predict(b);
      }
    }),
  },
  {
    name: 'main, load once',
    run: counted('main, load once', async () => {
      for (const b of batches) await main.predict(b);
    }),
  },
];

process.stderr.write(`load-once: ${nBatches} batches x ${batchRows} rows, W=${W} `);
const t = await interleave(variants, { warmup, reps });
const base = summarize(t.get('udf warm').samples).medianMs;
const results = variants.map((v) => {
  const s = summarize(t.get(v.name).samples);
  const loads = t.get(v.name).extra.map((e) => e.loads);
  return {
    variant: v.name,
    workers: v.name.startsWith('udf') || v.name === 'naive pool' ? W : 0,
    batches: nBatches,
    batchRows,
    ...s,
    loadsPerRun: round(loads.reduce((a, b) => a + b, 0) / loads.length),
    msPerBatch: round(s.medianMs / nBatches),
    vsUdfWarm: round(s.medianMs / base),
  };
});
results.push({
  variant: 'udf warm (whole run incl. warm-up)',
  loadsTotal: loadsIn(logOf('udf warm')),
  runs: warmup + reps,
});

table(
  `load once: embedding-lookup (40 MB artifact), ${nBatches} batches x ${batchRows} rows, medians of ${reps}`,
  results
    .filter((r) => r.medianMs !== undefined)
    .map((r) => ({
      variant: r.variant,
      W: r.workers || '',
      'median ms': r.medianMs,
      'ms/batch': r.msPerBatch,
      'loads/run': r.loadsPerRun,
      'time vs udf warm': r.vsUdfWarm,
    }))
);
console.log(
  `udf warm: ${loadsIn(logOf('udf warm'))} loads over all ${warmup + reps} runs (W=${W})`
);

await warm.close();
await naivePool.destroy();
rmSync(logDir, { recursive: true, force: true });

writeResults('load-once', {
  description:
    'model loads and wall time for N batches: per-worker cache (sparkUdf) vs loading per batch',
  model: 'embedding-lookup',
  workers: W,
  reps,
  warmup,
  results,
});
