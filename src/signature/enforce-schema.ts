/**
 * Input schema enforcement on Arrow tables: MLflow's `_enforce_schema` rules
 * (`mlflow/models/utils.py`), applied to Arrow columns instead of pandas Series.
 *
 * Column schemas: missing required columns are an error, extra columns are dropped with a
 * warning, the result is in schema order, and each column is checked against its type and
 * safely widened (int32 -> long, float32 -> double, ...) with vectorized typed-array casts that
 * keep the null bitmap. Columns that already have the target type are passed through untouched,
 * and a table that needs no change at all is returned as the same object (zero-copy).
 *
 * Tensor schemas: the model receives a Table with **one column per tensor spec** (named after
 * the spec, or `"0"` for the unnamed tensor). Row `i` is the `i`-th slice along the first
 * dimension: a tensor of shape `(-1,)` is a primitive column of its dtype, and a tensor of shape
 * `(-1, d1, ..., dk)` is a column of nested `FixedSizeList`s (`d1` outermost) whose leaves have
 * the exact dtype.
 *
 * Type names in messages: numbers and booleans use numpy names (`int32`, `uint8`, `float64`,
 * `bool`), as MLflow's messages do; other Arrow types use Arrow's own type string (`Utf8`,
 * `Timestamp<MICROSECOND, UTC>`, `List<Int32>`); a non-numeric target is named by its MLflow
 * type (`string`, `datetime`, ...).
 *
 * @module
 */
import {
  Field,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  Utf8,
  makeData,
} from 'apache-arrow';
import type { Data } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { adoptTable } from '../adapters/arrow-guards.js';
import { enforceTensorSchema } from './enforce-tensor-schema.js';
import { enforceValue } from './enforce-value.js';
import { isNamedSchema, isTensorSchema } from './schema.js';
import { checkNamedColumns } from './schema-mismatch.js';
import type { ColSpec, Schema, TensorSpec } from './types.js';

// Kept for importers of the name from this module; it lives with the other message helpers.
export { dtypeName } from './schema-mismatch.js';

/**
 * Checks `table` against an input schema and returns the table the model receives.
 *
 * @param table - the input (any Arrow copy; a foreign table is adopted zero-copy)
 * @param schema - the model's input schema; `null` returns `table` unchanged
 * @param warn - receives the "extra inputs ignored" warning; defaults to {@link defaultWarn}
 * @returns a table with the schema's columns in schema order and Arrow types from
 *   `arrowTypeFor` (or, for tensor schemas, one column per tensor; see the module doc).
 *   The same object when nothing had to change.
 * @throws {ModelError} E_SCHEMA_MISMATCH when a required input is missing, a column's type
 *   cannot be safely converted, nested data breaks an Array/Object/Map spec, or a tensor's
 *   shape or dtype does not match
 * @throws {ModelError} E_INPUT_INVALID when a foreign Arrow type cannot be adopted
 */
export function enforceSchema(
  table: Table,
  schema: Schema | null,
  warn: WarnFn = defaultWarn
): Table {
  if (schema === null || schema.length === 0) return table;
  const input = adoptTable(table);
  if (isTensorSchema(schema)) return enforceTensorSchema(input, schema as TensorSpec[], warn);
  const specs = schema as ColSpec[];
  const names = input.schema.fields.map((f) => f.name);
  const picked: { index: number; spec: ColSpec }[] = [];
  if (isNamedSchema(schema)) {
    checkNamedColumns(names, schema, warn);
    for (const spec of specs) {
      const index = names.indexOf(spec.name!);
      if (index >= 0) picked.push({ index, spec });
    }
  } else {
    if (names.length < specs.length) {
      throw new ModelError(
        'E_SCHEMA_MISMATCH',
        `Model inference is missing inputs. The model signature declares ${specs.length} inputs  but ` +
          `the provided value only has ${names.length} inputs. Note: the inputs were not named in ` +
          'the signature so we can only verify their count.',
        { details: { expected: specs.length, found: names.length } }
      );
    }
    specs.forEach((spec, index) => picked.push({ index, spec }));
  }
  const columns = picked.map(({ index, spec }) => {
    const name = names[index]!;
    const vector = input.getChildAt(index)!;
    const data = vector.data.map((d) =>
      enforceValue(d, spec.type, { column: name, path: [] }, spec.required, true)
    );
    return { name, data, same: data.every((d, i) => d === vector.data[i]) };
  });
  const unchanged =
    columns.length === names.length && columns.every((c, i) => c.same && picked[i]!.index === i);
  if (unchanged) return input;
  return assembleTable(
    columns.map((c) => c.name),
    columns.map((c) => c.data),
    input.batches.map((b) => b.numRows)
  );
}

/** Builds a table from per-column chunk lists that share the same batch boundaries. */
function assembleTable(names: string[], columns: Data[][], batchLengths: number[]): Table {
  const fields = names.map((n, i) => new Field(n, columns[i]![0]?.type ?? new Utf8(), true));
  const schema = new ArrowSchema(fields);
  const batches = batchLengths.map(
    (length, b) =>
      new RecordBatch(
        schema,
        makeData({
          type: new Struct(fields),
          length,
          nullCount: 0,
          children: columns.map((chunks) => chunks[b]!),
        })
      )
  );
  return new Table(schema, batches);
}
