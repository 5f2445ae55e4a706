/**
 * Primitive columns: MLflow's `_enforce_mlflow_datatype` on Arrow chunks, with vectorized
 * typed-array casts that keep the null bitmap.
 *
 * @module
 */
import {
  Binary,
  Data,
  DataType,
  TimestampMillisecond,
  Type,
  Utf8,
  Vector,
  makeBuilder,
  util,
} from 'apache-arrow';
import { arrowTypeFor } from './arrow-types.js';
import { parseIsoDatetime } from './iso-datetime.js';
import { dtypeName, incompatible, mismatch, valid } from './schema-mismatch.js';
import type { Where } from './schema-mismatch.js';
import type { DataTypeName } from './types.js';

const TARGET_DTYPE: Record<DataTypeName, string> = {
  boolean: 'bool',
  integer: 'int32',
  long: 'int64',
  float: 'float32',
  double: 'float64',
  string: 'string',
  binary: 'binary',
  datetime: 'datetime',
};

const HINT =
  ' Hint: the type mismatch is likely caused by missing values. The column holds only integral ' +
  'values and nulls/NaN, but is typed as floating point. Declare the column as double whenever it ' +
  'may have missing values, or send it as an integer column (Arrow integers can be null).';

interface NumKind {
  kind: 'i' | 'u' | 'f';
  size: number;
}

function numKind(type: DataType): NumKind | null {
  if (DataType.isInt(type)) return { kind: type.isSigned ? 'i' : 'u', size: type.bitWidth / 8 };
  if (DataType.isFloat(type)) return { kind: 'f', size: [2, 4, 8][type.precision]! };
  return null;
}

const TARGET_KIND: Partial<Record<DataTypeName, NumKind>> = {
  integer: { kind: 'i', size: 4 },
  long: { kind: 'i', size: 8 },
  float: { kind: 'f', size: 4 },
  double: { kind: 'f', size: 8 },
};

/**
 * MLflow's numeric upcast rule: same kind and not narrower; unsigned to a strictly wider
 * signed integer; any integer of at most 32 bits to double.
 */
function isSafeUpcast(src: NumKind, dst: NumKind): boolean {
  if (src.kind === dst.kind) return src.size <= dst.size;
  if (src.kind === 'u' && dst.kind === 'i') return src.size < dst.size;
  if (src.kind !== 'f' && dst.kind === 'f' && dst.size === 8) return src.size <= 6;
  return false;
}

/**
 * MLflow's `_enforce_mlflow_datatype` on one chunk: passes a chunk of the target type through,
 * widens numbers safely (vectorized, null bitmap kept), narrows Large string/binary offsets,
 * decodes string dictionaries, and converts timestamps, dates and ISO text to `Timestamp(ms)`.
 *
 * @param data - the chunk.
 * @param target - the MLflow primitive type.
 * @param w - where the chunk sits, for messages.
 * @returns the chunk with the Arrow type `arrowTypeFor` gives the target.
 * @throws {ModelError} E_SCHEMA_MISMATCH when the conversion is not safe.
 */
export function enforcePrimitive(data: Data, target: DataTypeName, w: Where): Data {
  const type = data.type;
  const arrow = arrowTypeFor({ type: target })!;
  if (type.typeId === Type.Null) return nullData(arrow, data.length);
  const expected = TARGET_DTYPE[target];
  switch (target) {
    case 'boolean':
      if (DataType.isBool(type)) return data;
      throw incompatible(w, type, expected);
    case 'string':
      if (DataType.isUtf8(type)) return data;
      if (DataType.isLargeUtf8(type)) return largeToSmall(data, new Utf8(), w);
      if (
        DataType.isDictionary(type) &&
        (DataType.isUtf8(type.dictionary) || DataType.isLargeUtf8(type.dictionary))
      ) {
        return rebuild(new Utf8(), data);
      }
      throw incompatible(w, type, expected);
    case 'binary':
      if (DataType.isBinary(type)) return data;
      if (DataType.isLargeBinary(type)) return largeToSmall(data, new Binary(), w);
      if (DataType.isFixedSizeBinary(type)) return fixedToBinary(data, type.byteWidth);
      throw incompatible(w, type, expected);
    case 'datetime':
      return toTimestampMs(data, w);
    default:
      return castNumeric(data, target, w);
  }
}

function castNumeric(data: Data, target: DataTypeName, w: Where): Data {
  const type = data.type;
  const dst = TARGET_KIND[target]!;
  const arrow = arrowTypeFor({ type: target })!;
  const src = numKind(type);
  if (src === null) throw incompatible(w, type, TARGET_DTYPE[target]);
  if (src.kind === dst.kind && src.size === dst.size) return data;
  const n = data.length;
  const values = data.values as ArrayLike<number | bigint>;
  if (isSafeUpcast(src, dst)) return withValues(arrow, data, convert(values, n, src, dst));
  // MLflow's exception: int64 holding only 0, 1 and missing values converts to float/double.
  if (src.kind === 'i' && src.size === 8 && dst.kind === 'f') {
    const big = values as BigInt64Array;
    let ok = true;
    for (let i = 0; i < n && ok; i++)
      if (big[i] !== 0n && big[i] !== 1n && valid(data, i)) ok = false;
    if (ok) return withValues(arrow, data, convert(values, n, src, dst));
  }
  let hint = '';
  if (src.kind === 'f' && dst.kind === 'i') hint = integralWithMissing(data, src) ? HINT : '';
  throw incompatible(w, type, TARGET_DTYPE[target], hint);
}

