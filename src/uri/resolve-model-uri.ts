/**
 * `resolveModelUri`: the local package directory behind a model URI, as MLflow's
 * `_download_artifact_from_uri` finds it for `mlflow.pyfunc.load_model`.
 *
 * 1. Parse the URI (`parse-model-uri.ts`). A local path or `file:` URI is returned as is (an
 *    `MLmodel` file path becomes its directory); `loadModel` reports a missing package.
 * 2. Pick the store from the tracking URI (`options.trackingUri`, `MLFLOW_TRACKING_URI`,
 *    `./mlruns`): a file store is read in place, a tracking server over REST.
 * 3. Find the artifact URI, with MLflow's rules:
 *    - `runs:/<id>/<path>`: the run's `artifact_uri` + path; when that holds no `MLmodel` and
 *      the path's first segment names a logged model the run produced, that model's artifacts
 *      (MLflow 3, `RunsArtifactRepository`);
 *    - `models:/<name>/<version|latest|stage>`, `models:/<name>@<alias>`: the version's download
 *      URI (`storage_location` or `source`; a `models:/` or `runs:/` source is resolved in turn);
 *    - `models:/<model_id>`: the logged model's `artifact_location`.
 * 4. Local artifacts (`file:` or a path) are used in place; artifacts behind the server's
 *    `mlflow-artifacts` proxy are listed, downloaded into the cache (`model-cache.ts`) and used
 *    from there. A second resolve of the same version, run path or logged model makes no request
 *    at all; an alias, `latest` or a stage costs one request (which version it means today).
 *
 * Deliberate differences from MLflow: local artifacts are not copied to a temporary directory
 * first (MLflow copies, then loads the copy); `registered_model_meta` (`model_name`,
 * `model_version`) is written into downloaded registered versions only, not into file-store
 * packages read in place nor logged models.
 *
 * @module
 */
import { stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { downloadArtifactFiles, listArtifactFiles } from './artifact-download.js';
import { appendToUri, artifactLocation, type HttpArtifactLocation } from './artifact-location.js';
import { FileModelStore } from './file-model-store.js';
import { dumpMlflowYaml } from './mlflow-yaml.js';
import {
  cacheKey,
  defaultCacheDir,
  installDownload,
  lookupCache,
  type CacheEntry,
} from './model-cache.js';
import type { ModelStore, ModelVersionRecord } from './model-store.js';
import { immutableRef, parseModelUri, type ParsedModelUri } from './parse-model-uri.js';
import { MlflowRestClient } from './rest-client.js';
import { RestModelStore } from './rest-model-store.js';
import {
  type FileTrackingStore,
  resolveTrackingUri,
  type RestTrackingStore,
} from './tracking-uri.js';
import { notFound, type ResolutionContext, throwIfAborted } from './uri-errors.js';

/** Options for {@link resolveModelUri}. */
export interface ResolveModelUriOptions {
  /**
   * The MLflow tracking URI: a file store path or `file:` URI, or a tracking server
   * (`http(s)://`). Default `MLFLOW_TRACKING_URI`, else `./mlruns`.
   */
  trackingUri?: string;
  /**
   * Where downloads are cached. Default `JSFUNC_CACHE_DIR`, else
   * `$XDG_CACHE_HOME/jsfunc/models`, else `~/.cache/jsfunc/models`.
   */
  cacheDir?: string;
  /** Aborts the resolution (requests and downloads); the error is E_ABORTED. */
  signal?: AbortSignal;
  /** The fetch implementation for a tracking server. Default the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Environment to read `MLFLOW_TRACKING_URI`, the credentials (`MLFLOW_TRACKING_TOKEN`,
   * `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`) and `JSFUNC_CACHE_DIR` from.
   * Default `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long each request waits for the server's answer, in ms. Default 60000. */
  timeoutMs?: number;
}

/** Where a model URI led. */
export interface ResolvedModelUri {
  /** The local package directory (holding `MLmodel`). */
  readonly path: string;
  /** The URI as given. */
  readonly uri: string;
  /** `local` (a path), `file-store` (read in place) or `rest` (a tracking server). */
  readonly source: 'local' | 'file-store' | 'rest';
  /** The registered model name, for `models:/<name>...` URIs. */
  readonly name?: string;
  /** The registered model version the URI meant (an alias or `latest` resolved). */
  readonly version?: string;
  /** The run that produced the artifacts, when known. */
  readonly runId?: string;
  /** The MLflow 3 logged model, when the artifacts are one. */
  readonly modelId?: string;
  /** The artifact URI the package was read from. */
  readonly artifactUri?: string;
  /** True when the package came from the download cache without downloading. */
  readonly cached?: boolean;
}

/** What a URI points to in a store, before its artifacts are read. */
interface Target {
  readonly artifactUri: string;
  readonly name?: string;
  readonly version?: string;
  readonly runId?: string;
  readonly modelId?: string;
}

/** Says whether an artifact URI holds an `MLmodel` file (for the runs:/ logged-model fallback). */
type Probe = (artifactUri: string) => Promise<boolean>;

/**
 * Resolves a model URI to a local package directory, downloading (once) when it lives on a
 * tracking server. See the module comment for the rules.
 *
 * @param uri - a local path, `file:` URI, `runs:/<run_id>/<path>`, `models:/<name>/<version>`,
 *   `models:/<name>/latest`, `models:/<name>/<stage>`, `models:/<name>@<alias>` or
 *   `models:/<model_id>`
 * @param options - tracking URI, cache directory, signal, fetch, environment, timeout
 * @returns the package directory and what the URI resolved to
 * @throws {ModelError} E_OPTION_INVALID for a malformed or unsupported URI or tracking URI, or
 *   credentials the server refused; E_MLMODEL_MISSING for an unknown run, registered model,
 *   version, alias or logged model, or artifacts without an `MLmodel` file; E_FILE_NOT_FOUND
 *   for a missing file store or an unreachable or failing server; E_ABORTED
 *
 * @example
 * ```ts
 * const { path, version } = await resolveModelUri('models:/fraud@champion', {
 *   trackingUri: 'http://127.0.0.1:5000',
 * });
 * const model = await loadModel(path);
 * ```
 */
export async function resolveModelUri(
  uri: string,
  options: ResolveModelUriOptions = {}
): Promise<ResolvedModelUri> {
  const env = options.env ?? process.env;
  throwIfAborted({ uri }, options.signal);
  const parsed = parseModelUri(uri);
  if (parsed.kind === 'local') return { path: await packageDir(parsed.path), uri, source: 'local' };
  const tracking = resolveTrackingUri(options.trackingUri, env);
  const ctx: ResolutionContext = { uri, trackingUri: tracking.uri };
  if (tracking.kind === 'file') return resolveInFileStore(parsed, tracking, ctx, options.signal);
  return resolveOnServer(parsed, tracking, ctx, options, env);
}

async function resolveInFileStore(
  parsed: Exclude<ParsedModelUri, { kind: 'local' }>,
  tracking: FileTrackingStore,
  ctx: ResolutionContext,
  signal: AbortSignal | undefined
): Promise<ResolvedModelUri> {
  const store = new FileModelStore(tracking.root, ctx);
  const probe: Probe = async (artifactUri) => {
    const location = artifactLocation(artifactUri, tracking, ctx);
    return location.kind === 'local' && (await isFile(join(location.path, 'MLmodel')));
  };
  const target = await resolveTarget(parsed, store, probe, ctx, signal);
  throwIfAborted(ctx, signal);
  const location = artifactLocation(target.artifactUri, tracking, ctx);
  // A file store hands out local URIs; artifactLocation rejected anything else it cannot read.
  const path = location.kind === 'local' ? location.path : '';
  if (!(await isFile(join(path, 'MLmodel')))) throw noMLmodel(ctx, target);
  return { ...describe(target), path, uri: ctx.uri, source: 'file-store' };
}

async function resolveOnServer(
  parsed: Exclude<ParsedModelUri, { kind: 'local' }>,
  tracking: RestTrackingStore,
  ctx: ResolutionContext,
  options: ResolveModelUriOptions,
  env: Readonly<Record<string, string | undefined>>
): Promise<ResolvedModelUri> {
  const client = new MlflowRestClient(tracking, ctx, {
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    env,
  });
  const store = new RestModelStore(client);
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);

  // Immutable references are looked up in the cache before any request; an alias, `latest` or
  // a stage first asks which version it means today.
  let version: ModelVersionRecord | undefined;
  let ref: string;
  if (parsed.kind === 'run' || parsed.kind === 'model-version' || parsed.kind === 'logged-model') {
    ref = immutableRef(parsed);
  } else {
    version = await findVersion(parsed, store);
    ref = `models:/${parsed.name}/${version.version}`;
  }
  const key = cacheKey(tracking.base, ref);
  const hit = await lookupCache(cacheDir, key);
  if (hit !== null) return fromCache(hit, ctx);

  // Listings are kept: the runs:/ fallback probe and the download list the same directory.
  const listings = new Map<string, ReturnType<typeof listArtifactFiles>>();
  const list = (location: HttpArtifactLocation): ReturnType<typeof listArtifactFiles> => {
    const k = `${location.endpoint}|${location.root}`;
    let files = listings.get(k);
    if (files === undefined) listings.set(k, (files = listArtifactFiles(client, location)));
    return files;
  };
  const probe: Probe = async (artifactUri) => {
    const location = artifactLocation(artifactUri, tracking, ctx);
    if (location.kind === 'local') return isFile(join(location.path, 'MLmodel'));
    return (await list(location)).some((f) => f.path === 'MLmodel');
  };
  const target = await resolveTarget(parsed, store, probe, ctx, options.signal, version);
  throwIfAborted(ctx, options.signal);
  const location = artifactLocation(target.artifactUri, tracking, ctx);
  if (location.kind === 'local') {
    // The server stores artifacts on a file system this machine shares: read them in place.
    if (!(await isFile(join(location.path, 'MLmodel')))) throw noMLmodel(ctx, target);
    return { ...describe(target), path: location.path, uri: ctx.uri, source: 'rest' };
  }
  const files = await list(location);
  if (!files.some((f) => f.path === 'MLmodel')) throw noMLmodel(ctx, target);
  const entry = await installDownload(cacheDir, key, async (dir) => {
    await downloadArtifactFiles(client, location, files, dir);
    if (
      target.name !== undefined &&
      target.version !== undefined &&
      parsed.kind !== 'logged-model'
    ) {
      // ModelsArtifactRepository._add_registered_model_meta_file.
      await writeFile(
        join(dir, 'registered_model_meta'),
        dumpMlflowYaml({ model_name: target.name, model_version: target.version })
      );
    }
    return {
      ref,
      trackingUri: tracking.base,
      artifactUri: target.artifactUri,
      ...(target.name === undefined ? {} : { name: target.name }),
      ...(target.version === undefined ? {} : { version: target.version }),
      ...(target.runId === undefined ? {} : { runId: target.runId }),
      ...(target.modelId === undefined ? {} : { modelId: target.modelId }),
    };
  });
  return { ...describe(target), path: entry.path, uri: ctx.uri, source: 'rest', cached: false };
}

