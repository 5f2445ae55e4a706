/**
 * MLflow's scoring-server protocol (`mlflow/pyfunc/scoring_server`) as a pure
 * request -> response function, so it is testable without sockets and mountable on any HTTP
 * front end (`listen.ts` wires it to node:http).
 *
 * Routes: `GET /ping` and `GET /health` answer 200 `"\n"`, `GET /version` the jsfunc version,
 * `POST /invocations` scores a JSON (`dataframe_split` / `dataframe_records` / `instances` /
 * `inputs` + optional `params`, or an LLM-style unified body) or CSV request. Errors use
 * MLflow's body `{"error_code", "message", "stack_trace"?}` plus our stable code as
 * `jsfunc_code`. Content-type problems answer 415 in plain text, as MLflow does.
 *
 * Stack traces: MLflow sends them in `stack_trace`; they name files and install paths of the
 * server (`file:///home/...`), so here they go to the server log ({@link ScoringAppOptions.log})
 * and are sent only with {@link ScoringAppOptions.debugErrors}.
 *
 * @module
 */
import type { Table } from 'apache-arrow';
import { ModelError, type ErrorCode } from '../errors.js';
import {
  ACCEPTED_REQUEST_SHAPES,
  formatPredictions,
  parseCsvRequest,
  parseMlflowRequest,
} from '../io/mlflow-json.js';
import { jsfuncVersion } from '../package/environment.js';
import type { LoadedModel } from '../package/types.js';
import type { Params } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';

/** The content types `/invocations` accepts, in MLflow's order. */
export const CONTENT_TYPES = ['text/csv', 'application/json'] as const;

/** Top-level keys that mark an LLM "unified" JSON body (chat, completions, embeddings). */
export const LLM_INPUT_KEYS = ['messages', 'prompt', 'input'] as const;

const CSV_PARSE_PREFIX =
  'Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted ' +
  'Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method.';

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
  /** The raw body; decoded as UTF-8. Default empty. */
  body?: Buffer | Uint8Array | string;
}

/** The app's answer. `headers` names are lower case; `body` is text. */
export interface ScoringResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
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
  /** Receives per-request warnings (dropped columns, ignored params). Default {@link defaultWarn}. */
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
  /** The model this app scores with. */
  readonly model: LoadedModel;
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

/**
 * Creates the scoring app for a loaded model.
 *
 * @param model - the model to score with (from `loadModel`)
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
export function createScoringApp(model: LoadedModel, options: ScoringAppOptions = {}): ScoringApp {
  const timeoutMs = checkTimeoutMs(options.timeoutMs);
  const warn = options.warn ?? defaultWarn;
  const version = options.version ?? jsfuncVersion();
  const log = options.log ?? defaultServerLog;
  const debugErrors = options.debugErrors ?? kDefaultScoringAppOptions.debugErrors;

  const route = async (request: ScoringRequest, stacks: Stacks): Promise<ScoringResponse> => {
    const path = pathOf(request.url);
    const method = request.method.toUpperCase();
    switch (path) {
      case '/ping':
      case '/health':
        return onlyMethods(method, ['GET', 'HEAD']) ?? text(200, '\n', JSON_TYPE, method);
      case '/version':
        return onlyMethods(method, ['GET', 'HEAD']) ?? text(200, version, JSON_TYPE, method);
      case '/invocations':
        return onlyMethods(method, ['POST']) ?? (await invocations(model, request, warn, stacks));
      default:
        return json(404, { detail: 'Not Found' });
    }
  };

  const handle = async (request: ScoringRequest): Promise<ScoringResponse> => {
    const stacks = stackPolicy(debugErrors, log, request);
    return withTimeout(
      route(request, stacks).catch((e: unknown) => internalError(e, stacks)),
      timeoutMs
    );
  };
  return { model, handle };
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

function pathOf(url: string): string {
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return url;
  }
}

function header(request: ScoringRequest, name: string): string | undefined {
  for (const [k, v] of Object.entries(request.headers)) {
    if (k.toLowerCase() !== name || v === undefined) continue;
    return typeof v === 'string' ? v : v.join(', ');
  }
  return undefined;
}

/**
 * Races the handler against the timeout. As in MLflow (whose model runs in a thread that keeps
 * going), the model call is not cancelled: only the answer is. A synchronous predict blocks the
 * event loop, so the timer can only fire once it yields.
 */
