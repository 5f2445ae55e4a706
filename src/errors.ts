/**
 * The one error class of jsfunc, and the table of its stable codes.
 *
 * Every failure that jsfunc raises on purpose is a {@link ModelError} whose `code` is one of
 * {@link ErrorCodes}. Codes never change meaning once published; messages may be reworded.
 * Each code carries the HTTP status a scoring server answers with and the exit status the CLI
 * ends with, so callers branch on `code`, never on message text.
 *
 * @module
 */

/** One entry of the error table. */
export interface ErrorCodeInfo {
  /** What the code means, one line (also the text of `docs/errors.md`). */
  readonly description: string;
  /** HTTP status for the scoring server (MLflow's mapping: bad input is 400). */
  readonly status: number;
  /** Exit status of the `jsfunc` CLI. */
  readonly exitCode: number;
}

/**
 * Every error code jsfunc raises. Grouped by stage; exit codes are distinct per code so a
 * shell script can tell failures apart without parsing messages.
 */
export const ErrorCodes = {
  // Package format
  E_MLMODEL_MISSING: {
    description: 'No MLmodel file at the given path.',
    status: 404,
    exitCode: 10,
  },
  E_MLMODEL_INVALID: {
    description: 'The MLmodel file is not valid YAML or lacks required keys.',
    status: 400,
    exitCode: 11,
  },
  E_FLAVOR_UNSUPPORTED: {
    description: 'The package has no flavor that jsfunc can load.',
    status: 400,
    exitCode: 12,
  },
  E_SIGNATURE_INVALID: {
    description: 'A signature or schema JSON is malformed or breaks a schema rule.',
    status: 400,
    exitCode: 13,
  },
  E_ARTIFACT_MISSING: {
    description: 'An artifact or code file named by the package does not exist.',
    status: 404,
    exitCode: 14,
  },
  E_ARTIFACT_PATH: {
    description: 'An artifact path escapes the package directory.',
    status: 400,
    exitCode: 15,
  },
  E_TARGET_NOT_EMPTY: {
    description:
      'A target directory exists and is not empty (saveModel, or a dataset output holding files jsfunc did not write).',
    status: 400,
    exitCode: 16,
  },
  E_SAVE_FAILED: {
    description: 'Packaging failed (bundling the model code or copying artifacts).',
    status: 500,
    exitCode: 17,
  },
  // Model code
  E_MODEL_IMPORT: {
    description: 'The model code failed to import or does not export a usable class.',
    status: 500,
    exitCode: 20,
  },
  E_MODEL_LOAD: {
    description: 'The model constructor or loadContext threw.',
    status: 500,
    exitCode: 21,
  },
  E_LOAD_TIMEOUT: {
    description: 'Loading the model took longer than the load timeout.',
    status: 504,
    exitCode: 24,
  },
  E_MODEL_PREDICT: { description: 'The model predict function threw.', status: 400, exitCode: 22 },
  E_MODEL_OUTPUT: {
    description: 'The model returned output that cannot be used (wrong length or type).',
    status: 500,
    exitCode: 23,
  },
  // Data and enforcement
  E_SCHEMA_MISMATCH: {
    description: 'Input data does not match the model input signature.',
    status: 400,
    exitCode: 30,
  },
  E_PARAMS_INVALID: {
    description: 'Inference params do not match the model params schema.',
    status: 400,
    exitCode: 31,
  },
  E_INPUT_INVALID: {
    description: 'Input cannot be read or converted to a table.',
    status: 400,
    exitCode: 32,
  },
  E_RESULT_TYPE_INVALID: {
    description: 'The requested UDF result type is invalid or unsupported.',
    status: 400,
    exitCode: 33,
  },
  E_OPTION_INVALID: {
    description: 'An option passed to a jsfunc function is invalid.',
    status: 400,
    exitCode: 34,
  },
  // Files and formats (CLI)
  E_FILE_NOT_FOUND: {
    description: 'An input file does not exist or cannot be read.',
    status: 404,
    exitCode: 40,
  },
  E_FORMAT_UNSUPPORTED: {
    description: 'A file extension or content type is not supported.',
    status: 415,
    exitCode: 41,
  },
  E_FORMAT_MALFORMED: {
    description: 'A file is malformed (bad CSV row, bad JSON, bad Parquet).',
    status: 400,
    exitCode: 42,
  },
  E_REGISTRY_UNAVAILABLE: {
    description:
      'An MLflow tracking server could not be reached or failed (network error, timeout, 5xx).',
    status: 503,
    exitCode: 44,
  },
  E_DATASET_INCOMPLETE: {
    description:
      'A dataset output cannot be committed: a shard has not finished or shards disagree.',
    status: 409,
    exitCode: 43,
  },
  // Pool and UDF
  E_WORKER_CRASHED: {
    description: 'A worker thread died while it held a batch.',
    status: 500,
    exitCode: 50,
  },
  E_TIMEOUT: { description: 'A batch exceeded its timeout.', status: 504, exitCode: 51 },
  E_ABORTED: {
    description: 'The operation was aborted by its AbortSignal.',
    status: 499,
    exitCode: 52,
  },
  E_POOL_CLOSED: {
    description: 'The UDF or pool was closed before or during the call.',
    status: 503,
    exitCode: 53,
  },
  E_INTERRUPTED: {
    description: 'The command was interrupted by a signal (SIGINT or SIGTERM).',
    status: 499,
    exitCode: 130,
  },
  E_INTERNAL: {
    description: 'An internal consistency check failed (a jsfunc bug; please report it).',
    status: 500,
    exitCode: 70,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A stable jsfunc error code. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Options for {@link ModelError}. */
export interface ModelErrorOptions {
  /** Structured facts about the failure (column, file, batch index, ...). Must be JSON-safe. */
  details?: Record<string, unknown>;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** The plain-object form of a {@link ModelError}, safe to post between threads or send as JSON. */
export interface WireError {
  name: string;
  code: ErrorCode | undefined;
  message: string;
  stack?: string;
  details?: Record<string, unknown>;
  cause?: WireError;
}

/**
 * The error jsfunc throws. `code` is stable; `details` holds structured facts; `cause` keeps
 * the original error (for example the model's own exception).
 *
 * @example
 * ```ts
 * try { await loadModel('missing') } catch (e) {
 *   if (e instanceof ModelError && e.code === 'E_MLMODEL_MISSING') ...
 * }
 * ```
 */
export class ModelError extends Error {
  /** Stable code from {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ModelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  override get name(): string {
    return 'ModelError';
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return ErrorCodes[this.code].status;
  }

  /** CLI exit status for this error's code. */
  get exitCode(): number {
    return ErrorCodes[this.code].exitCode;
  }

  /** Recognises a ModelError by shape, so it works across module copies and realms. */
  static is(x: unknown): x is ModelError {
    if (!(x instanceof Error) || x.name !== 'ModelError') return false;
    const code: unknown = (x as { code?: unknown }).code;
    return typeof code === 'string' && code in ErrorCodes;
  }
}

/**
 * Turns any thrown value into a {@link WireError}. Needed because structured clone drops the
 * subclass, `name` and `code` of errors posted between threads (see STYLE.md section 6).
 */
export function serializeError(error: unknown, depth = 0): WireError {
  if (error instanceof Error) {
    const wire: WireError = {
      name: error.name,
      code: ModelError.is(error) ? error.code : undefined,
      message: error.message,
    };
    if (error.stack !== undefined) wire.stack = error.stack;
    if (ModelError.is(error) && Object.keys(error.details).length > 0) {
      wire.details = jsonSafe(error.details) as Record<string, unknown>;
    }
    if (error.cause !== undefined && depth < 5) wire.cause = serializeError(error.cause, depth + 1);
    return wire;
  }
  return { name: 'Error', code: undefined, message: String(error) };
}

/** Rebuilds an error from its {@link WireError} form: a ModelError when it carried a code. */
export function deserializeError(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : deserializeError(wire.cause);
  const error: Error =
    wire.code !== undefined && wire.code in ErrorCodes
      ? new ModelError(wire.code, wire.message, { details: wire.details, cause })
      : Object.assign(new Error(wire.message, cause === undefined ? undefined : { cause }), {
          name: wire.name,
        });
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

function jsonSafe(value: unknown): unknown {
  try {
    return JSON.parse(
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
    );
  } catch {
    return String(value);
  }
}
