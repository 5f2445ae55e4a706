// sparkUdf failure handling against real worker threads: model errors, dying workers
// (process.exit, a thread that just ends, uncaught async errors, heap exhaustion), timeouts,
// aborts, close, and option validation. No assertion depends on timing margins: hanging models
// never resolve, and crashes are triggered by a chosen row id.
import { getEventListeners } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Table, tableFromArrays, type Vector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { kDefaultSparkUdfOptions, resolveSparkUdfOptions } from '../../src/udf/options.js';
import { sparkUdf, type SparkUdf } from '../../src/udf/spark-udf.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { rejectionOf } from '../util/model-error.js';

let dir: string;
let probe: string;
let pool: ModelPool;

function table(n: number, start = 0): Table {
  return tableFromArrays({
    x: Float64Array.from({ length: n }, (_, i) => start + i),
    id: BigInt64Array.from({ length: n }, (_, i) => BigInt(start + i)),
  });
}
const expected = (n: number, start = 0) => Array.from({ length: n }, (_, i) => (start + i) * 2);

async function withUdf<T>(
  options: Parameters<typeof sparkUdf>[1],
  fn: (udf: SparkUdf) => Promise<T>,
  p = pool
): Promise<T> {
  const udf = await sparkUdf(probe, { pool: p, warn: () => undefined, ...options });
  try {
    return await fn(udf);
  } finally {
    await udf.close();
  }
}

/** The pool still scores correctly (on every worker slot) after a failure. */
async function stillServes(p = pool): Promise<void> {
  await withUdf(
    { batchSize: 100 },
    async (udf) => {
      expect([...((await udf.apply(table(1000))) as Vector)]).toEqual(expected(1000));
    },
    p
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-udf-failures-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
  pool = createPool({ workers: 2 });
});

afterAll(async () => {
  await pool.close();
});

describe('model errors', () => {
  it('rejects with the batch position, the model URI and the model error as cause', async () => {
    await withUdf({ batchSize: 1000, params: { mode: 'throw', failOnId: 1500 } }, async (udf) => {
      const err = await rejectionOf(udf.apply(table(4000)));
      expect(err.code).toBe('E_MODEL_PREDICT');
      expect(err.details).toMatchObject({
        batchIndex: 1,
        rowStart: 1000,
        rowEnd: 2000,
        modelUri: probe,
      });
      expect(err.message).toContain('probe model failed on id 1500');
      let cause: unknown = err.cause;
      let found = false;
      while (cause instanceof Error) {
        if (
          cause.message.includes('probe model failed on id 1500') &&
          (cause.stack ?? '').includes('model.mjs')
        )
          found = true;
        cause = cause.cause;
      }
      expect(found).toBe(true);
      // Batches without the bad row still score with the same UDF.
      expect([...((await udf.apply(table(100))) as Vector)]).toEqual(expected(100));
    });
  });

  it('fails a batch whose result length differs from the batch length, naming both', async () => {
    await withUdf({ batchSize: 1000, params: { mode: 'short', failOnId: 0 } }, async (udf) => {
      const err = await rejectionOf(udf.apply(table(1000)));
      expect(err.code).toBe('E_MODEL_OUTPUT');
      expect(err.message).toMatch(/999/);
      expect(err.message).toMatch(/1000/);
    });
  });
});

