// Placement and slab reuse (issue 9, items 1 and 2): the model's own predict on the main thread
// against sparkUdf(...).apply with placement 'auto', 'workers' and 'caller', side by side in one
// run, for a trivial model (linear: 10 float64 columns, memory bound) on an ordinary table and
// on a table already in shared memory (shareTable), and for a compute-heavy one (mlp,
// 10 -> 64 -> 64 -> 1 tanh); W = cores. Plus the median/best spread of repeated apply calls, and,
// with --baseline, the same calls on a build from before slab reuse.
//
//   node benchmarks/placement.mjs [--quick] [--reps N] [--warmup N] [--models linear,mlp]
//        [--linear-rows N] [--mlp-rows N] [--processes N] [--baseline DIR] [--report]
//
//   --processes N    run the whole benchmark in N fresh processes, one after the other
//                    (default 3; 1 under --quick), and report per variant the median over the
//                    processes of its ratio to own predict, with every process's ratio. Why: every
//                    loadModel compiles the model's code anew, and V8 optimizes each copy on its
//                    own; five copies of the linear model in one process ran 1M rows in 30-45 ms
//                    each, each copy's speed steady within the process and redrawn in the next
//                    (benchmarks/README.md, sixth session). "Own predict", each UDF's model on
//                    the calling thread and each worker's have a copy each, so a ratio from one
//                    process carries that draw (up to 1.4x either way)
//
//   --baseline DIR   DIR/dist/udf/spark-udf.js is another build (e.g. the commit before slab
//                    reuse: `git archive <commit> | tar -x -C DIR`, `ln -s $PWD/node_modules DIR`,
//                    `(cd DIR && npx tsc -p tsconfig.build.json)`); its sparkUdf runs as
//                    "before: workers" in the same rounds
//   --report         print results/placement.json as markdown and exit
//   --no-gc          do not collect garbage (untimed) before each variant's run; by default a
//                    full GC runs first, so that no variant pays for the previous one's garbage
//
// Variants, interleaved round by round (warm-up rounds untimed; 'auto' decides during them):
//   own predict        instance[predictFn](context, table, params) on the main thread (baseline)
//   own predict per batch   the same on the batches the UDF cuts (planTaskSizes): the model's own
//                      cost of batching, no jsfunc code
//   caller, batchSize = rows   linear only: the calling thread with batchSize = the table's rows
//   auto | workers | caller   (await sparkUdf(path, { placement })).apply(table)
//   before: workers    the --baseline build's apply (fresh SharedArrayBuffers per task)
//   raw: own predict on k threads   k plain worker_threads (no jsfunc), each calling the
//                      model's own predict on its 1/k of the rows, already in shared memory: the
//                      ceiling any placement can reach on this machine (a memory-bound model
//                      stops scaling here)
//   raw: ... + results  the same on W threads, each also copying its predictions into one fresh
//                      shared output per call: the ceiling for a placement that returns results
//                      in fresh shared memory (which V8's GC does not account for)
//   raw: ... + plain results   the same into one reused shared output, which the calling thread
//                      copies into a fresh ordinary Float64Array per call: the ceiling for a
//                      placement that returns an ordinary ArrayBuffer, as jsfunc does
//   spin k             raw worker threads spinning a CPU loop: the parallelism the machine gave
// Ratios: vs own = own ms / variant ms (> 1: faster than predict on the main thread);
// per W = vs own / W (the compute-heavy target is >= 0.95); spread = median / best.
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  childRuns,
  combineSummaries,
  cores,
  flags,
  importDist,
  interleave,
  list,
  median,
  modelPath,
  num,
  numericTable,
  ownPredict,
  rawModelThreads,
  resultsDir,
  round,
  spinProbe,
  summarize,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({
  models: { type: 'string' },
  'linear-rows': { type: 'string' },
  'mlp-rows': { type: 'string' },
  baseline: { type: 'string' },
  report: { type: 'boolean', default: false },
  'no-gc': { type: 'boolean', default: false },
  processes: { type: 'string' },
  child: { type: 'boolean', default: false },
});
setFlagsFromString('--expose-gc');
/** A full collection (untimed: run before each timed variant). */
const collect = values['no-gc'] === true ? null : runInNewContext('gc');

