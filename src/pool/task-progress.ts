/**
 * A task's progress, shared between the caller (main thread) and the worker running it: a small
 * Int32Array over a SharedArrayBuffer that travels with the task (posting it copies nothing).
 *
 * Why a side channel and not the reply: the caller needs to know things while the task runs and
 * when no reply ever comes.
 * - Timeouts start when the work starts: the task timeout when the worker picks the task up (not
 *   while it waits behind other tasks), the load timeout when a model load starts (only a cache
 *   miss loads), and the load timeout stops when the load ends.
 * - A worker that dies after loading the model never replies, yet the load happened: the caller
 *   reads the completed load (and its duration and thread) from here to count it.
 *
 * The worker stores a slot and then notifies it (`Atomics.notify`); the caller waits with
 * `Atomics.waitAsync`, which never blocks its event loop. {@link watchTask}'s stop function
 * notifies every slot once more so that no waiter outlives the task.
 *
 * @module
 */

/** Slot: 1 once a worker has started the task. */
const STARTED = 0;
/** Slot: the model load state, one of {@link LoadState}. */
const LOAD = 1;
/** Slot: milliseconds the completed load took (rounded, clamped to int32). */
const LOAD_MS = 2;
/** Slot: `threadId` of the worker that started the task. */
const THREAD = 3;
const SLOTS = 4;

/** Values of the load slot. */
const LoadState = { none: 0, loading: 1, loaded: 2, failed: 3 } as const;

/** The shared progress array of one task (see the module comment). */
export type TaskProgress = Int32Array;

/**
 * Allocates the progress array of one task (every slot 0).
 *
 * @returns an Int32Array over a new SharedArrayBuffer
 */
export function createTaskProgress(): TaskProgress {
  return new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
}

function set(progress: TaskProgress, slot: number, value: number): void {
  Atomics.store(progress, slot, value);
  Atomics.notify(progress, slot);
}

/**
 * Worker side: the task has started on thread `threadId`.
 *
 * @param progress - the task's progress array
 * @param threadId - the worker's thread id
 */
export function markStarted(progress: TaskProgress, threadId: number): void {
  Atomics.store(progress, THREAD, threadId);
  set(progress, STARTED, 1);
}

/**
 * Worker side: a model load starts (a cache miss).
 *
 * @param progress - the task's progress array
 */
export function markLoading(progress: TaskProgress): void {
  set(progress, LOAD, LoadState.loading);
}

/**
 * Worker side: the model load ended.
 *
 * @param progress - the task's progress array
 * @param ok - whether the model loaded
 * @param ms - how long it took
 */
export function markLoadEnded(progress: TaskProgress, ok: boolean, ms: number): void {
  Atomics.store(progress, LOAD_MS, Math.min(2 ** 31 - 1, Math.max(0, Math.round(ms))));
  set(progress, LOAD, ok ? LoadState.loaded : LoadState.failed);
}

/**
 * Caller side: the load this task completed on its worker, if any (read after the task ended
 * without a reply, to count the load all the same).
 *
 * @param progress - the task's progress array
 * @returns the worker's thread id and the load's milliseconds, or null when no load completed
 */
export function completedLoad(progress: TaskProgress): { threadId: number; loadMs: number } | null {
  if (Atomics.load(progress, LOAD) !== LoadState.loaded) return null;
  return { threadId: Atomics.load(progress, THREAD), loadMs: Atomics.load(progress, LOAD_MS) };
}

/** Limits {@link watchTask} enforces; undefined or Infinity: none. */
export interface TaskLimits {
  /** Most milliseconds from the worker starting the task to its reply. */
  timeoutMs?: number;
  /** Most milliseconds from a model load starting to its end. */
  loadTimeoutMs?: number;
}

/** Which limit expired. */
export type ExpiredLimit = 'task' | 'load';

/**
 * Caller side: enforces `limits` on a running task, calling `onExpired` (at most once per
 * limit) when one passes. Call the returned function when the task has settled: it clears the
 * timers and releases the pending waits.
 *
 * @param progress - the task's progress array (posted with the task)
 * @param limits - the task and load timeouts
 * @param onExpired - called with the limit that expired; typically aborts the task
 * @returns stop
 */
export function watchTask(
  progress: TaskProgress,
  limits: TaskLimits,
  onExpired: (limit: ExpiredLimit) => void
): () => void {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const isStopped = () => stopped;
  const arm = (ms: number, limit: ExpiredLimit): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) onExpired(limit);
    }, ms);
    timers.add(timer);
    return timer;
  };
  const { timeoutMs, loadTimeoutMs } = limits;
  if (isLimit(timeoutMs)) {
    void whenChanged(progress, STARTED, 0, isStopped).then((changed) => {
      if (changed && !stopped) arm(timeoutMs, 'task');
    });
  }
  if (isLimit(loadTimeoutMs)) {
    void (async () => {
      if (!(await whenChanged(progress, LOAD, LoadState.none, isStopped))) return;
      if (stopped || Atomics.load(progress, LOAD) !== LoadState.loading) return;
      const timer = arm(loadTimeoutMs, 'load');
      await whenChanged(progress, LOAD, LoadState.loading, isStopped);
      clearTimeout(timer);
      timers.delete(timer);
    })();
  }
  return () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    // Wake the pending waitAsync calls so that they see `stopped` and end.
    Atomics.notify(progress, STARTED);
    Atomics.notify(progress, LOAD);
  };
}

function isLimit(ms: number | undefined): ms is number {
  return ms !== undefined && Number.isFinite(ms);
}

/**
 * Resolves true once `progress[slot]` differs from `value`, or false once `stopped()` is true
 * (checked whenever the slot is notified).
 */
async function whenChanged(
  progress: TaskProgress,
  slot: number,
  value: number,
  stopped: () => boolean
): Promise<boolean> {
  for (;;) {
    if (stopped()) return false;
    if (Atomics.load(progress, slot) !== value) return true;
    const wait = waitAsync(progress, slot, value);
    if (!wait.async) return !stopped();
    await wait.value;
  }
}

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
// Node 20 has Atomics.waitAsync (V8); TypeScript's ES2023 lib does not declare it.
const waitAsync = (
  Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): WaitAsyncResult }
).waitAsync;
