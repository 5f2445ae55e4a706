/**
 * Small predicates on plain JS input values shared by the input adapters: whether a value is a
 * plain object, and its type name for error messages.
 *
 * @module
 */

/** The type name of `x` for messages: `null`, its `typeof`, or its constructor name. */
export function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'Object';
}

/** True for an object literal or `Object.create(null)` object (not arrays, Dates, classes). */
/**
 * The object's own value at `key`, or undefined: a key a row lacks must not read through to
 * `Object.prototype` (`row.constructor`, `row.toString` are inherited functions).
 * @param obj - a plain object
 * @param key - a column or property name
 * @returns the own value, or undefined when `obj` has no own `key`
 */
export function ownValue(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}
