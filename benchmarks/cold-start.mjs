// Cold start: time from the sparkUdf() call to the first result (package resolve + pool spawn +
// worker imports + model load + the first batch), vs loadModel + the first predict on the main
// thread, for a small model (linear) and a costly load (embedding-lookup, 40 MB artifact).
//
//   node benchmarks/cold-start.mjs [--quick] [--reps N] [--first-rows N] [--models linear,embedding-lookup]
//
// Every run is a fresh child process (`cold-start.mjs --child ...`): nothing is warm but the
// OS file cache. Inside the child, jsfunc is imported first (reported separately as importMs),
// then the clock starts. Children run round by round; medians over rounds.
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
  } else {
    const udf = await sparkUdf(values.model, {
      workers: Number(values.workers),
      resultType: 'double',
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
      });
    }
  }
  table(
    `cold start: time to the first result of ${firstRows} rows (median of ${reps} fresh processes; setup = loadModel or sparkUdf() alone)`,
    results.map((r) => ({
      model: r.model,
      variant: r.variant,
      'first result ms': r.firstResultMs,
      'setup ms': r.setupMs,
      'vs main': r.vsMain,
      'jsfunc import ms': r.importMs,
    }))
  );
  writeResults('cold-start', {
    description:
      'time from sparkUdf() (or loadModel) to the first result, each run in a fresh process',
    reps,
    results,
  });
}
