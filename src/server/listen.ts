/**
 * `serve`: MLflow's `mlflow models serve` for jsfunc packages. Loads the model once, then
 * answers the scoring protocol of `app.ts` over node:http.
 *
 * Two modes: by default the model runs on the main thread (one predict per request, the
 * fastest for trivial models); with `workers: W` it runs on W worker threads, concurrent
 * requests merged into batches (`pool-backend.ts`), and the main thread only does HTTP.
 *
 * Bodies are read whole (MLflow's server does the same) under two bounds:
 * - `maxBodyBytes` per request: a `Content-Length` or streamed size over it gets 413 and the
 *   connection is closed;
 * - `maxBufferedBytes` over all requests at once: a body is counted from the moment its reading
 *   starts until its response has been sent (the body and what is parsed from it live that
 *   long). A request that would take the total over the bound gets 503 with `Retry-After`
 *   without its body being read (the connection is closed), so a burst of large bodies cannot
 *   exhaust memory. A single body larger than the bound itself gets 413.
 *
 * The model load has a time limit (`loadTimeoutMs`, default 2 minutes, E_LOAD_TIMEOUT), and error
 * bodies carry no stack traces unless `debugErrors` is set (they go to `log`).
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelError } from '../errors.js';
import { loadModel } from '../package/load-model.js';
import {
  checkLoadTimeoutMs,
  kDefaultLoadTimeoutMs,
  withLoadTimeout,
} from '../pool/load-timeout.js';
import { releaseModel } from '../pool/model-cache.js';
import type { LoadedModel } from '../package/types.js';
import type { ModelSignature } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import {
  checkTimeoutMs,
  createScoringApp,
  errorResponse,
  type ScoringApp,
  type ScoringResponse,
} from './app.js';
import type { BackendStats, ScoringBackend } from './backend.js';
import { mainThreadBackend } from './main-thread-backend.js';
import { createPoolBackend } from './pool-backend.js';

/** Options for {@link serve}. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one. Default 5000 (`mlflow models serve`). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1` (`mlflow models serve`). */
  host?: string;
  /**
   * Per-request time limit before a 504 answer. Default 60000 (MLflow's 60 s). With workers the
   * 504 leaves on time even while a synchronous model runs: a queued request is withdrawn, a
   * running batch keeps running for its other requests (the late result is dropped), and a
   * batch that itself runs this long is cancelled (its worker terminated and replaced; every
   * request in it has had its 504 by then). Without workers a synchronous predict holds the
   * event loop: its answer leaves when it returns; an asynchronous one keeps running and its
   * result is dropped.
   */
  timeoutMs?: number;
  /** Overrides for the saved model config, as in `loadModel`. Default none. */
  modelConfig?: Readonly<Record<string, unknown>>;
  /**
   * For `models:/` and `runs:/` URIs: the MLflow tracking URI, as in `loadModel`. Default
   * `MLFLOW_TRACKING_URI`, else `./mlruns`.
   */
  trackingUri?: string;
  /** Where downloaded packages are cached, as in `loadModel`. Default `JSFUNC_CACHE_DIR`. */
  cacheDir?: string;
  /** Largest accepted request body in bytes; larger ones get 413. Default 100 MiB. */
  maxBodyBytes?: number;
  /**
   * Most bytes of request bodies held at once, over all requests (from the start of reading a
   * body to the end of its response); beyond it requests get 503 with `Retry-After` without
   * their body being read. Default 256 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Worker threads that score requests (the `sparkUdf` pool, the model loaded once in each).
   * 0: predict on the main thread, one call per request (MLflow's model). Default 0.
   */
  workers?: number;
  /**
   * With workers: a batch is sent to a free worker once it holds this many rows, and a predict
   * call never gets more (a single larger request is scored alone). 1 never merges requests.
   * Default 1024.
   */
  maxBatchRows?: number;
  /**
   * With workers: longest a queued request waits for others before its batch goes to a free
   * worker, in microseconds (rounded up to whole milliseconds). 0: at once; requests merge
   * only while every worker is busy (or when they arrive together). Default 0.
   */
  maxWaitUs?: number;
  /** Receives load-time and per-request warnings. Default {@link defaultWarn}. */
  warn?: WarnFn;
  /**
   * Most milliseconds loading the model may take before `serve` fails with E_LOAD_TIMEOUT.
   * `Infinity`: no limit. Default 120000 (see `pool/load-timeout.ts`).
   */
  loadTimeoutMs?: number;
  /**
   * Send stack traces in error bodies (`stack_trace`, as MLflow does). They name the server's
   * files and install paths: for debugging only. Default false: they only go to `log`.
   */
  debugErrors?: boolean;
  /** The server log (stack traces of error answers). Default: stderr. */
  log?: (text: string) => void;
  /** Aborting it closes the server, like calling `close()` (wire SIGINT to it). Default none. */
  signal?: AbortSignal;
  /**
   * On close, how long in-flight requests may take before their connections are cut.
   * Default 10000.
   */
  closeGraceMs?: number;
}

