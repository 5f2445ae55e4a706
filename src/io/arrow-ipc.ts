/**
 * Arrow IPC files (`.arrow`, `.feather` v2) and streams (`.arrows`): read batch by batch from a
 * file handle, and write batch by batch.
 *
 * Reading puts every batch in shared memory: each IPC message (framing, metadata and body) is
 * read straight into its own `SharedArrayBuffer` and handed to Arrow's stream reader, which
 * decodes the body zero-copy, so every column buffer is a view of that shared memory (Arrow JS
 * only copies a misaligned buffer, which conforming writers never produce). A UDF then sends
 * the columns to its workers without copying them (see `pool/transfer.ts`). A stream is read
 * message by message from the start; a file's footer is read first (by Arrow's file reader, for
 * the schema and the block list), then its dictionary and record-batch blocks in footer order,
 * behind a schema message re-encoded from the footer (Arrow JS's file writer puts the schema
 * only in the footer).
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import {
  AsyncByteQueue,
  type Data,
  DataType,
  type Dictionary,
  makeData,
  Message,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  RecordBatchStreamWriter,
  type Schema as ArrowSchema,
  Table,
  tableToIPC,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { recordBatchOf } from '../adapters/record-batch.js';
import { ModelError } from '../errors.js';
import { openInput } from './positional-read.js';
import type { ByteSink } from './byte-sink.js';
import { malformedFile, throwIfAborted } from './file-errors.js';
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
  const fh = await openInput(path);
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fh.read(head, 0, 6, 0);
    const isFile = bytesRead === 6 && head.toString('latin1') === MAGIC;
    let reader;
    try {
      // Both containers are read as a stream of messages (a file's messages start after its
      // 8-byte magic), one SharedArrayBuffer per message.
      const { size } = await fh.stat();
      let messages: AsyncGenerator<Uint8Array> = sharedMessages(fh, 0, size);
      if (isFile) {
        const fileReader = await RecordBatchReader.from(fh);
        await fileReader.open();
        const footer = (fileReader as unknown as { footer?: FooterLike | null }).footer;
        if (footer === undefined || footer === null) throw new Error('no footer');
        messages = fileMessages(fh, fileReader.schema, footer, size);
      }
      reader = await RecordBatchReader.from(messages);
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
    await fh.close();
  }
}

/** What {@link ipcFileInfo} tells about an Arrow IPC file. */
export interface IpcFileInfo {
  /** True for the file container (a footer lists its batches); false for a stream. */
  isFile: boolean;
  /** The schema. */
  schema: ArrowSchema;
  /** Record batches listed by the footer (files only; 0 for streams). */
  numRecordBatches: number;
}

/**
 * Reads an Arrow IPC file's schema and footer (a stream's schema message), without its batches.
 *
 * @param path - the file
 * @returns container kind, schema and batch count
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_MALFORMED
 */
export async function ipcFileInfo(path: string): Promise<IpcFileInfo> {
  const fh = await openInput(path);
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fh.read(head, 0, 6, 0);
    const isFile = bytesRead === 6 && head.toString('latin1') === MAGIC;
    const reader = isFile
      ? await RecordBatchReader.from(fh)
      : await RecordBatchReader.from(sharedMessages(fh, 0, (await fh.stat()).size));
    await reader.open();
    if (reader.schema === undefined || reader.schema === null) throw new Error('no schema');
    const footer = isFile ? (reader as unknown as { footer?: FooterLike | null }).footer : null;
    if (isFile && (footer === undefined || footer === null)) throw new Error('no footer');
    return { isFile, schema: reader.schema, numRecordBatches: footer?.numRecordBatches ?? 0 };
  } catch (e) {
    throw malformedFile(path, 'Arrow IPC', e);
  } finally {
    await fh.close();
  }
}

/**
 * Reads some record batches of an Arrow IPC FILE by their footer index (with every dictionary
 * batch before them), each in shared memory like {@link readIpcBatches}: one split's worth.
 *
 * @param path - the file
 * @param batches - footer indexes of the record batches, in the order wanted
 * @returns the batches
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_MALFORMED (not an IPC file, bad block)
 */
