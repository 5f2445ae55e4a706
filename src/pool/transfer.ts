/**
 * The fast data path across the worker-thread boundary: Arrow tables and vectors in a postable,
 * structured-clone-friendly form.
 *
 * Arrow JS objects cannot be posted (they hold closures and class prototypes, and structured
 * clone throws on them), so {@link encodeTable} turns a table into a {@link WireTable}: plain
 * field/type descriptions plus, per column, the Arrow `Data` tree as `{length, nullCount,
 * buffers, children, dictionary}` whose buffers are `(byteOffset, byteLength)` ranges of ONE
 * buffer per batch. {@link decodeTable} rebuilds Arrow `Data` with `makeData` over typed-array
 * views of that buffer: no copy on the receiving side.
 *
 * Encoding copies each column's buffers (those not already in shared memory, see below)
 * exactly once into that buffer: tightly packed, every
 * buffer 8-byte aligned (so `Float64Array`/`BigInt64Array` views are legal), trimmed to the
 * rows actually present (a 10-row slice of a huge table copies 10 rows), with offsets
 * normalised to 0 (null bitmaps and bool values at odd bit offsets are re-packed from bit 0;
 * Utf8/Binary/List value offsets are rebased to start at 0), and multi-chunk columns
 * concatenated into one `Data` (the concatenation is the one copy).
 *
 * ## Default: SharedArrayBuffer
 * By default the batch buffer is a `SharedArrayBuffer`: posting it shares the memory, so
 * nothing is copied or detached, the sender's table stays usable, and the receiver may write
 * into it (for example results). With `{ shared: false }` it is a plain `ArrayBuffer` that
 * {@link transferListOf} returns for the `postMessage`/`Tinypool.run` transfer list.
 * Measured with `benchmarks/transfer.mjs` (Node 20.20.2, 2 shared cores under load average ~7,
 * apache-arrow 21.2.0; median round trip main -> worker -> main, the worker decoding, computing
 * and answering with a 65,536-row Float64 vector through the same path; two runs):
 *
 * | batch | shared SAB | ArrayBuffer + transfer list | IPC + transfer | clone raw arrays |
 * |---|---|---|---|---|
 * | 65,536 x 10 Float64 (5 MB) | 2.1-2.6 ms | 2.7-3.0 ms | 3.5-4.9 ms | 2.1-3.1 ms |
 * | 65,536-row Utf8 (1.6 MB) | 0.92-1.03 ms | 0.92-0.93 ms | 1.3-2.0 ms | 1.06 ms |
 *
 * Shared and transfer-list are equal within noise and both 0.5-0.7x of IPC. Shared is the
 * default because it is never slower, it never detaches anything (a wire table can be posted
 * to several workers, retried after a worker crash, or kept by the sender), and the worker can
 * read and write the very same memory. Structured clone of raw arrays is competitive at this
 * size only because it skips Arrow entirely; it copies twice and cannot carry nulls or nesting.
 *
 * Arrow objects are recognised by shape and `typeId`, never `instanceof`: a table built by the
 * CommonJS copy of apache-arrow and one built by the ESM copy are both accepted. Decoding
 * builds objects of whichever copy this module itself imports.
 *
 * ## Zero-copy for data already in shared memory
 * A buffer that already lives in a `SharedArrayBuffer` (a table made by `shareTable`, read by
 * jsfunc's Parquet/CSV/NDJSON readers, or built by the caller over shared memory) is not copied:
 * its {@link WireBuffer} names that buffer as `source` and the byte range inside it, and the
 * receiver makes its view there. Posting a `SharedArrayBuffer` shares it, so the whole batch
 * crosses without touching the data (perf-probes: for a trivial model the copy costs about as
 * much as the model). This applies per buffer, for a column that is ONE chunk of the table
 * (a slice inside one record batch): fixed-width values and dictionary indices always;
 * null bitmaps and bool values when the slice starts on a byte boundary (at another bit offset
 * they are re-packed, which is 1/64 of a float64 column); Utf8/Binary offsets and bytes always
 * (the offsets are then sent as they are, absolute into the chunk's bytes, so they may start
 * above 0, as in Arrow JS's own slices); List/Map offsets when they start at 0. A column
 * spanning several record batches is still concatenated (copied). Consequence: the worker sees
 * the caller's memory, not a snapshot; writing into a shared table while it is being scored
 * races with the workers.
 *
 * Known cost: a Dictionary column's dictionary is sent whole, even for a small slice of a
 * column with a huge dictionary (e.g. `tableFromArrays` dictionary-encodes strings).
 *
 * @module
 */
