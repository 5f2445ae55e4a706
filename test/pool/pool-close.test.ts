// Issue 8, item 1: a worker error while the pool closes must not kill the process hosting the
// pool. tinypool 2.2's destroy() waits with events.once(wrapper, 'exit'), whose error listener
// calls wrapper.removeListener (missing): before the fix the driver died with "TypeError:
// emitter.removeListener is not a function at Worker.errorListener". The scenarios run in a child
// process (against dist/), where dying shows as an exit status instead of killing vitest; each
// one repeats with different delays so that the error lands inside close() at least once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/pool/pool.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import { rejectionOf } from '../util/model-error.js';
import { DOUBLING_MODEL, distUrl, runScript, writeModel } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'jsfunc-pool-close-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Throws from a timer `delay` ms after each reply (the delay comes from the params). */
const LATE_THROW_MODEL = `
export default class LateThrow {
  predict(context, input, params) {
    setTimeout(() => { throw new Error('late failure after the reply'); }, Number(params.delay ?? 0));
    return new Float64Array(input.numRows);
  }
}
`;

describe('ModelPool.close with failing workers', () => {
  it('a model that throws from a timer right after replying does not kill the caller on close', async () => {
    const model = writeModel(join(root, 'late-throw'), LATE_THROW_MODEL);
    const run = await runScript(`
      import { tableFromArrays } from 'apache-arrow';
      import { createPool } from ${JSON.stringify(distUrl('pool/pool.js'))};
      import { sparkUdf } from ${JSON.stringify(distUrl('udf/spark-udf.js'))};
      const input = tableFromArrays({ x: Float64Array.from([1, 2, 3]) });
      for (let delay = 0; delay < 12; delay++) {
        const pool = createPool({ workers: 2 });
        const udf = await sparkUdf(${JSON.stringify(model)}, { pool, warn: () => {}, params: { delay } });
        // The crash can also beat the reply to the driver (the reply and the worker's error
        // travel on different ports): then this batch fails, coded. Either is fine here.
        await udf.apply(input).then(
          (v) => { if (v.length !== 3) throw new Error('bad result'); },
          (e) => { if (e.code !== 'E_WORKER_CRASHED') throw e; }
        );
        await udf.close();
        await pool.close();
        if (pool.threadIds.length !== 0) throw new Error('threads left after close');
      }
      console.log('all closed');
    `);
    expect(run.stderr).not.toContain('removeListener');
    expect(run.stdout).toContain('all closed');
    expect(run.code).toBe(0);
  });

  it('workers failing at start-up (a tiny heap limit) do not kill the caller on close', async () => {
    const run = await runScript(`
      import { createPool } from ${JSON.stringify(distUrl('pool/pool.js'))};
      for (const wait of [0, 10, 20, 40, 60, 100, 150]) {
        const pool = createPool({
          workers: 2,
          resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 },
        });
        await new Promise((r) => setTimeout(r, wait));
        await pool.close();
        if (pool.threadIds.length !== 0) throw new Error('threads left after close');
      }
      console.log('all closed');
    `);
    expect(run.stderr).not.toContain('removeListener');
    expect(run.stdout).toContain('all closed');
    expect(run.code).toBe(0);
  });

  it('a run on a pool whose workers all failed to start fails with E_WORKER_CRASHED (was: hung)', async () => {
    const model = writeModel(join(root, 'doubling'), DOUBLING_MODEL);
    const pool = createPool({
      workers: 1,
      resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 },
    });
    try {
      const udf = await sparkUdf(model, { pool, warn: () => undefined });
      // The first batch may be handed to the starting worker and fail with it; after that no
      // thread is left, and tinypool queues new work for workers that fail to start again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const err = await rejectionOf(udf.apply(tableFromArrays({ x: Float64Array.of(1) })));
        expect(err.code).toBe('E_WORKER_CRASHED');
        expect(err.message).toMatch(/memory/i);
      }
      await udf.close();
    } finally {
      await pool.close();
    }
  });

  it('close() is shared by concurrent callers and settles once every thread has exited', async () => {
    const pool = createPool({ workers: 2 });
    const a = pool.close();
    const b = pool.close();
    expect(b).toBe(a);
    await a;
    expect(pool.closed).toBe(true);
    expect(pool.threadIds).toEqual([]);
  });
});
