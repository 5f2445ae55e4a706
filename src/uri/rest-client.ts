/**
 * `MlflowRestClient`: requests to an MLflow tracking server, as MLflow's `rest_utils.http_request`
 * makes them, with jsfunc's coded errors.
 *
 * - Credentials from the environment, as `_get_default_host_creds`: `MLFLOW_TRACKING_USERNAME`
 *   and `MLFLOW_TRACKING_PASSWORD` as HTTP basic auth, else `MLFLOW_TRACKING_TOKEN` as a bearer
 *   token (basic wins when both are set, as in MLflow). They are sent only to the tracking
 *   server's own origin.
 * - Error bodies are MLflow's `{"error_code": "...", "message": "..."}`; the coded error keeps the
 *   HTTP status and `error_code` in `details`. Not found (404, `RESOURCE_DOES_NOT_EXIST`, or
 *   MLflow's 400 "Registered model alias ... not found.") is `E_MLMODEL_MISSING`; rejected
 *   credentials (401, 403) and other 4xx are `E_OPTION_INVALID`; 5xx and network failures are
 *   `UNAVAILABLE_CODE`.
 * - 429 and 5xx answers are retried twice (100 ms, then 200 ms later), a short form of MLflow's
 *   backoff; a refused connection is not retried (the server is not there).
 * - Each request waits at most `timeoutMs` for the response headers; a body (a large artifact)
 *   is not timed, only abortable through the caller's signal.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RestTrackingStore } from './tracking-uri.js';
import {
  aborted,
  resolutionError,
  type ResolutionContext,
  throwIfAborted,
  UNAVAILABLE_CODE,
} from './uri-errors.js';
import type { ModelError } from '../errors.js';

/** Options of {@link MlflowRestClient}. */
export interface RestClientOptions {
  /** The fetch implementation; default the global `fetch` (Node 20). */
  fetch?: typeof fetch;
  /** Aborts every request; the error is E_ABORTED. */
  signal?: AbortSignal;
  /** Where the credentials are read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for response headers, in ms; default 60000. */
  timeoutMs?: number;
}

/** The default wait for response headers. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRIES = 2;

/** Query parameters; an array value is a repeated parameter (`stages=a&stages=b`). */
export type Query = Record<string, string | readonly string[]>;

