/**
 * `FileModelStore`: the lookups of model-URI resolution, read from an MLflow file store in
 * MLflow's layout (`file-store-layout.ts`), with MLflow's rules and wording:
 * - a run is found in any experiment, active or deleted (`FileStore._find_run_root`), and its
 *   `meta.yaml` must name that experiment;
 * - a logged model is found under `<exp>/models/<model_id>`; a deleted one is not found
 *   (`_get_model_dict`);
 * - a version whose stage is `Deleted_Internal` is not found (`_fetch_file_model_version_if_exists`);
 * - the latest version is the highest version number among the versions in the requested stage,
 *   or in any stage but `Deleted_Internal` (`get_latest_versions` then `max`);
 * - an alias is the file `aliases/<alias>` holding a version number;
 * - the download URI is `storage_location`, else `source` (`get_model_version_download_uri`).
 *
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ALIASES_DIR,
  DELETED,
  experimentDirs,
  MODELS_DIR,
  STAGE_DELETED_INTERNAL,
  textField,
} from './file-store-layout.js';
import { isValidAlias, isValidRunId, modelNameProblem } from './mlflow-ids.js';
import { type MetaDict, readMetaYaml } from './mlflow-yaml.js';
import type {
  LoggedModelRecord,
  ModelStore,
  ModelVersionRecord,
  RunRecord,
} from './model-store.js';
import { MODEL_STAGES, type ModelStage } from './parse-model-uri.js';
import {
  invalidUri,
  loggedModelHint,
  notFound,
  resolutionError,
  type ResolutionContext,
} from './uri-errors.js';

/** The model lookups of one MLflow file store. */
export class FileModelStore implements ModelStore {
  readonly kind = 'file-store' as const;

  /**
   * @param root - the store's root directory (the tracking store's and the registry's)
   * @param ctx - the URI being resolved, named by every error
   */
  constructor(
    readonly root: string,
    private readonly ctx: ResolutionContext
  ) {}

