// DuckDB: query results streamed as Arrow batches (types, nulls, no materialisation), batches
// written back through an appender, and models registered as SQL scalar functions (inline and
// worker modes) on real queries over a Parquet file.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch, Table } from 'apache-arrow';
import { tableFromArrays } from 'apache-arrow';
import {
  fromDuckDB,
  parseDuckDBBytes,
  toDuckDB,
  type DuckDBConnectionLike,
} from '../../src/adapters/duckdb.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { registerDuckDBFunction } from '../../src/udf/duckdb-function.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import { loadModel } from '../../src/package/load-model.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { errorOf, rejectionOf } from '../util/model-error.js';
import { tempDirs } from '../util/temp-dir.js';
import { linearModel } from './frame-fixtures.js';

const dirs = tempDirs();
let instance: DuckDBInstance;
let connection: DuckDBConnection;
let linear: string;
let linearAsync: string;
let probe: string;
let parquet: string;

beforeAll(async () => {
  const dir = dirs.make('jsfunc-duckdb-');
  linear = linearModel(dir);
  linearAsync = linearModel(dir, { async: true });
  probe = (makeFixtures(dir) as { probe: string }).probe;
  instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  connection = await instance.connect();
  parquet = join(dir, 'rows.parquet');
  await connection.run(
    `COPY (SELECT (i % 100)::DOUBLE AS a, (i % 7)::BIGINT AS b, 'r' || i AS tag FROM range(10000) t(i) ORDER BY i)
     TO '${parquet}' (FORMAT parquet)`
  );
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
  dirs.cleanup();
});

async function collect(source: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of source) out.push(b);
  return out;
}

const typesOf = (b: RecordBatch | Table) =>
  Object.fromEntries(b.schema.fields.map((f) => [f.name, String(f.type)]));
const column = (b: RecordBatch, name: string) => [...b.getChild(name)!];