import {
  Binary,
  Bool,
  Date_,
  Decimal,
  Dictionary,
  Duration,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float,
  Int,
  Interval,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Time,
  Timestamp,
  Utf8,
  makeData,
  makeVector,
} from 'apache-arrow';
import type { Data, DataType, Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

/** Version tag carried by every {@link WireTable} / {@link WireVector}. */
export const WIRE_FORMAT = 'jsfunc-wire/2';

/** Key/value metadata of a field or schema, as ordered pairs (structured-clone friendly). */
export type WireMetadata = [key: string, value: string][];

/** Time units, named (Arrow's `TimeUnit`). */
export type WireTimeUnit = 'second' | 'millisecond' | 'microsecond' | 'nanosecond';

/**
 * A serializable Arrow `DataType`: a `kind` tag (one per Arrow type id) plus its parameters.
 * Nested types carry their child {@link WireField}s.
 */
export type WireType =
  | { kind: 'null' }
  | { kind: 'bool' }
  | { kind: 'int'; bitWidth: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: 'float'; bitWidth: 16 | 32 | 64 }
  | { kind: 'utf8' }
  | { kind: 'large-utf8' }
  | { kind: 'binary' }
  | { kind: 'large-binary' }
  | { kind: 'fixed-size-binary'; byteWidth: number }
  | { kind: 'date'; unit: 'day' | 'millisecond' }
  | { kind: 'time'; unit: WireTimeUnit; bitWidth: 32 | 64 }
  | { kind: 'timestamp'; unit: WireTimeUnit; timezone?: string | null }
  | { kind: 'duration'; unit: WireTimeUnit }
  | { kind: 'interval'; unit: 'year-month' | 'day-time' | 'month-day-nano' }
  | { kind: 'decimal'; precision: number; scale: number; bitWidth: number }
  | { kind: 'list'; child: WireField }
  | { kind: 'large-list'; child: WireField }
  | { kind: 'fixed-size-list'; listSize: number; child: WireField }
  | { kind: 'struct'; children: WireField[] }
  | { kind: 'map'; entries: WireField; keysSorted: boolean }
  | {
      kind: 'dictionary';
      id: number;
      indices: { bitWidth: 8 | 16 | 32 | 64; signed: boolean };
      value: WireType;
      ordered: boolean;
    };

/** A serializable Arrow `Field`. */
export interface WireField {
  name: string;
  nullable: boolean;
  metadata: WireMetadata;
  type: WireType;
}

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

// ---------------------------------------------------------------------------------------------
// Structural views of Arrow objects (from either module copy)
// ---------------------------------------------------------------------------------------------

type AnyTypedArray =
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

interface TypeLike {
  readonly typeId: number;
  readonly children?: readonly FieldLike[] | null;
  readonly [param: string]: unknown;
}
interface FieldLike {
  readonly name: string;
  readonly type: TypeLike;
  readonly nullable: boolean;
  readonly metadata: Map<string, string>;
}
interface DataLike {
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
interface Segment {
  data: DataLike;
  start: number;
  length: number;
}

// Arrow's `Type` enum values (stable: they are the IPC flatbuffer ids). Compared by number so
// types from either Arrow module copy are recognised.
const T = {
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
const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(T).map(([name, id]) => [id, name])
);
const TIME_UNITS: readonly WireTimeUnit[] = ['second', 'millisecond', 'microsecond', 'nanosecond'];
const INTERVAL_UNITS = ['year-month', 'day-time', 'month-day-nano'] as const;

// ---------------------------------------------------------------------------------------------
// Type codec
// ---------------------------------------------------------------------------------------------

/**
 * Describes an Arrow `DataType` (from either apache-arrow module copy) as a {@link WireType}.
 *
 * @param type - the Arrow type.
 * @param column - column path used in error messages. Default `"?"`.
 * @returns the serializable description.
 * @throws {ModelError} E_INPUT_INVALID for types that cannot cross (Union, Utf8View,
 *   BinaryView), naming the column and the type.
 */
export function encodeDataType(type: DataType, column = '?'): WireType {
  return encodeType(type as unknown as TypeLike, column);
}

function encodeType(type: TypeLike, column: string): WireType {
  const p = type as Record<string, unknown>;
  switch (type.typeId) {
    case T.Null:
      return { kind: 'null' };
    case T.Bool:
      return { kind: 'bool' };
    case T.Int:
      return { kind: 'int', bitWidth: p['bitWidth'] as 8, signed: p['isSigned'] as boolean };
    case T.Float:
      return { kind: 'float', bitWidth: ([16, 32, 64] as const)[p['precision'] as number] ?? 64 };
    case T.Utf8:
      return { kind: 'utf8' };
    case T.LargeUtf8:
      return { kind: 'large-utf8' };
    case T.Binary:
      return { kind: 'binary' };
    case T.LargeBinary:
      return { kind: 'large-binary' };
    case T.FixedSizeBinary:
      return { kind: 'fixed-size-binary', byteWidth: p['byteWidth'] as number };
    case T.Date:
      return { kind: 'date', unit: p['unit'] === 0 ? 'day' : 'millisecond' };
    case T.Time:
      return { kind: 'time', unit: timeUnit(p['unit']), bitWidth: p['bitWidth'] === 64 ? 64 : 32 };
    case T.Timestamp: {
      // `undefined` and `null` time zones compare unequal in Arrow JS: keep which one it was.
      const timezone = p['timezone'] as string | null | undefined;
      return timezone === undefined
        ? { kind: 'timestamp', unit: timeUnit(p['unit']) }
        : { kind: 'timestamp', unit: timeUnit(p['unit']), timezone };
    }
    case T.Duration:
      return { kind: 'duration', unit: timeUnit(p['unit']) };
    case T.Interval:
      return { kind: 'interval', unit: INTERVAL_UNITS[p['unit'] as number] ?? 'day-time' };
    case T.Decimal:
      return {
        kind: 'decimal',
        precision: p['precision'] as number,
        scale: p['scale'] as number,
        bitWidth: (p['bitWidth'] as number | undefined) ?? 128,
      };
    case T.List:
      return { kind: 'list', child: encodeField(childField(type, 0, column), `${column}[]`) };
    case T.LargeList:
      return { kind: 'large-list', child: encodeField(childField(type, 0, column), `${column}[]`) };
    case T.FixedSizeList:
      return {
        kind: 'fixed-size-list',
        listSize: p['listSize'] as number,
        child: encodeField(childField(type, 0, column), `${column}[]`),
      };
    case T.Struct:
      return {
        kind: 'struct',
        children: (type.children ?? []).map((f) => encodeField(f, `${column}.${f.name}`)),
      };
    case T.Map:
      return {
        kind: 'map',
        entries: encodeField(childField(type, 0, column), `${column}{}`),
        keysSorted: Boolean(p['keysSorted']),
      };
    case T.Dictionary: {
      const indices = p['indices'] as TypeLike & { bitWidth: 8; isSigned: boolean };
      return {
        kind: 'dictionary',
        id: Number(p['id']),
        indices: { bitWidth: indices.bitWidth, signed: indices.isSigned },
        value: encodeType(p['dictionary'] as TypeLike, column),
        ordered: Boolean(p['isOrdered']),
      };
    }
    default:
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column "${column}": Arrow type ${String(type)} (typeId ${type.typeId}${TYPE_NAMES[type.typeId] ? `, ${TYPE_NAMES[type.typeId]}` : ''}) cannot be sent to a worker thread; supported: Null, Bool, Int, Float, Utf8, LargeUtf8, Binary, LargeBinary, FixedSizeBinary, Date, Time, Timestamp, Duration, Interval, Decimal, List, LargeList, FixedSizeList, Struct, Map, Dictionary`,
        { details: { column, typeId: type.typeId, type: String(type) } }
      );
  }
}

function timeUnit(unit: unknown): WireTimeUnit {
  return TIME_UNITS[unit as number] ?? 'millisecond';
}

function childField(type: TypeLike, index: number, column: string): FieldLike {
  const child = type.children?.[index];
  if (child === undefined) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column "${column}": Arrow type ${String(type)} has no child field ${index}`,
      {
        details: { column },
      }
    );
  }
  return child;
}

function encodeField(field: FieldLike, column: string): WireField {
  return {
    name: field.name,
    nullable: field.nullable,
    metadata: [...(field.metadata ?? new Map<string, string>())],
    type: encodeType(field.type, column),
  };
}

/**
 * Rebuilds an Arrow `DataType` (of the apache-arrow copy this module imports) from a
 * {@link WireType}.
 *
 * @param wire - the description made by {@link encodeDataType}.
 * @returns the Arrow type.
 * @throws {ModelError} E_INPUT_INVALID when `wire.kind` is unknown.
 */
export function decodeDataType(wire: WireType): DataType {
  switch (wire.kind) {
    case 'null':
      return new Null();
    case 'bool':
      return new Bool();
    case 'int':
      return new Int(wire.signed, wire.bitWidth);
    case 'float':
      return new Float(wire.bitWidth === 16 ? 0 : wire.bitWidth === 32 ? 1 : 2);
    case 'utf8':
      return new Utf8();
    case 'large-utf8':
      return new LargeUtf8();
    case 'binary':
      return new Binary();
    case 'large-binary':
      return new LargeBinary();
    case 'fixed-size-binary':
      return new FixedSizeBinary(wire.byteWidth);
    case 'date':
      return new Date_(wire.unit === 'day' ? 0 : 1);
    case 'time':
      return new Time(TIME_UNITS.indexOf(wire.unit), wire.bitWidth);
    case 'timestamp':
      return new Timestamp(TIME_UNITS.indexOf(wire.unit), wire.timezone);
    case 'duration':
      return new Duration(TIME_UNITS.indexOf(wire.unit));
    case 'interval':
      return new Interval(INTERVAL_UNITS.indexOf(wire.unit));
    case 'decimal':
      return new Decimal(wire.scale, wire.precision, wire.bitWidth);
    case 'list':
      return new List(decodeField(wire.child));
    case 'large-list':
      return new LargeList(decodeField(wire.child));
    case 'fixed-size-list':
      return new FixedSizeList(wire.listSize, decodeField(wire.child));
    case 'struct':
      return new Struct(wire.children.map(decodeField));
    case 'map':
      return new Map_(decodeField(wire.entries) as Field<Struct>, wire.keysSorted);
    case 'dictionary':
      return new Dictionary(
        decodeDataType(wire.value),
        new Int(wire.indices.signed, wire.indices.bitWidth) as never,
        wire.id,
        wire.ordered
      );
    default:
      throw new ModelError(
        'E_INPUT_INVALID',
        `Unknown wire type kind ${JSON.stringify((wire as { kind: unknown }).kind)}`
      );
  }
}

function decodeField(wire: WireField): Field {
  return new Field(wire.name, decodeDataType(wire.type), wire.nullable, new Map(wire.metadata));
}

// ---------------------------------------------------------------------------------------------
// Encoding: plan (sizes, layout) then fill (the one copy)
// ---------------------------------------------------------------------------------------------

/**
 * Bump allocator over the batch buffer. Planning records each buffer's aligned range and a
 * fill callback; the buffer is allocated once the total size is known, then filled.
 */
class Arena {
  size = 0;
  readonly fills: ((bytes: Uint8Array) => void)[] = [];
  constructor(readonly reuseShared = true) {}
  alloc(byteLength: number): WireBuffer {
    const byteOffset = (this.size + 7) & ~7;
    this.size = byteOffset + byteLength;
    return { byteOffset, byteLength };
  }
}

function total(segments: readonly Segment[]): number {
  let n = 0;
  for (const s of segments) n += s.length;
  return n;
}

function plan(
  segments: readonly Segment[],
  type: TypeLike,
  column: string,
  arena: Arena
): WireData {
  const length = total(segments);
  const node: WireData = { length, nullCount: 0, children: [] };
  switch (type.typeId) {
    case T.Null:
      node.nullCount = length;
      return node;
    case T.Bool:
      planValidity(node, segments, arena);
      planBits(node, segments, arena);
      return node;
    case T.Int:
    case T.Float:
    case T.Decimal:
    case T.Date:
    case T.Time:
    case T.Timestamp:
    case T.Interval:
    case T.Duration:
    case T.FixedSizeBinary:
      planValidity(node, segments, arena);
      planFixedWidth(node, segments, arena);
      return node;
    case T.Utf8:
    case T.Binary:
    case T.List:
    case T.Map:
    case T.LargeUtf8:
    case T.LargeBinary:
    case T.LargeList: {
      planValidity(node, segments, arena);
      const childSegments = planOffsets(node, segments, column, arena, type.typeId);
      if (type.typeId === T.List || type.typeId === T.LargeList || type.typeId === T.Map) {
        node.children.push(
          plan(childSegments, childField(type, 0, column).type, `${column}[]`, arena)
        );
      }
      return node;
    }
    case T.FixedSizeList: {
      planValidity(node, segments, arena);
      const n = Number(type['listSize']);
      const child = childField(type, 0, column);
      const childSegments = segments.map((s) => ({
        data: childData(s.data, 0, column),
        start: s.start * n,
        length: s.length * n,
      }));
      node.children.push(plan(childSegments, child.type, `${column}[]`, arena));
      return node;
    }
    case T.Struct: {
      planValidity(node, segments, arena);
      (type.children ?? []).forEach((field, j) => {
        const childSegments = segments.map((s) => ({
          data: childData(s.data, j, column),
          start: s.start,
          length: s.length,
        }));
        node.children.push(plan(childSegments, field.type, `${column}.${field.name}`, arena));
      });
      return node;
    }
    case T.Dictionary:
      planValidity(node, segments, arena);
      planDictionary(node, segments, type, column, arena);
      return node;
    default:
      encodeType(type, column); // throws the "unsupported type" error
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column "${column}": unsupported Arrow type ${String(type)}`
      );
  }
}

function childData(data: DataLike, index: number, column: string): DataLike {
  const child = data.children[index];
  if (child === undefined) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column "${column}": Arrow data of type ${String(data.type)} lacks child ${index}`,
      {
        details: { column },
      }
    );
  }
  return child;
}

