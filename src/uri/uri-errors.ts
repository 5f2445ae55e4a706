/**
 * The coded errors of model-URI resolution, built in one place so every message names the URI
 * being resolved and the store asked, and so the code chosen for each failure can change in one
 * place when the error table gains registry codes.
 *
 * Codes used today (no new code was added to `errors.ts`):
 * - not found (registered model, version, alias, run, logged model, artifact without MLmodel):
 *   `E_MLMODEL_MISSING`;
 * - malformed or unsupported URI, bad option, rejected credentials: `E_OPTION_INVALID`;
 * - unreachable server, network failure, server error (5xx), missing local store:
 *   `E_FILE_NOT_FOUND` (closest: "cannot be read"). A dedicated `E_REGISTRY_UNAVAILABLE` would
 *   let callers retry on it alone.
 *
 * @module
 */
import { type ErrorCode, ModelError } from '../errors.js';

/** Facts every resolution error carries in `details`. */
export interface ResolutionContext {
  /** The model URI being resolved, as the caller gave it. */
  readonly uri: string;
  /** The tracking URI asked (credentials removed), when a store was involved. */
  readonly trackingUri?: string;
}

/** The code for "the server could not be reached or failed" (see the module comment). */
export const UNAVAILABLE_CODE: ErrorCode = 'E_REGISTRY_UNAVAILABLE';

/**
 * A coded error naming the URI (and the store) in its message.
 *
 * @param code - the error code
 * @param ctx - the URI being resolved and the store
 * @param what - what went wrong, one sentence without a trailing period
 * @param details - extra structured facts
 * @param cause - the underlying error
 * @returns the error (not thrown)
 */
export function resolutionError(
  code: ErrorCode,
  ctx: ResolutionContext,
  what: string,
  details: Record<string, unknown> = {},
  cause?: unknown
): ModelError {
  const where = ctx.trackingUri === undefined ? '' : ` (tracking URI ${ctx.trackingUri})`;
  return new ModelError(code, `Cannot resolve ${ctx.uri}: ${what}${where}`, {
    details: {
      uri: ctx.uri,
      ...(ctx.trackingUri === undefined ? {} : { trackingUri: ctx.trackingUri }),
      ...details,
    },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * "Not found" (a registered model, version, alias, run or logged model): `E_MLMODEL_MISSING`,
 * as a local path without an MLmodel file.
 *
 * @param ctx - the URI being resolved and the store
 * @param what - MLflow's own wording where it has one (e.g. `Run 'x' not found`)
 * @param details - which object was missing
 * @returns the error
 */
export function notFound(
  ctx: ResolutionContext,
  what: string,
  details: Record<string, unknown> = {}
): ModelError {
  return resolutionError('E_MLMODEL_MISSING', ctx, what, details);
}

/**
 * A malformed or unsupported URI or option: `E_OPTION_INVALID`.
 *
 * @param ctx - the URI being resolved
 * @param what - what is wrong and what is expected
 * @param details - extra facts
 * @returns the error
 */
export function invalidUri(
  ctx: ResolutionContext,
  what: string,
  details: Record<string, unknown> = {}
): ModelError {
  return resolutionError('E_OPTION_INVALID', ctx, what, details);
}

/**
 * The error of an aborted resolution: `E_ABORTED`, with the signal's reason as cause.
 *
 * @param ctx - the URI being resolved
 * @param signal - the aborted signal
 * @returns the error
 */
export function aborted(ctx: ResolutionContext, signal: AbortSignal): ModelError {
  return resolutionError('E_ABORTED', ctx, 'aborted', {}, signal.reason);
}

/**
 * Throws {@link aborted} when `signal` is aborted: called between steps, since file-system
 * steps do not take a signal themselves.
 *
 * @param ctx - the URI being resolved
 * @param signal - the caller's signal, if any
 * @throws {ModelError} E_ABORTED
 */
export function throwIfAborted(ctx: ResolutionContext, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw aborted(ctx, signal);
}

/**
 * A hint for `models:/<word>` that is not a logged model id: users often mean a registered
 * model, which needs a version, `latest`, a stage or an alias.
 *
 * @param modelId - the id as given
 * @returns the hint, or `''` for an `m-...` id
 */
export function loggedModelHint(modelId: string): string {
  return modelId.startsWith('m-')
    ? ''
    : ` (models:/${modelId} names an MLflow 3 logged model id; for a registered model use ` +
        `models:/${modelId}/<version>, models:/${modelId}/latest or models:/${modelId}@<alias>)`;
}
