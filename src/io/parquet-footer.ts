/**
 * Reading a Parquet file's footer (`FileMetaData`) with positional reads: the last 8 bytes hold
 * the footer's length and the magic `PAR1`; the footer sits just before them. The whole footer
 * is decoded into generic Thrift data (see `thrift-compact.ts`), so it can be sent to worker
 * threads as is, and typed views (`parquet-metadata.ts`) read what jsfunc needs.
 *
 * @module
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { fileNotFound, malformedFile } from './file-errors.js';
import {
  FileMetaDataId,
  type KeyValue,
  keyValues,
  rowGroupInfo,
  type RowGroupInfo,
} from './parquet-metadata.js';
import {
  decodeThriftStruct,
  getField,
  getI64,
  getStructList,
  type ThriftStruct,
} from './thrift-compact.js';

/** A decoded footer and where it lies in its file. Plain data: safe to `postMessage`. */
export interface ParquetFooter {
  /** The `FileMetaData` struct, every field kept. */
  metadata: ThriftStruct;
  /** Size of the file in bytes. */
  fileSize: number;
  /** Offset of the footer's first byte: column data lies in `[4, footerOffset)`. */
  footerOffset: number;
}

/** How much of the tail to read at first: most footers fit, so one read usually suffices. */
const TAIL_GUESS = 64 * 1024;

/**
 * Reads and decodes the footer of a Parquet file.
 *
 * @param path - the file (named in errors)
 * @param handle - an open handle of it to read from; default: the file is opened and closed
 * @returns the footer
 * @throws {ModelError} E_FILE_NOT_FOUND; E_FORMAT_MALFORMED when the file is not Parquet or its
 *   footer is corrupt; E_FORMAT_UNSUPPORTED for encrypted files
 */
export async function readParquetFooter(path: string, handle?: FileHandle): Promise<ParquetFooter> {
  let fh = handle;
  if (fh === undefined) {
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw fileNotFound(path, e);
    }
  }
  try {
    const { size } = await fh.stat();
    if (size < 12) throw malformedFile(path, 'Parquet', new Error(`only ${size} bytes long`));
    const tailLength = Math.min(size, TAIL_GUESS);
    const tail = await readAt(fh, size - tailLength, tailLength);
    const head = size > tailLength ? await readAt(fh, 0, 4) : tail.subarray(0, 4);
    const footerLength = trailer(path, head, tail, size);
    if (footerLength + 8 > tailLength) {
      const bytes = await readAt(fh, size - 8 - footerLength, footerLength);
      return decodeFooter(path, bytes, size);
    }
    return decodeFooter(path, tail.subarray(tailLength - 8 - footerLength, tailLength - 8), size);
  } finally {
    if (handle === undefined) await fh.close();
  }
}

/** Footers read recently by this thread, by path, size and modification time. */
const footerCache = new Map<string, ParquetFooter>();
const FOOTER_CACHE_SIZE = 16;

/**
 * {@link readParquetFooter} through a small per-thread cache: a worker that scores many splits
 * of one file decodes its footer once. An entry is used only while the file's size and
 * modification time are unchanged.
 *
 * @param path - the file
 * @param handle - an open handle of it; default: opened and closed here
 * @returns the footer (shared with other callers: do not modify it)
 * @throws {ModelError} as {@link readParquetFooter}
 */
export async function cachedParquetFooter(
  path: string,
  handle?: FileHandle
): Promise<ParquetFooter> {
  let st;
  try {
    st = handle === undefined ? await stat(path) : await handle.stat();
  } catch (e) {
    throw fileNotFound(path, e);
  }
  const key = `${path}\0${st.size}\0${st.mtimeMs}`;
  const hit = footerCache.get(key);
  if (hit !== undefined) {
    // Refresh its place: the Map keeps insertion order, the oldest entry goes first.
    footerCache.delete(key);
    footerCache.set(key, hit);
    return hit;
  }
  const footer = await readParquetFooter(path, handle);
  footerCache.set(key, footer);
  if (footerCache.size > FOOTER_CACHE_SIZE) footerCache.delete(footerCache.keys().next().value!);
  return footer;
}

/**
 * Decodes the footer of a Parquet file held in memory.
 *
 * @param bytes - the whole file
 * @param name - how errors name it; default 'Parquet data'
 * @returns the footer
 * @throws {ModelError} E_FORMAT_MALFORMED, E_FORMAT_UNSUPPORTED as {@link readParquetFooter}
 */