/**
 * Null bitmap. Arrow JS never slices the bitmap: row `i` of a chunk is bit `offset + i`, so a
 * slice starts at an arbitrary bit. The output is re-packed from bit 0 (zero-filled memory,
 * bits OR-ed in segment order). Skipped when no chunk has nulls.
 */
function planValidity(node: WireData, segments: readonly Segment[], arena: Arena): void {
  if (!segments.some((s) => s.length > 0 && s.data.nullCount > 0)) return;
  const one = segments.length === 1 ? segments[0] : undefined;
  if (one !== undefined && one.data.nullBitmap !== undefined) {
    const bit = one.data.offset + one.start;
    const ref =
      (bit & 7) === 0
        ? sharedRange(arena, one.data.nullBitmap, bit >> 3, (one.length + 7) >> 3)
        : undefined;
    if (ref !== undefined) {
      node.nullBitmap = ref;
      node.nullCount =
        one.start === 0 && one.length === one.data.length
          ? one.data.nullCount
          : one.length - countBits(one.data.nullBitmap, bit, one.length);
      return;
    }
  }
  const ref = arena.alloc((node.length + 7) >> 3);
  node.nullBitmap = ref;
  arena.fills.push((bytes) => {
    const dst = bytes.subarray(ref.byteOffset, ref.byteOffset + ref.byteLength);
    let pos = 0;
    for (const s of segments) {
      const bitmap = s.data.nullBitmap;
      if (s.data.nullCount > 0 && bitmap !== undefined && bitmap.length > 0) {
        copyBits(bitmap, s.data.offset + s.start, dst, pos, s.length);
      } else {
        setBits(dst, pos, s.length);
      }
      pos += s.length;
    }
    node.nullCount = node.length - popcount(dst);
  });
}