  /**
   * Fails when the root does not exist, so "no such run" is not reported for a mistyped store.
   *
   * @throws {ModelError} E_FILE_NOT_FOUND when the root is not a directory
   */
  async checkRoot(): Promise<void> {
    const st = await stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw resolutionError(
        'E_FILE_NOT_FOUND',
        this.ctx,
        `the MLflow file store ${this.root} does not exist (set MLFLOW_TRACKING_URI or the ` +
          'tracking URI option to your mlruns directory or tracking server)',
        { root: this.root }
      );
    }
  }

  async getRun(runId: string): Promise<RunRecord> {
    if (!isValidRunId(runId)) {
      throw invalidUri(this.ctx, `Invalid run ID: '${runId}'`, { runId });
    }
    await this.checkRoot();
    for (const exp of await experimentDirs(this.root)) {
      const runDir = join(exp.dir, runId);
      const meta = await readMetaYaml(runDir).catch(() => null);
      if (meta === null) continue;
      // MLflow reports a run whose meta.yaml names another experiment as being in an invalid
      // state; it is not this run.
      if (textField(meta, 'experiment_id') !== exp.id) continue;
      const artifactUri = textField(meta, 'artifact_uri');
      if (artifactUri === null) {
        throw notFound(
          this.ctx,
          `Run '${runId}' has no artifact_uri in ${join(runDir, 'meta.yaml')}`,
          {
            runId,
          }
        );
      }
      return { runId, experimentId: exp.id, artifactUri };
    }
    throw notFound(this.ctx, `Run '${runId}' not found`, { runId });
  }

  async findLoggedModelOfRun(run: RunRecord, name: string): Promise<LoggedModelRecord | null> {
    for (const exp of await experimentDirs(this.root)) {
      if (exp.id !== run.experimentId) continue;
      const modelsDir = join(exp.dir, MODELS_DIR);
      const entries = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
      for (const e of entries
        .filter((d) => d.isDirectory())
        .sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const meta = await readMetaYaml(join(modelsDir, e.name)).catch(() => null);
        if (meta === null || meta['lifecycle_stage'] === DELETED) continue;
        const record = loggedModelRecord(meta, exp.id);
        if (record !== null && record.name === name && record.sourceRunId === run.runId)
          return record;
      }
    }
    return null;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModelRecord> {
    if (!isValidRunId(modelId)) {
      throw notFound(this.ctx, `Model '${modelId}' not found${loggedModelHint(modelId)}`, {
        modelId,
      });
    }
    await this.checkRoot();
    for (const exp of await experimentDirs(this.root)) {
      const meta = await readMetaYaml(join(exp.dir, MODELS_DIR, modelId)).catch(() => null);
      if (meta === null) continue;
      const record = loggedModelRecord(meta, exp.id);
      if (meta['lifecycle_stage'] === DELETED || record === null) break;
      return record;
    }
    throw notFound(this.ctx, `Model '${modelId}' not found${loggedModelHint(modelId)}`, {
      modelId,
    });
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionRecord> {
    const modelDir = await this.registeredModelDir(name);
    const record = await readVersion(join(modelDir, `version-${version}`), name);
    if (record === null || record.currentStage === STAGE_DELETED_INTERNAL) {
      throw notFound(this.ctx, `Model Version (name=${name}, version=${version}) not found`, {
        name,
        version,
      });
    }
    return record;
  }

  async getLatestVersion(name: string, stage: ModelStage | null): Promise<ModelVersionRecord> {
    const modelDir = await this.registeredModelDir(name);
    const stages: readonly string[] = stage === null ? MODEL_STAGES : [stage];
    let latest: ModelVersionRecord | null = null;
    for (const record of await listVersions(modelDir, name)) {
      if (record.currentStage === null || !stages.includes(record.currentStage)) continue;
      if (latest === null || Number(record.version) > Number(latest.version)) latest = record;
    }
    if (latest === null) {
      const stageText = stage === null ? '' : ` and stage '${stage}'`;
      throw notFound(this.ctx, `No versions of model with name '${name}'${stageText} found`, {
        name,
        ...(stage === null ? {} : { stage }),
      });
    }
    return latest;
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersionRecord> {
    if (!isValidAlias(alias)) {
      throw invalidUri(this.ctx, `Invalid alias name: '${alias}'`, { name, alias });
    }
    const modelDir = await this.registeredModelDir(name);
    let version: string;
    try {
      version = (await readFile(join(modelDir, ALIASES_DIR, alias), 'utf8')).trim();
    } catch {
      throw notFound(this.ctx, `Registered model alias ${alias} not found.`, { name, alias });
    }
    return this.getModelVersion(name, version);
  }

  async getDownloadUri(version: ModelVersionRecord): Promise<string> {
    const uri = version.storageLocation ?? version.source;
    if (uri === null || uri === '') {
      throw notFound(
        this.ctx,
        `Model Version (name=${version.name}, version=${version.version}) has no source`,
        { name: version.name, version: version.version }
      );
    }
    return uri;
  }

  /** `models/<name>`, checked: a valid name, an existing directory. */
  private async registeredModelDir(name: string): Promise<string> {
    const problem = modelNameProblem(name);
    if (problem !== null) throw invalidUri(this.ctx, problem, { name });
    await this.checkRoot();
    const dir = join(this.root, MODELS_DIR, name);
    const st = await stat(join(dir, 'meta.yaml')).catch(() => undefined);
    if (!st?.isFile()) {
      throw notFound(this.ctx, `Registered Model with name=${name} not found`, { name });
    }
    return dir;
  }
}

async function readVersion(dir: string, name: string): Promise<ModelVersionRecord | null> {
  const meta = await readMetaYaml(dir).catch(() => null);
  if (meta === null) return null;
  const version = textField(meta, 'version');
  if (version === null || !/^[0-9]+$/.test(version)) return null;
  return {
    name: textField(meta, 'name') ?? name,
    version,
    source: nonEmpty(textField(meta, 'source')),
    storageLocation: nonEmpty(textField(meta, 'storage_location')),
    runId: nonEmpty(textField(meta, 'run_id')),
    currentStage: textField(meta, 'current_stage'),
    modelId: nonEmpty(textField(meta, 'model_id')),
  };
}

/** MLflow 2.x wrote unset fields as `''`. */
function nonEmpty(v: string | null): string | null {
  return v === '' ? null : v;
}

/** Every `version-<n>` directory of a registered model (`_list_file_model_versions_under_path`). */
async function listVersions(modelDir: string, name: string): Promise<ModelVersionRecord[]> {
  const entries = await readdir(modelDir, { withFileTypes: true }).catch(() => []);
  const out: ModelVersionRecord[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith('version-')) continue;
    const record = await readVersion(join(modelDir, e.name), name);
    if (record !== null) out.push(record);
  }
  return out;
}

function loggedModelRecord(meta: MetaDict, experimentId: string): LoggedModelRecord | null {
  const modelId = textField(meta, 'model_id');
  const artifactLocation = textField(meta, 'artifact_location');
  // `_get_model_dict`: a model whose meta names another experiment is in an invalid state.
  if (modelId === null || artifactLocation === null) return null;
  if (textField(meta, 'experiment_id') !== experimentId) return null;
  return {
    modelId,
    experimentId,
    name: textField(meta, 'name') ?? '',
    artifactLocation,
    sourceRunId: nonEmpty(textField(meta, 'source_run_id')),
  };
}
