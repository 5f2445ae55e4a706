/**
 * The model load timeout: its default, its validation, and the in-process form used where a
 * model is loaded on the calling thread (`jsfunc predict`, `serve`). Worker loads (`sparkUdf`,
 * `jsfunc score`) are timed by the caller through the task's progress array instead
 * (`task-progress.ts`), and a worker over the limit is terminated.
 *
 * Why a timeout at all: a load that never finishes (a `loadContext` awaiting something that
 * never comes) otherwise leaves nothing pending, and Node ends a CLI with its "unsettled
 * top-level await" status 13, which is also E_SIGNATURE_INVALID's exit status, and prints
 * nothing. The limit is generous by default: loading a large model from a slow disk is normal.
 *
 * In process, the limit can only fire while the load yields: a load that blocks the thread
 * (a synchronous endless loop) cannot be interrupted there. Worker loads can.
 *
 * @module
 */
import { ModelError } from '../errors.js';

/** The default load timeout: 120000 ms (2 minutes). */
export const kDefaultLoadTimeoutMs = 120_000;

/** The largest finite timeout `setTimeout` honours (larger ones fire at once). */
const kMaxTimerMs = 2 ** 31 - 1;

/**
 * Validates a load timeout option.
 *
 * @param value - the option's value; undefined means the default
 * @param option - its name, for the message (e.g. `options.loadTimeoutMs`)
 * @returns the timeout in ms ({@link kDefaultLoadTimeoutMs} when undefined; Infinity: none)
 * @throws {ModelError} E_OPTION_INVALID unless a positive number of milliseconds up to
 *   2147483647, or Infinity
 */
export function checkLoadTimeoutMs(value: unknown, option: string): number {
  if (value === undefined) return kDefaultLoadTimeoutMs;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !(value > 0) || value > kMaxTimerMs) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `${option} must be a positive number of milliseconds up to ${kMaxTimerMs}, or Infinity for no limit, got ${String(value)}`,
      { details: { option, value: String(value) } }
    );
  }
  return value;
}

/** Options of {@link withLoadTimeout}. */
export interface LoadTimeoutOptions<T> {
  /** The package being loaded, for the message. */
  modelPath: string;
  /** The limit in ms; Infinity: none. */
  loadTimeoutMs: number;
  /** Stops waiting: rejects with the signal's reason when it is an Error, else E_ABORTED. */
  signal?: AbortSignal;
  /**
   * Releases a value that arrives after the caller gave up (timeout or abort), e.g. closes the
   * late model. Errors are ignored.
   */
  release?: (value: T) => unknown;
}

/**
 * Waits for an in-process load, at most `loadTimeoutMs`. The load itself cannot be cancelled:
 * when the caller gives up, a model that still arrives later is released.
 *
 * @param loading - the load (e.g. `loadModel(path, options)`)
 * @param options - see {@link LoadTimeoutOptions}
 * @returns the loaded value
 * @throws {ModelError} E_LOAD_TIMEOUT when the limit passes first; the signal's reason (or
 *   E_ABORTED) when it aborts first; whatever the load throws
 */
export function withLoadTimeout<T>(
  loading: Promise<T>,
  options: LoadTimeoutOptions<T>
): Promise<T> {
  const { modelPath, loadTimeoutMs, signal, release } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const giveUp = (error: unknown) => {
      if (!settle()) return;
      reject(error);
      // The load goes on; release what it brings, since nobody will use it.
      loading.then(
        (value) => {
          try {
            void Promise.resolve(release?.(value)).catch(() => undefined);
          } catch {
            // a failing release of a model nobody waits for
          }
        },
        () => undefined
      );
    };
    const onAbort = () => giveUp(abortReason(signal, modelPath));
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (Number.isFinite(loadTimeoutMs)) {
      timer = setTimeout(
        () =>
          giveUp(
            new ModelError(
              'E_LOAD_TIMEOUT',
              `Loading the model ${modelPath} took longer than ${loadTimeoutMs} ms (the load timeout; raise it with --load-timeout-ms or options.loadTimeoutMs)`,
              { details: { modelPath, loadTimeoutMs } }
            )
          ),
        loadTimeoutMs
      );
    }
    loading.then(
      (value) => {
        if (settle()) resolve(value);
      },
      (error: unknown) => {
        if (settle()) reject(error);
      }
    );
  });
}

function abortReason(signal: AbortSignal | undefined, modelPath: string): unknown {
  const reason: unknown = signal?.reason;
  if (ModelError.is(reason)) return reason;
  return new ModelError('E_ABORTED', `Loading the model ${modelPath} was aborted`, {
    cause: reason,
  });
}
