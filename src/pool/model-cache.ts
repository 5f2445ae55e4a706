/**
 * The per-worker model cache: a bounded LRU of loaded models, so that each worker thread loads
 * each model package once and keeps it across batches, tables and UDF objects.
 *
 * Modelled on tinypool's `getHandler` cache (a module-level `Map` with a size bound), with two
 * differences: the bound counts bytes as well as entries (a model's package size stands in for
 * its memory), and evicted models are released (`close()` / `dispose()` on the user model).
 *
 * @module
 */
import type { LoadedModel } from '../package/types.js';

/** Bounds of a {@link ModelCache}. */
export interface ModelCacheOptions {
  /** Most models kept per worker. Default 4 (Spark keeps 3 python workers' models warm). */
  maxEntries?: number;
  /** Most package bytes kept per worker. Default 2 GiB. A single larger model is still kept. */
  maxBytes?: number;
}

/** {@link ModelCacheOptions} with every field filled. */
export type FilledModelCacheOptions = Required<ModelCacheOptions>;

/** Defaults of {@link ModelCacheOptions}. */
export const kDefaultModelCacheOptions: Readonly<FilledModelCacheOptions> = Object.freeze({
  maxEntries: 4,
  maxBytes: 2 * 1024 ** 3,
});

/** What {@link ModelCache.getOrLoad} returns. */
export interface CacheLookup<T> {
  value: T;
  /** True when this call ran the loader (a cache miss). */
  loaded: boolean;
  /** Milliseconds spent in the loader by this call (0 on a hit). */
  loadMs: number;
}

interface Entry<T> {
  promise: Promise<T>;
  bytes: number;
}

/**
 * A bounded least-recently-used cache of asynchronously loaded values.
 *
 * Concurrent lookups of the same key share one load. A failed load is not cached, so the next
 * lookup tries again (and reports its own failure). Eviction happens after a successful load and
 * never evicts the entry just loaded, so one oversize model still works.
 */
export class ModelCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #options: FilledModelCacheOptions;
  readonly #release: (value: T, key: string) => unknown;
  #bytes = 0;

  /**
   * @param options - bounds; defaults {@link kDefaultModelCacheOptions}
   * @param release - called with each evicted or cleared value (errors are swallowed: a model
   *   that fails to close must not fail the batch that evicted it)
   */
  constructor(
    options: ModelCacheOptions = {},
    release: (value: T, key: string) => unknown = () => undefined
  ) {
    this.#options = { ...kDefaultModelCacheOptions, ...stripUndefined(options) };
    this.#release = release;
  }

  /** Number of cached (or loading) entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Sum of the byte sizes of the cached entries. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Cached keys, least recently used first. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Returns the cached value for `key`, or runs `load` and caches its result.
   *
   * @param key - identity of the model (package hash + config + predict function)
   * @param bytes - size charged against `maxBytes`
   * @param load - produces the value on a miss
   * @returns the value, whether this call loaded it, and the load time
   * @throws whatever `load` throws (the entry is then dropped)
   */
  async getOrLoad(key: string, bytes: number, load: () => Promise<T>): Promise<CacheLookup<T>> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return { value: await hit.promise, loaded: false, loadMs: 0 };
    }
    const started = performance.now();
    const promise = load();
    const entry: Entry<T> = { promise, bytes: Math.max(0, bytes) };
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    let value: T;
    try {
      value = await promise;
    } catch (error) {
      if (this.#entries.get(key) === entry) {
        this.#entries.delete(key);
        this.#bytes -= entry.bytes;
      }
      throw error;
    }
    const loadMs = performance.now() - started;
    await this.#evict(key);
    return { value, loaded: true, loadMs };
  }

  /** Releases and drops every entry. */
  async clear(): Promise<void> {
    const entries = [...this.#entries];
    this.#entries.clear();
    this.#bytes = 0;
    for (const [key, entry] of entries) await this.#releaseEntry(key, entry);
  }

  async #evict(keep: string): Promise<void> {
    const { maxEntries, maxBytes } = this.#options;
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= maxEntries && this.#bytes <= maxBytes) break;
      if (key === keep) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
      await this.#releaseEntry(key, entry);
    }
  }

  async #releaseEntry(key: string, entry: Entry<T>): Promise<void> {
    try {
      await this.#release(await entry.promise, key);
    } catch {
      // A failed load or a failing close(): nothing left to release.
    }
  }
}

/**
 * Releases a loaded model: `model.release()`, which calls `close()` or else `dispose()` on the
 * user's model instance when it has one (for example an onnxruntime session's `release()`
 * wrapped by the model) and gives back the model's shared artifacts. An object without
 * `release` (a stand-in) gets the close/dispose call alone.
 *
 * @param model - the loaded model to release
 * @returns when the model's own close/dispose has settled
 */
export async function releaseModel(model: LoadedModel): Promise<void> {
  if (typeof (model as Partial<LoadedModel>).release === 'function') return model.release();
  const inner = model.unwrap<Record<string, unknown> | null>();
  if (inner === null || typeof inner !== 'object') return;
  const close = inner['close'] ?? inner['dispose'];
  if (typeof close === 'function') await (close as () => unknown).call(inner);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
