/**
 * Value-level conversions to a primitive result type: strict per-value conversion (the slow path)
 * and vectorized typed-array casts (the fast path), for `toResultVector`'s Arrow builders.
 *
 * @module
 */
import type { ResultPrimitive } from './result-type.js';
import { describeOutput, isTyped, outputError } from './to-output-columns.js';
import type { TypedArray } from './to-output-columns.js';

/** The shortest decimal text that reads back as the same float32 (`0.1`, not `0.10000000149011612`). */
function f32String(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = +x.toPrecision(p);
    if (Math.fround(s) === x) return String(s);
  }
  return String(x);
}

/** A value as result text: JS `String()` for scalars, ISO for dates, JSON for nested values. */
function stringify(v: unknown, fromFloat32: boolean): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return fromFloat32 ? f32String(v) : String(v);
    case 'bigint':
    case 'boolean':
      return String(v);
    default:
      if (v instanceof Date) return v.toISOString();
      return (
        JSON.stringify(v, (_k, x: unknown) =>
          typeof x === 'bigint'
            ? x.toString()
            : isTyped(x)
              ? Array.from(x as ArrayLike<unknown>)
              : x instanceof Map
                ? Object.fromEntries(x)
                : x
        ) ?? String(v)
      );
  }
}

/**
 * Converts one value to a primitive of `t`, strictly: ints must be integral and in range, NaN
 * becomes null only for int/long, strings come from {@link stringify}.
 *
 * @param v - the value.
 * @param t - the primitive result type.
 * @param where - names the value's place for the message (called only on error).
 * @param fromFloat32 - the value came from a float32 column (shortest float32 text); default false.
 * @returns the converted value (number, bigint for long, string, boolean), or null when missing.
 * @throws {ModelError} E_MODEL_OUTPUT when the value cannot convert.
 */
export function convertValue(
  v: unknown,
  t: ResultPrimitive,
  where: () => string,
  fromFloat32 = false
): unknown {
  if (v === null || v === undefined) return null;
  const bad = (): never => {
    throw outputError(
      `${where()}: expected ${t === 'long' ? 'bigint' : t}, found ${describeValue(v)}.`
    );
  };
  switch (t) {
    case 'string':
      return stringify(v, fromFloat32);
    case 'boolean':
      return typeof v === 'boolean' ? v : bad();
    case 'float':
    case 'double':
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad();
    case 'int':
      if (typeof v === 'bigint') v = Number(v);
      if (typeof v !== 'number') return bad();
      if (Number.isNaN(v)) return null;
      return Number.isInteger(v) && v <= 2147483647 && v >= -2147483648 ? v : bad();
    case 'long':
      if (typeof v === 'bigint') return v >= -(2n ** 63n) && v < 2n ** 63n ? v : bad();
      if (typeof v !== 'number') return bad();
      if (Number.isNaN(v)) return null;
      return Number.isSafeInteger(v) ? BigInt(v) : bad();
  }
}

/** A value for messages: `number 1.5`, `"text…"`, or its kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return `${typeof v} ${String(v)}`;
  return describeOutput(v);
}

/**
 * Vectorized casts of a null-free typed array.
 *
 * @param a - the values.
 * @param t - the primitive result type.
 * @returns the values as the result type's typed array (`a` itself when it already is one), or
 *   undefined when there is no safe fast cast.
 */
export function castTyped(a: TypedArray, t: ResultPrimitive): TypedArray | undefined {
  const big = a instanceof BigInt64Array || a instanceof BigUint64Array;
  switch (t) {
    case 'double':
      return a instanceof Float64Array
        ? a
        : big
          ? Float64Array.from(a as BigInt64Array, Number)
          : new Float64Array(a as Float32Array);
    case 'float':
      return a instanceof Float32Array
        ? a
        : big
          ? Float32Array.from(a as BigInt64Array, Number)
          : new Float32Array(a as Float64Array);
    case 'int':
      if (a instanceof Int32Array) return a;
      return a instanceof Int8Array ||
        a instanceof Uint8Array ||
        a instanceof Uint8ClampedArray ||
        a instanceof Int16Array ||
        a instanceof Uint16Array
        ? new Int32Array(a)
        : undefined;
    case 'long':
      if (a instanceof BigInt64Array) return a;
      return a instanceof Int8Array ||
        a instanceof Uint8Array ||
        a instanceof Uint8ClampedArray ||
        a instanceof Int16Array ||
        a instanceof Uint16Array ||
        a instanceof Int32Array ||
        a instanceof Uint32Array
        ? BigInt64Array.from(a as Int32Array, (x) => BigInt(x))
        : undefined;
    default:
      return undefined;
  }
}
