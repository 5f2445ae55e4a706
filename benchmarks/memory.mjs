// Memory: peak RSS of a process scoring with the embedding-lookup model (40 MB artifact,
// normalized into a 40 MB Float32Array per loaded copy) with 1 and W workers.
//
//   node benchmarks/memory.mjs [--quick] [--reps N] [--batches N] [--batch-rows N]
//
// Each run is a fresh child process (`memory.mjs --child ...`), so peaks do not carry over;
// the child reports the kernel's high-water mark (process.resourceUsage().maxRSS, which covers
// the worker threads: they live in the same process) and a 5 ms RSS sample peak. Variants:
//   baseline     imports jsfunc and builds the data, scores nothing
//   main thread  loadModel + predict per batch on the main thread (one copy of the model)
//   udf W=k      sparkUdf with k workers (k copies of the model, one per worker cache)
// Children run round by round (every variant once per round), medians over rounds.
import { fileURLToPath } from 'node:url';
import {
  MB,
  batchesOf,
  cores,
  embeddingTable,
  flags,
  importDist,
  median,
  modelPath,
  num,
  round,
  rssSampler,
  runChild,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({
  child: { type: 'boolean', default: false },
  variant: { type: 'string' },
  workers: { type: 'string' },
  model: { type: 'string' },
  batches: { type: 'string' },
  'batch-rows': { type: 'string' },
});
const nBatches = num(values, 'batches', 16, 8);
const batchRows = num(values, 'batch-rows', 16_384, 8_192);

if (values.child) {
  const { sparkUdf } = await importDist('udf/spark-udf.js');
  const { loadModel } = await importDist('package/load-model.js');
  const data = embeddingTable(nBatches * batchRows);
  const batches = batchesOf(data, batchRows);
  const rssBefore = process.memoryUsage.rss();
  const sampler = rssSampler(5);
  let rows = 0;
  if (values.variant === 'main') {
    const model = await loadModel(values.model, { warn: () => {} });
    for (const b of batches) rows += (await model.predict(b)).length;
  } else if (values.variant === 'udf') {
    const udf = await sparkUdf(values.model, {
      workers: Number(values.workers),
      batchSize: batchRows,
      resultType: 'double',
      warn: () => {},
    });
    for await (const out of udf.mapBatches(batches)) rows += out.numRows;
    await udf.close();
  }
  const sampledPeak = sampler.stop();
  console.log(
    JSON.stringify({ rows, rssBefore, sampledPeak, maxRss: process.resourceUsage().maxRSS * 1024 })
  );
} else {
  const reps = num(values, 'reps', 3, 1);
  const path = await modelPath('embedding-lookup');
  const self = fileURLToPath(import.meta.url);
  const common = [
    '--child',
    '--model',
    path,
    '--batches',
    String(nBatches),
    '--batch-rows',
    String(batchRows),
  ];
  const workerCounts = [...new Set([1, cores])];
  const variants = [
    { name: 'baseline', workers: 0, args: ['--variant', 'none'] },
    { name: 'main thread', workers: 0, args: ['--variant', 'main'] },
    ...workerCounts.map((w) => ({
      name: `udf W=${w}`,
      workers: w,
      args: ['--variant', 'udf', '--workers', String(w)],
    })),
  ];
  const samples = new Map(variants.map((v) => [v.name, []]));
  process.stderr.write(`memory: ${nBatches} batches x ${batchRows} rows, child processes `);
  for (let r = 0; r < reps; r++) {
    for (const v of variants)
      samples.get(v.name).push(await runChild(self, [...common, ...v.args]));
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const baseline = median(samples.get('baseline').map((s) => s.maxRss));
  const results = variants.map((v) => {
    const s = samples.get(v.name);
    const maxRss = median(s.map((x) => x.maxRss));
    return {
      variant: v.name,
      workers: v.workers,
      runs: s.length,
      maxRssMB: round(maxRss / MB),
      sampledPeakMB: round(median(s.map((x) => x.sampledPeak)) / MB),
      rssBeforeMB: round(median(s.map((x) => x.rssBefore)) / MB),
      overBaselineMB: round((maxRss - baseline) / MB),
      overBaselinePerWorkerMB:
        v.workers > 0 ? round((maxRss - baseline) / MB / v.workers) : undefined,
      rows: s[0].rows,
    };
  });
  table(
    `memory: embedding-lookup, peak RSS (median of ${reps} child processes)`,
    results.map((r) => ({
      variant: r.variant,
      'max RSS MB': r.maxRssMB,
      'sampled peak MB': r.sampledPeakMB,
      'over baseline MB': r.overBaselineMB,
      'per worker MB': r.overBaselinePerWorkerMB ?? '',
    }))
  );
  writeResults('memory', {
    description:
      'peak RSS (maxRSS of a fresh child process) scoring the embedding-lookup model with 1 and W workers',
    model: 'embedding-lookup',
    batches: nBatches,
    batchRows,
    reps,
    results,
  });
}
