// The shared-artifact registry on one thread: one read per file however many loaders ask at
// once, leases and eviction, file identity, coded errors, and `context.sharedArtifact` through
// loadModel. The cross-thread part (workers and the calling thread) is test/pool/shared-artifacts-pool.test.ts.
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { loadModel } from '../../src/package/load-model.js';
import { SharedArtifactRegistry } from '../../src/package/shared-artifact-registry.js';
import { ArtifactScope, sharedArtifactStats } from '../../src/package/shared-artifacts.js';
import { writeArtifactModel } from '../pool/artifact-model.js';

const dir = mkdtempSync(join(tmpdir(), 'jsfunc-shared-artifacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
/** A fresh file of `size` deterministic bytes. */
function blob(size = 100_000, seed = seq++): string {
  const path = join(dir, `blob-${seed}.bin`);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  writeFileSync(path, bytes);
  return path;
}

/**
 * Forces full collections (and lets finalizers run) until `done()` or 20 rounds. `done` may
 * call `WeakRef.deref()`, which keeps the target alive until the current job ends, so each
 * collection runs in a turn of its own, never in the turn of a `deref`.
 */
async function collectUntil(done: () => boolean): Promise<boolean> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const turn = () => new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 20; i++) {
    await turn();
    gc();
    await turn();
    if (done()) return true;
  }
  return false;
}

const equalsFile = (bytes: Uint8Array, path: string) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).equals(readFileSync(path));

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(ModelError.is(error), String(error)).toBe(true);
  expect((error as ModelError).code).toBe(code);
  if (message !== undefined) expect((error as ModelError).message).toMatch(message);
}

