// Issue 9, items 1 and 2 against real worker threads: where batches run (placement
// 'auto' | 'workers' | 'caller'), that both sides give the same results and the same errors,
// what stats() reports, the shared-memory slabs task inputs are copied into (reused, never
// aliased by a result), and the documented behaviour for a model that keeps its input.
// The decisions themselves, from injected costs, are in placement-model.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type RecordBatch,
  Table,
  tableFromArrays,
  vectorFromArray,
  Utf8,
  type Vector,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelError } from '../../src/errors.js';
import { saveModel } from '../../src/package/save-model.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { shareTable } from '../../src/pool/shared-table.js';
import { resolveSparkUdfOptions } from '../../src/udf/options.js';
import { sparkUdf, type SparkUdf } from '../../src/udf/spark-udf.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { writeModel } from '../pool/helpers.js';
import { rejectionOf } from '../util/model-error.js';

let dir: string;
let probe: string;
let pool: ModelPool;
let onePool: ModelPool;
let identity: string;
let stash: string;
let spin: string;

/** Returns its input column `x` itself (an Arrow vector of the result type: kept as is). */
const IDENTITY_MODEL = `
export default class Identity {
  predict(context, input) {
    return input.getChild('x');
  }
}
`;

/**
 * Keeps a reference to each input and returns the PREVIOUS input's x values, read now: what a
 * model that stashes its input sees later.
 */
const STASH_MODEL = `
export default class Stash {
  predict(context, input) {
    const previous = this.previous ?? input;
    this.previous = input;
    return Float64Array.from(previous.getChild('x').toArray());
  }
}
`;

/** Busy-waits w ms per row (column w), returns x: a model whose cost the data sets. */
const SPIN_MODEL = `
export default class Spin {
  predict(context, input) {
    let ms = 0;
    for (const w of input.getChild('w').toArray()) ms += w;
    const end = performance.now() + ms;
    while (performance.now() < end);
    return Float64Array.from(input.getChild('x').toArray());
  }
}
`;

function table(n: number, start = 0): Table {
  return tableFromArrays({
    x: Float64Array.from({ length: n }, (_, i) => start + i),
    id: BigInt64Array.from({ length: n }, (_, i) => BigInt(start + i)),
  });
}

function xs(n: number, start = 0, w = 0): RecordBatch {
  return tableFromArrays({
    x: Float64Array.from({ length: n }, (_, i) => start + i),
    w: new Float64Array(n).fill(w),
  }).batches[0]!;
}

async function withUdfs<T>(
  path: string,
  options: Parameters<typeof sparkUdf>[1],
  fn: (caller: SparkUdf, workers: SparkUdf, auto: SparkUdf, start: SparkUdf) => Promise<T>
): Promise<T> {
  const base = { pool, warn: () => undefined, ...options };
  const caller = await sparkUdf(path, { ...base, placement: 'caller' });
  const workers = await sparkUdf(path, { ...base, placement: 'workers' });
  // Wherever auto places a batch (it may switch mid-call), the outcome must be the same.
  const auto = await sparkUdf(path, { ...base, placement: 'auto' });
  // Auto on the default pool: its first batches run on the calling thread while its workers
  // start (an explicit pool runs already and is used as is).
  const start = await sparkUdf(path, { ...base, pool: undefined, workers: 2 });
  try {
    return await fn(caller, workers, auto, start);
  } finally {
    await caller.close();
    await workers.close();
    await auto.close();
    await start.close();
  }
}

/** An error as a caller compares it: code, message, details, and its cause's name and message. */
function shape(error: ModelError) {
  const cause = error.cause as Error | undefined;
  return {
    code: error.code,
    message: error.message,
    details: error.details,
    cause: cause === undefined ? undefined : { name: cause.name, message: cause.message },
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-placement-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
  identity = writeModel(join(dir, 'identity'), IDENTITY_MODEL);
  stash = writeModel(join(dir, 'stash'), STASH_MODEL);
  spin = writeModel(join(dir, 'spin'), SPIN_MODEL, [
    { name: 'x', type: 'double' },
    { name: 'w', type: 'double' },
  ]);
  pool = createPool({ workers: 2 });
  onePool = createPool({ workers: 1 });
});

afterAll(async () => {
  await pool.close();
  await onePool.close();
});

describe('placement option', () => {
  it("defaults to 'auto' and names the allowed values", async () => {
    expect(resolveSparkUdfOptions({}).placement).toBe('auto');
    expect(resolveSparkUdfOptions({ placement: 'caller' }).placement).toBe('caller');
    const error = await rejectionOf(
      sparkUdf(probe, { pool, placement: 'sideways' as unknown as 'auto' })
    );
    expect(error.code).toBe('E_OPTION_INVALID');
    expect(error.message).toBe(
      `options.placement must be 'auto', 'workers' or 'caller', got "sideways"`
    );
  });
});

