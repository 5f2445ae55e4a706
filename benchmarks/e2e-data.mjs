// Helpers of benchmarks/e2e.mjs: the input files (made once with DuckDB from vega-datasets'
// flights-3m.parquet) and the correctness check of a jsfunc output against DuckDB's output of
// the same job (untimed). Runs DuckDB in the calling process.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import * as arrow from 'apache-arrow';

/** Relative tolerance on the prediction column (jsfunc and DuckDB both compute in double). */
export const PREDICTION_RTOL = 1e-9;

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ident = (s) => `"${String(s).replaceAll('"', '""')}"`;

let db;
/** One in-process DuckDB connection for preparation and checks (2 threads). */
async function connection() {
  if (db === undefined) {
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    await c.run('SET threads=2');
    await c.run('SET preserve_insertion_order=true');
    db = { instance, c };
  }
  return db.c;
}

/** Closes the in-process DuckDB (end of the benchmark). */
export function closeDuckDb() {
  if (db === undefined) return;
  db.c.closeSync();
  db.instance.closeSync();
  db = undefined;
}

async function rows(sql) {
  const c = await connection();
  return (await c.runAndReadAll(sql)).getRowObjectsJS();
}

/**
 * The benchmark inputs in `dataDir`, made when missing (each written to a temp name and renamed,
 * so an interrupted preparation is redone):
 *   flights-3m.parquet   the vega-datasets file re-encoded by DuckDB (3,000,000 rows)
 *   flights-12m.parquet  4x UNION ALL of it (12,000,000 rows)
 *   flights-3m.csv       DuckDB's CSV export of the 3M rows, with a header (~106 MB)
 * @param {string} dataDir
 * @param {string} vegaParquet path of node_modules/vega-datasets/data/flights-3m.parquet
 * @param {string[]} names the files needed
 * @returns {Promise<Record<string, string>>} name -> path
 */
export async function prepareData(dataDir, vegaParquet, names) {
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(vegaParquet))
    throw new Error(`${vegaParquet} is missing (dev dependency vega-datasets)`);
  const src = `read_parquet(${lit(vegaParquet)})`;
  const recipes = {
    'flights-3m.parquet': `COPY (SELECT * FROM ${src}) TO {dst} (FORMAT parquet)`,
    'flights-12m.parquet': `COPY (SELECT * FROM ${src} UNION ALL SELECT * FROM ${src} UNION ALL SELECT * FROM ${src} UNION ALL SELECT * FROM ${src}) TO {dst} (FORMAT parquet)`,
    'flights-3m.csv': `COPY (SELECT * FROM ${src}) TO {dst} (FORMAT csv, HEADER true)`,
  };
  const out = {};
  for (const name of names) {
    const path = join(dataDir, name);
    out[name] = path;
    if (existsSync(path)) continue;
    const tmp = `${path}.partial`;
    rmSync(tmp, { force: true });
    const t0 = performance.now();
    await (await connection()).run(recipes[name].replace('{dst}', lit(tmp)));
    renameSync(tmp, path);
    process.stderr.write(
      `e2e: made ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`
    );
  }
  return out;
}

/** Row count of a Parquet or CSV file (DuckDB). */
export async function countRows(path) {
  const reader = path.endsWith('.csv') ? `read_csv(${lit(path)})` : `read_parquet(${lit(path)})`;
  const [r] = await rows(`SELECT count(*)::BIGINT AS n FROM ${reader}`);
  return Number(r.n);
}

/** `DESCRIBE` of a relation: [{name, type}]. */
async function describe(relation) {
  return (await rows(`DESCRIBE SELECT * FROM ${relation}`)).map((r) => ({
    name: r.column_name,
    type: r.column_type,
  }));
}

/**
 * A relation with the file's rows and their position `__rn` (0-based, file order). Parquet:
 * `file_row_number`. CSV: a temp table filled in file order (preserve_insertion_order), whose
 * rowid is the position.
 */
