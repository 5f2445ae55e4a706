/**
 * Schema-typed conversion of plain JS values: {@link coerce} checks that a value fits a
 * signature column type exactly (3 into an integer column is fine, 3.5 is an error naming the
 * column, row and value) and converts it to what Arrow's builders take; {@link numericFast}
 * builds numeric columns straight into typed arrays.
 *
 * @module
 */
import { Vector, makeData } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeFor } from '../signature/arrow-types.js';
import { parseIsoDatetime } from '../signature/iso-datetime.js';
import type { ValueType } from '../signature/types.js';
import { isPlainObject, ownValue, typeName } from './plain-object.js';

/** Where a value sits: column, row and path inside nested values (for messages). */
export interface At {
  column: string;
  row: number;
  path: string;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return typeName(v);
  return String(v);
}

/** The E_SCHEMA_MISMATCH error for a value that does not fit `expected` without loss. */
export function unfit(at: At, v: unknown, expected: string): ModelError {
  const where = `column ${at.column}${at.path}, row ${at.row}`;
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `Incompatible input for ${where}: ${show(v)} cannot be stored as ${expected} without loss.`,
    {
      details: { column: at.column, row: at.row, path: at.path, value: show(v), expected },
    }
  );
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Builds integer/long/float/double columns straight into typed arrays (no per-row boxing). */
export function numericFast(name: string, arr: unknown[], type: ValueType): Vector | null {
  if (
    type.type !== 'integer' &&
    type.type !== 'float' &&
    type.type !== 'double' &&
    type.type !== 'long'
  )
    return null;
  const n = arr.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  const out =
    type.type === 'integer'
      ? new Int32Array(n)
      : type.type === 'long'
        ? new BigInt64Array(n)
        : type.type === 'float'
          ? new Float32Array(n)
          : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    const at = { column: name, row: i, path: '' };
    const c = coerce(v, type, at);
    (out as { [i: number]: number | bigint })[i] = c as number | bigint;
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const arrow = arrowTypeFor(type)!;
  return new Vector([
    makeData({
      type: arrow,
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data: out,
    } as never),
  ]);
}

/**
 * Converts one plain value to `type`, exactly or not at all.
 *
 * @throws {ModelError} E_SCHEMA_MISMATCH when it does not fit, naming column, row and value.
 */
export function coerce(v: unknown, type: ValueType, at: At): unknown {
  if (v === null || v === undefined) return null;
  switch (type.type) {
    case 'integer':
      if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX)
        return v;
      if (typeof v === 'bigint' && v >= BigInt(INT32_MIN) && v <= BigInt(INT32_MAX))
        return Number(v);
      throw unfit(at, v, 'integer (int32)');
    case 'long':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
      if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) return v;
      throw unfit(at, v, 'long (int64)');
    case 'float':
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
      throw unfit(at, v, `${type.type} (${type.type === 'float' ? 'float32' : 'float64'})`);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      throw unfit(at, v, 'boolean');
    case 'string':
      if (typeof v === 'string') return v;
      throw unfit(at, v, 'string');
    case 'binary':
      if (v instanceof Uint8Array) return v;
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      throw unfit(at, v, 'binary');
    case 'datetime': {
      if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
      if (typeof v === 'string') {
        // ISO text first: zone-less text is UTC (naive, as numpy), where Date.parse would read
        // '2020-01-01T00:00:00' in the process's local time zone.
        const ms = parseIsoDatetime(v)?.getTime() ?? Date.parse(v);
        if (!Number.isNaN(ms)) return ms;
      }
      throw unfit(at, v, 'datetime');
    }
    case 'array': {
      const items = Array.isArray(v)
        ? v
        : ArrayBuffer.isView(v) && !(v instanceof DataView)
          ? Array.from(v as unknown as ArrayLike<unknown>)
          : null;
      if (items === null) throw unfit(at, v, 'array');
      return items.map((x, i) => coerce(x, type.items, { ...at, path: `${at.path}[${i}]` }));
    }
    case 'object': {
      if (!isPlainObject(v)) throw unfit(at, v, 'object');
      const keys = Object.keys(v);
      const missing = type.properties
        .filter((p) => p.required && (ownValue(v, p.name) ?? null) === null)
        .map((p) => p.name);
      const where = `column ${at.column}${at.path}, row ${at.row}`;
      if (missing.length > 0) {
        throw new ModelError(
          'E_SCHEMA_MISMATCH',
          `Incompatible input for ${where}: Missing required properties: {${missing.map((m) => `'${m}'`).join(', ')}}`,
          {
            details: { column: at.column, row: at.row, missing },
          }
        );
      }
      const extra = keys.filter((k) => !type.properties.some((p) => p.name === k));
      if (extra.length > 0) {
        throw new ModelError(
          'E_SCHEMA_MISMATCH',
          `Incompatible input for ${where}: Invalid properties not defined in the schema found: {${extra.map((m) => `'${m}'`).join(', ')}}`,
          { details: { column: at.column, row: at.row, extra } }
        );
      }
      const out: Record<string, unknown> = {};
      for (const p of type.properties)
        out[p.name] = coerce(ownValue(v, p.name), p.type, { ...at, path: `${at.path}.${p.name}` });
      return out;
    }
    case 'map': {
      const entries =
        v instanceof Map ? [...v.entries()] : isPlainObject(v) ? Object.entries(v) : null;
      if (entries === null) throw unfit(at, v, 'map');
      return new Map(
        entries.map(([k, x]) => {
          if (typeof k !== 'string') throw unfit(at, k, 'map key (string)');
          return [k, coerce(x, type.values, { ...at, path: `${at.path}[${JSON.stringify(k)}]` })];
        })
      );
    }
    default:
      return v;
  }
}