/** Defaults of {@link ServeOptions}. */
export const kDefaultServeOptions = {
  port: 5000,
  host: '127.0.0.1',
  timeoutMs: 60_000,
  maxBodyBytes: 100 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  workers: 0,
  maxBatchRows: 1024,
  maxWaitUs: 0,
  closeGraceMs: 10_000,
  loadTimeoutMs: kDefaultLoadTimeoutMs,
  debugErrors: false,
} as const;

/** A running scoring server. */
export interface ScoringServer {
  /** Base URL, e.g. `http://127.0.0.1:5000`. */
  readonly url: string;
  /** The bound port (the real one when `port` was 0). */
  readonly port: number;
  /** The model loaded on the main thread; null with workers (each worker loads its own). */
  readonly model: LoadedModel | null;
  /** The model's signature. */
  readonly signature: ModelSignature | null;
  /** Worker threads scoring requests (0: the main thread). */
  readonly workers: number;
  /** Counters since start: requests, pool tasks, predict calls, merged calls, rows. */
  stats(): BackendStats;
  /**
   * Stops accepting connections, closes idle keep-alive ones, lets in-flight requests finish
   * (cut after `closeGraceMs`), then stops the workers. Idempotent.
   * @returns resolves once the server is closed
   */
  close(): Promise<void>;
}

function optionError(option: string, expected: string, found: unknown): ModelError {
  return new ModelError(
    'E_OPTION_INVALID',
    `options.${option} must be ${expected}, found ${typeof found === 'string' ? JSON.stringify(found) : String(found)}`,
    { details: { option } }
  );
}

function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(option, `an integer from ${min} to ${max}`, value);
  }
}

/** A request body over the server's byte limit (answered with 413). */
export class BodyTooLargeError extends ModelError {
  constructor(
    readonly limit: number,
    option: 'maxBodyBytes' | 'maxBufferedBytes' = 'maxBodyBytes'
  ) {
    super('E_INPUT_INVALID', `The request body is larger than the server limit of ${limit} bytes`, {
      details: { [option]: limit },
    });
  }
}

/**
 * Bodies would pass `maxBufferedBytes` together (answered with 503). Not a ModelError: the
 * request is fine, the server is busy.
 */
export class BufferBudgetExceeded extends Error {
  constructor(
    readonly limit: number,
    readonly held: number
  ) {
    super(
      `The server is holding ${held} bytes of request bodies and its limit is ${limit} ` +
        '(maxBufferedBytes); retry later'
    );
  }

  override get name(): string {
    return 'BufferBudgetExceeded';
  }
}

/**
 * The `maxBufferedBytes` account: bytes of request bodies held right now, over all requests.
 * Single-threaded (the event loop): no locking.
 */
export class BodyBudget {
  #held = 0;

