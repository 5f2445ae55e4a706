/**
 * MLflow's scoring-server protocol (`mlflow/pyfunc/scoring_server`) as a pure
 * request -> response function, so it is testable without sockets and mountable on any HTTP
 * front end (`listen.ts` wires it to node:http).
 *
 * Routes: `GET /ping` and `GET /health` answer 200 `"\n"`, `GET /version` the jsfunc version,
 * `POST /invocations` scores a JSON (`dataframe_split` / `dataframe_records` / `instances` /
 * `inputs` + optional `params`, or an LLM-style unified body), CSV or Arrow IPC stream request
 * (`application/vnd.apache.arrow.stream`, a jsfunc extension; `Accept` the same type to get the
 * predictions as an IPC stream). Errors use MLflow's body `{"error_code", "message",
 * "stack_trace"?}` plus our stable code as `jsfunc_code`. Content-type problems answer 415 in
 * plain text, as MLflow does.
 *
 * Where predictions run is a {@link ScoringBackend}: the main thread (a `LoadedModel`, one
 * predict per request) or the worker pool (`pool-backend.ts`, requests merged into batches).
 * `/ping`, `/health` and `/version` never touch the backend, so with the pool they answer from
 * the event loop whatever the model is doing.
 *
 * Stack traces: MLflow sends them in `stack_trace`; they name files and install paths of the
 * server (`file:///home/...`), so here they go to the server log ({@link ScoringAppOptions.log})
 * and are sent only with {@link ScoringAppOptions.debugErrors}.
 *
 * @module
 */
import { ModelError, type ErrorCode } from '../errors.js';
import { ACCEPTED_REQUEST_SHAPES } from '../io/mlflow-json.js';
import { jsfuncVersion } from '../package/environment.js';
import type { LoadedModel } from '../package/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { ARROW_STREAM_TYPE } from './arrow-body.js';
import type { CancelToken, ScoringBackend } from './backend.js';
import {
  REQUEST_TYPES,
  type InvocationFailure,
  type RequestMime,
  type ResponseFormat,
} from './invocation.js';
import { mainThreadBackend } from './main-thread-backend.js';

/** Top-level keys that mark an LLM unified JSON body (re-exported from `invocation.ts`). */
export { LLM_INPUT_KEYS } from './invocation.js';

/** The content types `/invocations` accepts: MLflow's two, in MLflow's order, then Arrow IPC. */
export const CONTENT_TYPES = REQUEST_TYPES;

const UNEXPECTED_MODEL_ERROR =
  'Encountered an unexpected error while evaluating the model. Verify that the serialized ' +
  'input Dataframe is compatible with the model for inference.';

/** The timeout body MLflow's middleware sends. */
export const TIMEOUT_MESSAGE = 'Request processing time exceeded limit';

/** One HTTP request as the app sees it. Header names are matched case-insensitively. */
export interface ScoringRequest {
  method: string;
  /** The request target: a path with optional query (`/invocations?x=1`) or an absolute URL. */
  url: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body (JSON and CSV bodies are UTF-8). Default empty. */
  body?: Buffer | Uint8Array | string;
}

/**
 * The app's answer. `headers` names are lower case; `body` is text, or bytes for an Arrow IPC
 * response (`content-type: application/vnd.apache.arrow.stream`).
 */
export interface ScoringResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** MLflow's error body (`MlflowException.serialize_as_json`) plus jsfunc's code. */
export interface ScoringErrorBody {
  error_code: string;
  message: string;
  stack_trace?: string;
  /** The jsfunc {@link ErrorCode} behind the error; absent for a failure of the server itself. */
  jsfunc_code?: ErrorCode;
}

/** Options for {@link createScoringApp}. */
export interface ScoringAppOptions {
  /**
   * Longest a request may take before the app answers 504 `Request processing time exceeded
   * limit` (MLflow's `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`). Default 60000.
   */
  timeoutMs?: number;
  /**
   * Receives per-request warnings (dropped columns, ignored params) of the main-thread backend
   * made from a `LoadedModel`. Default {@link defaultWarn}.
   */
  warn?: WarnFn;
  /** The text `GET /version` answers. Default {@link jsfuncVersion}(). */
  version?: string;
  /**
   * Send each error's stack trace to the client in `stack_trace`, as MLflow does. Stack traces
   * name the server's files and install paths: for debugging only. Default false.
   */
  debugErrors?: boolean;
  /**
   * The server log: receives one entry per error answer that has a stack trace (model errors,
   * CSV parse errors, failures of the server itself), with the stack and cause chain.
   * Default: a line on stderr.
   */
  log?: (text: string) => void;
}