if (values.report) {
  console.log(
    renderPlacement(JSON.parse(readFileSync(join(resultsDir, 'placement.json'), 'utf8')))
  );
  process.exit(0);
}

const reps = num(values, 'reps', 9, 3);
const warmup = num(values, 'warmup', 3, 2);
const models = list(values, 'models', ['linear', 'mlp']);
const specs = {
  linear: { rows: num(values, 'linear-rows', 2_000_000, 400_000), tables: ['ordinary', 'shared'] },
  mlp: { rows: num(values, 'mlp-rows', 60_000, 12_000), tables: ['ordinary'] },
};

const processes = num(values, 'processes', 3, 1);
const measured =
  processes > 1 && values.child !== true ? await inProcesses(processes) : await measure();
if (values.child === true) {
  // One process of --processes: the parent reads the last JSON line.
  console.log(JSON.stringify(measured));
  process.exit(0);
}
const { loadavgStart, results, probes, decisions } = measured;

/** One process's measurements: every model and table, all variants interleaved. */
async function measure() {
  const { sparkUdf } = await importDist('udf/spark-udf.js');
  const { planTaskSizes } = await importDist('udf/plan-task-sizes.js');
  const { shareTable } = await importDist('pool/shared-table.js');
  let before;
  if (values.baseline !== undefined) {
    const file = join(values.baseline, 'dist', 'udf', 'spark-udf.js');
    if (!existsSync(file)) throw new Error(`--baseline: ${file} is missing (build it first)`);
    before = (await import(pathToFileURL(file).href)).sparkUdf;
  }
  const loadavgStart = round(loadavg()[0]);
  const spin = await spinProbe(cores);
  const results = [];
  const probes = [];
  const decisions = [];

  for (const name of models) {
    const spec = specs[name];
    if (spec === undefined) throw new Error(`unknown model ${name}; expected linear or mlp`);
    const path = await modelPath(name);
    const { own } = await ownPredict(path, { warn: () => {} });
    const ordinary = numericTable(spec.rows);
    for (const kind of spec.tables) {
      const data = kind === 'shared' ? shareTable(ordinary) : ordinary;
      const udfs = new Map();
      const options = { workers: cores, resultType: 'double', warn: () => {} };
      for (const placement of ['auto', 'workers', 'caller'])
        udfs.set(placement, await sparkUdf(path, { ...options, placement }));
      if (before !== undefined) udfs.set('before: workers', await before(path, options));
      // The calling thread with the whole table as one batch size: what the UDF's batching costs
      // (planTaskSizes still cuts at least 2 x W tasks).
      if (name === 'linear') {
        udfs.set(
          'caller, batchSize = rows',
          await sparkUdf(path, { ...options, placement: 'caller', batchSize: spec.rows })
        );
      }
      // The model's own predict on the very batches the UDF cuts: the model's cost of batching,
      // without any jsfunc code (enforcement, conversion, result assembly).
      const sizes = planTaskSizes(data.numRows, {
        batchSize: 65_536,
        workers: cores,
        minTaskRows: 1024,
      });
      const batches = [];
      for (let at = 0, i = 0; i < sizes.length; at += sizes[i++])
        batches.push(data.slice(at, at + sizes[i]));
      const raw = await rawModelThreads(path, ordinary, cores);
      const check = (v) => {
        if (v.length !== data.numRows)
          throw new Error(`${v.length} values for ${data.numRows} rows`);
      };
      const timed = [
        { name: 'own predict', run: () => void own(data) },
        {
          name: 'own predict per batch',
          run: () => {
            for (const b of batches) own(b);
          },
        },
        ...[...udfs].map(([label, udf]) => ({
          name: label,
          run: async () => check(await udf.apply(data)),
        })),
        // The ceiling: the model's own predict split over k raw threads, rows already shared.
        ...[1, cores].map((k) => ({
          name: `raw: own predict on ${k} thread${k === 1 ? '' : 's'}`,
          run: () => raw.run(k),
        })),
        // The same, each thread also writing its predictions into one shared output per call.
        {
          name: `raw: own predict on ${cores} threads + results`,
          run: () => raw.run(cores, { results: true }),
        },
        // The same into a reused shared output, copied into a fresh ordinary array per call.
        {
          name: `raw: own predict on ${cores} threads + plain results`,
          run: () => raw.run(cores, { results: 'plain' }),
        },
        ...Array.from({ length: cores }, (_, i) => ({
          name: `spin ${i + 1}`,
          run: () => spin.run(i + 1),
        })),
      ];
      // A full GC before each variant (untimed), and a new order every round (see `interleave`):
      // in a fixed one, 'auto' always ran right after the calling-thread variants.
      const variants = timed.map((v) => (collect === null ? v : { ...v, before: collect }));
      process.stderr.write(`placement ${name} ${kind}: ${spec.rows} rows `);
      const t = await interleave(variants, { warmup, reps, order: 'shuffle' });
      const ownMs = summarize(t.get('own predict').samples).medianMs;
      const spin1 = summarize(t.get('spin 1').samples).medianMs;
      const parallelism = round(
        (cores * spin1) / summarize(t.get(`spin ${cores}`).samples).medianMs
      );
      probes.push({ model: name, table: kind, parallelism });
      for (const v of timed.filter((x) => !x.name.startsWith('spin'))) {
        const samples = t.get(v.name).samples;
        const s = summarize(samples);
        const best = Math.min(...samples);
        const udf = udfs.get(v.name);
        const st = udf?.stats?.();
        const p = st?.placement;
        results.push({
          model: name,
          table: kind,
          variant: v.name,
          rows: spec.rows,
          workers: cores,
          ...s,
          bestMs: round(best, 4),
          vsOwn: round(ownMs / s.medianMs),
          perWorker: v.name.startsWith('own') ? undefined : round(ownMs / s.medianMs / cores),
          // vs own / P_W: what the workers made of the parallelism the machine actually gave
          // in these rounds (raw threads spinning), 1 = as good as raw threads.
          perParallelism: v.name.startsWith('own')
            ? undefined
            : round(ownMs / s.medianMs / parallelism),
          spread: round(s.medianMs / best),
          placedOn: p?.current,
          workersUsed: p === undefined ? undefined : p.current === 'workers' ? p.workers : 0,
          callerShare: p === undefined || st.rows === 0 ? undefined : round(p.callerRows / st.rows),
          switches: p?.switches,
          slabsAllocated: st?.slabs?.allocated,
          slabsReused: st?.slabs?.reused,
        });
        if (p !== undefined && v.name === 'auto')
          decisions.push({ model: name, table: kind, reason: p.reason, costs: p.costs });
      }
      for (const udf of udfs.values()) await udf.close();
      await raw.close();
    }
  }
  await spin.close();
  return { loadavgStart, results, probes, decisions };
}

