/**
 * `serve`: MLflow's `mlflow models serve` for jsfunc packages. Loads the model once, then
 * answers the scoring protocol of `app.ts` over node:http.
 *
 * The body is read whole (MLflow's server does the same) under a byte limit: a request whose
 * `Content-Length` or streamed size passes it gets 413 and the connection is closed.
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
import { defaultWarn, type WarnFn } from '../warnings.js';
import { checkTimeoutMs, createScoringApp, errorResponse, type ScoringApp } from './app.js';

/** Options for {@link serve}. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one. Default 5000 (`mlflow models serve`). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1` (`mlflow models serve`). */
  host?: string;
  /** Per-request time limit before a 504 answer. Default 60000 (MLflow's 60 s). */
  timeoutMs?: number;
  /** Overrides for the saved model config, as in `loadModel`. Default none. */
  modelConfig?: Readonly<Record<string, unknown>>;
  /** Largest accepted request body in bytes; larger ones get 413. Default 100 MiB. */
  maxBodyBytes?: number;
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
  /** The loaded model. */
  readonly model: LoadedModel;
  /**
   * Stops accepting connections, closes idle keep-alive ones, lets in-flight requests finish
   * (cut after `closeGraceMs`). Idempotent.
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
  constructor(readonly limit: number) {
    super('E_INPUT_INVALID', `The request body is larger than the server limit of ${limit} bytes`, {
      details: { maxBodyBytes: limit },
    });
  }
}

/**
 * Reads a request body whole, failing fast once it passes `maxBytes` (or when its
 * `Content-Length` already does).
 *
 * @param req - the request stream (an `IncomingMessage`, or any byte stream with `headers`)
 * @param maxBytes - the limit in bytes
 * @returns the body
 * @throws {ModelError} E_INPUT_INVALID (a {@link BodyTooLargeError}) when the body is larger
 *   than `maxBytes`
 */
export async function readBody(
  req: AsyncIterable<Uint8Array | string> & {
    headers: Readonly<Record<string, string | string[] | undefined>>;
  },
  maxBytes: number
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Wraps a scoring app as a node:http request listener.
 *
 * @param app - the app from `createScoringApp`
 * @param maxBodyBytes - largest accepted body; default 100 MiB
 * @returns a listener for `http.createServer`
 */
export function createRequestListener(
  app: ScoringApp,
  maxBodyBytes: number = kDefaultServeOptions.maxBodyBytes
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (e) {
        const tooLarge = e instanceof BodyTooLargeError;
        const out = errorResponse(tooLarge ? 413 : 400, {
          error_code: 'BAD_REQUEST',
          message: tooLarge ? e.message : `Failed to read the request body: ${String(e)}`,
          jsfunc_code: 'E_INPUT_INVALID',
        });
        // The rest of the body is not read: close the connection rather than reuse it.
        res.writeHead(out.status, { ...out.headers, connection: 'close' }).end(out.body);
        req.resume();
        return;
      }
      const out = await app.handle({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
      });
      if (!res.headersSent) res.writeHead(out.status, out.headers).end(out.body);
    })().catch(() => {
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
    });
  };
}

/**
 * Loads a model package and serves MLflow's scoring protocol for it: `GET /ping`, `/health`,
 * `/version` and `POST /invocations`.
 *
 * @param modelPath - the package directory (or its MLmodel file)
 * @param options - see {@link ServeOptions}; defaults: port 5000, host 127.0.0.1, timeout 60 s,
 *   body limit 100 MiB
 * @returns the running server; call `close()` to stop it
 * @throws {ModelError} E_OPTION_INVALID for a bad option or when the port cannot be bound;
 *   E_ABORTED when `signal` is already aborted (or aborts while loading: the signal's reason
 *   when it is a ModelError); E_LOAD_TIMEOUT when loading takes longer than `loadTimeoutMs`;
 *   any `loadModel` error (E_MLMODEL_MISSING, E_MODEL_IMPORT, E_MODEL_LOAD, ...)
 * @example
 * ```ts
 * const server = await serve('out/linear', { port: 0 });
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
  const closeGraceMs = options.closeGraceMs ?? kDefaultServeOptions.closeGraceMs;
  const warn = options.warn ?? defaultWarn;
  checkInteger('port', port, 0, 65535);
  if (typeof host !== 'string' || host === '')
    throw optionError('host', 'a host name or address', host);
  checkInteger('maxBodyBytes', maxBodyBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('closeGraceMs', closeGraceMs, 0, 2 ** 31 - 1);
  const timeoutMs = checkTimeoutMs(options.timeoutMs);
  const loadTimeoutMs = checkLoadTimeoutMs(options.loadTimeoutMs, 'options.loadTimeoutMs');
  const aborted = () =>
    new ModelError('E_ABORTED', `serve(${JSON.stringify(modelPath)}) was aborted before listening`);
  if (options.signal?.aborted === true) throw aborted();

  const model = await withLoadTimeout(
    loadModel(modelPath, { modelConfig: options.modelConfig, warn }),
    {
      modelPath,
      loadTimeoutMs,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      release: releaseModel,
    }
  );
  const app = createScoringApp(model, {
    timeoutMs,
    warn,
    debugErrors: options.debugErrors === true,
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
  const server = createServer(createRequestListener(app, maxBodyBytes));

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
    });
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  return { url: `http://${urlHost}:${address.port}`, port: address.port, model, close };
}
