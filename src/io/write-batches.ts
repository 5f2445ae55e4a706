/**
 * One entry point for writing record batches to any supported file, atomically: bytes go to a
 * temporary file in the same directory (`.<name>.tmp-<pid>-<rand>`), which is renamed over the
 * target on `close()`. `abort()` and any failed write delete the temporary file, so a failed run
 * never leaves a half-written file that looks complete.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { IpcEncoder, type VectorByteSink } from './arrow-ipc.js';
import { ByteBuffer } from './byte-buffer.js';
import { fileSink, type ByteSink } from './byte-sink.js';
import { csvHeaderBytes, encodeCsvBatch } from './csv-format.js';
import { detectFormat, type Format } from './format.js';
import { encodeNdjsonBatch } from './ndjson-format.js';
import { ParquetEncoder } from './parquet.js';

/** Options of {@link createBatchWriter}. */
export interface BatchWriterOptions {
  /** The file format; default: from the extension ({@link detectFormat}). */
  format?: Format;
  /** The Arrow schema of the output, used for the header/schema when no batch is written. */
  schema?: ArrowSchema | null;
}

/** Writes batches to one file; nothing appears at the target path until `close()` succeeds. */
export interface BatchWriter {
  /** Appends a batch (every batch must have the same schema). Fails -> temp file removed. */
  write(batch: RecordBatch): Promise<void>;
  /** Finishes the file and renames it into place. */
  close(): Promise<void>;
  /** Discards everything written; the target is left untouched. Safe to call more than once. */
  abort(): Promise<void>;
}

interface Encoder {
  write(batch: RecordBatch): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/** {@link fileSink} plus `writev`: several chunks in one write (the IPC encoder's per batch). */
function vectorFileSink(fh: FileHandle): VectorByteSink {
  return {
    ...fileSink(fh),
    async writev(chunks) {
      const { bytesWritten } = await fh.writev(chunks);
      const expected = chunks.reduce((n, c) => n + c.byteLength, 0);
      // libuv retries short writes itself; a shortfall here is an I/O failure.
      if (bytesWritten !== expected) {
        throw new Error(`short write: ${bytesWritten} of ${expected} bytes written`);
      }
    },
  };
}

/**
 * A text format's encoder: each batch is encoded into one reused buffer and written before the
 * next batch is encoded (so memory stays at about one batch of text).
 */
function textEncoder(
  sink: ByteSink,
  encode: (b: RecordBatch, first: boolean, out: ByteBuffer) => Uint8Array,
  header: () => Uint8Array | null
): Encoder {
  let wrote = false;
  const out = new ByteBuffer(1 << 16);
  return {
    async write(batch) {
      out.reset();
      const bytes = encode(batch, !wrote, out);
      wrote = true;
      if (bytes.length > 0) await sink.write(bytes);
    },
    async finish() {
      if (!wrote) {
        const h = header();
        if (h !== null) await sink.write(h);
      }
    },
    async abort() {},
  };
}

function makeEncoder(format: Format, sink: VectorByteSink, schema: ArrowSchema | null): Encoder {
  switch (format) {
    case 'parquet':
      return new ParquetEncoder(sink, schema);
    case 'arrow':
      return new IpcEncoder(sink, 'file', schema);
    case 'arrows':
      return new IpcEncoder(sink, 'stream', schema);
    case 'csv':
      return textEncoder(
        sink,
        (b, first, out) => encodeCsvBatch(b, { header: first, out }),
        () => (schema === null ? null : csvHeaderBytes(schema.fields.map((f) => f.name)))
      );
    case 'ndjson':
      return textEncoder(
        sink,
        (b, _first, out) => encodeNdjsonBatch(b, { out }),
        () => null
      );
    case 'json':
      throw new ModelError(
        'E_FORMAT_UNSUPPORTED',
        'Batch output cannot be written as .json; use .ndjson/.jsonl, .csv, .parquet, .arrow or .arrows.',
        { details: { format } }
      );
  }
}

/**
 * Opens a writer for `path` in the given format (default: from the extension).
 *
 * @param path - the target file; its directory must exist
 * @param options - see {@link BatchWriterOptions}
 * @returns the writer; the temporary file is created on the first write or close
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for an unknown extension (synchronously);
 *   E_SCHEMA_MISMATCH from `write` when a batch's schema differs from the first batch's (binary
 *   formats); E_FILE_NOT_FOUND from `write`/`close` when the directory is not writable
 * @example
 * ```ts
 * const out = createBatchWriter('scores.parquet');
 * try {
 *   for await (const b of batches) await out.write(b);
 *   await out.close();
 * } catch (e) {
 *   await out.abort();
 *   throw e;
 * }
 * ```
 */
export function createBatchWriter(path: string, options: BatchWriterOptions = {}): BatchWriter {
  const format = options.format ?? detectFormat(path);
  if (format === 'json') makeEncoder(format, { write: async () => {} }, null);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  );
  let fh: FileHandle | null = null;
  let encoder: Encoder | null = null;
  let state: 'open' | 'closed' | 'aborted' = 'open';

  const ensureOpen = async (): Promise<Encoder> => {
    if (encoder !== null) return encoder;
    try {
      fh = await open(tmp, 'wx');
    } catch (e) {
      throw new ModelError(
        'E_FILE_NOT_FOUND',
        `Cannot create output file next to ${path}: ${(e as Error).message}`,
        {
          details: { path, temp: tmp },
          cause: e,
        }
      );
    }
    encoder = makeEncoder(format, vectorFileSink(fh), options.schema ?? null);
    return encoder;
  };

  const discard = async (): Promise<void> => {
    state = 'aborted';
    const enc: Encoder | null = encoder;
    if (enc !== null) await enc.abort().catch(() => undefined);
    const handle: FileHandle | null = fh;
    if (handle !== null) await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
  };

  const guard = (): void => {
    if (state !== 'open') {
      throw new ModelError('E_OPTION_INVALID', `The writer for ${path} is already ${state}.`, {
        details: { path, state },
      });
    }
  };

  return {
    async write(batch) {
      guard();
      try {
        await (await ensureOpen()).write(batch);
      } catch (e) {
        await discard();
        throw e;
      }
    },
    async close() {
      guard();
      try {
        await (await ensureOpen()).finish();
        await (fh as FileHandle | null)?.close();
        fh = null;
        await rename(tmp, path);
        state = 'closed';
      } catch (e) {
        await discard();
        throw e;
      }
    },
    async abort() {
      if (state === 'closed') return;
      await discard();
    },
  };
}
