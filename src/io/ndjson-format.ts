/**
 * NDJSON writer: Arrow record batches to UTF-8 bytes, one JSON object per row, straight from the
 * column buffers (no JS string per cell, no row objects). Also the per-type value writers that
 * the CSV writer (`csv-format.ts`) shares through a {@link TextDialect}.
 *
 * Values (the documented contract):
 * - keys in schema order, JSON-escaped once per batch; any name is written as a key (`__proto__`
 *   too); null -> `null`.
 * - Int8..Int64, Uint8..Uint64: JSON numbers with their exact digits (int64 beyond 2^53 too).
 * - Float64: the shortest text that reads back to the same double (as `String(v)`), integral
 *   values with `.0` (`1.0`); Float32/Float16: the shortest digits that read back to the same
 *   narrow float (`0.016666668`). NaN and infinities have no JSON form and are written `null`
 *   (as jsfunc always wrote them, and as pandas' `to_json` and MLflow's JSON encoder do).
 * - Decimal(p, s), 128 and 256 bit: a JSON number with its scale (`2176.00`).
 * - Bool: `true`/`false`. Utf8 (also large and view): a JSON string escaped from the UTF-8 bytes
 *   (`"`, `\` and control characters escaped; other bytes copied as they are).
 * - Binary, LargeBinary, FixedSizeBinary, BinaryView: a base64 string.
 * - Date (day or millisecond unit): `"YYYY-MM-DD"`.
 * - Timestamp (any unit): `"YYYY-MM-DDTHH:MM:SS"` as Python's `isoformat()` writes it (which is
 *   what MLflow writes): a fraction only when non-zero, 6 digits, 9 when the nanoseconds are not
 *   whole microseconds; a zoned column carries its offset (`+00:00`; a fixed-offset zone such as
 *   `+05:30` is written in that offset's local time; a named zone such as `Europe/Paris` is
 *   written as the same instant in UTC, `+00:00`).
 * - Time32/Time64: `"HH:MM:SS[.ffffff]"` (isoformat). Duration: a JSON number, the count of its
 *   unit (Arrow's own cast to text). Interval: an ISO 8601 duration string (`"P1Y2M"`,
 *   `"P3DT4.5S"`, `"PT0S"`).
 * - List, LargeList, FixedSizeList: arrays; Struct: objects (field order); Map: objects (keys as
 *   strings); Dictionary: its value; Union: the selected member's value.
 *
 * @module
 */
import { type Data, type RecordBatch, Type } from 'apache-arrow';
import { ModelError } from '../errors.js';
import {
  ByteBuffer,
  type FractionStyle,
  f16FromBits,
  f16round,
  lastRemainder,
  splitSeconds,
  writeBase64,
  writeClock,
  writeDate,
  writeDecimalWords,
  writeFloat64,
  writeFraction,
  writeInt,
  writeInt64Words,
  writeJsonString,
  writeNarrowFloat,
  writeTimestampWords,
} from './byte-buffer.js';

/** Writes the value at `index` of one column (an index into the column's Data, 0-based). */
export type ValueWriter = (out: ByteBuffer, index: number) => void;

/**
 * What differs between the text formats for the same Arrow value; everything else (numbers,
 * booleans, decimals, base64, nested JSON) is written the same way by {@link valueWriter}.
 */
export interface TextDialect {
  /** Writes a null (CSV: nothing; JSON: `null`). */
  writeNull(out: ByteBuffer): void;
  /** Writes string bytes `src[from, to)` (CSV: quoted, `"` doubled; JSON: escaped literal). */
  writeString(out: ByteBuffer, src: Uint8Array, from: number, to: number): void;
  /** Writes NaN, Infinity or -Infinity (CSV: `NaN`, `inf`, `-inf`; JSON: `null`). */
  writeNonFinite(out: ByteBuffer, v: number): void;
  /** Writes a list, struct or map, given the value's JSON writer (CSV: quoted JSON text). */
  writeNested(out: ByteBuffer, json: ValueWriter, index: number): void;
  /** Whether date, time, timestamp and interval text is wrapped in `"` (JSON) or not (CSV). */
  quoteTemporal: boolean;
  /** The byte between date and time in a timestamp (`T` or a space). */
  timestampSeparator: number;
  /** Sub-second digits of zone-less timestamps and of times; zoned ones always use `iso`. */
  naiveFraction: FractionStyle;
}

