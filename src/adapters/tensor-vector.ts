/**
 * Tensor inputs: plain (nested) values -> columns of a tensor spec's dtype.
 *
 * The nesting comes from the values, not from the spec. A column of scalars is a primitive
 * column of the dtype: under an unnamed (-1, n) spec enforceSchema packs n such columns into
 * one tensor, as MLflow's `DataFrame.to_numpy()` does, and under (-1,) it is the tensor itself.
 * A column whose values are arrays of one inner shape becomes nested FixedSizeLists of the
 * dtype. Whether that shape matches the spec is left to enforceSchema, so shape messages have a
 * single source.
 *
 * @module
 */
import {
  type Data,
  DataType,
  Field,
  FixedSizeList,
  Precision,
  Vector,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeForTensorDtype } from '../signature/arrow-types.js';
import type { TensorSpec } from '../signature/types.js';
import { type At, unfit } from './coerce-value.js';
import { inferType } from './infer-type.js';

/**
 * Converts one column of plain (nested) values to a vector of `spec`'s dtype.
 *
 * @throws {ModelError} E_SCHEMA_MISMATCH for nulls, ragged rows or values that do not fit.
 */
export function tensorVector(name: string, arr: unknown[], spec: TensorSpec): Vector {
  const leaf = arrowTypeForTensorDtype(spec.dtype);
  if (leaf === null) return vectorFromArray(arr, inferType(name, arr, [])) as Vector;
  // Bytes are leaves even though a Uint8Array is array-like.
  const isNested = (v: unknown): v is ArrayLike<unknown> =>
    Array.isArray(v) ||
    (ArrayBuffer.isView(v) &&
      !(v instanceof DataView) &&
      !(DataType.isBinary(leaf) && v instanceof Uint8Array));
  const inner: number[] = [];
  for (let v = arr[0]; isNested(v); v = v[0]) inner.push(v.length);
  const size = inner.reduce((a, b) => a * b, 1);
  const toLeaf = leafConverter(leaf, spec.dtype);
  const n = arr.length;
  // Numeric leaves go straight into one typed array; other leaves through Arrow's builder.
  const fast =
    DataType.isInt(leaf) || (DataType.isFloat(leaf) && leaf.precision !== Precision.HALF);
  const Ctor = leaf.ArrayType as unknown as new (n: number) => { [i: number]: unknown };
  const out = fast ? new Ctor(n * size) : null;
  const flat: unknown[] = [];
  let k = 0;
  const walk = (v: unknown, depth: number, at: At): unknown => {
    if (v === null || v === undefined) throw tensorNull(name, at);
    if (depth === inner.length) {
      if (isNested(v)) throw unfit(at, v, spec.dtype);
      const x = toLeaf(v, at);
      if (out !== null) out[k++] = x;
      return x;
    }
    if (!isNested(v)) throw unfit(at, v, `an array of ${inner[depth]} ${spec.dtype} values`);
    if (v.length !== inner[depth]) throw tensorRagged(name, at, v.length, inner[depth]!);
    const items: unknown[] = [];
    for (let i = 0; i < v.length; i++)
      items.push(walk(v[i], depth + 1, { ...at, path: `${at.path}[${i}]` }));
    return items;
  };
  for (let row = 0; row < n; row++) flat.push(walk(arr[row], 0, { column: name, row, path: '' }));
  let type: DataType = leaf;
  for (let d = inner.length - 1; d >= 0; d--)
    type = new FixedSizeList(inner[d]!, new Field('item', type, false));
  if (out === null) return vectorFromArray(flat, type) as Vector;
  let data: Data = makeData({ type: leaf, length: n * size, data: out } as never) as Data;
  for (let d = inner.length - 1; d >= 0; d--) {
    const levelSize = inner.slice(0, d).reduce((a, b) => a * b, n);
    data = makeData({
      type: new FixedSizeList(inner[d]!, new Field('item', data.type, false)),
      length: levelSize,
      child: data,
    });
  }
  return new Vector([data]);
}

function tensorNull(column: string, at: At): ModelError {
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `Tensor input column ${column} holds nulls (row ${at.row}${at.path}); tensors cannot have missing values.`,
    { details: { column, row: at.row, path: at.path } }
  );
}

function tensorRagged(column: string, at: At, found: number, expected: number): ModelError {
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `The value in the input column '${column}' could not be converted to a tensor: row ${at.row}${at.path} ` +
      `has ${found} elements, row 0 has ${expected}. Ensure that each of the input list elements are of uniform length.`,
    { details: { column, row: at.row, path: at.path, found, expected } }
  );
}

/** Checks one plain value against a tensor dtype: it must fit exactly, as for column types. */
function leafConverter(leaf: DataType, dtype: string): (v: unknown, at: At) => unknown {
  if (DataType.isInt(leaf)) {
    const bits = BigInt(leaf.bitWidth);
    const min = leaf.isSigned ? -(2n ** (bits - 1n)) : 0n;
    const max = leaf.isSigned ? 2n ** (bits - 1n) - 1n : 2n ** bits - 1n;
    const big = leaf.bitWidth === 64;
    return (v, at) => {
      const b =
        typeof v === 'bigint'
          ? v
          : typeof v === 'number' && Number.isSafeInteger(v)
            ? BigInt(v)
            : null;
      if (b === null || b < min || b > max) throw unfit(at, v, dtype);
      return big ? b : Number(b);
    };
  }
  if (DataType.isFloat(leaf) || DataType.isTimestamp(leaf)) {
    return (v, at) => {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
      throw unfit(at, v, dtype);
    };
  }
  const ok = DataType.isBool(leaf)
    ? (v: unknown) => typeof v === 'boolean'
    : DataType.isUtf8(leaf)
      ? (v: unknown) => typeof v === 'string'
      : (v: unknown) => v instanceof Uint8Array;
  return (v, at) => {
    if (!ok(v)) throw unfit(at, v, dtype);
    return v;
  };
}