describe("'caller', 'workers' and 'auto' give the same results", () => {
  it('apply, withColumn and mapBatches, in order, for every batch size', async () => {
    await withUdfs(probe, { batchSize: 700 }, async (caller, workers, auto, start) => {
      for (const n of [1, 699, 5000, 5000, 5000]) {
        const input = table(n, 3);
        const a = [...((await caller.apply(input)) as Vector)];
        expect(a).toEqual([...((await workers.apply(input)) as Vector)]);
        expect(a).toEqual([...((await auto.apply(input)) as Vector)]);
        expect(a).toEqual([...((await start.apply(input)) as Vector)]);
        expect(a).toEqual(Array.from({ length: n }, (_, i) => (i + 3) * 2));
        const ca = (await caller.withColumn(input, 'p')) as Table;
        const wa = (await workers.withColumn(input, 'p')) as Table;
        expect(ca.toArray().map((r) => r.toJSON())).toEqual(wa.toArray().map((r) => r.toJSON()));
      }
      const stream = () => [
        table(10).batches[0]!,
        table(1500, 10).batches[0]!,
        table(3, 2000).batches[0]!,
      ];
      const collect = async (udf: SparkUdf) => {
        const out: unknown[] = [];
        for await (const b of udf.mapBatches(stream()))
          out.push(...b.getChild('prediction')!.toArray());
        return out;
      };
      const streamed = await collect(workers);
      expect(await collect(caller)).toEqual(streamed);
      expect(await collect(auto)).toEqual(streamed);
      expect(await collect(start)).toEqual(streamed);
      const s = start.stats();
      expect(s.placement.callerRows + s.perWorker.reduce((n, w) => n + w.rows, 0)).toBe(s.rows);
      expect(s.placement.callerBatches + s.perWorker.reduce((n, w) => n + w.batches, 0)).toBe(
        s.batches
      );
      const c = caller.stats();
      expect(c.placement).toMatchObject({ mode: 'caller', current: 'caller', callerLoads: 1 });
      expect(c.placement.callerBatches).toBe(c.batches);
      expect(c.placement.callerRows).toBe(c.rows);
      expect(c.perWorker).toHaveLength(0);
      expect(c.modelLoads).toBe(0);
      const w = workers.stats();
      expect(w.placement).toMatchObject({
        mode: 'workers',
        current: 'workers',
        callerBatches: 0,
        callerLoads: 0,
      });
      expect(w.batches).toBe(c.batches);
      expect(w.rows).toBe(c.rows);
    });
  });

  it('converts to the result type alike (string)', async () => {
    await withUdfs(probe, { resultType: 'string' }, async (caller, workers, auto, start) => {
      const input = table(5);
      const a = [...((await caller.apply(input)) as Vector)];
      expect(a).toEqual(['0', '2', '4', '6', '8']);
      expect(a).toEqual([...((await workers.apply(input)) as Vector)]);
      expect(a).toEqual([...((await auto.apply(input)) as Vector)]);
      expect(a).toEqual([...((await start.apply(input)) as Vector)]);
    });
  });
});

describe("'caller', 'workers' and 'auto' give the same errors", () => {
  const cases: [string, Parameters<typeof sparkUdf>[1], () => Table][] = [
    [
      'a throwing model',
      { params: { mode: 'throw', failOnId: 1234 }, batchSize: 500 },
      () => table(3000),
    ],
    ['a result of the wrong length', { params: { mode: 'short', failOnId: 3 } }, () => table(10)],
    [
      'a column of the wrong type',
      {},
      () =>
        new Table({
          x: vectorFromArray(['a', 'b'], new Utf8()),
          id: vectorFromArray([1n, 2n]),
        }),
    ],
    ['a missing column', {}, () => tableFromArrays({ id: BigInt64Array.from([1n]) })],
  ];
  it.each(cases)('%s', async (_what, options, input) => {
    await withUdfs(probe, options, async (caller, workers, auto, start) => {
      // The start first: its first batches run on the calling thread.
      const s = await rejectionOf(start.apply(input()));
      const c = await rejectionOf(caller.apply(input()));
      const w = await rejectionOf(workers.apply(input()));
      expect(shape(c)).toEqual(shape(w));
      expect(shape(await rejectionOf(auto.apply(input())))).toEqual(shape(w));
      expect(shape(s)).toEqual(shape(w));
      expect(caller.stats().failures).toBe(workers.stats().failures);
    });
  });

  it('mapBatches yields the batches before the failing one, then its error, on both sides', async () => {
    await withUdfs(
      probe,
      { params: { mode: 'throw', failOnId: 2005 } },
      async (caller, workers, auto, start) => {
        const run = async (udf: SparkUdf) => {
          const seen: number[] = [];
          try {
            for await (const b of udf.mapBatches([
              table(3).batches[0]!,
              table(4, 1000).batches[0]!,
              table(9, 2000).batches[0]!,
              table(2, 3000).batches[0]!,
            ])) {
              seen.push(b.numRows);
            }
          } catch (error) {
            return { seen, error: shape(error as ModelError) };
          }
          return { seen, error: null };
        };
        const c = await run(caller);
        expect(c.seen).toEqual([3, 4]);
        expect(c.error?.details).toMatchObject({ batchIndex: 2, rowStart: 7, rowEnd: 16 });
        expect(c).toEqual(await run(workers));
        expect(await run(auto)).toEqual(c);
        expect(await run(start)).toEqual(c);
      }
    );
  });
});

/** A model whose load fails (on any thread). */
const BROKEN_LOAD_MODEL = `
export default class Broken {
  loadContext() {
    throw new Error('this model cannot load');
  }
  predict(context, input) {
    return new Float64Array(input.numRows);
  }
}
`;

