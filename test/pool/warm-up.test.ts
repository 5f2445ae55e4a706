// The warm-up task: W warm-up tasks load the model into W workers' caches, so the first real
// batch task on every worker is a cache hit (its stats say loaded: false, loadMs 0), and a
// failed warm-up leaves nothing cached. Runs the bundled worker from dist/ (build first).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMLmodel } from '../../src/package/mlmodel.js';
import { packageIdentity } from '../../src/package/package-hash.js';
import { compiledUrl } from '../../src/pool/compiled-url.js';
import { createPool } from '../../src/pool/pool.js';
import type { TaskReply } from '../../src/pool/protocol.js';
import { encodeTable } from '../../src/pool/transfer.js';
import { warmUpHandlerUrl, type WarmUpFields } from '../../src/pool/warm-up.js';
import { resolveColumns } from '../../src/udf/column-mapping.js';
import { parseResultType } from '../../src/udf/result-type.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';

let dir: string;
let probe: string;
let seq = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-warm-up-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The probe model's fields with a cache key and load log of their own. */
async function fields(): Promise<WarmUpFields & { loadLog: string }> {
  const id = seq++;
  const identity = await packageIdentity(probe);
  const loadLog = join(dir, `loads-${id}.log`);
  return {
    modelKey: `${identity.hash}|warm-up-test-${id}`,
    modelPath: probe,
    modelBytes: identity.bytes,
    modelConfig: { loadLog, offset: 0.5 },
    loadLog,
  };
}

const batchHandler = compiledUrl(new URL('../../src/udf/score-batch.js', import.meta.url)).href;

async function batchTask(model: WarmUpFields, rows: number) {
  const table = tableFromArrays({
    x: Float64Array.from({ length: rows }, (_, i) => i),
    id: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)),
  });
  const meta = await readMLmodel(probe);
  return {
    ...model,
    handler: batchHandler,
    mapping: resolveColumns(meta.signature!.inputs, table.schema),
    resultType: parseResultType('double'),
    table: encodeTable(table),
  };
}

const loadsIn = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean);

describe('warm-up task', () => {
  it('loads the model on every worker before the first batch, which then finds it cached', async () => {
    const model = await fields();
    const pool = createPool({ workers: 2 });
    try {
      const warm = await Promise.all(
        [0, 1].map(() =>
          pool.run<TaskReply>({
            handler: warmUpHandlerUrl(),
            ...model,
          })
        )
      );
      expect(warm.map((r) => [r.ok, r.loaded])).toEqual([
        [true, true],
        [true, true],
      ]);
      expect(new Set(warm.map((r) => r.threadId)).size).toBe(2);
      expect(loadsIn(model.loadLog)).toHaveLength(2);
      const task = await batchTask(model, 8);
      const batches = await Promise.all([0, 1, 2, 3].map(() => pool.run<TaskReply>({ ...task })));
      for (const reply of batches) {
        expect(reply.ok).toBe(true);
        expect(reply.loaded).toBe(false);
        expect(reply.loadMs).toBe(0);
      }
      expect(loadsIn(model.loadLog)).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });

  it('a failed warm-up caches nothing: the batch loads again and reports the error', async () => {
    const model = await fields();
    const broken = { ...model, modelPath: join(dir, 'no-such-package') };
    const pool = createPool({ workers: 1 });
    try {
      const warm = await pool.run<TaskReply>({ handler: warmUpHandlerUrl(), ...broken });
      expect(warm.ok).toBe(false);
      if (!warm.ok) expect(warm.error.code).toBe('E_MLMODEL_MISSING');
      const reply = await pool.run<TaskReply>(await batchTask(broken, 2));
      expect(reply.ok).toBe(false);
      if (!reply.ok) expect(reply.error.code).toBe('E_MLMODEL_MISSING');
    } finally {
      await pool.close();
    }
  });
});