export function parseParquetFooter(bytes: Uint8Array, name = 'Parquet data'): ParquetFooter {
  if (bytes.length < 12) {
    throw malformedFile(name, 'Parquet', new Error(`only ${bytes.length} bytes long`));
  }
  const footerLength = trailer(name, bytes.subarray(0, 4), bytes, bytes.length);
  const end = bytes.length - 8;
  return decodeFooter(name, bytes.subarray(end - footerLength, end), bytes.length);
}

/** Checks both magics; returns the footer length. */
function trailer(path: string, head: Uint8Array, tail: Uint8Array, fileSize: number): number {
  const n = tail.length;
  const magic = String.fromCharCode(...tail.subarray(n - 4));
  if (magic === 'PARE') {
    throw new ModelError(
      'E_FORMAT_UNSUPPORTED',
      `${path} is an encrypted Parquet file; jsfunc reads only plaintext Parquet.`,
      { details: { file: path } }
    );
  }
  if (magic !== 'PAR1' || String.fromCharCode(...head) !== 'PAR1') {
    throw malformedFile(path, 'Parquet', new Error('no PAR1 magic at its start and end'));
  }
  const length = new DataView(tail.buffer, tail.byteOffset).getUint32(n - 8, true);
  if (length + 12 > fileSize) {
    throw malformedFile(path, 'Parquet', new Error(`footer length ${length} exceeds the file`));
  }
  return length;
}

function decodeFooter(path: string, bytes: Uint8Array, fileSize: number): ParquetFooter {
  const footerOffset = fileSize - 8 - bytes.length;
  let metadata: ThriftStruct;
  try {
    metadata = decodeThriftStruct(bytes).struct;
  } catch (e) {
    throw malformedFile(path, 'Parquet', new Error('corrupt footer', { cause: e }));
  }
  if (getField(metadata, FileMetaDataId.encryptionAlgorithm) !== undefined) {
    throw new ModelError(
      'E_FORMAT_UNSUPPORTED',
      `${path} has encrypted columns; jsfunc reads only plaintext Parquet.`,
      { details: { file: path } }
    );
  }
  const footer = { metadata, fileSize, footerOffset };
  // Every chunk must lie inside the data section, so later reads and copies can trust offsets.
  try {
    footerRowGroups(footer).forEach((rg, i) => {
      for (const c of rg.columns) {
        if (c.end > footerOffset) {
          throw new Error(
            `row group ${i}, column ${c.path.join('.')}: bytes [${c.start}, ${c.end}) overlap the footer at ${footerOffset}`
          );
        }
      }
    });
  } catch (e) {
    throw malformedFile(path, 'Parquet', e);
  }
  return footer;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
  return buf;
}

/**
 * The number of rows of the file.
 *
 * @param footer - the footer
 * @returns `num_rows`
 */
export function footerNumRows(footer: ParquetFooter): number {
  return getI64(footer.metadata, FileMetaDataId.numRows) ?? 0;
}

/**
 * The schema elements (root first, depth-first), as Thrift structs.
 *
 * @param footer - the footer
 * @returns the `SchemaElement` list
 */
export function footerSchema(footer: ParquetFooter): ThriftStruct[] {
  return getStructList(footer.metadata, FileMetaDataId.schema);
}

/**
 * The row groups as Thrift structs (what pieces and passthrough copy).
 *
 * @param footer - the footer
 * @returns the `RowGroup` list
 */
export function footerRowGroupStructs(footer: ParquetFooter): ThriftStruct[] {
  return getStructList(footer.metadata, FileMetaDataId.rowGroups);
}

/**
 * Typed facts of every row group: rows, each chunk's path, byte range and codec.
 *
 * @param footer - the footer
 * @returns one entry per row group, in file order
 * @throws {ModelError} E_FORMAT_MALFORMED, E_FORMAT_UNSUPPORTED as `rowGroupInfo`
 */
export function footerRowGroups(footer: ParquetFooter): RowGroupInfo[] {
  return footerRowGroupStructs(footer).map(rowGroupInfo);
}

/**
 * The file's key/value metadata (e.g. `ARROW:schema`), in order.
 *
 * @param footer - the footer
 * @returns the pairs (empty when absent)
 */
export function footerKeyValueMetadata(footer: ParquetFooter): KeyValue[] {
  return keyValues(getStructList(footer.metadata, FileMetaDataId.keyValueMetadata));
}