const payload = {
  description:
    'own predict on the main thread vs sparkUdf apply with placement auto/workers/caller (and a build before slab reuse), same data, same rounds',
  reps,
  warmup,
  processes,
  gcBeforeEachVariant: collect !== null,
  loadavgStart,
  baseline: values.baseline ?? null,
  targets: {
    'mlp auto': 'perWorker >= 0.95',
    'linear ordinary auto': 'vsOwn >= 0.95',
    'linear shared auto': 'vsOwn >= 1.5',
    spread: 'median / best <= 1.5',
  },
  machineParallelism: probes,
  decisions,
  results,
};
const path = writeResults('placement', payload);
table(
  `placement: ${processes > 1 ? `${processes} processes, the median of their ` : ''}medians of ${reps} (vs own = own predict ms / variant ms; per W = vs own / W; spread = median / best)`,
  results.map((r) => ({
    model: r.model,
    table: r.table,
    variant: r.variant,
    'median ms': r.medianMs,
    'best ms': r.bestMs,
    'vs own': r.vsOwn,
    'vs own per process': r.vsOwnPerProcess?.join(' / ') ?? '',
    'per W': r.perWorker ?? '',
    'per P_W': r.perParallelism ?? '',
    spread: r.spread,
    'placed on':
      r.placedOn === undefined
        ? ''
        : `${r.placedOn}${r.placedOn === 'workers' ? ` x${r.workersUsed}` : ''}`,
    'caller share': r.callerShare ?? '',
  }))
);
console.log(`machine parallelism (raw threads, W x t1 / tW): ${JSON.stringify(probes)}`);
for (const d of decisions)
  console.log(
    `auto, ${d.process ? `process ${d.process}, ` : ''}${d.model} ${d.table}: ${d.reason}`
  );
