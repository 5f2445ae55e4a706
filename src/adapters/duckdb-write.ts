/**
 * Arrow columns -> DuckDB vectors (a data chunk's columns, or a scalar function's output):
 * whole buffers copied where the layouts agree (integers, floats, DATE, TIME, timestamps),
 * booleans unpacked from bits to bytes, strings and blobs handed over as bytes (no JS string is
 * made), validity copied as DuckDB's bitmask.
 *
 * Types map as: Int8..Int64 TINYINT..BIGINT; Uint8..Uint64 UTINYINT..UBIGINT; Float32 FLOAT;
 * Float64 DOUBLE; Bool BOOLEAN; Utf8, LargeUtf8 and dictionary-encoded strings VARCHAR; Binary,
 * LargeBinary BLOB; DateDay, DateMillisecond DATE; TimeMicrosecond TIME; Timestamp s/ms/us/ns
 * TIMESTAMP_S/_MS/TIMESTAMP/_NS, with a time zone (us) TIMESTAMPTZ. Other types (nested,
 * decimal, other time units) are refused, naming the column.
 *
 * @module
 */
import { type Data, DataType, Type, type Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeName } from '../signature/arrow-types.js';
import { DT, DT_NAMES, type DuckDBBindings, type RawVector } from './duckdb-bindings.js';

/**
 * The DuckDB type id an Arrow column is written as (see the module doc), or undefined.
 *
 * @param type - an Arrow type
 * @returns the DuckDB type id
 */
export function duckdbTypeIdFor(type: DataType): number | undefined {
  if (DataType.isInt(type)) {
    const ids = type.isSigned
      ? { 8: DT.TINYINT, 16: DT.SMALLINT, 32: DT.INTEGER, 64: DT.BIGINT }
      : { 8: DT.UTINYINT, 16: DT.USMALLINT, 32: DT.UINTEGER, 64: DT.UBIGINT };
    return ids[type.bitWidth];
  }
  if (DataType.isFloat(type))
    return type.precision === 2 ? DT.DOUBLE : type.precision === 1 ? DT.FLOAT : undefined;
  if (DataType.isBool(type)) return DT.BOOLEAN;
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return DT.VARCHAR;
  if (DataType.isDictionary(type)) {
    return DataType.isUtf8(type.dictionary) || DataType.isLargeUtf8(type.dictionary)
      ? DT.VARCHAR
      : undefined;
  }
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) return DT.BLOB;
  if (DataType.isDate(type)) return DT.DATE;
  if (DataType.isTime(type)) return type.unit === 2 && type.bitWidth === 64 ? DT.TIME : undefined;
  if (DataType.isTimestamp(type)) {
    if (type.timezone !== null && type.timezone !== undefined)
      return type.unit === 2 ? DT.TIMESTAMP_TZ : undefined;
    return [DT.TIMESTAMP_S, DT.TIMESTAMP_MS, DT.TIMESTAMP, DT.TIMESTAMP_NS][type.unit];
  }
  return undefined;
}

/**
 * The DuckDB SQL type of an Arrow column (for CREATE TABLE).
 *
 * @param name - the column name (for the error)
 * @param type - its Arrow type
 * @returns the SQL type name
 * @throws {ModelError} E_INPUT_INVALID for a type DuckDB columns are not written from
 */
export function duckdbSqlType(name: string, type: DataType): string {
  const id = duckdbTypeIdFor(type);
  if (id === undefined) throw unsupported(name, type);
  return DT_NAMES[id]!;
}

function unsupported(name: string, type: DataType): ModelError {
  return new ModelError(
    'E_INPUT_INVALID',
    `Column ${name} has Arrow type ${arrowTypeName(type)}, which jsfunc does not write to DuckDB (supported: integers, floats, booleans, strings, binaries, dates, times and timestamps).`,
    { details: { column: name, type: arrowTypeName(type) } }
  );
}