async function positioned(path, tableName) {
  if (path.endsWith('.parquet'))
    return `(SELECT file_row_number AS __rn, * EXCLUDE (file_row_number) FROM read_parquet(${lit(path)}, file_row_number=true))`;
  if (path.endsWith('.csv')) {
    const c = await connection();
    await c.run(
      `CREATE OR REPLACE TEMP TABLE ${tableName} AS SELECT * FROM read_csv(${lit(path)})`
    );
    return `(SELECT rowid AS __rn, * FROM ${tableName})`;
  }
  throw new Error(`e2e check: unsupported file ${path}`);
}

/**
 * Compares jsfunc's output with DuckDB's output of the same job: the same columns (by name, in
 * order), the same number of rows, and row i of one equal to row i of the other for every i
 * (input columns exactly, after casting jsfunc's column to DuckDB's type, so a CSV timestamp
 * written `2001-01-01T00:01:00` equals `2001-01-01 00:01:00`; `prediction` within
 * {@link PREDICTION_RTOL} relative). The Arrow IPC output, which this DuckDB cannot read without
 * an extension, is streamed with apache-arrow and compared row by row in JS with DuckDB's
 * reference (see {@link compareArrowOutput}).
 * @returns {Promise<{ok: boolean, summary: string, rows: number, refRows: number,
 *   mismatchedRows: number, firstMismatchRow?: number, typeNotes: string[]}>}
 */
export async function compareOutputs(jsfuncPath, refPath) {
  if (jsfuncPath.endsWith('.arrow') || jsfuncPath.endsWith('.arrows'))
    return compareArrowOutput(jsfuncPath, refPath);
  const c = await connection();
  const a = await positioned(jsfuncPath, '__e2e_a');
  const b = await positioned(refPath, '__e2e_b');
  try {
    const colsA = (await describe(a)).filter((x) => x.name !== '__rn');
    const colsB = (await describe(b)).filter((x) => x.name !== '__rn');
    const namesA = colsA.map((x) => x.name).join(',');
    const namesB = colsB.map((x) => x.name).join(',');
    const typeNotes = [];
    for (const cb of colsB) {
      const ca = colsA.find((x) => x.name === cb.name);
      if (ca !== undefined && ca.type !== cb.type)
        typeNotes.push(`${cb.name}: jsfunc ${ca.type} vs duckdb ${cb.type}`);
    }
    if (namesA !== namesB) {
      return {
        ok: false,
        summary: `MISMATCH: columns [${namesA}] vs DuckDB [${namesB}]`,
        rows: NaN,
        refRows: NaN,
        mismatchedRows: NaN,
        typeNotes,
      };
    }
    const differs = colsB.map((cb) => {
      const x = `a.${ident(cb.name)}`;
      const y = `b.${ident(cb.name)}`;
      if (cb.name === 'prediction') {
        const xd = `TRY_CAST(${x} AS DOUBLE)`;
        const yd = `CAST(${y} AS DOUBLE)`;
        // (DuckDB orders NaN above every number and equal to NaN, so NaN vs NaN is equal.)
        return `((${xd} IS NULL) <> (${y} IS NULL) OR (isnan(${xd}) <> isnan(${yd})) OR (NOT isnan(${yd}) AND abs(${xd} - ${yd}) > ${PREDICTION_RTOL} * abs(${yd})))`;
      }
      return `(TRY_CAST(${x} AS ${cb.type}) IS DISTINCT FROM ${y} OR ((${x} IS NULL) <> (${y} IS NULL)))`;
    });
    const bad = `(a.__rn IS NULL OR b.__rn IS NULL OR ${differs.join(' OR ')})`;
    const [r] = (
      await c.runAndReadAll(`
      SELECT count(a.__rn)::BIGINT AS rows, count(b.__rn)::BIGINT AS ref_rows,
             count(*) FILTER (WHERE ${bad})::BIGINT AS bad,
             min(coalesce(a.__rn, b.__rn)) FILTER (WHERE ${bad})::BIGINT AS first_bad
      FROM ${a} a FULL OUTER JOIN ${b} b ON a.__rn = b.__rn`)
    ).getRowObjectsJS();
    const out = {
      rows: Number(r.rows),
      refRows: Number(r.ref_rows),
      mismatchedRows: Number(r.bad),
      firstMismatchRow: r.first_bad === null ? undefined : Number(r.first_bad),
      typeNotes,
    };
    out.ok = out.mismatchedRows === 0 && out.rows === out.refRows;
    out.summary = out.ok
      ? `ok (${out.rows.toLocaleString('en-US')} rows, same order)`
      : mismatchSummary(out);
    if (!out.ok && out.firstMismatchRow !== undefined) {
      const n = out.firstMismatchRow;
      out.sample = {
        jsfunc: await rows(`SELECT * FROM ${a} WHERE __rn = ${n}`),
        duckdb: await rows(`SELECT * FROM ${b} WHERE __rn = ${n}`),
      };
    }
    return out;
  } finally {
    await c.run('DROP TABLE IF EXISTS __e2e_a');
    await c.run('DROP TABLE IF EXISTS __e2e_b');
  }
}

