// context.sharedArtifact across threads: pool workers (the bundled worker from dist/) and this
// thread (the registry's owner) share one read of a file and the very same memory; a worker's
// cache evicting the model, and workers ending, give the leases back; errors keep their codes.
// Needs `npm run build` (the test script builds first).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { tableFromArrays, type Vector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { packageIdentity } from '../../src/package/package-hash.js';
import { sharedArtifactStats } from '../../src/package/shared-artifacts.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import type { TaskReply } from '../../src/pool/protocol.js';
import { warmUpHandlerUrl, type WarmUpFields } from '../../src/pool/warm-up.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
import EmbeddingLookupModel from '../../udf/embedding-lookup/model.js';
import { generateEmbeddingTable } from '../../udf/embedding-lookup/generate-artifact.mjs';
import * as embedding from '../../udf/embedding-lookup/spec.mjs';
import { saveModel } from '../../src/package/save-model.js';
import { writeArtifactModel, writeInfoHandler, type ArtifactModelInfo } from './artifact-model.js';

let dir: string;
let infoHandler: string;
let seq = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-shared-pool-'));
  infoHandler = writeInfoHandler(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh artifact file and a package using it. */
async function artifactPackage(
  size: number,
  options: Parameters<typeof writeArtifactModel>[2] = {}
) {
  const id = seq++;
  const file = join(dir, `blob-${id}.bin`);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + id) & 0xff;
  writeFileSync(file, bytes);
  const pkg = writeArtifactModel(join(dir, `pkg-${id}`), file, options);
  const identity = await packageIdentity(pkg);
  const fields: WarmUpFields = {
    modelKey: `${identity.hash}|shared-pool-test-${id}`,
    modelPath: pkg,
    modelBytes: identity.bytes,
  };
  return { file, pkg, fields, crc: zlib.crc32(readFileSync(file)) };
}

const warmUp = (pool: ModelPool, fields: WarmUpFields) =>
  pool.run<TaskReply<{ cached: true }>>({ handler: warmUpHandlerUrl(), ...fields });

const info = async (pool: ModelPool, fields: WarmUpFields, poke?: [number, number]) => {
  const reply = await pool.run<TaskReply<ArtifactModelInfo>>({
    handler: infoHandler,
    ...fields,
    ...(poke ? { poke } : {}),
  });
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value;
};

const stats = () => sharedArtifactStats()!;

