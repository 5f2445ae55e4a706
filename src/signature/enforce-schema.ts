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
 * A missing **optional** column is added as an all-null column of its signature type (Arrow
 * `Null` for `any`), so the model always finds every input it declares. MLflow skips it instead
 * (its `_enforce_named_col_schema` leaves the column out of the DataFrame); a Python model
 * reading it gets a `KeyError`, a JS model `getChild(name) === null`, so jsfunc fills it in.
 *
 * A column that a UDF column mapping renamed (`columns: ['distance_d']` feeding the signature
 * input `distance`) carries its source name in the field metadata key
 * {@link SOURCE_COLUMN_KEY}; messages name that source column and the input it feeds.
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
  Null,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  Type,
  Utf8,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import type { Data, DataType } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { adoptTable } from '../adapters/arrow-guards.js';
import { arrowTypeFor } from './arrow-types.js';
import { enforceTensorSchema } from './enforce-tensor-schema.js';
import { enforceValue } from './enforce-value.js';
import { isNamedSchema, isTensorSchema } from './schema.js';
import { checkNamedColumns } from './schema-mismatch.js';
import type { ColSpec, Schema, TensorSpec } from './types.js';

// Kept for importers of the name from this module; it lives with the other message helpers.
export { dtypeName } from './schema-mismatch.js';

/**
 * Field metadata key naming the table column a mapped column came from (set by the UDF's
 * column mapping when the names differ), so enforcement messages name the column the user
 * passed rather than only the signature input it feeds.
 */
export const SOURCE_COLUMN_KEY = 'jsfunc.source_column';

/**
 * Checks `table` against an input schema and returns the table the model receives.
 *
 * @param table - the input (any Arrow copy; a foreign table is adopted zero-copy)
 * @param schema - the model's input schema; `null` returns `table` unchanged
 * @param warn - receives the "extra inputs ignored" warning; defaults to {@link defaultWarn}
 * @returns a table with the schema's columns in schema order and Arrow types from
 *   `arrowTypeFor` (or, for tensor schemas, one column per tensor; see the module doc). An
 *   optional column absent from `table` is there, all null, typed by its spec (Arrow `Null`
 *   for `any`). The same object when nothing had to change.
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
    // index -1: an optional column the input lacks (checkNamedColumns passed every required one).
    for (const spec of specs) picked.push({ index: names.indexOf(spec.name!), spec });
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
  const batchLengths = input.batches.map((b) => b.numRows);
  const columns = picked.map(({ index, spec }) => {
    if (index < 0) {
      const type = arrowTypeFor(spec.type) ?? new Null();
      const byLength = new Map<number, Data>();
      const data = batchLengths.map((n) => {
        let d = byLength.get(n);
        if (d === undefined) byLength.set(n, (d = nullData(type, n)));
        return d;
      });
      return { name: spec.name!, data, same: false };
    }
    const name = names[index]!;
    const vector = input.getChildAt(index)!;
    const source = input.schema.fields[index]!.metadata.get(SOURCE_COLUMN_KEY);
    const data = vector.data.map((d) =>
      withSourceColumn(name, source, () =>
        withFix(() => enforceValue(d, spec.type, { column: name, path: [] }, spec.required, true))
      )
    );
    return { name, data, same: data.every((d, i) => d === vector.data[i]) };
  });
  const unchanged =
    columns.length === names.length && columns.every((c, i) => c.same && picked[i]!.index === i);
  if (unchanged) return input;
  return assembleTable(
    columns.map((c) => c.name),
    columns.map((c) => c.data),
    batchLengths
  );
}

/** `length` nulls of `type`, with zeroed value buffers (so `toArray()` has `length` entries). */
function nullData(type: DataType, length: number): Data {
  if (type.typeId === Type.Null) return makeData({ type: type as Null, length, nullCount: length });
  return vectorFromArray(new Array<null>(length).fill(null), type).data[0]!;
}

/** JS numbers are float64: a float -> int refusal names the fixes (MLflow's rule stays). */
const FLOAT_TO_INT_HINT =
  ' Hint: JavaScript numbers are float64. Declare the column double in the signature ' +
  "(inferSignature does for JS numbers unless given { integers: 'long' }), or send it as an " +
  'integer column (Arrow Int32/Int64, or an Int32Array/BigInt64Array).';
const INT64_TO_FLOAT_HINT =
  ' Hint: int64 converts to a floating-point column only when every value is 0, 1 or null ' +
  '(MLflow rule). Declare the column long in the signature, or cast it to Float64 first.';

/** Adds a hint to MLflow's float <-> int64 refusals naming what to change. */
function withFix<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!ModelError.is(e) || e.code !== 'E_SCHEMA_MISMATCH' || e.message.includes(' Hint: '))
      throw e;
    const { found, expected, path } = e.details as Record<string, unknown>;
    if (path !== '' || typeof found !== 'string' || typeof expected !== 'string') throw e;
    const hint =
      /^float/.test(found) && /^u?int/.test(expected)
        ? FLOAT_TO_INT_HINT
        : found === 'int64' && /^float/.test(expected)
          ? INT64_TO_FLOAT_HINT
          : '';
    if (hint === '') throw e;
    throw new ModelError(e.code, e.message + hint, { details: e.details, cause: e.cause });
  }
}

/**
 * Names the table column a mapped input came from: `column distance` becomes
 * `column distance_d (signature input distance)`, and the details say both.
 */
function withSourceColumn<T>(name: string, source: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (source === undefined || source === name || !ModelError.is(e)) throw e;
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const message = e.message.replace(
      new RegExp(`\\b([Cc]olumn) ${escaped}(?=$|[\\s.:,(])`),
      (_m, word: string) => `${word} ${source} (signature input ${name})`
    );
    throw new ModelError(e.code, message, {
      details: { ...e.details, column: source, input: name },
      cause: e.cause,
    });
  }
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
