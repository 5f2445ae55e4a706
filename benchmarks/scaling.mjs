// Scaling: rows/s of sparkUdf with 1..cores workers vs the model's own predict called directly
// on the main thread, over the same Arrow table, for a trivial numeric model (linear), a
// compute-heavy one (mlp, 10 -> 64 -> 64 -> 1 tanh) and a string model (sentiment).
//
//   node benchmarks/scaling.mjs [--quick] [--reps N] [--warmup N] [--models linear,mlp]
//        [--linear-rows N] [--mlp-rows N] [--sentiment-rows N] [--batch-size N]
//
// Variants, interleaved round by round on the same table:
//   own predict      instance[predictFn](context, table, params) on the main thread (baseline)
//   loadModel        loadModel(path).predict(table, params): jsfunc's enforcement + the same call
//   udf W=k          (await sparkUdf(path, { workers: k, batchSize })).apply(table)
//   udf W=k shared   the same on shareTable(table), made once outside the timed rounds: columns
//                    already in a SharedArrayBuffer cross to the workers without a copy
// Ratio `efficiency` = udf rows/s / (W x own-predict rows/s); the target for mlp is >= 0.9.
// sparkUdf splits a table into a multiple of W even tasks (<= batchSize rows each), so the
// perf-probes trap (a fixed 65,536-row task size on a 200K table leaving a core idle) is
// avoided; the task plan per W is printed and saved.
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
  spinProbe,
  summarize,
  table,
  textTable,
  writeResults,
} from './lib.mjs';

const values = flags({
  models: { type: 'string' },
  'linear-rows': { type: 'string' },
  'mlp-rows': { type: 'string' },
  'sentiment-rows': { type: 'string' },
  'batch-size': { type: 'string' },
});
const reps = num(values, 'reps', 5, 2);
const warmup = num(values, 'warmup', 1, 1);
const batchSize = num(values, 'batch-size', 65_536);
const models = list(values, 'models', ['linear', 'mlp', 'sentiment']);
const specs = {
  linear: {
    rows: num(values, 'linear-rows', 1_000_000, 200_000),
    data: (n) => numericTable(n),
    resultType: 'double',
    params: {},
  },
  mlp: {
    rows: num(values, 'mlp-rows', 60_000, 10_000),
    data: (n) => numericTable(n),
    resultType: 'double',
    params: {},
  },
  sentiment: {
    rows: num(values, 'sentiment-rows', 200_000, 40_000),
    data: (n) => textTable(n),
    resultType: 'string',
    params: { threshold: 0.5 },
  },
};

const { sparkUdf } = await importDist('udf/spark-udf.js');
const { planTaskSizes } = await importDist('udf/plan-task-sizes.js');
const { shareTable } = await importDist('pool/shared-table.js');
const workerCounts = Array.from({ length: cores }, (_, i) => i + 1);
const results = [];
const probes = [];
// How much parallelism the shared machine gives during the run: raw threads, same rounds.
const spin = await spinProbe(cores);

