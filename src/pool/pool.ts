/**
 * The worker-thread pool that scores batches: a thin, model-aware wrapper over tinypool.
 *
 * Why a wrapper and not tinypool as is (see `shared/reference/perf-probes.md`):
 * - tinypool reaps idle workers when `minThreads < maxThreads`, and a reaped worker loses its
 *   model cache, so the pool always runs `minThreads = maxThreads` and `isolateWorkers: false`.
 * - tinypool's thread runtime listens for a worker's `error` event but not its `exit` event: a
 *   worker that ends without an error (`process.exit()` from model code) would hang its task and
 *   `destroy()`. `worker-entry` turns `process.exit` into an uncaught error (which tinypool does
 *   handle), and this module also watches every thread's `exit` event and reports an unexpected
 *   exit to tinypool as an `error`, so the held batch fails and a replacement thread starts.
 * - tasks carry SharedArrayBuffer-backed columns; nothing is structured-cloned but descriptors.
 * - tinypool 2.2's `destroy()` waits for each worker with `events.once(wrapper, 'exit')`, which
 *   also listens for `error`; its error listener calls `wrapper.removeListener`, a method the
 *   thread wrapper lacks. So a worker that reported an error while the pool was closing (model
 *   code throwing from a timer after its reply, a worker dying at start-up under a small heap
 *   limit) threw a TypeError out of an event listener and killed the process hosting the pool.
 *   Every wrapper gets `removeListener`/`off` here (delegating to its `Worker`), and
 *   {@link ModelPool.close} tolerates a failing `destroy()`, waits for every thread's own `exit`,
 *   and destroys the replacement workers tinypool starts when one fails mid-destroy.
 *
 * Several UDFs share one default pool per worker count ({@link acquireDefaultPool}): it is
 * created lazily, reference counted, and destroyed when the last UDF using it closes, so ten
 * UDFs in one process do not start ten times `availableParallelism()` threads.
 *
 * The pool is generic: each task names the handler module that runs it (see `protocol.ts`), so
 * the pool imports nothing from the layers above it.
 *
 * Worker file: tinypool needs JavaScript. The pool runs the bundled worker
 * (`dist/worker-bundle/main.js`, see {@link workerFileUrl}), else `worker/main.js` unbundled;
 * when this module itself runs from `src/*.ts` (vitest), the compiled twin under `dist/` is used
 * instead ({@link compiledUrl}), so tests need `npm run build` first (the `test` script does it).
 *
 * Shared artifacts: the pool gives its workers the channel of the process's shared-artifact
 * registry (`package/shared-artifacts.ts`) and, when a worker thread exits for any reason,
 * releases the artifact leases that thread held (a crashed or terminated worker cannot).
 *
 * @module
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import Tinypool from 'tinypool';
import { ModelError } from '../errors.js';
import { releaseThreadArtifacts, sharedArtifactsChannel } from '../package/shared-artifacts.js';
import { compiledUrl } from './compiled-url.js';
import { kDefaultModelCacheOptions, type ModelCacheOptions } from './model-cache.js';
import type { PoolTask } from './protocol.js';

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Worker threads, all started up front and kept. Default `os.availableParallelism()`. */
  workers?: number;
  /** Per-worker model cache bounds. Default {@link kDefaultModelCacheOptions}. */
  cache?: ModelCacheOptions;
  /** V8 heap limits per worker (a worker over them dies with E_WORKER_CRASHED and is replaced). */
  resourceLimits?: {
    maxOldGenerationSizeMb?: number;
    maxYoungGenerationSizeMb?: number;
    codeRangeSizeMb?: number;
    stackSizeMb?: number;
  };
}

/** What the pool passes to every worker as `workerData`. */
export interface PoolWorkerData {
  cache: ModelCacheOptions;
  /**
   * The channel of the process's shared-artifact registry (`package/shared-artifacts.ts`):
   * workers lease `context.sharedArtifact` bytes from it instead of reading files themselves.
   */
  sharedArtifacts?: string;
}

