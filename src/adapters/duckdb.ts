/**
 * DuckDB (`@duckdb/node-api`) <-> Arrow record batches: stream a query's result into a UDF
 * without materialising it, and write scored batches back through an appender. Registering a
 * model as a SQL scalar function is `udf/duckdb-function.ts` (it loads models, so it lives above
 * the package layer).
 *
 * ```ts
 * const udf = await sparkUdf('out/flights', { resultType: 'double' });
 * const scored = udf.mapBatches(fromDuckDB(connection, "SELECT * FROM 'flights.parquet'"));
 * await toDuckDB(connection, 'scored', scored);
 * ```
 *
 * `@duckdb/node-api` is an optional peer dependency: the connection is used through its public
 * methods, by shape, and the raw bindings it is built on are loaded on first use
 * (`duckdb-bindings.ts`).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { adoptRecordBatch } from './arrow-guards.js';
import {
  type DuckDBAppenderLike,
  type DuckDBConnectionLike,
  type DuckDBBindings,
  type DuckDBDataChunkLike,
  type RawChunk,
  duckdbBindings,
} from './duckdb-bindings.js';
import { ChunkBatcher } from './duckdb-read.js';
import { duckdbSqlType, duckdbTypeIdFor, writeVector } from './duckdb-write.js';

export type {
  DuckDBAppenderLike,
  DuckDBConnectionLike,
  DuckDBDataChunkLike,
  DuckDBResultLike,
  DuckDBTypeLike,
} from './duckdb-bindings.js';

/** Options of {@link fromDuckDB}. */
export interface FromDuckDBOptions {
  /** Most rows per batch (DuckDB chunks of up to 2048 rows are gathered). Default 65536. */
  batchRows?: number;
  /** Prepared-statement parameters of `sql`, passed to `connection.stream`. Default none. */
  values?: unknown;
  /**
   * Put the batches' buffers in SharedArrayBuffers, so a UDF sends them to its workers without
   * another copy. Default true.
   */
  shared?: boolean;
  /**
   * DuckDB's `streaming_buffer_size` for this query, in bytes: how far DuckDB's threads may run
   * ahead of the reader. DuckDB's default (976.5 KiB, a few chunks) stalls its parallel scan
   * every few chunks while JavaScript converts and scores; measured on a 3M-row Parquet file
   * (`SELECT *`, 2 threads), draining the stream took 480 ms with the default, 280 ms with
   * 16 MiB and 190 ms with 128 MiB. The connection's setting is raised to this for the query
   * (never lowered) and put back when the stream ends: DuckDB's default by `RESET`, a value of
   * your own as DuckDB prints it (to a tenth of its unit: `2MB` comes back as `1.8 MiB`). `null`
   * leaves the setting alone. Default 32 MiB.
   */
  streamingBufferBytes?: number | null;
}

/**
 * Connections with a {@link fromDuckDB} stream open. DuckDB ends a connection's streaming result
 * silently when that connection runs another statement (the stream then just stops early), so
 * both functions refuse a connection that is streaming.
 */
const streaming = new WeakMap<object, number>();

function refuseStreaming(connection: DuckDBConnectionLike, what: string): void {
  if ((streaming.get(connection) ?? 0) === 0) return;
  throw new ModelError(
    'E_OPTION_INVALID',
    `${what} on a connection that is streaming a fromDuckDB query would end that stream early (DuckDB closes a connection's streaming result when it runs another statement): use another connection of the same instance (await instance.connect()).`,
    { details: { option: 'connection' } }
  );
}

function queryFailed(sql: string, cause: unknown): ModelError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ModelError('E_INPUT_INVALID', `DuckDB query failed: ${message}`, {
    details: { sql },
    cause,
  });
}

