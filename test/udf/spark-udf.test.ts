// sparkUdf against real worker threads. The probe fixture model logs each loadContext to a file,
// so load counts are read from the log, not inferred from timing.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RecordBatch, Table, tableFromArrays, type Vector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { sparkUdf, type SparkUdf } from '../../src/udf/spark-udf.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { rejectionOf } from '../util/model-error.js';

let dir: string;
let probe: string;
let probeB: string;
let pool: ModelPool;
let seq = 0;

const file = (name: string) => join(dir, `${name}-${seq++}.log`);
const lines = (f: string) =>
  existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;

function table(n: number, start = 0): Table {
  return tableFromArrays({
    x: Float64Array.from({ length: n }, (_, i) => start + i),
    id: BigInt64Array.from({ length: n }, (_, i) => BigInt(start + i)),
  });
}

const expected = (n: number, start = 0, offset = 0) =>
  Array.from({ length: n }, (_, i) => (start + i) * 2 + offset);

async function withUdf<T>(
  path: string,
  options: Parameters<typeof sparkUdf>[1],
  fn: (udf: SparkUdf) => Promise<T>
): Promise<T> {
  const udf = await sparkUdf(path, { pool, warn: () => undefined, ...options });
  try {
    return await fn(udf);
  } finally {
    await udf.close();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-spark-udf-'));
  ({ probe, probeB } = makeFixtures(dir) as { probe: string; probeB: string });
  pool = createPool({ workers: 2 });
});

afterAll(async () => {
  await pool.close();
});

describe('sparkUdf: load once per worker', () => {
  it('loads a package at most once per worker across batches, tables and UDF objects', async () => {
    const loadLog = file('loads');
    // Pinned to the workers: under 'auto' these tiny batches move to the calling thread, which
    // loads the model once more (placement.test.ts covers that).
    const options = { modelConfig: { loadLog }, batchSize: 1000, placement: 'workers' as const };
    const udf1 = await sparkUdf(probe, { pool, ...options });
    const udf2 = await sparkUdf(probe, { pool, ...options });
    try {
      for (const n of [5000, 3, 2500]) {
        expect([...((await udf1.apply(table(n))) as Vector)]).toEqual(expected(n));
        expect([...((await udf2.apply(table(n, 7))) as Vector)]).toEqual(expected(n, 7));
      }
      const loads = lines(loadLog);
      expect(loads).toBeGreaterThanOrEqual(1);
      expect(loads).toBeLessThanOrEqual(2);
      expect(udf1.stats().modelLoads + udf2.stats().modelLoads).toBe(loads);
      expect(udf1.stats().batches).toBeGreaterThan(2);
    } finally {
      await udf1.close();
      await udf2.close();
    }
  });

  it('keeps different configs and packages in different cache entries', async () => {
    const loadLog = file('loads');
    await withUdf(probe, { modelConfig: { loadLog, offset: 1 } }, async (udf) => {
      expect([...((await udf.apply(table(10))) as Vector)]).toEqual(expected(10, 0, 1));
    });
    const afterA = lines(loadLog);
    await withUdf(probe, { modelConfig: { loadLog, offset: 2 } }, async (udf) => {
      expect([...((await udf.apply(table(10))) as Vector)]).toEqual(expected(10, 0, 2));
    });
    const afterB = lines(loadLog);
    await withUdf(probeB, { modelConfig: { loadLog, offset: 1 } }, async (udf) => {
      expect([...((await udf.apply(table(10))) as Vector)]).toEqual(expected(10, 0, 1));
    });
    expect(afterA).toBe(1);
    expect(afterB).toBe(2);
    expect(lines(loadLog)).toBe(3);
  });

  it('evicts beyond the cache bound and closes the evicted model', async () => {
    const small = createPool({ workers: 1, cache: { maxEntries: 1 } });
    const loadLog = file('loads');
    const closeLog = file('close');
    try {
      const a = await sparkUdf(probe, {
        pool: small,
        modelConfig: { loadLog, closeLog, offset: 1 },
      });
      const b = await sparkUdf(probe, {
        pool: small,
        modelConfig: { loadLog, closeLog, offset: 2 },
      });
      for (let i = 0; i < 2; i++) {
        await a.apply(table(4));
        await b.apply(table(4));
      }
      expect(lines(loadLog)).toBe(4);
      expect(lines(closeLog)).toBe(3);
      await a.close();
      await b.close();
    } finally {
      await small.close();
    }
  });

  it('shares one default pool between UDFs and closes it with the last one', async () => {
    const { defaultPoolCount } = await import('../../src/pool/pool.js');
    const before = defaultPoolCount();
    // On the workers from the start: under 'auto' a UDF acquires the default pool only once
    // it needs workers (its first batches run on the calling thread meanwhile).
    const a = await sparkUdf(probe, { workers: 1, placement: 'workers' });
    const b = await sparkUdf(probe, { workers: 1, placement: 'workers' });
    expect(defaultPoolCount()).toBe(before + 1);
    expect([...((await a.apply(table(3))) as Vector)]).toEqual(expected(3));
    expect([...((await b.apply(table(3))) as Vector)]).toEqual(expected(3));
    await a.close();
    expect(defaultPoolCount()).toBe(before + 1);
    await b.close();
    expect(defaultPoolCount()).toBe(before);
  });

  it('releases the default pool it started when the package cannot be read', async () => {
    const { defaultPoolCount } = await import('../../src/pool/pool.js');
    const before = defaultPoolCount();
    await expect(sparkUdf(`${probe}-missing`, { workers: 1 })).rejects.toMatchObject({
      code: 'E_MLMODEL_MISSING',
    });
    expect(defaultPoolCount()).toBe(before);
  });
});

