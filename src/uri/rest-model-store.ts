/**
 * `RestModelStore`: the lookups of model-URI resolution, asked of an MLflow tracking server
 * through the REST API MLflow's own client uses (`mlflow/store/tracking/rest_store.py`,
 * `mlflow/store/model_registry/rest_store.py`; routes from `mlflow/protos/service.proto` and
 * `model_registry.proto`, all under `/api/2.0`):
 *
 * | lookup | request | answer |
 * |---|---|---|
 * | run | `GET mlflow/runs/get?run_id=` | `{run: {info: {artifact_uri, experiment_id, ...}}}` |
 * | version | `GET mlflow/model-versions/get?name=&version=` | `{model_version: {...}}` |
 * | latest | `GET mlflow/registered-models/get-latest-versions?name=[&stages=]` | `{model_versions: [...]}` |
 * | alias | `GET mlflow/registered-models/alias?name=&alias=` | `{model_version: {...}}` |
 * | download URI | `GET mlflow/model-versions/get-download-uri?name=&version=` | `{artifact_uri}` |
 * | logged model | `GET mlflow/logged-models/<model_id>` | `{model: {info: {artifact_uri, ...}}}` |
 * | run's logged model | `POST mlflow/logged-models/search` `{experiment_ids, filter}` | `{models: [...], next_page_token}` |
 *
 * Proto JSON leaves out empty repeated fields (`model_versions` of a model without versions) and
 * may write int64 fields as strings; both are accepted.
 *
 * @module
 */
import type {
  LoggedModelRecord,
  ModelStore,
  ModelVersionRecord,
  RunRecord,
} from './model-store.js';
import type { ModelStage } from './parse-model-uri.js';
import type { MlflowRestClient } from './rest-client.js';
import { loggedModelHint, notFound, resolutionError, UNAVAILABLE_CODE } from './uri-errors.js';
import { ModelError } from '../errors.js';

const API = '/api/2.0/mlflow';

/** The model lookups of one tracking server. */
export class RestModelStore implements ModelStore {
  readonly kind = 'rest' as const;

  /** @param client - the server's client (it carries the URI being resolved, for errors) */
  constructor(private readonly client: MlflowRestClient) {}

  async getRun(runId: string): Promise<RunRecord> {
    const body = await this.client.getJson(`${API}/runs/get`, { run_id: runId });
    const info = objectAt(body, 'run', 'info');
    const artifactUri = text(info?.['artifact_uri']);
    if (info === undefined || artifactUri === null) throw this.malformed('runs/get', body);
    return { runId, experimentId: text(info['experiment_id']) ?? '', artifactUri };
  }

  async findLoggedModelOfRun(run: RunRecord, name: string): Promise<LoggedModelRecord | null> {
    const quoted = name.includes("'") ? `"${name}"` : `'${name}'`;
    let pageToken: string | undefined;
    for (let page = 0; page < 100; page++) {
      let body: Record<string, unknown>;
      try {
        body = await this.client.postJson(`${API}/logged-models/search`, {
          experiment_ids: [run.experimentId],
          filter: `name = ${quoted}`,
          ...(pageToken === undefined ? {} : { page_token: pageToken }),
        });
      } catch (e) {
        // A server older than MLflow 3 has no logged models: nothing to fall back to.
        if (ModelError.is(e) && e.code === 'E_MLMODEL_MISSING') return null;
        throw e;
      }
      const models = Array.isArray(body['models']) ? (body['models'] as unknown[]) : [];
      for (const m of models) {
        const record = loggedModelRecord(m);
        if (record !== null && record.name === name && record.sourceRunId === run.runId)
          return record;
      }
      pageToken = text(body['next_page_token']) ?? undefined;
      if (pageToken === undefined || pageToken === '') return null;
    }
    return null;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModelRecord> {
    let body: Record<string, unknown>;
    try {
      body = await this.client.getJson(`${API}/logged-models/${encodeURIComponent(modelId)}`);
    } catch (e) {
      const hint = loggedModelHint(modelId);
      if (ModelError.is(e) && e.code === 'E_MLMODEL_MISSING' && hint !== '') {
        throw new ModelError(e.code, `${e.message}${hint}`, { details: e.details, cause: e.cause });
      }
      throw e;
    }
    const record = loggedModelRecord(body['model']);
    if (record === null) throw this.malformed(`logged-models/${modelId}`, body);
    return record;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionRecord> {
    const body = await this.client.getJson(`${API}/model-versions/get`, { name, version });
    return this.versionOf(body['model_version'], 'model-versions/get', body);
  }

  async getLatestVersion(name: string, stage: ModelStage | null): Promise<ModelVersionRecord> {
    const body = await this.client.getJson(
      `${API}/registered-models/get-latest-versions`,
      stage === null ? { name } : { name, stages: [stage] }
    );
    const list = body['model_versions'] ?? [];
    if (!Array.isArray(list)) throw this.malformed('registered-models/get-latest-versions', body);
    let latest: ModelVersionRecord | null = null;
    for (const item of list) {
      const record = this.versionOf(item, 'registered-models/get-latest-versions', body);
      if (latest === null || Number(record.version) > Number(latest.version)) latest = record;
    }
    if (latest === null) {
      const stageText = stage === null ? '' : ` and stage '${stage}'`;
      throw notFound(
        this.client.ctx,
        `No versions of model with name '${name}'${stageText} found`,
        {
          name,
          ...(stage === null ? {} : { stage }),
        }
      );
    }
    return latest;
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersionRecord> {
    const body = await this.client.getJson(`${API}/registered-models/alias`, { name, alias });
    return this.versionOf(body['model_version'], 'registered-models/alias', body);
  }

  async getDownloadUri(version: ModelVersionRecord): Promise<string> {
    const body = await this.client.getJson(`${API}/model-versions/get-download-uri`, {
      name: version.name,
      version: version.version,
    });
    const uri = text(body['artifact_uri']);
    if (uri === null || uri === '') throw this.malformed('model-versions/get-download-uri', body);
    return uri;
  }

  private versionOf(value: unknown, route: string, body: unknown): ModelVersionRecord {
    const mv =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
    const name = text(mv?.['name']);
    const version = text(mv?.['version']);
    if (mv === undefined || name === null || version === null || !/^[0-9]+$/.test(version)) {
      throw this.malformed(route, body);
    }
    return {
      name,
      version,
      source: text(mv['source']),
      runId: nonEmpty(text(mv['run_id'])),
      currentStage: text(mv['current_stage']),
      modelId: nonEmpty(text(mv['model_id'])),
    };
  }

  private malformed(route: string, body: unknown): ModelError {
    return resolutionError(
      UNAVAILABLE_CODE,
      this.client.ctx,
      `${API}/${route} answered an unexpected body: ${JSON.stringify(body).slice(0, 200)}`,
      { endpoint: `${API}/${route}` }
    );
  }
}

function loggedModelRecord(value: unknown): LoggedModelRecord | null {
  const info = objectAt(value, 'info');
  const modelId = text(info?.['model_id']);
  const artifactLocation = text(info?.['artifact_uri']);
  if (info === undefined || modelId === null || artifactLocation === null) return null;
  return {
    modelId,
    experimentId: text(info['experiment_id']) ?? '',
    name: text(info['name']) ?? '',
    artifactLocation,
    sourceRunId: nonEmpty(text(info['source_run_id'])),
  };
}

function objectAt(value: unknown, ...keys: string[]): Record<string, unknown> | undefined {
  let v = value;
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function nonEmpty(v: string | null): string | null {
  return v === '' ? null : v;
}