  /** @param limit - most bytes held at once */
  constructor(readonly limit: number) {}

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes `bytes` from the budget.
   * @param bytes - the amount
   * @throws {BufferBudgetExceeded} when the total would pass the limit (nothing is taken)
   */
  take(bytes: number): void {
    if (this.#held + bytes > this.limit) throw new BufferBudgetExceeded(this.limit, this.#held);
    this.#held += bytes;
  }

  /** Gives `bytes` back. */
  give(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /**
   * Read into shared memory (a `SharedArrayBuffer`), so a worker can be handed the body
   * without a copy. Default false.
   */
  shared?: boolean;
  /** Called with each chunk's size before it is kept; throwing stops reading. Default none. */
  onChunk?: (bytes: number) => void;
}

/**
 * Reads a request body whole, failing fast once it passes `maxBytes` (or when its
 * `Content-Length` already does).
 *
 * @param req - the request stream (an `IncomingMessage`, or any byte stream with `headers`)
 * @param maxBytes - the limit in bytes
 * @param options - shared memory, per-chunk accounting; default neither
 * @returns the body
 * @throws {ModelError} E_INPUT_INVALID (a {@link BodyTooLargeError}) when the body is larger
 *   than `maxBytes`; whatever `onChunk` throws
 */
export async function readBody(
  req: AsyncIterable<Uint8Array | string> & {
    headers: Readonly<Record<string, string | string[] | undefined>>;
  },
  maxBytes: number,
  options: ReadBodyOptions = {}
): Promise<Buffer> {
  const body = new BodyCollector(
    declaredLength(req.headers),
    maxBytes,
    options.shared === true,
    options.onChunk
  );
  for await (const chunk of req) {
    body.add(
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    );
  }
  return body.finish();
}

/**
 * The body's `Content-Length`, when it declares a usable one.
 *
 * @param headers - the request headers
 * @returns the declared length, or null
 */
function declaredLength(
  headers: Readonly<Record<string, string | string[] | undefined>>
): number | null {
  const declared = Number(headers['content-length']);
  return headers['content-length'] !== undefined && Number.isSafeInteger(declared)
    ? declared
    : null;
}

/**
 * A body read whole under a size limit, shared by {@link readBody} (async iterator) and the
 * request listener's event-based reader: with shared memory and a declared length, chunks are
 * copied straight into their place; otherwise they are kept and joined at the end.
 */
class BodyCollector {
  #target: Buffer | null;
  readonly #chunks: Buffer[] = [];
  #size = 0;

  /**
   * @param declared - the declared length (null: none)
   * @param maxBytes - the limit in bytes
   * @param shared - read into a `SharedArrayBuffer`
   * @param onChunk - called with each chunk's size before it is kept
   * @throws {BodyTooLargeError} when the declared length is already over `maxBytes`
   */
  constructor(
    declared: number | null,
    readonly maxBytes: number,
    readonly shared: boolean,
    readonly onChunk: ((bytes: number) => void) | undefined
  ) {
    if (declared !== null && declared > maxBytes) throw new BodyTooLargeError(maxBytes);
    this.#target =
      shared && declared !== null && declared >= 0
        ? Buffer.from(new SharedArrayBuffer(declared))
        : null;
  }

  /**
   * Keeps the next chunk.
   *
   * @throws {BodyTooLargeError} when the body passes `maxBytes`; whatever `onChunk` throws
   */
  add(buf: Buffer): void {
    if (this.#size + buf.length > this.maxBytes) throw new BodyTooLargeError(this.maxBytes);
    this.onChunk?.(buf.length);
    const target = this.#target;
    if (target !== null && this.#size + buf.length > target.length) {
      // More than the declared length (not from node:http, which enforces it): collect instead.
      this.#chunks.push(target.subarray(0, this.#size));
      this.#target = null;
    }
    if (this.#target !== null) buf.copy(this.#target, this.#size);
    else this.#chunks.push(buf);
    this.#size += buf.length;
  }

  /** @returns the body: its own memory, shared when asked for */
  finish(): Buffer {
    const size = this.#size;
    const chunks = this.#chunks;
    if (this.#target !== null) return this.#target.subarray(0, size);
    if (!this.shared) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    const out = Buffer.from(new SharedArrayBuffer(size));
    let at = 0;
    for (const c of chunks) {
      c.copy(out, at);
      at += c.length;
    }
    return out;
  }
}

/** Options of {@link createRequestListener}. */
export interface RequestListenerOptions {
  /** Largest accepted body. Default 100 MiB. */
  maxBodyBytes?: number;
  /** Most body bytes held at once over all requests. Default 256 MiB. */
  maxBufferedBytes?: number;
  /** Read bodies into shared memory (for the pool). Default false. */
  shared?: boolean;
}

/**
 * Wraps a scoring app as a node:http request listener.
 *
 * @param app - the app from `createScoringApp`
 * @param options - body bounds and shared memory; a number is `maxBodyBytes` (older form);
 *   defaults 100 MiB per body, 256 MiB held at once
 * @returns a listener for `http.createServer`
 */
export function createRequestListener(
  app: ScoringApp,
  options: RequestListenerOptions | number = {}
): (req: IncomingMessage, res: ServerResponse) => void {
  const opts = typeof options === 'number' ? { maxBodyBytes: options } : options;
  const maxBodyBytes = opts.maxBodyBytes ?? kDefaultServeOptions.maxBodyBytes;
  const budget = new BodyBudget(opts.maxBufferedBytes ?? kDefaultServeOptions.maxBufferedBytes);
  // A body larger than the whole budget could never be taken: it is too large, not "later".
  const perBody = Math.min(maxBodyBytes, budget.limit);
  const limitName = perBody < maxBodyBytes ? 'maxBufferedBytes' : 'maxBodyBytes';
  const shared = opts.shared === true;
  return (req, res) => {
    let held = 0;
    const release = () => {
      budget.give(held);
      held = 0;
    };
    const declared = declaredLength(req.headers);
    const known = declared !== null;
    // Only a request with a body holds budget. A response always emits 'close' (after 'finish',
    // or when its connection goes), so one listener releases it.
    if (known ? declared > 0 : req.headers['transfer-encoding'] !== undefined) {
      res.once('close', release);
    }
    const fail = () => {
      // Only a failing socket write gets here (the app never rejects): no details to send.
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const out = errorResponse(500, {
        error_code: 'INTERNAL_ERROR',
        message: 'Internal error while handling the request',
      });
      res.writeHead(out.status, out.headers).end(out.body);
    };
    const answer = (out: ScoringResponse) => {
      if (res.headersSent) return;
      const payload =
        typeof out.body === 'string'
          ? out.body
          : Buffer.from(out.body.buffer, out.body.byteOffset, out.body.byteLength);
      res.writeHead(out.status, out.headers).end(payload);
    };
    try {
      if (known && declared > perBody) throw new BodyTooLargeError(perBody, limitName);
      if (known && declared > 0) {
        budget.take(declared);
        held = declared;
      }
    } catch (e) {
      try {
        rejectBody(e, req, res, limitName);
      } catch {
        fail();
      }
      return;
    }
    readRequestBody(
      req,
      declared,
      perBody,
      shared,
      // Bodies without a Content-Length are counted as they arrive.
      known
        ? undefined
        : (n) => {
            budget.take(n);
            held += n;
          }
    )
      .then(
        (body) =>
          app
            .handle({
              method: req.method ?? 'GET',
              url: req.url ?? '/',
              headers: req.headers,
              body,
            })
            .then(answer),
        (e: unknown) => rejectBody(e, req, res, limitName)
      )
      .catch(fail);
  };
}

/**
 * {@link readBody} for a node:http request, with stream events instead of an async iterator
 * (no iterator, fewer promises per request; the same results and errors). As the iterator
 * does, a body that fails (too large, `onChunk` throws) destroys the request stream.
 * `declared` is the request's {@link declaredLength}, which the listener has already read.
 */
function readRequestBody(
  req: IncomingMessage,
  declared: number | null,
  maxBytes: number,
  shared: boolean,
  onChunk: ((bytes: number) => void) | undefined
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let body: BodyCollector;
    try {
      body = new BodyCollector(declared, maxBytes, shared, onChunk);
    } catch (e) {
      reject(e);
      return;
    }
    let settled = false;
    const cleanup = () => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (e: unknown) => {
      if (settled) return;
      cleanup();
      reject(e);
    };
    const onData = (chunk: Buffer | string) => {
      if (settled) return;
      try {
        body.add(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (e) {
        fail(e);
        req.destroy();
      }
    };
    const onEnd = () => {
      if (settled) return;
      cleanup();
      resolve(body.finish());
    };
    const onError = (e: unknown) => fail(e);
    const onClose = () => {
      // 'close' before 'end' (the async iterator reports the same as a premature close).
      const e = new Error('Premature close') as NodeJS.ErrnoException;
      e.code = 'ERR_STREAM_PREMATURE_CLOSE';
      fail(e);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** 413, 503 (with Retry-After) or 400 for a body that was not read; the connection closes. */
function rejectBody(
  e: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  limitName: string
): void {
  let out;
  if (e instanceof BufferBudgetExceeded) {
    out = errorResponse(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: e.message });
    out.headers['retry-after'] = '1';
  } else if (e instanceof BodyTooLargeError) {
    out = errorResponse(413, {
      error_code: 'BAD_REQUEST',
      message: `${e.message} (${limitName})`,
      jsfunc_code: 'E_INPUT_INVALID',
    });
  } else {
    out = errorResponse(400, {
      error_code: 'BAD_REQUEST',
      message: `Failed to read the request body: ${String(e)}`,
      jsfunc_code: 'E_INPUT_INVALID',
    });
  }
  // The rest of the body is not read: close the connection rather than reuse it.
  res.writeHead(out.status, { ...out.headers, connection: 'close' }).end(out.body);
  req.resume();
}

/**
 * Loads a model package and serves MLflow's scoring protocol for it: `GET /ping`, `/health`,
 * `/version` and `POST /invocations`.
 *
 * @param modelPath - the package directory (or its MLmodel file), or a model URI (`models:/...`,
 *   `runs:/...`)
 * @param options - see {@link ServeOptions}; defaults: port 5000, host 127.0.0.1, timeout 60 s,
 *   body limit 100 MiB, 256 MiB of bodies held at once, predict on the main thread
 * @returns the running server; call `close()` to stop it
 * @throws {ModelError} E_OPTION_INVALID for a bad option or when the port cannot be bound;
 *   E_ABORTED when `signal` is already aborted (or aborts while loading: the signal's reason
 *   when it is a ModelError); E_LOAD_TIMEOUT when loading takes longer than `loadTimeoutMs`;
 *   any `loadModel` error (E_MLMODEL_MISSING, E_MODEL_IMPORT, E_MODEL_LOAD, ...), with workers
 *   as raised by the first worker that failed to load
 * @example
 * ```ts
 * const server = await serve('out/mlp', { port: 0, workers: 2 });
 * const res = await fetch(`${server.url}/invocations`, {
 *   method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ inputs: { x0: [1] } }),
 * });
 * await server.close();
 * ```
 */
export async function serve(modelPath: string, options: ServeOptions = {}): Promise<ScoringServer> {
  const port = options.port ?? kDefaultServeOptions.port;
  const host = options.host ?? kDefaultServeOptions.host;
  const maxBodyBytes = options.maxBodyBytes ?? kDefaultServeOptions.maxBodyBytes;
  const maxBufferedBytes = options.maxBufferedBytes ?? kDefaultServeOptions.maxBufferedBytes;
  const workers = options.workers ?? kDefaultServeOptions.workers;
  const maxBatchRows = options.maxBatchRows ?? kDefaultServeOptions.maxBatchRows;
  const maxWaitUs = options.maxWaitUs ?? kDefaultServeOptions.maxWaitUs;
  const closeGraceMs = options.closeGraceMs ?? kDefaultServeOptions.closeGraceMs;
  const warn = options.warn ?? defaultWarn;
  checkInteger('port', port, 0, 65535);
  if (typeof host !== 'string' || host === '')
    throw optionError('host', 'a host name or address', host);
  checkInteger('maxBodyBytes', maxBodyBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('maxBufferedBytes', maxBufferedBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('workers', workers, 0, 1024);
  checkInteger('maxBatchRows', maxBatchRows, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('maxWaitUs', maxWaitUs, 0, 60_000_000);
  checkInteger('closeGraceMs', closeGraceMs, 0, 2 ** 31 - 1);
  const timeoutMs = checkTimeoutMs(options.timeoutMs);
  const loadTimeoutMs = checkLoadTimeoutMs(options.loadTimeoutMs, 'options.loadTimeoutMs');
  const aborted = () =>
    new ModelError('E_ABORTED', `serve(${JSON.stringify(modelPath)}) was aborted before listening`);
  if (options.signal?.aborted === true) throw aborted();

  const modelLocation = {
    ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
  };
  let model: LoadedModel | null = null;
  let backend: ScoringBackend;
  if (workers === 0) {
    model = await withLoadTimeout(
      loadModel(modelPath, { modelConfig: options.modelConfig, warn, ...modelLocation }),
      {
        modelPath,
        loadTimeoutMs,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        release: releaseModel,
      }
    );
    backend = mainThreadBackend(model, warn);
  } else {
    backend = await createPoolBackend(modelPath, {
      workers,
      maxBatchRows,
      maxWaitUs,
      timeoutMs,
      loadTimeoutMs,
      warn,
      ...modelLocation,
      ...(options.modelConfig !== undefined
        ? { modelConfig: options.modelConfig as Record<string, unknown> }
        : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  }
  const app = createScoringApp(backend, {
    timeoutMs,
    debugErrors: options.debugErrors === true,
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
  const server = createServer(
    createRequestListener(app, { maxBodyBytes, maxBufferedBytes, shared: workers > 0 })
  );

  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(
          new ModelError('E_OPTION_INVALID', `Cannot listen on ${host}:${port}: ${e.message}`, {
            details: { option: 'port', host, port, errno: e.code },
            cause: e,
          })
        );
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  } catch (error) {
    await backend.close();
    throw error;
  }

  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      // In-flight requests finish; keep-alive sockets idle right now would hold close() open.
      const grace = setTimeout(() => server.closeAllConnections(), closeGraceMs);
      grace.unref();
      server.close(() => {
        clearTimeout(grace);
        resolve();
      });
      server.closeIdleConnections();
    }).then(() => backend.close());
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    model,
    signature: backend.signature,
    workers,
    stats: () => backend.stats(),
    close,
  };
}