/** The version an alias, `latest`, a stage or a version number means. */
async function findVersion(
  parsed: Extract<ParsedModelUri, { kind: 'model-version' | 'model-latest' | 'model-alias' }>,
  store: ModelStore
): Promise<ModelVersionRecord> {
  switch (parsed.kind) {
    case 'model-version':
      return store.getModelVersion(parsed.name, parsed.version);
    case 'model-latest':
      return store.getLatestVersion(parsed.name, parsed.stage);
    case 'model-alias':
      return store.getVersionByAlias(parsed.name, parsed.alias);
  }
}

/** Follows a parsed URI to its artifact URI (step 3 of the module comment). */
async function resolveTarget(
  parsed: Exclude<ParsedModelUri, { kind: 'local' }>,
  store: ModelStore,
  probe: Probe,
  ctx: ResolutionContext,
  signal: AbortSignal | undefined,
  known?: ModelVersionRecord,
  depth = 0
): Promise<Target> {
  throwIfAborted(ctx, signal);
  switch (parsed.kind) {
    case 'run': {
      const run = await store.getRun(parsed.runId);
      const artifactUri = appendToUri(run.artifactUri, parsed.artifactPath);
      if (parsed.artifactPath !== '' && !(await probe(artifactUri))) {
        const [first, ...rest] = parsed.artifactPath.split('/');
        const logged = await store.findLoggedModelOfRun(run, first!);
        if (logged !== null) {
          return {
            artifactUri: appendToUri(logged.artifactLocation, rest.join('/')),
            runId: run.runId,
            modelId: logged.modelId,
          };
        }
      }
      return { artifactUri, runId: run.runId };
    }
    case 'logged-model': {
      const model = await store.getLoggedModel(parsed.modelId);
      return {
        artifactUri: model.artifactLocation,
        modelId: model.modelId,
        ...(model.sourceRunId === null ? {} : { runId: model.sourceRunId }),
      };
    }
    default: {
      const mv = known ?? (await findVersion(parsed, store));
      const downloadUri = await store.getDownloadUri(mv);
      const base: Target = {
        artifactUri: downloadUri,
        name: parsed.name,
        version: mv.version,
        ...(mv.runId === null ? {} : { runId: mv.runId }),
        ...(mv.modelId === null ? {} : { modelId: mv.modelId }),
      };
      // A version registered from `models:/m-...` or `runs:/...` without a resolved location.
      if (/^(models|runs):/i.test(downloadUri) && depth < 3) {
        const inner = parseModelUri(downloadUri);
        if (inner.kind !== 'local') {
          const t = await resolveTarget(inner, store, probe, ctx, signal, undefined, depth + 1);
          return { ...t, ...base, artifactUri: t.artifactUri, runId: base.runId ?? t.runId };
        }
      }
      return base;
    }
  }
}