/** Bool values: bit-packed like the bitmap, at bit `offset + i`. */
function planBits(node: WireData, segments: readonly Segment[], arena: Arena): void {
  const one = segments.length === 1 ? segments[0] : undefined;
  if (one !== undefined && one.data.values !== undefined) {
    const bit = one.data.offset + one.start;
    const shared =
      (bit & 7) === 0
        ? sharedRange(arena, one.data.values, bit >> 3, (one.length + 7) >> 3)
        : undefined;
    if (shared !== undefined) {
      node.values = shared;
      return;
    }
  }
  const ref = arena.alloc((node.length + 7) >> 3);
  node.values = ref;
  arena.fills.push((bytes) => {
    const dst = bytes.subarray(ref.byteOffset, ref.byteOffset + ref.byteLength);
    let pos = 0;
    for (const s of segments) {
      if (s.data.values !== undefined)
        copyBits(asBytes(s.data.values), s.data.offset + s.start, dst, pos, s.length);
      pos += s.length;
    }
  });
}

/** Fixed-width values: Arrow JS pre-slices `values`, so row `i` is at `i * stride` elements. */
function planFixedWidth(node: WireData, segments: readonly Segment[], arena: Arena): void {
  const first = segments.find((s) => s.data.values !== undefined)?.data;
  const rowBytes = first?.values ? first.stride * first.values.BYTES_PER_ELEMENT : 0;
  const one = segments.length === 1 ? segments[0] : undefined;
  if (one !== undefined && one.data.values !== undefined) {
    const shared = sharedRange(arena, one.data.values, one.start * rowBytes, one.length * rowBytes);
    if (shared !== undefined) {
      node.values = shared;
      return;
    }
  }
  const ref = arena.alloc(node.length * rowBytes);
  node.values = ref;
  arena.fills.push((bytes) => {
    let pos = ref.byteOffset;
    for (const s of segments) {
      const src = s.data.values;
      if (src !== undefined) {
        const from = Math.min(s.start * rowBytes, src.byteLength);
        const to = Math.min((s.start + s.length) * rowBytes, src.byteLength);
        bytes.set(new Uint8Array(src.buffer, src.byteOffset + from, to - from), pos);
      }
      pos += s.length * rowBytes;
    }
  });
}