/** Defaults of {@link ScoringAppOptions}. */
export const kDefaultScoringAppOptions = { timeoutMs: 60_000, debugErrors: false } as const;

/** The default server log: `text` on stderr. */
export const defaultServerLog = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

/** A scoring app: one function from request to response. */
export interface ScoringApp {
  /** The model this app scores with when it runs on the main thread; null with the pool. */
  readonly model: LoadedModel | null;
  /** Where requests are scored. */
  readonly backend: ScoringBackend;
  /**
   * Answers one request. Never rejects: every failure becomes an error response.
   * @param request - the request; see {@link ScoringRequest}
   * @returns the response
   */
  handle(request: ScoringRequest): Promise<ScoringResponse>;
}

/** Validates `options.timeoutMs` (shared with `serve`). */
export function checkTimeoutMs(value: unknown): number {
  if (value === undefined) return kDefaultScoringAppOptions.timeoutMs;
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.timeoutMs must be a positive finite number of milliseconds, found ${String(value)}`,
      { details: { option: 'timeoutMs' } }
    );
  }
  return value;
}

function isBackend(x: LoadedModel | ScoringBackend): x is ScoringBackend {
  return typeof (x as Partial<ScoringBackend>).invoke === 'function';
}

/**
 * Creates the scoring app for a loaded model (scored on the main thread) or for a backend
 * (the pool backend of `serve --workers`).
 *
 * @param source - the model to score with (from `loadModel`), or a {@link ScoringBackend}
 * @param options - see {@link ScoringAppOptions}; timeout 60 s, warnings to {@link defaultWarn}
 * @returns the app; pass requests to `handle`
 * @throws {ModelError} E_OPTION_INVALID when `options.timeoutMs` is not a positive finite number
 * @example
 * ```ts
 * const app = createScoringApp(await loadModel('out/linear'));
 * const res = await app.handle({
 *   method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' },
 *   body: '{"inputs": {"x0": [1]}}',
 * });
 * // res.status === 200, res.body === '{"predictions":[...]}'
 * ```
 */
export function createScoringApp(
  source: LoadedModel | ScoringBackend,
  options: ScoringAppOptions = {}
): ScoringApp {
  const timeoutMs = checkTimeoutMs(options.timeoutMs);
  const warn = options.warn ?? defaultWarn;
  const version = options.version ?? jsfuncVersion();
  const log = options.log ?? defaultServerLog;
  const debugErrors = options.debugErrors ?? kDefaultScoringAppOptions.debugErrors;
  const model = isBackend(source) ? null : source;
  const backend = isBackend(source) ? source : mainThreadBackend(source, warn);

  const route = async (
    request: ScoringRequest,
    stacks: Stacks,
    token: CancelToken
  ): Promise<ScoringResponse> => {
    const path = pathOf(request.url);
    const method = request.method.toUpperCase();
    switch (path) {
      case '/ping':
      case '/health':
        return onlyMethods(method, ['GET', 'HEAD']) ?? text(200, '\n', JSON_TYPE, method);
      case '/version':
        return onlyMethods(method, ['GET', 'HEAD']) ?? text(200, version, JSON_TYPE, method);
      case '/invocations':
        return (
          onlyMethods(method, ['POST']) ?? (await invocations(backend, request, stacks, token))
        );
      default:
        return json(404, { detail: 'Not Found' });
    }
  };

  const deadlines = new Deadlines(timeoutMs);
  const handle = (request: ScoringRequest): Promise<ScoringResponse> => {
    const stacks = stackPolicy(debugErrors, log, request);
    const token: CancelToken = { cancelled: false };
    return deadlines.race(
      route(request, stacks, token).catch((e: unknown) => internalError(e, stacks)),
      token
    );
  };
  return { model, backend, handle };
}

/**
 * What happens to a stack trace: always logged (with the cause chain), returned for the body
 * only with `debugErrors`.
 */
type Stacks = (error: unknown, status: number) => string | undefined;

function stackPolicy(debug: boolean, log: (text: string) => void, request: ScoringRequest): Stacks {
  return (error, status) => {
    const code = ModelError.is(error) ? ` ${error.code}` : '';
    try {
      const target = `${String(request.method)} ${String(request.url)}`;
      log(`jsfunc serve: ${target} -> ${status}${code}: ${errorChain(error)}`);
    } catch {
      // a failing log must not turn an error answer into a crash
    }
    return debug ? (errorStack(error) ?? String(error)) : undefined;
  };
}

/** The stack (or message) of `error` and of its causes, for the server log. */
function errorChain(error: unknown, depth = 0): string {
  const head = errorStack(error) ?? String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause === undefined || depth >= 5) return head;
  return `${head}\nCaused by: ${errorChain(cause, depth + 1)}`;
}

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=utf-8';

function text(status: number, body: string, type: string, method = 'GET'): ScoringResponse {
  return { status, headers: { 'content-type': type }, body: method === 'HEAD' ? '' : body };
}

function json(status: number, value: unknown): ScoringResponse {
  return text(status, JSON.stringify(value), JSON_TYPE);
}

function onlyMethods(method: string, allowed: readonly string[]): ScoringResponse | undefined {
  if (allowed.includes(method)) return undefined;
  const res = json(405, { detail: 'Method Not Allowed' });
  res.headers['allow'] = allowed.join(', ');
  return res;
}

/** The routes: a request target that is one of them as is needs no URL parsing. */
const ROUTES = new Set(['/invocations', '/ping', '/health', '/version']);

function pathOf(url: string): string {
  if (ROUTES.has(url)) return url;
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return url;
  }
}

/**
 * `Content-Type` and `Accept` in one pass over the headers: for each, the first header of that
 * name in any case that has a value (lists joined with `, `).
 */
function contentHeaders(request: ScoringRequest): {
  contentType: string | undefined;
  accept: string | undefined;
} {
  let contentType: string | undefined;
  let accept: string | undefined;
  const headers = request.headers;
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (v === undefined) continue;
    const name = k.toLowerCase();
    if (name === 'content-type') {
      contentType ??= typeof v === 'string' ? v : v.join(', ');
    } else if (name === 'accept') {
      accept ??= typeof v === 'string' ? v : v.join(', ');
    }
  }
  return { contentType, accept };
}

/** A request waiting in {@link Deadlines}: its 504 is due at `at` (performance.now() ms). */
interface Deadline {
  at: number;
  /** Answers 504; null once the request has its answer. */
  expire: (() => void) | null;
}

/**
 * Races each handler against the timeout. As in MLflow (whose model runs in a thread that keeps
 * going), answering 504 does not stop a request that is being scored; the token tells the
 * backend to drop it if it has not started. On the main thread a synchronous predict blocks
 * the event loop, so the timer can only fire once it yields; with the pool the main thread is
 * free and the 504 leaves on time (the pool backend cancels a batch that itself runs too long).
 *
 * One Node timer serves all requests of an app: every request has the same `timeoutMs`, so
 * deadlines come in arrival order and a FIFO queue holds them; the timer is armed for the
 * oldest unanswered one (no setTimeout/clearTimeout and no extra promise per request). The
 * timer is referenced while a request waits, as a per-request timer was.
 */
class Deadlines {
  #queue: Deadline[] = [];
  #head = 0;
  /** Armed for the oldest waiting deadline (or an earlier one); unreferenced while none waits. */
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly timeoutMs: number) {}

  race(work: Promise<ScoringResponse>, token: CancelToken): Promise<ScoringResponse> {
    return new Promise<ScoringResponse>((resolve, reject) => {
      const entry: Deadline = {
        at: performance.now() + this.timeoutMs,
        expire: () => {
          token.cancelled = true;
          resolve(text(504, TIMEOUT_MESSAGE, TEXT_TYPE));
        },
      };
      this.#queue.push(entry);
      // An armed timer is due no later than this deadline (deadlines only grow): it re-arms.
      if (this.#timer === undefined) this.#arm(entry.at);
      else this.#timer.ref();
      work.then(
        (response) => {
          this.#settle(entry);
          resolve(response);
        },
        (error: unknown) => {
          this.#settle(entry);
          reject(error);
        }
      );
    });
  }

  /** The request has its answer: forget its deadline (and the ones answered before it). */
  #settle(entry: Deadline): void {
    entry.expire = null;
    this.#dropAnswered();
  }

  #dropAnswered(): void {
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head]!.expire === null) this.#head++;
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
      // Nothing waits: the timer stays armed (re-arming per request is what this saves) but no
      // longer keeps the process alive; it finds nothing when it fires.
      this.#timer?.unref();
    } else if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
  }

  #arm(at: number): void {
    // Whole milliseconds, rounded up: a timer never fires before the deadline it is armed for.
    this.#timer = setTimeout(() => this.#fire(), Math.max(1, Math.ceil(at - performance.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const q = this.#queue;
    while (this.#head < q.length) {
      const entry = q[this.#head]!;
      if (entry.expire !== null) {
        if (entry.at > now) break;
        const expire = entry.expire;
        entry.expire = null;
        expire();
      }
      this.#head++;
    }
    this.#dropAnswered();
    const rest = this.#queue;
    if (this.#head < rest.length) this.#arm(rest[this.#head]!.at);
  }
}

/* ---------------------------------------------------------------------------------------------
 * /invocations
 * ------------------------------------------------------------------------------------------- */

/** A content type split as MLflow does: mime, then `key=value` parameters. */
function parseContentType(raw: string): { mime: string; params: Map<string, string> } {
  const [mime = '', ...pairs] = raw.split(';').map((s) => s.trim());
  const params = new Map<string, string>();
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? ''
        : pair
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    params.set(key, value);
  }
  return { mime: mime.toLowerCase(), params };
}

/** Accepted `Content-Type` values seen lately and their mime (a client sends the same one). */
const acceptedTypes = new Map<string, RequestMime>();

/** {@link contentTypeError}, remembering the values it accepted. */
function checkedContentType(raw: string | undefined): ScoringResponse | { mime: RequestMime } {
  const known = raw === undefined ? undefined : acceptedTypes.get(raw);
  if (known !== undefined) return { mime: known };
  const checked = contentTypeError(raw);
  if (raw !== undefined && 'mime' in checked) {
    if (acceptedTypes.size >= 64) acceptedTypes.clear();
    acceptedTypes.set(raw, checked.mime);
  }
  return checked;
}

function contentTypeError(raw: string | undefined): ScoringResponse | { mime: RequestMime } {
  const { mime, params } = parseContentType(raw ?? '');
  const charset = (params.get('charset') ?? 'utf-8').toLowerCase();
  if (charset !== 'utf-8') return text(415, 'The scoring server only supports UTF-8', TEXT_TYPE);
  const unknown = [...params.keys()].filter((k) => k !== 'charset');
  if (unknown.length > 0) {
    return text(
      415,
      `Unrecognized content type parameters: ${unknown.join(', ')}. Only 'charset' is read: ` +
        `the request's form comes from its body. ${ACCEPTED_REQUEST_SHAPES}`,
      TEXT_TYPE
    );
  }
  if (!(REQUEST_TYPES as readonly string[]).includes(mime)) {
    const types = `[${REQUEST_TYPES.map((t) => `'${t}'`).join(', ')}]`;
    return text(
      415,
      `This predictor only supports the following content types: Types: ${types}. Got '${raw ?? ''}'.`,
      TEXT_TYPE
    );
  }
  return { mime: mime as RequestMime };
}