/** "MISMATCH: ..." for a failed comparison. */
function mismatchSummary(r) {
  const counts =
    r.rows === r.refRows ? `${r.rows} rows each` : `jsfunc ${r.rows} rows vs DuckDB ${r.refRows}`;
  return `MISMATCH: ${r.mismatchedRows} rows differ or are missing (${counts}), first at row ${r.firstMismatchRow}`;
}

const TIME_UNIT_TO_MICROS = [1_000_000n, 1_000n, 1n, 0n]; // s, ms, us, ns (ns: divide)

/**
 * Reads row i of a fixed-width vector from its buffers (faster than get(); one data chunk, as a
 * record batch's column has), or null when invalid. Undefined for other vectors.
 */
function rawReader(vector) {
  if (vector.data.length !== 1) return undefined;
  const d = vector.data[0];
  const { values, offset } = d;
  if (values === undefined || ArrayBuffer.isView(values) === false) return undefined;
  const noNulls = d.nullCount === 0;
  return (i) => (noNulls || d.getValid(i) ? values[offset + i] : null);
}

/** A per-row getter of an Arrow vector that returns values comparable with DuckDB's (below). */
function arrowGetter(vector) {
  const type = vector.type;
  if (arrow.DataType.isTimestamp(type)) {
    // Raw 64-bit values, normalized to microseconds (apache-arrow's get() returns milliseconds).
    const raw = rawReader(vector);
    const unit = type.unit;
    if (raw === undefined) throw new Error('e2e check: a timestamp column in several chunks');
    return (i) => {
      const v = raw(i);
      if (v === null) return null;
      if (unit === 2) return v;
      return unit === 3 ? BigInt(v) / 1000n : BigInt(v) * TIME_UNIT_TO_MICROS[unit];
    };
  }
  if (arrow.DataType.isDate(type)) {
    return (i) => {
      const v = vector.get(i);
      return v === null ? null : BigInt(Math.floor(Number(v) / 86_400_000));
    };
  }
  if (arrow.DataType.isInt(type)) {
    const raw = rawReader(vector);
    if (raw !== undefined && type.bitWidth === 64) return raw; // bigint already
    return (i) => {
      const v = raw === undefined ? vector.get(i) : raw(i);
      return v === null ? null : BigInt(v);
    };
  }
  if (arrow.DataType.isFloat(type) && type.precision !== arrow.Precision.HALF) {
    return rawReader(vector) ?? ((i) => vector.get(i));
  }
  if (arrow.DataType.isFloat(type) || arrow.DataType.isDecimal(type)) {
    return (i) => {
      const v = vector.get(i);
      return v === null ? null : Number(v);
    };
  }
  return (i) => vector.get(i);
}

/** DuckDB projection of a column whose values compare with {@link arrowGetter}'s. */
function duckProjection(col) {
  const c = ident(col.name);
  if (col.type.startsWith('TIMESTAMP')) return `epoch_us(${c})::BIGINT AS ${c}`;
  if (col.type === 'DATE') return `(${c} - DATE '1970-01-01')::BIGINT AS ${c}`;
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(col.type))
    return `${c}::BIGINT AS ${c}`;
  if (/^(FLOAT|DOUBLE|DECIMAL)/.test(col.type)) return `${c}::DOUBLE AS ${c}`;
  return `${c}::VARCHAR AS ${c}`;
}

