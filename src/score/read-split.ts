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
import { readParquetRowGroups } from '../io/parquet-row-groups.js';
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
    case 'parquet': {
      const batches: RecordBatch[] = [];
      for await (const b of readParquetRowGroups(source.path, source.rowGroups, {
        columns: source.columns,
        batchSize: task.batchSize,
      })) {
        batches.push(b);
      }
      read = { batches };
      break;
    }
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