function positiveInt(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.${option} must be a positive integer, got ${String(value)}`,
      {
        details: { option },
      }
    );
  }
  return value;
}

/**
 * Streams the result of `sql` as Arrow record batches, without materialising it: DuckDB's
 * streaming result is read one data chunk (up to 2048 rows) at a time and chunks are gathered
 * into batches of up to `batchRows` rows, converted column by column (see `duckdb-columns.ts` for
 * the type mapping). The next chunk is fetched while a batch is being consumed. Memory: the
 * batch being gathered plus the batches the consumer holds; DuckDB itself keeps what the query
 * plan needs (a streaming scan holds little, a sort or aggregate its state).
 *
 * A result of zero rows yields one empty batch (so its schema reaches the consumer).
 *
 * Run nothing else on `connection` until the stream ends: DuckDB ends a connection's streaming
 * result when the connection runs another statement, and the stream would just stop early.
 * Write results through another connection of the same instance; {@link toDuckDB} and a second
 * `fromDuckDB` refuse a connection that is streaming (until this stream ends or is returned).
 *
 * @param connection - a `@duckdb/node-api` DuckDBConnection
 * @param sql - the query
 * @param options - see {@link FromDuckDBOptions}
 * @returns the batches, in result order
 * @throws {ModelError} E_INPUT_INVALID when the query fails or a column has a type jsfunc does
 *   not read (LIST, STRUCT, UUID, INTERVAL, ...: cast it in SQL); E_OPTION_INVALID for options
 *   or a connection that is already streaming
 *
 * @example
 * ```ts
 * for await (const batch of udf.mapBatches(fromDuckDB(connection, "SELECT * FROM read_parquet('x.parquet')"))) {
 *   console.log(batch.numRows);
 * }
 * ```
 */
export async function* fromDuckDB(
  connection: DuckDBConnectionLike,
  sql: string,
  options: FromDuckDBOptions = {}
): AsyncGenerator<RecordBatch, void, undefined> {
  const batchRows = positiveInt(options.batchRows, 'batchRows', 65_536);
  const bufferBytes =
    options.streamingBufferBytes === null
      ? null
      : positiveInt(options.streamingBufferBytes, 'streamingBufferBytes', 32 * 2 ** 20);
  const b = duckdbBindings();
  refuseStreaming(connection, 'fromDuckDB');
  // Before the stream starts: any statement on the connection would end it.
  const restore =
    bufferBytes === null ? null : await raiseStreamingBuffer(b, connection, bufferBytes);
  streaming.set(connection, (streaming.get(connection) ?? 0) + 1);
  try {
    yield* streamResult(b, connection, sql, batchRows, options);
  } finally {
    streaming.set(connection, streaming.get(connection)! - 1);
    // A performance setting: failing to put it back (a closed connection) is not the
    // stream's failure.
    if (restore !== null) await restore().catch(() => undefined);
  }
}

const kUnits: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes of a DuckDB memory setting as it prints it (`976.5 KiB`, `32.0 MiB`); NaN if unknown. */
export function parseDuckDBBytes(text: string): number {
  const m = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m === null ? undefined : kUnits[m[2]!.toLowerCase()];
  return m === null || unit === undefined ? Number.NaN : Number(m[1]) * unit;
}

/**
 * Raises the connection's `streaming_buffer_size` to `bytes` when it is lower (see
 * {@link FromDuckDBOptions.streamingBufferBytes}); returns what puts it back, or null when the
 * setting was left as it was.
 */
async function raiseStreamingBuffer(
  b: DuckDBBindings,
  connection: DuckDBConnectionLike,
  bytes: number
): Promise<(() => Promise<void>) | null> {
  const current = await streamingBufferSetting(b, connection);
  if (current === undefined || !(parseDuckDBBytes(current) < bytes)) return null;
  await run(connection, `SET streaming_buffer_size = '${bytes}B'`);
  return async () => {
    // RESET when the setting was DuckDB's default (SET of its printed, rounded value would not
    // give the same bytes back), else the value it had.
    await run(connection, 'RESET streaming_buffer_size');
    if ((await streamingBufferSetting(b, connection)) === current) return;
    await run(connection, `SET streaming_buffer_size = '${current.replaceAll("'", "''")}'`);
  };
}

/** The connection's `streaming_buffer_size` as DuckDB prints it; undefined when unknown. */
async function streamingBufferSetting(
  b: DuckDBBindings,
  connection: DuckDBConnectionLike
): Promise<string | undefined> {
  try {
    const result = await connection.stream("SELECT current_setting('streaming_buffer_size')");
    const batcher = new ChunkBatcher(b, ['v'], result.columnTypes(), b.vector_size(), false);
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount !== 1) return undefined;
    batcher.append(chunk.chunk as RawChunk, 1);
    const value: unknown = batcher.finish().getChildAt(0)!.get(0);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined; // a DuckDB without the setting: leave it alone
  }
}

async function* streamResult(
  b: DuckDBBindings,
  connection: DuckDBConnectionLike,
  sql: string,
  batchRows: number,
  options: FromDuckDBOptions
): AsyncGenerator<RecordBatch, void, undefined> {
  let result;
  try {
    result = await connection.stream(sql, options.values);
  } catch (cause) {
    throw queryFailed(sql, cause);
  }
  const batcher = new ChunkBatcher(
    b,
    result.columnNames(),
    result.columnTypes(),
    Math.max(batchRows, b.vector_size()),
    options.shared ?? true
  );
  const fetch = (): Promise<DuckDBDataChunkLike | null> => {
    const p = result.fetchChunk();
    p.catch(() => undefined); // a prefetch the consumer abandoned must not go unhandled
    return p;
  };
  let next = fetch();
  let yielded = false;
  for (;;) {
    let chunk: DuckDBDataChunkLike | null;
    try {
      chunk = await next;
    } catch (cause) {
      throw queryFailed(sql, cause);
    }
    const n = chunk?.rowCount ?? 0;
    if (chunk === null || n === 0) break;
    next = fetch();
    if (!batcher.fits(n)) {
      yielded = true;
      yield batcher.finish();
    }
    batcher.append(chunk.chunk as RawChunk, n);
  }
  if (batcher.rows > 0 || !yielded) yield batcher.finish();
}

/** Options of {@link toDuckDB}. */
export interface ToDuckDBOptions {
  /** The table's schema (DuckDB schema, e.g. `main`). Default: the connection's current one. */
  schema?: string;
  /**
   * Create the table from the first batch's columns when it does not exist
   * (`CREATE TABLE IF NOT EXISTS`). Default true. An existing table must have the batches'
   * columns, in order, with the DuckDB types they map to.
   */
  create?: boolean;
}

