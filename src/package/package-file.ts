/**
 * The one rule for every path a package names (MLmodel, code, artifacts, input example,
 * `js_env.json`, the ONNX file): it is relative, it stays inside the package after symlinks are
 * resolved, and a file jsfunc reads is a regular file.
 *
 * Why each part:
 * - **inside the package, through symlinks** (`realpath`): a package is often someone else's
 *   directory. A symlinked `input_example.json` (or a symlinked directory on its path) would
 *   otherwise make `jsfunc info` print any JSON file the user can read.
 * - **regular files only**: opening a FIFO for reading blocks until a writer appears. Node does
 *   that open on a libuv thread-pool thread, so each such read holds one of the four threads
 *   forever; after four, every file read in the process stalls and signals are not acted on.
 *   Files are opened with `O_NONBLOCK` (a FIFO then opens at once) and `O_NOFOLLOW`, and the
 *   opened descriptor is checked with `fstat`, so a file swapped for a FIFO or a symlink between
 *   the check and the open is still refused.
 *
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ModelError } from '../errors.js';

/** What a package path must name: a regular file, or (artifacts) a regular file or a directory. */
export type PackageEntryKind = 'file' | 'file-or-directory';

/** Flags of every package file open: read only, never block on a FIFO, never follow a last symlink. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Names the kind of a file that is not what jsfunc reads, for messages.
 *
 * @param st - The file's stats.
 * @returns E.g. `a FIFO (named pipe)`, `a directory`.
 */
export function describeFileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFile()) return 'a regular file';
  return 'not a regular file';
}

/**
 * Whether `p` is `root` or below it (both absolute).
 *
 * @param root - The directory.
 * @param p - The path to test.
 * @returns True when `p` does not leave `root`.
 */
export function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

function notAFile(what: string, rel: string, packageDir: string, kind: string): ModelError {
  return new ModelError(
    'E_ARTIFACT_MISSING',
    `The ${what} "${rel}" in the package "${packageDir}" is ${kind}, not a regular file`,
    { details: { path: rel, package: packageDir, kind } }
  );
}

/**
 * Resolves a path recorded in a package to an absolute path that stays inside it.
 *
 * @param packageDir - Absolute package directory.
 * @param rel - The recorded relative path.
 * @param what - What the path names, for messages (e.g. `artifact "weights"`).
 * @param kind - What it must be; default `file-or-directory` (artifacts may be directories).
 * @returns The absolute path (under `packageDir`, symlinks not resolved).
 * @throws {ModelError} E_ARTIFACT_PATH for absolute paths, paths leaving the package, or
 *   symlinks resolving outside it; E_ARTIFACT_MISSING when nothing exists there or it is not
 *   the kind asked for (a FIFO, a socket, a device, or a directory where a file is expected).
 */
export async function resolveInsidePackage(
  packageDir: string,
  rel: string,
  what: string,
  kind: PackageEntryKind = 'file-or-directory'
): Promise<string> {
  const escape = (found: string): ModelError =>
    new ModelError(
      'E_ARTIFACT_PATH',
      `The ${what} path "${rel}" ${found}; package paths must be relative and stay inside "${packageDir}"`,
      { details: { path: rel, package: packageDir } }
    );
  if (isAbsolute(rel) || /^[a-zA-Z]:[\\/]/.test(rel) || rel.startsWith('\\'))
    throw escape('is absolute');
  const abs = resolve(packageDir, rel);
  if (!isInside(packageDir, abs)) throw escape('leaves the package');
  let real: string;
  let st: Stats;
  try {
    real = await realpath(abs);
    st = await stat(real);
  } catch (cause) {
    throw new ModelError(
      'E_ARTIFACT_MISSING',
      `The ${what} "${rel}" does not exist in the package "${packageDir}"`,
      { details: { path: rel, package: packageDir }, cause }
    );
  }
  // A symlink inside the package (the file itself or a directory on its path) may point outside.
  const realRoot = await realpath(packageDir).catch(() => resolve(packageDir));
  if (!isInside(realRoot, real))
    throw escape(`resolves (through a symlink) to "${real}", outside the package`);
  if (!(st.isFile() || (kind === 'file-or-directory' && st.isDirectory())))
    throw notAFile(what, rel, packageDir, describeFileKind(st));
  return abs;
}