/**
 * Variable-width offsets (Utf8/Binary/List/Map and their Large twins). Arrow JS slices the
 * offsets but not the values or child, so offsets are absolute into the chunk's values; the
 * output is rebased to start at 0 and continues across chunks. Returns the child ranges.
 */
function planOffsets(
  node: WireData,
  segments: readonly Segment[],
  column: string,
  arena: Arena,
  typeId: number
): Segment[] {
  const large = typeId === T.LargeUtf8 || typeId === T.LargeBinary || typeId === T.LargeList;
  const hasValues =
    typeId === T.Utf8 || typeId === T.Binary || typeId === T.LargeUtf8 || typeId === T.LargeBinary;
  const ranges: [start: number, end: number][] = [];
  const childSegments: Segment[] = [];
  let valueBytes = 0;
  for (const s of segments) {
    const offsets = s.data.valueOffsets;
    const start = s.length > 0 && offsets ? Number(offsets[s.start]) : 0;
    const end = s.length > 0 && offsets ? Number(offsets[s.start + s.length]) : 0;
    ranges.push([start, end]);
    valueBytes += end - start;
    if (!hasValues && s.length > 0)
      childSegments.push({ data: childData(s.data, 0, column), start, length: end - start });
  }
  if (!large && valueBytes > 0x7fffffff) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column "${column}": ${valueBytes} values exceed the 2^31-1 limit of 32-bit offsets in one batch; use smaller batches or a Large type`,
      { details: { column, values: valueBytes } }
    );
  }
  const width = large ? 8 : 4;
  const one = segments.length === 1 ? segments[0] : undefined;
  const offsets = one?.data.valueOffsets;
  if (one !== undefined && one.length > 0 && offsets !== undefined) {
    // Utf8/Binary: offsets as they are, bytes from the chunk's first byte (absolute offsets).
    // List/Map: only when the offsets already start at 0, so the child is planned as before.
    const [start, end] = ranges[0]!;
    const offShared =
      hasValues || start === 0
        ? sharedRange(arena, offsets, one.start * width, (one.length + 1) * width)
        : undefined;
    const valShared =
      hasValues && one.data.values !== undefined
        ? sharedRange(arena, one.data.values, 0, end)
        : undefined;
    if (offShared !== undefined && (!hasValues || valShared !== undefined)) {
      node.valueOffsets = offShared;
      if (valShared !== undefined) node.values = valShared;
      return childSegments;
    }
  }
  const offRef = arena.alloc((node.length + 1) * width);
  node.valueOffsets = offRef;
  const valRef = hasValues ? arena.alloc(valueBytes) : undefined;
  if (valRef) node.values = valRef;
  arena.fills.push((bytes) => {
    const out = large
      ? new BigInt64Array(bytes.buffer, bytes.byteOffset + offRef.byteOffset, node.length + 1)
      : new Int32Array(bytes.buffer, bytes.byteOffset + offRef.byteOffset, node.length + 1);
    let k = 0;
    let base = 0;
    let valPos = valRef?.byteOffset ?? 0;
    segments.forEach((s, i) => {
      const [start, end] = ranges[i]!;
      const src = s.data.valueOffsets;
      if (s.length > 0 && src !== undefined) {
        if (out instanceof BigInt64Array) {
          const shift = BigInt(base - start);
          for (let r = 1; r <= s.length; r++) out[k + r] = BigInt(src[s.start + r]!) + shift;
        } else {
          const shift = base - start;
          for (let r = 1; r <= s.length; r++) out[k + r] = Number(src[s.start + r]!) + shift;
        }
        if (valRef && s.data.values !== undefined) {
          const v = s.data.values;
          bytes.set(new Uint8Array(v.buffer, v.byteOffset + start, end - start), valPos);
          valPos += end - start;
        }
      }
      k += s.length;
      base += end - start;
    });
  });
  return childSegments;
}

/**
 * Dictionary columns: indices are fixed-width; the dictionary is sent whole. Chunks normally
 * share one dictionary; when they do not, the dictionaries are concatenated and each chunk's
 * indices shifted by its dictionary's start.
 */
function planDictionary(
  node: WireData,
  segments: readonly Segment[],
  type: TypeLike,
  column: string,
  arena: Arena
): void {
  const dictionaries: { readonly data: readonly DataLike[] }[] = [];
  const bases: number[] = [];
  let dictLength = 0;
  const segmentBase = segments.map((s) => {
    const dict = s.data.dictionary ?? { data: [] };
    let index = dictionaries.indexOf(dict);
    if (index < 0) {
      index = dictionaries.push(dict) - 1;
      bases.push(dictLength);
      for (const d of dict.data) dictLength += d.length;
    }
    return bases[index]!;
  });
  if (dictionaries.length <= 1) {
    planFixedWidth(node, segments, arena);
  } else {
    const indices = type['indices'] as { bitWidth: number; isSigned: boolean };
    const max = indices.isSigned ? 2 ** (indices.bitWidth - 1) - 1 : 2 ** indices.bitWidth - 1;
    if (dictLength - 1 > max) {
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column "${column}": its chunks carry different dictionaries totalling ${dictLength} entries, more than ${String(type)} indices can address (max ${max}); unify the dictionaries first`,
        { details: { column, dictionaryLength: dictLength } }
      );
    }
    const first = segments.find((s) => s.data.values !== undefined)?.data.values;
    const bpe = first?.BYTES_PER_ELEMENT ?? 4;
    const ref = arena.alloc(node.length * bpe);
    node.values = ref;
    arena.fills.push((bytes) => {
      let pos = ref.byteOffset;
      segments.forEach((s, i) => {
        const src = s.data.values;
        if (src !== undefined) {
          const Ctor = src.constructor as new (
            b: ArrayBufferLike,
            o: number,
            n: number
          ) => AnyTypedArray;
          const out = new Ctor(bytes.buffer, bytes.byteOffset + pos, s.length);
          const shift = segmentBase[i]!;
          for (let r = 0; r < s.length; r++) {
            const v = src[s.start + r]!;
            out[r] = typeof v === 'bigint' ? v + BigInt(shift) : ((v + shift) as never);
          }
        }
        pos += s.length * bpe;
      });
    });
  }
  const dictSegments = dictionaries.flatMap((d) =>
    d.data.map((data) => ({ data, start: 0, length: data.length }))
  );
  node.dictionary = plan(dictSegments, type['dictionary'] as TypeLike, column, arena);
}

