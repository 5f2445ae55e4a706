// Dataframe path: scoring a danfo DataFrame through udf.withColumn vs the same data as an Arrow
// table through udf.withColumn, vs what a danfo user would write by hand (row-wise), with the
// linear model (10 float64 columns) and the mlp model (compute-heavy).
//
//   node benchmarks/dataframe.mjs [--quick] [--reps N] [--rows N] [--row-wise-rows N] [--models linear,mlp]
//        [--sections danfo,frames,duckdb] [--frame-rows N] [--data-dir DIR]
//
// Sections (default all three):
// danfo (below), frames (arquero and Polars), duckdb (DuckDB vs jsfunc score).
//
// Vectorized variants, over `rows` rows:
//   arrow withColumn      udf.withColumn(table, 'prediction')  -> Arrow Table
//   danfo withColumn      udf.withColumn(df, 'prediction')     -> danfo DataFrame (converted
//                         to Arrow columns and back, not row by row)
//   danfo<->arrow only    danfoToTable(df) + tableToDanfo(table + column): the conversion share
//   own predict (main)    the model's own predict on the Arrow table, main thread (reference)
// Row-wise variants, over the first `row-wise-rows` rows (fewer: they are slow), compared by rows/s:
//   danfo apply           df.apply(row => own predict on a one-row Arrow table, { axis: 1 })
//   per-row predict       for each row: await model.predict({ x0: .., .. }) (jsfunc's loaded model)
//
// frames: the linear model on `frame-rows` rows (default 1M) x 10 float64 columns, the same data
// as an Arrow table, an arquero table (typed-array columns, as aq.table builds them), an arquero
// table from aq.fromArrow(IPC bytes) (flechette columns, as aq.loadArrow builds them) and a
// Polars DataFrame, each through udf.withColumn (through src/adapters/frames.ts exactly as
// spark-udf.ts calls it, when the installed build does not accept frames directly yet), plus the
// conversions alone (frame -> Arrow -> frame with a ready column). Target (issue 11): frame
// withColumn <= 1.10 x Arrow withColumn.
//
// duckdb: the flights model on flights-3m.parquet (3M rows, made once under --data-dir as
// benchmarks/e2e.mjs does), every variant on the same warm pool:
//   jsfunc score          scoreFiles(model, parquet, out.parquet): the `jsfunc score` engine
//   duckdb batches        udf.mapBatches(fromDuckDB(c, SELECT * FROM read_parquet(..))) drained
//                         (and with shared: false, the udf copying batches into its slabs;
//                         and SELECT delay, distance: the model's columns only)
//   duckdb -> table       the same into toDuckDB(c2, 'scored', ...) (an appender)
//   SQL fn inline         CREATE TABLE .. AS SELECT *, predict(delay, distance) FROM read_parquet(..)
//                         with the model registered inline (main thread) ...
//   SQL fn worker         ... and in worker mode (one worker thread, a blocking hand-off per chunk)
// Target (issue 11): the DuckDB batch path within 1.5 x jsfunc score.
//
// In the frames and duckdb sections the order of the variants rotates from round to round, so
// that collecting one variant's garbage (80 MB copies, shared buffers) does not always land on
// the same next variant.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import dfd from 'danfojs-node';
import * as arrow from 'apache-arrow';
import { prepareData } from './e2e-data.mjs';
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
  repoRoot,
  round,
  summarize,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({
  rows: { type: 'string' },
  'row-wise-rows': { type: 'string' },
  models: { type: 'string' },
  sections: { type: 'string' },
  'frame-rows': { type: 'string' },
  'data-dir': { type: 'string' },
});
const reps = num(values, 'reps', 5, 2);
const warmup = num(values, 'warmup', 1, 1);
const rowsFor = {
  linear: num(values, 'rows', 200_000, 50_000),
  mlp: num(values, 'rows', 40_000, 10_000),
};
const rowWiseRows = num(values, 'row-wise-rows', 2_000, 500);
const models = list(values, 'models', ['linear', 'mlp']);
const sections = list(values, 'sections', ['danfo', 'frames', 'duckdb']);
const frameRows = num(values, 'frame-rows', 1_000_000, 200_000);

