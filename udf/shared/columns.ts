/**
 * Column readers shared by the example models: turn an Arrow column into one flat typed array
 * the model can loop over, whatever the chunking. Models stay vectorized by reading each
 * column once per batch instead of touching rows through `table.get(i)`.
 *
 * @module
 */
import type { Table, Vector } from 'apache-arrow';

/**
 * Returns the named column of a table, or throws a plain `Error` naming the column (the
 * jsfunc loader wraps errors thrown from `predict` as `E_MODEL_PREDICT`).
 *
 * @param table - the model input
 * @param name - column name
 * @returns the Arrow vector
 * @throws {Error} when the column is missing
 */
export function requireColumn(table: Table, name: string): Vector {
  const column = table.getChild(name);
  if (column === null) {
    const found = table.schema.fields.map((f) => f.name).join(', ');
    throw new Error(`Input column "${name}" is missing; found columns [${found}]`);
  }
  return column;
}

/**
 * Reads a numeric column (Float64, Int32, Int64, ...) as a `Float64Array`. Nulls become NaN,
 * and bigint values (long columns) are converted with `Number()`.
 *
 * When the column is already a single-chunk Float64 column without nulls, the returned array
 * is a view on the Arrow buffer: callers must treat it as read-only.
 *
 * @param table - the model input
 * @param name - column name
 * @returns one number per row
 * @throws {Error} when the column is missing or not numeric
 */
export function readFloat64(table: Table, name: string): Float64Array {
  const column = requireColumn(table, name);
  const values: unknown = column.toArray();
  let out: Float64Array;
  if (values instanceof Float64Array) {
    out = values;
  } else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    // Through the two 32-bit halves: reading a BigInt64Array element allocates a BigInt.
    // Exact below 2^53 in magnitude; beyond, within one rounding of Number(value).
    out = new Float64Array(values.length);
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const signed = values instanceof BigInt64Array;
    for (let i = 0; i < values.length; i++) {
      const hi = words[2 * i + 1]!;
      out[i] = (signed ? hi : hi >>> 0) * 4294967296 + (words[2 * i]! >>> 0);
    }
  } else if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    out = Float64Array.from(values as unknown as ArrayLike<number>);
  } else {
    throw new Error(
      `Input column "${name}" must be numeric; found Arrow type ${String(column.type)}`
    );
  }
  if (column.nullCount > 0) {
    // toArray() exposes the raw value buffer, where null slots hold arbitrary values.
    if (out === values) out = out.slice();
    for (let i = 0; i < out.length; i++) if (!column.isValid(i)) out[i] = Number.NaN;
  }
  return out;
}

/**
 * Reads a string column as a plain array; nulls stay `null`.
 *
 * @param table - the model input
 * @param name - column name
 * @param optional - when true (default false) a missing column yields `null` instead of throwing
 * @returns one string (or null) per row, or null for a missing optional column
 * @throws {Error} when a required column is missing
 */
export function readStrings(table: Table, name: string, optional: true): (string | null)[] | null;
export function readStrings(table: Table, name: string, optional?: false): (string | null)[];
export function readStrings(
  table: Table,
  name: string,
  optional = false
): (string | null)[] | null {
  const column = optional ? table.getChild(name) : requireColumn(table, name);
  if (column === null) return null;
  const out = new Array<string | null>(column.length);
  let i = 0;
  for (const value of column) {
    out[i++] = value === null || value === undefined ? null : String(value);
  }
  return out;
}
