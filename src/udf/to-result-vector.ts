/**
 * Turns whatever a model's `predict` returned into ONE Arrow vector of the UDF result type,
 * with MLflow `spark_udf` semantics. Pure: runs inside pool workers, once per batch.
 *
 * The output is first seen as a list of named "output columns" (MLflow's `pd.DataFrame(result)`):
 * a 1-D result (typed array, plain array, Arrow vector, danfo Series, scalar) is one column
 * named `"0"`; an Arrow Table/RecordBatch, a columns object `{a: [...], b: Float64Array}`, an
 * array of row objects or a danfo DataFrame give named columns. Then, by result type:
 *
 * - primitive: the LEFTMOST column whose dtype is compatible (MLflow's `select_dtypes`):
 *   `int` keeps int8/uint8/int16/uint16/int32; `long` keeps int8/uint8/int16/uint16/int64
 *   (MLflow selects numpy `int`, so an int32/uint32 column is not taken for `long`); `float`
 *   and `double` keep every numeric column (cast); `boolean` keeps boolean columns; `string`
 *   keeps every column and stringifies it. A column of plain JS numbers counts as integer for
 *   `int`/`long` when every value is an integer in range (JS has no int dtype; MLflow would see
 *   int64 from Python ints). A column of only nulls is compatible with every type. A single
 *   column of row arrays (a 2-D array) is read as one column per position, as pandas does.
 * - `array<primitive>`: one column whose values are arrays (2-D array, Arrow List, column of
 *   typed arrays) converts row by row, a null or NaN row giving a null array (MLflow #8986);
 *   otherwise each row's compatible columns form the array.
 * - `array<array|struct|map>`: the leftmost column of nested values, converted row by row
 *   (tuples fill struct fields by position, objects by name).
 * - struct: fields are read BY NAME from the columns; a missing field is an error. Each field
 *   converts to its type; ints must be integral and in range (no silent truncation, unlike
 *   numpy's `astype`).
 * - map: per-row objects / `Map`s / Arrow map rows.
 *
 * Nulls (`null`/`undefined`) survive everywhere. NaN in a float/double column stays NaN (not
 * null); NaN becomes null only where the target cannot hold it (int/long, and a NaN row of an
 * array type). Strings: JS `String()` for numbers/booleans (`true`, not Python's `True`),
 * float32 values in their shortest float32 form (`0.1`, not `0.10000000149011612`), nested
 * values as JSON.
 *
 * Fast paths: a Float64Array for `double` is wrapped without copying; an Arrow vector already of
 * the result type is returned as is; typed arrays are cast with typed-array constructors; only
 * row-object and nested outputs pay a per-row cost.
 *
 * @module
 */
import { makeData, makeVector } from 'apache-arrow';
import type { DataType, Vector } from 'apache-arrow';
import type { ModelError } from '../errors.js';
import {
  columnToPrimitive,
  listData,
  mapData,
  nestedData,
  rowsOfColumns,
  structOf,
} from './result-data.js';
import { formatResultType, primitiveArrowType, resultTypeToArrow } from './result-type.js';
import type { ResultPrimitive, ResultType } from './result-type.js';
import { INTS, expandMatrix, outputError, toOutputColumns } from './to-output-columns.js';
import type { OutColumn } from './to-output-columns.js';

// ---------------------------------------------------------------------------------------------
// Column selection (MLflow select_dtypes)

function compatible(c: OutColumn, t: ResultPrimitive): boolean {
  const d = c.dtype;
  if (d === 'null' || t === 'string') return true;
  switch (t) {
    case 'int':
      return (
        ['int8', 'uint8', 'int16', 'uint16', 'int32'].includes(d) ||
        (d === 'number' && c.int32 === true)
      );
    case 'long':
      return (
        ['int8', 'uint8', 'int16', 'uint16', 'int64'].includes(d) ||
        (d === 'number' && c.safe === true)
      );
    case 'float':
    case 'double':
      return (
        INTS.includes(d) || d === 'float16' || d === 'float32' || d === 'float64' || d === 'number'
      );
    case 'boolean':
      return d === 'bool';
  }
}

function noneCompatible(t: ResultType, cols: OutColumn[]): ModelError {
  const what = formatResultType(t);
  return outputError(
    `The model did not produce any values compatible with the requested type '${what}'. ` +
      `Consider requesting udf with string or array<string>. Output columns: ` +
      `${cols.map((c) => `${c.name} (${c.dtype})`).join(', ') || '(none)'}.`,
    { resultType: what, columns: cols.map((c) => ({ name: c.name, dtype: c.dtype })) }
  );
}

function sameArrowType(v: Vector, t: DataType): boolean {
  return String(v.type) === String(t);
}

// ---------------------------------------------------------------------------------------------
// Entry point

