/**
 * `artifactLocation`: where the artifacts behind an artifact URI can be read from.
 *
 * MLflow picks an artifact repository by scheme (`artifact_repository_registry.py`). jsfunc
 * reads two kinds:
 * - local: a plain path or a `file:` URI (`LocalArtifactRepository`), read in place;
 * - the tracking server's artifact proxy: `mlflow-artifacts:/<path>` (`MlflowArtifactsRepository`
 *   resolves it to `<tracking server>/api/2.0/mlflow-artifacts/artifacts/<path>`), or such an
 *   `http(s)://.../mlflow-artifacts/artifacts/...` URL itself (`HttpArtifactRepository`).
 *
 * Other schemes (`s3:`, `gs:`, `wasbs:`, `dbfs:`, ...) need cloud credentials and clients; the
 * error says to run the tracking server with `--serve-artifacts` (the default since MLflow 2),
 * which hands out `mlflow-artifacts:` URIs instead.
 *
 * Deliberate difference: for a tracking server under a path prefix (`http://h/mlflow`), MLflow
 * 2.x builds `http://h/api/2.0/mlflow-artifacts/artifacts/mlflow/<path>`; jsfunc keeps the
 * prefix in front (`http://h/mlflow/api/2.0/mlflow-artifacts/artifacts/<path>`), where a
 * reverse proxy serving the prefix routes it.
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrackingStore } from './tracking-uri.js';
import { invalidUri, type ResolutionContext } from './uri-errors.js';

/** The artifact proxy route of an MLflow tracking server. */
export const ARTIFACTS_ROUTE = '/api/2.0/mlflow-artifacts/artifacts';

/** Artifacts on this machine. */
export interface LocalArtifactLocation {
  readonly kind: 'local';
  /** Absolute path of the artifact directory. */
  readonly path: string;
}

/** Artifacts behind a tracking server's `mlflow-artifacts` proxy. */
export interface HttpArtifactLocation {
  readonly kind: 'http';
  /** The proxy endpoint: `<server>/api/2.0/mlflow-artifacts/artifacts`, no trailing slash. */
  readonly endpoint: string;
  /** The artifact path under the proxy root, no leading or trailing slash (may be `''`). */
  readonly root: string;
  /**
   * Whether the tracking credentials may be sent: only to the tracking server's own origin, so a
   * download URI pointing elsewhere never receives the token.
   */
  readonly sendCredentials: boolean;
}

/** Where an artifact URI can be read from. */
export type ArtifactLocation = LocalArtifactLocation | HttpArtifactLocation;

/**
 * Classifies an artifact URI (see the module comment).
 *
 * @param artifactUri - a run's `artifact_uri` (plus a path), a version's download URI, a logged
 *   model's `artifact_location`
 * @param tracking - the store that handed out the URI (`mlflow-artifacts:` needs a server)
 * @param ctx - the model URI being resolved, for errors
 * @returns the location
 * @throws {ModelError} E_OPTION_INVALID for a scheme jsfunc cannot read, or `mlflow-artifacts:`
 *   from a file store (there is no server to proxy it)
 */
export function artifactLocation(
  artifactUri: string,
  tracking: TrackingStore,
  ctx: ResolutionContext
): ArtifactLocation {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(artifactUri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1) {
    return { kind: 'local', path: resolve(artifactUri) };
  }
  if (scheme === 'file') return { kind: 'local', path: localPath(artifactUri, ctx) };
  if (scheme === 'mlflow-artifacts') {
    if (tracking.kind !== 'rest') {
      throw invalidUri(
        ctx,
        `the artifact URI ${artifactUri} is served by a tracking server, but the tracking URI ` +
          'is a file store; set the tracking URI to that server (http://...)',
        { artifactUri }
      );
    }
    const rest = artifactUri.slice('mlflow-artifacts:'.length);
    let base = tracking.base;
    let path = rest;
    if (rest.startsWith('//')) {
      // mlflow-artifacts://host:port/path: that host, with the tracking server's scheme.
      const slash = rest.indexOf('/', 2);
      const host = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
      path = slash < 0 ? '' : rest.slice(slash);
      base = `${new URL(tracking.base).protocol}//${host}`;
    }
    return {
      kind: 'http',
      endpoint: `${base}${ARTIFACTS_ROUTE}`,
      root: trimSlashes(path),
      sendCredentials: sameOrigin(base, tracking.base),
    };
  }
  if (scheme === 'http' || scheme === 'https') {
    const at = artifactUri.indexOf('/mlflow-artifacts/artifacts');
    if (at >= 0) {
      const endpoint = artifactUri.slice(0, at + '/mlflow-artifacts/artifacts'.length);
      return {
        kind: 'http',
        endpoint,
        root: trimSlashes(artifactUri.slice(endpoint.length)),
        sendCredentials: tracking.kind === 'rest' && sameOrigin(endpoint, tracking.base),
      };
    }
  }
  throw invalidUri(
    ctx,
    `the artifacts are stored at ${artifactUri}, which jsfunc cannot read directly ` +
      `('${scheme}:'); serve them through the tracking server (mlflow server --serve-artifacts, ` +
      'the default since MLflow 2, hands out mlflow-artifacts: URIs)',
    { artifactUri, scheme }
  );
}

/**
 * Joins an artifact URI and a relative path with `/`, as MLflow's `append_to_uri_path`.
 *
 * @param uri - the base URI
 * @param path - a relative POSIX path (may be empty)
 * @returns the joined URI
 */
export function appendToUri(uri: string, path: string): string {
  if (path === '') return uri;
  return `${uri.replace(/\/+$/, '')}/${trimSlashes(path)}`;
}

function localPath(uri: string, ctx: ResolutionContext): string {
  const rest = uri.slice('file:'.length);
  if (rest.startsWith('//')) {
    try {
      return fileURLToPath(new URL(uri));
    } catch (e) {
      throw invalidUri(ctx, `${uri} is not a local file URI (${(e as Error).message})`, {
        artifactUri: uri,
      });
    }
  }
  const path = decodeURIComponent(rest);
  return isAbsolute(path) ? path : resolve(path);
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
