/**
 * Model URIs and the MLflow registry: resolve `runs:/`, `models:/` and local URIs to a package
 * directory (from an MLflow file store or a tracking server, downloads cached), and log and
 * register packages in a file store.
 *
 * @module
 */

/** Resolving a model URI to a local package directory. */
export { resolveModelUri } from './resolve-model-uri.js';
export type { ResolveModelUriOptions, ResolvedModelUri } from './resolve-model-uri.js';

/** Parsing model URIs and tracking URIs. */
export { MODEL_STAGES, parseModelUri } from './parse-model-uri.js';
export type { ModelStage, ParsedModelUri } from './parse-model-uri.js';
export { resolveTrackingUri } from './tracking-uri.js';
export type { TrackingStore } from './tracking-uri.js';

/** Writing an MLflow file store. */
export { logModel } from './log-model.js';
export type { LogModelOptions, LogModelResult } from './log-model.js';
export { registerModel } from './register-model.js';
export type { RegisterModelOptions, RegisteredModelVersion } from './register-model.js';

/** The download cache. */
export { defaultCacheDir } from './model-cache.js';
