/**
 * Type inference for plain JS values without a schema: number -> Float64, bigint -> Int64,
 * string -> Utf8, boolean -> Bool, Date -> TimestampMillisecond, Uint8Array -> Binary,
 * arrays -> List, objects -> Struct (fields sorted by name).
 *
 * @module
 */
import {
  Binary,
  Bool,
  type DataType,
  Field,
  Float64,
  Int64,
  List,
  Null,
  Struct,
  TimestampMillisecond,
  Utf8,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { isPlainObject, ownValue, typeName } from './plain-object.js';

/**
 * The Arrow type of a column of plain values (all nulls -> Null).
 *
 * @throws {ModelError} E_INPUT_INVALID when the values mix kinds or a kind is unsupported,
 *   naming the column and path.
 */
export function inferType(column: string, values: readonly unknown[], path: string[]): DataType {
  let kind: string | null = null;
  const items: unknown[] = [];
  const objects: Record<string, unknown>[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k =
      typeof v === 'number'
        ? 'number'
        : typeof v === 'bigint'
          ? 'bigint'
          : typeof v === 'string'
            ? 'string'
            : typeof v === 'boolean'
              ? 'boolean'
              : v instanceof Date
                ? 'date'
                : v instanceof Uint8Array
                  ? 'binary'
                  : Array.isArray(v)
                    ? 'array'
                    : isPlainObject(v)
                      ? 'object'
                      : `unsupported ${typeName(v)}`;
    if (k.startsWith('unsupported') || (kind !== null && kind !== k)) {
      const where = path.length === 0 ? `column ${column}` : `column ${column} at ${path.join('')}`;
      throw new ModelError(
        'E_INPUT_INVALID',
        kind !== null && kind !== k && !k.startsWith('unsupported')
          ? `Cannot infer a type for ${where}: it mixes ${kind} and ${k} values.`
          : `Cannot infer a type for ${where}: ${k.replace('unsupported ', '')} values are not supported.`,
        { details: { column, path: path.join('') } }
      );
    }
    kind = k;
    if (k === 'array') items.push(...(v as unknown[]));
    if (k === 'object') objects.push(v as Record<string, unknown>);
  }
  switch (kind) {
    case null:
      return new Null();
    case 'number':
      return new Float64();
    case 'bigint':
      return new Int64();
    case 'string':
      return new Utf8();
    case 'boolean':
      return new Bool();
    case 'date':
      return new TimestampMillisecond();
    case 'binary':
      return new Binary();
    case 'array':
      return new List(new Field('item', inferType(column, items, [...path, '[]']), true));
    default: {
      const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))].sort();
      return new Struct(
        keys.map(
          (k) =>
            new Field(
              k,
              inferType(
                column,
                objects.map((o) => ownValue(o, k) ?? null),
                [...path, `.${k}`]
              ),
              true
            )
        )
      );
    }
  }
}
