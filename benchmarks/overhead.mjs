// Per-batch overhead vs batch size, with the noop model (predict = copy of column x0).
//
//   node benchmarks/overhead.mjs [--quick] [--reps N] [--rows N] [--sizes 1024,4096,...]
//
// For each batch size S, the same table of `rows` rows is scored
//   direct    by calling the model's own predict on each S-row slice on the main thread
//   udf W=k   by udf.apply(table) with batchSize S (so rows / S tasks), for k = 1 and cores
// and the overhead per batch is (udf time - direct time) / number of tasks, in microseconds.
// With W=1 that is the full cost of a task crossing the thread boundary (copy into shared
// memory, post, decode, enforce, result back); with W=cores it is what is left in wall time
// once the workers overlap. The UDFs are pinned to placement 'workers' (under 'auto' this model
// runs on the calling thread: benchmarks/placement.mjs measures that).
import {
  cores,
  flags,
  importDist,
  interleave,
  list,
  modelPath,
  num,
  numericTable,
  ownPredict,
  round,
  summarize,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({ rows: { type: 'string' }, sizes: { type: 'string' } });
const reps = num(values, 'reps', 5, 2);
const warmup = num(values, 'warmup', 1, 1);
const rows = num(values, 'rows', 1_048_576, 262_144);
const sizes = list(values, 'sizes', ['1024', '4096', '16384', '65536', '262144']).map(Number);

const { sparkUdf } = await importDist('udf/spark-udf.js');
const path = await modelPath('noop');
const data = numericTable(rows, 1);
const { own } = await ownPredict(path, { warn: () => {} });
const workerCounts = [...new Set([1, cores])];
const results = [];

for (const size of sizes) {
  const slices = [];
  for (let a = 0; a < rows; a += size) slices.push(data.slice(a, Math.min(rows, a + size)));
  const udfs = new Map();
  for (const w of workerCounts) {
    // minTaskRows = size: no extra splitting of the table beyond batchSize, so tasks = rows / size.
    udfs.set(
      w,
      await sparkUdf(path, {
        workers: w,
        batchSize: size,
        minTaskRows: size,
        // The cost of crossing to a worker is what is measured here: 'auto' would (rightly)
        // score this model on the calling thread instead (benchmarks/placement.mjs).
        placement: 'workers',
        resultType: 'double',
        warn: () => {},
      })
    );
  }
  const variants = [
    { name: 'direct', run: () => void slices.forEach((s) => own(s)) },
    ...workerCounts.map((w) => ({
      name: `udf W=${w}`,
      run: async () => void (await udfs.get(w).apply(data)),
    })),
  ];
  process.stderr.write(`overhead batch ${size}: `);
  const t = await interleave(variants, { warmup, reps });
  const direct = summarize(t.get('direct').samples);
  for (const w of workerCounts) {
    const s = summarize(t.get(`udf W=${w}`).samples);
    const st = udfs.get(w).stats();
    const tasks = st.batches / (warmup + reps);
    results.push({
      batchRows: size,
      workers: w,
      tasks,
      directMs: direct.medianMs,
      udfMs: s.medianMs,
      udfP25Ms: s.p25Ms,
      udfP75Ms: s.p75Ms,
      overheadUsPerBatch: round(((s.medianMs - direct.medianMs) * 1000) / tasks),
      overheadNsPerRow: round(((s.medianMs - direct.medianMs) * 1e6) / rows),
      udfVsDirect: round(s.medianMs / direct.medianMs),
      // Summed over workers: time in the worker's predict (enforcement + model) per task.
      workerPredictUsPerTask: round((st.predictMs * 1000) / st.batches),
    });
  }
  for (const udf of udfs.values()) await udf.close();
}

table(
  `per-batch overhead, noop model, ${rows} rows, medians of ${reps}: (udf - direct) / tasks`,
  results.map((r) => ({
    'batch rows': r.batchRows,
    W: r.workers,
    tasks: r.tasks,
    'direct ms': r.directMs,
    'udf ms': r.udfMs,
    'udf/direct': r.udfVsDirect,
    'overhead µs/batch': r.overheadUsPerBatch,
    'ns/row': r.overheadNsPerRow,
  }))
);

writeResults('overhead', {
  description:
    'per-batch overhead of sparkUdf vs calling the noop model on the same slices on the main thread',
  rows,
  reps,
  warmup,
  target: 'per-batch overhead well under a millisecond',
  results,
});