describe('fromDuckDB', () => {
  it('accepts a node-api connection by its structural type', () => {
    const typed: DuckDBConnectionLike = connection;
    expect(typeof typed.stream).toBe('function');
  });

  it('converts every supported type, values and nulls', async () => {
    const [batch, ...rest] = await collect(
      fromDuckDB(
        connection,
        `SELECT * FROM (VALUES
          (1::TINYINT, 300::SMALLINT, 70000::INTEGER, 5000000000::BIGINT, 200::UTINYINT, 4000000000::UINTEGER,
           1.5::FLOAT, 2.25::DOUBLE, true, 'short', 'a string longer than twelve bytes ✓', '\\xAA\\xBB'::BLOB,
           DATE '2020-01-02', TIMESTAMP '2020-01-02 03:04:05.006', TIMESTAMPTZ '2020-01-02 03:04:05+00',
           TIMESTAMP_MS '2020-01-02 03:04:05.006', TIME '01:02:03', 12.34::DECIMAL(4,2), -1.5::DECIMAL(18,3)),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
        ) t(ti, si, i, bi, ut, ui, fl, db, bo, s, ls, bl, d, ts, tz, tms, tm, dec4, dec18)`
      )
    );
    expect(rest).toEqual([]);
    expect(typesOf(batch!)).toEqual({
      ti: 'Int8',
      si: 'Int16',
      i: 'Int32',
      bi: 'Int64',
      ut: 'Uint8',
      ui: 'Uint32',
      fl: 'Float32',
      db: 'Float64',
      bo: 'Bool',
      s: 'Utf8',
      ls: 'Utf8',
      bl: 'Binary',
      d: 'Date32<DAY>',
      ts: 'Timestamp<MICROSECOND>',
      tz: 'Timestamp<MICROSECOND, UTC>',
      tms: 'Timestamp<MILLISECOND>',
      tm: 'Time64<MICROSECOND>',
      dec4: 'Decimal[4e+2]',
      dec18: 'Decimal[18e+3]',
    });
    const b = batch!;
    expect(column(b, 'ti')).toEqual([1, null]);
    expect(column(b, 'si')).toEqual([300, null]);
    expect(column(b, 'i')).toEqual([70000, null]);
    expect(column(b, 'bi')).toEqual([5000000000n, null]);
    expect(column(b, 'ut')).toEqual([200, null]);
    expect(column(b, 'ui')).toEqual([4000000000, null]);
    expect(column(b, 'fl')).toEqual([1.5, null]);
    expect(column(b, 'db')).toEqual([2.25, null]);
    expect(column(b, 'bo')).toEqual([true, null]);
    expect(column(b, 's')).toEqual(['short', null]);
    expect(column(b, 'ls')).toEqual(['a string longer than twelve bytes ✓', null]);
    expect(column(b, 'bl').map((v) => (v === null ? null : [...(v as Uint8Array)]))).toEqual([
      [0xaa, 0xbb],
      null,
    ]);
    expect(column(b, 'd')).toEqual([Date.UTC(2020, 0, 2), null]);
    expect(column(b, 'ts')).toEqual([Date.UTC(2020, 0, 2, 3, 4, 5, 6), null]);
    expect(column(b, 'tz')).toEqual([Date.UTC(2020, 0, 2, 3, 4, 5), null]);
    expect(column(b, 'tms')).toEqual([Date.UTC(2020, 0, 2, 3, 4, 5, 6), null]);
    expect(column(b, 'tm')).toEqual([3_723_000_000n, null]);
    expect(String(b.getChild('dec4')!.get(0))).toBe('1234');
    expect(String(b.getChild('dec18')!.get(0))).toBe('-1500');
    expect(b.getChild('dec18')!.get(1)).toBe(null);
  });

  it('streams a result in batches without materialising it', async () => {
    // Ten billion rows: a materialised result would never arrive; the stream's first batches do.
    const huge = fromDuckDB(connection, 'SELECT i, i * 0.5 AS x FROM range(10000000000) t(i)', {
      batchRows: 16_384,
    });
    const first: number[] = [];
    for await (const batch of huge) {
      first.push(batch.numRows);
      if (first.length === 3) break;
    }
    expect(first.every((n) => n > 0 && n <= 16_384)).toBe(true);

    // Batches are not kept: after a GC, at most the last ones are alive.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const refs: WeakRef<RecordBatch>[] = [];
    let rows = 0;
    for await (const batch of fromDuckDB(connection, 'SELECT i FROM range(1000000) t(i)', {
      batchRows: 16_384,
    })) {
      rows += batch.numRows;
      refs.push(new WeakRef(batch));
    }
    gc();
    await new Promise((r) => setTimeout(r, 0));
    gc();
    expect(rows).toBe(1_000_000);
    expect(refs.length).toBeGreaterThanOrEqual(Math.ceil(1_000_000 / 16_384));
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(2);
  });

  it('yields one empty batch with the schema for an empty result', async () => {
    const batches = await collect(fromDuckDB(connection, 'SELECT 1::INTEGER AS a WHERE false'));
    expect(batches.map((b) => [b.numRows, typesOf(b)])).toEqual([[0, { a: 'Int32' }]]);
  });

  it('fails with coded errors: bad SQL, unsupported column types, bad options', async () => {
    const bad = await rejectionOf(collect(fromDuckDB(connection, 'SELECT * FROM no_such_table')));
    expect([bad.code, bad.details['sql']]).toEqual([
      'E_INPUT_INVALID',
      'SELECT * FROM no_such_table',
    ]);
    const list = await rejectionOf(collect(fromDuckDB(connection, 'SELECT [1, 2] AS xs')));
    expect(list.code).toBe('E_INPUT_INVALID');
    expect(list.details).toMatchObject({ column: 'xs', type: 'INTEGER[]' });
    const option = await rejectionOf(collect(fromDuckDB(connection, 'SELECT 1', { batchRows: 0 })));
    expect(option.code).toBe('E_OPTION_INVALID');
  });
});