function sameValue(name, x, y) {
  if (x === null || y === null) return x === y;
  if (name === 'prediction' || typeof y === 'number') {
    const a = Number(x);
    if (Number.isNaN(a) || Number.isNaN(y)) return Number.isNaN(a) && Number.isNaN(y);
    return a === y || Math.abs(a - y) <= PREDICTION_RTOL * Math.abs(y);
  }
  if (typeof y === 'bigint') return typeof x === 'bigint' ? x === y : BigInt(x) === y;
  return String(x) === y;
}

/**
 * Compares an Arrow IPC file written by jsfunc with DuckDB's reference (a Parquet file of the
 * same job), row by row in file order: apache-arrow reads the IPC file batch by batch, DuckDB
 * streams the reference chunk by chunk (timestamps as epoch microseconds, integers as BIGINT,
 * prediction as DOUBLE).
 */
export async function compareArrowOutput(arrowPath, refPath) {
  const c = await connection();
  const refCols = await describe(`read_parquet(${lit(refPath)})`);
  const handle = await open(arrowPath, 'r');
  try {
    const reader = await arrow.RecordBatchReader.from(handle);
    await reader.open();
    const names = reader.schema.fields.map((f) => f.name);
    const typeNotes = [];
    if (names.join(',') !== refCols.map((x) => x.name).join(',')) {
      return {
        ok: false,
        summary: `MISMATCH: columns [${names}] vs DuckDB [${refCols.map((x) => x.name)}]`,
        rows: NaN,
        refRows: NaN,
        mismatchedRows: NaN,
        typeNotes,
      };
    }
    for (const [k, f] of reader.schema.fields.entries())
      typeNotes.push(`${f.name}: jsfunc ${f.type} / duckdb ${refCols[k].type}`);
    const stream = await c.stream(
      `SELECT ${refCols.map(duckProjection).join(', ')} FROM read_parquet(${lit(refPath)})`
    );
    // Reference rows, chunk by chunk: refChunk[k] = column k's values, refAt = next row.
    let refChunk = names.map(() => []);
    let refLen = 0;
    let refAt = 0;
    let refDone = false;
    let refRows = 0;
    const fill = async () => {
      while (!refDone && refAt >= refLen) {
        const ch = await stream.fetchChunk();
        if (ch === null || ch.rowCount === 0) refDone = true;
        else {
          refChunk = names.map((_, k) => ch.getColumnValues(k));
          refLen = ch.rowCount;
          refAt = 0;
        }
      }
    };
    let rowsSeen = 0;
    let bad = 0;
    let firstBad;
    let sample;
    for await (const batch of reader) {
      const getters = names.map((_, k) => arrowGetter(batch.getChildAt(k)));
      for (let i = 0; i < batch.numRows; i++, rowsSeen++) {
        if (refAt >= refLen) await fill();
        if (refDone) {
          bad++;
          firstBad ??= rowsSeen;
          continue;
        }
        const j = refAt++;
        refRows++;
        for (let k = 0; k < names.length; k++) {
          const x = getters[k](i);
          const y = refChunk[k][j];
          if (!sameValue(names[k], x, y)) {
            bad++;
            if (firstBad === undefined) {
              firstBad = rowsSeen;
              sample = { column: names[k], jsfunc: String(x), duckdb: String(y) };
            }
            break;
          }
        }
      }
    }
    // Reference rows jsfunc did not write.
    for (;;) {
      if (refAt >= refLen) await fill();
      if (refDone) break;
      const extra = refLen - refAt;
      refRows += extra;
      bad += extra;
      firstBad ??= rowsSeen;
      refAt = refLen;
    }
    const out = {
      rows: rowsSeen,
      refRows,
      mismatchedRows: bad,
      firstMismatchRow: firstBad,
      typeNotes,
      sample,
    };
    out.ok = bad === 0 && rowsSeen === refRows;
    out.summary = out.ok
      ? `ok (${rowsSeen.toLocaleString('en-US')} rows, same order)`
      : mismatchSummary(out);
    return out;
  } finally {
    await handle.close();
  }
}
