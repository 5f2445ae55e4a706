import { describe, it, expect } from 'vitest';
import { ModelCache, kDefaultModelCacheOptions, releaseModel } from '../../src/pool/model-cache.js';
import type { LoadedModel } from '../../src/package/types.js';

function counter() {
  const loads: string[] = [];
  const released: string[] = [];
  const cache = (opts = {}) =>
    new ModelCache<string>(opts, (value) => {
      released.push(value);
    });
  const load = (key: string) => async () => {
    loads.push(key);
    return `model:${key}`;
  };
  return { loads, released, cache, load };
}

describe('ModelCache', () => {
  it('loads a key once and serves later lookups from the cache', async () => {
    const { loads, cache, load } = counter();
    const c = cache();
    const first = await c.getOrLoad('a', 10, load('a'));
    const second = await c.getOrLoad('a', 10, load('a'));
    expect(first).toMatchObject({ value: 'model:a', loaded: true });
    expect(second).toMatchObject({ value: 'model:a', loaded: false, loadMs: 0 });
    expect(loads).toEqual(['a']);
  });

  it('shares one load between concurrent lookups of a key', async () => {
    const { loads, cache, load } = counter();
    const c = cache();
    const results = await Promise.all([1, 2, 3].map(() => c.getOrLoad('a', 1, load('a'))));
    expect(loads).toEqual(['a']);
    expect(results.filter((r) => r.loaded)).toHaveLength(1);
  });

  it('evicts the least recently used entry by count and releases it', async () => {
    const { loads, released, cache, load } = counter();
    const c = cache({ maxEntries: 2 });
    await c.getOrLoad('a', 1, load('a'));
    await c.getOrLoad('b', 1, load('b'));
    await c.getOrLoad('a', 1, load('a')); // a is now most recent
    await c.getOrLoad('c', 1, load('c')); // evicts b
    expect(released).toEqual(['model:b']);
    expect(c.keys()).toEqual(['a', 'c']);
    await c.getOrLoad('b', 1, load('b'));
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('evicts by bytes but keeps a single oversize entry', async () => {
    const { released, cache, load } = counter();
    const c = cache({ maxBytes: 100 });
    await c.getOrLoad('a', 60, load('a'));
    await c.getOrLoad('b', 60, load('b'));
    expect(released).toEqual(['model:a']);
    expect(c.bytes).toBe(60);
    await c.getOrLoad('huge', 500, load('huge'));
    expect(c.keys()).toEqual(['huge']);
    expect(c.bytes).toBe(500);
  });

  it('does not cache a failed load, so the next lookup retries', async () => {
    const c = new ModelCache<string>();
    await expect(c.getOrLoad('a', 1, () => Promise.reject(new Error('nope')))).rejects.toThrow(
      'nope'
    );
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
    await expect(c.getOrLoad('a', 1, async () => 'ok')).resolves.toMatchObject({
      value: 'ok',
      loaded: true,
    });
  });

  it('clear() releases every entry, and a failing release does not throw', async () => {
    const released: string[] = [];
    const c = new ModelCache<string>({}, (v) => {
      released.push(v);
      throw new Error('close failed');
    });
    await c.getOrLoad('a', 1, async () => 'A');
    await c.getOrLoad('b', 1, async () => 'B');
    await c.clear();
    expect(released.sort()).toEqual(['A', 'B']);
    expect(c.size).toBe(0);
  });

  it('documents its defaults', () => {
    expect(kDefaultModelCacheOptions.maxEntries).toBeGreaterThan(0);
    expect(kDefaultModelCacheOptions.maxBytes).toBeGreaterThan(0);
  });
});

describe('releaseModel', () => {
  const loaded = (inner: unknown) => ({ unwrap: () => inner }) as unknown as LoadedModel;

  it('calls close() on the user model, else dispose(), else nothing', async () => {
    const calls: string[] = [];
    await releaseModel(
      loaded({ close: () => calls.push('close'), dispose: () => calls.push('dispose') })
    );
    await releaseModel(loaded({ dispose: async () => calls.push('dispose') }));
    await releaseModel(loaded({}));
    await releaseModel(loaded(null));
    expect(calls).toEqual(['close', 'dispose']);
  });
});
