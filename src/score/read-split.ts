/**
 * Reading one split inside a worker: a Parquet file's row groups, an Arrow IPC file's record
 * batches, a batch the driver sent, or a text file's byte range; then the partition columns.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { readIpcFileBatches } from '../io/arrow-ipc.js';
import { readCsvBatches } from '../io/csv.js';
import { readNdjsonBatches } from '../io/ndjson.js';
import { openAsBlob } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { fileNotFound, malformedFile } from '../io/file-errors.js';
import type { ColSpec } from '../signature/types.js';
import { decodeTable } from '../pool/transfer.js';
import { ModelError } from '../errors.js';
import type { ScoreSplitTask, TextSplitFacts } from './split-task.js';
import { withPartitions } from './partition-columns.js';

/** What a split read yields. */
export interface SplitRead {
  batches: RecordBatch[];
  /** Text splits: where the split's records start and end, and its quote parities. */
  text?: TextSplitFacts;
}

/**
 * Reads the split a task names.
 *
 * @param task - the split task
 * @returns its batches (buffers in shared memory where the reader allows) and text facts
 * @throws {ModelError} E_FORMAT_MALFORMED, E_FILE_NOT_FOUND
 */
export async function readSplit(task: ScoreSplitTask): Promise<SplitRead> {
  const source = task.source;
  let read: SplitRead;
  switch (source.kind) {
    case 'parquet':
      read = { batches: await readRowGroups(source.path, source.rowGroups, source.columns) };
      break;
    case 'ipc':
      read = { batches: await readIpcFileBatches(source.path, source.batches) };
      break;
    case 'batch':
      read = { batches: decodeTable(source.table).batches };
      break;
    case 'csv':
    case 'ndjson': {
      // Until the byte-range readers land, a text split is a whole file.
      if (source.start !== 0 || source.end !== source.fileSize) {
        throw new ModelError('E_INTERNAL', `text split ${task.split} is not a whole file`);
      }
      const batches: RecordBatch[] = [];
      const schema: ColSpec[] = source.columns.flatMap((c) =>
        c.type === 'skip'
          ? []
          : [{ kind: 'column' as const, name: c.name, type: c.type, required: false }]
      );
      const reader =
        source.kind === 'csv'
          ? readCsvBatches(source.path, { batchSize: task.batchSize, schema })
          : readNdjsonBatches(source.path, { batchSize: task.batchSize, schema });
      for await (const b of reader) batches.push(b);
      read = { batches };
      break;
    }
  }
  const partitions = task.partitions;
  if (partitions !== null) {
    read.batches = read.batches.map((b) => withPartitions(b, task.file, partitions));
  }
  return read;
}

/** Temporary: row groups through parquet-wasm directly (to be replaced by io/parquet's reader). */
async function readRowGroups(
  path: string,
  rowGroups: number[],
  columns: string[] | null
): Promise<RecordBatch[]> {
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
    const out: RecordBatch[] = [];
    const stream = await file.stream({
      rowGroups,
      batchSize: 1 << 30,
      ...(columns !== null ? { columns } : {}),
    });
    const reader = stream.getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done === true) break;
      const bytes = (next.value as pq.RecordBatch).intoIPCStream();
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      shared.set(bytes);
      out.push(...tableFromIPC(shared).batches);
    }
    return out;
  } catch (e) {
    throw malformedFile(path, 'Parquet', e);
  } finally {
    file.free();
  }
}
