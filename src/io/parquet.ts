/**
 * Parquet through parquet-wasm: read row group by row group in bounded batches, and write
 * through parquet-wasm's streaming writer.
 *
 * Reading opens the file as a file-backed Blob (`fs.openAsBlob`), so parquet-wasm fetches only
 * the byte ranges of the row groups it decodes; each decoded batch (at most `batchSize` rows,
 * never spanning two row groups) crosses from WebAssembly to Arrow JS as IPC bytes. Those bytes
 * are copied once into a `SharedArrayBuffer` and decoded zero-copy (Arrow JS makes views of an
 * uncompressed IPC body), so every column of a batch lives in shared memory and a UDF sends it
 * to its workers without copying (see `pool/transfer.ts`).
 *
 * Writing feeds batches to `transformParquetStream`, which encodes each one as it arrives, but
 * parquet-wasm 0.8 only emits the encoded bytes when the stream ends: the whole encoded
 * (compressed) file is held in WebAssembly memory until `close()`. The Arrow batches themselves
 * are not retained, so memory is bounded by the compressed output size, not the input size.
 *
 * @module
 */
import { openAsBlob } from 'node:fs';
import {
  type RecordBatch,
  type Schema as ArrowSchema,
  Table,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { BytePump, type ByteSink } from './byte-sink.js';
import { checkSameSchema } from './arrow-ipc.js';
import { fileNotFound, malformedFile, throwIfAborted } from './file-errors.js';
import { emptyBatch } from './text-columns.js';

/**
 * Reads a Parquet file as record batches of at most `batchSize` rows, one row group at a time.
 *
 * @param path - the file
 * @param batchSize - maximum rows per batch; default 65536
 * @param signal - stops reading between batches
 * @returns the batches in file order
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_MALFORMED for bytes that are not Parquet
 */
export async function* readParquetBatches(
  path: string,
  batchSize = 65536,
  signal?: AbortSignal
): AsyncGenerator<RecordBatch> {
  let blob;
  try {
    blob = await openAsBlob(path);
  } catch (e) {
    throw fileNotFound(path, e);
  }
  let file: pq.ParquetFile;
  try {
    file = await pq.ParquetFile.fromFile(blob);
  } catch (e) {
    throw malformedFile(path, 'Parquet', e);
  }
  try {
    const groups = file.metadata().numRowGroups();
    let yielded = false;
    for (let g = 0; g < groups; g++) {
      let stream: ReadableStream<pq.RecordBatch>;
      try {
        stream = await file.stream({ rowGroups: [g], batchSize });
      } catch (e) {
        throw malformedFile(path, 'Parquet', e);
      }
      const reader = stream.getReader();
      try {
        for (;;) {
          let next;
          try {
            next = await reader.read();
          } catch (e) {
            throw malformedFile(path, 'Parquet', e);
          }
          if (next.done) break;
          const table = tableFromIPC(inSharedMemory(next.value.intoIPCStream()));
          for (const batch of table.batches) {
            throwIfAborted(signal);
            yielded = true;
            yield batch;
          }
        }
      } finally {
        reader.releaseLock();
      }
    }
    if (!yielded) {
      // An empty file still has a schema: yield one empty batch so callers see the columns.
      yield emptyBatch(tableFromIPC(file.schema().intoIPCStream()).schema);
    }
  } finally {
    file.free();
  }
}

/** A copy of `bytes` in a fresh SharedArrayBuffer (at byte 0, keeping IPC's 8-byte alignment). */
function inSharedMemory(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}

/** Encodes batches as one Parquet file into a byte sink (see the module notes on memory). */
export class ParquetEncoder {
  private controller!: ReadableStreamDefaultController<pq.RecordBatch>;
  private readonly pump: Promise<BytePump>;
  private schema: ArrowSchema | null;
  private wrote = false;

  /**
   * @param sink - the destination
   * @param schema - the output schema, used when no batch is written
   */
  constructor(sink: ByteSink, schema: ArrowSchema | null) {
    this.schema = schema;
    const input = new ReadableStream<pq.RecordBatch>({
      start: (c) => {
        this.controller = c;
      },
    });
    this.pump = pq
      .transformParquetStream(input)
      .then((out) => new BytePump(out as unknown as AsyncIterable<Uint8Array>, sink));
    this.pump.catch(() => undefined);
  }

  /**
   * Appends one batch (a row group per batch).
   *
   * @param batch - must have the same schema as earlier batches
   * @throws {ModelError} E_SCHEMA_MISMATCH when the batch's schema differs from the file's
   */
  async write(batch: RecordBatch): Promise<void> {
    checkSameSchema(this.schema, batch, this.wrote);
    if (!this.wrote) this.schema = batch.schema;
    this.wrote = true;
    this.enqueue(new Table([batch]));
    await (await this.pump).drained();
  }

  /** Ends the stream and waits for the encoded file to reach the sink. */
  async finish(): Promise<void> {
    if (!this.wrote && this.schema !== null) this.enqueue(new Table([emptyBatch(this.schema)]));
    this.controller.close();
    await (
      await this.pump
    ).done;
  }

  /** Stops encoding. */
  async abort(): Promise<void> {
    try {
      this.controller.error(new Error('aborted'));
    } catch {
      // already closed
    }
    await this.pump.then((p) => p.done).catch(() => undefined);
  }

  private enqueue(table: Table): void {
    const wasm = pq.Table.fromIPCStream(tableToIPC(table, 'stream'));
    const batches = wasm.recordBatches();
    for (const b of batches) this.controller.enqueue(b);
  }
}