describe('auto placement: the start on the calling thread (default pool)', () => {
  it('scores the first batch on the calling thread while the workers start, then uses the workers for a costly model', async () => {
    const warnings: string[] = [];
    const udf = await sparkUdf(spin, { workers: 2, warn: (m) => warnings.push(m) });
    try {
      const created = udf.stats();
      expect(created.placement).toMatchObject({ mode: 'auto', current: 'caller', callerLoads: 0 });
      expect(created.placement.reason).toMatch(/^starting: /);
      expect(created.modelLoads).toBe(0);
      // The first result: one batch, scored here (no worker has the model yet, none started).
      expect([...((await udf.apply(new Table(xs(10)))) as Vector)]).toEqual(
        Array.from({ length: 10 }, (_, i) => i)
      );
      const first = udf.stats();
      expect(first.placement).toMatchObject({ callerBatches: 1, callerRows: 10, callerLoads: 1 });
      expect(first.batches).toBe(1);
      expect(first.perWorker.reduce((n, w) => n + w.batches, 0)).toBe(0);
      // Start-up batches are not samples of this thread's cost (they share the cores with
      // booting workers).
      expect(first.placement.costs.callerComputeMsPerRow).toBeNull();
      // Then batches of 20 ms each, streamed until the workers score some: once a worker has
      // the model, auto measures and, for a costly model, keeps the batches on the workers.
      let n = 0;
      for await (const b of udf.mapBatches(
        (function* () {
          for (let i = 0; i < 1000 && udf.stats().perWorker.every((w) => w.batches < 3); i++)
            yield xs(10, i, 2);
        })()
      )) {
        n += b.numRows;
      }
      const s = udf.stats();
      expect(s.perWorker.reduce((m, w) => m + w.batches, 0)).toBeGreaterThanOrEqual(3);
      // (Where auto goes next depends on what this machine gives two threads: the switching
      // itself is covered below and in placement-model.test.ts.)
      expect(s.placement.reason).not.toMatch(/^starting: /);
      // Every worker got a warm-up task (a load each; the second may still be running) and its
      // batches found that load cached (same key: never a third load); this thread loaded it once.
      expect(s.modelLoads).toBeGreaterThanOrEqual(1);
      expect(s.modelLoads).toBeLessThanOrEqual(2);
      expect(s.placement.callerLoads).toBe(1);
      expect(s.rows).toBe(10 + n);
      expect(s.placement.callerRows + s.perWorker.reduce((m, w) => m + w.rows, 0)).toBe(s.rows);
      expect(warnings).toEqual([]);
    } finally {
      await udf.close();
    }
  });

  it('a large first input starts the workers at once, and they take part (the calling thread takes one batch at a time)', async () => {
    const udf = await sparkUdf(spin, { workers: 2, batchSize: 10, warn: () => undefined });
    try {
      // 200 batches of 10 ms: more than one batch waits for the calling thread, so the workers
      // start at once and take the batches the calling thread is not scoring.
      const input = tableFromArrays({
        x: Float64Array.from({ length: 2000 }, (_, i) => i),
        w: new Float64Array(2000).fill(1),
      });
      const out = (await udf.apply(input)) as Vector;
      expect([...out]).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      const s = udf.stats();
      expect(s.batches).toBe(200);
      expect(s.placement.callerBatches).toBeGreaterThanOrEqual(1);
      expect(s.perWorker.reduce((m, w) => m + w.batches, 0)).toBeGreaterThan(0);
      expect(s.placement.callerBatches + s.perWorker.reduce((m, w) => m + w.batches, 0)).toBe(200);
    } finally {
      await udf.close();
    }
  });

  it('stays on the workers from the start when timeoutMs, retries or loadTimeoutMs is set', async () => {
    for (const options of [{ timeoutMs: 30_000 }, { retries: 1 }, { loadTimeoutMs: 60_000 }]) {
      const udf = await sparkUdf(probe, { workers: 1, warn: () => undefined, ...options });
      try {
        expect(udf.stats().placement.current).toBe('workers');
        await udf.apply(table(10));
        const s = udf.stats();
        expect(s.placement.callerBatches).toBe(0);
        expect(s.placement.callerLoads).toBe(0);
        expect(s.perWorker.reduce((m, w) => m + w.batches, 0)).toBe(1);
      } finally {
        await udf.close();
      }
    }
  });

  it('a model that cannot load here fails on the workers with their error, and no warning', async () => {
    const broken = writeModel(join(dir, 'broken-load'), BROKEN_LOAD_MODEL);
    const warnings: string[] = [];
    const start = await sparkUdf(broken, { workers: 1, warn: (m) => warnings.push(m) });
    const workers = await sparkUdf(broken, { pool: onePool, placement: 'workers' });
    try {
      const input = () => tableFromArrays({ x: Float64Array.from([1, 2, 3]) });
      const w = await rejectionOf(workers.apply(input()));
      const s = await rejectionOf(start.apply(input()));
      expect(shape(s)).toEqual(shape(w));
      expect(warnings).toEqual([]);
      const stats = start.stats();
      expect(stats.placement.callerBatches).toBe(0);
      expect(stats.placement.current).toBe('workers');
      expect(stats.failures).toBe(1);
    } finally {
      await start.close();
      await workers.close();
    }
  });
});

/**
 * Counts its loads and releases on this thread under `modelConfig.tag` (workers count in their
 * own globals); `delayMs` slows its load, `failAgain` fails every load after the first here.
 */
