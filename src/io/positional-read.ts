/**
 * Positional reads of input files (each split reads its own byte ranges): open with a coded
 * error, read a range into a fresh buffer.
 *
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises';
import { fileNotFound } from './file-errors.js';

/**
 * Opens an input file for reading.
 *
 * @param path - the file
 * @returns its handle (close it)
 * @throws {ModelError} E_FILE_NOT_FOUND naming the path
 */
export async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw fileNotFound(path, e);
  }
}

/**
 * Reads up to `length` bytes at `position` into a new buffer (fewer only at the end of the file).
 *
 * @param fh - an open file
 * @param position - the first byte
 * @param length - how many bytes
 * @returns the bytes read
 */
export async function readAt(
  fh: FileHandle,
  position: number,
  length: number
): Promise<Uint8Array> {
  const buf = new Uint8Array(Math.max(0, length));
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === buf.length ? buf : buf.subarray(0, done);
}