describe('dying workers', () => {
  it.each([
    ['exit', 'process.exit'],
    ['reallyExit', 'exited with code 5'],
    ['asyncThrow', 'probe async failure'],
  ])(
    'mode %s: only the held batch fails with E_WORKER_CRASHED, and the pool keeps serving',
    async (mode, text) => {
      await withUdf({ batchSize: 1000, params: { mode, failOnId: 2500 } }, async (udf) => {
        const err = await rejectionOf(udf.apply(table(4000)));
        expect(err.code).toBe('E_WORKER_CRASHED');
        expect(err.details).toMatchObject({ batchIndex: 2, rowStart: 2000, rowEnd: 3000 });
        expect(err.message).toContain(text);
        expect(udf.stats().failures).toBe(1);
      });
      await stillServes();
    }
  );

  it('retries a batch whose worker died when retries > 0', async () => {
    const flagPath = join(dir, 'exit-once.flag');
    await withUdf(
      {
        batchSize: 500,
        retries: 1,
        params: { mode: 'exitOnce', failOnId: 700 },
        modelConfig: { flagPath },
      },
      async (udf) => {
        expect([...((await udf.apply(table(2000))) as Vector)]).toEqual(expected(2000));
        expect(udf.stats().retries).toBe(1);
      }
    );
  });

  it('replaces a worker that runs out of heap', async () => {
    const small = createPool({
      workers: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    try {
      await withUdf(
        { params: { mode: 'oom', failOnId: 3 } },
        async (udf) => {
          const err = await rejectionOf(udf.apply(table(10)));
          expect(err.code).toBe('E_WORKER_CRASHED');
        },
        small
      );
      await stillServes(small);
    } finally {
      await small.close();
    }
  });
});

describe('timeouts, aborts and close', () => {
  it.each(['hang', 'spin'])(
    'mode %s: a batch over timeoutMs fails with E_TIMEOUT without leaking the worker',
    async (mode) => {
      await withUdf({ timeoutMs: 300, params: { mode, failOnId: 1 } }, async (udf) => {
        const err = await rejectionOf(udf.apply(table(10)));
        expect(err.code).toBe('E_TIMEOUT');
        expect(err.details).toMatchObject({ batchIndex: 0, rowStart: 0, rowEnd: 10 });
      });
      expect(pool.threadIds).toHaveLength(2);
      await stillServes();
    }
  );

  it('an AbortSignal stops running work with E_ABORTED', async () => {
    const controller = new AbortController();
    await withUdf(
      { signal: controller.signal, params: { mode: 'hang', failOnId: 1 } },
      async (udf) => {
        const pending = udf.apply(table(10));
        controller.abort();
        expect((await rejectionOf(pending)).code).toBe('E_ABORTED');
        expect((await rejectionOf(udf.apply(table(10)))).code).toBe('E_ABORTED');
      }
    );
    await stillServes();
  });

  it('holds one listener on the AbortSignal however many tasks are in flight, none after close', async () => {
    const controller = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const udf = await sparkUdf(probe, {
        pool,
        placement: 'workers',
        signal: controller.signal,
        batchSize: 50,
        inFlightPerWorker: 16,
        params: { maxDelayMs: 2 },
      });
      const pending = udf.apply(table(2000));
      await new Promise((r) => setTimeout(r, 20));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      expect([...((await pending) as Vector)]).toEqual(expected(2000));
      await udf.close();
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('close() drains in-flight work; later calls fail with E_POOL_CLOSED', async () => {
    const udf = await sparkUdf(probe, { pool, batchSize: 100, params: { maxDelayMs: 5 } });
    const pending = udf.apply(table(1000));
    const closed = udf.close();
    expect([...((await pending) as Vector)]).toEqual(expected(1000));
    await closed;
    expect((await rejectionOf(udf.apply(table(1)))).code).toBe('E_POOL_CLOSED');
    await udf.close();
  });

  it('close({ cancel: true }) stops hanging work', async () => {
    const udf = await sparkUdf(probe, { pool, params: { mode: 'hang', failOnId: 1 } });
    const pending = udf.apply(table(10));
    await new Promise((r) => setImmediate(r));
    await udf.close({ cancel: true });
    expect((await rejectionOf(pending)).code).toMatch(/E_POOL_CLOSED|E_ABORTED/);
    await stillServes();
  });
});

describe('options', () => {
  it.each([
    [{ workers: 0 }, 'options.workers must be a positive integer, got 0'],
    [{ batchSize: 1.5 }, 'options.batchSize must be a positive integer, got 1.5'],
    [{ retries: -1 }, 'options.retries must be a non-negative integer, got -1'],
    [{ timeoutMs: 0 }, 'options.timeoutMs must be a positive finite number of milliseconds, got 0'],
    [
      { resultType: 5 },
      'options.resultType must be a Spark DDL string or an Arrow DataType, got 5',
    ],
    [{ params: [] }, 'options.params must be a plain object, got an array'],
    [{ signal: {} }, 'options.signal must be an AbortSignal'],
    [{ wokers: 2 }, 'options.wokers is not a known option'],
  ])('rejects %o', async (options, message) => {
    expect(() => resolveSparkUdfOptions(options as never)).toThrow(message);
    const err = await rejectionOf(sparkUdf(probe, options as never));
    expect(err.code).toBe('E_OPTION_INVALID');
  });

  it('fills documented defaults', () => {
    const filled = resolveSparkUdfOptions({ workers: 3 });
    expect(filled.batchSize).toBe(kDefaultSparkUdfOptions.batchSize);
    expect(filled.retries).toBe(0);
    expect(filled.workers).toBe(3);
    expect(filled.predictFn).toBeUndefined();
  });

  it('validates params once, up front', async () => {
    const err = await rejectionOf(sparkUdf(probe, { pool, params: { maxDelayMs: 'soon' } }));
    expect(err.code).toBe('E_PARAMS_INVALID');
  });
});