/** Options of {@link ModelPool.run}. */
export interface PoolRunOptions {
  /** Aborting terminates the worker running the task (tinypool) and rejects with AbortError. */
  signal?: AbortSignal;
}

/** Message prefix worker-entry uses for a model that called `process.exit`. */
export const kWorkerExitMarker = 'jsfunc worker exit:';

/**
 * Returns the compiled worker entry: `worker-entry.js` beside this module, or, when running
 * from TypeScript sources, the twin under `dist/` ({@link compiledUrl}).
 *
 * @returns a `file:` URL of an existing JavaScript file
 * @throws {ModelError} E_WORKER_CRASHED when neither file exists (run `npm run build`)
 */
export function workerEntryUrl(): URL {
  return compiledUrl(new URL('./worker-entry.js', import.meta.url));
}

let workerFile: URL | undefined;

/**
 * The file tinypool starts in every worker: the bundled worker `dist/worker-bundle/main.js`
 * (`worker/main.ts` with its handlers and dependencies in one file, built by `npm run build`),
 * or `dist/worker/main.js` unbundled when the bundle is missing, older than the compiled
 * modules (a build that ran `tsc` alone: the bundle would run stale code), or turned off with
 * `JSFUNC_WORKER_BUNDLE=0`. Decided once per process.
 *
 * Why it matters: a worker importing jsfunc module by module loads ~250 ES modules (150 of
 * them apache-arrow's), which took most of a UDF's 190-260 ms cold start; the bundle is one
 * file (see `benchmarks/cold-start.mjs`).
 *
 * @returns a `file:` URL of an existing JavaScript file
 * @throws {ModelError} E_WORKER_CRASHED when jsfunc is not built (run `npm run build`)
 */
export function workerFileUrl(): URL {
  workerFile ??= pickWorkerFile();
  return workerFile;
}

function pickWorkerFile(): URL {
  const main = compiledUrl(new URL('../worker/main.js', import.meta.url));
  if (process.env['JSFUNC_WORKER_BUNDLE'] === '0') return main;
  const bundle = new URL('../worker-bundle/main.js', main);
  try {
    // tsc rewrites every output file, so a bundle older than main.js predates the last build.
    // Installed from a tarball, both carry npm's fixed mtime: equal, and the bundle is used.
    if (statSync(bundle).mtimeMs >= statSync(main).mtimeMs) return bundle;
  } catch {
    // No bundle: run the modules unbundled.
  }
  return main;
}

/**
 * A pool of worker threads that keep their models loaded between tasks.
 */
