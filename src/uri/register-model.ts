/**
 * `registerModel`: a new version of a registered model in an MLflow file store, as
 * `mlflow.register_model` with the file registry (`mlflow/tracking/_model_registry/fluent.py`,
 * `mlflow/store/model_registry/file_store.py`):
 *
 * - the registered model `models/<name>/meta.yaml` is created when missing (`aliases: {}`,
 *   `creation_timestamp`, `description: null`, `last_updated_timestamp`, `name`), else its
 *   `last_updated_timestamp` is updated;
 * - the version is one more than the highest existing version, deleted ones included (version
 *   numbers are never reused); its directory is created with an exclusive `mkdir`, so two
 *   concurrent registrations get different numbers (MLflow retries 3 times; jsfunc up to 10);
 * - `version-<n>/meta.yaml` holds `dict(FileModelVersion)` without `tags`, `metrics`, `params`,
 *   `aliases` (MLflow 3's field set): `creation_timestamp`, `current_stage: None`,
 *   `deployment_job_state: null`, `description`, `last_updated_timestamp`, `model_id`, `name`,
 *   `run_id`, `run_link: null`, `source`, `status: READY`, `status_message: null`,
 *   `storage_location`, `user_id: null`, `version` (an int).
 *
 * `source` and `storage_location` follow MLflow: for `runs:/<id>/<path>` the source is the
 * artifact location the URI resolves to (`RunsArtifactRepository.get_underlying_uri`) and
 * `run_id` is set; for `models:/<model_id>` the source stays the URI and `storage_location` is
 * the logged model's `artifact_location`; for another registered version the source stays the
 * URI and `storage_location` is that version's location. A local path is recorded as an
 * absolute `file://` URI (MLflow records it as given, which breaks once the working directory
 * changes).
 *
 * @module
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { ModelError } from '../errors.js';
import { MODELS_DIR, textField } from './file-store-layout.js';
import { writeTags } from './file-store-writer.js';
import { modelNameProblem } from './mlflow-ids.js';
import { type MetaDict, readMetaYaml, writeMetaYaml } from './mlflow-yaml.js';
import { parseModelUri } from './parse-model-uri.js';
import { resolveModelUri } from './resolve-model-uri.js';
import { resolveTrackingUri } from './tracking-uri.js';

/** Options for {@link registerModel}. */
export interface RegisterModelOptions {
  /** The file store: a path or `file:` URI. Default `MLFLOW_TRACKING_URI`, else `./mlruns`. */
  trackingUri?: string;
  /** The new version's description. Default none. */
  description?: string;
  /** Tags of the new version. */
  tags?: Readonly<Record<string, string>>;
  /** Environment to read `MLFLOW_TRACKING_URI` from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The version {@link registerModel} created. */
export interface RegisteredModelVersion {
  readonly name: string;
  /** The version number, as text (`'1'`), as MLflow's API returns it. */
  readonly version: string;
  /** `models:/<name>/<version>`. */
  readonly modelUri: string;
  /** The recorded `source`. */
  readonly source: string;
  /** The run that produced the model, when known. */
  readonly runId?: string;
}

const MAX_VERSION_ATTEMPTS = 10;

/**
 * Registers a model as a new version of `name` in an MLflow file store (see the module
 * comment). The model must resolve in that store and hold an MLmodel file.
 *
 * @param modelUri - `runs:/<run_id>/<path>` (as `logModel` returns), `models:/...`, a
 *   local path or `file:` URI
 * @param name - the registered model name (no `/`, `\`, `%`)
 * @param options - the store, a description, version tags
 * @returns the name and the new version
 * @throws {ModelError} E_OPTION_INVALID for a tracking server URI (only file stores are
 *   written) or an invalid name; the errors of `resolveModelUri` for a model that cannot
 *   be found
 *
 * @example
 * ```ts
 * const { modelUri } = await logModel('out/model', { trackingUri: 'mlruns' });
 * const { version } = await registerModel(modelUri, 'fraud', { trackingUri: 'mlruns' });
 * const { path } = await resolveModelUri(`models:/fraud/${version}`, { trackingUri: 'mlruns' });
 * ```
 */
export async function registerModel(
  modelUri: string,
  name: string,
  options: RegisterModelOptions = {}
): Promise<RegisteredModelVersion> {
  const env = options.env ?? process.env;
  const problem = typeof name === 'string' ? modelNameProblem(name) : 'the name must be a string';
  if (problem !== null) {
    throw new ModelError('E_OPTION_INVALID', problem, {
      details: { option: 'name', name: String(name) },
    });
  }
  const tracking = resolveTrackingUri(options.trackingUri, env);
  if (tracking.kind !== 'file') {
    throw new ModelError(
      'E_OPTION_INVALID',
      `registerModel writes to an MLflow file store; ${tracking.uri} is a tracking server`,
      { details: { option: 'trackingUri', trackingUri: tracking.uri } }
    );
  }
  const parsed = parseModelUri(modelUri);
  const resolved = await resolveModelUri(modelUri, { trackingUri: tracking.root, env });
  let source: string;
  let storageLocation: string;
  let modelId: string | null = null;
  if (parsed.kind === 'local') {
    source = storageLocation = pathToFileURL(resolved.path).href;
  } else if (parsed.kind === 'run' && resolved.modelId === undefined) {
    source = storageLocation = resolved.artifactUri!;
  } else if (parsed.kind === 'run') {
    // MLflow 3: a runs:/ URI naming a logged model registers the logged model.
    source = `models:/${resolved.modelId!}`;
    storageLocation = resolved.artifactUri!;
    modelId = resolved.modelId!;
  } else {
    source = modelUri;
    storageLocation = resolved.artifactUri!;
    if (parsed.kind === 'logged-model') modelId = resolved.modelId ?? null;
  }
  // As MLflow: a run id for runs:/ URIs and logged models (their source run), none otherwise.
  const runId =
    parsed.kind === 'run' || parsed.kind === 'logged-model' ? (resolved.runId ?? null) : null;

  const modelsDir = join(tracking.root, MODELS_DIR);
  await mkdir(modelsDir, { recursive: true });
  const modelDir = join(modelsDir, name);
  const registered = await ensureRegisteredModel(modelDir, name);

  for (let attempt = 0; ; attempt++) {
    const version = (await highestVersion(modelDir)) + 1;
    const dir = join(modelDir, `version-${version}`);
    try {
      await mkdir(dir);
    } catch (e) {
      // Another registration took this number first: count again.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < MAX_VERSION_ATTEMPTS)
        continue;
      throw e;
    }
    const now = Date.now();
    await writeMetaYaml(dir, {
      creation_timestamp: now,
      current_stage: 'None',
      deployment_job_state: null,
      description: options.description ?? null,
      last_updated_timestamp: now,
      model_id: modelId,
      name,
      run_id: runId,
      run_link: null,
      source,
      status: 'READY',
      status_message: null,
      storage_location: storageLocation,
      user_id: null,
      version,
    });
    if (options.tags !== undefined) await writeTags(dir, options.tags);
    await writeMetaYaml(modelDir, { ...registered, last_updated_timestamp: now });
    return {
      name,
      version: String(version),
      modelUri: `models:/${name}/${version}`,
      source,
      ...(runId === null ? {} : { runId }),
    };
  }
}

/**
 * The registered model's `meta.yaml`, created when missing. The directory is created with an
 * exclusive `mkdir`: the process that creates it writes the file; another one waits for it.
 */
async function ensureRegisteredModel(modelDir: string, name: string): Promise<MetaDict> {
  let created = false;
  try {
    await mkdir(modelDir);
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (created) {
    const now = Date.now();
    const meta: MetaDict = {
      aliases: {},
      creation_timestamp: now,
      description: null,
      last_updated_timestamp: now,
      name,
    };
    await writeMetaYaml(modelDir, meta);
    return meta;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const meta = await readMetaYaml(modelDir);
    if (meta !== null && textField(meta, 'name') !== null) return meta;
    await sleep(50);
  }
  throw new ModelError(
    'E_OPTION_INVALID',
    `${modelDir} exists but holds no registered model meta.yaml`,
    { details: { option: 'name', name } }
  );
}

/** The highest `version-<n>` number (deleted versions included), 0 when there is none. */
async function highestVersion(modelDir: string): Promise<number> {
  let max = 0;
  for (const entry of await readdir(modelDir, { withFileTypes: true })) {
    const m = /^version-([0-9]+)$/.exec(entry.name);
    if (m === null || !entry.isDirectory()) continue;
    max = Math.max(max, Number(m[1]));
  }
  return max;
}