describe('SharedArtifactRegistry', () => {
  it('reads a file once for concurrent first loaders, and the bytes equal the file', async () => {
    const registry = new SharedArtifactRegistry();
    const path = blob(3 * 1024 * 1024 + 7);
    const grants = await Promise.all(
      Array.from({ length: 5 }, (_, holder) => registry.acquire(path, 'blob', holder))
    );
    expect(registry.stats()).toMatchObject({ reads: 1, entries: 1, leases: 5 });
    expect(registry.stats().bytesRead).toBe(3 * 1024 * 1024 + 7);
    for (const g of grants) expect(g.buffer).toBe(grants[0]!.buffer);
    expect(grants[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(equalsFile(new Uint8Array(grants[0]!.buffer), path)).toBe(true);
    expect(new Set(grants.map((g) => g.lease)).size).toBe(5);
  });

  it('drops the entry with its last lease; the next loader reads again', async () => {
    const registry = new SharedArtifactRegistry();
    const path = blob();
    const a = await registry.acquire(path, 'blob', 1);
    const b = await registry.acquire(path, 'blob', 2);
    expect(registry.release(a.lease)).toBe(true);
    expect(registry.release(a.lease)).toBe(false);
    expect(registry.stats()).toMatchObject({ entries: 1, leases: 1, reads: 1 });
    registry.release(b.lease);
    expect(registry.stats()).toMatchObject({ entries: 0, leases: 0, reads: 1 });
    const c = await registry.acquire(path, 'blob', 1);
    expect(c.buffer).not.toBe(a.buffer);
    expect(registry.stats()).toMatchObject({ entries: 1, reads: 2 });
  });

  it('knows a file by identity: hard links and symlinks share, a rewritten file is read anew', async () => {
    const registry = new SharedArtifactRegistry();
    const path = blob();
    const hard = join(dir, `hard-${seq++}.bin`);
    const soft = join(dir, `soft-${seq++}.bin`);
    linkSync(path, hard);
    symlinkSync(path, soft);
    const a = await registry.acquire(path, 'blob', 1);
    const b = await registry.acquire(hard, 'blob', 1);
    const c = await registry.acquire(soft, 'blob', 1);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).toBe(a.buffer);
    expect(registry.stats().reads).toBe(1);
    writeFileSync(path, 'changed');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const d = await registry.acquire(path, 'blob', 1);
    expect(d.buffer).not.toBe(a.buffer);
    expect(Buffer.from(d.buffer).toString()).toBe('changed');
    expect(registry.stats()).toMatchObject({ reads: 2, entries: 2 });
  });

  it("releases a dead thread's leases, including one granted after it died", async () => {
    const registry = new SharedArtifactRegistry();
    const path = blob();
    await registry.acquire(path, 'blob', 7);
    await registry.acquire(path, 'blob', 7);
    const kept = await registry.acquire(path, 'blob', 8);
    expect(registry.releaseHolder(7)).toBe(2);
    expect(registry.stats()).toMatchObject({ entries: 1, leases: 1 });
    // A request of thread 7 that was in flight when it died: granted, then released at once.
    await registry.acquire(path, 'blob', 7);
    expect(registry.stats().leases).toBe(1);
    registry.release(kept.lease);
    expect(registry.stats()).toMatchObject({ entries: 0, leases: 0 });
  });

  it('fails every waiter of a failed read with a coded error, and keeps nothing', async () => {
    const registry = new SharedArtifactRegistry();
    await expectCode(
      registry.acquire(join(dir, 'absent.bin'), 'weights', 1),
      'E_ARTIFACT_MISSING',
      /Artifact "weights" cannot be opened/
    );
    const folder = join(dir, `folder-${seq++}`);
    mkdirSync(folder);
    await expectCode(
      registry.acquire(folder, 'vocab', 1),
      'E_ARTIFACT_MISSING',
      /"vocab" .* is a directory: sharedArtifact shares the bytes of one regular file; read the files of a directory artifact through context\.artifacts\["vocab"\]/
    );
    expect(registry.stats()).toMatchObject({ entries: 0, leases: 0 });
  });

  it('never loses an entry to a last release racing a new lease (one copy while leased)', async () => {
    const registry = new SharedArtifactRegistry();
    const path = blob();
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    // The release lands at every point of the second loader's open/stat/lookup steps.
    for (let delay = 0; delay < 30; delay++) {
      const a = await registry.acquire(path, 'blob', 1);
      const second = registry.acquire(path, 'blob', 2);
      for (let i = 0; i < delay; i++) await tick();
      registry.release(a.lease);
      const b = await second;
      // While b is leased, a third loader must get b's memory, not a second copy.
      const c = await registry.acquire(path, 'blob', 3);
      expect(c.buffer, `release after ${delay} ticks`).toBe(b.buffer);
      registry.release(b.lease);
      registry.release(c.lease);
      expect(registry.stats()).toMatchObject({ entries: 0, leases: 0 });
    }
  });

  it('shares an empty file', async () => {
    const registry = new SharedArtifactRegistry();
    const g = await registry.acquire(blob(0), 'empty', 1);
    expect(g.buffer.byteLength).toBe(0);
  });
});

describe('ArtifactScope (context.sharedArtifact)', () => {
  it('leases once per name, returns the same view, and gives the lease back on release', async () => {
    const path = blob();
    const before = sharedArtifactStats()!;
    const scope = new ArtifactScope({ blob: path });
    const [a, b] = await Promise.all([scope.get('blob'), scope.get('blob')]);
    expect(a).toBe(b);
    expect(equalsFile(a, path)).toBe(true);
    expect(scope.leased).toEqual(['blob']);
    expect(sharedArtifactStats()!.leases).toBe(before.leases + 1);
    scope.release();
    scope.release();
    expect(sharedArtifactStats()!.leases).toBe(before.leases);
    await expectCode(scope.get('blob'), 'E_MODEL_LOAD', /after the model was released/);
  });

  it('codes an unknown name and lists the artifacts the model has', async () => {
    const scope = new ArtifactScope({ weights: blob(), vocab: blob() });
    await expectCode(
      scope.get('embeddings'),
      'E_ARTIFACT_MISSING',
      /no artifact named "embeddings" \(artifacts: weights, vocab\)/
    );
    await expectCode(new ArtifactScope({}).get('x'), 'E_ARTIFACT_MISSING', /artifacts: none/);
    await expectCode(
      scope.get(42 as unknown as string),
      'E_ARTIFACT_MISSING',
      /no artifact named 42/
    );
    // A failed lease is not remembered: the name can be asked again (still failing here).
    await expectCode(scope.get('embeddings'), 'E_ARTIFACT_MISSING');
  });
});

describe('loadModel: context.sharedArtifact', () => {
  it('gives every load of a package the same bytes, read once; release returns them', async () => {
    const file = blob(1 << 20);
    const pkg = writeArtifactModel(join(dir, `pkg-${seq++}`), file);
    const before = sharedArtifactStats()!;
    const [m1, m2] = await Promise.all([loadModel(pkg), loadModel(pkg)]);
    const info = (m: Awaited<ReturnType<typeof loadModel>>) =>
      m.unwrap<{ info(): Record<string, unknown> }>().info();
    expect(info(m1)).toMatchObject({ shared: true, length: 1 << 20, crc: info(m2)['crc'] });
    const after = sharedArtifactStats()!;
    expect(after.reads - before.reads).toBe(1);
    expect(after.entries - before.entries).toBe(1);
    // Same memory: a write through one model is seen by the other.
    m1.unwrap<{ poke(i: number, v: number): void }>().poke(0, 0xab);
    expect(info(m2)['first']).toBe(0xab);
    await m1.release();
    expect(sharedArtifactStats()!.entries - before.entries).toBe(1);
    await m2.release();
    await m2.release();
    expect(sharedArtifactStats()!).toMatchObject({
      entries: before.entries,
      leases: before.leases,
    });
  });

  it('frees the memory: no reference to the bytes is left once the released model is gone', async () => {
    const pkg = writeArtifactModel(join(dir, `pkg-${seq++}`), blob(1 << 20));
    const before = sharedArtifactStats()!;
    let model: Awaited<ReturnType<typeof loadModel>> | undefined = await loadModel(pkg);
    const buffer = new WeakRef(model.unwrap<{ bytes: Uint8Array }>().bytes.buffer);
    await model.release();
    model = undefined;
    // Neither the registry, the scope nor the context keeps the SharedArrayBuffer alive.
    expect(await collectUntil(() => buffer.deref() === undefined)).toBe(true);
    expect(sharedArtifactStats()!).toMatchObject({
      entries: before.entries,
      leases: before.leases,
    });
  });

  it('gives the bytes back when a model nobody released is garbage-collected', async () => {
    const pkg = writeArtifactModel(join(dir, `pkg-${seq++}`), blob(1 << 20));
    const before = sharedArtifactStats()!;
    // Loaded in a function of its own, so no frame of this test keeps the model.
    const load = async () => {
      const m = await loadModel(pkg);
      return new WeakRef(m.unwrap<{ bytes: Uint8Array }>().bytes.buffer);
    };
    const buffer = await load();
    expect(sharedArtifactStats()!.leases).toBe(before.leases + 1);
    expect(
      await collectUntil(
        () => sharedArtifactStats()!.leases === before.leases && buffer.deref() === undefined
      )
    ).toBe(true);
    expect(sharedArtifactStats()!.entries).toBe(before.entries);
  });

  it('releases what loadContext leased when loadContext then throws', async () => {
    const pkg = writeArtifactModel(join(dir, `pkg-${seq++}`), blob(), { failAfterLease: true });
    const before = sharedArtifactStats()!;
    await expect(loadModel(pkg)).rejects.toMatchObject({ code: 'E_MODEL_LOAD' });
    expect(sharedArtifactStats()!).toMatchObject({
      entries: before.entries,
      leases: before.leases,
    });
  });

  it('codes a directory artifact (the loader keeps the artifact error as is)', async () => {
    const folder = join(dir, `artifact-dir-${seq++}`);
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.txt'), 'a');
    const pkg = writeArtifactModel(join(dir, `pkg-${seq++}`), folder);
    await expectCode(loadModel(pkg), 'E_ARTIFACT_MISSING', /is a directory/);
  });
});
