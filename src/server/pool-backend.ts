/**
 * The pool backend of `serve --workers W`: requests are scored on the same worker pool as
 * `sparkUdf` (each worker loads the model once), and the main thread only does HTTP.
 *
 * Threads: the main thread reads bodies into SharedArrayBuffers (`listen.ts`), queues them in a
 * {@link MicroBatcher} with W slots, and posts each batch's bodies to a worker as one task
 * (`serve-batch.ts`), through the UDF's `runTask` (its timeout, load timeout and worker
 * replacement). Parsing, enforcement, predict and formatting all happen in the worker, so the
 * event loop stays free: `/ping` answers while a model spins, a 504 is sent on time, and a
 * large body does not stall other requests while it is parsed.
 *
 * Start-up: every worker loads the model before the server listens (bounded by `loadTimeoutMs`,
 * not by the request timeout). A worker replaced later (after a crash or a cancelled batch)
 * loads it again within its first batch, which the request timeout then covers.
 *
 * Timeouts: the app answers 504 `timeoutMs` after a request arrived, whatever the worker does.
 * A request still queued then is dropped. A batch already running is not cancelled for it (its
 * other requests may still succeed); a batch that itself runs `timeoutMs` is cancelled: its
 * worker is terminated and replaced (and the model loaded again there). By then every request
 * in it had been waiting at least that long, so all of them have already been answered 504.
 *
 * Serve workers run at a slightly lower scheduling priority than the main thread (nice +5 on
 * Linux, `serve-batch.ts`): on saturated cores the event loop still answers at once.
 *
 * A worker that dies mid-task (model code calling `process.exit`, running out of heap) fails
 * the task; when the task held several requests they are each run again in their own task, so
 * the request that killed the worker fails alone.
 *
 * @module
 */
import { deserializeError, ModelError } from '../errors.js';
import { readMLmodel } from '../package/mlmodel.js';
import { compiledUrl } from '../pool/compiled-url.js';
import { createPool } from '../pool/pool.js';
import type { ModelSignature } from '../signature/types.js';
import { sparkUdf, udfInternals, type SparkUdf, type UdfInternals } from '../udf/spark-udf.js';
import type { WarnFn } from '../warnings.js';
import { emptyStats, type BackendStats, type CancelToken, type ScoringBackend } from './backend.js';
import type { Invocation, InvocationReply } from './invocation.js';
import { MicroBatcher, type BatchItem } from './micro-batcher.js';
import type { ServeBatchResult, ServeBatchTask, WireReply } from './serve-batch.js';

/** Options of {@link createPoolBackend} (validated by `serve`). */
export interface PoolBackendOptions {
  /** Worker threads. */
  workers: number;
  /** Most rows per predict call; a batch is sent once it holds this many. */
  maxBatchRows: number;
  /** Longest a queued request waits for others before its batch is sent to a free worker. */
  maxWaitUs: number;
  /** A task running longer is cancelled (its worker terminated); see the module comment. */
  timeoutMs: number;
  /** Longest a worker may spend loading the model. */
  loadTimeoutMs: number;
  /** Overrides of the saved model config. */
  modelConfig?: Record<string, unknown>;
  /** For `models:/` and `runs:/` URIs: the MLflow tracking URI (as `sparkUdf`). */
  trackingUri?: string;
  /** Where downloaded packages are cached (as `sparkUdf`). */
  cacheDir?: string;
  /** Receives warnings (from the workers: once per distinct message). */
  warn: WarnFn;
  /** Aborting it while the workers load the model fails the start-up with E_ABORTED. */
  signal?: AbortSignal;
}

/** A pool backend: a {@link ScoringBackend} that also names its package directory. */
export interface PoolBackend extends ScoringBackend {
  /** Absolute path of the model package. */
  readonly modelPath: string;
}

interface Pending extends BatchItem {
  invocation: Invocation;
  resolve(reply: InvocationReply): void;
}

/** Bytes per input row assumed before the first reply tells (a 10-column JSON row is ~250). */
const kInitialBytesPerRow = 64;