/** `bytes` as a range of a plain ArrayBuffer (the bindings read ArrayBuffers, not shared memory). */
function plain(bytes: Uint8Array): { buffer: ArrayBuffer; byteOffset: number } {
  // By tag, so shared memory from another realm is recognised too.
  if (Object.prototype.toString.call(bytes.buffer) !== '[object SharedArrayBuffer]') {
    return { buffer: bytes.buffer as ArrayBuffer, byteOffset: bytes.byteOffset };
  }
  return { buffer: bytes.slice().buffer, byteOffset: 0 };
}

function bytesOf(view: ArrayBufferView, byteLength: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, byteLength);
}

/** Byte width of a fixed-width column written as it is, else undefined. */
function fixedWidth(type: DataType): number | undefined {
  if (DataType.isInt(type)) return type.bitWidth / 8;
  if (DataType.isFloat(type)) return type.precision === 2 ? 8 : 4;
  if (DataType.isDate(type)) return type.unit === 0 ? 4 : undefined;
  if (DataType.isTime(type) || DataType.isTimestamp(type)) return 8;
  return undefined;
}

/**
 * Writes `vector` (exactly the rows of the DuckDB vector, at most 2048) into a raw DuckDB
 * vector of type `typeId`.
 *
 * @param b - the raw bindings
 * @param target - the DuckDB vector (a chunk column or a scalar function's output)
 * @param vector - the values, rows [0, vector.length)
 * @param typeId - the DuckDB type of `target`
 * @param name - the column name (for errors)
 * @throws {ModelError} E_INPUT_INVALID when the Arrow type is not written as `typeId`
 */
export function writeVector(
  b: DuckDBBindings,
  target: RawVector,
  vector: Vector,
  typeId: number,
  name: string
): void {
  const type = vector.type as DataType;
  if (duckdbTypeIdFor(type) !== typeId) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `Column ${name} has Arrow type ${arrowTypeName(type)}, which does not match the DuckDB column type ${DT_NAMES[typeId] ?? typeId}.`,
      {
        details: {
          column: name,
          type: arrowTypeName(type),
          duckdbType: DT_NAMES[typeId] ?? typeId,
        },
      }
    );
  }
  const n = vector.length;
  const validity = new Uint8Array(Math.ceil(n / 64) * 8).fill(0xff);
  let nulls = 0;
  let row = 0;
  for (const data of vector.data as Data[]) {
    nulls += writeValidity(data, validity, row);
    writeData(b, target, data, type, row);
    row += data.length;
  }
  if (nulls > 0) {
    b.vector_ensure_validity_writable(target);
    b.copy_data_to_vector_validity(target, 0, validity.buffer, 0, validity.byteLength);
  }
}

/** Clears the bits of `data`'s nulls at rows [at, at + length); returns its null count. */
function writeValidity(data: Data, dest: Uint8Array, at: number): number {
  if (data.nullCount === 0 || data.nullBitmap === undefined || data.nullBitmap.length === 0)
    return 0;
  const bitmap = data.nullBitmap;
  let nulls = 0;
  for (let i = 0; i < data.length; i++) {
    const j = data.offset + i;
    if (((bitmap[j >> 3]! >> (j & 7)) & 1) === 0) {
      dest[(at + i) >> 3]! &= ~(1 << ((at + i) & 7));
      nulls++;
    }
  }
  return nulls;
}

