/**
 * Listing and downloading a directory through a tracking server's artifact proxy, as MLflow's
 * `HttpArtifactRepository` does (`mlflow/store/artifact/http_artifact_repo.py`; the server side
 * is `_list_artifacts_mlflow_artifacts` and `_download_artifact` in `mlflow/server/handlers.py`):
 *
 * - list: `GET <server>/api/2.0/mlflow-artifacts/artifacts?path=<dir>` answers
 *   `{"files": [{"path": "<basename>", "is_dir": bool, "file_size": int}]}` (no `files` key for an
 *   empty or missing directory); directories are listed recursively;
 * - download: `GET <server>/api/2.0/mlflow-artifacts/artifacts/<dir>/<file>`, streamed to disk.
 *
 * Every listed name must be one path segment (no `/`, `\`, `.`, `..`): a server cannot make the
 * client write outside the destination. A size the listing gave is checked after download.
 *
 * @module
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { HttpArtifactLocation } from './artifact-location.js';
import type { MlflowRestClient } from './rest-client.js';
import { resolutionError, UNAVAILABLE_CODE } from './uri-errors.js';

/** One file under an artifact directory. */
export interface ArtifactFile {
  /** POSIX path relative to the listed directory. */
  readonly path: string;
  /** Size in bytes, when the server gave it. */
  readonly size: number | null;
}

/** How many files are downloaded at once. */
export const DOWNLOAD_CONCURRENCY = 4;

/**
 * Lists every file under an artifact directory, recursively.
 *
 * @param client - the tracking server's client
 * @param location - the directory behind the proxy
 * @returns the files, sorted by path (empty for a missing or empty directory)
 * @throws {ModelError} the client's errors; E_ARTIFACT_PATH for a listed name that is not one
 *   path segment
 */
export async function listArtifactFiles(
  client: MlflowRestClient,
  location: HttpArtifactLocation
): Promise<ArtifactFile[]> {
  const out: ArtifactFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const path = join2(location.root, rel);
    const url = `${location.endpoint}?${new URLSearchParams({ path }).toString()}`;
    const body = await client.request(
      'GET',
      url,
      routeOf(location.endpoint),
      async (r) => {
        const text = await r.text();
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw malformedListing(client, location, text);
        }
      },
      location.sendCredentials
    );
    const files = (body as { files?: unknown } | null)?.files ?? [];
    if (!Array.isArray(files)) throw malformedListing(client, location, body);
    for (const f of files as unknown[]) {
      const entry = f as { path?: unknown; is_dir?: unknown; file_size?: unknown } | null;
      if (entry === null || typeof entry !== 'object' || typeof entry.path !== 'string') {
        throw malformedListing(client, location, body);
      }
      // Older servers list paths relative to the artifact root; keep the last segment only
      // when it is below the listed directory, as the server's own handler does.
      const name = entry.path.includes('/') ? lastSegment(entry.path, path) : entry.path;
      if (name === '' || name === '.' || name === '..' || /[\\/\0]/.test(name)) {
        throw resolutionError(
          'E_ARTIFACT_PATH',
          client.ctx,
          `the artifact listing of ${path || '/'} names ${JSON.stringify(entry.path)}, which is not a file name`,
          { artifactPath: entry.path }
        );
      }
      const child = join2(rel, name);
      if (entry.is_dir === true) await walk(child);
      else {
        const size = Number(entry.file_size);
        out.push({
          path: child,
          size: entry.file_size === undefined || !Number.isFinite(size) ? null : size,
        });
      }
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Downloads files of an artifact directory into `dest`, a few at a time.
 *
 * @param client - the tracking server's client
 * @param location - the directory behind the proxy
 * @param files - the files, from {@link listArtifactFiles}
 * @param dest - the local directory (created as needed)
 * @throws {ModelError} the client's errors; UNAVAILABLE_CODE when a file's size differs from
 *   the listing (a truncated transfer)
 */
export async function downloadArtifactFiles(
  client: MlflowRestClient,
  location: HttpArtifactLocation,
  files: readonly ArtifactFile[],
  dest: string
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // After a failure no worker takes another file, so nothing writes into `dest` once the
    // caller, seeing the error, removes it.
    while (!failed && next < files.length) {
      const file = files[next++]!;
      const target = join(dest, ...file.path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      const remote = join2(location.root, file.path);
      const url = `${location.endpoint}/${remote.split('/').map(encodeURIComponent).join('/')}`;
      await client.request(
        'GET',
        url,
        `${routeOf(location.endpoint)}/${remote}`,
        async (response) => {
          const body = response.body
            ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
            : Readable.from([]);
          await pipeline(body, createWriteStream(target));
        },
        location.sendCredentials
      );
      const written = (await stat(target)).size;
      if (file.size !== null && written !== file.size) {
        throw resolutionError(
          UNAVAILABLE_CODE,
          client.ctx,
          `downloading ${remote} gave ${written} bytes, the listing said ${file.size}`,
          { artifactPath: remote, bytes: written, expected: file.size }
        );
      }
    }
  };
  const guarded = async (): Promise<void> => {
    try {
      await worker();
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, files.length) }, guarded)
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
}

function join2(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}

function lastSegment(path: string, dir: string): string {
  const prefix = dir === '' ? '' : `${dir}/`;
  return path.startsWith(prefix) && !path.slice(prefix.length).includes('/')
    ? path.slice(prefix.length)
    : path;
}

function routeOf(endpoint: string): string {
  try {
    return new URL(endpoint).pathname;
  } catch {
    return endpoint;
  }
}

function malformedListing(
  client: MlflowRestClient,
  location: HttpArtifactLocation,
  body: unknown
): Error {
  return resolutionError(
    UNAVAILABLE_CODE,
    client.ctx,
    `the artifact listing of ${location.root || '/'} is not MLflow's {"files": [...]}: ${JSON.stringify(body).slice(0, 200)}`,
    { endpoint: routeOf(location.endpoint) }
  );
}
