/**
 * `resolveTrackingUri`: which MLflow store a tracking URI names.
 *
 * As MLflow's `_get_tracking_store` (`mlflow/tracking/_tracking_service/utils.py`): `http(s)://`
 * is a tracking server spoken to over REST; a plain path or `file:` URI is a file store. The
 * default is `MLFLOW_TRACKING_URI`, else `./mlruns` (the file store MLflow 2 uses by default;
 * MLflow 3 defaults to `sqlite:///mlflow.db` unless `./mlruns` exists, and database stores are
 * only reachable here through a tracking server).
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';

/** A local MLflow file store (`mlruns` layout). */
export interface FileTrackingStore {
  readonly kind: 'file';
  /** The absolute root directory of the store. */
  readonly root: string;
  /** The tracking URI as given (for messages). */
  readonly uri: string;
}

/** An MLflow tracking server, spoken to over its REST API. */
export interface RestTrackingStore {
  readonly kind: 'rest';
  /** Scheme, host, port and path prefix, no trailing slash: `http://127.0.0.1:5000`. */
  readonly base: string;
  /** The tracking URI as given (it never holds credentials: those are rejected). */
  readonly uri: string;
}

/** The store a tracking URI names. */
export type TrackingStore = FileTrackingStore | RestTrackingStore;

/** The default file store of MLflow (`DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH`). */
export const DEFAULT_TRACKING_PATH = 'mlruns';

/**
 * Resolves a tracking URI (see the module comment).
 *
 * @param trackingUri - the URI; default `env.MLFLOW_TRACKING_URI`, else `./mlruns`
 * @param env - environment variables to read; default `process.env`
 * @param cwd - the directory relative paths are resolved against; default `process.cwd()`
 * @returns the store
 * @throws {ModelError} E_OPTION_INVALID for a scheme jsfunc cannot speak to (database URIs,
 *   `databricks`), credentials inside the URI, or a malformed URL
 */
export function resolveTrackingUri(
  trackingUri?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd()
): TrackingStore {
  const given =
    trackingUri !== undefined && trackingUri !== ''
      ? trackingUri
      : env['MLFLOW_TRACKING_URI'] !== undefined && env['MLFLOW_TRACKING_URI'] !== ''
        ? env['MLFLOW_TRACKING_URI']
        : DEFAULT_TRACKING_PATH;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(given)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1) {
    return { kind: 'file', root: resolve(cwd, given), uri: given };
  }
  if (scheme === 'file') return { kind: 'file', root: fileRoot(given, cwd), uri: given };
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(given);
    } catch (e) {
      throw invalidTracking(given, `not a valid URL (${(e as Error).message})`);
    }
    if (url.username !== '' || url.password !== '') {
      // fetch refuses such URLs, and they leak into logs: MLflow reads credentials from env.
      throw invalidTracking(
        url.protocol + '//' + url.host + url.pathname,
        'credentials in the URL are not supported; set MLFLOW_TRACKING_USERNAME and ' +
          'MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN'
      );
    }
    const base = `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
    return { kind: 'rest', base, uri: given };
  }
  throw invalidTracking(
    given,
    `the '${scheme}:' tracking URI scheme is not supported: jsfunc reads an MLflow file store ` +
      '(a path or file: URI) or a tracking server (http:// or https://); a database-backed ' +
      'store is reachable through the tracking server in front of it'
  );
}

function fileRoot(uri: string, cwd: string): string {
  if (uri.slice(5).startsWith('//')) {
    try {
      return fileURLToPath(new URL(uri));
    } catch (e) {
      throw invalidTracking(uri, `not a local file URI (${(e as Error).message})`);
    }
  }
  const path = decodeURIComponent(uri.slice(5));
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function invalidTracking(uri: string, what: string): ModelError {
  return new ModelError('E_OPTION_INVALID', `Invalid tracking URI ${uri}: ${what}`, {
    details: { option: 'trackingUri', trackingUri: uri },
  });
}
