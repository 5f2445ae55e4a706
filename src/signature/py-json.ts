/**
 * Python-compatible JSON writing: strings, floats and values exactly as Python's `json.dumps`
 * (default separators, `ensure_ascii`) writes the equivalent Python value.
 *
 * @module
 */
import { formatPyDatetime } from './iso-datetime.js';
import type { ValueType } from './types.js';

/** Escapes a string the way Python's `json.dumps` (ensure_ascii=True) does. */
export function pyJsonString(s: string): string {
  // JSON.stringify already escapes `"`, `\`, control characters and lone surrogates with
  // lowercase hex, like Python; Python also escapes DEL and everything non-ASCII.
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')
  );
}

/**
 * Formats a number as Python's `repr(float)`: shortest round-trip digits, `.0` on integral
 * values, exponent form below 1e-4 and from 1e16 (`1e-05`, `1e+16`), `NaN` / `Infinity`.
 */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const [mant, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    return `${mant}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = String(n); // JS uses plain notation for 1e-7 < |n| < 1e21, which covers this range
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** Formats an integer as Python's `repr(int)` (unsafe JS integers via BigInt). */
export function pyInt(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString();
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

/** Writes already-dumped `[key, value]` entries as a Python `json.dumps` object. */
export function dumpObject(entries: [string, string][]): string {
  return '{' + entries.map(([k, v]) => `${pyJsonString(k)}: ${v}`).join(', ') + '}';
}

/**
 * Dumps a value as Python's json.dumps would have written the equivalent Python value, using
 * `type` to tell floats from ints (a JS `1` in a double slot was a Python `1.0`).
 */
export function pyJsonValue(value: unknown, type: ValueType | null = null): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    const floaty = type !== null && (type.type === 'float' || type.type === 'double');
    return !floaty && Number.isInteger(value) ? pyInt(value) : pyFloatRepr(value);
  }
  if (typeof value === 'string') return pyJsonString(value);
  if (value instanceof Date) return pyJsonString(formatPyDatetime(value));
  if (Array.isArray(value)) {
    const itemType =
      type === null
        ? null
        : type.type === 'array'
          ? type.items
          : type.type === 'sparkml_vector'
            ? { type: 'double' as const }
            : type;
    return '[' + value.map((v) => pyJsonValue(v, itemType)).join(', ') + ']';
  }
  if (typeof value === 'object') {
    const props =
      type !== null && type.type === 'object'
        ? new Map(type.properties.map((p) => [p.name, p.type]))
        : null;
    const valueType = type !== null && type.type === 'map' ? type.values : null;
    return dumpObject(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        pyJsonValue(v, props?.get(k) ?? valueType),
      ])
    );
  }
  return pyJsonString(String(value));
}
