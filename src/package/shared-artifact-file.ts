/**
 * Reading one artifact file into shared memory, for the shared-artifact registry
 * (`shared-artifact-registry.ts`): open it, tell its identity, read it into a
 * `SharedArrayBuffer` in chunks.
 *
 * Why open first and key on `fstat`: the registry must recognise the same file whichever path
 * names it (two packages hard-linking one file, a symlink inside a package) and must NOT hand out
 * stale bytes when the file was replaced since it was read. Device + inode + size + modification
 * time of the opened descriptor say both. The file is opened with `O_NONBLOCK` (a FIFO would
 * otherwise block a libuv thread forever, see `package-file.ts`) and checked to be a regular
 * file through the descriptor, so a swap between a check and the read cannot sneak another kind
 * of file in.
 *
 * Why chunks: `readFile` would first read into a private buffer and then copy, two copies at the
 * peak; reading straight into the shared buffer keeps one. Chunks of {@link kReadChunkBytes} keep
 * each libuv read short, so a 2 GB artifact does not hold a thread-pool thread for seconds.
 *
 * @module
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { describeFileKind } from './package-file.js';

/** Bytes per `read` call while filling a shared buffer. */
export const kReadChunkBytes = 16 * 1024 * 1024;

/** Flags of an artifact open: read only, never block on a FIFO. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** An opened artifact file and its identity. */
export interface OpenedArtifact {
  /** The open descriptor; whoever receives it closes it. */
  handle: FileHandle;
  /** Device, inode, size and modification time: equal keys mean the same bytes. */
  key: string;
  /** Size in bytes. */
  size: number;
}

/**
 * Opens an artifact file and reads its identity.
 *
 * @param path - absolute path of the artifact (already checked to stay inside its package)
 * @param name - the artifact's name, for messages
 * @returns the open handle, its key and size
 * @throws {ModelError} E_ARTIFACT_MISSING when nothing can be opened there, or it is a
 *   directory or another kind of file that is not a regular file (only a file's bytes can be
 *   shared; a directory artifact stays readable through `context.artifacts[name]`)
 */
export async function openArtifact(path: string, name: string): Promise<OpenedArtifact> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (cause) {
    throw new ModelError('E_ARTIFACT_MISSING', `Artifact "${name}" cannot be opened at ${path}`, {
      details: { artifact: name, path },
      cause,
    });
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) {
      const kind = describeFileKind(await handle.stat());
      throw new ModelError(
        'E_ARTIFACT_MISSING',
        `Artifact "${name}" (${path}) is ${kind}: sharedArtifact shares the bytes of one regular ` +
          `file; read the files of a directory artifact through context.artifacts["${name}"]`,
        { details: { artifact: name, path, kind } }
      );
    }
    return { handle, key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`, size: Number(st.size) };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Reads a whole opened artifact into a new `SharedArrayBuffer` (one copy, no intermediate
 * buffer). Does not close the handle.
 *
 * @param opened - from {@link openArtifact}
 * @param name - the artifact's name, for messages
 * @returns the filled buffer, `opened.size` bytes long
 * @throws {ModelError} E_MODEL_LOAD when the buffer cannot be allocated or the file changes
 *   size while it is read; E_ARTIFACT_MISSING when a read fails
 */
export async function readShared(opened: OpenedArtifact, name: string): Promise<SharedArrayBuffer> {
  const { handle, size } = opened;
  let buffer: SharedArrayBuffer;
  try {
    buffer = new SharedArrayBuffer(size);
  } catch (cause) {
    throw new ModelError(
      'E_MODEL_LOAD',
      `Cannot allocate ${size} bytes of shared memory for artifact "${name}"`,
      { details: { artifact: name, bytes: size }, cause }
    );
  }
  const view = new Uint8Array(buffer);
  let offset = 0;
  while (offset < size) {
    const length = Math.min(kReadChunkBytes, size - offset);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(view, offset, length, offset));
    } catch (cause) {
      throw new ModelError('E_ARTIFACT_MISSING', `Reading artifact "${name}" failed`, {
        details: { artifact: name, offset },
        cause,
      });
    }
    if (bytesRead === 0) {
      throw new ModelError(
        'E_MODEL_LOAD',
        `Artifact "${name}" shrank while it was read: ${offset} of ${size} bytes`,
        { details: { artifact: name, expected: size, read: offset } }
      );
    }
    offset += bytesRead;
  }
  return buffer;
}
