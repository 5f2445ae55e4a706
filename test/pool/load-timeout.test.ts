// Issue 8, item 8 (worker side) and item 11 (modelLoads): a model load that never finishes
// fails with E_LOAD_TIMEOUT and its worker is replaced, instead of hanging the UDF forever; a
// load finished by a worker that then died is counted in stats().modelLoads. Plus the
// in-process form used by predict/serve (withLoadTimeout) and the option's validation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, type Vector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import {
  checkLoadTimeoutMs,
  kDefaultLoadTimeoutMs,
  withLoadTimeout,
} from '../../src/pool/load-timeout.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { resolveSparkUdfOptions } from '../../src/udf/options.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import { errorOf, rejectionOf } from '../util/model-error.js';
import { DOUBLING_MODEL, writeModel } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'jsfunc-load-timeout-'));
let pool: ModelPool;
beforeAll(() => {
  pool = createPool({ workers: 1 });
});
afterAll(async () => {
  await pool.close();
  rmSync(root, { recursive: true, force: true });
});

const input = tableFromArrays({ x: Float64Array.from([1, 2, 3]) });

/** Fails the test quickly instead of at the test timeout when `p` hangs (the bug). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

const HANGING_LOAD = `
export default class Hangs {
  loadContext() { return new Promise(() => {}); }
  predict(context, input) { return new Float64Array(input.numRows); }
}
`;
const SPINNING_LOAD = `
export default class Spins {
  loadContext() { for (;;) {} }
  predict(context, input) { return new Float64Array(input.numRows); }
}
`;
/** Loads fine, then its first predict (keyed by a flag file) ends the worker. */
const EXIT_ONCE = `
import { existsSync, writeFileSync } from 'node:fs';
export default class ExitOnce {
  loadContext(context) { this.flag = context.modelConfig.flag; }
  predict(context, input) {
    if (!existsSync(this.flag)) {
      writeFileSync(this.flag, 'crashed');
      process.exit(3);
    }
    return Float64Array.from(input.getChild('x').toArray(), (x) => x * 2);
  }
}
`;

describe('worker model loads: loadTimeoutMs', () => {
  it.each([
    ['a load that never settles', 'hangs', HANGING_LOAD],
    ['a load that blocks its thread', 'spins', SPINNING_LOAD],
  ])('%s fails with E_LOAD_TIMEOUT and the worker is replaced', async (_what, name, source) => {
    const model = writeModel(join(root, name), source);
    const udf = await sparkUdf(model, { pool, loadTimeoutMs: 300, warn: () => undefined });
    try {
      const err = await rejectionOf(within(udf.apply(input), 15_000));
      expect(err.code).toBe('E_LOAD_TIMEOUT');
      expect(err.message).toContain('loadTimeoutMs=300');
      expect(err.details).toMatchObject({ loadTimeoutMs: 300, modelUri: model, batchIndex: 0 });
      expect(udf.stats().modelLoads).toBe(0);
    } finally {
      await udf.close();
    }
    expect(pool.threadIds).toHaveLength(1);
    const ok = await sparkUdf(writeModel(join(root, 'doubling'), DOUBLING_MODEL), { pool });
    try {
      expect([...((await ok.apply(input)) as Vector)]).toEqual([2, 4, 6]);
    } finally {
      await ok.close();
    }
  });

  it('the load timeout covers only the load: a slow predict after a quick load is not cut', async () => {
    const slow = writeModel(
      join(root, 'slow-predict'),
      `export default class Slow {
        async predict(context, input) {
          await new Promise((r) => setTimeout(r, 400));
          return new Float64Array(input.numRows);
        }
      }`
    );
    const udf = await sparkUdf(slow, { pool, loadTimeoutMs: 200 });
    try {
      expect((await udf.apply(input)) as Vector).toHaveLength(3);
      expect(udf.stats().modelLoads).toBe(1);
    } finally {
      await udf.close();
    }
  });
});

describe('stats().modelLoads', () => {
  it('counts the load of a worker that died before replying (was: missed)', async () => {
    const flag = join(root, 'exit-once.flag');
    const model = writeModel(join(root, 'exit-once'), EXIT_ONCE, undefined, { flag });
    const udf = await sparkUdf(model, { pool, retries: 1, warn: () => undefined });
    try {
      expect([...((await udf.apply(input)) as Vector)]).toEqual([2, 4, 6]);
      const stats = udf.stats();
      expect(stats.retries).toBe(1);
      // The first worker loaded the model, then died; its replacement loaded it again.
      expect(stats.modelLoads).toBe(2);
      expect(stats.perWorker.reduce((n, w) => n + w.loads, 0)).toBe(2);
      expect(stats.perWorker).toHaveLength(2);
    } finally {
      await udf.close();
    }
  });
});

describe('loadTimeoutMs option', () => {
  it('defaults to 120000 ms; Infinity means no limit', () => {
    expect(kDefaultLoadTimeoutMs).toBe(120_000);
    expect(resolveSparkUdfOptions({}).loadTimeoutMs).toBe(120_000);
    expect(resolveSparkUdfOptions({ loadTimeoutMs: Infinity }).loadTimeoutMs).toBe(Infinity);
    expect(checkLoadTimeoutMs(undefined, 'x')).toBe(120_000);
  });

  it.each([0, -1, Number.NaN, 3e9, '100'])('rejects %s naming the option', (value) => {
    const err = errorOf(() =>
      resolveSparkUdfOptions({ loadTimeoutMs: value as unknown as number })
    );
    expect(err.code).toBe('E_OPTION_INVALID');
    expect(err.message).toMatch(/^options\.loadTimeoutMs must be a positive number/);
  });
});

describe('withLoadTimeout (in-process loads: predict, serve)', () => {
  it('passes a load through', async () => {
    expect(await withLoadTimeout(Promise.resolve(1), { modelPath: 'm', loadTimeoutMs: 50 })).toBe(
      1
    );
    const boom = new ModelError('E_MODEL_LOAD', 'boom');
    await expect(
      withLoadTimeout(Promise.reject(boom), { modelPath: 'm', loadTimeoutMs: 50 })
    ).rejects.toBe(boom);
  });

  it('fails with E_LOAD_TIMEOUT, and releases a model that arrives later', async () => {
    let arrive: (v: string) => void = () => undefined;
    const late = new Promise<string>((r) => (arrive = r));
    const released: string[] = [];
    const err = await rejectionOf(
      withLoadTimeout(late, {
        modelPath: 'pkg',
        loadTimeoutMs: 30,
        release: (v) => released.push(v),
      })
    );
    expect(err.code).toBe('E_LOAD_TIMEOUT');
    expect(err.message).toContain('Loading the model pkg took longer than 30 ms');
    arrive('model');
    await new Promise((r) => setImmediate(r));
    expect(released).toEqual(['model']);
  });

  it('stops waiting when its signal aborts, with the reason when it is a ModelError', async () => {
    const controller = new AbortController();
    const pending = withLoadTimeout(new Promise(() => undefined), {
      modelPath: 'pkg',
      loadTimeoutMs: Infinity,
      signal: controller.signal,
    });
    controller.abort(new ModelError('E_INTERRUPTED', 'interrupted by SIGINT'));
    expect((await rejectionOf(pending)).code).toBe('E_INTERRUPTED');
    const other = new AbortController();
    other.abort();
    const aborted = withLoadTimeout(new Promise(() => undefined), {
      modelPath: 'pkg',
      loadTimeoutMs: 1000,
      signal: other.signal,
    });
    expect((await rejectionOf(aborted)).code).toBe('E_ABORTED');
  });
});
