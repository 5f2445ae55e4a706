/**
 * Whole-file writes that never leave a partial file: write a temporary sibling, then rename.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelError } from '../errors.js';

/**
 * Writes `text` to `path` atomically: the target either keeps its old content or gets all of
 * the new one (rename within one directory is atomic on POSIX file systems).
 *
 * @param path - the target file; its directory must exist
 * @param text - the content
 * @throws {ModelError} E_FILE_NOT_FOUND when the directory does not exist or is not writable
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  );
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, path);
  } catch (cause) {
    await unlink(tmp).catch(() => undefined);
    throw new ModelError(
      'E_FILE_NOT_FOUND',
      `Cannot write output file ${path}: ${(cause as Error).message}`,
      {
        details: { path },
        cause,
      }
    );
  }
}
