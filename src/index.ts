/**
 * jsfunc: package any JavaScript model in MLflow's MLmodel format, load it through one
 * lifecycle, and score Apache Arrow batches with it on a worker-thread pool.
 *
 * @module
 */

/** Errors: one class, stable codes. */
export { ModelError, ErrorCodes, serializeError, deserializeError } from './errors.js';
export type { ErrorCode, ErrorCodeInfo, ModelErrorOptions, WireError } from './errors.js';
export { defaultWarn } from './warnings.js';
export type { WarnFn } from './warnings.js';

/** The model contract. */
export { JsModel } from './package/types.js';
export type {
  ModelContext,
  ModelMetadata,
  LoadedModel,
  PredictInput,
  PredictOptions,
  ModelSource,
  InputExampleInfo,
} from './package/types.js';

/** Packages: save, load, inspect. */
export { saveModel } from './package/save-model.js';
export type { SaveModelOptions } from './package/save-model.js';
export { saveOnnxModel } from './package/save-onnx-model.js';
export type { SaveOnnxModelOptions } from './package/save-onnx-model.js';
export { loadModel } from './package/load-model.js';
export type { LoadModelOptions } from './package/load-model.js';
export { getModelInfo } from './package/model-info.js';
export type { ModelInfo } from './package/model-info.js';
export { readMLmodel, parseMLmodel, serializeMLmodel } from './package/mlmodel.js';
export { packageIdentity } from './package/package-hash.js';
export type { PackageIdentity } from './package/package-hash.js';

/** Model URIs and the MLflow registry (file store and tracking server). */
export {
  resolveModelUri,
  parseModelUri,
  MODEL_STAGES,
  logModel,
  registerModel,
  defaultCacheDir,
} from './uri/index.js';
export type {
  ResolveModelUriOptions,
  ResolvedModelUri,
  ModelStage,
  ParsedModelUri,
  LogModelOptions,
  LogModelResult,
  RegisterModelOptions,
  RegisteredModelVersion,
} from './uri/index.js';

/** Signatures: MLflow's JSON forms, inference and enforcement. */
export { inferSignature } from './signature/infer-signature.js';
export type { InferSignatureOptions } from './signature/infer-signature.js';
export {
  parseSchema,
  schemaToJson,
  parseParams,
  paramsToJson,
  parseSignature,
  signatureToDict,
} from './signature/schema-json.js';
export { inputNames, requiredInputNames, optionalInputNames } from './signature/schema.js';
export { arrowTypeFor, valueTypeFor, arrowTypeName } from './signature/arrow-types.js';
export { enforceSchema } from './signature/enforce-schema.js';
export { enforceParams } from './signature/enforce-params.js';
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

/** Input adapters: rows, columns, Arrow, danfo, arquero, Polars and DuckDB. */
export { toTable } from './adapters/to-table.js';
export { danfoToTable, tableToDanfo, isDanfoFrame } from './adapters/danfo.js';
export type { DanfoDataFrame, DanfoSeries } from './adapters/danfo.js';
export { isArqueroTable, arqueroToTable } from './adapters/arquero.js';
export type { ArqueroTable } from './adapters/arquero.js';
export { isPolarsDataFrame, isPolarsLazyFrame, polarsToTable } from './adapters/polars.js';
export type { PolarsDataFrame, PolarsLazyFrame, PolarsSeries } from './adapters/polars.js';
export { fromDuckDB, toDuckDB } from './adapters/duckdb.js';
export type { FromDuckDBOptions, ToDuckDBOptions, ToDuckDBSummary } from './adapters/duckdb.js';
export { registerDuckDBFunction } from './udf/duckdb-function.js';
export type {
  DuckDBFunction,
  DuckDBFunctionOptions,
  DuckDBFunctionStats,
} from './udf/duckdb-function.js';

/** The UDF: vectorized scoring on a worker-thread pool. */
export { sparkUdf } from './udf/spark-udf.js';
export type {
  SparkUdf,
  SparkUdfStats,
  WorkerStats,
  MapBatchesOptions,
  CloseOptions,
  UdfInput,
} from './udf/spark-udf.js';
export { kDefaultSparkUdfOptions } from './udf/options.js';
export type { SparkUdfOptions } from './udf/options.js';
export { createPool, ModelPool } from './pool/pool.js';
export { shareTable, shareVector } from './pool/shared-table.js';
export type { PoolOptions } from './pool/pool.js';
export { parseResultType, inferResultType, formatResultType } from './udf/result-type.js';
export type { ResultType } from './udf/result-type.js';

/** Scoring files and datasets: split-parallel, engine speed. */
export { scoreFiles } from './score/score-files.js';
export type { ScoreFilesOptions, ScoreFilesSummary, ScoreProgress } from './score/score-files.js';
export { commitDataset } from './io/dataset-output.js';
export type { DatasetCommit, ShardSpec } from './io/dataset-output.js';
export { resolveDataset } from './io/dataset.js';
export type { Dataset, DatasetFile } from './io/dataset.js';

/** Files and MLflow request forms. */
export { detectFormat } from './io/format.js';
export type { Format } from './io/format.js';
export { readBatches } from './io/read-batches.js';
export type { ReadBatchesOptions } from './io/read-batches.js';
export { createBatchWriter } from './io/write-batches.js';
export type { BatchWriter, BatchWriterOptions } from './io/write-batches.js';
export { parseMlflowRequest, parseCsvRequest, formatPredictions } from './io/mlflow-json.js';

/** The MLflow scoring-server protocol on node:http. */
export { createScoringApp } from './server/app.js';
export type {
  ScoringApp,
  ScoringAppOptions,
  ScoringRequest,
  ScoringResponse,
} from './server/app.js';
export { serve } from './server/listen.js';
export type { ServeOptions, ScoringServer } from './server/listen.js';
