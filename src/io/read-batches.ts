/**
 * One entry point for reading any supported file, or a dataset of files (a directory or a glob,
 * see `dataset.ts`), as a stream of Arrow record batches.
 *
 * @module
 */
import { stat } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema } from '../signature/types.js';
import type { WarnFn } from '../warnings.js';
import { readIpcBatches } from './arrow-ipc.js';
import { readCsvBatches } from './csv.js';
import { isGlobPattern, resolveDataset } from './dataset.js';
import { readDatasetBatches } from './dataset-read.js';
import { assertReadable } from './file-errors.js';
import { detectFormat, type Format } from './format.js';
import { readNdjsonBatches } from './ndjson.js';
import { readParquetBatches } from './parquet.js';

/** Options of {@link readBatches}. */
export interface ReadBatchesOptions {
  /**
   * The file format; default: from the extension ({@link detectFormat}). For a directory or a
   * glob: only files with an extension of this format are read.
   */
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
 * Streams a file, or a dataset of files, as Arrow record batches with bounded memory: Parquet
 * row group by row group, Arrow IPC batch by batch, CSV/NDJSON parsed incrementally and flushed
 * every `batchSize` rows. Every batch has the same schema.
 *
 * A directory or a glob is read as one dataset (`resolveDataset`): its files in order, each
 * file's Hive partition columns (`key=value/` directories) appended after the file's columns,
 * typed by the signature when it names them (else Utf8). Every file must have the first file's
 * columns; text files are read with the first file's column types. A path that exists as a file
 * is read as that file, exactly as before datasets.
 *
 * @param path - the input file, directory or glob
 * @param options - see {@link ReadBatchesOptions}
 * @returns an async iterable of batches (reading starts on iteration)
 * @throws {ModelError} E_FORMAT_UNSUPPORTED (extension; two formats in one dataset),
 *   E_FILE_NOT_FOUND (missing/unreadable file; a directory or glob without data files),
 *   E_FORMAT_MALFORMED (bad row or value, naming file, line, column and value; a partition value
 *   that does not convert), E_SCHEMA_MISMATCH (a dataset file whose columns or partition keys
 *   differ from the first file's), E_ABORTED (signal)
 * @example
 * ```ts
 * for await (const batch of readBatches('data.csv', { schema: signature.inputs })) {
 *   console.log(batch.numRows);
 * }
 * for await (const batch of readBatches('events/')) console.log(batch.numRows); // a dataset
 * ```
 */
export async function* readBatches(
  path: string,
  options: ReadBatchesOptions = {}
): AsyncGenerator<RecordBatch> {
  if (await isDatasetInput(path)) {
    const dataset = await resolveDataset(path, options.format ? { format: options.format } : {});
    const batchSize = checkBatchSize(options.batchSize);
    const { schema, signal, warn } = options;
    yield* readDatasetBatches(
      dataset,
      (file, fileSchema) =>
        readFileBatches(file, dataset.format, { batchSize, schema: fileSchema, signal, warn }),
      { schema, signal }
    );
    return;
  }
  const format = options.format ?? detectFormat(path);
  await assertReadable(path);
  const batchSize = checkBatchSize(options.batchSize);
  const { schema, signal, warn } = options;
  yield* readFileBatches(path, format, { batchSize, schema, signal, warn });
}

/** A directory, or a glob that is not the name of an existing file. */
async function isDatasetInput(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return isGlobPattern(path);
  }
}

function checkBatchSize(value: number | undefined): number {
  const batchSize = value ?? 65536;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.batchSize must be a positive integer, found ${batchSize}.`,
      {
        details: { option: 'batchSize', value: batchSize },
      }
    );
  }
  return batchSize;
}

/** One file in a known format (the single-file reader of every format). */
async function* readFileBatches(
  path: string,
  format: Format,
  options: Pick<ReadBatchesOptions, 'schema' | 'signal' | 'warn'> & { batchSize: number }
): AsyncGenerator<RecordBatch> {
  const { schema, signal, warn, batchSize } = options;
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

/** Options of {@link readAhead}. */
export interface ReadAheadOptions {
  /** Most batches held ahead of the consumer; default 8. */
  maxBatches?: number;
  /** Most bytes (`batch.data.byteLength`) held ahead of the consumer; default 64 MiB. */
  maxBytes?: number;
}

/**
 * Reads batches ahead of their consumer, in the background, up to a bound: while the consumer
 * is busy elsewhere (waiting for worker threads to start, for a write to reach the disk), the
 * next batches are already being read instead of only when asked for. Memory stays bounded:
 * reading pauses while `maxBatches` batches or `maxBytes` bytes wait (one batch always may, so
 * a batch larger than `maxBytes` still flows).
 *
 * Batches come out in source order; a source error is thrown after the batches read before it.
 * Reading starts on the first `next()`; `return()` (a consumer's `break`) stops reading, waits
 * for a read in progress and closes the source.
 *
 * @param batches - the source, e.g. {@link readBatches}
 * @param options - see {@link ReadAheadOptions}
 * @returns the same batches, read ahead
 * @throws whatever the source throws, once the batches before the failure are consumed
 */
export async function* readAhead(
  batches: AsyncIterable<RecordBatch>,
  options: ReadAheadOptions = {}
): AsyncGenerator<RecordBatch> {
  const maxBatches = options.maxBatches ?? 8;
  const maxBytes = options.maxBytes ?? 64 * 2 ** 20;
  const source = batches[Symbol.asyncIterator]();
  const buffer: RecordBatch[] = [];
  let bytes = 0;
  let ended = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  // At most one side waits at a time: the consumer for a batch, or the reader for room.
  let wakeConsumer: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  const full = () => buffer.length > 0 && (buffer.length >= maxBatches || bytes >= maxBytes);
  const reader = (async () => {
    try {
      for (;;) {
        while (full() && !stopped) await new Promise<void>((r) => (wakeReader = r));
        if (stopped) return;
        const next = await source.next();
        if (next.done === true) return;
        buffer.push(next.value);
        bytes += next.value.data.byteLength;
        wakeConsumer?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      wakeConsumer?.();
    }
  })();
  try {
    for (;;) {
      const batch = buffer.shift();
      if (batch !== undefined) {
        bytes -= batch.data.byteLength;
        wakeReader?.();
        yield batch;
        continue;
      }
      if (ended) {
        if (failure !== undefined) throw failure.error;
        return;
      }
      await new Promise<void>((r) => (wakeConsumer = r));
      wakeConsumer = undefined;
    }
  } finally {
    stopped = true;
    wakeReader?.();
    await reader;
    await source.return?.(undefined);
  }
}