const { sparkUdf } = await importDist('udf/spark-udf.js');
const { tableToDanfo, danfoToTable } = await importDist('adapters/danfo.js');
const results = [];
const frameResults = [];
const duckdbResults = [];

for (const name of sections.includes('danfo') ? models : []) {
  const rows = rowsFor[name];
  const path = await modelPath(name);
  const data = numericTable(rows);
  const df = tableToDanfo(data);
  const small = data.slice(0, rowWiseRows);
  const smallDf = tableToDanfo(small);
  const features = data.schema.fields.map((f) => f.name);
  const { model, own } = await ownPredict(path, { warn: () => {} });
  const udf = await sparkUdf(path, { workers: cores, resultType: 'double', warn: () => {} });
  const check = (n, expected) => {
    if (n !== expected) throw new Error(`${name}: got ${n} rows, expected ${expected}`);
  };

  const variants = [
    {
      name: 'arrow withColumn',
      rows,
      run: async () => check((await udf.withColumn(data, 'prediction')).numRows, rows),
    },
    {
      name: 'danfo withColumn',
      rows,
      run: async () => check((await udf.withColumn(df, 'prediction')).shape[0], rows),
    },
    {
      name: 'danfo<->arrow only',
      rows,
      run: () => {
        const t = danfoToTable(df);
        const y = arrow.makeVector(new Float64Array(rows));
        check(tableToDanfo(t.assign(new arrow.Table({ prediction: y }))).shape[0], rows);
      },
    },
    { name: 'own predict (main)', rows, run: () => check(own(data).length, rows) },
    {
      name: 'danfo apply row-wise',
      rows: rowWiseRows,
      run: () => {
        const s = smallDf.apply(
          (row) => {
            const one = {};
            for (let c = 0; c < features.length; c++) one[features[c]] = Float64Array.of(row[c]);
            return own(arrow.tableFromArrays(one))[0];
          },
          { axis: 1 }
        );
        check(s.values.length, rowWiseRows);
      },
    },
    {
      name: 'per-row model.predict',
      rows: rowWiseRows,
      run: async () => {
        const cols = features.map((f) => small.getChild(f).toArray());
        let n = 0;
        for (let r = 0; r < rowWiseRows; r++) {
          const one = {};
          for (let c = 0; c < features.length; c++) one[features[c]] = cols[c][r];
          n += (await model.predict(one)).length;
        }
        check(n, rowWiseRows);
      },
    },
  ];
  process.stderr.write(`dataframe ${name}: ${rows} rows (row-wise ${rowWiseRows}) `);
  const t = await interleave(variants, { warmup, reps });
  const rate = (v) => v.rows / (summarize(t.get(v.name).samples).medianMs / 1000);
  const arrowRate = rate(variants[0]);
  for (const v of variants) {
    const s = summarize(t.get(v.name).samples);
    results.push({
      model: name,
      variant: v.name,
      rows: v.rows,
      workers: v.name.includes('withColumn') ? cores : 0,
      ...s,
      rowsPerSec: round(rate(v)),
      vsArrowWithColumn: round(rate(v) / arrowRate),
    });
  }
  await udf.close();
}

if (results.length > 0) {
  table(
    `dataframe path: medians of ${reps}; row-wise variants on fewer rows, compare rows/s (vs = rows/s / arrow withColumn rows/s)`,
    results.map((r) => ({
      model: r.model,
      variant: r.variant,
      rows: r.rows,
      'median ms': r.medianMs,
      'rows/s': r.rowsPerSec,
      vs: r.vsArrowWithColumn,
    }))
  );
}

if (sections.includes('frames')) await framesSection();
if (sections.includes('duckdb')) await duckdbSection();

writeResults('dataframe', {
  description:
    'danfo DataFrame through udf.withColumn vs Arrow through udf.withColumn vs row-wise danfo apply / per-row predict; arquero and Polars through udf.withColumn vs Arrow; the DuckDB batch path and SQL function vs jsfunc score',
  reps,
  warmup,
  rowWiseRows,
  frameRows,
  results,
  frameResults,
  duckdbResults,
});

