/**
 * Arrow IPC files (`.arrow`, `.feather` v2) and streams (`.arrows`): read batch by batch from a
 * file handle, and write batch by batch.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  type RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  RecordBatchStreamWriter,
  type Schema as ArrowSchema,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { BytePump, type ByteSink } from './byte-sink.js';
import { fileNotFound, malformedFile, throwIfAborted } from './file-errors.js';
import { emptyBatch } from './text-columns.js';

const MAGIC = 'ARROW1';

/**
 * Reads an Arrow IPC file or stream, one record batch at a time. The container is recognised by
 * its magic bytes, so a stream saved as `.arrow` (or a file saved as `.arrows`) still reads.
 *
 * @param path - the file
 * @param signal - stops reading between batches
 * @returns the batches in file order
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_MALFORMED for bytes that are not Arrow IPC
 */
export async function* readIpcBatches(
  path: string,
  signal?: AbortSignal
): AsyncGenerator<RecordBatch> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileNotFound(path, e);
  }
  let stream: ReturnType<typeof createReadStream> | null = null;
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fh.read(head, 0, 6, 0);
    const isFile = bytesRead === 6 && head.toString('latin1') === MAGIC;
    let reader;
    try {
      // A file handle gives random access for the IPC file format (footer first, then each
      // batch by offset); the stream format is read sequentially from a byte stream.
      if (isFile) {
        reader = await RecordBatchReader.from(fh);
      } else {
        stream = createReadStream(path);
        reader = await RecordBatchReader.from(stream);
      }
      await reader.open();
    } catch (e) {
      throw malformedFile(path, 'Arrow IPC', e);
    }
    if (reader.schema === undefined || reader.schema === null) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `${path} is not a valid Arrow IPC file: no schema.`,
        {
          details: { file: path },
        }
      );
    }
    const it = reader[Symbol.asyncIterator]();
    for (;;) {
      let next;
      try {
        next = await it.next();
      } catch (e) {
        throw malformedFile(path, 'Arrow IPC', e);
      }
      if (next.done === true) break;
      throwIfAborted(signal);
      yield next.value as RecordBatch;
    }
  } finally {
    stream?.destroy();
    await fh.close();
  }
}

/** Encodes batches as an Arrow IPC file or stream into a byte sink. */
export class IpcEncoder {
  private readonly writer: RecordBatchFileWriter | RecordBatchStreamWriter;
  private readonly pump: BytePump;
  private schema: ArrowSchema | null;
  private wrote = false;

  /**
   * @param sink - the destination
   * @param kind - `file` (`.arrow`) or `stream` (`.arrows`)
   * @param schema - the output schema, used when no batch is written
   */
  constructor(sink: ByteSink, kind: 'file' | 'stream', schema: ArrowSchema | null) {
    this.writer = kind === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
    this.pump = new BytePump(this.writer, sink);
    this.schema = schema;
  }

  /**
   * Appends one batch.
   *
   * @param batch - must have the same schema as earlier batches
   * @throws {ModelError} E_SCHEMA_MISMATCH when the batch's schema differs from the file's
   */
  async write(batch: RecordBatch): Promise<void> {
    checkSameSchema(this.schema, batch, this.wrote);
    if (!this.wrote) this.schema = batch.schema;
    this.wrote = true;
    this.writer.write(batch);
    await this.pump.drained();
  }

  /** Writes the footer/end marker and waits for every byte to reach the sink. */
  async finish(): Promise<void> {
    if (!this.wrote && this.schema !== null) this.writer.write(emptyBatch(this.schema));
    this.writer.finish();
    await this.pump.done;
  }

  /** Stops encoding; the bytes written so far are discarded by the caller. */
  async abort(): Promise<void> {
    this.writer.abort();
    await this.pump.done.catch(() => undefined);
  }
}

/**
 * Checks that `batch` has the same column names and types as the file's schema.
 *
 * @param schema - the schema so far (null before the first batch)
 * @param batch - the new batch
 * @param strict - whether `schema` came from an earlier batch (types must match exactly)
 * @throws {ModelError} E_SCHEMA_MISMATCH
 */
export function checkSameSchema(
  schema: ArrowSchema | null,
  batch: RecordBatch,
  strict: boolean
): void {
  if (schema === null) return;
  const a = schema.fields;
  const b = batch.schema.fields;
  const same =
    a.length === b.length &&
    a.every((f, i) => f.name === b[i]?.name && (!strict || String(f.type) === String(b[i]?.type)));
  if (!same) {
    const show = (fs: typeof a) => fs.map((f) => `${f.name}: ${String(f.type)}`).join(', ');
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `A batch's columns [${show(b)}] differ from the output file's columns [${show(a)}]; ` +
        'every batch of one file must have the same schema.',
      { details: { expected: a.map((f) => f.name), found: b.map((f) => f.name) } }
    );
  }
}