const RENEW_MODEL = `
export default class Renew {
  async loadContext(context) {
    const { tag, delayMs, failAgain } = context.modelConfig;
    const counts = ((globalThis.__jsfuncRenew ??= {})[tag] ??= { loads: 0, closes: 0 });
    counts.loads++;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (failAgain && counts.loads > 1) throw new Error('only the first load works');
    this.counts = counts;
  }
  close() {
    this.counts.closes++;
  }
  predict(context, input) {
    return Float64Array.from(input.getChild('x').toArray(), (x) => x * 2);
  }
}
`;

/** RENEW_MODEL saved as jsfunc saves a model: a function-body bundle (`code/model.cjs`). */
async function saveRenewModel(name: string, config: Record<string, unknown>): Promise<string> {
  const src = join(dir, `${name}-src`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'model.mjs'), RENEW_MODEL);
  const path = join(dir, name);
  await saveModel(path, {
    model: join(src, 'model.mjs'),
    modelConfig: config,
    signature: {
      inputs: '[{"type": "double", "name": "x", "required": true}]',
      outputs: '[{"type": "double", "required": true}]',
    },
  });
  return path;
}

function renewCounts(tag: string): { loads: number; closes: number } {
  const all = (globalThis as { __jsfuncRenew?: Record<string, { loads: number; closes: number }> })
    .__jsfuncRenew;
  return all?.[tag] ?? { loads: 0, closes: 0 };
}

/**
 * Auto on the default pool with a cheap model: the start on this thread, then cheap batches
 * until auto has scored 3 of them here after the start. Checks every result.
 */
async function startThenCaller(udf: SparkUdf): Promise<void> {
  let after: number | undefined;
  let i = 0;
  const more = (): boolean => {
    const p = udf.stats().placement;
    if (after === undefined && !p.reason.startsWith('starting')) after = p.callerBatches;
    return after === undefined || p.callerBatches < after + 3;
  };
  const batches = function* () {
    for (; i < 5000 && more(); i++) yield xs(10, i * 10);
  };
  let row = 0;
  for await (const b of udf.mapBatches(batches())) {
    expect([...(b.getChild('prediction') as Vector)]).toEqual(
      Array.from({ length: b.numRows }, (_, k) => 2 * (row + k))
    );
    row += b.numRows;
  }
  expect(udf.stats().placement.callerBatches).toBeGreaterThanOrEqual((after ?? 0) + 3);
}

describe('auto placement: a fresh copy of the model on the calling thread after the start', () => {
  it("loads a fresh copy once auto has moved here after the start, and releases the start's", async () => {
    const path = await saveRenewModel('renew', { tag: 'renew', delayMs: 0, failAgain: false });
    const udf = await sparkUdf(path, { workers: 1, warn: () => undefined });
    try {
      await startThenCaller(udf);
      const s = udf.stats().placement;
      expect(s.current).toBe('caller');
      expect(s.callerLoads).toBe(2);
      // Loaded twice on this thread, the start's copy released (close() called) once.
      expect(renewCounts('renew')).toEqual({ loads: 2, closes: 1 });
    } finally {
      await udf.close();
    }
    expect(renewCounts('renew')).toEqual({ loads: 2, closes: 2 });
  });

  it("keeps the start's copy when its load took over 250 ms", async () => {
    const path = await saveRenewModel('renew-slow', {
      tag: 'slow',
      delayMs: 300,
      failAgain: false,
    });
    const udf = await sparkUdf(path, { workers: 1, warn: () => undefined });
    try {
      await startThenCaller(udf);
      expect(udf.stats().placement.callerLoads).toBe(1);
      expect(udf.stats().placement.callerLoadMs).toBeGreaterThanOrEqual(250);
      expect(renewCounts('slow')).toEqual({ loads: 1, closes: 0 });
    } finally {
      await udf.close();
    }
  });

  it("keeps the start's copy, without an error or a warning, when the fresh load fails", async () => {
    const path = await saveRenewModel('renew-fails', { tag: 'fails', delayMs: 0, failAgain: true });
    const warnings: string[] = [];
    const udf = await sparkUdf(path, { workers: 1, warn: (m) => warnings.push(m) });
    try {
      await startThenCaller(udf);
      const s = udf.stats();
      expect(s.placement.current).toBe('caller');
      expect(s.placement.callerLoads).toBe(1);
      expect(s.failures).toBe(0);
      // The fresh copy was tried once (and failed); the start's copy was not released.
      expect(renewCounts('fails')).toEqual({ loads: 2, closes: 0 });
      expect(warnings).toEqual([]);
    } finally {
      await udf.close();
    }
    expect(renewCounts('fails').closes).toBe(1);
  });

  it('does not reload an ES module package (code/model.mjs): a second load is the same module', async () => {
    const path = writeModel(join(dir, 'renew-esm'), RENEW_MODEL, undefined, { tag: 'esm' });
    const udf = await sparkUdf(path, { workers: 1, warn: () => undefined });
    try {
      await startThenCaller(udf);
      expect(udf.stats().placement.current).toBe('caller');
      expect(udf.stats().placement.callerLoads).toBe(1);
      expect(renewCounts('esm')).toEqual({ loads: 1, closes: 0 });
    } finally {
      await udf.close();
    }
  });
});