/** True when a float chunk has missing values (null or NaN) and every other value is integral. */
function integralWithMissing(data: Data, src: NumKind): boolean {
  const values = data.values as ArrayLike<number>;
  let missing = data.nullCount > 0;
  for (let i = 0; i < data.length; i++) {
    if (!valid(data, i)) continue;
    const v = src.size === 2 ? util.uint16ToFloat64(values[i]!) : values[i]!;
    if (Number.isNaN(v)) missing = true;
    else if (!Number.isInteger(v)) return false;
  }
  return missing;
}

/** Typed-array conversion of the first `n` values; float16 is decoded from its bits. */
function convert(
  values: ArrayLike<number | bigint>,
  n: number,
  src: NumKind,
  dst: NumKind
): ArrayLike<number | bigint> {
  if (dst.kind === 'i' && dst.size === 8) {
    const out = new BigInt64Array(n);
    const v = values as ArrayLike<number>;
    for (let i = 0; i < n; i++) out[i] = BigInt(v[i]!);
    return out;
  }
  const out =
    dst.kind === 'f'
      ? dst.size === 4
        ? new Float32Array(n)
        : new Float64Array(n)
      : new Int32Array(n);
  if (src.size === 8 && src.kind !== 'f') {
    const v = values as ArrayLike<bigint>;
    for (let i = 0; i < n; i++) out[i] = Number(v[i]!);
  } else if (src.kind === 'f' && src.size === 2) {
    const v = values as ArrayLike<number>;
    for (let i = 0; i < n; i++) out[i] = util.uint16ToFloat64(v[i]!);
  } else {
    out.set((values as Int32Array).subarray(0, n));
  }
  return out;
}

/** A chunk with new type and values, keeping offset, length and the null bitmap. */
function withValues(type: DataType, data: Data, values: ArrayLike<number | bigint>): Data {
  return new Data(type, data.offset, data.length, data.nullCount, [
    undefined,
    values,
    data.nullBitmap,
  ] as never);
}

function nullData(type: DataType, length: number): Data {
  const b = makeBuilder({ type, nullValues: [null, undefined] });
  for (let i = 0; i < length; i++) b.append(null);
  return b.finish().flush();
}

/** Rebuilds a chunk value by value (for dictionary decoding and string parsing only). */
function rebuild(
  type: DataType,
  data: Data,
  map: (v: unknown, i: number) => unknown = (v) => v
): Data {
  const source = new Vector([data]);
  const b = makeBuilder({ type, nullValues: [null, undefined] });
  for (let i = 0; i < data.length; i++) b.append(map(source.get(i), i) as never);
  return b.finish().flush();
}

/** LargeUtf8/LargeBinary -> Utf8/Binary: 64-bit offsets narrowed to 32 bits (no value copy). */
function largeToSmall(data: Data, type: Utf8 | Binary, w: Where): Data {
  const big = data.valueOffsets as unknown as BigInt64Array;
  const n = data.length;
  const base = big[0]!;
  if (big[n]! - base > 0x7fffffffn) {
    throw mismatch(
      w,
      `Column ${w.column} holds more than 2 GiB of data and cannot be converted to ${String(type)}.`
    );
  }
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = Number(big[i]! - base);
  const values = (data.values as Uint8Array).subarray(Number(base), Number(big[n]!));
  return new Data(type, data.offset, n, data.nullCount, [
    offsets,
    values,
    data.nullBitmap,
  ] as never);
}

function fixedToBinary(data: Data, width: number): Data {
  const n = data.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = i * width;
  const values = (data.values as Uint8Array).subarray(0, n * width);
  return new Data(new Binary(), data.offset, n, data.nullCount, [
    offsets,
    values,
    data.nullBitmap,
  ] as never);
}

const MS_PER_UNIT = [1000n, 1n, 1n, 1n]; // multipliers for SECOND, MILLISECOND
const DIV_PER_UNIT = [1n, 1n, 1000n, 1000000n]; // divisors for MICROSECOND, NANOSECOND

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function toTimestampMs(data: Data, w: Where): Data {
  const type = data.type;
  const n = data.length;
  if (DataType.isTimestamp(type)) {
    if (type.timezone) {
      throw mismatch(
        w,
        `Incompatible input types for column ${w.column}. The datetime type only accepts timezone-naive ` +
          `values, but the column is ${String(type)}.`,
        { found: String(type) }
      );
    }
    if (type.unit === 1)
      return data.type instanceof TimestampMillisecond
        ? data
        : withValues(new TimestampMillisecond(), data, data.values);
    const v = data.values as BigInt64Array;
    const out = new BigInt64Array(n);
    const mul = MS_PER_UNIT[type.unit]!;
    const div = DIV_PER_UNIT[type.unit]!;
    for (let i = 0; i < n; i++) out[i] = div === 1n ? v[i]! * mul : floorDiv(v[i]!, div);
    return withValues(new TimestampMillisecond(), data, out);
  }
  if (DataType.isDate(type)) {
    if (type.unit === 1)
      return withValues(
        new TimestampMillisecond(),
        data,
        (data.values as BigInt64Array).subarray(0, n)
      );
    const v = data.values as Int32Array;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(v[i]!) * 86400000n;
    return withValues(new TimestampMillisecond(), data, out);
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
    // MLflow parses object columns to datetime (`astype('datetime64[ns]')`).
    return rebuild(new TimestampMillisecond(), data, (v, i) => {
      if (v === null || v === undefined) return null;
      // ISO text is read as numpy does (zone-less = UTC); Date.parse would use local time.
      const ms = parseIsoDatetime(String(v))?.getTime() ?? Date.parse(String(v));
      if (Number.isNaN(ms)) {
        throw mismatch(
          w,
          `Failed to convert column ${w.column} from type ${dtypeName(type)} to datetime: cannot parse '${String(v)}' (row ${i}).`
        );
      }
      return ms;
    });
  }
  throw incompatible(w, type, 'datetime');
}
