/**
 * `logModel`: a model package logged to a new run of an MLflow file store, as MLflow 2's
 * `mlflow.pyfunc.log_model` inside `mlflow.start_run()` leaves it:
 *
 * 1. the experiment (by id, by name, created when missing, or `0`);
 * 2. a run directory `<exp>/<run_id>/` with `meta.yaml` (RUNNING), `metrics/`, `params/`,
 *    `artifacts/`, and the tags `mlflow.runName`, `mlflow.user`, `mlflow.source.name`,
 *    `mlflow.source.type`;
 * 3. the package copied to `<run artifact root>/<artifactPath>/` (through a temporary sibling
 *    renamed into place), with `run_id` and `artifact_path` set in the copy's `MLmodel`, as
 *    `Model.log` records them;
 * 4. the `mlflow.log-model.history` tag (`FileStore.record_logged_model`): a JSON list holding
 *    the MLmodel as a dict, which MLflow 2's UI reads to list the run's models;
 * 5. `meta.yaml` rewritten FINISHED with `end_time`, or FAILED when a step failed.
 *
 * The model is then loadable as `runs:/<run_id>/<artifactPath>` and registrable with
 * `registerModel`. MLflow 3 would also create a logged model (`<exp>/models/m-<id>/`) and keep
 * the artifacts there; jsfunc writes the MLflow 2 layout, which MLflow 3 still reads.
 *
 * @module
 */
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { ModelError } from '../errors.js';
import { artifactLocation, appendToUri } from './artifact-location.js';
import { ARTIFACTS_DIR } from './file-store-layout.js';
import {
  currentUser,
  ensureStoreRoot,
  runArtifactUri,
  runMeta,
  RunStatus,
  selectExperiment,
  writeTags,
} from './file-store-writer.js';
import { newRunId, randomRunName } from './mlflow-ids.js';
import { parseMlflowYaml, PYYAML_OPTIONS, writeMetaYaml } from './mlflow-yaml.js';
import { resolveTrackingUri } from './tracking-uri.js';

