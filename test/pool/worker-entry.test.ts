// Runs the generic worker entry in this thread (no pool) with the UDF's batch handler: decode ->
// mapping -> predict -> result vector -> encode, the per-worker load-once cache, and error
// serialization. The handler is named by the URL of its TypeScript source, so that it shares this
// thread's module instances (worker-runtime) with the entry under test.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import Tinypool from 'tinypool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageIdentity } from '../../src/package/package-hash.js';
import type { TaskReply } from '../../src/pool/protocol.js';
import { decodeVector, encodeTable } from '../../src/pool/transfer.js';
import run, { teardown } from '../../src/pool/worker-entry.js';
import type { ScoreBatchResult, ScoreBatchTask } from '../../src/udf/score-batch.js';
import { resolveColumns } from '../../src/udf/column-mapping.js';
import { parseResultType } from '../../src/udf/result-type.js';
import { readMLmodel } from '../../src/package/mlmodel.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';

let dir: string;
let probe: string;
let base: Omit<ScoreBatchTask, 'table' | 'params' | 'handler'>;
type ScoreResponse = TaskReply<ScoreBatchResult>;
const score = async (task: Omit<ScoreBatchTask, 'handler'>) =>
  moved(
    await run({ ...task, handler: new URL('../../src/udf/score-batch.ts', import.meta.url).href })
  );

/** The reply inside a tinypool "movable" (a reply whose result buffer is transferred). */
function moved(reply: unknown): unknown {
  const value = (reply as Record<symbol, unknown>)[Tinypool.valueSymbol];
  return value ?? reply;
}
let seq = 0;

/**
 * The task fields of a model of its own: a fresh cache key and load log, so no test depends on
 * what an earlier one left in this thread's module-level model cache (tests may run shuffled).
 */
function ownModel(config: Record<string, unknown> = {}) {
  const id = seq++;
  const loadLog = join(dir, `loads-${id}.log`);
  return {
    loadLog,
    fields: {
      ...base,
      modelKey: `${base.modelKey}|${id}`,
      modelConfig: { loadLog, offset: 0.5, ...config },
    },
  };
}

function table(n: number, start = 0) {
  return tableFromArrays({
    x: Float64Array.from({ length: n }, (_, i) => start + i),
    id: BigInt64Array.from({ length: n }, (_, i) => BigInt(start + i)),
  });
}

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-worker-entry-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
  const identity = await packageIdentity(probe);
  const meta = await readMLmodel(probe);
  const t = table(1);
  base = {
    modelKey: `${identity.hash}|worker-entry-test`,
    modelPath: probe,
    modelBytes: identity.bytes,
    modelConfig: {},
    mapping: resolveColumns(meta.signature!.inputs, t.schema),
    resultType: parseResultType('double'),
  };
});

afterAll(async () => {
  await teardown();
});

describe('worker-entry run() with the batch handler', () => {
  it('scores a batch and loads the model only on the first task', async () => {
    const { loadLog, fields } = ownModel();
    const first = (await score({
      ...fields,
      table: encodeTable(table(5)),
      params: {},
    })) as ScoreResponse;
    const second = (await score({
      ...fields,
      table: encodeTable(table(3, 10)),
      params: {},
    })) as ScoreResponse;
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect([...decodeVector(first.value.vector!)]).toEqual([0.5, 2.5, 4.5, 6.5, 8.5]);
    expect([...decodeVector(second.value.vector!)]).toEqual([20.5, 22.5, 24.5]);
    expect([first.loaded, second.loaded]).toEqual([true, false]);
    expect(first.loadMs).toBeGreaterThan(0);
    expect(lines(loadLog)).toBe(1);
    expect(typeof first.threadId).toBe('number');
  });

  it('replies a serialized ModelError when the model throws, keeping its message and stack', async () => {
    const { loadLog, fields } = ownModel();
    const reply = (await score({
      ...fields,
      table: encodeTable(table(4)),
      params: { mode: 'throw', failOnId: 2 },
    })) as ScoreResponse;
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.name).toBe('ModelError');
    expect(reply.error.code).toMatch(/^E_/);
    const text = JSON.stringify(reply.error);
    expect(text).toContain('probe model failed on id 2');
    expect(text).toContain('model.mjs');
    expect(lines(loadLog)).toBe(1);
  });

  it('fails a batch whose result has the wrong length with both numbers', async () => {
    const reply = (await score({
      ...ownModel().fields,
      table: encodeTable(table(7)),
      params: { mode: 'short', failOnId: 0 },
    })) as ScoreResponse;
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.message).toMatch(/6/);
    expect(reply.error.message).toMatch(/7/);
  });

  it('teardown releases cached models (close() runs)', async () => {
    const closeLog = join(dir, 'close.log');
    const reply = (await score({
      ...ownModel({ closeLog }).fields,
      table: encodeTable(table(2)),
      params: {},
    })) as ScoreResponse;
    expect(reply.ok).toBe(true);
    await teardown();
    expect(lines(closeLog)).toBe(1);
  });
});
