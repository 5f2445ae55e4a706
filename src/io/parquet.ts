/**
 * Parquet files batch by batch, on top of the split machinery: reading goes row group by row
 * group through {@link readParquetRowGroups}; writing encodes each batch as a piece (its own
 * row group) and assembles the pieces into one file.
 *
 * Reading: the footer is read once with positional reads, then each row group's column chunks
 * (only those bytes) are decoded by parquet-wasm; every batch (at most `batchSize` rows, never
 * spanning two row groups) lives in a `SharedArrayBuffer`, so a UDF sends its columns to the
 * workers without copying (see `pool/transfer.ts`).
 *
 * Writing: each batch is encoded by parquet-wasm as soon as it arrives and its bytes go to the
 * sink right away; only each row group's footer metadata (a few hundred bytes per column) is
 * kept until `finish()` writes the footer. Memory is bounded by one batch, not the file.
 *
 * @module
 */
import type { RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import type { ByteSink } from './byte-sink.js';
import { checkSameSchema } from './arrow-ipc.js';
import { throwIfAborted } from './file-errors.js';
import { ParquetAssembler } from './parquet-assembler.js';
import { footerRowGroups, readParquetFooter } from './parquet-footer.js';
import { encodeParquetPiece, type ParquetWriteOptions } from './parquet-piece.js';
import { parquetArrowSchema, readParquetRowGroups } from './parquet-row-groups.js';
import { emptyBatch } from './text-columns.js';

/**
 * Reads a Parquet file as record batches of at most `batchSize` rows, one row group at a time.
 *
 * @param path - the file
 * @param batchSize - maximum rows per batch; default 65536
 * @param signal - stops reading between batches
 * @returns the batches in file order; one empty batch (with the file's schema) when the file
 *   has no rows
 * @throws {ModelError} E_FILE_NOT_FOUND, E_FORMAT_MALFORMED for bytes that are not Parquet
 *   (naming the row group when one fails to decode), E_ABORTED
 */
export async function* readParquetBatches(
  path: string,
  batchSize = 65536,
  signal?: AbortSignal
): AsyncGenerator<RecordBatch> {
  const footer = await readParquetFooter(path);
  const groups = footerRowGroups(footer).map((_, g) => g);
  let yielded = false;
  for await (const batch of readParquetRowGroups(path, groups, { batchSize, footer, signal })) {
    throwIfAborted(signal);
    yielded = true;
    yield batch;
  }
  // An empty file still has a schema: yield one empty batch so callers see the columns.
  if (!yielded) yield emptyBatch(parquetArrowSchema(path, footer));
}

/**
 * Encodes batches as one Parquet file into a byte sink, one row group per batch (a batch of
 * more than `rowGroupSize` rows gives several).
 */
export class ParquetEncoder {
  private readonly assembler: ParquetAssembler;
  private readonly options: ParquetWriteOptions;
  private schema: ArrowSchema | null;
  private wrote = false;

  /**
   * @param sink - the destination
   * @param schema - the output schema, used when no batch is written
   * @param options - writer options (codec, row group size); default snappy
   */
  constructor(sink: ByteSink, schema: ArrowSchema | null, options: ParquetWriteOptions = {}) {
    this.schema = schema;
    this.options = options;
    this.assembler = new ParquetAssembler(sink, { schema, write: options });
  }

  /**
   * Appends one batch.
   *
   * @param batch - must have the same schema as earlier batches
   * @throws {ModelError} E_SCHEMA_MISMATCH when the batch's schema differs from the file's;
   *   E_FORMAT_UNSUPPORTED when a column's type cannot be written
   */
  async write(batch: RecordBatch): Promise<void> {
    checkSameSchema(this.schema, batch, this.wrote);
    if (!this.wrote) this.schema = batch.schema;
    this.wrote = true;
    if (batch.numRows === 0) return;
    await this.assembler.append(encodeParquetPiece(batch, this.options));
  }

  /** Writes the footer (an empty file of the schema when no rows were written). */
  async finish(): Promise<void> {
    if (this.assembler.numRowGroups === 0 && this.schema !== null) {
      // No rows: an empty file of the (last known) schema.
      await this.assembler.append(encodeParquetPiece(emptyBatch(this.schema), this.options));
    }
    await this.assembler.finish();
  }

  /** Stops encoding (nothing is buffered: the caller discards what reached the sink). */
  async abort(): Promise<void> {}
}
