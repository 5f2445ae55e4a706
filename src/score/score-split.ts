/**
 * The worker side of file scoring: one task = one split of the input, start to finish.
 *
 * Per task: read the split (positional reads of its row groups, batches or byte range; only
 * the columns it needs) -> append partition columns -> score it in `batchSize` chunks (map
 * columns, predict with the model loaded once per worker) -> build the output rows (input
 * columns + result, struct results flattened) -> encode them in the output format -> reply
 * with the encoded piece, its buffers moved to the driver. The driver only plans, orders and
 * writes: no per-row or per-cell work happens on its thread.
 *
 * @module
 */
import { type RecordBatch, Table, type Vector } from 'apache-arrow';
import { ModelError, serializeError } from '../errors.js';
import { ByteBuffer } from '../io/byte-buffer.js';
import { csvCellWriters } from '../io/csv-format.js';
import { passthroughPiece, readPassthroughInput } from '../io/parquet-passthrough.js';
import { pieceTransferList } from '../io/parquet-piece.js';
import { decodeParquetSlices } from '../io/parquet-row-groups.js';
import type { HandlerResult } from '../pool/protocol.js';
import { decodeTable, encodeTable } from '../pool/transfer.js';
import { appendResultColumn, flattenStructColumn } from '../udf/append-result.js';
import { predictColumn } from '../udf/model-task.js';
import { encodePiece, pieceTransfer } from './encode-piece.js';
import { withPartitions } from './partition-columns.js';
import { readSplit, type SplitRead } from './read-split.js';
import type { ScoreSplitResult, ScoreSplitTask } from './split-task.js';

/**
 * Scores one split (the pool calls this in a worker).
 *
 * @param task - the split, the model and the output format
 * @returns the encoded output piece (and text split facts), its buffers on the transfer list
 */
export default async function scoreSplit(
  task: ScoreSplitTask
): Promise<HandlerResult<ScoreSplitResult>> {
  if (task.output.mode === 'passthrough' && task.source.kind === 'parquet') {
    return scoreParquetPassthrough(task, task.source);
  }
  const read = await readSplit(task);
  if (read.error !== undefined) {
    // Not thrown: the driver first checks that this split started where it should.
    return {
      value: { rows: 0, piece: null, ...textFacts(read), error: serializeError(read.error) },
      transfer: [],
    };
  }
  if (read.records !== undefined) return scoreCsvPassthrough(task, read, read.records);
  const scored: RecordBatch[] = [];
  const rows = await scoreChunks(task, read.batches, (chunk, result) => {
    scored.push(withResult(task, chunk, result));
  });
  const piece = rows === 0 ? null : await encodePiece(task.output, scored);
  const value: ScoreSplitResult = { rows, piece, ...textFacts(read) };
  return { value, transfer: piece === null ? [] : pieceTransfer(piece) };
}

/**
 * Parquet -> Parquet without re-encoding the input: the split's row groups are read once (their
 * raw bytes); the model's columns are decoded from those bytes; only the result (and any
 * partition columns) is encoded; the piece copies the input's column chunks byte for byte.
 */
async function scoreParquetPassthrough(
  task: ScoreSplitTask,
  source: Extract<ScoreSplitTask['source'], { kind: 'parquet' }>
): Promise<HandlerResult<ScoreSplitResult>> {
  const input = await readPassthroughInput(source.path, source.rowGroups);
  const decoded = decodeParquetSlices(source.path, input.footer, source.rowGroups, input.slices, {
    columns: source.columns,
    batchSize: task.batchSize,
  });
  const partitions = task.partitions;
  const keys = partitions?.values.map(([k]) => k) ?? [];
  const extra: RecordBatch[] = [];
  let rows = 0;
  for (const batch of decoded) {
    const full = partitions === null ? batch : withPartitions(batch, task.file, partitions);
    for (let at = 0; at < full.numRows; at += task.batchSize) {
      const chunk =
        at === 0 && full.numRows <= task.batchSize
          ? full
          : full.slice(at, Math.min(full.numRows, at + task.batchSize));
      const vector = await predictChunk(task, chunk, rows);
      // By index: apache-arrow 21's RecordBatch.select(names) keeps each child at its old index.
      const kept = chunk.selectAt(
        keys.map((k) => chunk.schema.fields.findIndex((f) => f.name === k))
      );
      extra.push(
        flattenStructColumn(
          appendResultColumn(kept, task.output.column, vector),
          task.output.column
        )
      );
      rows += chunk.numRows;
    }
  }
  if (rows === 0) return { value: { rows: 0, piece: null }, transfer: [] };
  const piece = passthroughPiece(input, new Table(extra));
  return {
    value: { rows, piece: { kind: 'parquet', piece } },
    transfer: pieceTransferList(piece),
  };
}