export async function readIpcFileBatches(
  path: string,
  batches: readonly number[]
): Promise<RecordBatch[]> {
  const fh = await openInput(path);
  try {
    const { size } = await fh.stat();
    const fileReader = await RecordBatchReader.from(fh);
    await fileReader.open();
    const footer = (fileReader as unknown as { footer?: FooterLike | null }).footer;
    if (footer === undefined || footer === null) throw new Error('no footer');
    for (const i of batches) {
      if (!(i >= 0 && i < footer.numRecordBatches)) {
        throw new Error(`no record batch ${i} (the footer lists ${footer.numRecordBatches})`);
      }
    }
    const reader = await RecordBatchReader.from(
      fileMessages(fh, fileReader.schema, footer, size, batches)
    );
    await reader.open();
    const out: RecordBatch[] = [];
    for await (const batch of reader) out.push(batch as RecordBatch);
    return out;
  } catch (e) {
    throw malformedFile(path, 'Arrow IPC', e);
  } finally {
    await fh.close();
  }
}

/**
 * Reads IPC messages from `position` on, each one whole (continuation marker and length,
 * flatbuffer metadata, body) into a fresh SharedArrayBuffer, starting at byte 0 so the body keeps
 * the 8-byte alignment the writer gave it relative to the message. Stops after the
 * end-of-stream marker (a zero metadata length) or at the end of the file.
 */
async function* sharedMessages(
  fh: FileHandle,
  position: number,
  size: number
): AsyncGenerator<Uint8Array> {
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  for (;;) {
    const { bytesRead } = await fh.read(head, 0, 8, position);
    if (bytesRead < 4) return;
    // Since format 0.15 a message starts with 0xFFFFFFFF then the int32 length; before, the
    // length came first.
    const continuation = view.getInt32(0, true) === -1;
    if (continuation && bytesRead < 8) return;
    const prefix = continuation ? 8 : 4;
    const metaLength = view.getInt32(continuation ? 4 : 0, true);
    if (metaLength <= 0) {
      yield head.slice(0, prefix); // end-of-stream marker
      return;
    }
    // Lengths come from the file: check them against its size before allocating.
    if (position + prefix + metaLength > size) {
      throw new Error(
        `IPC message at byte ${position} claims ${metaLength} metadata bytes, past the end of the file`
      );
    }
    const meta = new Uint8Array(metaLength);
    if ((await fh.read(meta, 0, metaLength, position + prefix)).bytesRead < metaLength) {
      throw new Error(`truncated IPC message metadata at byte ${position}`);
    }
    const bodyLength = Message.decode(meta).bodyLength;
    const total = prefix + metaLength + bodyLength;
    if (!(bodyLength >= 0) || position + total > size) {
      throw new Error(
        `IPC message at byte ${position} claims a ${bodyLength}-byte body, past the end of the file`
      );
    }
    const bytes = new Uint8Array(new SharedArrayBuffer(total));
    bytes.set(head.subarray(0, prefix), 0);
    bytes.set(meta, prefix);
    const bodyStart = prefix + metaLength;
    await readFully(fh, bytes, bodyStart, bodyLength, position + bodyStart);
    position += total;
    yield bytes;
  }
}

/** The parts of Arrow JS's IPC file footer read here. */
interface FooterLike {
  numDictionaries: number;
  numRecordBatches: number;
  getDictionaryBatch(i: number): BlockLike | null;
  getRecordBatch(i: number): BlockLike | null;
}
interface BlockLike {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
}

/**
 * An IPC file as a stream of messages, each in its own SharedArrayBuffer: the schema (encoded
 * again from the footer's), every dictionary block, every record-batch block, end-of-stream.
 */