describe('toDuckDB', () => {
  it('round trips DuckDB -> Arrow -> DuckDB with types, values and nulls', async () => {
    const select = `SELECT * FROM (VALUES
        (1::TINYINT, 5000000000::BIGINT, 1.5::FLOAT, 2.25::DOUBLE, true, 'short', 'a string longer than twelve bytes',
         '\\xAA'::BLOB, DATE '2020-01-02', TIMESTAMP '2020-01-02 03:04:05.006', TIMESTAMPTZ '2020-01-02 03:04:05+00', TIME '01:02:03'),
        (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
      ) t(ti, bi, fl, db, bo, s, ls, bl, d, ts, tz, tm)`;
    const writer = await instance.connect();
    const summary = await toDuckDB(writer, 'round_trip', fromDuckDB(connection, select));
    writer.closeSync();
    expect(summary).toEqual({ rows: 2, batches: 1 });
    const same = await connection.runAndReadAll(
      `SELECT count(*) AS n FROM (SELECT * FROM round_trip EXCEPT ALL ${select})`
    );
    expect(same.getRowObjectsJS()).toEqual([{ n: 0n }]);
    const described = await connection.runAndReadAll('DESCRIBE round_trip');
    expect(described.getRowObjectsJS().map((r) => r['column_type'])).toEqual([
      'TINYINT',
      'BIGINT',
      'FLOAT',
      'DOUBLE',
      'BOOLEAN',
      'VARCHAR',
      'VARCHAR',
      'BLOB',
      'DATE',
      'TIMESTAMP',
      'TIMESTAMP WITH TIME ZONE',
      'TIME',
    ]);
  });

  it('writes a UDF’s scored stream of a Parquet query back through another connection', async () => {
    const pool: ModelPool = createPool({ workers: 1 });
    const udf = await sparkUdf(linear, { pool, warn: () => undefined });
    const writer = await instance.connect();
    try {
      const scored = udf.mapBatches(
        fromDuckDB(connection, `SELECT a, b, tag FROM '${parquet}'`, { batchRows: 4096 })
      );
      const summary = await toDuckDB(writer, 'scored', scored);
      expect(summary.rows).toBe(10_000);
      expect(summary.batches).toBeGreaterThanOrEqual(3);
      const check = await connection.runAndReadAll(
        'SELECT count(*) AS n, count(*) FILTER (WHERE prediction = a * 2 + b) AS ok FROM scored'
      );
      expect(check.getRowObjectsJS()).toEqual([{ n: 10000n, ok: 10000n }]);
    } finally {
      writer.closeSync();
      await udf.close();
      await pool.close();
    }
  });

  it('refuses to run a statement on a connection that is streaming (DuckDB would end the stream early)', async () => {
    // 3M rows: DuckDB really does stop this stream when its connection appends or queries.
    const source = () => fromDuckDB(connection, 'SELECT i FROM range(3000000) t(i)');
    const write = await rejectionOf(toDuckDB(connection, 'same_connection', source()));
    expect([write.code, write.details['option']]).toEqual(['E_OPTION_INVALID', 'connection']);
    const outer = source()[Symbol.asyncIterator]();
    await outer.next();
    const second = await rejectionOf(collect(fromDuckDB(connection, 'SELECT 1')));
    expect(second.code).toBe('E_OPTION_INVALID');
    await outer.return();
    // Once the stream is returned, the connection is free again.
    expect((await collect(fromDuckDB(connection, 'SELECT 1 AS one')))[0]!.numRows).toBe(1);
  });

  it("raises the connection's streaming_buffer_size for the query, then puts it back", async () => {
    const setting = async (c: DuckDBConnection) =>
      (
        await c.runAndReadAll("SELECT current_setting('streaming_buffer_size') AS s")
      ).getRowObjectsJS()[0]!['s'];
    const c = await instance.connect();
    try {
      const initial = await setting(c);
      const during = async (options?: Parameters<typeof fromDuckDB>[2]) => {
        // The setting as a second connection cannot see it: read it from the stream's result
        // (the query asks for it while it runs).
        const [batch] = await collect(
          fromDuckDB(c, "SELECT current_setting('streaming_buffer_size') AS s", options)
        );
        return batch!.getChild('s')!.get(0) as string;
      };
      expect(await during()).toBe('32.0 MiB'); // DuckDB's default (976.5 KiB) raised
      expect(await setting(c)).toBe(initial); // and reset after the stream
      expect(await during({ streamingBufferBytes: 4 * 2 ** 20 })).toBe('4.0 MiB');
      expect(await during({ streamingBufferBytes: null })).toBe(initial);
      await c.run("SET streaming_buffer_size = '3MiB'"); // (as DuckDB prints it: 3.0 MiB)
      const custom = await setting(c);
      expect(await during()).toBe('32.0 MiB');
      expect(await setting(c)).toBe(custom); // a user's own value comes back, not the default
      await c.run("SET streaming_buffer_size = '1GB'");
      expect(await during()).toBe('953.6 MiB'); // never lowered
      const option = await rejectionOf(
        collect(fromDuckDB(c, 'SELECT 1', { streamingBufferBytes: 0 }))
      );
      expect([option.code, option.details['option']]).toEqual([
        'E_OPTION_INVALID',
        'streamingBufferBytes',
      ]);
    } finally {
      c.closeSync();
    }
  });

  it('parses the memory sizes DuckDB prints', () => {
    expect(parseDuckDBBytes('976.5 KiB')).toBe(976.5 * 1024);
    expect(parseDuckDBBytes('32.0 MiB')).toBe(32 * 2 ** 20);
    expect(parseDuckDBBytes('2.0 GB')).toBe(2e9);
    expect(parseDuckDBBytes('512 bytes')).toBe(512);
    expect(parseDuckDBBytes('lots')).toBeNaN();
  });

  it('refuses a table whose columns do not match, and column types it cannot write', async () => {
    await connection.run('CREATE TABLE narrow (a VARCHAR)');
    const batch = () => [tableFromArrays({ a: new Float64Array([1]) }).batches[0]!];
    const mismatch = await rejectionOf(toDuckDB(connection, 'narrow', batch()));
    expect(mismatch.code).toBe('E_SCHEMA_MISMATCH');
    const nested = tableFromArrays({ xs: [[1, 2]] as unknown as number[] });
    const unsupported = await rejectionOf(toDuckDB(connection, 'nested', nested.batches));
    expect(unsupported.code).toBe('E_INPUT_INVALID');
    expect(unsupported.details).toMatchObject({ column: 'xs' });
  });
});