/**
 * CSV -> CSV without re-formatting the input: every output line is the input record's own
 * bytes (terminator excluded), a comma, then the result's cells; only the model's columns were
 * parsed. Input columns come out exactly as they came in.
 */
async function scoreCsvPassthrough(
  task: ScoreSplitTask,
  read: SplitRead,
  records: NonNullable<SplitRead['records']>
): Promise<HandlerResult<ScoreSplitResult>> {
  const out = new ByteBuffer(records.bytes.byteLength + 32 * records.starts.length);
  let done = 0;
  const rows = await scoreChunks(task, read.batches, (chunk, result) => {
    const cells = csvCellWriters(withResult(task, chunk.selectAt([]), result));
    for (let r = 0; r < chunk.numRows; r++) {
      const row = done + r;
      out.writeBytes(
        records.bytes,
        records.starts[row]! - records.base,
        records.ends[row]! - records.base
      );
      for (const cell of cells) {
        out.writeByte(44); // ','
        cell(out, r);
      }
      out.writeByte(10); // '\n'
    }
    done += chunk.numRows;
  });
  const bytes = out.bytes();
  const piece = rows === 0 ? null : ({ kind: 'bytes', bytes } as const);
  return {
    value: { rows, piece, ...textFacts(read) },
    transfer: piece === null ? [] : pieceTransfer(piece),
  };
}

function textFacts(read: SplitRead): Pick<ScoreSplitResult, 'text'> {
  return read.text !== undefined ? { text: read.text } : {};
}

/**
 * Scores batches in chunks of at most `batchSize` rows (one `predict` call each), in order,
 * handing each chunk and its result column to `take`.
 *
 * @returns the rows scored
 */
async function scoreChunks(
  task: ScoreSplitTask,
  batches: readonly RecordBatch[],
  take: (chunk: RecordBatch, result: Vector) => void
): Promise<number> {
  let rows = 0;
  for (const batch of batches) {
    for (let at = 0; at < batch.numRows; at += task.batchSize) {
      const chunk =
        at === 0 && batch.numRows <= task.batchSize
          ? batch
          : batch.slice(at, Math.min(batch.numRows, at + task.batchSize));
      take(chunk, await predictChunk(task, chunk, rows));
      rows += chunk.numRows;
    }
  }
  return rows;
}

/** `batch` with the result column (struct results flattened to `<column>.<field>`). */
function withResult(task: ScoreSplitTask, batch: RecordBatch, result: Vector): RecordBatch {
  const column = task.output.column;
  return flattenStructColumn(appendResultColumn(batch, column, result), column);
}

async function predictChunk(task: ScoreSplitTask, chunk: RecordBatch, rowInSplit: number) {
  try {
    return (await predictColumn(task, new Table(chunk), task.mapping)) as Vector;
  } catch (error) {
    if (!ModelError.is(error)) throw error;
    // The driver adds the file and the absolute rows once it knows where this split starts.
    throw new ModelError(error.code, error.message, {
      details: { ...error.details, rowInSplit, rowsInChunk: chunk.numRows },
      cause: error.cause ?? error,
    });
  }
}

/** Re-exported so tests can decode a table piece the way the driver does. */
export { decodeTable, encodeTable };