/**
 * True when `buffer` is a `SharedArrayBuffer` (checked by tag, so it also holds for one made in
 * another realm).
 *
 * @param buffer - the `.buffer` of a typed array, or any value.
 * @returns whether it is shared memory.
 */
export function isSharedMemory(buffer: unknown): buffer is SharedArrayBuffer {
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}

/** The range `[byteStart, byteStart + byteLength)` of `view` as a zero-copy wire buffer, or
 * undefined when it is not in shared memory (or reuse is off, or the range is out of bounds). */
function sharedRange(
  arena: Arena,
  view: AnyTypedArray,
  byteStart: number,
  byteLength: number
): WireBuffer | undefined {
  if (!arena.reuseShared || !isSharedMemory(view.buffer)) return undefined;
  if (byteStart < 0 || byteStart + byteLength > view.byteLength) return undefined;
  return { byteOffset: view.byteOffset + byteStart, byteLength, source: view.buffer };
}

/** Counts the set bits of `bits` in `[bit, bit + n)`. */
function countBits(bits: Uint8Array, bit: number, n: number): number {
  let count = 0;
  for (; n > 0 && (bit & 7) !== 0; n--, bit++) count += (bits[bit >> 3]! >> (bit & 7)) & 1;
  const whole = n >> 3;
  count += popcount(bits.subarray(bit >> 3, (bit >> 3) + whole));
  bit += whole << 3;
  n -= whole << 3;
  for (; n > 0; n--, bit++) count += (bits[bit >> 3]! >> (bit & 7)) & 1;
  return count;
}

