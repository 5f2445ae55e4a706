/**
 * Tensor schemas: MLflow's `_enforce_tensor_schema` / `_enforce_tensor_spec` on Arrow columns.
 *
 * @module
 */
import { DataType, Field, FixedSizeList, Table, Vector, makeData } from 'apache-arrow';
import type { Data } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { WarnFn } from '../warnings.js';
import { isNamedSchema } from './schema.js';
import { checkNamedColumns, dtypeName } from './schema-mismatch.js';
import type { TensorSpec } from './types.js';

function pyShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * MLflow's `_enforce_tensor_schema`: one column per tensor spec (named after the spec, or `"0"`
 * for the unnamed tensor); row `i` is the `i`-th slice along the first dimension, as nested
 * `FixedSizeList`s whose leaves have the exact dtype. Several scalar columns against an unnamed
 * `(-1, ncols)` spec form one 2-D tensor.
 *
 * @param table - the input (already adopted into this copy of apache-arrow).
 * @param specs - the tensor specs.
 * @param warn - receives the "extra inputs ignored" warning.
 * @returns the table of tensor columns.
 * @throws {ModelError} E_SCHEMA_MISMATCH when an input is missing or empty, or a tensor's shape,
 *   dtype or nulls do not match.
 */
export function enforceTensorSchema(table: Table, specs: TensorSpec[], warn: WarnFn): Table {
  const names = table.schema.fields.map((f) => f.name);
  if (isNamedSchema(specs)) {
    checkNamedColumns(names, specs, warn);
    const outNames = specs.map((s) => s.name!);
    const columns = specs.map((spec) => {
      const vector = table.getChild(spec.name!)!;
      return enforceTensorVector(vector, spec, spec.name!);
    });
    return assembleSingle(outNames, columns);
  }
  const spec = specs[0]!;
  if (names.length === 0 || table.numRows === 0) {
    throw new ModelError('E_SCHEMA_MISMATCH', 'Input table is empty.', { details: {} });
  }
  if (names.length === 1)
    return assembleSingle(['0'], [enforceTensorVector(table.getChildAt(0)!, spec, names[0]!)]);
  // Several scalar columns form a 2-D tensor (-1, ncols), as MLflow's DataFrame.to_numpy().
  const shape = spec.shape;
  if (shape.length !== 2 || shape[0] !== -1 || shape[1] !== names.length) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      'This model contains a model signature with an unnamed input. Since the input data is a table ' +
        'containing multiple columns, the input shape must be of the structure (-1, number_of_columns). ' +
        `Instead, the input table passed had ${names.length} columns and an input shape of ${pyShape(shape)}.`,
      { details: { columns: names.length, shape } }
    );
  }
  const vectors = names.map((_, i) => table.getChildAt(i)!);
  for (const v of vectors) checkDtype(v.type, spec.dtype);
  const leafType = vectors[0]!.type;
  const n = table.numRows;
  const k = names.length;
  const Ctor = leafType.ArrayType as unknown as new (
    n: number
  ) => ArrayLike<number> & { [i: number]: number | bigint };
  const out = new Ctor(n * k) as { [i: number]: number | bigint };
  vectors.forEach((v, j) => {
    let row = 0;
    for (const d of v.data) {
      if (d.nullCount > 0)
        throw new ModelError(
          'E_SCHEMA_MISMATCH',
          `Tensor input column ${names[j]} holds nulls; tensors cannot have missing values.`,
          { details: { column: names[j] } }
        );
      const values = d.values as ArrayLike<number | bigint>;
      for (let i = 0; i < d.length; i++) out[(row + i) * k + j] = values[i]!;
      row += d.length;
    }
  });
  const child = makeData({ type: leafType, length: n * k, data: out as never } as never) as Data;
  const fsl = makeData({
    type: new FixedSizeList(k, new Field('item', leafType, false)),
    length: n,
    child,
  });
  return assembleSingle(['0'], [new Vector([fsl])]);
}

function assembleSingle(names: string[], vectors: Vector[]): Table {
  const columns: Record<string, Vector> = {};
  names.forEach((name, i) => (columns[name] = vectors[i]!));
  // Tensor columns are rebuilt per chunk and may not share boundaries; Table re-slices them.
  return new Table(columns).select(names);
}

