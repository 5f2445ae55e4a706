/**
 * Writing an MLflow file store the way MLflow's `FileStore` writes it, field for field, so the
 * MLflow UI (`mlflow ui --backend-store-uri <dir>`) and MLflow's client read what jsfunc wrote:
 *
 * - experiment `meta.yaml`: `dict(Experiment)` without `tags` (`_create_experiment_with_id`):
 *   `artifact_location`, `creation_time`, `experiment_id` (text), `last_update_time`,
 *   `lifecycle_stage`, `name`;
 * - run `meta.yaml`: `_make_persisted_run_info_dict`: the `RunInfo` fields plus the legacy
 *   `tags: []`, `source_type: 4` (LOCAL), `source_name`, `entry_point_name`, `source_version`
 *   (all `''`), `status` as MLflow's int enum, and `deleted_time: null` while the run is being
 *   created (`create_run`); ending the run rewrites it without `deleted_time`
 *   (`_overwrite_run_info`);
 * - tags: one file per key under `tags/`, the value as is, no trailing newline (`write_to`).
 *
 * Timestamps are milliseconds since the epoch (`get_current_time_millis`). `meta.yaml` files are
 * written atomically (MLflow's are not; its readers retry an empty file, ours never produce one).
 *
 * @module
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelError } from '../errors.js';
import { appendToUri } from './artifact-location.js';
import {
  ACTIVE,
  ARTIFACTS_DIR,
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  DELETED,
  experimentDirs,
  readExperimentMeta,
  TAGS_DIR,
  TRASH_DIR,
  textField,
} from './file-store-layout.js';
import { isValidExperimentId, newExperimentId } from './mlflow-ids.js';
import { type MetaDict, writeMetaYaml } from './mlflow-yaml.js';

/** MLflow's `RunStatus` enum, as persisted in a run's `meta.yaml`. */
export const RunStatus = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 } as const;

/** `SourceType.LOCAL`, the only source type MLflow's file store persists. */
const SOURCE_TYPE_LOCAL = 4;

/** An experiment of a file store. */
export interface ExperimentInfo {
  readonly experimentId: string;
  readonly name: string;
  readonly artifactLocation: string;
  readonly dir: string;
}

/**
 * Prepares a store root as MLflow's `FileStore.__init__` does: a missing root is created with
 * the `Default` experiment `0`; `.trash` is created when missing.
 *
 * @param root - the store root
 */
export async function ensureStoreRoot(root: string): Promise<void> {
  const st = await stat(root).catch(() => undefined);
  if (st !== undefined && !st.isDirectory()) {
    throw new ModelError('E_OPTION_INVALID', `The MLflow file store ${root} is not a directory`, {
      details: { root },
    });
  }
  if (st === undefined) {
    await mkdir(root, { recursive: true });
    await createExperimentWithId(root, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME);
  }
  await mkdir(join(root, TRASH_DIR), { recursive: true });
}

/**
 * The experiment to log into: by id, by name (created when missing, as `mlflow.set_experiment`),
 * or the default experiment `0` (created when missing).
 *
 * @param root - the store root (prepared by {@link ensureStoreRoot})
 * @param select - `experimentId` or `experimentName`, at most one
 * @returns the experiment
 * @throws {ModelError} E_OPTION_INVALID when both are given, the id is malformed or unknown, or
 *   the experiment is deleted
 */
export async function selectExperiment(
  root: string,
  select: { experimentId?: string | undefined; experimentName?: string | undefined }
): Promise<ExperimentInfo> {
  const { experimentId, experimentName } = select;
  if (experimentId !== undefined && experimentName !== undefined) {
    throw optionError(
      'experimentId',
      'give options.experimentId or options.experimentName, not both'
    );
  }
  const all = await listExperiments(root);
  if (experimentName !== undefined) {
    if (typeof experimentName !== 'string' || experimentName.trim() === '') {
      throw optionError('experimentName', 'options.experimentName must be a non-empty string');
    }
    const found = all.find((e) => e.name === experimentName);
    if (found !== undefined) return active(found, `experiment '${experimentName}'`);
    let id = newExperimentId();
    while (all.some((e) => e.experimentId === id)) id = newExperimentId();
    return createExperimentWithId(root, id, experimentName);
  }
  const id = experimentId ?? DEFAULT_EXPERIMENT_ID;
  if (typeof id !== 'string' || !isValidExperimentId(id)) {
    throw optionError('experimentId', `Invalid experiment ID: '${String(id)}'`);
  }
  const found = all.find((e) => e.experimentId === id);
  if (found !== undefined) return active(found, `experiment ${id}`);
  if (id === DEFAULT_EXPERIMENT_ID) {
    return createExperimentWithId(root, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME);
  }
  throw optionError('experimentId', `Could not find experiment with ID ${id} in ${root}`);
}