/** What {@link toDuckDB} wrote. */
export interface ToDuckDBSummary {
  /** Rows appended. */
  rows: number;
  /** Batches appended. */
  batches: number;
}

const quote = (id: string) => `"${id.replaceAll('"', '""')}"`;

/**
 * Appends record batches to a DuckDB table through an appender, a data chunk (2048 rows) at a
 * time, buffers copied column by column (see `duckdb-write.ts` for the type mapping). Nothing
 * is materialised beyond the batch being written, so it can consume `udf.mapBatches(...)`
 * directly.
 *
 * `connection` must not be the one a {@link fromDuckDB} source streams on (DuckDB would end that
 * stream early): use another connection of the same instance.
 *
 * Not atomic: on a failure the rows appended before it stay (the appender is closed, which
 * flushes them). Run it inside `BEGIN` ... `COMMIT` on the same connection for all or nothing.
 *
 * @param connection - a `@duckdb/node-api` DuckDBConnection
 * @param table - the table name
 * @param batches - the batches (all with the same columns)
 * @param options - see {@link ToDuckDBOptions}
 * @returns the rows and batches written
 * @throws {ModelError} E_OPTION_INVALID when `connection` is streaming a fromDuckDB query;
 *   E_SCHEMA_MISMATCH when the table's columns do not match the batches;
 *   E_INPUT_INVALID for a column type jsfunc does not write (nested, decimal) or a DuckDB
 *   failure; whatever `batches` throws
 */
export async function toDuckDB(
  connection: DuckDBConnectionLike,
  table: string,
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  options: ToDuckDBOptions = {}
): Promise<ToDuckDBSummary> {
  const b = duckdbBindings();
  const target =
    options.schema === undefined ? quote(table) : `${quote(options.schema)}.${quote(table)}`;
  let appender: DuckDBAppenderLike | undefined;
  let typeIds: number[] = [];
  let chunk: RawChunk | undefined;
  const summary: ToDuckDBSummary = { rows: 0, batches: 0 };
  const chunkRows = b.vector_size();
  try {
    for await (const input of batches as AsyncIterable<RecordBatch>) {
      const batch = adoptRecordBatch(input);
      if (appender === undefined) {
        refuseStreaming(connection, 'toDuckDB');
        const fields = batch.schema.fields;
        if (options.create ?? true) {
          const columns = fields.map((f) => `${quote(f.name)} ${duckdbSqlType(f.name, f.type)}`);
          await run(connection, `CREATE TABLE IF NOT EXISTS ${target} (${columns.join(', ')})`);
        }
        try {
          appender = await connection.createAppender(table, options.schema ?? null);
        } catch (cause) {
          throw new ModelError(
            'E_INPUT_INVALID',
            `DuckDB could not append to ${target}: ${String(cause)}`,
            {
              details: { table },
              cause,
            }
          );
        }
        typeIds = checkColumns(appender, fields, target);
        chunk = b.create_data_chunk(typeIds.map((id) => b.create_logical_type(id)));
      }
      for (let start = 0; start < batch.numRows; start += chunkRows) {
        const n = Math.min(chunkRows, batch.numRows - start);
        b.data_chunk_reset(chunk!);
        b.data_chunk_set_size(chunk!, n);
        batch.schema.fields.forEach((f, i) => {
          const column = batch.getChildAt(i)!.slice(start, start + n);
          writeVector(b, b.data_chunk_get_vector(chunk!, i), column, typeIds[i]!, f.name);
        });
        appender!.appendDataChunk({ chunk });
      }
      summary.rows += batch.numRows;
      summary.batches++;
    }
    appender?.flushSync();
  } finally {
    appender?.closeSync();
  }
  return summary;
}

async function run(connection: DuckDBConnectionLike, sql: string): Promise<void> {
  try {
    await connection.run(sql);
  } catch (cause) {
    throw queryFailed(sql, cause);
  }
}

/** The DuckDB type ids to write, checked against the appender's table. */
function checkColumns(
  appender: DuckDBAppenderLike,
  fields: readonly { name: string; type: unknown }[],
  target: string
): number[] {
  const mismatch = (message: string, details: Record<string, unknown>) =>
    new ModelError('E_SCHEMA_MISMATCH', `DuckDB table ${target}: ${message}`, {
      details: { table: target, ...details },
    });
  if (appender.columnCount !== fields.length) {
    throw mismatch(`it has ${appender.columnCount} columns, the batches have ${fields.length}.`, {
      expected: appender.columnCount,
      found: fields.length,
    });
  }
  return fields.map((f, i) => {
    const wanted = duckdbTypeIdFor(f.type as never);
    const sql = duckdbSqlType(f.name, f.type as never);
    const column = appender.columnType(i);
    if (column.typeId !== wanted) {
      throw mismatch(
        `column ${i + 1} is ${String(column)}, the batches' column ${f.name} is written as ${sql}.`,
        {
          column: f.name,
          expected: String(column),
          found: sql,
        }
      );
    }
    return wanted;
  });
}
