// Memory: what each extra worker costs when the model holds a large artifact.
//
//   node benchmarks/memory.mjs [--quick] [--reps N] [--max-workers 3] [--artifact-mb 128] [--no-onnx]
//
// 1. embedding-lookup with a 128 MB table (`--artifact-mb`), W = 1..3 workers, two ways:
//    `shared`  the model takes the table from context.sharedArtifact (read once per process,
//              one SharedArrayBuffer seen by every worker): the default;
//    `private` modelConfig.shareArtifact = false: each worker reads the file itself (one copy
//              per worker, what MLflow, Spark and Ray Data do).
//    Plus `imports only` (jsfunc imported, data built, nothing scored) and `main thread`
//    (loadModel + predict on the calling thread: one copy, no worker).
// 2. (unless --no-onnx) an ONNX model whose one initializer is a 128 MB embedding table (a
//    Gather + ReduceSum written by benchmarks/onnx-model.mjs), W = 1..3 workers, one
//    InferenceSession per worker, with the weights inside model.onnx (`embedded`) or in an ONNX
//    external-data file next to it (`external`: saveOnnxModel({ externalData: true }), which
//    onnxruntime memory-maps), and `bare`, the same graph with a 64-row initializer.
//
// Every run is a fresh child process (`memory.mjs --child ...`); children run round by round
// (every variant once per round) and the table shows medians over rounds. In each child every
// worker loads the model first (one warm-up task per worker, so W workers hold W loaded models
// for sure), then the batches are scored with placement 'workers'. Reported per child:
//   steady RSS  process RSS once every worker holds the model (before scoring);
//   peak RSS    the kernel's high-water mark for the whole run (process.resourceUsage().maxRSS);
//   PSS         /proc/self/smaps_rollup after scoring (Linux): RSS counts a memory-mapped file
//               page once per mapping, so for ONNX external data (mapped once per session) PSS
//               is the truthful figure; for everything else the two agree.
// "per extra worker" = (value at W - value at W-1) / artifact bytes: 0 would be perfect sharing,
// 1 one more full copy per worker. The target: <= 0.1.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MB,
  batchesOf,
  embeddingTable,
  flags,
  importDist,
  median,
  modelsDir,
  num,
  repoRoot,
  round,
  rssSampler,
  runChild,
  table,
  writeResults,
} from './lib.mjs';
import { writeGatherModel } from './onnx-model.mjs';

const values = flags({
  child: { type: 'boolean', default: false },
  variant: { type: 'string' },
  workers: { type: 'string' },
  model: { type: 'string' },
  share: { type: 'string' },
  rows: { type: 'string' },
  batches: { type: 'string' },
  'batch-rows': { type: 'string' },
  'max-workers': { type: 'string' },
  'artifact-mb': { type: 'string' },
  'no-onnx': { type: 'boolean', default: false },
});
const nBatches = num(values, 'batches', 8, 4);
const batchRows = num(values, 'batch-rows', 16_384, 8_192);
const maxWorkers = num(values, 'max-workers', 3);
const artifactMb = num(values, 'artifact-mb', 128, 32);
/** Embedding table: rows x 1024 float32 = artifactMb MB. */
const tableRows = Math.round((artifactMb * MB) / 4096);

/** /proc/self/smaps_rollup Pss in bytes (null where it does not exist). */
function pss() {
  try {
    const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kb = /^Pss:\s+(\d+) kB/m.exec(text);
    return kb === null ? null : Number(kb[1]) * 1024;
  } catch {
    return null;
  }
}

/** Loads the UDF's model on every worker: one warm-up task per worker, sent at once. */
async function warmEveryWorker(udf, workers) {
  const { udfInternals } = await importDist('udf/spark-udf.js');
  const { warmUpHandlerUrl } = await importDist('pool/warm-up.js');
  const internals = udfInternals(udf);
  await Promise.all(
    Array.from({ length: workers }, () => internals.runTask(warmUpHandlerUrl(), {}))
  );
}

