/**
 * Growable Arrow column builders over shared memory for the NDJSON reader: values land in typed
 * arrays over `SharedArrayBuffer`s as they are parsed (numbers, booleans, epoch milliseconds,
 * UTF-8 bytes plus offsets), and `finish` wraps them as Arrow `Data` without another copy, so the
 * batch crosses to a worker thread for free (see `pool/transfer.ts`). Types with no flat form
 * (binary, lists, structs, maps) keep converted JS values and go through `buildColumnData`, the
 * same path as every other text reader.
 *
 * A builder holds one value per row; a row's value may be written more than once (duplicate
 * keys: the last one wins), and {@link ColumnBuilder.endRow} turns a row with no value into null.
 *
 * @module
 */
import { type Data, type DataType, Type as ArrowType, makeData } from 'apache-arrow';
import { buildColumnData } from './text-columns.js';
import type { ValueType } from '../signature/types.js';

/** Column kinds of the parser's hot path. */
export const Kind = {
  F64: 1,
  F32: 2,
  I32: 3,
  I64: 4,
  BOOL: 5,
  UTF8: 6,
  TS_MS: 7,
  GENERIC: 8,
} as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO_32 = 4294967296;
const encoder = new TextEncoder();

function kindOf(type: DataType): number {
  const t = type as unknown as {
    typeId: number;
    bitWidth?: number;
    isSigned?: boolean;
    precision?: number;
    unit?: number;
    timezone?: string | null;
  };
  switch (t.typeId) {
    case ArrowType.Float:
      return t.precision === 2 ? Kind.F64 : t.precision === 1 ? Kind.F32 : Kind.GENERIC;
    case ArrowType.Int:
      if (t.isSigned !== true) return Kind.GENERIC;
      return t.bitWidth === 32 ? Kind.I32 : t.bitWidth === 64 ? Kind.I64 : Kind.GENERIC;
    case ArrowType.Bool:
      return Kind.BOOL;
    case ArrowType.Utf8:
      return Kind.UTF8;
    case ArrowType.Timestamp:
      return t.unit === 1 && t.timezone == null ? Kind.TS_MS : Kind.GENERIC;
    default:
      return Kind.GENERIC;
  }
}

function sab(bytes: number): ArrayBuffer {
  return new SharedArrayBuffer(Math.max(bytes, 8)) as unknown as ArrayBuffer;
}

// Shared empty views: a builder holds only the ones its kind uses, once it grows.
const EMPTY_F64 = new Float64Array(0);
const EMPTY_F32 = new Float32Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_I64 = new BigInt64Array(0);
const EMPTY_U8 = new Uint8Array(0);

/**
 * One shared buffer carved into the fixed-width buffers of every column of a batch (a file with
 * thousands of columns must not cost thousands of small allocations per growth).
 */
export class Slab {
  private readonly buffer: ArrayBuffer;
  private offset = 0;

  /** @param bytes - the total size (each part rounded up to 8 bytes) */
  constructor(bytes: number) {
    this.buffer = sab(bytes);
  }

  /**
   * Rounds a part's size as {@link take} does.
   *
   * @param bytes - the part's size
   * @returns the rounded size
   */
  static size(bytes: number): number {
    return (bytes + 7) & ~7;
  }

  /**
   * The next part of the slab.
   *
   * @param bytes - its size
   * @returns the buffer and the part's byte offset in it
   */
  take(bytes: number): [ArrayBuffer, number] {
    const at = this.offset;
    this.offset += Slab.size(bytes);
    return [this.buffer, at];
  }
}

/** One column of a batch being parsed. */
export class ColumnBuilder {
  /** The hot-path kind ({@link Kind}). */
  readonly kind: number;
  /** Row capacity. */
  cap = 0;
  /** Fixed-width values: views of one shared buffer (the one matching the kind is used). */
  f64: Float64Array = EMPTY_F64;
  f32: Float32Array = EMPTY_F32;
  i32: Int32Array = EMPTY_I32;
  i64: BigInt64Array = EMPTY_I64;
  /** Boolean values, one bit per row. */
  bits: Uint8Array = EMPTY_U8;
  /** Utf8: value offsets (cap + 1) and bytes. */
  offsets: Int32Array = EMPTY_I32;
  bytes: Uint8Array = EMPTY_U8;
  /** Generic: converted JS values. */
  values: unknown[] = [];
  /** Validity, allocated at the first null. */
  validity: Uint8Array | null = null;
  nullCount = 0;
  /** The last row that received a value, and whether that value was null. */
  rowSet = -1;
  rowNull = false;