/**
 * The response format from `Accept`: Arrow when the client lists the Arrow stream type with a
 * quality at least that of JSON (`application/json`, `application/*`, `*\/*`); JSON otherwise,
 * including for types the server cannot write (MLflow ignores `Accept` altogether).
 */
export function acceptFormat(raw: string | undefined): ResponseFormat {
  if (raw === undefined || raw === '') return 'json';
  let arrow = -1;
  let jsonQ = -1;
  for (const range of raw.split(',')) {
    const [type = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) {
      if (!p.startsWith('q=')) continue;
      const n = Number(p.slice(2));
      q = Number.isFinite(n) ? n : 0;
    }
    if (type === ARROW_STREAM_TYPE) arrow = Math.max(arrow, q);
    else if (type === JSON_TYPE || type === 'application/*' || type === '*/*') {
      jsonQ = Math.max(jsonQ, q);
    }
  }
  return arrow > 0 && arrow >= jsonQ ? 'arrow' : 'json';
}

function bodyBytes(body: ScoringRequest['body']): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return body;
}

async function invocations(
  backend: ScoringBackend,
  request: ScoringRequest,
  stacks: Stacks,
  token: CancelToken
): Promise<ScoringResponse> {
  const { contentType, accept: acceptHeader } = contentHeaders(request);
  const checked = checkedContentType(contentType);
  if (!('mime' in checked)) return checked;
  const accept = acceptFormat(acceptHeader);
  const reply = await backend.invoke(
    { mime: checked.mime, body: bodyBytes(request.body), accept },
    token
  );
  if (!reply.ok) return failureResponse(reply, checked.mime, stacks);
  return {
    status: 200,
    headers: { 'content-type': typeof reply.body === 'string' ? JSON_TYPE : ARROW_STREAM_TYPE },
    body: reply.body,
  };
}

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