describe('auto placement', () => {
  it('moves cheap batches to the calling thread, and back to the workers when they get expensive', async () => {
    const udf = await sparkUdf(spin, { pool, warn: () => undefined });
    try {
      // Phase 1: 10-row batches that cost nothing: the round trip is all there is.
      let n = 0;
      for await (const b of udf.mapBatches(
        (function* () {
          for (let i = 0; i < 3000 && udf.stats().placement.current === 'workers'; i++)
            yield xs(10, i);
        })()
      )) {
        n += b.numRows;
      }
      const cheap = udf.stats();
      expect(cheap.placement.current).toBe('caller');
      expect(cheap.placement.callerLoads).toBe(1);
      expect(cheap.placement.switches).toBeGreaterThanOrEqual(1);
      expect(cheap.placement.reason).toMatch(/moving costs more than it gains/);
      expect(cheap.rows).toBe(n);
      expect(cheap.placement.callerRows + cheap.perWorker.reduce((s, w) => s + w.rows, 0)).toBe(n);
      // Phase 2: the same batches costing 20 ms each: two workers halve that.
      for await (const b of udf.mapBatches(
        (function* () {
          for (let i = 0; i < 60 && udf.stats().placement.current === 'caller'; i++)
            yield xs(10, i, 2);
        })()
      )) {
        expect(b.numRows).toBe(10);
      }
      const heavy = udf.stats();
      expect(heavy.placement.current).toBe('workers');
      expect(heavy.placement.switches).toBeGreaterThanOrEqual(2);
      expect(heavy.placement.costs.callerComputeMsPerRow).toBeGreaterThan(1);
    } finally {
      await udf.close();
    }
  });

  it('stays on the workers when timeoutMs is set (a batch on the calling thread cannot be cut)', async () => {
    const udf = await sparkUdf(spin, { pool, timeoutMs: 30_000, warn: () => undefined });
    try {
      for await (const b of udf.mapBatches(Array.from({ length: 200 }, (_, i) => xs(5, i)))) {
        expect(b.numRows).toBe(5);
      }
      const s = udf.stats();
      expect(s.placement).toMatchObject({
        mode: 'auto',
        current: 'workers',
        callerBatches: 0,
        callerLoads: 0,
      });
      expect(s.placement.reason).toMatch(/timeoutMs/);
    } finally {
      await udf.close();
    }
  });

  it('reports the measured costs and the forecast in stats()', async () => {
    const udf = await sparkUdf(probe, { pool, placement: 'workers', warn: () => undefined });
    try {
      for (let i = 0; i < 3; i++) await udf.apply(table(20_000));
      const { placement } = udf.stats();
      expect(placement.costs.computeMsPerRow).toBeGreaterThan(0);
      expect(placement.costs.copyMsPerByte).toBeGreaterThan(0);
      expect(placement.costs.resultMsPerRow).toBeGreaterThanOrEqual(0);
      expect(placement.costs.workerMoveMsPerRow).toBeGreaterThanOrEqual(0);
      expect(placement.costs.tripMs).toBeGreaterThanOrEqual(0);
      expect(placement.forecast).toMatchObject({ workers: expect.any(Number) });
      expect(placement.forecast!.moveMs).toBeGreaterThan(0);
      expect(placement.reason).toMatch(/^placement: 'workers'; workers [\d.]+x the calling thread/);
    } finally {
      await udf.close();
    }
  });
});

describe('shared-memory slabs', () => {
  it('copies inputs into reused slabs: no new SharedArrayBuffer per call after the first', async () => {
    const udf = await sparkUdf(probe, {
      pool,
      placement: 'workers',
      batchSize: 4096,
      warn: () => undefined,
    });
    const Real = globalThis.SharedArrayBuffer;
    let made = 0;
    try {
      const input = table(20_000);
      await udf.apply(input);
      const first = udf.stats().slabs;
      expect(first.allocated).toBeGreaterThan(0);
      globalThis.SharedArrayBuffer = new Proxy(Real, {
        construct(target, args: [number]) {
          // Task progress arrays are 16 bytes; anything that holds rows is far larger.
          if (args[0] >= 1024) made++;
          return new target(...args);
        },
      });
      for (let i = 0; i < 4; i++) {
        const v = (await udf.apply(input)) as Vector;
        expect(v.get(19_999)).toBe(39_998);
      }
      const after = udf.stats().slabs;
      expect(made).toBe(0);
      expect(after.allocated).toBe(first.allocated);
      expect(after.reused).toBeGreaterThanOrEqual((4 * udf.stats().batches) / 5);
      expect(after.leased).toBe(0);
    } finally {
      globalThis.SharedArrayBuffer = Real;
      await udf.close();
    }
  });

  it('copies nothing for a table already in shared memory', async () => {
    const udf = await sparkUdf(probe, { pool, placement: 'workers', warn: () => undefined });
    try {
      const v = (await udf.apply(shareTable(table(10_000)))) as Vector;
      expect(v.get(9_999)).toBe(19_998);
      expect(udf.stats().slabs.allocated).toBe(0);
    } finally {
      await udf.close();
    }
  });

  it('results survive later calls: they never alias a slab or the input', async () => {
    // 4 rows: one task; 20,000 rows in tasks of 4096: several, their results through slabs.
    for (const n of [4, 20_000]) {
      for (const placement of ['workers', 'caller'] as const) {
        const udf = await sparkUdf(identity, {
          pool: onePool,
          placement,
          batchSize: 4096,
          warn: () => undefined,
        });
        const label = `${placement}, ${n} rows`;
        try {
          const xs = Float64Array.from({ length: n }, (_, i) => i + 1);
          const a = tableFromArrays({ x: xs });
          const first = (await udf.apply(a)) as Vector;
          await udf.apply(tableFromArrays({ x: new Float64Array(n).fill(9) }));
          await udf.apply(shareTable(tableFromArrays({ x: new Float64Array(n).fill(7) })));
          // The caller's own table changes afterwards: the result is a copy, not a view of it.
          (a.getChild('x')!.data[0]!.values as Float64Array).fill(-1);
          expect(Float64Array.from(first), label).toEqual(
            Float64Array.from({ length: n }, (_, i) => i + 1)
          );
          const values = first.data[0]!.values as Float64Array;
          expect(Object.prototype.toString.call(values.buffer), label).toBe('[object ArrayBuffer]');
          if (placement === 'workers' && n > 4096)
            expect(udf.stats().resultSlabs.reused, label).toBeGreaterThan(0);
        } finally {
          await udf.close();
        }
      }
    }
  });
});

