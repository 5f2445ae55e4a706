/**
 * The messages and checks shared by column and tensor schema enforcement: MLflow's wording for
 * missing inputs and type mismatches, numpy-style type names, and where a value sits.
 *
 * @module
 */
import { DataType } from 'apache-arrow';
import type { Data } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { WarnFn } from '../warnings.js';
import { arrowTypeName } from './arrow-types.js';
import { optionalInputNames, requiredInputNames } from './schema.js';
import type { Schema } from './types.js';

/** Names as a Python list literal (`['a', 'b']`), as MLflow's messages print them. */
function pyList(names: readonly string[]): string {
  return `[${names.map((n) => `'${n}'`).join(', ')}]`;
}

/** Names as a Python set literal (`{'a', 'b'}`). */
export function pySet(names: readonly string[]): string {
  return `{${names.map((n) => `'${n}'`).join(', ')}}`;
}

/**
 * MLflow's named-input check: every required input must be present; extra columns are ignored
 * with a warning.
 *
 * @param actual - the input's column names.
 * @param schema - a named input schema (columns or tensors).
 * @param warn - receives the "extra inputs ignored" warning.
 * @throws {ModelError} E_SCHEMA_MISMATCH naming the missing (and extra) inputs.
 */
export function checkNamedColumns(actual: readonly string[], schema: Schema, warn: WarnFn): void {
  const required = requiredInputNames(schema).map(String);
  const optional = optionalInputNames(schema).map(String);
  const actualSet = new Set(actual);
  const known = new Set([...required, ...optional]);
  const missing = required.filter((n) => !actualSet.has(n));
  const extra = actual.filter((n) => !known.has(n));
  if (missing.length > 0) {
    let message = `Model is missing inputs ${pyList(missing)}.`;
    if (extra.length > 0) message += ` Note that there were extra inputs: ${pyList(extra)}.`;
    throw new ModelError('E_SCHEMA_MISMATCH', message, { details: { missing, extra } });
  }
  if (extra.length > 0) {
    warn(
      'Found extra inputs in the model input that are not defined in the model signature: ' +
        `\`${pyList(extra)}\`. These inputs will be ignored.`
    );
  }
}

/**
 * The numpy-style name of an Arrow type: `int32`, `uint8`, `float64`, `bool`; Arrow's type
 * string (`Utf8`, `List<Int32>`) for everything else, decimals as `decimal(10,2)`
 * ({@link arrowTypeName}).
 * @param type - an Arrow data type
 * @returns the name used in enforcement messages
 */
export function dtypeName(type: DataType): string {
  if (DataType.isInt(type)) return `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}`;
  if (DataType.isFloat(type))
    return ['float16', 'float32', 'float64'][type.precision] ?? arrowTypeName(type);
  if (DataType.isBool(type)) return 'bool';
  return arrowTypeName(type);
}

/** Where a value sits: its column and the path below it. */
export interface Where {
  column: string;
  /** Nested keys / `[]` steps below the column. */
  path: string[];
}

/** `column x` or `column x at .a[]`, for messages. */
function where(w: Where): string {
  return w.path.length === 0 ? `column ${w.column}` : `column ${w.column} at ${w.path.join('')}`;
}

/** An E_SCHEMA_MISMATCH error whose details name the column and path. */
export function mismatch(
  w: Where,
  message: string,
  details: Record<string, unknown> = {}
): ModelError {
  return new ModelError('E_SCHEMA_MISMATCH', message, {
    details: { column: w.column, path: w.path.join(''), ...details },
  });
}

/** A mismatch inside a nested value, in MLflow's `Failed to enforce schema of ...` form. */
export function nestedMismatch(w: Where, message: string): ModelError {
  return mismatch(w, `Failed to enforce schema of ${where(w)}. ${message}`);
}

/** The validity of row `i` of `data` (relative to the chunk). */
export function valid(data: Data, i: number): boolean {
  return data.nullCount === 0 || data.getValid(i);
}

/** MLflow's `Incompatible input types for column x. Can not safely convert a to b.` */
export function incompatible(w: Where, actual: DataType, expected: string, hint = ''): ModelError {
  const found = dtypeName(actual);
  const target =
    w.path.length === 0 ? `column ${w.column}` : `column ${w.column} (at ${w.path.join('')})`;
  return mismatch(
    w,
    `Incompatible input types for ${target}. Can not safely convert ${found} to ${expected}.${hint}`,
    {
      expected,
      found,
    }
  );
}
