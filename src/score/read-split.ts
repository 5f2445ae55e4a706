/**
 * Reading one split inside a worker: a Parquet file's row groups, an Arrow IPC file's record
 * batches, a batch the driver sent, or a text file's byte range; then the partition columns.
 *
 * @module
 */
import { Field, Utf8, type Data, type DataType, type RecordBatch } from 'apache-arrow';
import { recordBatchOf } from '../adapters/record-batch.js';
import { readIpcFileBatches } from '../io/arrow-ipc.js';
import { openInput, readAt } from '../io/positional-read.js';
import { readCsvSplit } from '../io/csv-split.js';
import { NdjsonRecordParser, ndjsonLineStart } from '../io/ndjson-split.js';
import { textColumnArrowType } from '../io/text-columns.js';
import { readParquetRowGroups } from '../io/parquet-row-groups.js';
import { decodeTable } from '../pool/transfer.js';
import { taskWarn } from '../pool/worker-runtime.js';
import type { ScoreSplitTask, TextSource, TextSplitFacts } from './split-task.js';
import { withPartitions } from './partition-columns.js';

/** What a split read yields. */
export interface SplitRead {
  batches: RecordBatch[];
  /** Text splits: where the split's records start and end, and its quote parities. */
  text?: TextSplitFacts;
  /** A text split's parse error (see `ScoreSplitResult.error`): no batches then. */
  error?: unknown;
  /** CSV passthrough: the split's bytes and each row's record range in them. */
  records?: { bytes: Uint8Array; starts: Float64Array; ends: Float64Array; base: number };
}

/**
 * Reads the split a task names.
 *
 * @param task - the split task
 * @returns its batches (buffers in shared memory where the reader allows) and text facts
 * @throws {ModelError} E_FORMAT_MALFORMED (binary formats), E_FILE_NOT_FOUND
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
      read = await readCsvRange(source);
      break;
    case 'ndjson':
      read = await readNdjsonRange(source, task.batchSize);
      break;
  }
  const partitions = task.partitions;
  if (partitions !== null) {
    read.batches = read.batches.map((b) => withPartitions(b, task.file, partitions));
  }
  return read;
}

/** One CSV byte range: positional reads, record start (exact or guessed), typed columns. */
async function readCsvRange(source: TextSource): Promise<SplitRead> {
  const fh = await openInput(source.path);
  try {
    const result = await readCsvSplit({
      read: (position, length) => readAt(fh, position, length),
      fileSize: source.fileSize,
      dataStart: source.dataStart,
      start: source.start,
      end: source.end,
      inQuotes: source.how.kind === 'guess' ? null : source.how.inQuotes,
      columns: source.columns,
      file: source.path,
      recordBounds: source.recordBounds === true,
    });
    const text: TextSplitFacts = {
      first: result.recordStart,
      next: result.next,
      lines: result.lines,
      parity: result.parity,
      guessParity: result.guessParity,
    };
    if (result.error !== null && result.error !== undefined) {
      return { batches: [], text, error: result.error };
    }
    const batch = columnsBatch(source, result.columns, (i) => result.types[i] ?? null, result.rows);
    const read: SplitRead = { batches: result.rows === 0 ? [] : [batch], text };
    if (result.recordStarts !== undefined && result.recordEnds !== undefined) {
      read.records = {
        bytes: result.bytes,
        starts: result.recordStarts,
        ends: result.recordEnds,
        base: result.recordStart,
      };
    }
    return read;
  } finally {
    await fh.close();
  }
}

/**
 * One NDJSON byte range: lines that start in `[start, end)` (a line starts at the data start or
 * after a `\n`: JSON text cannot hold a raw newline, so no quote state is needed), read with
 * positional reads, more (doubling) while a line runs past what was read.
 */
async function readNdjsonRange(source: TextSource, batchSize: number): Promise<SplitRead> {
  const fh = await openInput(source.path);
  try {
    const { fileSize, end } = source;
    // One byte before `start` tells whether a line starts right at it.
    let from = Math.max(source.dataStart, source.start - 1);
    let length = Math.min(fileSize, end + 65536) - from;
    let bytes = await readAt(fh, from, length);
    let pos = source.start - from;
    if (source.start !== source.dataStart) {
      for (;;) {
        pos = ndjsonLineStart(bytes, source.start - from, from);
        if (pos >= 0) break;
        if (from + bytes.length >= fileSize) {
          pos = bytes.length;
          break;
        }
        length *= 2;
        bytes = await readAt(fh, from, Math.min(fileSize - from, length));
      }
    }
    const first = from + pos;
    const parser = new NdjsonRecordParser(
      source.columns.map((c) => ({ name: c.name, type: c.type, declared: c.inferred !== true })),
      source.path
    );
    const unknown = new Set<string>();
    let lines = 0;
    let error: unknown;
    try {
      for (;;) {
        const eof = from + bytes.length >= fileSize;
        const chunk = parser.parse(bytes, {
          start: pos,
          stop: Math.max(pos, end - from),
          eof,
          byteOffset: from,
          firstLine: 1 + lines,
        });
        lines += chunk.lines;
        pos = chunk.next;
        for (const k of chunk.unknownKeys) unknown.add(k.key);
        if (chunk.complete || eof) break;
        // The line at `pos` runs past the bytes read: read again from it, twice as much.
        from += pos;
        pos = 0;
        length = Math.max(length * 2, 65536);
        bytes = await readAt(fh, from, Math.min(fileSize - from, length));
      }
    } catch (e) {
      error = e;
    }
    const text: TextSplitFacts = { first, next: from + pos, lines, parity: 0, guessParity: null };
    if (error !== undefined) return { batches: [], text, error };
    const rows = parser.rows;
    let columns: (Data | null)[];
    try {
      columns = parser.finish();
    } catch (e) {
      return { batches: [], text, error: e };
    }
    for (const key of unknown) {
      taskWarn(
        `${source.path}: key '${key}' did not appear in the first ${batchSize} rows; it is ` +
          'ignored so that every batch has the same columns.'
      );
    }
    const batch = columnsBatch(
      source,
      columns,
      (i) => {
        const t = source.columns[i]!.type;
        return t === 'skip' ? null : (textColumnArrowType(t) ?? new Utf8());
      },
      rows
    );
    return { batches: rows === 0 ? [] : [batch], text };
  } finally {
    await fh.close();
  }
}

/** The batch of a text split's columns (skipped ones left out). */
function columnsBatch(
  source: TextSource,
  columns: readonly (Data | null | undefined)[],
  typeOf: (i: number) => DataType | null,
  rows: number
): RecordBatch {
  const fields: Field[] = [];
  const children: Data[] = [];
  source.columns.forEach((c, i) => {
    const data = columns[i];
    const type = typeOf(i);
    if (data === null || data === undefined || type === null) return;
    fields.push(new Field(c.name, type, true));
    children.push(data);
  });
  return recordBatchOf(fields, children, rows);
}
