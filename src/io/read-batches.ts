/**
 * One entry point for reading any supported file as a stream of Arrow record batches.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema } from '../signature/types.js';
import type { WarnFn } from '../warnings.js';
import { readIpcBatches } from './arrow-ipc.js';
import { readCsvBatches } from './csv.js';
import { assertReadable } from './file-errors.js';
import { detectFormat, type Format } from './format.js';
import { readNdjsonBatches } from './ndjson.js';
import { readParquetBatches } from './parquet.js';

/** Options of {@link readBatches}. */
export interface ReadBatchesOptions {
  /** The file format; default: from the extension ({@link detectFormat}). */
  format?: Format;
  /**
   * The model input signature, used to TYPE text columns (CSV/NDJSON) the way MLflow's scoring
   * server does; binary formats keep their own types. Default: none (columns are inferred).
   */
  schema?: Schema | null;
  /** Rows per batch for text formats and the Parquet batch cap; default 65536. */
  batchSize?: number;
  /** Stops reading between batches with E_ABORTED. */
  signal?: AbortSignal;
  /** Receives non-fatal notes (NDJSON keys first seen after the first batch); default `defaultWarn`. */
  warn?: WarnFn;
}

/**
 * Streams a file as Arrow record batches with bounded memory: Parquet row group by row group,
 * Arrow IPC batch by batch, CSV/NDJSON parsed incrementally and flushed every `batchSize` rows.
 * Every batch of one file has the same schema.
 *
 * @param path - the input file
 * @param options - see {@link ReadBatchesOptions}
 * @returns an async iterable of batches (reading starts on iteration)
 * @throws {ModelError} E_FORMAT_UNSUPPORTED (extension), E_FILE_NOT_FOUND (missing/unreadable
 *   file), E_FORMAT_MALFORMED (bad row or value, naming file, line, column and value),
 *   E_ABORTED (signal)
 * @example
 * ```ts
 * for await (const batch of readBatches('data.csv', { schema: signature.inputs })) {
 *   console.log(batch.numRows);
 * }
 * ```
 */
export async function* readBatches(
  path: string,
  options: ReadBatchesOptions = {}
): AsyncGenerator<RecordBatch> {
  const format = options.format ?? detectFormat(path);
  await assertReadable(path);
  const batchSize = options.batchSize ?? 65536;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.batchSize must be a positive integer, found ${batchSize}.`,
      {
        details: { option: 'batchSize', value: batchSize },
      }
    );
  }
  const { schema, signal, warn } = options;
  switch (format) {
    case 'parquet':
      yield* readParquetBatches(path, batchSize, signal);
      return;
    case 'arrow':
    case 'arrows':
      yield* readIpcBatches(path, signal);
      return;
    case 'csv':
      yield* readCsvBatches(path, { schema, batchSize, signal });
      return;
    case 'ndjson':
      yield* readNdjsonBatches(path, { schema, batchSize, signal, ...(warn ? { warn } : {}) });
      return;
    case 'json':
      throw new ModelError(
        'E_FORMAT_UNSUPPORTED',
        `${path}: .json files are MLflow request bodies (read them with parseMlflowRequest), not ` +
          'batch input; use .ndjson/.jsonl for one JSON object per row.',
        { details: { path, format } }
      );
  }
}