function asBytes(view: AnyTypedArray): Uint8Array {
  return view instanceof Uint8Array
    ? view
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** ORs `n` bits from `src` at bit `srcBit` into zero-filled `dst` at bit `dstBit`. */
function copyBits(
  src: Uint8Array,
  srcBit: number,
  dst: Uint8Array,
  dstBit: number,
  n: number
): void {
  // Bit by bit until the destination is byte-aligned...
  while (n > 0 && (dstBit & 7) !== 0) {
    if ((src[srcBit >> 3]! >> (srcBit & 7)) & 1) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
    srcBit++;
    dstBit++;
    n--;
  }
  // ...then whole bytes (a plain copy when the source is aligned too, else shift-merge)...
  const bytes = n >> 3;
  const shift = srcBit & 7;
  const si = srcBit >> 3;
  const di = dstBit >> 3;
  if (shift === 0) {
    dst.set(src.subarray(si, si + bytes), di);
  } else {
    for (let k = 0; k < bytes; k++)
      dst[di + k] = ((src[si + k]! >> shift) | (src[si + k + 1]! << (8 - shift))) & 0xff;
  }
  srcBit += bytes << 3;
  dstBit += bytes << 3;
  n -= bytes << 3;
  // ...and the tail bit by bit.
  for (; n > 0; n--, srcBit++, dstBit++) {
    if ((src[srcBit >> 3]! >> (srcBit & 7)) & 1) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
  }
}

/** Sets `n` bits of `dst` from bit `dstBit` (chunks without a null bitmap are all valid). */
function setBits(dst: Uint8Array, dstBit: number, n: number): void {
  for (; n > 0 && (dstBit & 7) !== 0; n--, dstBit++) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
  const bytes = n >> 3;
  dst.fill(0xff, dstBit >> 3, (dstBit >> 3) + bytes);
  dstBit += bytes << 3;
  n -= bytes << 3;
  for (; n > 0; n--, dstBit++) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
}

function popcount(bytes: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i]!;
    b = b - ((b >> 1) & 0x55);
    b = (b & 0x33) + ((b >> 2) & 0x33);
    count += (b + (b >> 4)) & 0x0f;
  }
  return count;
}

function finish(arena: Arena, shared: boolean): SharedArrayBuffer | ArrayBuffer {
  const buffer = shared ? new SharedArrayBuffer(arena.size) : new ArrayBuffer(arena.size);
  const bytes = new Uint8Array(buffer);
  for (const fill of arena.fills) fill(bytes);
  return buffer;
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
  const buffer = finish(arena, options.shared ?? true);
  return {
    format: WIRE_FORMAT,
    numRows: batches.reduce((n, b) => n + b.length, 0),
    fields: wireFields,
    metadata: [...(t.schema.metadata ?? new Map<string, string>())],
    columns,
    buffer,
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

// ---------------------------------------------------------------------------------------------
// Decoding: views over the batch buffer, no copy
// ---------------------------------------------------------------------------------------------

type ViewCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): AnyTypedArray;
  BYTES_PER_ELEMENT: number;
};

function view<C extends ViewCtor>(
  Ctor: C,
  buffer: ArrayBufferLike,
  ref: WireBuffer | undefined
): InstanceType<C> | undefined {
  if (ref === undefined) return undefined;
  return new Ctor(
    ref.source ?? buffer,
    ref.byteOffset,
    ref.byteLength / Ctor.BYTES_PER_ELEMENT
  ) as InstanceType<C>;
}