async function child() {
  const { sparkUdf } = await importDist('udf/spark-udf.js');
  const { loadModel } = await importDist('package/load-model.js');
  const workers = Number(values.workers ?? 0);
  const onnx = values.variant === 'onnx';
  const { tableFromArrays } = await import('apache-arrow');
  // ONNX: all ids, once per worker: between them the sessions touch every page of the weights
  // (resident once when memory-mapped; the embedded copies are resident from the load).
  const gatherRows = Number(values.rows ?? tableRows);
  const data = onnx
    ? tableFromArrays({
        ids: BigInt64Array.from({ length: tableRows * workers }, (_, i) => BigInt(i % gatherRows)),
      })
    : embeddingTable(nBatches * batchRows, tableRows);
  const batches = onnx ? data.batches : batchesOf(data, batchRows);
  const sampler = rssSampler(5);
  let steady = process.memoryUsage.rss();
  let rows = 0;
  if (values.variant === 'main') {
    const model = await loadModel(values.model, { warn: () => {} });
    steady = process.memoryUsage.rss();
    for (const b of batches) rows += (await model.predict(b)).length;
  } else if (values.variant === 'udf' || onnx) {
    const udf = await sparkUdf(values.model, {
      workers,
      placement: 'workers',
      // ONNX: 1,024 ids per run keeps each session's arena (the Gather's [N, 1024] float
      // intermediate, 4 MB) small next to the weights.
      batchSize: onnx ? 1024 : batchRows,
      resultType: onnx ? 'float' : 'double',
      ...(onnx ? {} : { modelConfig: { shareArtifact: values.share === 'true' } }),
      warn: () => {},
    });
    await warmEveryWorker(udf, workers);
    steady = process.memoryUsage.rss();
    const options = onnx ? { columns: ['ids'] } : {};
    for await (const out of udf.mapBatches(batches, options)) rows += out.numRows;
    const after = pss();
    await udf.close();
    sampler.stop();
    return { rows, steady, pss: after, maxRss: process.resourceUsage().maxRSS * 1024 };
  }
  const after = pss();
  sampler.stop();
  return { rows, steady, pss: after, maxRss: process.resourceUsage().maxRSS * 1024 };
}

/** The 128 MB embedding-lookup package (and its table), made once under out/bench/. */
async function embeddingPackage(rows = tableRows, label = `${artifactMb}mb`) {
  const { generateEmbeddingTable, readHeader } =
    await import('../udf/embedding-lookup/generate-artifact.mjs');
  const embedding = await import('../udf/embedding-lookup/spec.mjs');
  const { saveModel } = await importDist('package/save-model.js');
  const tablePath = join(modelsDir, 'data', `embeddings-${label}.f32`);
  const header = readHeader(tablePath);
  if (header?.rows !== rows || header.dims !== 1024) {
    mkdirSync(join(modelsDir, 'data'), { recursive: true });
    generateEmbeddingTable({ outPath: tablePath, rows, dims: 1024, seed: 42 });
  }
  const out = join(modelsDir, `embedding-lookup-${label}`);
  rmSync(out, { recursive: true, force: true });
  await saveModel(out, embedding.saveOptions(repoRoot, { artifacts: { embeddings: tablePath } }));
  return { path: out, artifactBytes: statSync(tablePath).size };
}

/** The two ONNX packages (weights embedded / as external data), made once under out/bench/. */
async function onnxPackages() {
  const { saveOnnxModel } = await importDist('package/save-onnx-model.js');
  const work = join(modelsDir, 'data');
  mkdirSync(work, { recursive: true });
  const source = join(work, `gather-${artifactMb}mb.onnx`);
  if (!existsSync(source)) writeGatherModel({ out: source, rows: tableRows, reduce: true });
  const embedded = join(modelsDir, `onnx-embedded-${artifactMb}mb`);
  const external = join(modelsDir, `onnx-external-${artifactMb}mb`);
  rmSync(embedded, { recursive: true, force: true });
  await saveOnnxModel(embedded, { onnxModel: source, signature: null });
  // The external-data form of the same model (weights in model.onnx.data, memory-mapped by
  // onnxruntime), as saveOnnxModel({ externalData: true }) and MLflow's onnx.save_model write it.
  rmSync(external, { recursive: true, force: true });
  await saveOnnxModel(external, { onnxModel: source, signature: null, externalData: true });
  // The same graph with a 64-row initializer: a worker's own cost with onnxruntime loaded.
  const bare = join(modelsDir, 'onnx-bare-64rows');
  rmSync(bare, { recursive: true, force: true });
  const bareSource = join(work, 'gather-bare-64rows.onnx');
  writeGatherModel({ out: bareSource, rows: 64, reduce: true });
  await saveOnnxModel(bare, { onnxModel: bareSource, signature: null });
  return { embedded, external, bare, artifactBytes: tableRows * 4096 };
}

