/**
 * Structural views of Apache Arrow objects (types, fields, `Data` nodes) that hold for objects
 * built by either apache-arrow module copy (CommonJS or ESM), plus Arrow's numeric type ids.
 * The wire codec (see `./transfer.ts`) recognises Arrow objects by shape and `typeId`, never
 * `instanceof`.
 *
 * @module
 */

/** Any typed array an Arrow buffer can be. */
export type AnyTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** An Arrow `DataType` seen by shape: its `typeId`, child fields and parameters. */
export interface TypeLike {
  readonly typeId: number;
  readonly children?: readonly FieldLike[] | null;
  readonly [param: string]: unknown;
}
/** An Arrow `Field` seen by shape. */
export interface FieldLike {
  readonly name: string;
  readonly type: TypeLike;
  readonly nullable: boolean;
  readonly metadata: Map<string, string>;
}
/** An Arrow `Data` node seen by shape (buffers pre-sliced by Arrow JS except bitmaps). */
export interface DataLike {
  readonly type: TypeLike;
  readonly offset: number;
  readonly length: number;
  readonly nullCount: number;
  readonly stride: number;
  readonly values?: AnyTypedArray;
  readonly valueOffsets?: Int32Array | BigInt64Array;
  readonly nullBitmap?: Uint8Array;
  readonly children: readonly DataLike[];
  readonly dictionary?: { readonly data: readonly DataLike[] };
}
/** A run of rows `[start, start + length)` of one chunk, in Arrow JS's pre-sliced indexing. */
export interface Segment {
  data: DataLike;
  start: number;
  length: number;
}

/**
 * Arrow's `Type` enum values (stable: they are the IPC flatbuffer ids). Compared by number so
 * types from either Arrow module copy are recognised.
 */
export const T = {
  Null: 1,
  Int: 2,
  Float: 3,
  Binary: 4,
  Utf8: 5,
  Bool: 6,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  Interval: 11,
  List: 12,
  Struct: 13,
  Union: 14,
  FixedSizeBinary: 15,
  FixedSizeList: 16,
  Map: 17,
  Duration: 18,
  LargeBinary: 19,
  LargeUtf8: 20,
  LargeList: 21,
  BinaryView: 23,
  Utf8View: 24,
  Dictionary: -1,
} as const;
/** Type id -> name of {@link T}, for error messages. */
export const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(T).map(([name, id]) => [id, name])
);