describe('sharedArtifact across threads', () => {
  it('reads once per process for W workers and this thread; all see the same memory', async () => {
    const { pkg, fields, crc } = await artifactPackage(4 * 1024 * 1024 + 3);
    const pool = createPool({ workers: 2 });
    try {
      const before = stats();
      // Concurrent first loaders: two workers and this thread ask at the same moment.
      const [a, b, local] = await Promise.all([
        warmUp(pool, fields),
        warmUp(pool, fields),
        loadModel(pkg),
      ]);
      expect(a.ok && b.ok).toBe(true);
      expect(a.loaded && b.loaded).toBe(true);
      expect(a.threadId).not.toBe(b.threadId);
      const after = stats();
      expect(after.reads - before.reads).toBe(1);
      expect(after.bytesRead - before.bytesRead).toBe(4 * 1024 * 1024 + 3);
      expect(after.entries - before.entries).toBe(1);
      expect(after.leases - before.leases).toBe(3);

      const seen = await Promise.all([info(pool, fields), info(pool, fields)]);
      expect(new Set(seen.map((s) => s.threadId)).size).toBe(2);
      for (const s of seen) expect(s).toMatchObject({ crc, shared: true, length: 4194307 });
      // One memory: a byte written on this thread is read by both workers, and back.
      local.unwrap<{ poke(i: number, v: number): void }>().poke(1, 0x5a);
      local.unwrap<{ poke(i: number, v: number): void }>().poke(0, 0xee);
      expect(
        (await Promise.all([info(pool, fields), info(pool, fields)])).map((s) => s.first)
      ).toEqual([0xee, 0xee]);
      await info(pool, fields, [0, 0x11]);
      expect(local.unwrap<{ info(): ArtifactModelInfo }>().info().first).toBe(0x11);
      await local.release();
    } finally {
      await pool.close();
    }
  });

  it('gives the leases back when a worker cache evicts the model, and when workers end', async () => {
    const big = await artifactPackage(1024 * 1024);
    const other = await artifactPackage(16, { lease: false });
    const before = stats();
    const pool = createPool({ workers: 1, cache: { maxEntries: 1 } });
    try {
      expect((await warmUp(pool, big.fields)).ok).toBe(true);
      expect(stats().entries - before.entries).toBe(1);
      // Loading another model evicts the first (maxEntries 1): its release reaches the owner.
      expect((await warmUp(pool, other.fields)).ok).toBe(true);
      await vi.waitFor(() => expect(stats().entries).toBe(before.entries), { timeout: 5000 });
      expect(stats().leases).toBe(before.leases);
      // Loaded again: read again (the buffer was dropped), then held until the worker ends.
      expect((await warmUp(pool, big.fields)).ok).toBe(true);
      expect(stats().reads - before.reads).toBe(2);
      expect(stats().leases - before.leases).toBe(1);
    } finally {
      await pool.close();
    }
    // No release from the worker itself: the pool reports the ended thread.
    await vi.waitFor(() => expect(stats().leases).toBe(before.leases), { timeout: 5000 });
    expect(stats().entries).toBe(before.entries);
  });

  it("a UDF scoring on the calling thread (placement 'caller') holds the workers' copy", async () => {
    const { pkg, crc } = await artifactPackage(2 * 1024 * 1024 + 5);
    const before = stats();
    const onCaller = await sparkUdf(pkg, { placement: 'caller', workers: 1 });
    const onWorkers = await sparkUdf(pkg, { placement: 'workers', workers: 2, batchSize: 10 });
    const input = tableFromArrays({ x: Float64Array.from({ length: 40 }, (_, i) => i) });
    try {
      const [a, b] = await Promise.all([onCaller.apply(input), onWorkers.apply(input)]);
      // The model predicts its artifact's CRC-32 on every row, wherever it runs.
      for (const out of [a, b]) {
        expect(new Set((out as Vector).toArray() as Float64Array)).toEqual(new Set([crc]));
      }
      expect(onCaller.stats().placement).toMatchObject({ callerLoads: 1, callerBatches: 1 });
      expect(onCaller.stats().modelLoads).toBe(0);
      expect(onWorkers.stats().placement.callerLoads).toBe(0);
      expect(onWorkers.stats().modelLoads).toBe(2);
      // Three loaded models (this thread's and two workers'), one read, one entry.
      expect(stats().reads - before.reads).toBe(1);
      expect(stats().entries - before.entries).toBe(1);
      expect(stats().leases - before.leases).toBe(3);
      await onCaller.close();
      // The calling thread's model is released with its UDF; the workers still hold the bytes.
      expect(stats().leases - before.leases).toBe(2);
      expect(stats().entries - before.entries).toBe(1);
    } finally {
      await onCaller.close();
      await onWorkers.close();
    }
    await vi.waitFor(() => expect(stats().leases).toBe(before.leases), { timeout: 5000 });
    expect(stats().entries).toBe(before.entries);
  });

  it('keeps the error code of a failed read across the thread boundary', async () => {
    const folder = join(dir, `folder-${seq++}`);
    mkdirSync(folder);
    writeFileSync(join(folder, 'part'), 'x');
    const pkg = writeArtifactModel(join(dir, `pkg-${seq++}`), folder);
    const identity = await packageIdentity(pkg);
    const pool = createPool({ workers: 1 });
    try {
      const reply = await warmUp(pool, {
        modelKey: `${identity.hash}|dir`,
        modelPath: pkg,
        modelBytes: identity.bytes,
      });
      expect(reply.ok).toBe(false);
      if (reply.ok) return;
      expect(reply.error.code).toBe('E_ARTIFACT_MISSING');
      expect(reply.error.message).toMatch(/is a directory: sharedArtifact shares the bytes/);
    } finally {
      await pool.close();
    }
  });
});

describe('udf/embedding-lookup on workers', () => {
  it('scores as the model does on its own, the table read once for every worker', async () => {
    const table = join(dir, 'small.f32');
    generateEmbeddingTable({ outPath: table, rows: 64, dims: 16, seed: 9 });
    const out = join(dir, 'embedding');
    await saveModel(out, embedding.saveOptions(undefined, { artifacts: { embeddings: table } }));
    const n = 2000;
    const input = tableFromArrays({
      id: BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 13 - 500)),
      x: Float64Array.from({ length: n }, (_, i) => (i % 17) - 8),
    });
    const direct = new EmbeddingLookupModel();
    direct.loadContext({ artifacts: { embeddings: table }, modelConfig: {} });
    const expected = direct.predict({ artifacts: {}, modelConfig: {} }, input);
    const before = stats();
    const udf = await sparkUdf(out, { workers: 2, batchSize: 100, resultType: 'double' });
    try {
      const scored = await udf.apply(input);
      expect(Array.from((scored as Vector).toArray() as Float64Array)).toEqual(
        Array.from(expected, (v) => expect.closeTo(v, 12))
      );
      expect(stats().reads - before.reads).toBe(1);
    } finally {
      await udf.close();
    }
  });
});