/** Returns x * 2, with nulls for x in [5000, 5003): only the task holding those rows has nulls. */
const HOLES_MODEL = `
export default class Holes {
  predict(context, input) {
    return Array.from(input.getChild('x').toArray(), (v) => (v >= 5000 && v < 5003 ? null : v * 2));
  }
}
`;

describe('result slabs: workers write fixed-width results into reused shared memory', () => {
  it.each(['double', 'float', 'int', 'long'])(
    '%s: the same values and nulls as the calling thread, slabs reused across calls',
    async (resultType) => {
      const holes = writeModel(join(dir, `holes-${resultType}`), HOLES_MODEL, [
        { name: 'x', type: 'double' },
      ]);
      const base = { pool, resultType, batchSize: 4096, warn: () => undefined };
      const workers = await sparkUdf(holes, { ...base, placement: 'workers' });
      const caller = await sparkUdf(holes, { ...base, placement: 'caller' });
      try {
        // 20,000 rows in 6 tasks; the second holds the nulls, so its part is sent as a vector
        // and the parts after it are kept as chunks of the call's array.
        const input = table(20_000);
        const expected = Array.from({ length: 20_000 }, (_, i) =>
          i >= 5000 && i < 5003 ? null : resultType === 'long' ? BigInt(i * 2) : i * 2
        );
        for (let call = 0; call < 3; call++) {
          const w = (await workers.apply(input)) as Vector;
          expect(w.length).toBe(20_000);
          expect(String(w.type)).toBe(String(((await caller.apply(input)) as Vector).type));
          expect([...w]).toEqual(expected);
          expect(w.nullCount).toBe(3);
        }
        // No nulls: every part is written in place, one contiguous array.
        const clean = table(4000, 10_000);
        const v = (await workers.apply(table(12_000, 10_000))) as Vector;
        expect(v.data).toHaveLength(1);
        expect(Object.prototype.toString.call(v.data[0]!.values.buffer)).toBe(
          '[object ArrayBuffer]'
        );
        expect(v.get(11_999)).toEqual(resultType === 'long' ? BigInt(43_998) : 43_998);
        expect([...((await workers.apply(clean)) as Vector)]).toEqual([
          ...((await caller.apply(clean)) as Vector),
        ]);
        const slabs = workers.stats().resultSlabs;
        expect(slabs.allocated).toBeGreaterThan(0);
        expect(slabs.allocated).toBeLessThanOrEqual(4); // 2 workers x 2 in flight
        expect(slabs.reused).toBeGreaterThan(slabs.allocated);
        expect(slabs.leased).toBe(0);
        expect(caller.stats().resultSlabs.allocated).toBe(0);
      } finally {
        await workers.close();
        await caller.close();
      }
    }
  );

  it('a single-task call, a stream and a string result use none', async () => {
    const udf = await sparkUdf(probe, { pool, placement: 'workers', warn: () => undefined });
    const text = await sparkUdf(probe, {
      pool,
      placement: 'workers',
      resultType: 'string',
      batchSize: 1000,
      warn: () => undefined,
    });
    try {
      expect(((await udf.apply(table(100))) as Vector).get(99)).toBe(198);
      for await (const b of udf.mapBatches([table(3000).batches[0]!])) expect(b.numRows).toBe(3000);
      expect(((await text.apply(table(5000))) as Vector).get(4999)).toBe('9998');
      expect(udf.stats().resultSlabs.allocated).toBe(0);
      expect(text.stats().resultSlabs.allocated).toBe(0);
    } finally {
      await udf.close();
      await text.close();
    }
  });

  /** One failing call of the probe model on the workers: its error, and the result slabs after close. */
  async function failedCall(options: Parameters<typeof sparkUdf>[1], rows: number) {
    const udf = await sparkUdf(probe, {
      pool,
      placement: 'workers',
      warn: () => undefined,
      ...options,
    });
    try {
      const error = await rejectionOf(udf.apply(table(rows)));
      await udf.close(); // the tasks after the failing one may still run
      return { error, slabs: udf.stats().resultSlabs };
    } finally {
      await udf.close();
    }
  }

  it('a result of the wrong length is still the model-output error, naming the rows', async () => {
    const { error, slabs } = await failedCall(
      { batchSize: 1000, params: { mode: 'short', failOnId: 2500 } },
      4000
    );
    expect(error.code).toBe('E_MODEL_OUTPUT');
    expect(error.details).toMatchObject({ rowStart: 2000, rowEnd: 3000 });
    expect(slabs.leased).toBe(0);
  });

  it('drops the result slab of a task that ended without an answer (timeout)', async () => {
    const { error, slabs } = await failedCall(
      { batchSize: 500, timeoutMs: 300, params: { mode: 'hang', failOnId: 1700 } },
      2000
    );
    expect(error.code).toBe('E_TIMEOUT');
    expect(slabs.discarded).toBeGreaterThanOrEqual(1);
    expect(slabs.leased).toBe(0);
  });
});