/** Rows of one section: medians, and each step's increment as a fraction of the artifact. */
function summarize(section, variants, samples, artifactBytes) {
  const rows = [];
  const byMode = new Map();
  for (const v of variants) {
    const s = samples.get(v.name);
    const row = {
      section,
      variant: v.name,
      mode: v.mode,
      workers: v.workers,
      runs: s.length,
      steadyRssMB: round(median(s.map((x) => x.steady)) / MB),
      peakRssMB: round(median(s.map((x) => x.maxRss)) / MB),
      pssMB: s[0].pss === null ? null : round(median(s.map((x) => x.pss)) / MB),
    };
    const prev = byMode.get(v.mode);
    if (prev !== undefined && v.workers === prev.workers + 1) {
      const frac = (key) =>
        row[key] === null || prev[key] === null
          ? null
          : round(((row[key] - prev[key]) * MB) / artifactBytes, 3);
      row.extraWorkerSteady = frac('steadyRssMB');
      row.extraWorkerPeak = frac('peakRssMB');
      row.extraWorkerPss = frac('pssMB');
    }
    if (prev !== undefined && v.workers === prev.workers + 1) {
      row.extraWorkerSteadyMB = round(row.steadyRssMB - prev.steadyRssMB);
      row.extraWorkerPssMB =
        row.pssMB === null || prev.pssMB === null ? null : round(row.pssMB - prev.pssMB);
    }
    if (v.mode !== undefined) byMode.set(v.mode, row);
    rows.push(row);
  }
  // The artifact's part of an extra worker: its increment minus a bare worker's increment at
  // the same W (same code, a 256 KB artifact), as a fraction of the artifact.
  for (const row of rows) {
    const bare = rows.find((r) => r.mode === 'bare' && r.workers === row.workers);
    if (bare === undefined || row.mode === 'bare' || row.extraWorkerSteadyMB === undefined)
      continue;
    row.artifactPartSteady = round(
      ((row.extraWorkerSteadyMB - bare.extraWorkerSteadyMB) * MB) / artifactBytes,
      3
    );
    if (row.extraWorkerPssMB !== null && bare.extraWorkerPssMB !== null) {
      row.artifactPartPss = round(
        ((row.extraWorkerPssMB - bare.extraWorkerPssMB) * MB) / artifactBytes,
        3
      );
    }
  }
  return rows;
}

async function parent() {
  const reps = num(values, 'reps', 3, 1);
  const self = fileURLToPath(import.meta.url);
  const counts = Array.from({ length: maxWorkers }, (_, i) => i + 1);
  const emb = await embeddingPackage();
  // The same model and code with a 64-row (256 KB) table: what a worker costs by itself
  // (isolate, heap, the worker bundle, the model's code and small state), whatever the artifact.
  const bare = await embeddingPackage(64, 'bare-64rows');
  const common = ['--batches', String(nBatches), '--batch-rows', String(batchRows)];
  common.push('--artifact-mb', String(artifactMb));
  const sections = [
    {
      name: `embedding-lookup, ${artifactMb} MB table`,
      artifactBytes: emb.artifactBytes,
      variants: [
        { name: 'imports only', args: ['--variant', 'none', '--model', emb.path] },
        { name: 'main thread', args: ['--variant', 'main', '--model', emb.path] },
        ...['shared', 'private', 'bare'].flatMap((mode) =>
          counts.map((w) => ({
            name: `udf W=${w} ${mode}`,
            mode,
            workers: w,
            args: [
              '--variant',
              'udf',
              '--workers',
              String(w),
              '--model',
              mode === 'bare' ? bare.path : emb.path,
            ],
            share: mode !== 'private',
          }))
        ),
      ].map((v) => ({ ...v, args: [...v.args, '--share', String(v.share ?? true)] })),
    },
  ];
  if (!values['no-onnx']) {
    const onnx = await onnxPackages();
    sections.push({
      name: `ONNX Gather, ${artifactMb} MB initializer`,
      artifactBytes: onnx.artifactBytes,
      variants: ['embedded', 'external', 'bare'].flatMap((mode) =>
        counts.map((w) => ({
          name: `onnx W=${w} ${mode}`,
          mode,
          workers: w,
          args: [
            ...['--variant', 'onnx', '--workers', String(w), '--model', onnx[mode]],
            ...(mode === 'bare' ? ['--rows', '64'] : []),
          ],
        }))
      ),
    });
  }
  const results = [];
  for (const section of sections) {
    const samples = new Map(section.variants.map((v) => [v.name, []]));
    process.stderr.write(`memory (${section.name}): child processes `);
    for (let r = 0; r < reps; r++) {
      for (const v of section.variants)
        samples.get(v.name).push(await runChild(self, ['--child', ...common, ...v.args]));
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    results.push(...summarize(section.name, section.variants, samples, section.artifactBytes));
  }
  table(
    `memory (median of ${reps} fresh processes; "extra worker" = increment over W-1 workers / artifact bytes, target <= 0.1)`,
    results.map((r) => ({
      section: r.section,
      variant: r.variant,
      'steady RSS MB': r.steadyRssMB,
      'peak RSS MB': r.peakRssMB,
      'PSS MB': r.pssMB ?? '',
      'extra worker (steady)': r.extraWorkerSteady ?? '',
      'extra worker (peak)': r.extraWorkerPeak ?? '',
      'extra worker (PSS)': r.extraWorkerPss ?? '',
      'extra worker MB (steady)': r.extraWorkerSteadyMB ?? '',
      'artifact part (steady)': r.artifactPartSteady ?? '',
      'artifact part (PSS)': r.artifactPartPss ?? '',
    }))
  );
  writeResults('memory', {
    description:
      'RSS and PSS with W = 1..N workers each holding a model with a large artifact: shared (context.sharedArtifact) vs one private copy per worker; ONNX weights embedded vs external data',
    artifactMb,
    batches: nBatches,
    batchRows,
    reps,
    results,
  });
}

if (values.child) console.log(JSON.stringify(await child()));
else await parent();