export class ModelPool {
  readonly #pool: Tinypool;
  readonly #watched = new WeakSet<object>();
  readonly #pending = new Set<PendingRun>();
  readonly workers: number;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link PoolOptions}; already validated
   */
  constructor(options: PoolOptions = {}) {
    const workers = options.workers ?? availableParallelism();
    assertPositiveInt('options.workers', workers);
    this.workers = workers;
    const workerData: PoolWorkerData = {
      cache: { ...kDefaultModelCacheOptions, ...options.cache },
      // A name, not a port: tinypool gives every worker (and every replacement) the same data.
      sharedArtifacts: sharedArtifactsChannel(),
    };
    this.#pool = new Tinypool({
      filename: workerFileUrl().href,
      minThreads: workers,
      maxThreads: workers,
      isolateWorkers: false,
      // Keep the event loop of idle workers running: model code may keep timers or async
      // work alive between batches, and worker-entry schedules its own exit after a reply.
      useAtomics: false,
      workerData,
      // No tinypool `teardown`: tinypool runs it as a task before terminating a worker, and a
      // worker stuck in model code (the reason for a timeout or abort) would never run it, so
      // the worker would never be terminated. Models are released on cache eviction; at
      // shutdown the thread's memory goes with it.
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    // With no tasks queued, a crashed idle worker's error is emitted on the pool.
    // A worker that fails while starting (a heap limit too small to boot, a broken install) is
    // not replaced by tinypool, and a task queued behind it would wait forever: once no thread
    // is left, the waiting runs fail with that error instead.
    this.#pool.on('error', (error: unknown) => {
      if (this.#closed || this.#pool.threads.length > 0) return;
      for (const pending of this.#pending) pending.fail(error);
    });
    this.#watchThreads();
  }

  /** True after {@link ModelPool.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Thread ids of the live workers. */
  get threadIds(): number[] {
    return this.#pool.threads.map((t) => t.threadId);
  }

  /**
   * Runs one task on a worker.
   *
   * @param task - a structured-clonable {@link PoolTask} naming its handler
   * @param options - abort signal
   * @returns the worker's reply
   * @throws {ModelError} E_POOL_CLOSED after close; E_WORKER_CRASHED when the worker died while
   *   holding the task, or when no worker thread is left and a new one fails to start; the
   *   signal's AbortError (tinypool's) when aborted
   */
  async run<R>(task: PoolTask, options: PoolRunOptions = {}): Promise<R> {
    if (this.#closed) throw poolClosed();
    this.#watchThreads();
    // Our own signal, so a run can be taken off tinypool's queue when no worker can start.
    const controller = new AbortController();
    let startFailure: { error: unknown } | undefined;
    const pending: PendingRun = {
      fail: (error) => {
        startFailure ??= { error };
        controller.abort();
      },
    };
    const onAbort = () => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted === true) controller.abort();
    this.#pending.add(pending);
    try {
      return (await this.#pool.run(task, { signal: controller.signal })) as R;
    } catch (error) {
      if (startFailure !== undefined) throw workerCrashed(startFailure.error);
      if (isAbortError(error)) throw error;
      if (this.#closed) throw poolClosed(error);
      throw workerCrashed(error);
    } finally {
      this.#pending.delete(pending);
      options.signal?.removeEventListener('abort', onAbort);
      // Replacement workers appear after crashes; watch them too.
      this.#watchThreads();
    }
  }

  /**
   * Destroys the pool: terminates every worker (releasing their models). Tasks still running
   * fail with E_POOL_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * Why rounds: when a worker reports an error while tinypool destroys the pool, tinypool's own
   * error handler "replaces" it (the pool's worker set is already empty, so it starts a whole
   * new set), and `destroy()` rejects with that worker's error without waiting for the others.
   * Each round therefore waits for the `exit` of every thread it saw, whatever `destroy()` did,
   * and the next round destroys whatever tinypool started meanwhile. Never rejects: nothing a
   * model does may make closing fail or, worse, throw where nobody can catch it.
   */
  async #shutdown(): Promise<void> {
    for (let round = 0; round < kMaxCloseRounds; round++) {
      this.#watchThreads();
      const threads = this.#pool.threads;
      if (round > 0 && threads.length === 0) return;
      const exits = threads.map((thread) => exitOf(thread));
      try {
        await this.#pool.destroy();
      } catch {
        // A worker's error during destroy (see above): its thread is ending anyway.
      }
      await Promise.all(exits);
      if (this.#pool.threads.length === 0) return;
    }
  }

  #watchThreads(): void {
    for (const thread of this.#pool.threads) {
      if (this.#watched.has(thread)) continue;
      this.#watched.add(thread);
      patchRemoveListener(thread);
      // Read now: a Worker's threadId is -1 once it has exited.
      const threadId = thread.threadId;
      thread.once('exit', (code: number) => {
        // A crashed or terminated worker never releases its shared artifacts itself.
        releaseThreadArtifacts(threadId);
        // A thread tinypool removed itself (abort, crash, destroy) is no longer listed; one that
        // is still listed ended on its own. Tell tinypool through the event it does handle.
        if (this.#pool.threads.includes(thread)) {
          thread.emit(
            'error',
            new Error(
              `${kWorkerExitMarker} worker thread ${thread.threadId} exited with code ${code}`
            )
          );
        }
      });
    }
  }
}

/** A run in flight, failed from outside when no worker thread can start. */
interface PendingRun {
  fail(error: unknown): void;
}

/** Rounds of {@link ModelPool.close}: each one destroys the workers tinypool started meanwhile. */
const kMaxCloseRounds = 5;

/** A tinypool thread wrapper (tinypool's `ThreadWorker`). */
type TinypoolThread = Tinypool['threads'][number];

/** The `Worker` a tinypool thread wrapper drives (its `thread` field), if it is one. */
function innerWorker(wrapper: TinypoolThread): Worker | undefined {
  const inner = (wrapper as unknown as { thread?: unknown }).thread;
  return inner instanceof Worker ? inner : undefined;
}

/**
 * Gives a tinypool thread wrapper the `removeListener`/`off` that `events.once` (used by
 * tinypool's `destroy()`) calls from its error listener; see the module comment.
 */
function patchRemoveListener(wrapper: TinypoolThread): void {
  const target = wrapper as unknown as Record<string, unknown>;
  const inner = innerWorker(wrapper);
  if (inner === undefined || typeof target['removeListener'] === 'function') return;
  const remove = (event: string, listener: (...args: unknown[]) => void): unknown => {
    inner.removeListener(event, listener);
    return wrapper;
  };
  target['removeListener'] = remove;
  target['off'] = remove;
}

/** Resolves once the wrapper's thread has exited (at once when it already has). */
function exitOf(wrapper: TinypoolThread): Promise<void> {
  const inner = innerWorker(wrapper);
  // A Worker's threadId is -1 once the thread no longer runs.
  if (inner === undefined || inner.threadId === -1) return Promise.resolve();
  return new Promise((resolve) => {
    inner.once('exit', () => resolve());
  });
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function poolClosed(cause?: unknown): ModelError {
  return new ModelError(
    'E_POOL_CLOSED',
    'The worker pool is closed',
    cause === undefined ? {} : { cause }
  );
}

function workerCrashed(cause: unknown): ModelError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ModelError(
    'E_WORKER_CRASHED',
    `A worker thread died while scoring a batch: ${reason}`,
    {
      cause,
      details: { reason },
    }
  );
}

function assertPositiveInt(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `${name} must be a positive integer, got ${String(value)}`,
      {
        details: { option: name, value: String(value) },
      }
    );
  }
}