describe('registerDuckDBFunction', () => {
  it('scores a real query inline, equal to the batch path', async () => {
    const fn = await registerDuckDBFunction(connection, 'lin', linear, { warn: () => undefined });
    expect([fn.parameters, fn.returnType, fn.mode]).toEqual([
      [
        { name: 'a', type: 'DOUBLE' },
        { name: 'b', type: 'BIGINT' },
      ],
      'DOUBLE',
      'inline',
    ]);
    const result = await connection.runAndReadAll(
      `SELECT count(*) AS n, count(*) FILTER (WHERE lin(a, b) = a * 2 + b) AS ok, sum(lin(a, b)) AS s FROM '${parquet}'`
    );
    const [row] = result.getRowObjectsJS();
    expect(row).toMatchObject({ n: 10000n, ok: 10000n });
    const model = await loadModel(linear, { warn: () => undefined });
    const all = (
      await connection.runAndReadAll(`SELECT a, b FROM '${parquet}'`)
    ).getColumnsObjectJS();
    const expected = (await model.predict({
      a: all['a'] as number[],
      b: (all['b'] as bigint[]).map(Number),
    })) as Float64Array;
    expect(row!['s']).toBeCloseTo(
      expected.reduce((x, y) => x + y, 0),
      6
    );
    // DuckDB evaluates the common subexpression lin(a, b) once per row.
    expect(fn.stats().rows % 10000).toBe(0);
    expect(fn.stats().calls).toBeGreaterThanOrEqual(5);
    // NULLs in a column reach the model as nulls (it returns NaN for them); a constant NULL
    // argument is folded to NULL by DuckDB without a call.
    const nulls = await connection.runAndReadAll(
      'SELECT lin(a, b) AS p FROM (VALUES (NULL, 1), (2, 3)) t(a, b)'
    );
    expect(nulls.getRowObjectsJS()).toEqual([{ p: NaN }, { p: 7 }]);
    const constant = await connection.runAndReadAll('SELECT lin(NULL, 1) AS p');
    expect(constant.getRowObjectsJS()).toEqual([{ p: null }]);
  });

  it('runs an async model in worker mode, and refuses it inline', async () => {
    const fn = await registerDuckDBFunction(connection, 'lin_async', linearAsync, {
      mode: 'worker',
      warn: () => undefined,
    });
    try {
      const result = await connection.runAndReadAll(
        `SELECT count(*) FILTER (WHERE lin_async(a, b) = a * 2 + b) AS ok FROM '${parquet}'`
      );
      expect(result.getRowObjectsJS()).toEqual([{ ok: 10000n }]);
      const inline = await registerDuckDBFunction(connection, 'lin_async_inline', linearAsync, {
        warn: () => undefined,
      });
      await expect(connection.run('SELECT lin_async_inline(1, 2)')).rejects.toThrow(
        /\[E_MODEL_PREDICT\] .*returned a Promise.*mode: 'worker'/
      );
      expect(inline.lastError?.code).toBe('E_MODEL_PREDICT');
    } finally {
      await fn.close();
    }
    await expect(connection.run('SELECT lin_async(1, 2)')).rejects.toThrow(/\[E_POOL_CLOSED\]/);
  });

  it('fails the query with the model’s coded error, in both modes', async () => {
    const inline = await registerDuckDBFunction(connection, 'lin_fail', linear, {
      warn: () => undefined,
    });
    await expect(connection.run('SELECT lin_fail(-999, 1)')).rejects.toThrow(
      /\[E_MODEL_PREDICT\] Model predict failed: linear model refuses a = -999/
    );
    expect(inline.lastError?.code).toBe('E_MODEL_PREDICT');
    const worker = await registerDuckDBFunction(connection, 'probe_w', probe, {
      mode: 'worker',
      params: { mode: 'throw', failOnId: 3 },
      warn: () => undefined,
    });
    try {
      await expect(connection.run('SELECT probe_w(1.5, 3)')).rejects.toThrow(
        /\[E_MODEL_PREDICT\].*probe model failed on id 3/
      );
      expect(worker.lastError?.code).toBe('E_MODEL_PREDICT');
      // The worker survives a model error.
      const ok = await connection.runAndReadAll('SELECT probe_w(1.5, 4) AS p');
      expect(ok.getRowObjectsJS()).toEqual([{ p: 3 }]);
    } finally {
      await worker.close();
    }
  });

  it('checks its options and the model’s signature', async () => {
    const unknown = await rejectionOf(
      registerDuckDBFunction(connection, 'f1', linear, { inputs: ['nope'], warn: () => undefined })
    );
    expect(unknown.code).toBe('E_OPTION_INVALID');
    const nested = await rejectionOf(
      registerDuckDBFunction(connection, 'f2', linear, {
        resultType: 'array<double>',
        warn: () => undefined,
      })
    );
    expect(nested.code).toBe('E_RESULT_TYPE_INVALID');
    const name = await rejectionOf(registerDuckDBFunction(connection, 'drop table', linear));
    expect(name.code).toBe('E_OPTION_INVALID');
    const mode = await rejectionOf(
      registerDuckDBFunction(connection, 'f3', linear, {
        mode: 'x' as never,
        warn: () => undefined,
      })
    );
    expect(mode.code).toBe('E_OPTION_INVALID');
    // A subset of inputs in another order: DuckDB then binds (b, a).
    const swapped = await registerDuckDBFunction(connection, 'f4', linear, {
      inputs: ['b', 'a'],
      warn: () => undefined,
    });
    expect(swapped.parameters.map((p) => p.name)).toEqual(['b', 'a']);
    const rows = await connection.runAndReadAll('SELECT f4(1, 10.0) AS p');
    expect(rows.getRowObjectsJS()).toEqual([{ p: 21 }]);
    expect(
      errorOf(() => {
        throw unknown;
      }).details
    ).toMatchObject({ option: 'inputs' });
  });
});