/** Longest the start-up tasks wait for each other to claim distinct workers. */
const kWarmClaimMs = 10_000;

let handlerHref: string | undefined;
function handlerUrl(): string {
  handlerHref ??= compiledUrl(new URL('./serve-batch.js', import.meta.url)).href;
  return handlerHref;
}

/**
 * Starts W workers, loads the model in each (before returning, so a broken package fails here
 * and the first requests do not pay the load), and returns the backend.
 *
 * @param modelPath - the package directory, or a model URI (resolved once, by `sparkUdf`)
 * @param options - see {@link PoolBackendOptions}
 * @returns the backend; `close()` terminates the workers
 * @throws {ModelError} E_OPTION_INVALID; E_MLMODEL_MISSING/E_MLMODEL_INVALID; any load error of
 *   the model in a worker (E_MODEL_IMPORT, E_MODEL_LOAD, E_LOAD_TIMEOUT); E_ABORTED when
 *   `signal` aborts first
 */
export async function createPoolBackend(
  modelPath: string,
  options: PoolBackendOptions
): Promise<PoolBackend> {
  const pool = createPool({ workers: options.workers });
  let udf: SparkUdf | undefined;
  try {
    udf = await sparkUdf(modelPath, {
      pool,
      // The serve handler returns the model's whole output, not a UDF result column: the
      // result type is never used, and naming one skips inferring it (and its warnings).
      resultType: 'double',
      timeoutMs: options.timeoutMs,
      loadTimeoutMs: options.loadTimeoutMs,
      ...(options.modelConfig !== undefined ? { modelConfig: options.modelConfig } : {}),
      ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      warn: options.warn,
    });
    const internals = udfInternals(udf);
    const metadata = await readMLmodel(udf.modelUri);
    // Start-up loads are bounded by loadTimeoutMs only, not by the per-request timeout: a
    // second UDF over the same pool and package (the same worker cache key), without timeoutMs.
    const warmUdf = await sparkUdf(udf.modelUri, {
      pool,
      resultType: 'double',
      loadTimeoutMs: options.loadTimeoutMs,
      ...(options.modelConfig !== undefined ? { modelConfig: options.modelConfig } : {}),
      warn: options.warn,
    });
    try {
      await abortable(warmUp(udfInternals(warmUdf), options), options.signal, udf.modelUri);
    } finally {
      await warmUdf.close({ cancel: true });
    }
    return new PoolBackendImpl(udf, internals, pool, metadata.signature, options);
  } catch (error) {
    await udf?.close({ cancel: true });
    await pool.close();
    throw error;
  }
}

