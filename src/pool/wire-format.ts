/**
 * The postable containers that cross the worker-thread boundary: {@link WireTable},
 * {@link WireVector} and their {@link WireData} nodes, whose buffers are byte ranges
 * ({@link WireBuffer}) of one batch buffer or of shared memory the input already lived in.
 *
 * @module
 */
import type { WireField, WireMetadata, WireType } from './wire-type.js';

/** Version tag carried by every {@link WireTable} / {@link WireVector}. */
export const WIRE_FORMAT = 'jsfunc-wire/2';

/**
 * A byte range of the batch buffer ({@link WireTable.buffer}; `byteOffset` 8-aligned there), or,
 * when `source` is set, of that `SharedArrayBuffer`: memory the input already lived in, sent
 * without copying (`byteOffset` then aligned to the element size of the buffer's view).
 */
export interface WireBuffer {
  byteOffset: number;
  byteLength: number;
  source?: SharedArrayBuffer;
}

/**
 * One Arrow `Data` node, normalised to offset 0. `values`: fixed-width values, bit-packed
 * bools, dictionary indices or variable-width bytes; `valueOffsets`: `length + 1` offsets
 * (Int32, or BigInt64 for the Large types) starting at 0, except for Utf8/Binary sent
 * zero-copy, whose offsets index `values` as they are; `nullBitmap`: absent when
 * `nullCount` is 0. `children` follow the type's children; `dictionary` is the whole
 * dictionary of a Dictionary column.
 */
export interface WireData {
  length: number;
  nullCount: number;
  values?: WireBuffer;
  valueOffsets?: WireBuffer;
  nullBitmap?: WireBuffer;
  children: WireData[];
  dictionary?: WireData;
}

/** A postable Arrow table: schema description plus one {@link WireData} per column. */
export interface WireTable {
  format: typeof WIRE_FORMAT;
  numRows: number;
  fields: WireField[];
  metadata: WireMetadata;
  columns: WireData[];
  /** Every buffer of every column lives here. Shared: posting does not copy it. */
  buffer: SharedArrayBuffer | ArrayBuffer;
}

/** A postable Arrow vector (one column, concatenated). */
export interface WireVector {
  format: typeof WIRE_FORMAT;
  type: WireType;
  data: WireData;
  buffer: SharedArrayBuffer | ArrayBuffer;
}

/** Names a value for error messages: `null`, its `typeof`, or its constructor name. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'object';
}