/**
 * Creates a pool to share explicitly between UDFs (`sparkUdf(path, { pool })`); the caller
 * closes it. Most callers use the default pool instead.
 *
 * @param options - workers (default `os.availableParallelism()`), cache bounds, resource limits
 * @returns a started pool
 * @throws {ModelError} E_OPTION_INVALID for a bad worker count
 */
export function createPool(options: PoolOptions = {}): ModelPool {
  return new ModelPool(options);
}

const defaultPools = new Map<number, { pool: ModelPool; refs: number }>();

/**
 * Takes a reference on the process-wide default pool with `workers` threads, creating it on
 * first use. Pair every call with {@link releaseDefaultPool}.
 *
 * @param workers - thread count; default `os.availableParallelism()`
 * @returns the shared pool
 */
export function acquireDefaultPool(workers: number = availableParallelism()): ModelPool {
  let slot = defaultPools.get(workers);
  if (slot === undefined || slot.pool.closed) {
    slot = { pool: new ModelPool({ workers }), refs: 0 };
    defaultPools.set(workers, slot);
  }
  slot.refs++;
  return slot.pool;
}

/**
 * Drops a reference taken by {@link acquireDefaultPool}; the last one destroys the pool.
 *
 * @param pool - the pool returned by `acquireDefaultPool`
 */
export async function releaseDefaultPool(pool: ModelPool): Promise<void> {
  const slot = defaultPools.get(pool.workers);
  if (slot === undefined || slot.pool !== pool) return;
  slot.refs--;
  if (slot.refs > 0) return;
  defaultPools.delete(pool.workers);
  await pool.close();
}

/** Number of live default pools (for tests and diagnostics). */
export function defaultPoolCount(): number {
  return defaultPools.size;
}
