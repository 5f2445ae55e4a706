/**
 * A file that appears at its path only once it is complete: bytes go to a temporary sibling
 * (`.<name>.tmp-<pid>-<random>`, in the same directory so the final rename is atomic), renamed
 * over the target by `commit()`; `abort()` removes it.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelError } from '../errors.js';
import type { VectorByteSink } from './arrow-ipc.js';

/** An open temporary file that becomes `path` on commit. */
export interface AtomicFile {
  /** The target path. */
  readonly path: string;
  /** The temporary file's path. */
  readonly tmp: string;
  /** Writes to the temporary file (sequentially: await each write before the next). */
  readonly sink: VectorByteSink;
  /** Closes the temporary file and renames it over `path`. */
  commit(): Promise<void>;
  /** Closes and removes the temporary file; the target is left untouched. Idempotent. */
  abort(): Promise<void>;
}

/**
 * The temporary name used for `path`: `.<name>.tmp-<pid>-<8 hex>` beside it, so a later run can
 * recognise leftovers of a killed one (and check whether that pid still runs).
 *
 * @param path - the target file
 * @returns the temporary path
 */
export function tempSibling(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  );
}

/**
 * Opens a temporary file for `path`.
 *
 * @param path - the target; its directory must exist
 * @returns the open file
 * @throws {ModelError} E_FILE_NOT_FOUND when the directory does not exist or is not writable
 */
export async function openAtomicFile(path: string): Promise<AtomicFile> {
  const tmp = tempSibling(path);
  let fh: FileHandle | null;
  try {
    fh = await open(tmp, 'wx');
  } catch (e) {
    throw new ModelError(
      'E_FILE_NOT_FOUND',
      `Cannot create output file next to ${path}: ${(e as Error).message}`,
      { details: { path, temp: tmp }, cause: e }
    );
  }
  const handle = fh;
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const sink: VectorByteSink = {
    async write(chunk) {
      if (typeof chunk === 'string') await handle.write(chunk, null, 'utf8');
      else await writeAll(handle, [chunk]);
    },
    async writev(chunks) {
      await writeAll(handle, chunks);
    },
  };
  return {
    path,
    tmp,
    sink,
    async commit() {
      if (state !== 'open') throw new ModelError('E_INTERNAL', `${path} is already ${state}`);
      try {
        await handle.close();
        await rename(tmp, path);
        state = 'committed';
      } catch (e) {
        state = 'aborted';
        await unlink(tmp).catch(() => undefined);
        throw new ModelError(
          'E_FILE_NOT_FOUND',
          `Cannot write output file ${path}: ${(e as Error).message}`,
          { details: { path }, cause: e }
        );
      }
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/** Writes every byte of `chunks` in order (one writev; libuv retries short writes itself). */
async function writeAll(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  const parts = chunks.filter((c) => c.byteLength > 0);
  if (parts.length === 0) return;
  const expected = parts.reduce((n, c) => n + c.byteLength, 0);
  const { bytesWritten } = await fh.writev(parts);
  if (bytesWritten !== expected) {
    throw new Error(`short write: ${bytesWritten} of ${expected} bytes written`);
  }
}
