/**
 * jsfunc: package any JavaScript model in MLflow's MLmodel format, load it through one
 * lifecycle, and score Apache Arrow batches with it on a worker-thread pool.
 *
 * @module
 */

/** Errors. */
export { ModelError, ErrorCodes, serializeError, deserializeError } from './errors.js';
export type { ErrorCode, ErrorCodeInfo, ModelErrorOptions, WireError } from './errors.js';

/** The model contract. */
export { JsModel } from './package/types.js';
export type {
  ModelContext,
  ModelMetadata,
  LoadedModel,
  PredictInput,
  ModelSource,
  InputExampleInfo,
} from './package/types.js';

/** Signatures. */
export type {
  ColSpec,
  TensorSpec,
  Schema,
  ParamSpec,
  ModelSignature,
  ValueType,
  DataTypeName,
  Params,
} from './signature/types.js';
