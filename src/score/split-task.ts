/**
 * The protocol between the file-scoring driver (`score-files.ts`, main thread) and its worker
 * task (`score-split.ts`): what one split task reads, how it scores and what output piece it
 * answers with. Plain structured-clone-friendly data.
 *
 * @module
 */
import type { PartitionTypes, PartitionValue } from '../io/dataset.js';
import type { WireError } from '../errors.js';
import type { Format } from '../io/format.js';
import type { ParquetPiece } from '../io/parquet-piece.js';
import type { PoolTask } from '../pool/protocol.js';
import type { WireTable } from '../pool/wire-format.js';
import type { ValueType } from '../signature/types.js';
import type { ColumnMapping } from '../udf/column-mapping.js';
import type { ModelTaskFields } from '../udf/model-task.js';

/**
 * The Hive partition columns of the split's file: constant values for every row, appended after
 * the file's own columns.
 */
export interface SplitPartitions {
  /** `[key, value]` in path order (value unescaped; null for the default partition). */
  values: PartitionValue[];
  /** Column types from the model signature where it names the column (else Utf8). */
  types: PartitionTypes;
}

/**
 * Where a text split starts:
 * - `exact`: `start` is a record start (the first split of a file, or a re-run whose quote
 *   state the driver has worked out: `inQuotes` is the state at `start`);
 * - `guess`: the first record terminator at or after `start` is taken to end a record (right
 *   unless a quoted field with newlines straddles `start`); the driver verifies the guess with
 *   the quote parities the task reports, and re-runs the split exactly when it was wrong.
 */
export type TextStart = { kind: 'exact'; inQuotes: boolean } | { kind: 'guess' };

/** The split starts at the file's data start (a record start by definition). */
export const kFirstSplit: TextStart = { kind: 'exact', inQuotes: false };

/** What a split task reads. */
export type SplitSource =
  | {
      kind: 'parquet';
      path: string;
      rowGroups: number[];
      /** Columns to read (projection), or null for all. */
      columns: string[] | null;
    }
  | { kind: 'ipc'; path: string; batches: number[] }
  | {
      /** A batch the driver read (Arrow IPC streams are read in order on the driver). */
      kind: 'batch';
      table: WireTable;
    }
  | TextSource;

/** A CSV or NDJSON byte range. */
export interface TextSource {
  kind: 'csv' | 'ndjson';
  path: string;
  /** The raw byte range `[start, end)`: the split owns the records that start in it. */
  start: number;
  end: number;
  /** Size of the file (the split reads past `end` to finish its last record). */
  fileSize: number;
  /** Where the file's data starts (after a CSV header; 0 for NDJSON). */
  dataStart: number;
  how: TextStart;
  /**
   * Every column of the file, in file order (CSV: the header's; NDJSON: first-seen key
   * order), with its final type, or `skip` to not materialise it (projection); `inferred`
   * when the type was inferred (not from the signature), for error hints.
   */
  columns: { name: string; type: ValueType | 'skip'; inferred?: boolean }[];
  /** CSV passthrough: collect each record's byte range (its bytes are copied). */
  recordBounds?: boolean;
}

/** What a split task writes. */
export interface OutputSpec {
  /** The output file format. */
  format: Format;
  /** The result column's name; a struct result becomes `<column>.<field>` columns. */
  column: string;
  /**
   * `full`: the piece holds every input column plus the result. `passthrough`: the piece
   * copies the input's encoded bytes (Parquet column chunks, CSV records) and encodes only the
   * result, for outputs in the input's own format.
   */
  mode: 'full' | 'passthrough';
}

/** One split to score. */
export interface ScoreSplitTask extends PoolTask, ModelTaskFields {
  /** Index of the split in the plan (for messages). */
  split: number;
  /** Name of the input file for messages. */
  file: string;
  source: SplitSource;
  /** Constant columns appended to every batch (Hive partitions); null when there are none. */
  partitions: SplitPartitions | null;
  /** Source columns -> signature inputs (resolved once by the driver). */
  mapping: ColumnMapping;
  /** Most rows per `predict` call. */
  batchSize: number;
  output: OutputSpec;
}

/** An encoded piece of the output, in the output format, ready to be written in order. */
export type Piece =
  /** CSV (no header: the driver writes it) or NDJSON bytes. */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** Arrow data for the driver's IPC writer, in shared memory. */
  | { kind: 'table'; table: WireTable }
  /** Parquet row groups encoded in the worker; the driver's assembler places them. */
  | { kind: 'parquet'; piece: ParquetPiece };

/** Facts about a text split that the driver checks and builds on. */
export interface TextSplitFacts {
  /** Absolute offset of the split's first record (its records start in `[first, next)`). */
  first: number;
  /** Absolute offset after its last record: the next split's `first`. */
  next: number;
  /** Line terminators from `first` to `next` (inside quoted fields too): line numbering. */
  lines: number;
  /** Parity of the `"` bytes in the raw range `[start, end)`. */
  parity: 0 | 1;
  /**
   * Guess mode: the guess was right exactly when this equals the true quote state at `start`
   * (1: inside a quoted field); null for an exact start.
   */
  guessParity: 0 | 1 | null;
}

/** The reply value of a split task. */
export interface ScoreSplitResult {
  rows: number;
  /** Null for a split with no rows. */
  piece: Piece | null;
  text?: TextSplitFacts;
  /**
   * A text split's parse error, returned rather than thrown: it only counts once the driver
   * has verified the split's start (a wrongly guessed start parses garbage). Lines are counted
   * from 1 at `text.first`.
   */
  error?: WireError;
}