function decodeData(type: DataType, wire: WireData, buffer: ArrayBufferLike): Data {
  const { length, nullCount } = wire;
  const nullBitmap = view(Uint8Array, buffer, wire.nullBitmap);
  const base = { type, length, nullCount, nullBitmap } as Record<string, unknown>;
  const t = type as unknown as TypeLike & { ArrayType: ViewCtor; OffsetArrayType?: ViewCtor };
  const child = (i: number): Data => {
    const field = t.children?.[i];
    const data = wire.children[i];
    if (field === undefined || data === undefined)
      throw new Error(`missing child ${i} of ${String(type)}`);
    return decodeData(field.type as unknown as DataType, data, buffer);
  };
  switch (type.typeId) {
    case T.Null:
      return makeData({ type, length } as never);
    case T.Bool:
      return makeData({ ...base, data: view(Uint8Array, buffer, wire.values) } as never);
    case T.Utf8:
    case T.Binary:
    case T.LargeUtf8:
    case T.LargeBinary:
      return makeData({
        ...base,
        valueOffsets: view(t.OffsetArrayType ?? Int32Array, buffer, wire.valueOffsets),
        data: view(Uint8Array, buffer, wire.values),
      } as never);
    case T.List:
    case T.LargeList:
    case T.Map:
      return makeData({
        ...base,
        valueOffsets: view(t.OffsetArrayType ?? Int32Array, buffer, wire.valueOffsets),
        child: child(0),
      } as never);
    case T.FixedSizeList:
      return makeData({ ...base, child: child(0) } as never);
    case T.Struct:
      return makeData({ ...base, children: wire.children.map((_, i) => child(i)) } as never);
    case T.Dictionary: {
      const dict = type as unknown as { indices: { ArrayType: ViewCtor }; dictionary: DataType };
      if (wire.dictionary === undefined)
        throw new Error('dictionary column without dictionary data');
      const dictionary = makeVector(decodeData(dict.dictionary, wire.dictionary, buffer));
      return makeData({
        ...base,
        data: view(dict.indices.ArrayType, buffer, wire.values),
        dictionary,
      } as never);
    }
    default:
      return makeData({ ...base, data: view(t.ArrayType, buffer, wire.values) } as never);
  }
}

function checkWire(wire: unknown, what: string): void {
  const w = wire as { format?: unknown; buffer?: unknown } | null;
  if (typeof w !== 'object' || w === null || w.format !== WIRE_FORMAT) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `${what} expected a ${WIRE_FORMAT} object, got ${describe(wire)}`
    );
  }
  if (!(w.buffer instanceof ArrayBuffer) && !(w.buffer instanceof SharedArrayBuffer)) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `${what}: buffer must be an ArrayBuffer or SharedArrayBuffer, got ${describe(w.buffer)}`
    );
  }
  if (
    w.buffer instanceof ArrayBuffer &&
    (w.buffer as ArrayBuffer & { detached?: boolean }).detached === true
  ) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `${what}: buffer is detached (it was transferred to another thread)`
    );
  }
}

/**
 * Rebuilds an Arrow Table from a {@link WireTable}: one record batch whose column buffers are
 * views of `wire.buffer` (no copy; with a SharedArrayBuffer, writes are visible to the other
 * thread).
 *
 * @param wire - made by {@link encodeTable}, possibly in another thread.
 * @returns the table (of the apache-arrow copy this module imports).
 * @throws {ModelError} E_INPUT_INVALID when `wire` is not a well-formed wire table.
 */
export function decodeTable(wire: WireTable): Table {
  checkWire(wire, 'decodeTable');
  try {
    const fields = wire.fields.map(decodeField);
    const schema = new Schema(fields, new Map(wire.metadata));
    const children = fields.map((f, j) => decodeData(f.type, wire.columns[j]!, wire.buffer));
    const data = makeData({
      type: new Struct(fields),
      length: wire.numRows,
      nullCount: 0,
      children,
    });
    return new Table(schema, [new RecordBatch(schema, data)]);
  } catch (error) {
    if (ModelError.is(error)) throw error;
    throw new ModelError(
      'E_INPUT_INVALID',
      `decodeTable: malformed wire table (${(error as Error).message})`,
      { cause: error }
    );
  }
}

/**
 * Rebuilds an Arrow Vector from a {@link WireVector} (views of `wire.buffer`, no copy).
 *
 * @param wire - made by {@link encodeVector}, possibly in another thread.
 * @returns a single-chunk vector (of the apache-arrow copy this module imports).
 * @throws {ModelError} E_INPUT_INVALID when `wire` is not a well-formed wire vector.
 */
export function decodeVector(wire: WireVector): Vector {
  checkWire(wire, 'decodeVector');
  try {
    return makeVector(decodeData(decodeDataType(wire.type), wire.data, wire.buffer));
  } catch (error) {
    if (ModelError.is(error)) throw error;
    throw new ModelError(
      'E_INPUT_INVALID',
      `decodeVector: malformed wire vector (${(error as Error).message})`,
      { cause: error }
    );
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'object';
}
