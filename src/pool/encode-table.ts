/**
 * Encoding of Arrow tables and vectors (from either apache-arrow module copy) as postable
 * {@link WireTable}s / {@link WireVector}s, and the transfer list to post them with.
 *
 * @module
 */
import type { RecordBatch, Table, Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { DataLike, FieldLike, TypeLike } from './arrow-like.js';
import { Arena, finish } from './encode-arena.js';
import { childData, plan } from './encode-plan.js';
import { WIRE_FORMAT, describe, type WireTable, type WireVector } from './wire-format.js';
import { encodeField, encodeType } from './wire-type.js';

/** Options of {@link encodeTable} and {@link encodeVector}. */
export interface EncodeOptions {
  /**
   * Put the buffers in a `SharedArrayBuffer` (posted without copying, never detached).
   * `false`: a plain `ArrayBuffer`, to be moved with {@link transferListOf}. Default `true`.
   */
  shared?: boolean;
  /**
   * Send buffers that already live in a `SharedArrayBuffer` as ranges of it instead of copying
   * them (see the module doc). `false`: copy everything (a snapshot). Default `true`.
   */
  reuseShared?: boolean;
}

function isTableLike(x: unknown): x is {
  schema: { fields: FieldLike[]; metadata: Map<string, string> };
  data: DataLike | DataLike[];
} {
  const t = x as { schema?: { fields?: unknown }; data?: unknown } | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    Array.isArray(t.schema?.fields) &&
    typeof t.data === 'object' &&
    t.data !== null
  );
}

/**
 * Encodes an Arrow Table (or RecordBatch) as a postable {@link WireTable}, copying each
 * column's buffers once into one batch buffer, except buffers already in a SharedArrayBuffer,
 * which are sent as ranges of it (see the module comment).
 *
 * @param table - the table; built by either apache-arrow module copy; may be sliced and
 *   multi-batch. It is not modified or detached.
 * @param options - `shared` (default `true`): SharedArrayBuffer vs transferable ArrayBuffer;
 *   `reuseShared` (default `true`): send buffers already in a SharedArrayBuffer without copying.
 * @returns the wire table; post it as is (with {@link transferListOf} when not shared).
 * @throws {ModelError} E_INPUT_INVALID when `table` is not an Arrow table, or a column's type
 *   cannot cross (Union, Utf8View, BinaryView), naming the column and type.
 */
export function encodeTable(table: Table | RecordBatch, options: EncodeOptions = {}): WireTable {
  return planTable(table, options).finish();
}

/**
 * An encoding planned but not yet copied: what it would copy, and {@link TablePlan.finish},
 * which copies it. Lets a caller decide where to score a batch from what moving it costs (a
 * table already in shared memory copies nothing), and fill a buffer it leased.
 */
export interface TablePlan {
  /** Bytes the encoding copies into the batch buffer (0 when every buffer is already shared). */
  readonly copiedBytes: number;
  /** Bytes sent as ranges of the shared memory the table already lived in. */
  readonly sharedBytes: number;
  /**
   * Copies the table's buffers and returns the wire table. Callable more than once (each call
   * copies again, e.g. to re-send a batch after a worker crash).
   *
   * @param into - a buffer of at least {@link TablePlan.copiedBytes} bytes to fill (a reused
   *   slab: its old contents are overwritten); default a fresh buffer, shared or not as the
   *   plan's options say
   * @returns the wire table over that buffer
   * @throws {ModelError} E_INTERNAL when `into` is too small
   */
  finish(into?: SharedArrayBuffer | ArrayBuffer): WireTable;
}

/**
 * Plans the encoding of a table (see {@link encodeTable}) without copying anything: every
 * validation error of `encodeTable` is raised here.
 *
 * @param table - the table (either apache-arrow module copy; sliced or multi-batch)
 * @param options - as for {@link encodeTable}
 * @returns the plan
 * @throws {ModelError} E_INPUT_INVALID as {@link encodeTable}
 */
export function planTable(table: Table | RecordBatch, options: EncodeOptions = {}): TablePlan {
  const t: unknown = table;
  if (!isTableLike(t)) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `encodeTable expected an Arrow Table or RecordBatch, got ${describe(table)}`
    );
  }
  const batches = Array.isArray(t.data) ? t.data : [t.data];
  const fields = t.schema.fields;
  const arena = new Arena(options.reuseShared ?? true);
  const wireFields = fields.map((f) => encodeField(f, f.name));
  const columns = fields.map((f, j) =>
    plan(
      batches.map((b) => ({ data: childData(b, j, f.name), start: 0, length: b.length })),
      f.type,
      f.name,
      arena
    )
  );
  const numRows = batches.reduce((n, b) => n + b.length, 0);
  const metadata = [...(t.schema.metadata ?? new Map<string, string>())];
  const shared = options.shared ?? true;
  return {
    copiedBytes: arena.size,
    sharedBytes: arena.sharedBytes,
    finish: (into) => ({
      format: WIRE_FORMAT,
      numRows,
      fields: wireFields,
      metadata,
      // The fills set each column's null count: the buffer is filled before it is described.
      buffer: finish(arena, shared, into),
      columns,
    }),
  };
}

/**
 * Encodes one Arrow Vector (all its chunks concatenated) as a postable {@link WireVector}.
 *
 * @param vector - the vector; built by either apache-arrow module copy.
 * @param options - `shared` and `reuseShared` (both default `true`), as for {@link encodeTable}.
 * @returns the wire vector.
 * @throws {ModelError} E_INPUT_INVALID when `vector` is not an Arrow Vector or its type cannot
 *   cross.
 */
export function encodeVector(vector: Vector, options: EncodeOptions = {}): WireVector {
  const v = vector as unknown as { type?: TypeLike; data?: DataLike[] } | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.type?.typeId !== 'number' ||
    !Array.isArray(v.data)
  ) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `encodeVector expected an Arrow Vector, got ${describe(vector)}`
    );
  }
  const arena = new Arena(options.reuseShared ?? true);
  const type = encodeType(v.type, 'result');
  const data = plan(
    v.data.map((d) => ({ data: d, start: 0, length: d.length })),
    v.type,
    'result',
    arena
  );
  return { format: WIRE_FORMAT, type, data, buffer: finish(arena, options.shared ?? true) };
}

/**
 * The buffers to put on a `postMessage` / `Tinypool.run` transfer list for `wire`: its
 * ArrayBuffer, or nothing when it is a SharedArrayBuffer (shared memory is never transferred).
 *
 * @param wire - a wire table or vector.
 * @returns `[wire.buffer]` or `[]`.
 */
export function transferListOf(wire: WireTable | WireVector): ArrayBuffer[] {
  return wire.buffer instanceof ArrayBuffer && wire.buffer.byteLength > 0 ? [wire.buffer] : [];
}
