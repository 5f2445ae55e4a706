/**
 * Hive partition values as columns: a dataset directory `year=2024/month=05/part-0.parquet`
 * gives every row of that file the columns `year` and `month`, appended after the file's own.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { recordBatchOf } from '../adapters/record-batch.js';
import { partitionColumns, partitionFields } from '../io/dataset.js';
import type { SplitPartitions } from './split-task.js';

/**
 * Appends a file's partition columns to one of its batches.
 *
 * @param batch - a batch of the partition's file
 * @param file - the file's path (for messages)
 * @param partitions - its partition values and their types
 * @returns the batch with one more column per partition
 * @throws {ModelError} E_FORMAT_MALFORMED when a value does not convert to its type
 */
export function withPartitions(
  batch: RecordBatch,
  file: string,
  partitions: SplitPartitions
): RecordBatch {
  const keys = partitions.values.map(([k]) => k);
  const fields = [...batch.schema.fields, ...partitionFields(keys, partitions.types)];
  const children = [
    ...batch.data.children,
    ...partitionColumns(
      { path: file, partitions: partitions.values },
      batch.numRows,
      partitions.types
    ),
  ];
  return recordBatchOf(fields, children, batch.numRows, batch.schema.metadata);
}