async function* fileMessages(
  fh: FileHandle,
  schema: ArrowSchema,
  footer: FooterLike,
  size: number,
  batches?: readonly number[]
): AsyncGenerator<Uint8Array> {
  const schemaStream = tableToIPC(new Table(schema), 'stream');
  yield schemaStream.subarray(0, schemaStream.byteLength - 8); // without its end-of-stream
  const blocks: (BlockLike | null)[] = [];
  for (let i = 0; i < footer.numDictionaries; i++) blocks.push(footer.getDictionaryBatch(i));
  if (batches === undefined) {
    for (let i = 0; i < footer.numRecordBatches; i++) blocks.push(footer.getRecordBatch(i));
  } else {
    for (const i of batches) blocks.push(footer.getRecordBatch(i));
  }
  for (const block of blocks) {
    if (block === null) continue;
    const total = block.metaDataLength + block.bodyLength;
    if (block.offset < 0 || total < 0 || block.offset + total > size) {
      throw new Error(
        `IPC file block at byte ${block.offset} (${total} bytes) lies past the end of the file`
      );
    }
    const bytes = new Uint8Array(new SharedArrayBuffer(total));
    await readFully(fh, bytes, 0, total, block.offset);
    yield bytes;
  }
  yield new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
}

/** Reads exactly `length` bytes at `position` into `into[offset..]`, or throws at end of file. */
async function readFully(
  fh: FileHandle,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(into, offset + done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** A {@link ByteSink} that can also write several chunks in one call (`FileHandle.writev`). */
export interface VectorByteSink extends ByteSink {
  /** Writes `chunks` in order, as one write; resolves once all are handed to the OS. */
  writev?(chunks: Uint8Array[]): Promise<void>;
}

/**
 * Arrow's writers queue every piece of a message (length prefix, metadata, padding, each body
 * buffer) as its own chunk, 30-odd per batch of 10 columns. Collected here synchronously
 * instead of through the writer's async queue, they go to the file in one `writev` per batch
 * rather than one awaited write each (perf: 88 MB in 16 batches, ~500 writes -> 16).
 */
class ChunkCollector extends AsyncByteQueue {
  private chunks: Uint8Array[] = [];

  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value);
  }

  /** The chunks queued since the last call. */
  take(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

/** Encodes batches as an Arrow IPC file or stream into a byte sink. */
export class IpcEncoder {
  private readonly writer: RecordBatchFileWriter | RecordBatchStreamWriter;
  private readonly chunks = new ChunkCollector();
  private readonly sink: VectorByteSink;
  private schema: ArrowSchema | null;
  private wrote = false;
  /** File format only: per dictionary id, the dictionary written so far and its value -> index. */
  private readonly dictionaries: Map<number, WrittenDictionary> | null;

  /**
   * @param sink - the destination (one `writev` per batch when it has one)
   * @param kind - `file` (`.arrow`) or `stream` (`.arrows`)
   * @param schema - the output schema, used when no batch is written
   */
  constructor(sink: VectorByteSink, kind: 'file' | 'stream', schema: ArrowSchema | null) {
    this.writer = kind === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
    // Arrow's writers accept any AsyncByteQueue as their sink and write to it synchronously.
    this.writer.reset(this.chunks as unknown as Parameters<typeof this.writer.reset>[0]);
    this.sink = sink;
    this.schema = schema;
    this.dictionaries = kind === 'file' ? new Map() : null;
  }

  /**
   * Appends one batch; resolves once its bytes are handed to the OS.
   *
   * @param batch - must have the same schema as earlier batches
   * @throws {ModelError} E_SCHEMA_MISMATCH when the batch's schema differs from the file's
   */
  async write(batch: RecordBatch): Promise<void> {
    checkSameSchema(this.schema, batch, this.wrote);
    if (!this.wrote) this.schema = batch.schema;
    this.wrote = true;
    // Arrow's writer compares schemas by class (`instanceof`): a Float64 column built here and a
    // Float(DOUBLE) one decoded from a worker's reply are the same type, yet a mismatch makes it
    // start a new stream (or close). Batches that passed the check above take the file's schema.
    const same =
      batch.schema === this.schema
        ? batch
        : recordBatchOf(
            this.schema!.fields,
            batch.data.children,
            batch.numRows,
            this.schema!.metadata
          );
    this.writer.write(
      this.dictionaries === null ? same : unifyDictionaries(same, this.dictionaries)
    );
    await this.flush();
  }

  /** Writes the footer/end marker and waits for every byte to reach the sink. */
  async finish(): Promise<void> {
    if (!this.wrote && this.schema !== null) this.writer.write(emptyBatch(this.schema));
    this.writer.finish();
    await this.flush();
  }

  /** Stops encoding; the bytes written so far are discarded by the caller. */
  async abort(): Promise<void> {
    this.chunks.take();
    this.writer.abort();
  }

  private async flush(): Promise<void> {
    const chunks = this.chunks.take();
    if (chunks.length === 0) return;
    if (this.sink.writev !== undefined) await this.sink.writev(chunks);
    else for (const chunk of chunks) await this.sink.write(chunk);
  }
}

/** A dictionary already in an IPC file, and where each of its values is (built on first use). */
interface WrittenDictionary {
  dictionary: Vector;
  index: Map<unknown, number> | null;
}

/**
 * Why: the IPC *file* format allows one dictionary per id plus deltas, never a replacement, and
 * Arrow JS's file writer throws on one. Batches read from an IPC stream with replacement
 * dictionaries, or encoded separately, each carry their own dictionary; their top-level
 * dictionary columns are re-indexed here onto the dictionary written so far, and values it
 * lacks are appended (written as a delta). A batch sharing the written dictionary passes as is.
 *
 * @throws {ModelError} E_SCHEMA_MISMATCH when the merged dictionary outgrows the index type
 */
function unifyDictionaries(
  batch: RecordBatch,
  written: Map<number, WrittenDictionary>
): RecordBatch {
  let children: Data[] | null = null;
  batch.schema.fields.forEach((field, i) => {
    if (!DataType.isDictionary(field.type)) return;
    const type = field.type as Dictionary;
    const data = batch.data.children[i] as Data<Dictionary>;
    const dictionary = data.dictionary;
    if (dictionary === undefined) return;
    const seen = written.get(type.id);
    if (seen === undefined || seen.dictionary.data[0] === dictionary.data[0]) {
      written.set(type.id, { dictionary, index: null });
      return;
    }
    if (seen.index === null) {
      seen.index = new Map();
      for (let k = 0; k < seen.dictionary.length; k++) {
        const value: unknown = seen.dictionary.get(k);
        if (!seen.index.has(value)) seen.index.set(value, k);
      }
    }
    const remap: number[] = [];
    const added: unknown[] = [];
    for (let k = 0; k < dictionary.length; k++) {
      const value: unknown = dictionary.get(k);
      let at = seen.index.get(value);
      if (at === undefined) {
        at = seen.dictionary.length + added.length;
        seen.index.set(value, at);
        added.push(value);
      }
      remap.push(at);
    }
    const size = seen.dictionary.length + added.length;
    const bits = type.indices.bitWidth - (type.indices.isSigned ? 1 : 0);
    if (bits < 53 && size > 2 ** bits) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Column '${field.name}': the batches' dictionaries merge into ${size} values, more than ` +
          `its ${String(type.indices)} indices can address in an IPC file; write .arrows instead.`,
        { details: { column: field.name, size } }
      );
    }
    if (added.length > 0) {
      seen.dictionary = seen.dictionary.concat(
        vectorFromArray(added, type.dictionary) as unknown as Vector
      );
    }
    const old = data.values;
    const indices = new (old.constructor as new (n: number) => typeof old)(old.length);
    const big = typeof old[0] === 'bigint';
    for (let r = 0; r < old.length; r++) {
      const at = remap[Number(old[r])] ?? 0; // a null slot's index may be anything
      indices[r] = (big ? BigInt(at) : at) as never;
    }
    children ??= [...batch.data.children];
    children[i] = makeData({
      type,
      offset: data.offset,
      length: data.length,
      nullCount: data.nullCount,
      nullBitmap: data.nullBitmap,
      data: indices,
      dictionary: seen.dictionary,
    });
  });
  if (children === null) return batch;
  return new RecordBatch(
    batch.schema,
    makeData({ type: batch.data.type, length: batch.numRows, nullCount: 0, children })
  );
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