/** MLflow's `ErrorCode` name for an HTTP status (`ERROR_CODE_TO_HTTP_STATUS`, inverted). */
function mlflowErrorCode(status: number): string {
  switch (status) {
    case 404:
      return 'RESOURCE_DOES_NOT_EXIST';
    case 429:
      return 'REQUEST_LIMIT_EXCEEDED';
    case 503:
      return 'TEMPORARILY_UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function errorStack(e: unknown): string | undefined {
  return e instanceof Error ? e.stack : undefined;
}

/**
 * Builds an error response in MLflow's shape.
 *
 * @param status - the HTTP status
 * @param body - the error body
 * @returns the response
 */
export function errorResponse(status: number, body: ScoringErrorBody): ScoringResponse {
  const out: ScoringErrorBody = {
    error_code: body.error_code,
    message: body.message,
    ...(body.stack_trace === undefined ? {} : { stack_trace: body.stack_trace }),
    ...(body.jsfunc_code === undefined ? {} : { jsfunc_code: body.jsfunc_code }),
  };
  return json(status, out);
}

/** Maps a failed request to MLflow's answer for the stage it failed in. */
function failureResponse(
  reply: InvocationFailure,
  mime: RequestMime,
  stacks: Stacks
): ScoringResponse {
  switch (reply.stage) {
    case 'parse':
      return parseError(reply.error, mime, stacks);
    case 'enforce':
    case 'predict':
      return predictError(reply.error, reply.data ?? '<input>', stacks);
    case 'output':
      return errorResponse(500, {
        error_code: 'INTERNAL_ERROR',
        message: errorMessage(reply.error),
        stack_trace: stacks(reply.error, 500),
        jsfunc_code: 'E_MODEL_OUTPUT',
      });
    case 'internal':
      return internalError(reply.error, stacks);
  }
}

/**
 * Parsing failures: MLflow raises them as BAD_REQUEST; CSV ones carry the traceback (logged,
 * and sent only with `debugErrors`).
 */
function parseError(e: unknown, mime: string, stacks: Stacks): ScoringResponse {
  if (!ModelError.is(e)) return internalError(e, stacks);
  return errorResponse(e.status, {
    error_code: mlflowErrorCode(e.status),
    message: e.message,
    ...(mime === 'text/csv' ? { stack_trace: stacks(e, e.status) } : {}),
    jsfunc_code: e.code,
  });
}

/**
 * Failures of enforcement and of `model.predict`, mapped as MLflow's `invocations` does: an
 * error raised on purpose (schema or params enforcement; MlflowException there) keeps its code
 * and gains the "Failed to predict data" prefix (a schema error reads `Failed to predict data
 * '<data>'. \nError: Failed to enforce schema of data '<data>' with schema '<schema>'. Error:
 * ...`); anything the model itself threw becomes BAD_REQUEST with the generic message and the
 * stack trace.
 */
function predictError(e: unknown, data: string, stacks: Stacks): ScoringResponse {
  if (!ModelError.is(e) || e.code === 'E_MODEL_PREDICT') {
    return errorResponse(400, {
      error_code: 'BAD_REQUEST',
      message: UNEXPECTED_MODEL_ERROR,
      stack_trace: stacks(e, 400),
      jsfunc_code: 'E_MODEL_PREDICT',
    });
  }
  const enforcement = e.code === 'E_SCHEMA_MISMATCH' || e.code === 'E_PARAMS_INVALID';
  return errorResponse(e.status, {
    error_code: enforcement ? 'INVALID_PARAMETER_VALUE' : mlflowErrorCode(e.status),
    message: `Failed to predict data '${data}'. \nError: ${e.message}`,
    jsfunc_code: e.code,
  });
}

/**
 * A failure of the app or the pool itself (a worker that died, a closed pool, a batch timeout);
 * MLflow's framework answers these with 500. Server-side failures are logged with their stack.
 */
function internalError(e: unknown, stacks: Stacks): ScoringResponse {
  if (ModelError.is(e)) {
    return errorResponse(e.status, {
      error_code: mlflowErrorCode(e.status),
      message: e.message,
      ...(e.status >= 500 ? { stack_trace: stacks(e, e.status) } : {}),
      jsfunc_code: e.code,
    });
  }
  return errorResponse(500, {
    error_code: 'INTERNAL_ERROR',
    message: `Internal error while handling the request: ${errorMessage(e)}`,
    stack_trace: stacks(e, 500),
  });
}
