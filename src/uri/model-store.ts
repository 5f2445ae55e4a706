/**
 * The lookups model-URI resolution needs from an MLflow store, and the records they return.
 * Two implementations: `FileModelStore` (`file-store.ts`, an `mlruns` directory) and
 * `RestModelStore` (`rest-store.ts`, a tracking server). Both throw the same coded errors
 * (`uri-errors.ts`), so resolution does not care which store answered.
 *
 * @module
 */
import type { ModelStage } from './parse-model-uri.js';

/** A run, as far as artifact resolution needs it. */
export interface RunRecord {
  readonly runId: string;
  readonly experimentId: string;
  /** The run's artifact root (`RunInfo.artifact_uri`). */
  readonly artifactUri: string;
}

/** An MLflow 3 logged model (`LoggedModel`). */
export interface LoggedModelRecord {
  readonly modelId: string;
  readonly experimentId: string;
  readonly name: string;
  /** Where its artifacts live (`artifact_location`; `artifact_uri` over REST). */
  readonly artifactLocation: string;
  readonly sourceRunId: string | null;
}

/** A registered model version (`ModelVersion`, plus the file store's `storage_location`). */
export interface ModelVersionRecord {
  readonly name: string;
  /** The version number, as text (MLflow's REST API writes it as a string). */
  readonly version: string;
  readonly source: string | null;
  readonly runId: string | null;
  readonly currentStage: string | null;
  /** MLflow 3: the logged model this version was registered from. */
  readonly modelId: string | null;
  /** The file registry's resolved artifact location (`storage_location`); not sent over REST. */
  readonly storageLocation?: string | null;
}

/** The store lookups of model-URI resolution. */
export interface ModelStore {
  /** `file-store` or `rest`: the `source` a resolution reports. */
  readonly kind: 'file-store' | 'rest';
  /**
   * A run by id (active or deleted, as MLflow's `get_run`).
   *
   * @throws {ModelError} E_MLMODEL_MISSING when there is no such run
   */
  getRun(runId: string): Promise<RunRecord>;
  /**
   * The logged model named `name` that `run` produced, if any: MLflow 3 resolves
   * `runs:/<run_id>/<name>` to it when the run's own artifacts lack `<name>`
   * (`RunsArtifactRepository._get_logged_model_artifact_repo`).
   */
  findLoggedModelOfRun(run: RunRecord, name: string): Promise<LoggedModelRecord | null>;
  /**
   * A logged model by id.
   *
   * @throws {ModelError} E_MLMODEL_MISSING when there is no such (undeleted) model
   */
  getLoggedModel(modelId: string): Promise<LoggedModelRecord>;
  /**
   * One version of a registered model.
   *
   * @throws {ModelError} E_MLMODEL_MISSING for an unknown name or version (or a deleted version)
   */
  getModelVersion(name: string, version: string): Promise<ModelVersionRecord>;
  /**
   * The highest version of a registered model, among all undeleted versions (`stage: null`) or
   * among those in one stage: MLflow's `_get_latest_model_version`.
   *
   * @throws {ModelError} E_MLMODEL_MISSING for an unknown name or when no version matches
   */
  getLatestVersion(name: string, stage: ModelStage | null): Promise<ModelVersionRecord>;
  /**
   * The version an alias points to.
   *
   * @throws {ModelError} E_MLMODEL_MISSING for an unknown name or alias
   */
  getVersionByAlias(name: string, alias: string): Promise<ModelVersionRecord>;
  /**
   * Where a version's artifacts can be downloaded from (`get_model_version_download_uri`).
   *
   * @throws {ModelError} E_MLMODEL_MISSING when the version has no location
   */
  getDownloadUri(version: ModelVersionRecord): Promise<string>;
}