function fromCache(hit: CacheEntry, ctx: ResolutionContext): ResolvedModelUri {
  const m = hit.manifest;
  return {
    path: hit.path,
    uri: ctx.uri,
    source: 'rest',
    ...(m.name === undefined ? {} : { name: m.name }),
    ...(m.version === undefined ? {} : { version: m.version }),
    ...(m.runId === undefined ? {} : { runId: m.runId }),
    ...(m.modelId === undefined ? {} : { modelId: m.modelId }),
    artifactUri: m.artifactUri,
    cached: true,
  };
}

function describe(target: Target): Omit<ResolvedModelUri, 'path' | 'uri' | 'source'> {
  return {
    ...(target.name === undefined ? {} : { name: target.name }),
    ...(target.version === undefined ? {} : { version: target.version }),
    ...(target.runId === undefined ? {} : { runId: target.runId }),
    ...(target.modelId === undefined ? {} : { modelId: target.modelId }),
    artifactUri: target.artifactUri,
  };
}

function noMLmodel(ctx: ResolutionContext, target: Target): Error {
  return notFound(ctx, `no MLmodel file at ${target.artifactUri}`, {
    artifactUri: target.artifactUri,
  });
}

/** A path to an `MLmodel` file names its directory, as `readMLmodel` accepts. */
async function packageDir(path: string): Promise<string> {
  if (basename(path) === 'MLmodel' && (await isFile(path))) return dirname(path);
  return path;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