/** Runs one start-up task per worker, each loading the model (see `claimWorker`). */
async function warmUp(internals: UdfInternals, options: PoolBackendOptions): Promise<void> {
  const barrier = new Int32Array(new SharedArrayBuffer(4));
  const task: Omit<ServeBatchTask, 'handler' | keyof UdfTaskFields> = {
    requests: [],
    maxBatchRows: options.maxBatchRows,
    warm: { barrier, workers: options.workers, waitMs: kWarmClaimMs },
  };
  const runs = Array.from({ length: options.workers }, () =>
    internals.runTask<ServeBatchResult>(handlerUrl(), task)
  );
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** The model fields `runTask` adds to every task. */
type UdfTaskFields = Omit<ServeBatchTask, 'requests' | 'maxBatchRows' | 'warm' | 'handler'>;

async function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  modelPath: string
): Promise<T> {
  if (signal === undefined) return work;
  const aborted = () =>
    ModelError.is(signal.reason)
      ? signal.reason
      : new ModelError(
          'E_ABORTED',
          `serve(${JSON.stringify(modelPath)}) was aborted while loading`,
          {
            cause: signal.reason,
          }
        );
  if (signal.aborted) throw aborted();
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** A body posted to a worker must live in shared memory (posting copies nothing then). */
function sharedBytes(body: Uint8Array): Uint8Array {
  if (body.buffer instanceof SharedArrayBuffer) return body;
  const copy = new Uint8Array(new SharedArrayBuffer(body.byteLength));
  copy.set(body);
  return copy;
}

function fromWire(reply: WireReply): InvocationReply {
  if (reply.ok) return reply;
  const out: InvocationReply = {
    ok: false,
    stage: reply.stage,
    error: deserializeError(reply.error),
  };
  if (reply.data !== undefined) out.data = reply.data;
  return out;
}

class PoolBackendImpl implements PoolBackend {
  readonly modelPath: string;
  readonly signature: ModelSignature | null;
  readonly #udf: SparkUdf;
  readonly #internals: UdfInternals;
  readonly #pool: { close(): Promise<void> };
  readonly #options: PoolBackendOptions;
  readonly #batcher: MicroBatcher<Pending>;
  readonly #stats: BackendStats;
  #bytes = 0;
  #rows = 0;
  #closing: Promise<void> | undefined;

  constructor(
    udf: SparkUdf,
    internals: UdfInternals,
    pool: { close(): Promise<void> },
    signature: ModelSignature | null,
    options: PoolBackendOptions
  ) {
    this.#udf = udf;
    this.#internals = internals;
    this.#pool = pool;
    this.#options = options;
    this.modelPath = udf.modelUri;
    this.signature = signature;
    this.#stats = emptyStats('pool', options.workers);
    this.#batcher = new MicroBatcher<Pending>(
      {
        slots: options.workers,
        maxBatchRows: options.maxBatchRows,
        maxWaitUs: options.maxWaitUs,
      },
      (batch) => this.#runBatch(batch)
    );
  }

  invoke(invocation: Invocation, token: CancelToken): Promise<InvocationReply> {
    this.#stats.requests++;
    if (this.#closing !== undefined) {
      return Promise.resolve({
        ok: false,
        stage: 'internal',
        error: new ModelError('E_POOL_CLOSED', 'The server is shutting down'),
      });
    }
    const body = sharedBytes(invocation.body);
    return new Promise<InvocationReply>((resolve) => {
      this.#batcher.push({
        invocation: { ...invocation, body },
        rows: this.#estimateRows(body.byteLength),
        get cancelled() {
          return token.cancelled;
        },
        resolve,
      });
    });
  }

  stats(): BackendStats {
    return { ...this.#stats };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#udf.close();
      await this.#pool.close();
    })();
    return this.#closing;
  }

  /** Rows a body of `bytes` holds, from the bytes per row seen so far. */
  #estimateRows(bytes: number): number {
    const perRow = this.#rows === 0 ? kInitialBytesPerRow : Math.max(1, this.#bytes / this.#rows);
    return Math.max(1, Math.round(bytes / perRow));
  }

  async #runBatch(batch: Pending[]): Promise<void> {
    this.#stats.tasks++;
    let value: ServeBatchResult;
    try {
      const reply = await this.#internals.runTask<ServeBatchResult>(handlerUrl(), {
        requests: batch.map((p) => p.invocation),
        maxBatchRows: this.#options.maxBatchRows,
      });
      value = reply.value;
    } catch (error) {
      if (batch.length > 1 && ModelError.is(error) && error.code === 'E_WORKER_CRASHED') {
        // Any of these requests may have killed the worker: alone, only that one fails.
        await Promise.all(batch.map((p) => this.#runBatch([p])));
        return;
      }
      for (const p of batch) p.resolve({ ok: false, stage: 'internal', error });
      return;
    }
    const s = this.#stats;
    s.predictCalls += value.predictCalls;
    s.mergedCalls += value.mergedCalls;
    s.mergedRequests += value.mergedRequests;
    s.maxRequestsPerCall = Math.max(s.maxRequestsPerCall, value.maxRequestsPerCall);
    batch.forEach((p, i) => {
      const reply = value.replies[i];
      if (reply === undefined) {
        p.resolve({
          ok: false,
          stage: 'internal',
          error: new ModelError('E_INTERNAL', 'A worker reply is missing a request'),
        });
        return;
      }
      if (reply.ok) {
        s.rows += reply.rows;
        this.#bytes += p.invocation.body.byteLength;
        this.#rows += reply.rows;
      }
      p.resolve(fromWire(reply));
    });
  }
}
