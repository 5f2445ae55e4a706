/**
 * Builds an MLflow file store in MLflow's exact layout, for the URI tests. The `meta.yaml` texts
 * are written literally, as PyYAML's `safe_dump(..., default_flow_style=False)` writes them, with
 * the field sets of MLflow's own writers (not with jsfunc's writer, which is what is tested):
 *
 * - experiment: `FileStore._create_experiment_with_id` (`dict(Experiment)` minus `tags`);
 * - run: `_make_persisted_run_info_dict` (RunInfo + `tags: []`, `source_type: 4`, ...);
 * - logged model (MLflow 3): `_make_persisted_model_dict` + `lifecycle_stage`, under
 *   `<exp>/models/<model_id>/`, artifacts in `<exp>/models/<model_id>/artifacts/`;
 * - registered model: `_save_registered_model_as_meta_file` (minus `tags`, `latest_versions`);
 * - version: `_save_model_version_as_meta_file`, in MLflow 3's field set (`model_id`,
 *   `deployment_job_state`, `storage_location`, no `aliases`) and, for `legacy`, MLflow 2.x's
 *   (`aliases: []`, no `storage_location`, empty strings);
 * - alias: `aliases/<alias>` holding the version number, no newline (`write_to`).
 *
 * Contents:
 * - experiment `0` (Default): run A (`artifacts/model`, uuid `run-a`), a deleted run D
 *   (`artifacts/model`, uuid `run-deleted`);
 * - experiment E (`fraud-exp`): run B (`artifacts/model`, uuid `run-b`), run C with no artifacts
 *   that produced the logged model `m-...` named `lm` (uuid `logged`), and a deleted logged model;
 * - experiment X in `.trash` (deleted) with run T (`artifacts/model`, uuid `run-trash`);
 * - registered model `fraud`: v1 (None, run A), v2 (Production, run B), v3 (Staging, from the
 *   logged model: source `models:/m-...`), v4 (Deleted_Internal, run A); aliases
 *   `champion` -> 2, `stale` -> 4;
 * - `legacy` (MLflow 2.x meta): v1 whose source is `runs:/<run A>/model`;
 * - `empty`: a registered model without versions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The ids and paths of a built store. */
export interface FileStoreFixture {
  readonly root: string;
  readonly experimentId: string;
  readonly trashExperimentId: string;
  readonly runA: string;
  readonly runB: string;
  readonly runC: string;
  readonly runDeleted: string;
  readonly runTrash: string;
  readonly loggedModelId: string;
  readonly deletedLoggedModelId: string;
  /** The package directory of each uuid (`run-a`, `run-b`, `logged`, ...). */
  readonly packages: Readonly<Record<string, string>>;
}

const T0 = 1_700_000_000_000;

/**
 * Writes the store under `root` (which must not exist yet or be empty).
 *
 * @param root - the store root
 * @returns its ids and package paths
 */
export async function buildFileStore(root: string): Promise<FileStoreFixture> {
  const f = {
    root,
    experimentId: '427830985283937445',
    trashExperimentId: '918273645546372819',
    runA: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    runB: '1b2c3d4e5f60718293a4b5c6d7e8f90a',
    runC: '2c3d4e5f60718293a4b5c6d7e8f90a1b',
    runDeleted: '3d4e5f60718293a4b5c6d7e8f90a1b2c',
    runTrash: '4e5f60718293a4b5c6d7e8f90a1b2c3d',
    loggedModelId: 'm-5f60718293a4b5c6d7e8f90a1b2c3d4e',
    deletedLoggedModelId: 'm-60718293a4b5c6d7e8f90a1b2c3d4e5f',
  };
  const rootUri = pathToFileURL(root).href;
  const packages: Record<string, string> = {};
  await mkdir(join(root, '.trash'), { recursive: true });

  await experiment(root, '0', 'Default', `${rootUri}/0`);
  await experiment(root, f.experimentId, 'fraud-exp', `${rootUri}/${f.experimentId}`);
  await experiment(
    join(root, '.trash'),
    f.trashExperimentId,
    'old-exp',
    `${rootUri}/${f.trashExperimentId}`,
    'deleted'
  );

  packages['run-a'] = await run(root, '0', f.runA, `${rootUri}/0`, 'run-a');
  packages['run-deleted'] = await run(
    root,
    '0',
    f.runDeleted,
    `${rootUri}/0`,
    'run-deleted',
    'deleted'
  );
  packages['run-b'] = await run(
    root,
    f.experimentId,
    f.runB,
    `${rootUri}/${f.experimentId}`,
    'run-b'
  );
  await run(root, f.experimentId, f.runC, `${rootUri}/${f.experimentId}`, null);
  packages['run-trash'] = await run(
    join(root, '.trash'),
    f.trashExperimentId,
    f.runTrash,
    `${rootUri}/${f.trashExperimentId}`,
    'run-trash',
    'deleted'
  );

  packages['logged'] = await loggedModel(
    root,
    f.experimentId,
    f.loggedModelId,
    'lm',
    f.runC,
    rootUri
  );
  await loggedModel(
    root,
    f.experimentId,
    f.deletedLoggedModelId,
    'gone',
    f.runC,
    rootUri,
    'deleted'
  );

  const runAModel = `${rootUri}/0/${f.runA}/artifacts/model`;
  const runBModel = `${rootUri}/${f.experimentId}/${f.runB}/artifacts/model`;
  const loggedArtifacts = `${rootUri}/${f.experimentId}/models/${f.loggedModelId}/artifacts`;
  const fraud = join(root, 'models', 'fraud');
  await registeredModel(fraud, 'fraud');
  await version3(fraud, 'fraud', 1, 'None', runAModel, runAModel, f.runA, null);
  await version3(fraud, 'fraud', 2, 'Production', runBModel, runBModel, f.runB, null);
  await version3(
    fraud,
    'fraud',
    3,
    'Staging',
    `models:/${f.loggedModelId}`,
    loggedArtifacts,
    f.runC,
    f.loggedModelId
  );
  await version3(fraud, 'fraud', 4, 'Deleted_Internal', runAModel, runAModel, f.runA, null);
  await mkdir(join(fraud, 'aliases'));
  await writeFile(join(fraud, 'aliases', 'champion'), '2');
  await writeFile(join(fraud, 'aliases', 'stale'), '4');

  const legacy = join(root, 'models', 'legacy');
  await registeredModel(legacy, 'legacy');
  await mkdir(join(legacy, 'version-1'));
  await writeFile(
    join(legacy, 'version-1', 'meta.yaml'),
    `aliases: []
creation_timestamp: ${T0 + 7000}
current_stage: None
description: ''
last_updated_timestamp: ${T0 + 7000}
name: legacy
run_id: ''
run_link: ''
source: runs:/${f.runA}/model
status: READY
status_message: ''
user_id: ''
version: 1
`
  );
  await registeredModel(join(root, 'models', 'empty'), 'empty');
  return { ...f, packages };
}

