/**
 * `parseModelUri`: what a model URI names, by MLflow's rules.
 *
 * - `runs:/<run_id>/<path>`: `RunsArtifactRepository.parse_runs_uri`
 *   (`mlflow/store/artifact/runs_artifact_repo.py`): the first segment is the run id, the rest
 *   (possibly empty) a path under the run's artifact root.
 * - `models:/...`: `_parse_model_uri` (`mlflow/store/artifact/utils/models.py`): two segments
 *   `<name>/<suffix>` where the suffix is digits (a version), `latest` (any case) or a stage;
 *   one segment with `@` is `<name>@<alias>` (split at the LAST `@`); one segment without `@`
 *   is a logged model id (`models:/m-<hex>`, MLflow 3). More than two segments, an empty name,
 *   suffix or alias are errors.
 * - local paths (relative, absolute, Windows drive paths) and `file:` URIs.
 *
 * Deliberate differences: `runs://host/...` and `models://host/...` (Databricks profile URIs)
 * are rejected rather than half-supported; a stage is checked here against MLflow's stage list
 * (MLflow checks it later, in `get_latest_versions`); a version's leading zeros are dropped
 * (`models:/m/01` is version 1, as the SQL store reads it).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidUri } from './uri-errors.js';

/** MLflow's model version stages (`model_version_stages.py`, `ALL_STAGES`), canonical case. */
export const MODEL_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;

/** A canonical model version stage. */
export type ModelStage = (typeof MODEL_STAGES)[number];

/** What a model URI names. */
export type ParsedModelUri =
  /** A directory (or MLmodel file) on this machine: a plain path or a `file:` URI. */
  | { readonly kind: 'local'; readonly path: string }
  /** `runs:/<runId>/<artifactPath>`; `artifactPath` is `''` for the run's artifact root. */
  | { readonly kind: 'run'; readonly runId: string; readonly artifactPath: string }
  /** `models:/<name>/<version>`. */
  | { readonly kind: 'model-version'; readonly name: string; readonly version: string }
  /** `models:/<name>/latest` (`stage: null`) or `models:/<name>/<stage>`. */
  | { readonly kind: 'model-latest'; readonly name: string; readonly stage: ModelStage | null }
  /** `models:/<name>@<alias>`. */
  | { readonly kind: 'model-alias'; readonly name: string; readonly alias: string }
  /** `models:/<modelId>`: an MLflow 3 logged model. */
  | { readonly kind: 'logged-model'; readonly modelId: string };

const RUNS_FORM = "Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'";

const MODELS_FORM =
  "Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias' " +
  "where suffix is a model version, stage, or the string 'latest' and where alias is a " +
  'registered model alias. Only one of suffix or alias can be defined at a time.';

/**
 * Parses a model URI or path (see the module comment for the rules).
 *
 * @param uri - `runs:/...`, `models:/...`, `file:...` or a local path
 * @param cwd - the directory relative paths are resolved against; default `process.cwd()`
 * @returns what the URI names
 * @throws {ModelError} E_OPTION_INVALID for a malformed `runs:/` or `models:/` URI, an unknown
 *   stage, or a scheme jsfunc cannot load from (`s3:`, `dbfs:`, ...) that is not an existing
 *   local path either
 */
export function parseModelUri(uri: string, cwd: string = process.cwd()): ParsedModelUri {
  const ctx = { uri };
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw invalidUri({ uri: String(uri) }, 'a model URI must be a non-empty string');
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1];
  // A one-letter "scheme" is a Windows drive (C:\models\m), never a URI scheme.
  if (scheme === undefined || scheme.length === 1) {
    return { kind: 'local', path: resolve(cwd, uri) };
  }
  const rest = uri.slice(scheme.length + 1);
  switch (scheme.toLowerCase()) {
    case 'file':
      return { kind: 'local', path: filePath(uri, rest, cwd) };
    case 'runs':
      return parseRuns(uri, rest);
    case 'models':
      return parseModels(uri, rest);
    default:
      // A local directory whose name has a colon (`v1:final/model`) is still a path.
      if (existsSync(resolve(cwd, uri))) return { kind: 'local', path: resolve(cwd, uri) };
      throw invalidUri(
        ctx,
        `the '${scheme}:' scheme is not supported; give a local path, a file: URI, ` +
          'runs:/<run_id>/<path> or models:/<name>/<version|latest|stage>, ' +
          'models:/<name>@<alias> or models:/<model_id>',
        { scheme }
      );
  }
}

