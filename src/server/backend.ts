/**
 * Where `/invocations` requests are scored: a {@link ScoringBackend}. Two exist: the main thread
 * (`main-thread-backend.ts`, one `predict` per request, as MLflow's server) and the worker pool
 * (`pool-backend.ts`, concurrent requests merged into batches). The app (`app.ts`) owns HTTP
 * semantics (routes, content types, timeouts, error bodies) and is the same for both.
 *
 * @module
 */
import type { ModelSignature } from '../signature/types.js';
import type { Invocation, InvocationReply } from './invocation.js';

/** Lets the app withdraw a request it stopped waiting for (timed out) before it is scored. */
export interface CancelToken {
  /** Set by the app once the request was answered without its result (504). */
  cancelled: boolean;
}

/** Counters of a backend since it started. */
export interface BackendStats {
  /** `main-thread` or `pool`. */
  mode: 'main-thread' | 'pool';
  /** Worker threads (0 on the main thread). */
  workers: number;
  /** Requests handed to the backend. */
  requests: number;
  /** Pool tasks run (each carries one or more requests); 0 on the main thread. */
  tasks: number;
  /** Calls of the model's predict. */
  predictCalls: number;
  /** Predict calls that scored more than one request at once (merged). */
  mergedCalls: number;
  /** Requests scored in merged calls. */
  mergedRequests: number;
  /** Most requests one predict call scored. */
  maxRequestsPerCall: number;
  /** Input rows scored. */
  rows: number;
}

/** Scores `/invocations` requests. */
export interface ScoringBackend {
  /** The model's signature (parsing types columns by its inputs; LLM bodies read its params). */
  readonly signature: ModelSignature | null;
  /**
   * Scores one request. Never rejects: every failure is an `InvocationFailure`.
   * @param invocation - the request
   * @param token - set `cancelled` to withdraw a request that has not started
   * @returns the reply
   */
  invoke(invocation: Invocation, token: CancelToken): Promise<InvocationReply>;
  /** Counters since the backend started. */
  stats(): BackendStats;
  /**
   * Releases what the backend holds (worker threads). Requests already handed over finish
   * first. Idempotent.
   */
  close(): Promise<void>;
}

/** Fresh zeroed counters. */
export function emptyStats(mode: BackendStats['mode'], workers: number): BackendStats {
  return {
    mode,
    workers,
    requests: 0,
    tasks: 0,
    predictCalls: 0,
    mergedCalls: 0,
    mergedRequests: 0,
    maxRequestsPerCall: 0,
    rows: 0,
  };
}
