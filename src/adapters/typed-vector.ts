/**
 * Arrow vectors over typed arrays a dataframe library already holds, without copying: the
 * numeric fast path of the arquero and Polars adapters.
 *
 * Typed arrays are recognised by their tag (`Object.prototype.toString`), so arrays made in
 * another realm or by a native addon are accepted too.
 *
 * @module
 */
import {
  type DataType,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Vector,
  makeData,
} from 'apache-arrow';

/** The Arrow type of each numeric typed array (by its tag). */
const TYPES: Readonly<Record<string, () => DataType>> = {
  '[object Float64Array]': () => new Float64(),
  '[object Float32Array]': () => new Float32(),
  '[object Int8Array]': () => new Int8(),
  '[object Int16Array]': () => new Int16(),
  '[object Int32Array]': () => new Int32(),
  '[object BigInt64Array]': () => new Int64(),
  '[object Uint8Array]': () => new Uint8(),
  '[object Uint8ClampedArray]': () => new Uint8(),
  '[object Uint16Array]': () => new Uint16(),
  '[object Uint32Array]': () => new Uint32(),
  '[object BigUint64Array]': () => new Uint64(),
};

/**
 * The Arrow type of a numeric typed array, or undefined for anything else.
 *
 * @param values - any value
 * @returns Float64 for a Float64Array, Int64 for a BigInt64Array, ...; undefined otherwise
 */
export function typedArrayType(values: unknown): DataType | undefined {
  return TYPES[Object.prototype.toString.call(values)]?.();
}

/**
 * A vector viewing `values` (zero-copy), with an optional validity bitmap (LSB first, as Arrow
 * and DuckDB store them).
 *
 * @param values - a numeric typed array (see {@link typedArrayType})
 * @param nullBitmap - validity bits, one per value; omitted or null: no nulls
 * @param nullCount - how many bits of `nullBitmap` are 0
 * @returns the vector, or undefined when `values` is not a numeric typed array
 */
export function typedArrayVector(
  values: ArrayBufferView,
  nullBitmap: Uint8Array | null = null,
  nullCount = 0
): Vector | undefined {
  const type = typedArrayType(values);
  if (type === undefined) return undefined;
  const length = (values as unknown as ArrayLike<unknown>).length;
  return new Vector([
    makeData({
      type,
      length,
      nullCount: nullBitmap === null ? 0 : nullCount,
      nullBitmap: nullBitmap ?? undefined,
      data: values,
    } as never),
  ]);
}
