/**
 * The local cache of downloaded model packages.
 *
 * Layout: `<cacheDir>/<key>/model/` is the package, `<cacheDir>/<key>/manifest.json` records
 * what was downloaded (every file with its size, the artifact URI, version, run id). `key` is the
 * sha256 of the tracking server and an immutable reference to the artifact
 * (`models:/<name>/<version>`, `runs:/<run_id>/<path>`, `models:/<model_id>`), so an alias or
 * `latest` that moves to another version is another entry, and a second resolve of the same
 * reference is served from disk without asking the server anything.
 *
 * Concurrency, within one process or across processes sharing the directory: a download fills
 * a private temporary directory (`.tmp-<key>-<pid>-<random>`) next to the entries, writes its
 * manifest last, then renames the whole directory to `<key>` in one step. `rename` of a
 * directory onto an existing non-empty one fails (`ENOTEMPTY`/`EEXIST`), so when two downloads
 * race, the first rename wins; the loser checks the winner's entry, removes its own copy and
 * uses the winner's. Readers therefore only ever see complete entries. A hit is still verified
 * against its manifest (every file present with its size, nothing extra): an entry damaged by
 * hand is moved aside and downloaded again.
 *
 * Not handled: temporary directories of killed processes stay behind (they are named
 * `.tmp-*`, safe to delete when no jsfunc process runs); nothing is ever evicted.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';

/** The record of one cached download. */
export interface CacheManifest {
  /** Manifest format version. */
  readonly format: 1;
  /** The immutable reference the entry is keyed by. */
  readonly ref: string;
  /** The tracking server it came from. */
  readonly trackingUri: string;
  /** The artifact URI that was downloaded. */
  readonly artifactUri: string;
  readonly name?: string;
  readonly version?: string;
  readonly runId?: string;
  readonly modelId?: string;
  /** Every file of `model/`: POSIX relative path and size, sorted by path. */
  readonly files: readonly (readonly [string, number])[];
  /** When the download finished (ISO 8601). */
  readonly createdAt: string;
}

/** What a download records besides its files. */
export type DownloadInfo = Omit<CacheManifest, 'format' | 'files' | 'createdAt'>;

/** A complete cache entry. */
export interface CacheEntry {
  /** The package directory (`<cacheDir>/<key>/model`). */
  readonly path: string;
  readonly manifest: CacheManifest;
}

const MANIFEST = 'manifest.json';
const PACKAGE = 'model';

/**
 * The cache directory: `JSFUNC_CACHE_DIR`, else `$XDG_CACHE_HOME/jsfunc/models`, else
 * `~/.cache/jsfunc/models`.
 *
 * @param env - the environment; default `process.env`
 * @returns the absolute directory
 */
export function defaultCacheDir(
  env: Readonly<Record<string, string | undefined>> = process.env
): string {
  if (env['JSFUNC_CACHE_DIR']) return env['JSFUNC_CACHE_DIR'];
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'jsfunc', 'models');
}

/**
 * The key of an immutable artifact reference on one tracking server.
 *
 * @param trackingBase - the server (`http://host:5000`)
 * @param ref - `models:/<name>/<version>`, `runs:/<run_id>/<path>` or `models:/<model_id>`
 * @returns 64 hex digits
 */
export function cacheKey(trackingBase: string, ref: string): string {
  return createHash('sha256')
    .update(JSON.stringify([trackingBase, ref]))
    .digest('hex');
}

/**
 * Finds a complete entry; a damaged one is moved aside and reported as a miss.
 *
 * @param cacheDir - the cache directory
 * @param key - the entry's key
 * @returns the entry, or null on a miss
 */
export async function lookupCache(cacheDir: string, key: string): Promise<CacheEntry | null> {
  const dir = join(cacheDir, key);
  const manifest = await readManifest(dir);
  if (manifest === null) {
    // A directory without a readable manifest was not written by installDownload.
    if (await exists(dir)) await discard(cacheDir, dir);
    return null;
  }
  const path = join(dir, PACKAGE);
  if (!(await matches(path, manifest.files))) {
    await discard(cacheDir, dir);
    return null;
  }
  return { path, manifest };
}

/**
 * Downloads into a private temporary directory, then installs it as the entry `key` in one
 * rename; when another download installed it first, uses that one (see the module comment).
 *
 * @param cacheDir - the cache directory (created as needed)
 * @param key - the entry's key
 * @param fill - downloads the package into the directory it is given, and says what it was
 * @returns the installed entry (ours or the race winner's)
 * @throws what `fill` throws (the temporary directory is removed); file-system errors
 */
export async function installDownload(
  cacheDir: string,
  key: string,
  fill: (packageDir: string) => Promise<DownloadInfo>
): Promise<CacheEntry> {
  await mkdir(cacheDir, { recursive: true });
  const tmp = join(
    cacheDir,
    `.tmp-${key.slice(0, 16)}-${process.pid}-${randomBytes(4).toString('hex')}`
  );
  const final = join(cacheDir, key);
  try {
    await mkdir(join(tmp, PACKAGE), { recursive: true });
    const info = await fill(join(tmp, PACKAGE));
    const manifest: CacheManifest = {
      format: 1,
      ...info,
      files: await listFiles(join(tmp, PACKAGE)),
      createdAt: new Date().toISOString(),
    };
    // The manifest is written last: an entry with a manifest is an entry with all its files.
    await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, final);
        return { path: join(final, PACKAGE), manifest };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EPERM' && code !== 'EACCES') {
          throw e;
        }
        // Lost the race: the winner's entry is complete (it was renamed in whole).
        const winner = await lookupCache(cacheDir, key);
        if (winner !== null) {
          await rm(tmp, { recursive: true, force: true });
          return winner;
        }
        // lookupCache moved a damaged entry aside; one more try puts ours in its place.
        if (attempt >= 2) throw e;
      }
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Every file under `dir` with its size, as sorted POSIX relative paths.
 *
 * @param dir - the directory
 * @returns `[path, size]` pairs
 */
export async function listFiles(dir: string): Promise<[string, number][]> {
  const out: [string, number][] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile())
        out.push([relative(dir, full).split(sep).join('/'), (await stat(full)).size]);
    }
  };
  await walk(dir);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function readManifest(dir: string): Promise<CacheManifest | null> {
  try {
    const value = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Partial<CacheManifest>;
    if (value.format !== 1 || !Array.isArray(value.files)) return null;
    return value as CacheManifest;
  } catch {
    return null;
  }
}

async function matches(path: string, expected: CacheManifest['files']): Promise<boolean> {
  let actual: [string, number][];
  try {
    actual = await listFiles(path);
  } catch {
    return false;
  }
  return (
    actual.length === expected.length &&
    actual.every(([p, size], i) => expected[i]?.[0] === p && expected[i]?.[1] === size)
  );
}

/** Moves an entry aside (one rename, so no reader sees it half-deleted), then deletes it. */
async function discard(cacheDir: string, dir: string): Promise<void> {
  const aside = join(cacheDir, `.tmp-discard-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(dir, aside);
  } catch {
    return; // Another process moved or replaced it first.
  }
  await rm(aside, { recursive: true, force: true }).catch(() => undefined);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