console.log(
  `\n${renderPlacement({ ...payload, machine: JSON.parse(readFileSync(path, 'utf8')).machine })}`
);

/** The results as a markdown table (for benchmarks/README.md). */
function renderPlacement(r) {
  const head =
    '| model | table | variant | median ms | best ms | vs own predict | per process | per worker | vs own / P_W | spread (median/best) | placed on |';
  const sep = '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const rows = r.results.map(
    (x) =>
      `| ${x.model} | ${x.table} | ${x.variant} | ${x.medianMs} | ${x.bestMs} | ${x.vsOwn} | ${x.vsOwnPerProcess?.join(' / ') ?? ''} | ${x.perWorker ?? ''} | ${x.perParallelism ?? ''} | ${x.spread} | ${
        x.placedOn === undefined
          ? ''
          : x.placedOn === 'workers'
            ? `workers x${x.workersUsed}`
            : `caller (${Math.round((x.callerShare ?? 0) * 100)}% of rows)`
      } |`
  );
  const p = r.machineParallelism
    .map(
      (m) =>
        `${m.model} ${m.table} P_W=${m.parallelism}${m.perProcess ? ` (${m.perProcess.join(' / ')})` : ''}`
    )
    .join(', ');
  return [
    head,
    sep,
    ...rows,
    '',
    `W = ${r.results[0]?.workers}; ${(r.processes ?? 1) > 1 ? `${r.processes} fresh processes, one after the other (ms columns: the median of the processes' medians, best of all; ratios: the median of the processes' ratios, each process's after it)` : 'one process'}; raw-thread parallelism in the same rounds: ${p}; ${r.machine?.date ?? ''}, load average ${r.loadavgStart ?? '?'} at the start, ${r.machine?.loadavg1 ?? ''} at the end.`,
  ].join('\n');
}

/**
 * Runs the benchmark in `n` fresh processes, one after the other (this script with `--child`),
 * and combines them: per variant, the median of the processes' medians and ratios (each
 * process's ratio kept in `vsOwnPerProcess`), the best time of all, and the placement most of
 * them chose.
 */
async function inProcesses(n) {
  const runs = await childRuns(n, fileURLToPath(import.meta.url), 'placement');
  const present = (xs) => xs.filter((x) => x !== undefined && x !== null);
  const results = runs[0].results.map((first) => {
    const all = runs.map((r) =>
      r.results.find(
        (x) => x.model === first.model && x.table === first.table && x.variant === first.variant
      )
    );
    const field = (k) => present(all.map((x) => x?.[k]));
    const vsOwn = field('vsOwn');
    const placed = field('placedOn');
    const mostPlaced = placed.sort(
      (a, b) => placed.filter((x) => x === b).length - placed.filter((x) => x === a).length
    )[0];
    const perWorker = field('perWorker');
    const perParallelism = field('perParallelism');
    const callerShare = field('callerShare');
    return {
      ...first,
      ...combineSummaries(all),
      vsOwn: round(median(vsOwn)),
      vsOwnPerProcess: vsOwn,
      perWorker: perWorker.length === 0 ? undefined : round(median(perWorker)),
      perParallelism: perParallelism.length === 0 ? undefined : round(median(perParallelism)),
      spread: round(median(field('spread'))),
      placedOn: mostPlaced,
      workersUsed: all.find((x) => x?.placedOn === mostPlaced)?.workersUsed,
      callerShare: callerShare.length === 0 ? undefined : round(median(callerShare)),
      callerSharePerProcess: callerShare.length === 0 ? undefined : callerShare,
      switches: field('switches').reduce((a, b) => a + b, 0),
    };
  });
  const probes = runs[0].probes.map((first) => {
    const each = runs.map(
      (r) => r.probes.find((x) => x.model === first.model && x.table === first.table)?.parallelism
    );
    return { ...first, parallelism: round(median(present(each))), perProcess: each };
  });
  const decisions = runs.flatMap((r, i) => r.decisions.map((d) => ({ process: i + 1, ...d })));
  return { loadavgStart: runs[0].loadavgStart, results, probes, decisions };
}