/**
 * The MLmodel of a fixture package: a minimal MLflow 2.7-style file whose `model_uuid` says
 * which package it is.
 *
 * @param uuid - the package's name in the fixture
 * @returns the MLmodel text
 */
export function mlmodelText(uuid: string): string {
  return `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.model
    python_model: python_model.pkl
    python_version: 3.10.12
mlflow_version: 2.7.1
model_uuid: ${uuid}
utc_time_created: '2023-01-01 10:57:16.077123'
`;
}

/**
 * Writes a model package: `MLmodel`, a small file, and a nested one.
 *
 * @param dir - the package directory
 * @param uuid - the package's name
 * @returns `dir`
 */
export async function writePackage(dir: string, uuid: string): Promise<string> {
  await mkdir(join(dir, 'data', 'nested'), { recursive: true });
  await writeFile(join(dir, 'MLmodel'), mlmodelText(uuid));
  await writeFile(join(dir, 'python_env.yaml'), 'python: 3.10.12\n');
  await writeFile(join(dir, 'data', 'nested', 'weights.bin'), Buffer.from(uuid.repeat(100)));
  return dir;
}

async function experiment(
  parent: string,
  id: string,
  name: string,
  artifactLocation: string,
  stage = 'active'
): Promise<void> {
  await mkdir(join(parent, id), { recursive: true });
  await writeFile(
    join(parent, id, 'meta.yaml'),
    `artifact_location: ${artifactLocation}
creation_time: ${T0}
experiment_id: '${id}'
last_update_time: ${T0}
lifecycle_stage: ${stage}
name: ${name}
`
  );
}

async function run(
  parent: string,
  experimentId: string,
  runId: string,
  experimentArtifacts: string,
  uuid: string | null,
  stage = 'active'
): Promise<string> {
  const dir = join(parent, experimentId, runId);
  for (const sub of ['metrics', 'params', 'artifacts', 'tags']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await writeFile(
    join(dir, 'meta.yaml'),
    `artifact_uri: ${experimentArtifacts}/${runId}/artifacts
end_time: ${T0 + 1000}
entry_point_name: ''
experiment_id: '${experimentId}'
lifecycle_stage: ${stage}
run_id: ${runId}
run_name: bold-owl-42
run_uuid: ${runId}
source_name: ''
source_type: 4
source_version: ''
start_time: ${T0 + 500}
status: 3
tags: []
user_id: tester
`
  );
  await writeFile(join(dir, 'tags', 'mlflow.runName'), 'bold-owl-42');
  return uuid === null ? '' : writePackage(join(dir, 'artifacts', 'model'), uuid);
}

async function loggedModel(
  root: string,
  experimentId: string,
  modelId: string,
  name: string,
  sourceRunId: string,
  rootUri: string,
  stage = 'active'
): Promise<string> {
  const dir = join(root, experimentId, 'models', modelId);
  await mkdir(join(dir, 'metrics'), { recursive: true });
  await mkdir(join(dir, 'params'), { recursive: true });
  await writeFile(
    join(dir, 'meta.yaml'),
    `artifact_location: ${rootUri}/${experimentId}/models/${modelId}/artifacts
creation_timestamp: ${T0 + 2000}
experiment_id: '${experimentId}'
last_updated_timestamp: ${T0 + 3000}
lifecycle_stage: ${stage}
model_id: ${modelId}
model_type: null
name: ${name}
source_run_id: ${sourceRunId}
status: 2
status_message: null
`
  );
  return writePackage(join(dir, 'artifacts'), stage === 'active' ? 'logged' : 'logged-deleted');
}

async function registeredModel(dir: string, name: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'meta.yaml'),
    `aliases: {}
creation_timestamp: ${T0 + 4000}
description: null
last_updated_timestamp: ${T0 + 9000}
name: ${name}
`
  );
}

async function version3(
  modelDir: string,
  name: string,
  version: number,
  stage: string,
  source: string,
  storageLocation: string,
  runId: string,
  modelId: string | null
): Promise<void> {
  const dir = join(modelDir, `version-${version}`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'meta.yaml'),
    `creation_timestamp: ${T0 + 5000 + version}
current_stage: ${stage}
deployment_job_state: null
description: null
last_updated_timestamp: ${T0 + 5000 + version}
model_id: ${modelId ?? 'null'}
name: ${name}
run_id: ${runId}
run_link: null
source: ${source}
status: READY
status_message: null
storage_location: ${storageLocation}
user_id: null
version: ${version}
`
  );
}