/** Options for {@link logModel}. */
export interface LogModelOptions {
  /** The file store: a path or `file:` URI. Default `MLFLOW_TRACKING_URI`, else `./mlruns`. */
  trackingUri?: string;
  /** Log into the experiment with this name, created when missing. */
  experimentName?: string;
  /** Log into the experiment with this id. Default `0` (MLflow's `Default` experiment). */
  experimentId?: string;
  /** The run name. Default a random `<adjective>-<animal>-<n>`, as MLflow names runs. */
  runName?: string;
  /** Where the package goes under the run's artifacts. Default `model`. */
  artifactPath?: string;
  /** Extra run tags. */
  tags?: Readonly<Record<string, string>>;
  /** Environment to read `MLFLOW_TRACKING_URI` from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What {@link logModel} created. */
export interface LogModelResult {
  /** The new run's id (32 hex digits). */
  readonly runId: string;
  /** `runs:/<runId>/<artifactPath>`: the URI to load or register the model by. */
  readonly modelUri: string;
  readonly experimentId: string;
  /** The artifact URI of the logged package (`file:///.../artifacts/<artifactPath>`). */
  readonly artifactUri: string;
}

/**
 * Logs a local model package to a new run of an MLflow file store (see the module comment).
 *
 * @param localPackageDir - the package directory (or its `MLmodel` file)
 * @param options - store, experiment, run name, artifact path, tags
 * @returns the run id and the model's `runs:/` URI
 * @throws {ModelError} E_MLMODEL_MISSING when the directory has no MLmodel file;
 *   E_OPTION_INVALID for a tracking server URI (only file stores are written), a bad artifact
 *   path, or an unknown or deleted experiment; E_SAVE_FAILED when copying fails
 *
 * @example
 * ```ts
 * const { runId, modelUri } = await logModel('out/model', { experimentName: 'fraud' });
 * const { version } = await registerModel(modelUri, 'fraud');
 * ```
 */
export async function logModel(
  localPackageDir: string,
  options: LogModelOptions = {}
): Promise<LogModelResult> {
  const source = await packageDirectory(localPackageDir);
  const artifactPath = checkArtifactPath(options.artifactPath ?? 'model');
  const tracking = resolveTrackingUri(options.trackingUri, options.env ?? process.env);
  if (tracking.kind !== 'file') {
    throw new ModelError(
      'E_OPTION_INVALID',
      `logModel writes to an MLflow file store; ${tracking.uri} is a tracking server ` +
        '(log with MLflow there, or give a file store path)',
      { details: { option: 'trackingUri', trackingUri: tracking.uri } }
    );
  }
  await ensureStoreRoot(tracking.root);
  const experiment = await selectExperiment(tracking.root, options);
  const ctx = { uri: source, trackingUri: tracking.uri };
  const runId = newRunId();
  const runName = options.runName ?? randomRunName();
  const artifactUri = runArtifactUri(experiment, runId);
  const location = artifactLocation(artifactUri, tracking, ctx);
  const runDir = join(experiment.dir, runId);
  const startTime = Date.now();
  const info = {
    runId,
    runName,
    experimentId: experiment.experimentId,
    artifactUri,
    userId: currentUser(),
    startTime,
  };
  await mkdir(runDir, { recursive: false });
  await writeMetaYaml(runDir, {
    ...runMeta({ ...info, status: RunStatus.RUNNING, endTime: null }),
    deleted_time: null,
  });
  for (const sub of ['metrics', 'params', ARTIFACTS_DIR]) await mkdir(join(runDir, sub));
  try {
    await writeTags(runDir, {
      'mlflow.runName': runName,
      'mlflow.user': info.userId,
      'mlflow.source.name': 'jsfunc',
      'mlflow.source.type': 'LOCAL',
      ...options.tags,
    });
    const localArtifacts = location.kind === 'local' ? location.path : runDir;
    const target = join(localArtifacts, ...artifactPath.split('/'));
    const mlmodel = await copyPackage(source, target, { runId, artifactPath });
    await writeTags(runDir, { 'mlflow.log-model.history': JSON.stringify([mlmodel]) });
  } catch (e) {
    await writeMetaYaml(
      runDir,
      runMeta({ ...info, status: RunStatus.FAILED, endTime: Date.now() })
    );
    throw e;
  }
  await writeMetaYaml(
    runDir,
    runMeta({ ...info, status: RunStatus.FINISHED, endTime: Date.now() })
  );
  return {
    runId,
    modelUri: `runs:/${runId}/${artifactPath}`,
    experimentId: experiment.experimentId,
    artifactUri: appendToUri(artifactUri, artifactPath),
  };
}

/** A package directory: the directory itself or the one holding the given MLmodel file. */
async function packageDirectory(path: string): Promise<string> {
  let dir = path;
  if (basename(path) === 'MLmodel' && (await stat(path).catch(() => undefined))?.isFile()) {
    dir = dirname(path);
  }
  if (!(await stat(join(dir, 'MLmodel')).catch(() => undefined))?.isFile()) {
    throw new ModelError('E_MLMODEL_MISSING', `No MLmodel file in ${path}: not a model package`, {
      details: { path },
    });
  }
  return dir;
}

/** A relative POSIX path of plain segments (`model`, `models/fraud`). */
function checkArtifactPath(path: string): string {
  const trimmed = typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : '';
  const segments = trimmed.split('/');
  if (
    trimmed === '' ||
    segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\')) ||
    /^[A-Za-z]:/.test(trimmed)
  ) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.artifactPath must be a relative path of plain segments (like 'model'), found ${JSON.stringify(path)}`,
      { details: { option: 'artifactPath' } }
    );
  }
  return trimmed;
}

/**
 * Copies the package to `target` through a temporary sibling renamed into place, then records
 * `run_id` and `artifact_path` in the copy's MLmodel.
 *
 * @returns the copy's MLmodel as a plain object (for the log-model history tag)
 */
async function copyPackage(
  source: string,
  target: string,
  fields: { runId: string; artifactPath: string }
): Promise<Record<string, unknown>> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await cp(source, tmp, { recursive: true, dereference: true, errorOnExist: true, force: false });
    const mlmodel = await recordRun(join(tmp, 'MLmodel'), fields);
    await rename(tmp, target);
    return mlmodel;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (ModelError.is(e)) throw e;
    throw new ModelError(
      'E_SAVE_FAILED',
      `Cannot copy the package ${source} to ${target}: ${(e as Error).message}`,
      { details: { path: source, target }, cause: e }
    );
  }
}

/**
 * Sets `run_id` and `artifact_path` in an MLmodel file, keeping every other key and its text;
 * keys stay sorted, as MLflow writes them. The edit is checked by parsing both versions: if
 * anything but the two keys changed, the file is left as it was.
 */
async function recordRun(
  file: string,
  fields: { runId: string; artifactPath: string }
): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8');
  const before = parseMlflowYaml(text) as Record<string, unknown> | null;
  if (before === null || typeof before !== 'object' || Array.isArray(before)) {
    throw new ModelError('E_MLMODEL_INVALID', `${file} is not a YAML mapping`, {
      details: { path: file },
    });
  }
  const doc = parseDocument(text, PYYAML_OPTIONS);
  doc.set('artifact_path', fields.artifactPath);
  doc.set('run_id', fields.runId);
  const map = doc.contents as { items?: { key: unknown }[] } | null;
  map?.items?.sort((a, b) => {
    const x = String((a.key as { value?: unknown })?.value ?? a.key);
    const y = String((b.key as { value?: unknown })?.value ?? b.key);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const updated = doc.toString({ lineWidth: 0 });
  const after = parseMlflowYaml(updated) as Record<string, unknown>;
  const expected = { ...before, artifact_path: fields.artifactPath, run_id: fields.runId };
  if (!isDeepStrictEqual(after, expected)) return before;
  await writeFile(file, updated, 'utf8');
  return after;
}
