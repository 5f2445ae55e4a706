/**
 * Column builders that write parsed CSV values straight into `SharedArrayBuffer` memory (so a
 * batch crosses to other threads without a copy), growing geometrically.
 *
 * @module
 */
import { type Data, type DataType, Utf8, makeData } from 'apache-arrow';
import { buildColumnData, textColumnArrowType } from './text-columns.js';
import type { ValueType } from '../signature/types.js';

// Column kinds: how a column's cells are parsed and stored.
/** Column kind: not materialised (projected away). */
export const K_SKIP = 0;
/** Column kind: `integer`, Int32. */
export const K_I32 = 1;
/** Column kind: `long`, Int64. */
export const K_I64 = 2;
/** Column kind: `float`, Float32. */
export const K_F32 = 3;
/** Column kind: `double`, Float64. */
export const K_F64 = 4;
/** Column kind: `boolean`, Bool. */
export const K_BOOL = 5;
/** Column kind: `string`, Utf8 (bytes copied from the input). */
export const K_UTF8 = 6;
/** Column kind: `datetime`, TimestampMillisecond. */
export const K_TS = 7;
/** Column kind: decoded to a string and converted by `convertText` (binary, JSON types, the rest). */
export const K_TEXT = 8;

/**
 * The kind of a column of MLflow type `vt` (`'skip'`: not materialised).
 *
 * @param vt - the final column type, or 'skip'
 * @returns one of the K_ constants
 */
