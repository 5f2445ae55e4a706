// The calling thread alone: a trivial model's own predict vs sparkUdf scoring the same table on
// the calling thread (issue 9's "never slower than calling predict yourself"), with nothing
// else in the rounds. placement.mjs runs these variants among a dozen others that use both
// cores (workers, raw threads, spin probes); this one isolates what jsfunc adds on the thread
// the user would have called predict on.
//
//   node benchmarks/caller.mjs [--quick] [--reps N] [--warmup N] [--rows N] [--processes N]
//
// Variants, interleaved in a new random order every round, a full GC (untimed) before each:
//   own predict       instance[predictFn](context, table, params) of loadModel(path)
//   own predict, another copy   the same on a second loadModel(path): every load is its own
//                     copy of the model's code, which V8 optimizes on its own; the two own
//                     predicts side by side show how far apart two copies run in one process
//   auto              (await sparkUdf(path, { placement: 'auto' })).apply(table)
//   caller            the same with placement 'caller'
//
// For the UDFs, `in predict` is the time stats() counts in the model's predict (enforcement
// included) and `outside` the rest of the call (planning, the result vector, the yield).
// Each process is fresh (this script with --child); ratios are each process's median of own
// predict over the variant's median, and the median of those over the processes.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  childRuns,
  combineSummaries,
  cores,
  flags,
  importDist,
  interleave,
  median,
  modelPath,
  num,
  numericTable,
  ownPredict,
  round,
  summarize,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({
  rows: { type: 'string' },
  processes: { type: 'string' },
  child: { type: 'boolean', default: false },
});
const reps = num(values, 'reps', 25, 6);
const warmup = num(values, 'warmup', 6, 3);
const rows = num(values, 'rows', 2_000_000, 400_000);
const processes = num(values, 'processes', 4, 1);

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc');

/** One process: every variant, interleaved. */
async function measure() {
  const { sparkUdf } = await importDist('udf/spark-udf.js');
  const path = await modelPath('linear', { reuse: true });
  const data = numericTable(rows);
  const { own } = await ownPredict(path, { warn: () => {} });
  const { own: another } = await ownPredict(path, { warn: () => {} });
  const options = { workers: cores, resultType: 'double', warn: () => {} };
  const udfs = new Map([
    ['auto', await sparkUdf(path, { ...options, placement: 'auto' })],
    ['caller', await sparkUdf(path, { ...options, placement: 'caller' })],
  ]);
  const variants = [
    { name: 'own predict', run: () => void own(data) },
    ...[...udfs].map(([name, udf]) => ({
      name,
      run: async () => {
        const before = udf.stats().predictMs;
        await udf.apply(data);
        return { predictMs: udf.stats().predictMs - before };
      },
    })),
    { name: 'own predict, another copy', run: () => void another(data) },
  ].map((v) => ({ ...v, before: collect }));
  const loadavgStart = loadavg()[0];
  const t = await interleave(variants, { warmup, reps, order: 'shuffle' });
  const ownMs = summarize(t.get('own predict').samples).medianMs;
  const results = variants.map(({ name }) => {
    const { samples, extra } = t.get(name);
    const s = summarize(samples);
    const inPredict =
      extra[0]?.predictMs === undefined ? undefined : median(extra.map((e) => e.predictMs));
    const placement = udfs.get(name)?.stats().placement;
    return {
      variant: name,
      rows,
      ...s,
      bestMs: round(Math.min(...samples), 4),
      vsOwn: round(ownMs / s.medianMs),
      inPredictMs: inPredict === undefined ? undefined : round(inPredict, 4),
      outsideMs:
        inPredict === undefined
          ? undefined
          : round(median(samples.map((ms, i) => ms - extra[i].predictMs)), 4),
      spread: round(s.medianMs / Math.min(...samples)),
      callerShare:
        placement === undefined
          ? undefined
          : round(placement.callerRows / udfs.get(name).stats().rows),
    };
  });
  for (const udf of udfs.values()) await udf.close();
  return { loadavgStart, loadavgEnd: loadavg()[0], results };
}

/** `n` fresh processes, one after the other; per variant the median of their medians and ratios. */
async function inProcesses(n) {
  const runs = await childRuns(n, fileURLToPath(import.meta.url), 'caller');
  const mid = (xs) => round(median(xs), 4);
  const results = runs[0].results.map((first) => {
    const all = runs.map((r) => r.results.find((x) => x.variant === first.variant));
    const field = (k) => all.map((x) => x[k]).filter((x) => x !== undefined);
    const maybe = (k) => (field(k).length === 0 ? undefined : mid(field(k)));
    return {
      ...first,
      ...combineSummaries(all),
      vsOwn: round(median(field('vsOwn'))),
      vsOwnPerProcess: field('vsOwn'),
      inPredictMs: maybe('inPredictMs'),
      inPredictPerProcess: field('inPredictMs').length === 0 ? undefined : field('inPredictMs'),
      outsideMs: maybe('outsideMs'),
      spread: round(median(field('spread'))),
      callerShare: maybe('callerShare'),
    };
  });
  return {
    loadavgStart: runs[0].loadavgStart,
    loadavgEnd: runs.at(-1).loadavgEnd,
    results,
  };
}

const measured =
  processes > 1 && values.child !== true ? await inProcesses(processes) : await measure();
if (values.child === true) {
  console.log(JSON.stringify(measured));
  process.exit(0);
}
const ownMs = measured.results.find((r) => r.variant === 'own predict').medianMs;
table(
  `calling thread, linear model, ${rows} rows x 10 float64 columns, W = ${cores}; ${processes} fresh process(es)`,
  measured.results.map((r) => ({
    variant: r.variant,
    'median ms': r.medianMs,
    'best ms': r.bestMs,
    'vs own predict': r.vsOwn,
    'per process': (r.vsOwnPerProcess ?? [r.vsOwn]).join(' / '),
    'in predict ms': r.inPredictMs ?? '',
    'in predict / own': r.inPredictMs === undefined ? '' : round(r.inPredictMs / ownMs),
    'outside ms': r.outsideMs ?? '',
    spread: r.spread,
    'on caller': r.callerShare ?? '',
  }))
);
console.log(
  `load average ${round(measured.loadavgStart, 2)} at the start, ${round(measured.loadavgEnd, 2)} at the end`
);
writeResults('caller', {
  description:
    "the linear model's own predict (two loaded copies) vs sparkUdf apply on the calling thread (auto, caller), nothing else in the rounds",
  reps,
  warmup,
  processes,
  ...measured,
});