function writeData(
  b: DuckDBBindings,
  target: RawVector,
  data: Data,
  type: DataType,
  at: number
): void {
  const n = data.length;
  const width = fixedWidth(type);
  if (width !== undefined) {
    const { buffer, byteOffset } = plain(bytesOf(data.values as ArrayBufferView, n * width));
    b.copy_data_to_vector(target, at * width, buffer, byteOffset, n * width);
    return;
  }
  if (DataType.isDate(type)) {
    // DateMillisecond -> DATE (int32 days).
    const days = new Int32Array(n);
    const ms = data.values as unknown as ArrayLike<number | bigint>;
    for (let i = 0; i < n; i++) days[i] = Math.floor(Number(ms[i]!) / 86_400_000);
    b.copy_data_to_vector(target, at * 4, days.buffer, 0, n * 4);
    return;
  }
  if (DataType.isBool(type)) {
    const size = b.sizeof_bool;
    const out = new Uint8Array(n * size);
    const bits = data.values as unknown as Uint8Array;
    for (let i = 0; i < n; i++) {
      const j = data.offset + i;
      out[i * size] = (bits[j >> 3]! >> (j & 7)) & 1;
    }
    b.copy_data_to_vector(target, at * size, out.buffer, 0, out.byteLength);
    return;
  }
  if (type.typeId === Type.Dictionary) {
    // Each key's UTF-8 bytes once, as offsets into one buffer.
    const dictionary = data.dictionary!;
    const encoder = new TextEncoder();
    const parts = Array.from({ length: dictionary.length }, (_, k) =>
      encoder.encode(String(dictionary.get(k) ?? ''))
    );
    const dictOffsets = new Int32Array(parts.length + 1);
    parts.forEach((p, k) => (dictOffsets[k + 1] = dictOffsets[k]! + p.length));
    const dictBytes = new Uint8Array(dictOffsets[parts.length]!);
    parts.forEach((p, k) => dictBytes.set(p, dictOffsets[k]!));
    const keys = data.values as unknown as ArrayLike<number>;
    writeStrings(
      b,
      target,
      data,
      at,
      dictBytes,
      (i) => dictOffsets[Number(keys[i])]!,
      (i) => dictOffsets[Number(keys[i]) + 1]!
    );
    return;
  }
  // Utf8, LargeUtf8, Binary, LargeBinary: offsets (sliced to the chunk) into the bytes.
  const offsets = data.valueOffsets as unknown as ArrayLike<number | bigint>;
  const wide = typeof offsets[0] === 'bigint';
  const values = data.values as unknown as Uint8Array;
  writeStrings(
    b,
    target,
    data,
    at,
    values,
    wide ? (i) => Number(offsets[i]!) : (i) => offsets[i] as number,
    wide ? (i) => Number(offsets[i + 1]!) : (i) => offsets[i + 1] as number
  );
}

/** Longest string DuckDB stores inline in its 16-byte string record. */
const INLINE_MAX = 12;

/** A row validity test for `data` (null when every row is valid). */
function validityOf(data: Data): ((i: number) => boolean) | null {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return null;
  const offset = data.offset;
  return (i) => ((bitmap[(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
}

/**
 * Strings into a VARCHAR/BLOB vector: row i is `bytes[start(i), end(i))`. DuckDB's string
 * record (`duckdb_string_t`, 16 bytes) holds a string of up to 12 bytes inline after its length:
 * those records are built here and copied in with one call per chunk (zero padding, as DuckDB
 * compares records bytewise); longer strings go through `vector_assign_string_element_len`,
 * which puts them on the vector's heap.
 */
function writeStrings(
  b: DuckDBBindings,
  target: RawVector,
  data: Data,
  at: number,
  bytes: Uint8Array,
  start: (i: number) => number,
  end: (i: number) => number
): void {
  const n = data.length;
  const valid = validityOf(data);
  const records = new Uint8Array(n * 16);
  const dv = new DataView(records.buffer);
  const long: number[] = [];
  for (let i = 0; i < n; i++) {
    if (valid !== null && !valid(i)) continue;
    const from = start(i);
    const len = end(i) - from;
    if (len > INLINE_MAX) {
      long.push(i);
      continue;
    }
    dv.setUint32(i * 16, len, true);
    for (let k = 0; k < len; k++) records[i * 16 + 4 + k] = bytes[from + k]!;
  }
  b.copy_data_to_vector(target, at * 16, records.buffer, 0, records.byteLength);
  for (const i of long)
    b.vector_assign_string_element_len(target, at + i, bytes.subarray(start(i), end(i)));
}