function checkDtype(actual: DataType, dtype: string): void {
  if (dtype === 'object') return;
  const name =
    dtype === 'str'
      ? DataType.isUtf8(actual) || DataType.isLargeUtf8(actual)
        ? 'str'
        : dtypeName(actual)
      : dtype === 'bytes'
        ? DataType.isBinary(actual) || DataType.isLargeBinary(actual)
          ? 'bytes'
          : dtypeName(actual)
        : dtypeName(actual);
  if (name !== dtype) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `dtype of input ${name} does not match expected dtype ${dtype}`,
      {
        details: { found: name, expected: dtype },
      }
    );
  }
}

/** Shape of one chunk (first dim = rows) and the chunk with List levels turned into FixedSizeList. */
function tensorChunk(data: Data, column: string): { shape: number[]; data: Data } {
  const t = data.type;
  if (DataType.isFixedSizeList(t) || DataType.isList(t)) {
    if (data.nullCount > 0) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Tensor input column ${column} holds nulls; tensors cannot have missing values.`,
        { details: { column } }
      );
    }
    let size: number;
    let child: Data;
    if (DataType.isFixedSizeList(t)) {
      size = t.listSize;
      child = data.children[0]!;
    } else {
      const offsets = data.valueOffsets as Int32Array;
      size = data.length === 0 ? 0 : offsets[1]! - offsets[0]!;
      for (let i = 0; i < data.length; i++) {
        if (offsets[i + 1]! - offsets[i]! !== size) {
          throw new ModelError(
            'E_SCHEMA_MISMATCH',
            `The value in the input column '${column}' could not be converted to a tensor: row ${i} has ` +
              `${offsets[i + 1]! - offsets[i]!} elements, row 0 has ${size}. Ensure that each of the input list elements are of uniform length.`,
            { details: { column, row: i } }
          );
        }
      }
      child = data.children[0]!.slice(offsets[0]!, offsets[data.length]! - offsets[0]!);
    }
    const inner = tensorChunk(child, column);
    const innerShape = inner.shape.slice(1);
    const fsl =
      DataType.isFixedSizeList(t) && inner.data === child
        ? data
        : makeData({
            type: new FixedSizeList(size, new Field('item', inner.data.type, false)),
            length: data.length,
            child: inner.data,
          });
    return { shape: [data.length, size, ...innerShape], data: fsl };
  }
  return { shape: [data.length], data };
}

function leafTypeOf(type: DataType): DataType {
  let t = type;
  while (DataType.isFixedSizeList(t) || DataType.isList(t)) t = t.children[0]!.type;
  return t;
}

function enforceTensorVector(vector: Vector, spec: TensorSpec, column: string): Vector {
  const chunks = vector.data.map((d) => tensorChunk(d, column));
  const inner = chunks[0]?.shape.slice(1) ?? [];
  for (const c of chunks) {
    const s = c.shape.slice(1);
    if (s.length !== inner.length || s.some((x, i) => x !== inner[i])) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `The value in the input column '${column}' has a different shape in different batches.`,
        { details: { column } }
      );
    }
  }
  let shape = [vector.length, ...inner];
  let out = chunks.map((c) => c.data);
  const expected = spec.shape;
  // A scalar column against (-1, 1): MLflow reshapes it to one element per row.
  if (shape.length === 1 && expected.length === 2 && expected[1] === 1) {
    out = out.map((d) =>
      makeData({
        type: new FixedSizeList(1, new Field('item', d.type, false)),
        length: d.length,
        child: d,
      })
    );
    shape = [vector.length, 1];
  }
  const matches =
    shape.length === expected.length && expected.every((dim, i) => dim === -1 || dim === shape[i]);
  if (!matches) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `Shape of input ${pyShape(shape)} does not match expected shape ${pyShape(expected)}`,
      {
        details: { column, shape, expected },
      }
    );
  }
  for (const d of out)
    if (shape.length === 1 && d.nullCount > 0) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Tensor input column ${column} holds nulls; tensors cannot have missing values.`,
        { details: { column } }
      );
    }
  checkDtype(leafTypeOf(out[0]?.type ?? vector.type), spec.dtype);
  return out.every((d, i) => d === vector.data[i]) ? vector : new Vector(out);
}