async function withTimeout(
  work: Promise<ScoringResponse>,
  timeoutMs: number
): Promise<ScoringResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ScoringResponse>((resolve) => {
    timer = setTimeout(() => resolve(text(504, TIMEOUT_MESSAGE, TEXT_TYPE)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
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

function contentTypeError(raw: string | undefined): ScoringResponse | { mime: string } {
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
  if (!(CONTENT_TYPES as readonly string[]).includes(mime)) {
    const types = `[${CONTENT_TYPES.map((t) => `'${t}'`).join(', ')}]`;
    return text(
      415,
      `This predictor only supports the following content types: Types: ${types}. Got '${raw ?? ''}'.`,
      TEXT_TYPE
    );
  }
  return { mime };
}

function decodeBody(body: ScoringRequest['body']): string {
  if (body === undefined) return '';
  if (typeof body === 'string') return body;
  try {
    // fatal: a body that is not UTF-8 is a client error, not silently replaced characters.
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (e) {
    throw new ModelError('E_INPUT_INVALID', 'Invalid input. The request body is not valid UTF-8.', {
      cause: e,
    });
  }
}

function isDict(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

interface ParsedRequest {
  table: Table;
  params: Params | undefined;
  /** An LLM unified body: the response is the predictions without the `predictions` wrapper. */
  unwrapped: boolean;
}

function parseRequest(model: LoadedModel, mime: string, text: string): ParsedRequest {
  const schema = model.signature?.inputs ?? null;
  if (mime === 'text/csv') {
    const table = parseCsvRequest(text, schema);
    // pandas raises EmptyDataError on a body without a header row; so does MLflow's server.
    if (table.numCols === 0) {
      throw new ModelError(
        'E_INPUT_INVALID',
        `${CSV_PARSE_PREFIX} Error: 'No columns to parse from file'`,
        { details: { contentType: mime } }
      );
    }
    return { table, params: undefined, unwrapped: false };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch {
    // parseMlflowRequest owns MLflow's message for malformed JSON.
    const { table, params } = parseMlflowRequest(text, schema);
    return { table, params, unwrapped: false };
  }
  if (isDict(decoded) && LLM_INPUT_KEYS.some((k) => k in decoded)) {
    // MLflow's unified LLM input: keys named by the params schema are params, the rest is the
    // data, here one row.
    const paramNames = new Set((model.signature?.params ?? []).map((p) => p.name));
    const row: Record<string, unknown> = {};
    const params: Params = {};
    for (const [k, v] of Object.entries(decoded)) {
      if (paramNames.has(k)) params[k] = v;
      else row[k] = v;
    }
    const { table } = parseMlflowRequest({ inputs: [row] }, schema);
    return { table, params, unwrapped: true };
  }
  const { table, params } = parseMlflowRequest(decoded, schema);
  return { table, params, unwrapped: false };
}

async function invocations(
  model: LoadedModel,
  request: ScoringRequest,
  warn: WarnFn,
  stacks: Stacks
): Promise<ScoringResponse> {
  const rawType = header(request, 'content-type');
  const checked = contentTypeError(rawType);
  if (!('mime' in checked)) return checked;

  let parsed: ParsedRequest;
  try {
    parsed = parseRequest(model, checked.mime, decodeBody(request.body));
  } catch (e) {
    return parseError(e, checked.mime, stacks);
  }

  let result: unknown;
  try {
    result = await model.predict(parsed.table, parsed.params, { warn });
  } catch (e) {
    return predictError(e, parsed.table, stacks);
  }

  let body: string;
  try {
    body = formatPredictions(result);
    if (parsed.unwrapped)
      body = JSON.stringify((JSON.parse(body) as { predictions: unknown }).predictions);
  } catch (e) {
    return errorResponse(500, {
      error_code: 'INTERNAL_ERROR',
      message: `The model output cannot be written as JSON: ${errorMessage(e)}`,
      stack_trace: stacks(e, 500),
      jsfunc_code: 'E_MODEL_OUTPUT',
    });
  }
  return text(200, body, JSON_TYPE);
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

function describeTable(table: Table): string {
  const names = table.schema.fields.map((f) => f.name).join(', ');
  return `<${table.numRows} rows x ${table.numCols} columns: ${names}>`;
}

/**
 * Failures of `model.predict`, mapped as MLflow's `invocations` does: an error raised on
 * purpose (schema or params enforcement; MlflowException there) keeps its code and gains the
 * "Failed to predict data" prefix; anything the model itself threw becomes BAD_REQUEST with
 * the generic message and the stack trace.
 */
function predictError(e: unknown, table: Table, stacks: Stacks): ScoringResponse {
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
    message: `Failed to predict data '${describeTable(table)}'. \nError: ${e.message}`,
    jsfunc_code: e.code,
  });
}

/** A failure of the app itself; MLflow's framework answers these with 500. */
function internalError(e: unknown, stacks: Stacks): ScoringResponse {
  if (ModelError.is(e)) {
    return errorResponse(e.status, {
      error_code: mlflowErrorCode(e.status),
      message: e.message,
      jsfunc_code: e.code,
    });
  }
  return errorResponse(500, {
    error_code: 'INTERNAL_ERROR',
    message: `Internal error while handling the request: ${errorMessage(e)}`,
    stack_trace: stacks(e, 500),
  });
}
