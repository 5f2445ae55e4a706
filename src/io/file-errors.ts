/**
 * Shared helpers for the readers and writers: turning fs errors into ModelErrors and honouring
 * an AbortSignal between batches.
 *
 * @module
 */
import { access, constants } from 'node:fs/promises';
import { ModelError } from '../errors.js';

/**
 * Fails early, before any streaming starts, when `path` cannot be read.
 *
 * @param path - the input file
 * @throws {ModelError} E_FILE_NOT_FOUND naming the path
 */
export async function assertReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (e) {
    throw fileNotFound(path, e);
  }
}

/**
 * The error for a missing or unreadable input file.
 *
 * @param path - the input file
 * @param cause - the fs error
 * @returns an E_FILE_NOT_FOUND ModelError
 */
export function fileNotFound(path: string, cause: unknown): ModelError {
  const code = (cause as { code?: unknown } | null)?.code;
  const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code ?? cause)})`;
  return new ModelError('E_FILE_NOT_FOUND', `Input file ${path} ${why}.`, {
    details: { path },
    cause,
  });
}

/**
 * Throws E_ABORTED if `signal` has fired.
 *
 * @param signal - the caller's AbortSignal, if any
 * @throws {ModelError} E_ABORTED
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new ModelError('E_ABORTED', 'Reading was aborted by its AbortSignal.', {
      cause: signal.reason,
    });
  }
}

/**
 * Wraps a parse failure of a binary format as E_FORMAT_MALFORMED (ModelErrors pass through).
 *
 * @param path - the file
 * @param format - a human name of the format
 * @param e - the underlying error
 * @returns the error to throw
 */
export function malformedFile(path: string, format: string, e: unknown): Error {
  if (ModelError.is(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ModelError('E_FORMAT_MALFORMED', `${path} is not a valid ${format} file: ${msg}`, {
    details: { file: path, format },
    cause: e,
  });
}