export function columnKind(vt: ValueType | 'skip'): number {
  if (vt === 'skip') return K_SKIP;
  switch (vt.type) {
    case 'integer':
      return K_I32;
    case 'long':
      return K_I64;
    case 'float':
      return K_F32;
    case 'double':
      return K_F64;
    case 'boolean':
      return K_BOOL;
    case 'string':
      return K_UTF8;
    case 'datetime':
      return K_TS;
    default:
      return K_TEXT;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO32 = 4294967296;
const INV_TWO32 = 1 / TWO32; // exact: a power of two

/** Where a typed array lives: a shared buffer and a byte offset in it. */
type Place = [SharedArrayBuffer, number];

const align8 = (n: number): number => (n + 7) & ~7;

function fresh(bytes: number): Place {
  return [new SharedArrayBuffer(bytes), 0];
}

/**
 * One shared buffer cut into the first buffers of many columns: a parser of 100k columns makes
 * one allocation instead of 300k (each SharedArrayBuffer is external memory the GC tracks).
 */
export class SharedSlab {
  private at = 0;
  private readonly buffer: SharedArrayBuffer;

  /**
   * @param bytes - total bytes (the sum of {@link ColumnBuilder.initialBytes})
   */
  constructor(bytes: number) {
    this.buffer = new SharedArrayBuffer(Math.max(8, bytes));
  }

  /**
   * The next `bytes` of the slab (8-byte aligned).
   *
   * @param bytes - the size
   * @returns the buffer and offset
   */
  take(bytes: number): Place {
    const at = this.at;
    this.at += align8(bytes);
    if (this.at > this.buffer.byteLength) return fresh(bytes);
    return [this.buffer, at];
  }
}

// Empty placeholders for the buffers a kind does not use (never written).
const NO_I32 = new Int32Array(0);
const NO_F32 = new Float32Array(0);
const NO_F64 = new Float64Array(0);
const NO_U8 = new Uint8Array(0);

/** One column being built. Unused buffers stay empty; one class keeps the parser monomorphic. */
export class ColumnBuilder {
  /** The Arrow type of the finished column. */
  readonly type: DataType;
  /** Values appended. */
  length = 0;
  /** Nulls among them. */
  nulls = 0;
  private cap: number;
  /** Validity bits, pre-set to 1: a null clears its bit. */
  private valid: Uint8Array<ArrayBufferLike>;
  /** Int32 values; Int64 and Timestamp values as little-endian (lo, hi) pairs. */
  private i32: Int32Array<ArrayBufferLike> = NO_I32;
  private f32: Float32Array<ArrayBufferLike> = NO_F32;
  private f64: Float64Array<ArrayBufferLike> = NO_F64;
  /** Bool values, as bits. */
  private bits: Uint8Array<ArrayBufferLike> = NO_U8;
  private offsets: Int32Array<ArrayBufferLike> = NO_I32;
  private data: Uint8Array<ArrayBufferLike> = NO_U8;
  private dataLen = 0;
  /** Converted values of a K_TEXT column. */
  private values: unknown[] = [];

  /**
   * @param kind - one of the K_ constants (not K_SKIP)
   * @param vt - the column's MLflow type
   * @param capacity - initial rows
   * @param slab - where the first buffers are cut from (default: their own allocations)
   */
  constructor(
    readonly kind: number,
    readonly vt: ValueType,
    capacity: number,
    slab?: SharedSlab
  ) {
    this.type = textColumnArrowType(vt) ?? new Utf8();
    this.cap = Math.max(16, capacity);
    this.valid = NO_U8;
    this.alloc(this.cap, slab === undefined ? fresh : (n) => slab.take(n));
  }

  /**
   * The bytes of a column's first buffers, for sizing a {@link SharedSlab}.
   *
   * @param kind - the column kind
   * @param capacity - initial rows
   * @returns the size (8-byte aligned parts)
   */
  static initialBytes(kind: number, capacity: number): number {
    const cap = Math.max(16, capacity);
    const bits = align8((cap + 7) >> 3);
    switch (kind) {
      case K_I32:
      case K_F32:
        return bits + align8(cap * 4);
      case K_I64:
      case K_TS:
      case K_F64:
        return bits + cap * 8;
      case K_BOOL:
        return bits * 2;
      case K_UTF8:
        return bits + align8((cap + 1) * 4) + cap * 8;
      default:
        return bits;
    }
  }

  private alloc(cap: number, place: (bytes: number) => Place = fresh): void {
    const old = this.length;
    const nb = (cap + 7) >> 3;
    const [vb, vo] = place(nb);
    const valid = new Uint8Array(vb, vo, nb).fill(255);
    valid.set(this.valid.subarray(0, (old + 7) >> 3));
    this.valid = valid;
    switch (this.kind) {
      case K_I32:
        this.i32 = grow(Int32Array, this.i32, cap, old, place);
        break;
      case K_I64:
      case K_TS:
        this.i32 = grow(Int32Array, this.i32, cap * 2, old * 2, place);
        break;
      case K_F32:
        this.f32 = grow(Float32Array, this.f32, cap, old, place);
        break;
      case K_F64:
        this.f64 = grow(Float64Array, this.f64, cap, old, place);
        break;
      case K_BOOL:
        this.bits = grow(Uint8Array, this.bits, nb, (old + 7) >> 3, place);
        break;
      case K_UTF8:
        this.offsets = grow(Int32Array, this.offsets, cap + 1, old + 1, place);
        if (this.data.length === 0) this.data = grow(Uint8Array, this.data, cap * 8, 0, place);
        break;
      default:
        break;
    }
    this.cap = cap;
  }

  /** Makes room for one more value. */
  private room(): number {
    const i = this.length;
    if (i === this.cap) this.alloc(this.cap * 2);
    return i;
  }

  /** Appends a null. */
  pushNull(): void {
    const i = this.room();
    this.valid[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
    switch (this.kind) {
      case K_UTF8:
        this.offsets[i + 1] = this.dataLen;
        break;
      case K_TEXT:
        this.values.push(null);
        break;
      case K_BOOL:
        this.bits[i >> 3]! &= ~(1 << (i & 7));
        break;
      default:
        break;
    }
    this.length = i + 1;
  }

  /**
   * Appends a number to an Int32, Float32 or Float64 column, or a safe integer (|v| < 2^53) to
   * an Int64 or Timestamp column.
   *
   * @param v - the value
   */
  pushNumber(v: number): void {
    const i = this.room();
    switch (this.kind) {
      case K_I32:
        this.i32[i] = v;
        break;
      case K_F64:
        this.f64[i] = v;
        break;
      case K_F32:
        this.f32[i] = v;
        break;
      default:
        if (LITTLE_ENDIAN) {
          const i32 = this.i32;
          if (v >= -2147483648 && v <= 2147483647) {
            // The common case, kept in small-integer arithmetic.
            i32[2 * i] = v;
            i32[2 * i + 1] = v < 0 ? -1 : 0;
          } else {
            // Exact for |v| < 2^53: the division by 2^32 and the floor are exact.
            const hi = Math.floor(v * INV_TWO32);
            i32[2 * i] = (v - hi * TWO32) | 0;
            i32[2 * i + 1] = hi;
          }
        } else {
          new BigInt64Array(this.i32.buffer, this.i32.byteOffset + i * 8, 1)[0] = BigInt(v);
        }
    }
    this.length = i + 1;
  }

  /**
   * Appends a bigint to an Int64 column.
   *
   * @param v - the value (within int64)
   */
  pushBigInt(v: bigint): void {
    const i = this.room();
    new BigInt64Array(this.i32.buffer, this.i32.byteOffset + i * 8, 1)[0] = v;
    this.length = i + 1;
  }

  /**
   * Appends a boolean.
   *
   * @param v - the value
   */
  pushBool(v: boolean): void {
    const i = this.room();
    if (v) this.bits[i >> 3]! |= 1 << (i & 7);
    else this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.length = i + 1;
  }

  /**
   * Appends the UTF-8 bytes `b[a, e)` to a Utf8 column; with `escaped`, every `""` in them
   * becomes one `"` (the content of a quoted CSV field).
   *
   * @param b - the bytes
   * @param a - start
   * @param e - end
   * @param escaped - whether the bytes hold `""` escapes
   */
  pushBytes(b: Uint8Array, a: number, e: number, escaped: boolean): void {
    const i = this.room();
    let at = this.dataLen;
    const n = e - a;
    if (at + n > this.data.length) {
      const next = new Uint8Array(
        new SharedArrayBuffer(Math.max(this.data.length * 2, at + n + 64))
      );
      next.set(this.data.subarray(0, at));
      this.data = next;
    }
    const data = this.data;
    if (escaped) {
      for (let k = a; k < e; k++) {
        const c = b[k]!;
        data[at++] = c;
        if (c === 34) k++; // the second quote of a `""` pair
      }
    } else if (n < 32) {
      for (let k = a; k < e; k++) data[at++] = b[k]!;
    } else {
      data.set(b.subarray(a, e), at);
      at += n;
    }
    this.dataLen = at;
    this.offsets[i + 1] = at;
    this.length = i + 1;
  }

  /**
   * Appends a value already converted by `convertText` (a K_TEXT column).
   *
   * @param v - the value
   */
  pushValue(v: unknown): void {
    const i = this.room();
    if (v === null || v === undefined) {
      this.valid[i >> 3]! &= ~(1 << (i & 7));
      this.nulls++;
    }
    this.values.push(v);
    this.length = i + 1;
  }

  /**
   * The column as Arrow Data over shared memory.
   *
   * @returns the data
   */
  finish(): Data {
    const length = this.length;
    const nullBitmap = this.nulls > 0 ? this.valid.subarray(0, (length + 7) >> 3) : null;
    const base = { type: this.type, length, nullCount: this.nulls, nullBitmap };
    switch (this.kind) {
      case K_I32:
        return makeData({ ...base, data: this.i32.subarray(0, length) } as never) as Data;
      case K_I64:
      case K_TS:
        return makeData({
          ...base,
          data: new BigInt64Array(this.i32.buffer, this.i32.byteOffset, length),
        } as never) as Data;
      case K_F32:
        return makeData({ ...base, data: this.f32.subarray(0, length) } as never) as Data;
      case K_F64:
        return makeData({ ...base, data: this.f64.subarray(0, length) } as never) as Data;
      case K_BOOL:
        return makeData({
          ...base,
          data: this.bits.subarray(0, (length + 7) >> 3),
        } as never) as Data;
      case K_UTF8:
        return makeData({
          ...base,
          valueOffsets: this.offsets.subarray(0, length + 1),
          data: this.data.subarray(0, this.dataLen),
        } as never) as Data;
      default:
        return buildColumnData(this.type, this.values);
    }
  }
}

type Ctor<T> = new (b: SharedArrayBuffer, offset: number, length: number) => T;

/** A larger shared typed array holding the first `keep` elements of `old`. */
function grow<T extends Int32Array | Float32Array | Float64Array | Uint8Array>(
  C: Ctor<T> & { BYTES_PER_ELEMENT: number },
  old: T,
  n: number,
  keep: number,
  place: (bytes: number) => Place
): T {
  const [buffer, offset] = place(n * C.BYTES_PER_ELEMENT);
  const next = new C(buffer, offset, n);
  next.set(old.subarray(0, keep) as never);
  return next;
}