/**
 * Converts a model's `predict` output for one batch into ONE Arrow vector of the result type,
 * following MLflow `spark_udf` rules (see the module documentation for the full table).
 *
 * @param output - what `predict` returned: a typed array, a plain array (values, row arrays or
 *   row objects), an Arrow Vector / Table / RecordBatch, an object of columns, a danfo Series
 *   or DataFrame, or a scalar (a one-row result).
 * @param rt - the result type, from `parseResultType` or `inferResultType`.
 * @param numRows - the number of rows in the input batch; the result must have exactly as many.
 * @returns a vector whose type equals `resultTypeToArrow(rt)` and whose length is `numRows`.
 * @throws {ModelError} E_MODEL_OUTPUT when the output has the wrong number of rows
 *   (`model returned 9 rows for a batch of 10`), has no column compatible with a primitive
 *   result type, lacks a struct field, or holds a value that cannot convert (for example 1.5
 *   for an int field).
 */
export function toResultVector(output: unknown, rt: ResultType, numRows: number): Vector {
  // A map result is one map per row; a plain array is per-row already, so do not split rows
  // into columns.
  if (rt.kind === 'map' && Array.isArray(output)) {
    checkLength(output.length, numRows);
    return makeVector(
      mapData(
        rt,
        numRows,
        (i) => output[i],
        (i) => `Model output row ${i}`
      )
    );
  }
  const cols = toOutputColumns(output);
  for (const c of cols) checkLength(c.length, numRows, cols.length > 1 ? c.name : undefined);
  if (cols.length === 0 && numRows > 0) {
    throw outputError(`The model returned no columns for a batch of ${numRows} rows.`, {
      rows: 0,
      expected: numRows,
    });
  }
  const label = (c: OutColumn): string => `Model output column '${c.name}'`;

  switch (rt.kind) {
    case 'primitive': {
      const candidates = expandMatrix(cols);
      const c = candidates.find((x) => compatible(x, rt.type));
      if (c === undefined) throw noneCompatible(rt, candidates);
      const type = primitiveArrowType(rt.type);
      if (c.vector !== undefined && sameArrowType(c.vector, type)) return c.vector;
      return makeVector(columnToPrimitive(c, rt.type, label(c)));
    }
    case 'array': {
      const el = rt.element;
      const listCol = cols.length === 1 ? cols[0] : undefined;
      if (el.kind !== 'primitive') {
        const c = cols.find((x) => x.dtype === 'nested') ?? cols[0];
        if (c === undefined) throw noneCompatible(rt, cols);
        if (c.vector !== undefined && sameArrowType(c.vector, resultTypeToArrow(rt)))
          return c.vector;
        return makeVector(listData(rt, numRows, c.get, (i) => `${label(c)} row ${i}`));
      }
      if (
        listCol !== undefined &&
        (listCol.dtype === 'nested' || (listCol.dtype === 'null' && numRows > 0))
      ) {
        if (listCol.vector !== undefined && sameArrowType(listCol.vector, resultTypeToArrow(rt)))
          return listCol.vector;
        return makeVector(listData(rt, numRows, listCol.get, (i) => `${label(listCol)} row ${i}`));
      }
      const selected = cols.filter((x) => compatible(x, el.type));
      if (selected.length === 0) throw noneCompatible(el, cols);
      return makeVector(rowsOfColumns(selected, el.type, numRows));
    }
    case 'struct': {
      const byName = new Map(cols.map((c) => [c.name, c] as const));
      const children = rt.fields.map((f) => {
        const c = byName.get(f.name);
        if (c === undefined) {
          throw outputError(
            `Model output has no column '${f.name}' for field '${f.name}' of result type ` +
              `${formatResultType(rt)}. Available columns: ${cols.map((x) => x.name).join(', ') || '(none)'}.`,
            { field: f.name, available: cols.map((x) => x.name) }
          );
        }
        const fieldLabel = `Model output field '${f.name}'`;
        if (f.type.kind === 'primitive') return columnToPrimitive(c, f.type.type, fieldLabel);
        return nestedData(f.type, numRows, c.get, (i) => `${fieldLabel} row ${i}`);
      });
      return makeVector(
        makeData({ type: structOf(rt, children), length: numRows, nullCount: 0, children })
      );
    }
    case 'map': {
      const c = cols.find((x) => x.dtype === 'nested') ?? cols[0];
      if (c === undefined) throw noneCompatible(rt, cols);
      return makeVector(mapData(rt, numRows, c.get, (i) => `${label(c)} row ${i}`));
    }
  }
}

function checkLength(rows: number, numRows: number, column?: string): void {
  if (rows !== numRows) {
    throw outputError(
      `The model returned ${rows} rows for a batch of ${numRows}` +
        (column === undefined ? '.' : ` (output column '${column}').`),
      { rows, expected: numRows, ...(column === undefined ? {} : { column }) }
    );
  }
}