/** A client for one tracking server, for one resolution. */
export class MlflowRestClient {
  private readonly fetchImpl: typeof fetch;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  /**
   * @param tracking - the server
   * @param ctx - the URI being resolved, named by every error
   * @param options - fetch, signal, credentials, timeout
   */
  constructor(
    readonly tracking: RestTrackingStore,
    readonly ctx: ResolutionContext,
    private readonly options: RestClientOptions = {}
  ) {
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.authorization = authorizationHeader(options.env ?? process.env);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * `GET <server><route>?<query>` and its JSON body.
   *
   * @param route - e.g. `/api/2.0/mlflow/model-versions/get`
   * @param query - the query parameters
   * @returns the parsed JSON object
   * @throws {ModelError} see the module comment
   */
  async getJson(route: string, query: Query = {}): Promise<Record<string, unknown>> {
    return this.json('GET', `${this.tracking.base}${route}${queryString(query)}`, route);
  }

  /**
   * `POST <server><route>` with a JSON body, and the JSON answer.
   *
   * @param route - e.g. `/api/2.0/mlflow/logged-models/search`
   * @param body - the request body
   * @returns the parsed JSON object
   * @throws {ModelError} see the module comment
   */
  async postJson(route: string, body: unknown): Promise<Record<string, unknown>> {
    return this.json('POST', `${this.tracking.base}${route}`, route, JSON.stringify(body));
  }

  /**
   * Any request, its answer handed to `consume` while the caller's signal is still wired to it
   * (so a body being read is aborted with the call). Non-2xx answers become coded errors.
   *
   * @param method - the HTTP method
   * @param url - the full URL
   * @param route - the route named in errors (no host)
   * @param consume - reads the answer
   * @param credentials - whether to send the tracking credentials; default true
   * @param body - a JSON request body
   * @returns what `consume` returns
   * @throws {ModelError} see the module comment; E_ABORTED when the signal aborts
   */
  async request<T>(
    method: string,
    url: string,
    route: string,
    consume: (response: Response) => Promise<T>,
    credentials = true,
    body?: string
  ): Promise<T> {
    const signal = this.options.signal;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(this.ctx, signal);
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      try {
        let response: Response;
        try {
          response = await this.fetchImpl(url, {
            method,
            headers: this.headers(credentials, body !== undefined),
            signal: controller.signal,
            ...(body === undefined ? {} : { body }),
          });
        } catch (e) {
          if (signal?.aborted) throw aborted(this.ctx, signal);
          throw this.unreachable(method, route, e, timedOut);
        } finally {
          clearTimeout(timer);
        }
        if (response.ok) return await consume(response);
        const text = await response.text().catch(() => '');
        if (RETRY_STATUSES.has(response.status) && attempt < RETRIES) {
          await sleep(100 * 2 ** attempt, undefined, signal ? { signal } : {}).catch(
            () => undefined
          );
          continue;
        }
        throw httpError(this.ctx, method, route, response.status, text);
      } catch (e) {
        if (signal?.aborted && !isCoded(e, 'E_ABORTED')) throw aborted(this.ctx, signal);
        throw e;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  private async json(
    method: string,
    url: string,
    route: string,
    body?: string
  ): Promise<Record<string, unknown>> {
    return this.request(
      method,
      url,
      route,
      async (response) => {
        const text = await response.text();
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = undefined;
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw resolutionError(
            UNAVAILABLE_CODE,
            this.ctx,
            `${method} ${route} answered ${response.status} with a body that is not a JSON ` +
              `object (${JSON.stringify(text.slice(0, 120))}); is ${this.tracking.base} an MLflow ` +
              'tracking server?',
            { status: response.status, endpoint: route }
          );
        }
        return value as Record<string, unknown>;
      },
      true,
      body
    );
  }

  private headers(credentials: boolean, json: boolean): Record<string, string> {
    const headers: Record<string, string> = { 'User-Agent': 'jsfunc' };
    if (json) headers['Content-Type'] = 'application/json';
    if (credentials && this.authorization !== undefined) {
      headers['Authorization'] = this.authorization;
    }
    return headers;
  }

  private unreachable(method: string, route: string, e: unknown, timedOut: boolean): ModelError {
    const cause = (e as { cause?: unknown }).cause;
    const code = (cause as { code?: unknown } | undefined)?.code ?? (e as { code?: unknown }).code;
    const reason = timedOut ? 'timeout' : typeof code === 'string' ? code : 'network';
    const why = timedOut
      ? `no answer within ${this.timeoutMs} ms`
      : `${(cause as Error | undefined)?.message ?? (e as Error).message}`;
    return resolutionError(
      UNAVAILABLE_CODE,
      this.ctx,
      `the tracking server ${this.tracking.base} is unreachable (${method} ${route}: ${why})`,
      { reason, endpoint: route },
      e
    );
  }
}

/**
 * The `Authorization` header MLflow's client would send (see the module comment).
 *
 * @param env - the environment
 * @returns the header value, or undefined without credentials
 */
export function authorizationHeader(
  env: Readonly<Record<string, string | undefined>>
): string | undefined {
  const user = env['MLFLOW_TRACKING_USERNAME'];
  const password = env['MLFLOW_TRACKING_PASSWORD'];
  if (user && password) {
    return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  }
  const token = env['MLFLOW_TRACKING_TOKEN'];
  return token ? `Bearer ${token}` : undefined;
}

/**
 * The coded error of a non-2xx answer (see the module comment for the mapping).
 *
 * @param ctx - the URI being resolved
 * @param method - the request method
 * @param route - the route (no host)
 * @param status - the HTTP status
 * @param text - the answer body
 * @returns the error
 */
export function httpError(
  ctx: ResolutionContext,
  method: string,
  route: string,
  status: number,
  text: string
): ModelError {
  let errorCode: string | undefined;
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'string') errorCode = body.error_code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not JSON: an auth proxy's or MLflow's basic-auth plain-text answer.
  }
  message ??= text.trim().slice(0, 300);
  const notFound =
    status === 404 ||
    errorCode === 'RESOURCE_DOES_NOT_EXIST' ||
    (errorCode === 'INVALID_PARAMETER_VALUE' && /not found/i.test(message));
  const auth = status === 401 || status === 403;
  const code = notFound
    ? 'E_MLMODEL_MISSING'
    : status >= 500
      ? UNAVAILABLE_CODE
      : 'E_OPTION_INVALID';
  const hint = auth
    ? ' (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)'
    : '';
  const codeText = errorCode === undefined ? '' : ` ${errorCode}`;
  return resolutionError(
    code,
    ctx,
    `${method} ${route} answered ${status}${codeText}: ${message || '(empty body)'}${hint}`,
    { status, endpoint: route, ...(errorCode === undefined ? {} : { errorCode }) }
  );
}

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string') params.append(key, value);
    else for (const v of value) params.append(key, v);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function isCoded(e: unknown, code: string): boolean {
  return (e as { code?: unknown } | null)?.code === code;
}
