// Dataframe path: scoring a danfo DataFrame through udf.withColumn vs the same data as an Arrow
// table through udf.withColumn, vs what a danfo user would write by hand (row-wise), with the
// linear model (10 float64 columns) and the mlp model (compute-heavy).
//
//   node benchmarks/dataframe.mjs [--quick] [--reps N] [--rows N] [--row-wise-rows N] [--models linear,mlp]
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
import dfd from 'danfojs-node';
import * as arrow from 'apache-arrow';
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

const values = flags({
  rows: { type: 'string' },
  'row-wise-rows': { type: 'string' },
  models: { type: 'string' },
});
const reps = num(values, 'reps', 5, 2);
const warmup = num(values, 'warmup', 1, 1);
const rowsFor = {
  linear: num(values, 'rows', 200_000, 50_000),
  mlp: num(values, 'rows', 40_000, 10_000),
};
const rowWiseRows = num(values, 'row-wise-rows', 2_000, 500);
const models = list(values, 'models', ['linear', 'mlp']);

const { sparkUdf } = await importDist('udf/spark-udf.js');
const { tableToDanfo, danfoToTable } = await importDist('adapters/danfo.js');
const results = [];

for (const name of models) {
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

writeResults('dataframe', {
  description:
    'danfo DataFrame through udf.withColumn vs Arrow through udf.withColumn vs row-wise danfo apply / per-row predict',
  reps,
  warmup,
  rowWiseRows,
  results,
});
