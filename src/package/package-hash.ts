/**
 * Content identity of a package directory, used by the UDF layer as a model cache key.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { ModelError } from '../errors.js';
import { openRegularFile } from './package-file.js';

/** The identity of a package: sha256 over its files, and their total size. */
export interface PackageIdentity {
  /** Hex sha256 over every file's relative path, size and contents, in sorted path order. */
  hash: string;
  /** Total size in bytes of all files. */
  bytes: number;
}

/**
 * Lists every regular file under `dir` (following symlinks to files), as sorted POSIX-style
 * relative paths, with sizes.
 *
 * @param dir - Directory to walk.
 * @returns `[relativePath, size]` pairs sorted by path.
 */
export async function listPackageFiles(dir: string): Promise<[string, number][]> {
  const out: [string, number][] = [];
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() || e.isSymbolicLink()) {
        const st = await stat(full).catch(() => undefined);
        if (st?.isFile()) out.push([relative(dir, full).split(sep).join('/'), st.size]);
      }
    }
  }
  await walk(dir);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Computes the content hash of a package, streaming each file (large artifacts are never held
 * in memory). Two packages with the same files at the same relative paths have the same hash,
 * wherever they live.
 *
 * @param path - The package directory (or its `MLmodel` file).
 * @returns `{ hash, bytes }`.
 * @throws {ModelError} E_MLMODEL_MISSING when `path` is not a directory; E_ARTIFACT_MISSING when
 *   a listed file is no longer a readable regular file.
 */
export async function packageIdentity(path: string): Promise<PackageIdentity> {
  let st = await stat(path).catch(() => undefined);
  // Accept the MLmodel file itself, as readMLmodel does: identify its directory.
  if (st?.isFile() && basename(path) === 'MLmodel') {
    path = dirname(path);
    st = await stat(path).catch(() => undefined);
  }
  if (!st?.isDirectory()) {
    throw new ModelError(
      'E_MLMODEL_MISSING',
      `Could not find a model package directory at "${path}"`,
      {
        details: { path },
      }
    );
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for (const [rel, size] of await listPackageFiles(path)) {
    // Length-prefixed path and size so no two different layouts hash the same bytes.
    hash.update(`${Buffer.byteLength(rel)}:${rel}\0${size}\0`);
    await hashFile(hash, join(path, rel));
    bytes += size;
  }
  return { hash: hash.digest('hex'), bytes };
}

async function hashFile(hash: Hash, file: string): Promise<void> {
  // Opened without blocking and checked again: a file swapped for a FIFO after the listing
  // would otherwise hold a libuv thread forever.
  const handle = await openRegularFile(file);
  if (handle === undefined) {
    throw new ModelError(
      'E_ARTIFACT_MISSING',
      `Package file "${file}" is not a readable regular file`,
      {
        details: { file },
      }
    );
  }
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false }))
      hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
}