  /**
   * @param vt - the column's MLflow type
   * @param type - its Arrow type
   * @param declared - whether the signature typed it (else it was inferred)
   */
  constructor(
    readonly vt: ValueType,
    readonly type: DataType,
    readonly declared: boolean
  ) {
    this.kind = kindOf(type);
  }

  /**
   * The slab bytes {@link grow} takes for `cap` rows.
   *
   * @param cap - the capacity
   * @returns the size
   */
  slabBytes(cap: number): number {
    let n = this.validity === null ? 0 : Slab.size((cap + 7) >> 3);
    switch (this.kind) {
      case Kind.F64:
      case Kind.I64:
      case Kind.TS_MS:
        n += Slab.size(cap * 8);
        break;
      case Kind.F32:
      case Kind.I32:
        n += Slab.size(cap * 4);
        break;
      case Kind.BOOL:
        n += Slab.size((cap + 7) >> 3);
        break;
      case Kind.UTF8:
        n += Slab.size((cap + 1) * 4);
        break;
      default:
        break;
    }
    return n;
  }

  /**
   * Grows the row capacity to `cap`, keeping the first `rows` values.
   *
   * @param cap - the new capacity
   * @param rows - the rows held
   * @param slab - where the fixed-width buffers go ({@link slabBytes} of them)
   */
  grow(cap: number, rows: number, slab: Slab): void {
    switch (this.kind) {
      case Kind.F64: {
        const a = new Float64Array(...slab.take(cap * 8), cap);
        a.set(this.f64.subarray(0, rows));
        this.f64 = a;
        break;
      }
      case Kind.F32: {
        const a = new Float32Array(...slab.take(cap * 4), cap);
        a.set(this.f32.subarray(0, rows));
        this.f32 = a;
        break;
      }
      case Kind.I32: {
        const a = new Int32Array(...slab.take(cap * 4), cap);
        a.set(this.i32.subarray(0, rows));
        this.i32 = a;
        break;
      }
      case Kind.I64:
      case Kind.TS_MS: {
        const [buf, at] = slab.take(cap * 8);
        const a = new BigInt64Array(buf, at, cap);
        a.set(this.i64.subarray(0, rows));
        this.i64 = a;
        this.i32 = new Int32Array(buf, at, cap * 2);
        break;
      }
      case Kind.BOOL: {
        const a = new Uint8Array(...slab.take((cap + 7) >> 3), (cap + 7) >> 3);
        a.set(this.bits.subarray(0, (rows + 7) >> 3));
        this.bits = a;
        break;
      }
      case Kind.UTF8: {
        const a = new Int32Array(...slab.take((cap + 1) * 4), cap + 1);
        a.set(this.offsets.subarray(0, rows + 1));
        this.offsets = a;
        const used = rows > 0 ? a[rows]! : 0;
        const want = rows > 0 ? Math.ceil((used / rows) * cap * 1.1) : cap * 8;
        if (want > this.bytes.length) this.resizeBytes(want, used);
        break;
      }
      default:
        break;
    }
    if (this.validity !== null) {
      const v = new Uint8Array(...slab.take((cap + 7) >> 3), (cap + 7) >> 3);
      v.set(this.validity.subarray(0, (rows + 7) >> 3));
      this.validity = v;
    }
    this.cap = cap;
  }

  private resizeBytes(size: number, used: number): void {
    if (size > 0x7fffffff) size = 0x7fffffff;
    const a = new Uint8Array(sab(size));
    a.set(this.bytes.subarray(0, used));
    this.bytes = a;
  }

  /**
   * Makes room for `n` more value bytes after the value start of `row` (Utf8).
   *
   * @param row - the row being written
   * @param n - the bytes needed
   * @returns false when the column would pass 2 GiB (32-bit offsets)
   */
  reserve(row: number, n: number): boolean {
    const start = this.offsets[row]!;
    const need = start + n;
    if (need <= this.bytes.length) return true;
    if (need > 0x7fffffff) return false;
    this.resizeBytes(Math.max(need, this.bytes.length * 2), start);
    return true;
  }

  /** Records that `row` got a non-null value. */
  set(row: number): void {
    this.rowSet = row;
    this.rowNull = false;
  }

  /** Records that `row`'s value is null (a `null` token, or a failed conversion). */
  setNull(row: number): void {
    this.rowSet = row;
    this.rowNull = true;
    if (this.kind === Kind.UTF8) this.offsets[row + 1] = this.offsets[row]!;
  }

