/**
 * Columns of `@uwdata/flechette` (the Arrow library arquero 8 uses: `aq.fromArrow(bytes)`,
 * `aq.loadArrow`) as apache-arrow vectors, zero-copy: the batches' buffers are wrapped as they
 * are, recognised by shape (flechette is never imported).
 *
 * Covered: Null, Int, Float32/64, Bool, Utf8/LargeUtf8, Binary/LargeBinary, Date, Timestamp and
 * dictionaries of those. Other types (nested, decimal, intervals, views, Float16) return
 * undefined: the caller re-encodes them through Arrow IPC instead.
 *
 * Flechette's type objects mirror Arrow's (`typeId` plus parameters, as `signed` where
 * apache-arrow says `isSigned`).
 *
 * @module
 */
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  DateMillisecond,
  Dictionary,
  Float32,
  Float64,
  Int,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeBinary,
  LargeUtf8,
  Null,
  Timestamp,
  Type,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  Vector,
  makeData,
} from 'apache-arrow';

type Obj = Record<string, unknown>;

/** A flechette column, by shape. */
interface FlechetteColumn {
  type: Obj & { typeId: number };
  length: number;
  data: FlechetteBatch[];
}

/** A flechette batch: one record batch's buffers of a column. */
interface FlechetteBatch {
  length: number;
  nullCount: number;
  validity?: Uint8Array | null;
  values?: ArrayBufferView;
  offsets?: ArrayBufferView;
  dictionary?: unknown;
}

/**
 * True for a flechette `Column`: a `type` with a numeric `typeId`, a `data` array of batches and
 * a numeric `length` (an apache-arrow Vector also has these; test for it first).
 *
 * @param x - any value
 * @returns whether `x` looks like a flechette column
 */
export function isFlechetteColumn(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as Obj;
  const type = c['type'] as Obj | undefined;
  return (
    typeof type === 'object' &&
    type !== null &&
    typeof type['typeId'] === 'number' &&
    Array.isArray(c['data']) &&
    typeof c['length'] === 'number'
  );
}

/** Our Arrow type for a flechette type, or undefined when this module does not cover it. */
function arrowType(t: Obj & { typeId: number }): DataType | undefined {
  switch (t.typeId) {
    case Type.Null:
      return new Null();
    case Type.Int: {
      // Our specific subclasses (Int32, ...), as `adoptType` makes them.
      const ctors =
        t['signed'] === true ? [Int8, Int16, Int32, Int64] : [Uint8, Uint16, Uint32, Uint64];
      const ctor = ctors[[8, 16, 32, 64].indexOf(t['bitWidth'] as number)];
      return ctor === undefined ? undefined : new ctor();
    }
    case Type.Float:
      return t['precision'] === 2
        ? new Float64()
        : t['precision'] === 1
          ? new Float32()
          : undefined;
    case Type.Bool:
      return new Bool();
    case Type.Utf8:
      return new Utf8();
    case Type.LargeUtf8:
      return new LargeUtf8();
    case Type.Binary:
      return new Binary();
    case Type.LargeBinary:
      return new LargeBinary();
    case Type.Date:
      return t['unit'] === 0 ? new DateDay() : new DateMillisecond();
    case Type.Timestamp:
      return new Timestamp(t['unit'] as number, (t['timezone'] as string | null) ?? null);
    case Type.Dictionary: {
      const value = arrowType(t['dictionary'] as Obj & { typeId: number });
      const index = arrowType(t['indices'] as Obj & { typeId: number });
      if (value === undefined || !(index instanceof Int)) return undefined;
      return new Dictionary(value, index as never, undefined, t['ordered'] === true);
    }
    default:
      return undefined;
  }
}

/** One batch as our Data (the buffers wrapped, not copied). */
function batchData(type: DataType, batch: FlechetteBatch, dictionary?: Vector): Data {
  const nullBitmap = batch.nullCount > 0 ? (batch.validity ?? undefined) : undefined;
  const common = { type, length: batch.length, nullCount: batch.nullCount, nullBitmap };
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length: batch.length, nullCount: batch.length } as never);
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary:
      return makeData({ ...common, valueOffsets: batch.offsets, data: batch.values } as never);
    case Type.Dictionary:
      return makeData({ ...common, data: batch.values, dictionary } as never);
    default:
      return makeData({ ...common, data: batch.values } as never);
  }
}

/**
 * A flechette column as an apache-arrow vector over the same buffers.
 *
 * @param column - a flechette `Column` (see {@link isFlechetteColumn})
 * @returns the vector, or undefined for a type this module does not cover
 */
export function flechetteColumnToVector(column: unknown): Vector | undefined {
  if (!isFlechetteColumn(column)) return undefined;
  const c = column as FlechetteColumn;
  const type = arrowType(c.type);
  if (type === undefined) return undefined;
  let dictionary: Vector | undefined;
  if (type.typeId === Type.Dictionary) {
    // Every batch of a flechette dictionary column refers to the one complete dictionary.
    const source = c.data[c.data.length - 1]?.dictionary;
    dictionary = source === undefined ? undefined : flechetteColumnToVector(source);
    if (dictionary === undefined && c.data.length > 0) return undefined;
  }
  if (c.data.length === 0) return new Vector([makeData({ type, length: 0 } as never)]);
  return new Vector(c.data.map((b) => batchData(type, b, dictionary)));
}