/** Options of {@link readPackageFile}. */
export interface ReadPackageFileOptions {
  /** Return null instead of throwing E_ARTIFACT_MISSING when the file does not exist. Default false. */
  optional?: boolean;
}

/**
 * Reads a file a package names, as UTF-8 text, under the rule of this module.
 *
 * @param packageDir - Absolute package directory.
 * @param rel - The recorded relative path.
 * @param what - What the file is, for messages (e.g. `input example`).
 * @param options - See {@link ReadPackageFileOptions}.
 * @returns The text; null when the file is absent and `optional` is set.
 * @throws {ModelError} E_ARTIFACT_PATH (absolute, leaving the package, symlink escaping it);
 *   E_ARTIFACT_MISSING (absent and not optional, not a regular file, or unreadable).
 */
export async function readPackageFile(
  packageDir: string,
  rel: string,
  what: string,
  options: ReadPackageFileOptions & { optional: true }
): Promise<string | null>;
export async function readPackageFile(
  packageDir: string,
  rel: string,
  what: string,
  options?: ReadPackageFileOptions
): Promise<string>;
export async function readPackageFile(
  packageDir: string,
  rel: string,
  what: string,
  options: ReadPackageFileOptions = {}
): Promise<string | null> {
  let abs: string;
  try {
    abs = await resolveInsidePackage(packageDir, rel, what, 'file');
  } catch (error) {
    if (
      options.optional === true &&
      ModelError.is(error) &&
      error.code === 'E_ARTIFACT_MISSING' &&
      error.details['kind'] === undefined
    ) {
      return null;
    }
    throw error;
  }
  return readRegularFile(await realpath(abs), (kind, cause) =>
    kind === undefined
      ? new ModelError(
          'E_ARTIFACT_MISSING',
          `The ${what} "${rel}" in the package "${packageDir}" cannot be read`,
          { details: { path: rel, package: packageDir }, cause }
        )
      : notAFile(what, rel, packageDir, kind)
  );
}

/**
 * Reads a regular file as UTF-8 without ever blocking on a FIFO: opens with `O_NONBLOCK` and
 * `O_NOFOLLOW`, then checks the open descriptor with `fstat`.
 *
 * @param file - Absolute path (symlinks already resolved: a symlink as last component is refused).
 * @param fail - Builds the error: `kind` names what the file is when it is not a regular file,
 *   and is undefined when opening or reading failed (`cause`).
 * @returns The text.
 * @throws {ModelError} What `fail` builds.
 */
export async function readRegularFile(
  file: string,
  fail: (kind: string | undefined, cause?: unknown) => ModelError
): Promise<string> {
  let handle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (cause) {
    throw fail(undefined, cause);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw fail(describeFileKind(st));
    return await handle.readFile('utf8');
  } catch (cause) {
    if (ModelError.is(cause)) throw cause;
    throw fail(undefined, cause);
  } finally {
    await handle.close();
  }
}

/**
 * Opens a regular file for streaming reads without blocking on a FIFO (see
 * {@link readRegularFile}).
 *
 * @param file - Absolute path.
 * @returns The open handle (the caller closes it), or undefined when the path is not a regular
 *   file or cannot be opened.
 */
export async function openRegularFile(file: string): Promise<FileHandle | undefined> {
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch(
    () => undefined
  );
  if (handle === undefined) return undefined;
  const st = await handle.stat().catch(() => undefined);
  if (st?.isFile() === true) return handle;
  await handle.close();
  return undefined;
}
