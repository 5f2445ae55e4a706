/**
 * Reusable shared-memory slabs for task inputs: a UDF leases one per task, the encoder copies
 * the task's columns into it, the worker reads them there, and the slab goes back to the pool
 * when the task settles, for the next task to overwrite.
 *
 * Why: a fresh `SharedArrayBuffer` per task costs its page faults on every call (the kernel
 * hands out zeroed pages on first touch, on the thread that copies into them), and its memory
 * is only returned once every thread that saw it has garbage-collected its views, which made
 * repeated `apply` calls on an ordinary table take 2-4x their best time (issue 9). A slab that
 * was touched once stays mapped: copying into it costs the copy, nothing else.
 *
 * Lifetime rules (see the model contract in the README and `SparkUdfImpl.#scoreOnWorkers`):
 * - a slab is returned ({@link SlabPool.release}) only once its worker ANSWERED (a reply, or an
 *   error reply): the handler has returned and no jsfunc code reads it any more;
 * - a task that ended without an answer (worker crash, timeout, abort, close) may have a thread
 *   still running over its slab for a moment (terminating a worker is asynchronous), so its
 *   slab is {@link SlabPool.discard}ed, never reused;
 * - a model that keeps a view of its input after `predict` returns sees it overwritten by a
 *   later task: the input is the model's only for the duration of the call.
 *
 * Bounds: at most `maxFree` idle slabs are kept (the UDF's in-flight bound: the steady state of
 * a stream of equal batches needs exactly that many), the smallest dropped first; a slab over
 * `maxPooledBytes` is never kept. Sizes are rounded up (at most 1/8 over, 64 KiB at least) so
 * that batches of slightly different sizes share slabs.
 *
 * @module
 */

/** Options of {@link SlabPool}. */
export interface SlabPoolOptions {
  /** Idle slabs kept for reuse. Default 4. */
  maxFree?: number;
  /** Largest slab kept for reuse, in bytes (larger ones are dropped on release). Default 512 MiB. */
  maxPooledBytes?: number;
}

/** Counters of a {@link SlabPool}, cumulative except `leased`, `free` and `freeBytes`. */
export interface SlabPoolStats {
  /** Slabs allocated (each a new `SharedArrayBuffer`). */
  allocated: number;
  /** Bytes of those allocations. */
  allocatedBytes: number;
  /** Leases served by an idle slab instead of an allocation. */
  reused: number;
  /** Slabs dropped instead of kept (task without an answer, over the bounds, pool cleared). */
  discarded: number;
  /** Slabs leased now. */
  leased: number;
  /** Idle slabs kept now. */
  free: number;
  /** Bytes of the idle slabs. */
  freeBytes: number;
}

/** Smallest slab: small batches share one size class. */
const kMinSlabBytes = 64 * 1024;

/**
 * The size of the slab allocated for a request of `byteLength` bytes: at least 64 KiB, else
 * rounded up to a multiple of 1/8 of the request's power of two (at most 12.5% over).
 *
 * @param byteLength - the bytes needed
 * @returns the slab size
 */
export function slabSize(byteLength: number): number {
  if (byteLength <= kMinSlabBytes) return kMinSlabBytes;
  const step = 2 ** Math.max(0, Math.floor(Math.log2(byteLength)) - 3);
  return Math.ceil(byteLength / step) * step;
}

/** A pool of reusable `SharedArrayBuffer`s; see the module comment for the lifetime rules. */
export class SlabPool {
  /** Idle slabs, smallest first. */
  readonly #free: SharedArrayBuffer[] = [];
  readonly #leased = new Set<SharedArrayBuffer>();
  readonly #maxPooledBytes: number;
  #maxFree: number;
  #closed = false;
  #allocated = 0;
  #allocatedBytes = 0;
  #reused = 0;
  #discarded = 0;

  /**
   * @param options - bounds; see {@link SlabPoolOptions}
   */
  constructor(options: SlabPoolOptions = {}) {
    this.#maxFree = options.maxFree ?? 4;
    this.#maxPooledBytes = options.maxPooledBytes ?? 512 * 1024 * 1024;
  }

  /**
   * Leases a slab of at least `byteLength` bytes: the smallest idle one that fits, else a new
   * one. Its contents are whatever the previous task left: the encoder overwrites what it uses.
   *
   * @param byteLength - the bytes needed
   * @returns the slab; hand it back with {@link release} or {@link discard}
   */
  lease(byteLength: number): SharedArrayBuffer {
    const i = this.#free.findIndex((s) => s.byteLength >= byteLength);
    let slab: SharedArrayBuffer;
    if (i >= 0) {
      slab = this.#free.splice(i, 1)[0]!;
      this.#reused++;
    } else {
      slab = new SharedArrayBuffer(slabSize(byteLength));
      this.#allocated++;
      this.#allocatedBytes += slab.byteLength;
    }
    this.#leased.add(slab);
    return slab;
  }

  /**
   * Returns a slab whose task was answered: kept for the next lease (within the bounds).
   *
   * @param slab - a slab from {@link lease}
   */
  release(slab: SharedArrayBuffer): void {
    if (!this.#leased.delete(slab)) return;
    if (this.#closed || slab.byteLength > this.#maxPooledBytes || this.#maxFree === 0) {
      this.#discarded++;
      return;
    }
    const at = this.#free.findIndex((s) => s.byteLength >= slab.byteLength);
    this.#free.splice(at < 0 ? this.#free.length : at, 0, slab);
    while (this.#free.length > this.#maxFree) {
      this.#free.shift();
      this.#discarded++;
    }
  }

  /**
   * Drops a slab that must not be reused (its task ended without an answer: a thread may still
   * be reading it).
   *
   * @param slab - a slab from {@link lease}
   */
  discard(slab: SharedArrayBuffer): void {
    if (this.#leased.delete(slab)) this.#discarded++;
  }

  /**
   * Changes how many idle slabs are kept (e.g. when the in-flight bound changes).
   *
   * @param maxFree - the new bound (>= 0)
   */
  setMaxFree(maxFree: number): void {
    this.#maxFree = Math.max(0, Math.floor(maxFree));
    while (this.#free.length > this.#maxFree) {
      this.#free.shift();
      this.#discarded++;
    }
  }

  /** Drops every idle slab, and every leased one when it comes back. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#discarded += this.#free.length;
    this.#free.length = 0;
  }

  /** The pool's counters. */
  stats(): SlabPoolStats {
    return {
      allocated: this.#allocated,
      allocatedBytes: this.#allocatedBytes,
      reused: this.#reused,
      discarded: this.#discarded,
      leased: this.#leased.size,
      free: this.#free.length,
      freeBytes: this.#free.reduce((n, s) => n + s.byteLength, 0),
    };
  }
}
