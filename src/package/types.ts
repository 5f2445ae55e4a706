/**
 * The shapes shared by the package layer: the user model contract, the load context, the parsed
 * MLmodel and the loaded model. Types only (plus the optional {@link JsModel} base class).
 *
 * @module
 */
import type { RecordBatch, Table } from 'apache-arrow';
import type { ModelSignature, Params } from '../signature/types.js';

/**
 * What a model receives in `loadContext` and `predict`, as MLflow's `PythonModelContext`.
 */
export interface ModelContext {
  /** Artifact name -> absolute path inside the loaded package. */
  readonly artifacts: Readonly<Record<string, string>>;
  /** The saved `config`, with load-time overrides applied. */
  readonly modelConfig: Readonly<Record<string, unknown>>;
  /**
   * The bytes of the artifact `name` (a regular file) as a `Uint8Array` over a
   * `SharedArrayBuffer`: read once per process and shared by every thread that loads a model
   * using the file (each pool worker and the calling thread), instead of one copy per worker.
   * Concurrent first calls wait for one read. The model holds the bytes until it is released
   * (or evicted from a worker's cache); the memory returns once no loaded model uses the file
   * and every thread has dropped its views. Treat the bytes as read-only: every thread sees a
   * write. Repeated calls return the same view.
   *
   * Always present on contexts jsfunc creates; optional so that contexts written by hand in a
   * model's own unit tests stay valid (a model can fall back to reading `artifacts[name]`).
   *
   * @param name - a key of {@link ModelContext.artifacts}
   * @returns the shared bytes
   * @throws {ModelError} E_ARTIFACT_MISSING (unknown name, a directory artifact, unreadable
   *   file); E_MODEL_LOAD (no shared memory for it, the file changed while read, the model was
   *   released)
   *
   * @example
   * ```ts
   * async loadContext(ctx: ModelContext) {
   *   const bytes = await ctx.sharedArtifact!('embeddings');
   *   this.table = new Float32Array(bytes.buffer, bytes.byteOffset + 32, (bytes.length - 32) / 4);
   * }
   * ```
   */
  readonly sharedArtifact?: (name: string) => Promise<Uint8Array>;
}

/**
 * Optional base class for user models (types only: plain classes with the same methods work).
 *
 * The model input is an Arrow `Table` whose columns already match the input signature (names,
 * order and Arrow types), or the raw table when the model has no signature.
 *
 * @example
 * ```ts
 * export default class Doubler extends JsModel {
 *   predict(_ctx: ModelContext, input: Table) {
 *     return Float64Array.from(input.getChild('x')!.toArray(), (v) => v * 2);
 *   }
 * }
 * ```
 */
export abstract class JsModel<Input = Table, Output = unknown> {
  /** Called once per load, before any predict. Load artifacts here. */
  loadContext?(context: ModelContext): void | Promise<void>;
  /**
   * Scores one batch. The input is borrowed for the call: under `sparkUdf` on a worker its
   * columns are views of shared memory reused by later batches, so a model that keeps any part
   * of it after `predict` returns (or its promise settles) must copy it (see `SparkUdfOptions`).
   */
  abstract predict(context: ModelContext, input: Input, params: Params): Output | Promise<Output>;
}

/** Where a model class comes from: a module path, or a path plus a named export. */
export type ModelSource = string | { path: string; exportName?: string };

/** A value `predict` accepts: Arrow data, rows, columns or a danfo DataFrame. */
export type PredictInput =
  | Table
  | RecordBatch
  | readonly Record<string, unknown>[]
  | Readonly<Record<string, ArrayLike<unknown>>>
  | readonly (readonly unknown[])[]
  | object;

/** `saved_input_example_info` of an MLmodel. */
export interface InputExampleInfo {
  artifact_path: string;
  type: string;
  pandas_orient?: string;
  serving_input_path?: string;
  [key: string]: unknown;
}

/**
 * A parsed `MLmodel` file. Known keys are typed; every key of the file (known or not) is kept
 * in `raw` so a read-then-write loses nothing.
 */
export interface ModelMetadata {
  /** Flavor name -> that flavor's configuration. */
  flavors: Record<string, Record<string, unknown>>;
  /** 32 hex chars for jsfunc-written packages; any string MLflow wrote. */
  modelUuid: string | null;
  /** `utc_time_created` as written, e.g. `'2024-05-17 23:15:28.764394'`. */
  utcTimeCreated: string | null;
  mlflowVersion: string | null;
  signature: ModelSignature | null;
  savedInputExampleInfo: InputExampleInfo | null;
  modelSizeBytes: number | null;
  metadata: Record<string, unknown> | null;
  /** All top-level keys of the file as parsed (signature still as JSON strings). */
  raw: Record<string, unknown>;
}

/** Per-call options of {@link LoadedModel.predict}. */
export interface PredictOptions {
  /**
   * Receives this call's warnings (extra columns dropped, unknown params ignored), instead of
   * the `warn` given to `loadModel`. Lets a cached model report warnings per task.
   */
  warn?: (message: string) => void;
}

/** A model loaded through the full lifecycle, ready to predict. */
export interface LoadedModel {
  /** Absolute path of the package directory. */
  readonly path: string;
  /** The parsed MLmodel. */
  readonly metadata: ModelMetadata;
  /** Shortcut for `metadata.signature`. */
  readonly signature: ModelSignature | null;
  /** The context handed to `loadContext` and `predict`. */
  readonly context: ModelContext;
  /** The method `predict` calls on the user's model (`predict` unless overridden). */
  readonly predictFn: string;
  /**
   * Enforces the input signature and params schema, then calls the user's predict method.
   * @throws {ModelError} E_SCHEMA_MISMATCH, E_PARAMS_INVALID; E_MODEL_PREDICT wrapping a foreign
   *   error thrown by the model; a ModelError raised inside (a flavor's E_MODEL_OUTPUT) as is
   */
  predict(input: PredictInput, params?: Params, options?: PredictOptions): Promise<unknown>;
  /** The user's model instance. */
  unwrap<T = unknown>(): T;
  /**
   * Releases the model: calls `close()` (or else `dispose()`) on the user's instance when it
   * has one, then gives back its shared artifacts (see {@link ModelContext.sharedArtifact}).
   * Idempotent; `predict` must not be called afterwards. Worker caches call it on eviction; a
   * model that is simply dropped gives its shared artifacts back when it is garbage-collected.
   *
   * @returns when the instance's own close/dispose has settled
   * @throws whatever the instance's close/dispose throws (the artifacts are released anyway)
   */
  release(): Promise<void>;
}