/** The NDJSON dialect: JSON values as described in this module's documentation. */
export const JSON_DIALECT: TextDialect = {
  writeNull(out) {
    out.writeAscii('null');
  },
  writeString: writeJsonString,
  writeNonFinite(out) {
    out.writeAscii('null');
  },
  writeNested(out, json, index) {
    json(out, index);
  },
  quoteTemporal: true,
  timestampSeparator: 84,
  naiveFraction: 'iso',
};

const TWO32 = 4294967296;

/** The buffer fields the writers read (by shape: batches may come from another arrow copy). */
interface DataShape {
  type: TypeShape;
  offset: number;
  length: number;
  nullCount: number;
  nullBitmap?: Uint8Array | null;
  values?: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number };
  valueOffsets?: (ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number }) | null;
  typeIds?: Int8Array | null;
  children: DataShape[];
  dictionary?: { data: DataShape[] } | null;
  variadicBuffers?: Uint8Array[];
}

interface TypeShape {
  typeId: Type;
  bitWidth?: number;
  isSigned?: boolean;
  precision?: number;
  scale?: number;
  unit?: number;
  timezone?: string | null;
  byteWidth?: number;
  listSize?: number;
  mode?: number;
  typeIdToChildIndex?: Record<number, number>;
  children?: { name: string; type: TypeShape }[];
  dictionary?: TypeShape;
}

/** Int32 words of a 64-bit column (BigInt64Array/BigUint64Array), read without BigInts. */
function words64(values: DataShape['values']): Int32Array {
  if (values === undefined) return new Int32Array(0);
  if (values instanceof Int32Array) return values;
  return new Int32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** A function giving the start offset of item `i` in a variable-width column. */
function offsetReader(data: DataShape): (i: number) => number {
  const offsets = data.valueOffsets;
  if (offsets === undefined || offsets === null) return () => 0;
  if (offsets instanceof Int32Array) return (i) => offsets[i]!;
  const w = words64(offsets as DataShape['values']);
  return (i) => (w[2 * i]! >>> 0) + w[2 * i + 1]! * TWO32;
}

/**
 * The offsets of a variable-width column as int32 values at `i * stride`: the Int32Array itself
 * (stride 1) or, for 64-bit offsets that all fit 31 bits (any buffer below 2 GiB), the low words
 * of the BigInt64Array (stride 2); null when they do not fit.
 */
function int32Offsets(data: DataShape): { at: Int32Array; stride: number } | null {
  const offsets = data.valueOffsets;
  if (offsets === undefined || offsets === null) return null;
  if (offsets instanceof Int32Array) return { at: offsets, stride: 1 };
  const w = words64(offsets as DataShape['values']);
  const last = w.length - 2;
  if (last < 0 || (w[last + 1] === 0 && w[last]! >= 0)) return { at: w, stride: 2 };
  return null;
}

/** Wraps `inner` with the column's validity bitmap (only when the column has nulls). */
function withNulls(data: DataShape, dialect: TextDialect, inner: ValueWriter): ValueWriter {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || bitmap === undefined || bitmap === null || bitmap.length === 0) {
    return inner;
  }
  const offset = data.offset;
  return (out, i) => {
    const j = offset + i;
    if ((bitmap[j >> 3]! & (1 << (j & 7))) === 0) dialect.writeNull(out);
    else inner(out, i);
  };
}