  /**
   * Writes a safe integer into an Int64/timestamp column without a BigInt.
   *
   * @param row - the row
   * @param v - the value (|v| < 2^53)
   */
  setInt64(row: number, v: number): void {
    if (LITTLE_ENDIAN) {
      this.i32[row * 2] = v >>> 0;
      this.i32[row * 2 + 1] = Math.floor(v / TWO_32);
    } else {
      this.i64[row] = BigInt(v);
    }
    this.set(row);
  }

  /**
   * Writes a JS string into a Utf8 column (lone surrogates become U+FFFD, as `TextEncoder`).
   *
   * @param row - the row
   * @param s - the string
   * @returns false when the column would pass 2 GiB
   */
  setString(row: number, s: string): boolean {
    if (!this.reserve(row, s.length * 3)) return false;
    const start = this.offsets[row]!;
    const { written } = encoder.encodeInto(s, this.bytes.subarray(start));
    this.offsets[row + 1] = start + written;
    this.set(row);
    return true;
  }

  /**
   * Stores a value converted by `convertJson` for this column's type.
   *
   * @param row - the row
   * @param v - the converted value (not null)
   * @returns false when the value cannot be stored (a non-integral or out-of-range epoch
   *   millisecond number, or a Utf8 column past 2 GiB)
   */
  setConverted(row: number, v: unknown): boolean {
    switch (this.kind) {
      case Kind.F64:
        this.f64[row] = v as number;
        break;
      case Kind.F32:
        this.f32[row] = v as number;
        break;
      case Kind.I32:
        this.i32[row] = v as number;
        break;
      case Kind.I64:
        this.i64[row] = v as bigint;
        break;
      case Kind.TS_MS:
        if (!Number.isSafeInteger(v)) return false;
        this.setInt64(row, v as number);
        break;
      case Kind.BOOL:
        this.setBool(row, v as boolean);
        break;
      case Kind.UTF8:
        return this.setString(row, v as string);
      default:
        this.values[row] = v;
        break;
    }
    this.set(row);
    return true;
  }

  /**
   * Writes a boolean.
   *
   * @param row - the row
   * @param v - the value
   */
  setBool(row: number, v: boolean): void {
    if (v) this.bits[row >> 3]! |= 1 << (row & 7);
    else this.bits[row >> 3]! &= ~(1 << (row & 7));
    this.set(row);
  }

  /**
   * Closes `row`: a row that got no value (or null) becomes null.
   *
   * @param row - the row
   */
  endRow(row: number): void {
    if (this.rowSet === row && !this.rowNull) {
      if (this.validity !== null) this.validity[row >> 3]! |= 1 << (row & 7);
      return;
    }
    if (this.validity === null) {
      const v = new Uint8Array(sab((this.cap + 7) >> 3));
      v.fill(0xff, 0, row >> 3);
      for (let r = row & ~7; r < row; r++) v[r >> 3]! |= 1 << (r & 7);
      this.validity = v;
    }
    this.nullCount++;
    switch (this.kind) {
      case Kind.UTF8:
        this.offsets[row + 1] = this.offsets[row]!;
        break;
      case Kind.BOOL:
        this.bits[row >> 3]! &= ~(1 << (row & 7));
        break;
      case Kind.GENERIC:
        this.values[row] = null;
        break;
      default:
        break;
    }
  }

  /**
   * The column's Arrow data for its first `rows` rows.
   *
   * @param rows - the row count
   * @returns the data (in shared memory)
   */
  finish(rows: number): Data {
    if (this.kind === Kind.GENERIC) {
      return buildColumnData(this.type, this.values.slice(0, rows));
    }
    const nullBitmap =
      this.nullCount > 0 && this.validity !== null
        ? this.validity.subarray(0, (rows + 7) >> 3)
        : null;
    const base = { type: this.type, length: rows, nullCount: this.nullCount, nullBitmap };
    switch (this.kind) {
      case Kind.F64:
        return makeData({ ...base, data: this.f64.subarray(0, rows) } as never) as Data;
      case Kind.F32:
        return makeData({ ...base, data: this.f32.subarray(0, rows) } as never) as Data;
      case Kind.I32:
        return makeData({ ...base, data: this.i32.subarray(0, rows) } as never) as Data;
      case Kind.I64:
      case Kind.TS_MS:
        return makeData({ ...base, data: this.i64.subarray(0, rows) } as never) as Data;
      case Kind.BOOL:
        return makeData({ ...base, data: this.bits.subarray(0, (rows + 7) >> 3) } as never) as Data;
      default: {
        const offsets = this.offsets.subarray(0, rows + 1);
        return makeData({
          ...base,
          valueOffsets: offsets,
          data: this.bytes.subarray(0, rows > 0 ? offsets[rows]! : 0),
        } as never) as Data;
      }
    }
  }
}