/** `file:///abs`, `file://localhost/abs`, `file:/abs` and `file:relative` (as MLflow reads them). */
function filePath(uri: string, rest: string, cwd: string): string {
  if (rest.startsWith('//')) {
    try {
      // fileURLToPath rejects a remote host (file://server/share on POSIX) with a clear message.
      return fileURLToPath(new URL(uri));
    } catch (e) {
      throw invalidUri({ uri }, `not a local file URI (${(e as Error).message})`);
    }
  }
  const path = decodeURIComponent(rest.split(/[?#]/, 1)[0]!);
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** The path part of a `scheme:` URI: `/...` required, no host, query dropped (as urlparse). */
function uriPath(uri: string, rest: string, form: string, dropFragment: boolean): string {
  if (rest.startsWith('//')) {
    throw invalidUri(
      { uri },
      'URIs with a host (Databricks profiles, e.g. runs://profile/...) are not supported. ' + form
    );
  }
  let path = rest.split('?', 1)[0]!;
  if (dropFragment) path = path.split('#', 1)[0]!;
  if (!path.startsWith('/') || path.length <= 1) {
    throw invalidUri({ uri }, `Not a proper URI. ${form}`);
  }
  return path.slice(1);
}

function parseRuns(uri: string, rest: string): ParsedModelUri {
  const path = uriPath(uri, rest, RUNS_FORM, true);
  const [runId, ...parts] = path.split('/');
  if (runId === undefined || runId === '') {
    throw invalidUri({ uri }, `Not a proper runs:/ URI. ${RUNS_FORM}`);
  }
  // Trailing or doubled slashes name the same artifact; normalising keeps one cache key for it.
  return { kind: 'run', runId, artifactPath: parts.filter((p) => p !== '').join('/') };
}

function parseModels(uri: string, rest: string): ParsedModelUri {
  // MLflow parses models:/ URIs with allow_fragments=False: '#' belongs to the name.
  const path = uriPath(uri, rest, MODELS_FORM, false);
  const parts = path.split('/');
  const improper = (): never => {
    throw invalidUri({ uri }, `Not a proper models:/ URI. ${MODELS_FORM}`);
  };
  if (parts.length > 2 || parts[0]!.trim() === '') improper();
  if (parts.length === 2) {
    const [name, suffix] = parts as [string, string];
    if (suffix.trim() === '') improper();
    if (/^[0-9]+$/.test(suffix)) {
      return { kind: 'model-version', name, version: String(BigInt(suffix)) };
    }
    if (suffix.toLowerCase() === 'latest') return { kind: 'model-latest', name, stage: null };
    return { kind: 'model-latest', name, stage: canonicalStage(uri, suffix) };
  }
  const only = parts[0]!;
  if (only.includes('@')) {
    const at = only.lastIndexOf('@');
    const name = only.slice(0, at);
    const alias = only.slice(at + 1);
    if (alias.trim() === '' || name.trim() === '') improper();
    return { kind: 'model-alias', name, alias };
  }
  return { kind: 'logged-model', modelId: only };
}

/**
 * MLflow's `get_canonical_stage`: a stage name matched case-insensitively.
 *
 * @param uri - the URI, for the error
 * @param stage - the stage as written
 * @returns the canonical stage
 * @throws {ModelError} E_OPTION_INVALID for an unknown stage
 */
function canonicalStage(uri: string, stage: string): ModelStage {
  const found = MODEL_STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (found === undefined) {
    throw invalidUri(
      { uri },
      `Invalid Model Version stage: ${stage}. Value must be one of ${MODEL_STAGES.join(', ')} ` +
        "(or a version number, or 'latest')",
      { stage }
    );
  }
  return found;
}

/**
 * The canonical text of a URI that names one immutable artifact: a run's path, a registered
 * model version, a logged model. Used as the cache identity of a download.
 *
 * @param parsed - a parsed `runs:/` URI, model version or logged model
 * @returns `runs:/<id>/<path>`, `models:/<name>/<version>` or `models:/<model_id>`
 */
export function immutableRef(
  parsed: Extract<ParsedModelUri, { kind: 'run' | 'model-version' | 'logged-model' }>
): string {
  switch (parsed.kind) {
    case 'run':
      return `runs:/${parsed.runId}/${parsed.artifactPath}`;
    case 'model-version':
      return `models:/${parsed.name}/${parsed.version}`;
    case 'logged-model':
      return `models:/${parsed.modelId}`;
  }
}