/** Parses a fixed-offset zone (`+05:30`, `-0800`, `+01`, `UTC`, `Z`) to minutes; null if named. */
function zoneOffsetMinutes(tz: string): number | null {
  const t = tz.trim();
  if (/^(?:z|utc|gmt|etc\/utc|etc\/gmt|etc\/zulu|zulu|universal|etc\/universal)$/i.test(t)) {
    return 0;
  }
  const m = /^(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(t);
  if (m === null) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

function offsetSuffix(minutes: number): string {
  const a = Math.abs(minutes);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = String(a % 60).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${hh}:${mm}`;
}

/** Whether a type's JSON form is a JSON string (so it can be a JSON object key as it is). */
function isJsonStringType(t: TypeShape): boolean {
  switch (t.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
    case Type.Binary:
    case Type.LargeBinary:
    case Type.BinaryView:
    case Type.FixedSizeBinary:
    case Type.Date:
    case Type.Timestamp:
    case Type.Time:
    case Type.Interval:
      return true;
    case Type.Dictionary:
      return t.dictionary !== undefined && isJsonStringType(t.dictionary);
    default:
      return false;
  }
}

/**
 * The writer of one column's values in a text dialect. The returned function writes the value
 * at a row index of `data` (nulls through `dialect.writeNull`) and allocates nothing per call for
 * numbers, booleans, strings, binary, dates and timestamps.
 *
 * @param data - the column's Arrow Data (one chunk, e.g. `batch.data.children[i]`)
 * @param dialect - {@link JSON_DIALECT} or the CSV dialect of `csv-format.ts`
 * @returns the writer
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for an Arrow type without a text form (none of
 *   apache-arrow 21's types)
 */
export function valueWriter(data: Data, dialect: TextDialect): ValueWriter {
  const d = data as unknown as DataShape;
  return withNulls(d, dialect, nonNullWriter(d, dialect));
}

function nonNullWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const type = d.type;
  switch (type.typeId) {
    case Type.Null:
      return (out) => dialect.writeNull(out);
    case Type.Bool: {
      const bits = d.values as unknown as Uint8Array;
      const offset = d.offset;
      return (out, i) => {
        const j = offset + i;
        out.writeAscii((bits[j >> 3]! & (1 << (j & 7))) !== 0 ? 'true' : 'false');
      };
    }
    case Type.Int: {
      if ((type.bitWidth ?? 32) === 64) {
        const w = words64(d.values);
        const signed = type.isSigned !== false;
        return (out, i) => writeInt64Words(out, w[2 * i]!, w[2 * i + 1]!, signed);
      }
      const values = d.values as ArrayLike<number>;
      return (out, i) => writeInt(out, values[i]!);
    }
    case Type.Float:
      return floatWriter(d, dialect);
    case Type.Decimal: {
      const words = d.values as unknown as Uint32Array;
      const stride = (type.bitWidth ?? 128) / 32;
      const scale = type.scale ?? 0;
      return (out, i) => writeDecimalWords(out, words, i * stride, stride, scale);
    }
    case Type.Utf8:
    case Type.LargeUtf8: {
      const bytes = d.values as unknown as Uint8Array;
      const write = dialect.writeString;
      const small = int32Offsets(d);
      if (small !== null && small.stride === 1) {
        const o = small.at;
        return (out, i) => write(out, bytes, o[i]!, o[i + 1]!);
      }
      if (small !== null) {
        const o = small.at;
        return (out, i) => write(out, bytes, o[2 * i]!, o[2 * i + 2]!);
      }
      const at = offsetReader(d);
      return (out, i) => write(out, bytes, at(i), at(i + 1));
    }
    case Type.Binary:
    case Type.LargeBinary: {
      const bytes = d.values as unknown as Uint8Array;
      const small = int32Offsets(d);
      if (small !== null) {
        const { at: o, stride } = small;
        return (out, i) => writeBase64Quoted(out, bytes, o[i * stride]!, o[(i + 1) * stride]!);
      }
      const at = offsetReader(d);
      return (out, i) => writeBase64Quoted(out, bytes, at(i), at(i + 1));
    }
    case Type.FixedSizeBinary: {
      const bytes = d.values as unknown as Uint8Array;
      const width = type.byteWidth ?? 0;
      return (out, i) => writeBase64Quoted(out, bytes, i * width, (i + 1) * width);
    }
    case Type.Utf8View:
    case Type.BinaryView: {
      const isString = type.typeId === Type.Utf8View;
      const views = d.values as unknown as Uint8Array;
      const buffers = d.variadicBuffers ?? [];
      return (out, i) => {
        const v = i * 16;
        const size = readI32(views, v);
        let src = views;
        let from = v + 4;
        if (size > 12) {
          src = buffers[readI32(views, v + 8)]!;
          from = readI32(views, v + 12);
        }
        if (isString) dialect.writeString(out, src, from, from + Math.max(size, 0));
        else writeBase64Quoted(out, src, from, from + Math.max(size, 0));
      };
    }
    case Type.Date:
      return dateWriter(d, dialect);
    case Type.Timestamp:
      return timestampWriter(d, dialect);
    case Type.Time:
      return timeWriter(d, dialect);
    case Type.Duration: {
      const w = words64(d.values);
      return (out, i) => writeInt64Words(out, w[2 * i]!, w[2 * i + 1]!, true);
    }
    case Type.Interval:
      return intervalWriter(d, dialect);
    case Type.Dictionary:
      return dictionaryWriter(d, dialect);
    case Type.Union:
      return unionWriter(d, dialect);
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.Struct:
    case Type.Map: {
      const json = nestedJsonWriter(d);
      if (dialect === JSON_DIALECT) return json;
      return (out, i) => dialect.writeNested(out, json, i);
    }
    default:
      throw new ModelError(
        'E_FORMAT_UNSUPPORTED',
        `Arrow type ${String(type)} has no CSV/NDJSON text form; cast the column first.`,
        { details: { arrowType: String(type) } }
      );
  }
}

function readI32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

function writeBase64Quoted(out: ByteBuffer, src: Uint8Array, from: number, to: number): void {
  out.writeByte(34);
  writeBase64(out, src, from, to);
  out.writeByte(34);
}

function floatWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const precision = d.type.precision ?? 2;
  if (precision === 2) {
    const values = d.values as unknown as Float64Array;
    return (out, i) => {
      const v = values[i]!;
      if (v - v === 0) writeFloat64(out, v);
      else dialect.writeNonFinite(out, v);
    };
  }
  if (precision === 1) {
    const values = d.values as unknown as Float32Array;
    return (out, i) => {
      const v = values[i]!;
      if (v - v === 0) writeNarrowFloat(out, v, Math.fround, 9);
      else dialect.writeNonFinite(out, v);
    };
  }
  const bits = d.values as unknown as Uint16Array;
  return (out, i) => {
    const v = f16FromBits(bits[i]!);
    if (v - v === 0) writeNarrowFloat(out, v, f16round, 5);
    else dialect.writeNonFinite(out, v);
  };
}

function quoted(dialect: TextDialect, inner: ValueWriter): ValueWriter {
  if (!dialect.quoteTemporal) return inner;
  return (out, i) => {
    out.writeByte(34);
    inner(out, i);
    out.writeByte(34);
  };
}

function dateWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  if (d.type.unit === 0) {
    const days = d.values as unknown as Int32Array;
    return quoted(dialect, (out, i) => writeDate(out, days[i]!));
  }
  const w = words64(d.values);
  // Milliseconds: floor to the day (a DATE64 value should be a whole day, but need not be).
  return quoted(dialect, (out, i) =>
    writeDate(out, Math.floor(splitSeconds(w[2 * i]!, w[2 * i + 1]!, 1) / 86400))
  );
}

function timestampWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const w = words64(d.values);
  const unit = d.type.unit ?? 1;
  const tz = d.type.timezone;
  const sep = dialect.timestampSeparator;
  if (tz === undefined || tz === null || tz === '') {
    const style = dialect.naiveFraction;
    return quoted(dialect, (out, i) =>
      writeTimestampWords(out, w[2 * i]!, w[2 * i + 1]!, unit, sep, style, 0)
    );
  }
  const minutes = zoneOffsetMinutes(tz) ?? 0;
  const suffix = offsetSuffix(minutes);
  return quoted(dialect, (out, i) => {
    writeTimestampWords(out, w[2 * i]!, w[2 * i + 1]!, unit, sep, 'iso', minutes);
    out.writeAscii(suffix);
  });
}

function timeWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const unit = d.type.unit ?? 0;
  const style = dialect.naiveFraction;
  if ((d.type.bitWidth ?? 32) === 32) {
    const values = d.values as unknown as Int32Array;
    return quoted(dialect, (out, i) => {
      const sec = splitSeconds(values[i]!, values[i]! < 0 ? -1 : 0, unit);
      const sub = lastRemainder();
      writeClock(out, Math.max(sec, 0));
      writeFraction(out, sub, unit, style);
    });
  }
  const w = words64(d.values);
  return quoted(dialect, (out, i) => {
    const sec = splitSeconds(w[2 * i]!, w[2 * i + 1]!, unit);
    const sub = lastRemainder();
    writeClock(out, Math.max(sec, 0));
    writeFraction(out, sub, unit, style);
  });
}

/** ISO 8601 duration text for an interval (rare type: built as a string). */
function isoDuration(months: number, days: number, seconds: string): string {
  let s = 'P';
  if (months !== 0) {
    const y = Math.trunc(months / 12);
    const m = months - y * 12;
    if (y !== 0) s += `${y}Y`;
    if (m !== 0) s += `${m}M`;
  }
  if (days !== 0) s += `${days}D`;
  if (seconds !== '0') s += `T${seconds}S`;
  return s === 'P' ? 'PT0S' : s;
}

/** `count` units of 10^-digits seconds as decimal seconds without trailing zeros. */
function decimalSeconds(count: bigint, digits: number): string {
  const neg = count < 0n;
  const a = neg ? -count : count;
  const scale = 10n ** BigInt(digits);
  const whole = a / scale;
  const frac = (a % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac === '' ? '' : `.${frac}`}`;
}

function intervalWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const values = d.values as unknown as Int32Array;
  const unit = d.type.unit ?? 0;
  const text = (i: number): string => {
    if (unit === 0) return isoDuration(values[i]!, 0, '0');
    if (unit === 1)
      return isoDuration(0, values[2 * i]!, decimalSeconds(BigInt(values[2 * i + 1]!), 3));
    const b = 4 * i;
    const nanos = (BigInt(values[b + 3]!) << 32n) | BigInt(values[b + 2]! >>> 0);
    return isoDuration(values[b]!, values[b + 1]!, decimalSeconds(nanos, 9));
  };
  return (out, i) => {
    if (dialect.quoteTemporal) out.writeByte(34);
    out.writeAscii(text(i));
    if (dialect.quoteTemporal) out.writeByte(34);
  };
}

function dictionaryWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const chunks = d.dictionary?.data ?? [];
  const writers = chunks.map((c) => withNulls(c, dialect, nonNullWriter(c, dialect)));
  const starts = [0];
  for (const c of chunks) starts.push((starts[starts.length - 1] ?? 0) + c.length);
  let index: (i: number) => number;
  if (d.values instanceof BigInt64Array || d.values instanceof BigUint64Array) {
    const w = words64(d.values);
    index = (i) => (w[2 * i]! >>> 0) + w[2 * i + 1]! * TWO32;
  } else {
    const values = d.values as ArrayLike<number>;
    index = (i) => values[i]!;
  }
  if (writers.length === 1) {
    const only = writers[0]!;
    return (out, i) => only(out, index(i));
  }
  return (out, i) => {
    const k = index(i);
    let c = 0;
    while (c + 1 < writers.length && k >= starts[c + 1]!) c++;
    const w = writers[c];
    if (w === undefined) dialect.writeNull(out);
    else w(out, k - starts[c]!);
  };
}

