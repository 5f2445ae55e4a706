/**
 * The directory layout of MLflow's file stores, shared by the reader and the writer.
 *
 * Tracking store (`mlflow/store/tracking/file_store.py`):
 * ```
 * <root>/.trash/<exp_id>/...                    deleted experiments
 * <root>/<exp_id>/meta.yaml                      Experiment
 * <root>/<exp_id>/<run_id>/meta.yaml             RunInfo (+ legacy fields)
 * <root>/<exp_id>/<run_id>/{metrics,params,tags}/<key>
 * <root>/<exp_id>/<run_id>/artifacts/...         when the artifact root is the store itself
 * <root>/<exp_id>/models/<model_id>/meta.yaml    MLflow 3 LoggedModel (+ artifacts/, tags/, ...)
 * ```
 * Registry (`mlflow/store/model_registry/file_store.py`, the same root by default):
 * ```
 * <root>/models/<name>/meta.yaml                 RegisteredModel
 * <root>/models/<name>/aliases/<alias>           the version number, as text, no newline
 * <root>/models/<name>/version-<n>/meta.yaml     ModelVersion + storage_location
 * ```
 *
 * @module
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type MetaDict, readMetaYaml } from './mlflow-yaml.js';

/** `FileStore.META_DATA_FILE_NAME`. */
export const META_FILE = 'meta.yaml';
/** `FileStore.TRASH_FOLDER_NAME`: deleted experiments. */
export const TRASH_DIR = '.trash';
/** The registry's folder under the root, and the logged models' folder under an experiment. */
export const MODELS_DIR = 'models';
/** `FileStore.ARTIFACTS_FOLDER_NAME`. */
export const ARTIFACTS_DIR = 'artifacts';
/** `FileStore.TAGS_FOLDER_NAME` (runs, registered models, versions, logged models). */
export const TAGS_DIR = 'tags';
/** `FileStore.REGISTERED_MODELS_ALIASES_FOLDER_NAME`. */
export const ALIASES_DIR = 'aliases';
/** `FileStore.DEFAULT_EXPERIMENT_ID`. */
export const DEFAULT_EXPERIMENT_ID = '0';
/** `Experiment.DEFAULT_EXPERIMENT_NAME`. */
export const DEFAULT_EXPERIMENT_NAME = 'Default';
/** `LifecycleStage.ACTIVE`. */
export const ACTIVE = 'active';
/** `LifecycleStage.DELETED`. */
export const DELETED = 'deleted';
/** `STAGE_DELETED_INTERNAL`: the stage a deleted model version keeps in the file registry. */
export const STAGE_DELETED_INTERNAL = 'Deleted_Internal';

/** One experiment directory. */
export interface ExperimentDir {
  /** The directory name, which is the experiment id. */
  readonly id: string;
  readonly dir: string;
  /** Whether it lies in `.trash`. */
  readonly deleted: boolean;
}

/**
 * The experiment directories of a store: active ones first (every subdirectory of the root but
 * `.trash` and `models`, as `_get_active_experiments`), then the deleted ones in `.trash`.
 *
 * @param root - the store root
 * @returns the directories, each group sorted by name
 */
export async function experimentDirs(root: string): Promise<ExperimentDir[]> {
  const list = async (parent: string, deleted: boolean): Promise<ExperimentDir[]> => {
    const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && e.name !== TRASH_DIR && e.name !== MODELS_DIR)
      .map((e) => e.name)
      .sort()
      .map((id) => ({ id, dir: join(parent, id), deleted }));
  };
  return [...(await list(root, false)), ...(await list(join(root, TRASH_DIR), true))];
}

/**
 * Reads an experiment's `meta.yaml`, with MLflow's legacy fix-up (an int `experiment_id` read
 * as text, `_read_persisted_experiment_dict`).
 *
 * @param dir - the experiment directory
 * @returns the mapping, or null when there is none
 */
export async function readExperimentMeta(dir: string): Promise<MetaDict | null> {
  const meta = await readMetaYaml(dir).catch(() => null);
  if (meta !== null && typeof meta['experiment_id'] === 'number') {
    meta['experiment_id'] = String(meta['experiment_id']);
  }
  return meta;
}

/**
 * A string field of a meta mapping, or null when absent, null or not text (ids written as
 * numbers by old MLflow versions are read as text).
 *
 * @param meta - the mapping
 * @param key - the field
 * @returns the text or null
 */
export function textField(meta: MetaDict, key: string): string | null {
  const v = meta[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}