describe('sparkUdf: splitting and order', () => {
  it('a faster worker takes more of the rows than a slower one', async () => {
    // One worker sleeps 1.6x as long per row as the other. With 4 equal tasks each would take 2
    // of them, 30,000 rows each, and the call would wait for the slow one.
    const slowPool = createPool({ workers: 2 });
    try {
      await withUdf(
        probe,
        { pool: slowPool, placement: 'workers', params: { msPerKRows: 10, oddThreadFactor: 1.6 } },
        async (udf) => {
          await udf.apply(table(8192)); // both workers load the model first
          const before = new Map(udf.stats().perWorker.map((w) => [w.threadId, w.rows]));
          expect(before.size).toBe(2);
          const v = (await udf.apply(table(60_000))) as Vector;
          expect(v.length).toBe(60_000);
          expect(v.get(59_999)).toBe(59_999 * 2);
          const rows = (odd: boolean) => {
            const w = udf.stats().perWorker.find((x) => x.threadId % 2 === (odd ? 1 : 0))!;
            return w.rows - before.get(w.threadId)!;
          };
          expect(rows(false) + rows(true)).toBe(60_000);
          expect(rows(false)).toBeGreaterThan(rows(true));
        }
      );
    } finally {
      await slowPool.close();
    }
  });

  it('returns results in input order despite random per-batch delays', async () => {
    await withUdf(probe, { batchSize: 250, params: { maxDelayMs: 15 } }, async (udf) => {
      const v = (await udf.apply(table(5000))) as Vector;
      expect(v.length).toBe(5000);
      expect([...v]).toEqual(expected(5000));
      expect(udf.stats().batches).toBe(20);
    });
  });

  it('mapBatches yields input + prediction batches in order, splitting large ones', async () => {
    await withUdf(probe, { batchSize: 100, params: { maxDelayMs: 10 } }, async (udf) => {
      async function* source() {
        let start = 0;
        for (const n of [150, 0, 80, 230, 1]) {
          // An empty batch: a 1-row batch sliced to nothing (tableFromArrays makes no 0-row batch).
          yield n === 0 ? table(1, start).batches[0]!.slice(0, 0) : table(n, start).batches[0]!;
          start += n;
        }
      }
      const out: RecordBatch[] = [];
      for await (const b of udf.mapBatches(source(), { outputColumn: 'prediction' })) out.push(b);
      const all = new Table(out);
      expect(all.numRows).toBe(461);
      expect(all.schema.fields.map((f) => f.name)).toEqual(['x', 'id', 'prediction']);
      expect([...all.getChild('prediction')!]).toEqual(expected(461));
      expect([...all.getChild('x')!]).toEqual(Array.from({ length: 461 }, (_, i) => i));
      expect(out.every((b) => b.numRows <= 100)).toBe(true);
    });
  });

  it('mapBatches replaces an existing output column where it stands', async () => {
    await withUdf(probe, {}, async (udf) => {
      const out: RecordBatch[] = [];
      for await (const b of udf.mapBatches([table(5).batches[0]!], { outputColumn: 'x' })) {
        out.push(b);
      }
      const all = new Table(out);
      expect(all.schema.fields.map((f) => f.name)).toEqual(['x', 'id']);
      expect([...all.getChild('x')!]).toEqual(expected(5));
    });
  });
});

describe('sparkUdf: streams, backpressure, warnings', () => {
  it('keeps at most workers * inFlightPerWorker tasks pulled ahead of the consumer', async () => {
    await withUdf(probe, { batchSize: 10, inFlightPerWorker: 2 }, async (udf) => {
      let pulled = 0;
      function* source() {
        for (let i = 0; i < 50; i++) {
          pulled++;
          yield table(10, i * 10).batches[0]!;
        }
      }
      const seen: number[] = [];
      for await (const b of udf.mapBatches(source())) {
        seen.push(pulled);
        expect(b.numRows).toBe(10);
      }
      // 2 workers x 2 in flight: the source is never more than 4 batches ahead (+1 being read).
      expect(seen[0]).toBeLessThanOrEqual(4);
      expect(Math.max(...seen.map((p, i) => p - i))).toBeLessThanOrEqual(5);
      expect(seen).toHaveLength(50);
    });
  });

  it('fails an unfinished stream loudly when the UDF is closed', async () => {
    const udf = await sparkUdf(probe, { pool, warn: () => undefined });
    async function* endless() {
      for (let i = 0; ; i++) yield table(5, i * 5).batches[0]!;
    }
    let rows = 0;
    let closing: Promise<void> | undefined;
    const err = await rejectionOf(
      (async () => {
        for await (const b of udf.mapBatches(endless())) {
          rows += b.numRows;
          closing ??= udf.close();
        }
      })()
    );
    expect(err.code).toBe('E_POOL_CLOSED');
    expect(rows).toBeGreaterThan(0);
    await closing;
  });

  it('forwards worker warnings to warn, once per distinct message', async () => {
    const warnings: string[] = [];
    const udf = await sparkUdf(probe, {
      pool,
      batchSize: 100,
      modelConfig: { notAKey: 1 },
      warn: (m) => warnings.push(m),
    });
    try {
      await udf.apply(table(1000));
      await udf.apply(table(1000));
    } finally {
      await udf.close();
    }
    const about = warnings.filter((w) => w.includes('notAKey'));
    expect(about).toHaveLength(1);
  });
});