/**
 * Creates an experiment directory and its `meta.yaml` (`_create_experiment_with_id`); the
 * artifact location is `<root as file URI>/<id>`.
 *
 * @param root - the store root
 * @param experimentId - the id (the directory name)
 * @param name - the experiment name
 * @returns the experiment
 */
export async function createExperimentWithId(
  root: string,
  experimentId: string,
  name: string
): Promise<ExperimentInfo & { lifecycleStage: string }> {
  const dir = join(root, experimentId);
  await mkdir(dir, { recursive: true });
  const now = Date.now();
  const artifactLocation = appendToUri(pathToFileURL(root).href, experimentId);
  await writeMetaYaml(dir, {
    artifact_location: artifactLocation,
    creation_time: now,
    experiment_id: experimentId,
    last_update_time: now,
    lifecycle_stage: ACTIVE,
    name,
  });
  return { experimentId, name, artifactLocation, dir, lifecycleStage: ACTIVE };
}

/**
 * The persisted form of a run's `RunInfo` (see the module comment).
 *
 * @param info - the run's fields
 * @returns the mapping to write as the run's `meta.yaml`
 */
export function runMeta(info: {
  runId: string;
  runName: string;
  experimentId: string;
  artifactUri: string;
  userId: string;
  status: number;
  startTime: number;
  endTime: number | null;
  lifecycleStage?: string;
}): MetaDict {
  return {
    artifact_uri: info.artifactUri,
    end_time: info.endTime,
    entry_point_name: '',
    experiment_id: info.experimentId,
    lifecycle_stage: info.lifecycleStage ?? ACTIVE,
    run_id: info.runId,
    run_name: info.runName,
    run_uuid: info.runId,
    source_name: '',
    source_type: SOURCE_TYPE_LOCAL,
    source_version: '',
    start_time: info.startTime,
    status: info.status,
    tags: [],
    user_id: info.userId,
  };
}

/**
 * Writes tag files (`tags/<key>`, the value without a trailing newline). A key with `/` is a
 * nested path, as in MLflow.
 *
 * @param dir - the run, version or model directory
 * @param tags - key to value
 */
export async function writeTags(
  dir: string,
  tags: Readonly<Record<string, string>>
): Promise<void> {
  for (const [key, value] of Object.entries(tags)) {
    if (
      key === '' ||
      key.split('/').some((s) => s === '' || s === '.' || s === '..') ||
      key.includes('\\')
    ) {
      throw optionError('tags', `Invalid tag name: '${key}'`);
    }
    const path = join(dir, TAGS_DIR, ...key.split('/'));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, value, 'utf8');
  }
}

/**
 * The user MLflow records (`_get_user_id`: `getpass.getuser()`).
 *
 * @returns the login name, or `unknown`
 */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The artifact directory of a run in a file store, as MLflow's `_get_artifact_dir`. */
export function runArtifactUri(experiment: ExperimentInfo, runId: string): string {
  return appendToUri(experiment.artifactLocation, `${runId}/${ARTIFACTS_DIR}`);
}

async function listExperiments(
  root: string
): Promise<(ExperimentInfo & { lifecycleStage: string; deleted: boolean })[]> {
  const out: (ExperimentInfo & { lifecycleStage: string; deleted: boolean })[] = [];
  for (const exp of await experimentDirs(root)) {
    const meta = await readExperimentMeta(exp.dir);
    if (meta === null || textField(meta, 'experiment_id') !== exp.id) continue;
    out.push({
      experimentId: exp.id,
      name: textField(meta, 'name') ?? '',
      artifactLocation: textField(meta, 'artifact_location') ?? '',
      dir: exp.dir,
      lifecycleStage: exp.deleted ? DELETED : (textField(meta, 'lifecycle_stage') ?? ACTIVE),
      deleted: exp.deleted,
    });
  }
  return out;
}

function active(e: ExperimentInfo & { lifecycleStage: string }, what: string): ExperimentInfo {
  if (e.lifecycleStage !== ACTIVE) {
    throw optionError(
      'experiment',
      `Cannot log to the deleted ${what} (restore it, or remove it from ${TRASH_DIR})`
    );
  }
  return {
    experimentId: e.experimentId,
    name: e.name,
    artifactLocation: e.artifactLocation,
    dir: e.dir,
  };
}

function optionError(option: string, message: string): ModelError {
  return new ModelError('E_OPTION_INVALID', message, { details: { option } });
}