/**
 * `withColumn` of a dataframe: udf.withColumn(frame) when the build accepts frames, else the
 * same two calls spark-udf.ts makes into frames.ts (convert, score the Arrow table, convert back).
 */
async function frameWithColumnFn(udf, probe) {
  const { toArrowInput } = await importDist('adapters/frames.js');
  try {
    await udf.withColumn(probe, 'prediction');
    return { wired: true, run: (frame) => udf.withColumn(frame, 'prediction') };
  } catch (error) {
    if (error?.code !== 'E_INPUT_INVALID') throw error;
    return {
      wired: false,
      run: async (frame) => {
        const input = toArrowInput(frame);
        return input.withColumn('prediction', await udf.apply(input.table));
      },
    };
  }
}

async function framesSection() {
  const aq = await import('arquero');
  const pl = (await import('nodejs-polars')).default;
  const { toArrowInput } = await importDist('adapters/frames.js');
  const rows = frameRows;
  const path = await modelPath('linear');
  const data = numericTable(rows);
  const columns = Object.fromEntries(
    data.schema.fields.map((f) => [f.name, data.getChild(f.name).toArray()])
  );
  const dt = aq.table(columns);
  const dtFlechette = aq.fromArrow(arrow.tableToIPC(data));
  const pdf = pl.DataFrame(columns);
  const y = arrow.makeVector(new Float64Array(rows));
  const udf = await sparkUdf(path, { workers: cores, resultType: 'double', warn: () => {} });
  const small = aq.table(
    Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, v.slice(0, 4)]))
  );
  const { wired, run } = await frameWithColumnFn(udf, small);
  const check = (n) => {
    if (n !== rows) throw new Error(`frames: got ${n} rows, expected ${rows}`);
  };
  const variants = [
    {
      name: 'arrow withColumn',
      run: async () => check((await udf.withColumn(data, 'prediction')).numRows),
    },
    { name: 'arquero withColumn', run: async () => check((await run(dt)).numRows()) },
    {
      name: 'arquero (flechette) withColumn',
      run: async () => check((await run(dtFlechette)).numRows()),
    },
    { name: 'polars withColumn', run: async () => check((await run(pdf)).height) },
    {
      name: 'arquero<->arrow only',
      run: () => check(toArrowInput(dt).withColumn('prediction', y).numRows()),
    },
    {
      name: 'polars<->arrow only',
      run: () => check(toArrowInput(pdf).withColumn('prediction', y).height),
    },
  ];
  process.stderr.write(`dataframe frames: ${rows} rows x 10 float64 (wired: ${wired}) `);
  const t = await interleave(variants, { warmup, reps, order: 'rotate' });
  const base = summarize(t.get('arrow withColumn').samples).medianMs;
  for (const v of variants) {
    const s = summarize(t.get(v.name).samples);
    frameResults.push({
      variant: v.name,
      rows,
      workers: cores,
      wired,
      ...s,
      vsArrow: round(s.medianMs / base),
    });
  }
  await udf.close();
  table(
    `frames: linear model, ${rows} rows x 10 float64, medians of ${reps}; vs = median / arrow withColumn median (target for the withColumn rows: <= 1.10)`,
    frameResults.map((r) => ({
      variant: r.variant,
      'median ms': r.medianMs,
      p25: r.p25Ms,
      p75: r.p75Ms,
      vs: r.vsArrow,
    }))
  );
}