describe('sparkUdf: columns, result types, tables', () => {
  it('withColumn appends (or replaces) the prediction column', async () => {
    await withUdf(probe, {}, async (udf) => {
      const t = (await udf.withColumn(table(6), 'p')) as Table;
      expect(t.schema.fields.map((f) => f.name)).toEqual(['x', 'id', 'p']);
      expect([...t.getChild('p')!]).toEqual(expected(6));
      const again = (await udf.withColumn(t, 'p')) as Table;
      expect(again.schema.fields.map((f) => f.name)).toEqual(['x', 'id', 'p']);
      // As Spark's withColumn: an existing column is replaced where it stands.
      const inPlace = (await udf.withColumn(table(6), 'x')) as Table;
      expect(inPlace.schema.fields.map((f) => f.name)).toEqual(['x', 'id']);
      expect([...inPlace.getChild('x')!]).toEqual(expected(6));
      expect([...inPlace.getChild('id')!]).toEqual([...table(6).getChild('id')!]);
    });
  });

  it('accepts tables built by the other (CommonJS) apache-arrow copy', async () => {
    const cjs = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');
    const foreign = cjs.tableFromArrays({
      x: Float64Array.from([1, 2, 3]),
      id: BigInt64Array.from([1n, 2n, 3n]),
    });
    expect(foreign instanceof Table).toBe(true); // instanceof passes; DataType identity does not
    await withUdf(probe, {}, async (udf) => {
      const t = (await udf.withColumn(foreign as unknown as Table, 'p')) as Table;
      expect([...t.getChild('p')!]).toEqual([2, 4, 6]);
      const first = foreign.batches[0]!;
      expect([...((await udf.apply(first as unknown as RecordBatch)) as Vector)]).toEqual([
        2, 4, 6,
      ]);
    });
  });

  it('maps columns by position onto the signature', async () => {
    await withUdf(probe, {}, async (udf) => {
      const t = tableFromArrays({ a: Float64Array.from([1, 2]), b: BigInt64Array.from([1n, 2n]) });
      expect([...((await udf.apply(t, ['a', 'b'])) as Vector)]).toEqual([2, 4]);
    });
  });

  it('fails on missing required columns before any batch runs', async () => {
    const loadLog = file('loads');
    await withUdf(probe, { modelConfig: { loadLog } }, async (udf) => {
      const err = await rejectionOf(udf.apply(tableFromArrays({ x: Float64Array.from([1, 2]) })));
      expect(err.message).toMatch(/id/);
      expect(udf.stats().batches).toBe(0);
    });
    expect(lines(loadLog)).toBe(0);
  });

  it('never sends an empty batch to the model', async () => {
    const loadLog = file('loads');
    await withUdf(probe, { modelConfig: { loadLog } }, async (udf) => {
      const v = (await udf.apply(table(0))) as Vector;
      expect(v.length).toBe(0);
      expect(String(v.type)).toBe('Float64');
    });
    expect(lines(loadLog)).toBe(0);
  });

  it('honours an explicit result type', async () => {
    await withUdf(probe, { resultType: 'string' }, async (udf) => {
      expect(udf.arrowType.toString()).toBe('Utf8');
      expect([...((await udf.apply(table(2))) as Vector)]).toEqual(['0', '2']);
    });
  });

  it('reports stats per worker that add up to the totals', async () => {
    await withUdf(probe, { batchSize: 500 }, async (udf) => {
      await udf.apply(table(4000));
      const s = udf.stats();
      expect(s.rows).toBe(4000);
      expect(s.batches).toBe(8);
      // Batches auto placed on the calling thread are counted there instead.
      const { callerRows, callerBatches } = s.placement;
      expect(s.perWorker.reduce((a, w) => a + w.rows, 0) + callerRows).toBe(4000);
      expect(s.perWorker.reduce((a, w) => a + w.batches, 0) + callerBatches).toBe(8);
      expect(s.predictMs).toBeGreaterThanOrEqual(0);
      expect(s.perWorker.length).toBeLessThanOrEqual(2);
    });
  });
});