describe('a model that keeps a reference to its input (the documented contract)', () => {
  let runs = 0;
  const run = async (placement: 'workers' | 'caller', share: boolean) => {
    // A config of its own: a fresh model instance (a worker's cached one would still hold the
    // input an earlier test gave it).
    const modelConfig = { run: runs++ };
    const udf = await sparkUdf(stash, {
      pool: onePool,
      placement,
      modelConfig,
      warn: () => undefined,
    });
    try {
      const a = tableFromArrays({ x: Float64Array.from([1, 2, 3]) });
      const b = tableFromArrays({ x: Float64Array.from([7, 8, 9]) });
      const first = (await udf.apply(share ? shareTable(a) : a)) as Vector;
      expect([...first]).toEqual([1, 2, 3]);
      // The model returns what its stashed reference to the FIRST input shows now.
      return [...((await udf.apply(share ? shareTable(b) : b)) as Vector)];
    } finally {
      await udf.close();
    }
  };

  it('on a worker, the input is valid only during predict: a later task overwrites its slab', async () => {
    expect(await run('workers', false)).toEqual([7, 8, 9]);
  });

  it("on the calling thread, or for input already in shared memory, it is the caller's own memory", async () => {
    expect(await run('caller', false)).toEqual([1, 2, 3]);
    expect(await run('workers', true)).toEqual([1, 2, 3]);
  });
});

describe('the model on the calling thread', () => {
  it('is loaded once, lazily, and released by close()', async () => {
    const loadLog = join(dir, 'caller-loads.log');
    const closeLog = join(dir, 'caller-closes.log');
    const lines = (f: string) =>
      existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
    const udf = await sparkUdf(probe, {
      pool,
      placement: 'caller',
      modelConfig: { loadLog, closeLog },
      warn: () => undefined,
    });
    expect(lines(loadLog)).toBe(0);
    for (let i = 0; i < 3; i++) await udf.apply(table(100));
    expect(lines(loadLog)).toBe(1);
    expect(udf.stats().placement.callerLoadMs).toBeGreaterThan(0);
    await udf.close();
    expect(lines(closeLog)).toBe(1);
    expect((await rejectionOf(udf.apply(table(1)))).code).toBe('E_POOL_CLOSED');
  });

  it('honours an aborted signal between batches, as the workers do', async () => {
    const controller = new AbortController();
    const udf = await sparkUdf(probe, { pool, placement: 'caller', signal: controller.signal });
    try {
      await udf.apply(table(10));
      controller.abort();
      expect((await rejectionOf(udf.apply(table(10)))).code).toBe('E_ABORTED');
    } finally {
      await udf.close();
    }
  });
});

/** Doubles x; throws on any batch of more than `limit` rows (config), like a model with a cap. */
const CAPPED_MODEL = `
export default class Capped {
  loadContext(context) { this.limit = Number(context.modelConfig.limit); }
  predict(context, input) {
    if (input.numRows > this.limit) throw new RangeError('batch of ' + input.numRows + ' rows is over ' + this.limit);
    return Float64Array.from(input.getChild('x').toArray(), (v) => v * 2);
  }
}
`;

