// The DuckDB side of benchmarks/e2e.mjs: one COPY job in a fresh process, timed by the parent
// (wall time from spawn to exit, so process start and the DuckDB import count, as they do for
// `jsfunc score`). Imports nothing but @duckdb/node-api, so the process does no more than a
// user's one-line DuckDB script would.
//
//   node benchmarks/e2e-duckdb.mjs --threads 2 --format parquet|csv|parquet-uncompressed SRC DST
//
// Runs `SET threads=N; COPY (SELECT *, <EXPR> AS prediction FROM SRC) TO DST (FORMAT ...)` and
// prints one JSON line: {"rows": <rows copied>, "ms": <time inside this process>}.
// EXPR is E2E_SQL_EXPR below (the flights model's formula, in DOUBLE like the model's output).
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The flights model's formula as SQL. The literals are DOUBLE: written as plain `0.8` DuckDB
 * types them DECIMAL and the column comes out DECIMAL(24,2), a different output schema (and
 * different arithmetic) than the model's `double`.
 */
export const E2E_SQL_EXPR = '0.8::DOUBLE * delay + 0.01::DOUBLE * distance + 2';

/** FROM clause reading `path` (auto-detected CSV dialect and types, as a user would write it). */
export function sqlSource(path) {
  const lit = `'${path.replaceAll("'", "''")}'`;
  if (path.endsWith('.csv')) return `read_csv(${lit})`;
  if (path.endsWith('.parquet')) return `read_parquet(${lit})`;
  throw new Error(`e2e-duckdb: unsupported input ${path}`);
}

/** The COPY options for an output format. */
export function copyOptions(format) {
  switch (format) {
    case 'parquet':
      return '(FORMAT parquet)';
    case 'parquet-uncompressed':
      return '(FORMAT parquet, COMPRESSION uncompressed)';
    case 'csv':
      return '(FORMAT csv, HEADER true)';
    default:
      throw new Error(`e2e-duckdb: unsupported format ${format}`);
  }
}

/** The timed statement. */
export function copySql(src, dst, format, expr = E2E_SQL_EXPR) {
  const out = `'${dst.replaceAll("'", "''")}'`;
  return `COPY (SELECT *, ${expr} AS prediction FROM ${sqlSource(src)}) TO ${out} ${copyOptions(format)}`;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      threads: { type: 'string', default: '2' },
      format: { type: 'string', default: 'parquet' },
      expr: { type: 'string' },
    },
  });
  const [src, dst] = positionals;
  if (src === undefined || dst === undefined) throw new Error('usage: e2e-duckdb.mjs SRC DST');
  const t0 = performance.now();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`SET threads=${Number(values.threads)}`);
  const result = await connection.run(copySql(src, dst, values.format, values.expr));
  const rows = Number(result.rowsChanged);
  connection.closeSync();
  instance.closeSync();
  console.log(JSON.stringify({ rows, ms: Math.round(performance.now() - t0) }));
}

if (process.argv[1]?.endsWith('e2e-duckdb.mjs')) await main();