function unionWriter(d: DataShape, dialect: TextDialect): ValueWriter {
  const typeIds = d.typeIds as Int8Array;
  const toChild = d.type.typeIdToChildIndex ?? {};
  const writers = d.children.map((c) => valueWriter(c as unknown as Data, dialect));
  const dense = d.type.mode === 1;
  const offsets = d.valueOffsets as Int32Array | null | undefined;
  return (out, i) => {
    const w = writers[toChild[typeIds[i]!] ?? -1];
    if (w === undefined) dialect.writeNull(out);
    else w(out, dense && offsets ? offsets[i]! : i);
  };
}

/** Pre-encoded `"name":` bytes for JSON object keys. */
function keyBytes(name: string): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(name)}:`);
}

function nestedJsonWriter(d: DataShape): ValueWriter {
  const type = d.type;
  switch (type.typeId) {
    case Type.List:
    case Type.LargeList: {
      const child = d.children[0];
      if (child === undefined) return (out) => out.writeAscii('[]');
      const item = valueWriter(child as unknown as Data, JSON_DIALECT);
      const at = offsetReader(d);
      return (out, i) => {
        const end = at(i + 1);
        out.writeByte(91);
        for (let j = at(i); j < end; j++) {
          item(out, j);
          if (j + 1 < end) out.writeByte(44);
        }
        out.writeByte(93);
      };
    }
    case Type.FixedSizeList: {
      const child = d.children[0];
      const size = type.listSize ?? 0;
      if (child === undefined) return (out) => out.writeAscii('[]');
      const item = valueWriter(child as unknown as Data, JSON_DIALECT);
      return (out, i) => {
        out.writeByte(91);
        for (let j = 0; j < size; j++) {
          if (j > 0) out.writeByte(44);
          item(out, i * size + j);
        }
        out.writeByte(93);
      };
    }
    case Type.Struct: {
      const names = (type.children ?? []).map((f) => f.name);
      return objectWriter(
        names.map((n) => keyBytes(n)),
        d.children.map((c) => valueWriter(c as unknown as Data, JSON_DIALECT))
      );
    }
    case Type.Map: {
      const entries = d.children[0];
      const keyData = entries?.children[0];
      const valueData = entries?.children[1];
      if (keyData === undefined || valueData === undefined) return (out) => out.writeAscii('{}');
      const key = valueWriter(keyData as unknown as Data, JSON_DIALECT);
      const value = valueWriter(valueData as unknown as Data, JSON_DIALECT);
      const stringKeys = isJsonStringType(keyData.type);
      const at = offsetReader(d);
      return (out, i) => {
        const end = at(i + 1);
        out.writeByte(123);
        for (let j = at(i); j < end; j++) {
          if (stringKeys) {
            key(out, j);
          } else {
            out.writeByte(34);
            key(out, j);
            out.writeByte(34);
          }
          out.writeByte(58);
          value(out, j);
          if (j + 1 < end) out.writeByte(44);
        }
        out.writeByte(125);
      };
    }
    default:
      throw new ModelError('E_INTERNAL', `Not a nested Arrow type: ${String(type)}`);
  }
}

/** Writes `{"a":..,"b":..}` from pre-encoded keys (`"a":`) and value writers. */
function objectWriter(keys: Uint8Array[], values: ValueWriter[]): ValueWriter {
  const n = keys.length;
  return (out, i) => {
    out.writeByte(123);
    for (let c = 0; c < n; c++) {
      if (c > 0) out.writeByte(44);
      const k = keys[c]!;
      out.writeBytes(k, 0, k.length);
      values[c]!(out, i);
    }
    out.writeByte(125);
  };
}

/**
 * The JSON writer of one column: the value at a row index as JSON text (`null` for nulls).
 *
 * @param data - the column's Arrow Data
 * @returns the writer
 */
export function jsonValueWriter(data: Data): ValueWriter {
  return valueWriter(data, JSON_DIALECT);
}

/** Options of {@link encodeNdjsonBatch}. */
export interface NdjsonEncodeOptions {
  /**
   * A buffer to append to (reused across batches by a writer); the returned bytes are then a
   * view of it, valid until its next write or reset. Default: a new buffer sized for the batch.
   */
  out?: ByteBuffer;
}

/**
 * Encodes a batch as NDJSON: one JSON object per row, keys in schema order, each line ending
 * with `\n` (values as described in this module's documentation).
 *
 * @param batch - the batch
 * @param options - see {@link NdjsonEncodeOptions}
 * @returns the UTF-8 bytes (empty for a batch without rows)
 * @throws {ModelError} E_FORMAT_UNSUPPORTED for an Arrow type without a text form (none of
 *   apache-arrow 21's types)
 */
export function encodeNdjsonBatch(
  batch: RecordBatch,
  options: NdjsonEncodeOptions = {}
): Uint8Array {
  const fields = batch.schema.fields;
  const columns = batch.data.children as unknown as DataShape[];
  const rows = batch.numRows;
  const out = options.out ?? new ByteBuffer(estimateNdjsonBytes(batch));
  const start = out.pos;
  // `{"a":` for the first key, `,"b":` for the others, so a row is prefix, value, prefix, ...
  const prefixes = fields.map((f, c) => {
    const k = keyBytes(f.name);
    const p = new Uint8Array(k.length + 1);
    p[0] = c === 0 ? 123 : 44;
    p.set(k, 1);
    return p;
  });
  const writers = columns.map((c) => valueWriter(c as unknown as Data, JSON_DIALECT));
  const n = writers.length;
  for (let r = 0; r < rows; r++) {
    if (n === 0) out.writeByte(123);
    for (let c = 0; c < n; c++) {
      const p = prefixes[c]!;
      out.writeBytes(p, 0, p.length);
      writers[c]!(out, r);
    }
    out.writeByte(125);
    out.writeByte(10);
  }
  return out.buf.subarray(start, out.pos);
}

/** A capacity guess for a batch's NDJSON bytes (the buffer still grows if it is short). */
function estimateNdjsonBytes(batch: RecordBatch): number {
  let perRow = 3;
  for (const f of batch.schema.fields) perRow += f.name.length + 4 + 12;
  let strings = 0;
  for (const c of batch.data.children) strings += stringBytes(c);
  return Math.min(perRow * batch.numRows + strings * 1.1, 1 << 30) + 64;
}

/**
 * The bytes of a string/binary column's values (0 for other types), for capacity estimates.
 *
 * @param data - a column's Data
 * @returns the byte count
 */
export function stringBytes(data: Data): number {
  const d = data as unknown as DataShape;
  const t = d.type.typeId;
  if (
    (t === Type.Utf8 || t === Type.LargeUtf8 || t === Type.Binary || t === Type.LargeBinary) &&
    d.valueOffsets
  ) {
    const at = offsetReader(d);
    return at(d.length) - at(0);
  }
  return 0;
}
