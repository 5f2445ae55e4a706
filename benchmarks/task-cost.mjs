// The fixed cost of one UDF task on the workers: sparkUdf(linear, placement 'workers').apply on
// a table cut into 32 tasks, for tiny to large tasks, against bare tinypool running 32 no-op
// tasks with the same in-flight bound (2 per worker). Per task = call ms / (32 / W): what one
// worker spends per task, the model's own work included (negligible at 100 rows a task).
//
//   node benchmarks/task-cost.mjs [--quick] [--reps N] [--warmup N]
//
// The first calls of a fresh process are slower (cold JIT on both threads); --warmup sets how
// many untimed calls precede the timed ones (default 30). Results: benchmarks/results/task-cost.json.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Tinypool from 'tinypool';
import {
  cores,
  flags,
  importDist,
  modelPath,
  num,
  numericTable,
  round,
  summarize,
  table,
  writeResults,
} from './lib.mjs';

const values = flags();
const reps = num(values, 'reps', 60, 20);
const warmup = num(values, 'warmup', 30, 10);
const TASKS = 32;
const { sparkUdf } = await importDist('udf/spark-udf.js');
const path = await modelPath('linear');

/** Milliseconds of `run()` over `reps` timed calls after `warmup` untimed ones. */
async function time(run) {
  for (let i = 0; i < warmup; i++) await run();
  const samples = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

const results = [];
const perTask = (ms) => round(ms / (TASKS / cores), 4);

// Bare tinypool: a no-op handler, the same task count and in-flight bound.
const dir = mkdtempSync(join(tmpdir(), 'jsfunc-task-cost-'));
const noop = join(dir, 'noop.mjs');
writeFileSync(noop, 'export default (x) => x;\n');
const bare = new Tinypool({ filename: noop, minThreads: cores, maxThreads: cores });
const bareRun = async () => {
  let next = 0;
  const inFlight = new Set();
  while (next < TASKS || inFlight.size > 0) {
    while (inFlight.size < 2 * cores && next < TASKS) {
      const p = bare.run(next++).then(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.race(inFlight);
  }
};
const b = await time(bareRun);
results.push({
  variant: 'bare tinypool, no-op task',
  rowsPerTask: 0,
  ...b,
  perTaskMs: perTask(b.medianMs),
});
await bare.destroy();

for (const rowsPerTask of [100, 2_000, 62_500]) {
  const rows = rowsPerTask * TASKS;
  const data = numericTable(rows);
  const udf = await sparkUdf(path, {
    workers: cores,
    placement: 'workers',
    batchSize: rowsPerTask,
    warn: () => {},
  });
  const s = await time(async () => {
    const v = await udf.apply(data);
    if (v.length !== rows) throw new Error(`${v.length} values for ${rows} rows`);
  });
  const st = udf.stats();
  results.push({
    variant: `sparkUdf workers, linear`,
    rowsPerTask,
    ...s,
    perTaskMs: perTask(s.medianMs),
    predictMsPerTask: round(st.predictMs / st.batches, 4),
  });
  await udf.close();
}

writeResults('task-cost', { tasks: TASKS, workers: cores, reps, warmup, results });
table(
  `task cost: ${TASKS} tasks, ${cores} workers, 2 in flight each; medians of ${reps} after ${warmup} warm-up calls`,
  results.map((r) => ({
    variant: r.variant,
    'rows per task': r.rowsPerTask,
    'call ms': r.medianMs,
    'per task per worker ms': r.perTaskMs,
    'predict ms per task': r.predictMsPerTask ?? '',
  }))
);