describe('callerBatchSize: the tasks of one call merged on the calling thread', () => {
  // 5000 rows, default batchSize, 2 workers: planned as 4 tasks of 1250 rows (2 per worker).
  it('defaults to batchSize when that is set, else no row limit, and is validated', async () => {
    expect(resolveSparkUdfOptions({}).callerBatchSize).toBe(Infinity);
    expect(resolveSparkUdfOptions({ batchSize: 700 }).callerBatchSize).toBe(700);
    expect(resolveSparkUdfOptions({ batchSize: 700, callerBatchSize: 9000 }).callerBatchSize).toBe(
      9000
    );
    expect(resolveSparkUdfOptions({ batchSize: 700, callerBatchSize: Infinity })).toMatchObject({
      callerBatchSize: Infinity,
      sharedBatchSize: 700,
    });
    for (const bad of [0, 2.5, -Infinity, NaN, '9000']) {
      const error = await rejectionOf(sparkUdf(probe, { pool, callerBatchSize: bad as number }));
      expect(error.code).toBe('E_OPTION_INVALID');
      expect(error.message).toMatch(
        /^options\.callerBatchSize must be a positive integer or Infinity, got /
      );
    }
  });

  it('scores a call in one batch on the calling thread, with the results of the workers', async () => {
    await withUdfs(probe, {}, async (caller, workers) => {
      const input = table(5000, 7);
      const c = [...((await caller.apply(input)) as Vector)];
      expect(c).toEqual([...((await workers.apply(input)) as Vector)]);
      expect(caller.stats()).toMatchObject({ batches: 1, rows: 5000 });
      expect(workers.stats()).toMatchObject({ batches: 4, rows: 5000 });
      const t = (await caller.withColumn(input, 'p')) as Table;
      expect([...t.getChild('p')!]).toEqual(c);
      expect(caller.stats().batches).toBe(2);
    });
    const capped = await sparkUdf(probe, { pool, placement: 'caller', callerBatchSize: 2500 });
    try {
      await capped.apply(table(5000));
      expect(capped.stats().batches).toBe(2);
    } finally {
      await capped.close();
    }
  });

  it('re-runs a failed merged batch task by task: the same error, naming the same rows', async () => {
    await withUdfs(
      probe,
      { params: { mode: 'throw', failOnId: 3456 } },
      async (caller, workers, auto, start) => {
        const w = await rejectionOf(workers.apply(table(5000)));
        expect(w.details).toMatchObject({ rowStart: 2500, rowEnd: 3750 });
        expect(w.message).toMatch(/^Rows 2500\.\.3749 of the input failed: /);
        const c = await rejectionOf(caller.apply(table(5000)));
        expect(shape(c)).toEqual(shape(w));
        expect(shape(await rejectionOf(auto.apply(table(5000))))).toEqual(shape(w));
        expect(shape(await rejectionOf(start.apply(table(5000))))).toEqual(shape(w));
        // The tasks before the failing one were scored (and counted) on the way.
        expect(caller.stats()).toMatchObject({ batches: 2, rows: 2500, failures: 1 });
      }
    );
  });

  it('still scores every row when only the merged batch fails (a model with a batch cap)', async () => {
    const capped = writeModel(join(dir, 'capped'), CAPPED_MODEL, [{ name: 'x', type: 'double' }], {
      limit: 2000,
    });
    await withUdfs(capped, {}, async (caller, workers) => {
      const input = table(5000);
      const c = [...((await caller.apply(input)) as Vector)];
      expect(c).toEqual(Array.from({ length: 5000 }, (_, i) => i * 2));
      expect(c).toEqual([...((await workers.apply(input)) as Vector)]);
      // The merged attempt failed; its 4 tasks then ran one by one.
      expect(caller.stats()).toMatchObject({ batches: 4, rows: 5000, failures: 0 });
    });
  });
});

describe('larger tasks for input already in shared memory', () => {
  it('defaults to callerBatchSize unless batchSize is set', () => {
    expect(resolveSparkUdfOptions({}).sharedBatchSize).toBe(1_048_576);
    expect(resolveSparkUdfOptions({ callerBatchSize: 9000 }).sharedBatchSize).toBe(9000);
    expect(resolveSparkUdfOptions({ batchSize: 700, callerBatchSize: 9000 }).sharedBatchSize).toBe(
      700
    );
  });

  it('splits a shared table into fewer, larger tasks with the same results', async () => {
    // 300,000 rows on 2 workers: 5 tasks of batchSize 65,536, rounded up to 6 (3 per worker);
    // in shared memory, copying nothing, 1 per worker of 150,000 rows.
    const ordinary = table(300_000, 3);
    const shared = shareTable(ordinary);
    const udfs = await Promise.all([
      sparkUdf(probe, { pool, placement: 'workers' }),
      sparkUdf(probe, { pool, placement: 'workers', batchSize: 65_536 }),
      sparkUdf(probe, { pool, placement: 'workers', callerBatchSize: 50_000 }),
    ]);
    const [auto, fixed, capped] = udfs;
    try {
      const expected = [...((await auto!.apply(ordinary)) as Vector)];
      expect(auto!.stats().batches).toBe(6);
      expect([...((await auto!.apply(shared)) as Vector)]).toEqual(expected);
      expect(auto!.stats().batches).toBe(6 + 2);
      expect([...((await fixed!.apply(shared)) as Vector)]).toEqual(expected);
      expect(fixed!.stats().batches).toBe(6);
      await capped!.apply(shared);
      expect(capped!.stats().batches).toBe(6);
      const t = (await auto!.withColumn(shared, 'p')) as Table;
      expect([...t.getChild('p')!]).toEqual(expected);
      expect(auto!.stats().batches).toBe(6 + 2 + 2);
    } finally {
      await Promise.all(udfs.map((u) => u.close()));
    }
  });
});

describe('callerBatchSize with auto', () => {
  it('keeps the rest of a call merged when auto probes the workers with its first task', async () => {
    const udf = await sparkUdf(probe, { pool, warn: () => undefined });
    try {
      const input = table(20_000); // planned as 8 tasks: 5000 x2, 2500 x2, 1250 x4
      const expected = Array.from({ length: 20_000 }, (_, i) => i * 2);
      let probed = 0;
      let merged = 0;
      for (let i = 0; i < 400 && probed < 2; i++) {
        const before = udf.stats();
        const out = [...((await udf.apply(input)) as Vector)];
        const after = udf.stats();
        expect(out).toEqual(expected);
        if (before.placement.current !== 'caller' || after.placement.current !== 'caller') continue;
        const onCaller = after.placement.callerBatches - before.placement.callerBatches;
        const onWorkers = after.batches - before.batches - onCaller;
        // One merged batch here, plus the probe's one task on a worker when one was due.
        expect({ onCaller, onWorkers: Math.min(onWorkers, 1) }).toEqual({
          onCaller: 1,
          onWorkers,
        });
        if (onWorkers === 1) probed++;
        else merged++;
      }
      expect(merged).toBeGreaterThan(0);
      expect(probed).toBe(2);
    } finally {
      await udf.close();
    }
  });
});
