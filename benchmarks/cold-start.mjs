// Cold start: time from the sparkUdf() call to the first result (package resolve + pool spawn +
// worker imports + model load + the first batch), vs loadModel + the first predict on the main
// thread, for a small model (linear) and a costly load (embedding-lookup, 40 MB artifact).
//
//   node benchmarks/cold-start.mjs [--quick] [--reps N] [--first-rows N] [--models linear,embedding-lookup]
//
// Variants per model: `main` (loadModel + predict, no pool), `sparkUdf W=w` (default placement
// 'auto': the first batches run on the calling thread while the workers start, the threads
// started after the first batch), `sparkUdf W=w workers` (placement 'workers': the threads
// started first, in sparkUdf(), and the first batch scored on a worker: what 'auto' did before
// the start on the calling thread), `sparkUdf W=w caller` (placement 'caller': the threads
// started in sparkUdf(), the first result from the calling thread), and `pool W=w breakdown`
// (no UDF: createPool, then one no-op task per worker = thread start + worker bundle import,
// then one warm-up task per worker = the model load in a worker).
//
// Every run is a fresh child process (`cold-start.mjs --child ...`): nothing is warm but the
// OS file cache. Inside the child, jsfunc is imported first (reported separately as importMs),
// then the clock starts. Children run round by round; medians over rounds.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  embeddingTable,
  cores,
  flags,
  importDist,
  list,
  median,
  modelPath,
  num,
  numericTable,
  round,
  runChild,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({
  child: { type: 'boolean', default: false },
  variant: { type: 'string' },
  workers: { type: 'string' },
  model: { type: 'string' },
  name: { type: 'string' },
  models: { type: 'string' },
  'first-rows': { type: 'string' },
});
const firstRows = num(values, 'first-rows', 1000);

if (values.child) {
  const t0 = performance.now();
  const { sparkUdf } = await importDist('udf/spark-udf.js');
  const { loadModel } = await importDist('package/load-model.js');
  const importMs = performance.now() - t0;
  const data =
    values.name === 'embedding-lookup' ? embeddingTable(firstRows) : numericTable(firstRows);
  let setupMs;
  let firstMs;
  let n;
  const start = performance.now();
  if (values.variant === 'main') {
    const model = await loadModel(values.model, { warn: () => {} });
    setupMs = performance.now() - start;
    n = (await model.predict(data)).length;
    firstMs = performance.now() - start;
  } else if (values.variant === 'pool') {
    // Breakdown: thread start + bundle import (first no-op reply), then the model load.
    const { createPool } = await importDist('pool/pool.js');
    const { warmUpHandlerUrl } = await importDist('pool/warm-up.js');
    const { packageIdentity } = await importDist('package/package-hash.js');
    const workers = Number(values.workers);
    const pool = createPool({ workers });
    const identity = await packageIdentity(values.model);
    const noop = 'data:text/javascript,export default async () => ({ value: 1 })';
    await Promise.all(Array.from({ length: workers }, () => pool.run({ handler: noop })));
    setupMs = performance.now() - start; // all threads up, worker bundle imported
    const replies = await Promise.all(
      Array.from({ length: workers }, () =>
        pool.run({
          handler: warmUpHandlerUrl(),
          modelKey: identity.hash,
          modelPath: values.model,
          modelBytes: identity.bytes,
        })
      )
    );
    firstMs = performance.now() - start; // the model loaded in every worker
    n = 0;
    await pool.close();
    console.log(
      JSON.stringify({
        importMs,
        setupMs,
        firstMs,
        rows: n,
        workerLoadMs: Math.max(...replies.map((r) => r.loadMs)),
      })
    );
    process.exit(0);
  } else {
    const udf = await sparkUdf(values.model, {
      workers: Number(values.workers),
      resultType: 'double',
      ...(values.variant === 'caller' || values.variant === 'workers'
        ? { placement: values.variant }
        : {}),
      warn: () => {},
    });
    setupMs = performance.now() - start;
    n = (await udf.apply(data)).length;
    firstMs = performance.now() - start;
    await udf.close();
  }
  console.log(JSON.stringify({ importMs, setupMs, firstMs, rows: n }));
} else {
  const reps = num(values, 'reps', 5, 2);
  const loadavgStart = round(loadavg()[0]);
  const models = list(values, 'models', ['linear', 'embedding-lookup']);
  const self = fileURLToPath(import.meta.url);
  const workerCounts = [...new Set([1, cores])];
  const results = [];
  for (const name of models) {
    const path = await modelPath(name);
    const common = ['--child', '--model', path, '--name', name, '--first-rows', String(firstRows)];
    const variants = [
      { name: 'main: loadModel + predict', workers: 0, args: ['--variant', 'main'] },
      ...workerCounts.map((w) => ({
        name: `sparkUdf W=${w} + apply`,
        workers: w,
        args: ['--variant', 'udf', '--workers', String(w)],
      })),
      ...workerCounts.map((w) => ({
        name: `sparkUdf W=${w} workers + apply`,
        workers: w,
        args: ['--variant', 'workers', '--workers', String(w)],
      })),
      ...workerCounts.map((w) => ({
        name: `sparkUdf W=${w} caller + apply`,
        workers: w,
        args: ['--variant', 'caller', '--workers', String(w)],
      })),
      ...workerCounts.map((w) => ({
        name: `pool W=${w} breakdown`,
        workers: w,
        args: ['--variant', 'pool', '--workers', String(w)],
      })),
    ];
    const samples = new Map(variants.map((v) => [v.name, []]));
    process.stderr.write(`cold-start ${name}: `);
    for (let r = 0; r < reps; r++) {
      for (const v of variants)
        samples.get(v.name).push(await runChild(self, [...common, ...v.args]));
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    const base = median(samples.get(variants[0].name).map((s) => s.firstMs));
    for (const v of variants) {
      const s = samples.get(v.name);
      const firstMs = median(s.map((x) => x.firstMs));
      results.push({
        model: name,
        variant: v.name,
        workers: v.workers,
        firstRows,
        runs: s.length,
        firstResultMs: round(firstMs),
        firstResultP25Ms: round(
          s.map((x) => x.firstMs).sort((a, b) => a - b)[Math.floor((s.length - 1) / 4)]
        ),
        setupMs: round(median(s.map((x) => x.setupMs))),
        importMs: round(median(s.map((x) => x.importMs))),
        vsMain: round(firstMs / base),
        ...(s[0].workerLoadMs !== undefined
          ? { workerLoadMs: round(median(s.map((x) => x.workerLoadMs))) }
          : {}),
      });
    }
  }
  table(
    `cold start: time to the first result of ${firstRows} rows (median of ${reps} fresh processes; setup = loadModel or sparkUdf() alone; breakdown rows: setup = threads up + worker bundle imported, first = model loaded in every worker)`,
    results.map((r) => ({
      model: r.model,
      variant: r.variant,
      'first result ms': r.firstResultMs,
      'setup ms': r.setupMs,
      'vs main': r.vsMain,
      'jsfunc import ms': r.importMs,
      'worker load ms': r.workerLoadMs ?? '',
    }))
  );
  writeResults('cold-start', {
    loadavgStart,
    loadavgEnd: round(loadavg()[0]),
    description:
      'time from sparkUdf() (or loadModel) to the first result, each run in a fresh process',
    reps,
    results,
  });
}