for (const name of models) {
  const spec = specs[name];
  if (spec === undefined)
    throw new Error(`unknown model ${name}; expected one of ${Object.keys(specs)}`);
  const path = await modelPath(name);
  const data = spec.data(spec.rows);
  const sharedData = shareTable(data);
  const { model, own } = await ownPredict(path, { warn: () => {} });
  const udfs = new Map();
  const sharedUdfs = new Map(); // own pools, so each variant's stats count only its own tasks
  for (const w of workerCounts) {
    for (const map of [udfs, sharedUdfs])
      map.set(
        w,
        await sparkUdf(path, {
          workers: w,
          batchSize,
          resultType: spec.resultType,
          params: spec.params,
          warn: () => {},
        })
      );
  }
  const variants = [
    { name: 'own predict', run: () => void own(data, spec.params) },
    { name: 'loadModel().predict', run: async () => void (await model.predict(data, spec.params)) },
    ...workerCounts.map((w) => ({ name: `spin ${w}`, run: () => spin.run(w) })),
    ...workerCounts.map((w) => ({
      name: `udf W=${w}`,
      run: async () => {
        const v = await udfs.get(w).apply(data);
        if (v.length !== data.numRows)
          throw new Error(`udf returned ${v.length} values for ${data.numRows} rows`);
      },
    })),
    ...workerCounts.map((w) => ({
      name: `udf W=${w} shared`,
      run: async () => {
        const v = await sharedUdfs.get(w).apply(sharedData);
        if (v.length !== data.numRows)
          throw new Error(`udf returned ${v.length} values for ${data.numRows} rows`);
      },
    })),
  ];
  process.stderr.write(`scaling ${name}: ${spec.rows} rows `);
  const timings = await interleave(variants, { warmup, reps });
  const baseRate = spec.rows / (summarize(timings.get('own predict').samples).medianMs / 1000);
  const w1Rate = spec.rows / (summarize(timings.get('udf W=1').samples).medianMs / 1000);
  const rows = [];
  const spin1 = summarize(timings.get('spin 1').samples).medianMs;
  const probe = { model: name };
  for (const w of workerCounts)
    probe[`parallelismW${w}`] = round(
      (w * spin1) / summarize(timings.get(`spin ${w}`).samples).medianMs
    );
  probes.push(probe);
  console.log(
    `machine parallelism during ${name} (raw threads, k x t1 / tk): ${JSON.stringify(probe)}`
  );
  for (const v of variants.filter((x) => !x.name.startsWith('spin'))) {
    const s = summarize(timings.get(v.name).samples);
    const rate = spec.rows / (s.medianMs / 1000);
    const w = v.name.startsWith('udf') ? Number.parseInt(v.name.slice(6), 10) : 1;
    const udf = (v.name.endsWith(' shared') ? sharedUdfs : udfs).get(w);
    const st = v.name.startsWith('udf') ? udf.stats() : undefined;
    const calls = warmup + reps;
    const row = {
      model: name,
      variant: v.name,
      workers: v.name.startsWith('udf') ? w : 0,
      rows: spec.rows,
      ...s,
      rowsPerSec: round(rate),
      vsOwn: round(rate / baseRate),
      efficiency: v.name.startsWith('udf') ? round(rate / (w * baseRate)) : undefined,
      // Scaling of the pool itself: rate / (W x rate with one worker).
      vsW1: v.name.startsWith('udf') ? round(rate / (w * w1Rate)) : undefined,
      // Against what raw threads got from the machine in the same rounds (P_W instead of W).
      vsMachine: v.name.startsWith('udf')
        ? round(rate / (probe[`parallelismW${w}`] * baseRate))
        : undefined,
      tasksPerCall: st ? st.batches / calls : undefined,
      taskRows: v.name.startsWith('udf')
        ? planTaskSizes(spec.rows, { batchSize, workers: w, minTaskRows: 1024 })
        : undefined,
      modelLoads: st?.modelLoads,
      // Summed over the workers, per call (warm-up calls included): time inside predict.
      workerPredictMsPerCall: st ? round(st.predictMs / calls) : undefined,
    };
    rows.push(row);
  }
  table(
    `scaling: ${name}, ${spec.rows} rows, batchSize ${batchSize}, medians of ${reps} (rows/s; vsOwn = rate / own predict; efficiency = rate / (W x own); P_W = parallelism raw threads got)`,
    rows.map((r) => ({
      variant: r.variant,
      'median ms': r.medianMs,
      'rows/s': r.rowsPerSec,
      vsOwn: r.vsOwn,
      efficiency: r.efficiency ?? '',
      'rate/(W x W=1)': r.vsW1 ?? '',
      'rate/(P_W x own)': r.vsMachine ?? '',
      tasks: r.tasksPerCall ?? '',
      loads: r.modelLoads ?? '',
    }))
  );
  results.push(...rows);
  for (const udf of [...udfs.values(), ...sharedUdfs.values()]) await udf.close();
}

writeResults('scaling', {
  description:
    "rows/s of sparkUdf with 1..cores workers vs the model's own predict on the main thread, same Arrow table",
  batchSize,
  reps,
  warmup,
  target: 'efficiency = udf rows/s / (W x own predict rows/s) >= 0.9 for mlp',
  machineParallelism: probes,
  results,
});
await spin.close();