async function duckdbSection() {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { createPool } = await importDist('pool/pool.js');
  const { scoreFiles } = await importDist('score/score-files.js');
  const { fromDuckDB, toDuckDB } = await importDist('adapters/duckdb.js');
  const { registerDuckDBFunction } = await importDist('udf/duckdb-function.js');
  const dataDir = resolve(
    repoRoot,
    String(values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? '.tmp/bench-data')
  );
  const vegaParquet = join(repoRoot, 'node_modules/vega-datasets/data/flights-3m.parquet');
  const { 'flights-3m.parquet': parquet } = await prepareData(dataDir, vegaParquet, [
    'flights-3m.parquet',
  ]);
  const outDir = join(dataDir, 'out');
  mkdirSync(outDir, { recursive: true });
  const scored = join(outDir, 'dataframe-score.parquet');
  const path = await modelPath('flights');
  const warn = () => {};
  const pool = createPool({ workers: cores });
  const udf = await sparkUdf(path, { pool, resultType: 'double', warn });
  const instance = await DuckDBInstance.create(':memory:', { threads: String(cores) });
  const reader = await instance.connect();
  const writer = await instance.connect();
  await registerDuckDBFunction(reader, 'predict_inline', path, { warn });
  const workerFn = await registerDuckDBFunction(reader, 'predict_worker', path, {
    mode: 'worker',
    warn,
  });
  const source = `read_parquet('${parquet.replaceAll("'", "''")}')`;
  const expected = 3_000_000;
  const check = (n) => {
    if (Number(n) !== expected) throw new Error(`duckdb: got ${n} rows, expected ${expected}`);
  };
  const count = async (c, t) =>
    (await c.runAndReadAll(`SELECT count(*) AS n FROM ${t}`)).getRowObjectsJS()[0].n;
  const variants = [
    {
      name: 'jsfunc score (parquet -> parquet)',
      run: async () => {
        rmSync(scored, { force: true });
        const summary = await scoreFiles(path, parquet, scored, { pool, resultType: 'double' });
        check(summary.rows);
      },
    },
    {
      name: 'duckdb batches -> mapBatches (drain)',
      run: async () => {
        let n = 0;
        for await (const b of udf.mapBatches(fromDuckDB(reader, `SELECT * FROM ${source}`)))
          n += b.numRows;
        check(n);
      },
    },
    {
      name: 'duckdb batches, shared: false (drain)',
      run: async () => {
        let n = 0;
        const sql = `SELECT * FROM ${source}`;
        for await (const b of udf.mapBatches(fromDuckDB(reader, sql, { shared: false })))
          n += b.numRows;
        check(n);
      },
    },
    {
      name: 'duckdb batches, model columns only (drain)',
      run: async () => {
        let n = 0;
        const sql = `SELECT delay, distance FROM ${source}`;
        for await (const b of udf.mapBatches(fromDuckDB(reader, sql))) n += b.numRows;
        check(n);
      },
    },
    {
      name: 'duckdb batches -> mapBatches -> toDuckDB',
      run: async () => {
        await writer.run('DROP TABLE IF EXISTS scored');
        const s = await toDuckDB(
          writer,
          'scored',
          udf.mapBatches(fromDuckDB(reader, `SELECT * FROM ${source}`))
        );
        check(s.rows);
      },
    },
    {
      name: 'SQL function inline (CREATE TABLE AS)',
      run: async () => {
        await reader.run(
          `CREATE OR REPLACE TABLE scored_inline AS SELECT *, predict_inline(delay, distance) AS prediction FROM ${source}`
        );
        check(await count(reader, 'scored_inline'));
      },
    },
    {
      name: 'SQL function worker (CREATE TABLE AS)',
      run: async () => {
        await reader.run(
          `CREATE OR REPLACE TABLE scored_worker AS SELECT *, predict_worker(delay, distance) AS prediction FROM ${source}`
        );
        check(await count(reader, 'scored_worker'));
      },
    },
  ];
  process.stderr.write(`dataframe duckdb: flights-3m.parquet (${expected} rows) `);
  const t = await interleave(variants, { warmup, reps, order: 'rotate' });
  const base = summarize(t.get(variants[0].name).samples).medianMs;
  for (const v of variants) {
    const s = summarize(t.get(v.name).samples);
    duckdbResults.push({
      variant: v.name,
      rows: expected,
      workers: cores,
      ...s,
      vsScore: round(s.medianMs / base),
    });
  }
  await workerFn.close();
  reader.closeSync();
  writer.closeSync();
  instance.closeSync();
  await udf.close();
  await pool.close();
  rmSync(scored, { force: true });
  table(
    `duckdb: flights model, flights-3m.parquet, ${cores} workers / DuckDB threads, medians of ${reps}; vs = median / jsfunc score median (target for the batch path: <= 1.5)`,
    duckdbResults.map((r) => ({
      variant: r.variant,
      'median ms': r.medianMs,
      p25: r.p25Ms,
      p75: r.p75Ms,
      vs: r.vsScore,
    }))
  );
}
