/**
 * Inference-param validation, mirroring MLflow's `_enforce_params_schema` and
 * `ParamSpec.validate_type_and_shape` / `_enforce_param_datatype`.
 *
 * JS values take the place of Python's: a `number` for which `Number.isInteger` holds is an
 * "integer" value (Python `int`), any other number a "double" value (Python `float`), a `bigint`
 * a "long" value. Allowed widenings are MLflow's: long ← integer; float ← integer | long;
 * double ← integer | long | float. A non-integral number is accepted for both `float` and
 * `double` (a Python float passes both). Datetime params accept a `Date` or ISO-8601 text and
 * come back as a `Date` (text without a zone is read as UTC, like numpy's naive datetime64).
 *
 * @module
 */

import { ModelError } from '../errors.js';
import { defaultWarn } from '../warnings.js';
import type { WarnFn } from '../warnings.js';
import { parseIsoDatetime } from './iso-datetime.js';
import { describeValueType } from './schema.js';
import type { ParamSpec, Params, ValueType } from './types.js';

// ---------------------------------------------------------------------------------------------
// Value checks

/** Thrown inside validation; carries what was expected and what was found. */
class ParamValueError extends Error {
  constructor(
    readonly expected: string,
    readonly found: string
  ) {
    super(`expected ${expected}, got ${found}`);
  }
}

/**
 * Describes a JS value for messages: `string "1"`, `integer 3`, `number 1.5`, `bigint 5n`,
 * `array [1, 2]`, `Date 2023-06-26T00:00:00.000Z`, `null`.
 *
 * @param v - Any value.
 * @returns The description (long values are cut at 60 characters).
 */
export function describeJsValue(v: unknown): string {
  const cut = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `string ${cut(JSON.stringify(v))}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  if (typeof v === 'bigint') return `bigint ${v}n`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  if (v instanceof Date)
    return `Date ${Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString()}`;
  if (ArrayBuffer.isView(v))
    return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `array ${cut(safeJson(v))}`;
  if (typeof v === 'object') return `object ${cut(safeJson(v))}`;
  return typeof v;
}

function safeJson(v: unknown): string {
  try {
    return (
      JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v)
    );
  } catch {
    // Too deep for JSON.stringify (String of a deep array recurses too), circular, or a value
    // whose toJSON/toString throws: name its kind only.
    return Array.isArray(v) ? `[array of ${v.length}]` : Object.prototype.toString.call(v);
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** MLflow's `_ALLOWED_CONVERSIONS_FOR_PARAMS`, keyed by the declared type. */
/** An own property only: a missing key must not read `Object.prototype` (`constructor`, ...). */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

const WIDENINGS: Partial<Record<string, readonly string[]>> = {
  long: ['integer'],
  float: ['integer', 'long'],
  double: ['integer', 'long', 'float'],
};

/** The MLflow data type a scalar JS value "is", or null when it is none of them. */
function scalarKind(v: unknown): string | null {
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'float';
    case 'bigint':
      return 'long';
    case 'string':
      return 'string';
    default:
      return v instanceof Uint8Array ? 'binary' : null;
  }
}

function toDate(v: unknown, expected: string): Date {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return new Date(v.getTime());
  if (typeof v === 'string') {
    const d = parseIsoDatetime(v);
    if (d !== null) return d;
  }
  throw new ParamValueError(expected, `${describeJsValue(v)} (not convertible to a datetime)`);
}

/** `_enforce_param_datatype`: one scalar against a primitive type; returns the converted value. */
function enforceScalar(v: unknown, type: string): unknown {
  if (v === null) return null;
  if (type === 'datetime') return toDate(v, 'datetime');
  if (
    Array.isArray(v) ||
    (ArrayBuffer.isView(v) && !(v instanceof Uint8Array)) ||
    isPlainObject(v)
  ) {
    throw new ParamValueError(`a scalar ${type}`, describeJsValue(v));
  }
  const kind = scalarKind(v);
  if (kind === type || (kind !== null && (WIDENINGS[type] ?? []).includes(kind))) {
    if ((type === 'float' || type === 'double') && typeof v === 'bigint') return Number(v);
    return v;
  }
  throw new ParamValueError(type, describeJsValue(v));
}

/**
 * Checks a nested value against a value type (object params), like MLflow's `_enforce_object`:
 * missing required and undeclared properties are errors. Returns nothing; object params are
 * passed through unchanged, as MLflow does.
 */
function checkNested(v: unknown, t: ValueType, path: string, required = true): void {
  const fail = (expected: string): never => {
    throw new ParamValueError(`${expected}${path === '' ? '' : ` at ${path}`}`, describeJsValue(v));
  };
  if (v === null || v === undefined) {
    if (required && t.type !== 'any') fail(describeValueType(t));
    return;
  }
  switch (t.type) {
    case 'any':
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail('boolean');
      return;
    case 'integer':
    case 'long':
      if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) fail(t.type);
      return;
    case 'float':
    case 'double':
      if (!(typeof v === 'number' || typeof v === 'bigint')) fail(t.type);
      return;
    case 'string':
      if (typeof v !== 'string') fail('string');
      return;
    case 'binary':
      if (!(v instanceof Uint8Array || typeof v === 'string')) fail('binary');
      return;
    case 'datetime':
      if (!(
        (v instanceof Date && !Number.isNaN(v.getTime())) ||
        (typeof v === 'string' && parseIsoDatetime(v) !== null)
      )) {
        fail('datetime');
      }
      return;
    case 'sparkml_vector':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number'))
        fail('sparkml_vector (array of numbers)');
      return;
    case 'array':
      if (!Array.isArray(v)) fail(describeValueType(t));
      (v as unknown[]).forEach((x, i) => checkNested(x, t.items, `${path}[${i}]`));
      return;
    case 'map':
      if (!isPlainObject(v)) fail(describeValueType(t));
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        checkNested(x, t.values, `${path}.${k}`);
      return;
    case 'object': {
      if (!isPlainObject(v)) fail(describeValueType(t));
      const obj = v as Record<string, unknown>;
      const declared = new Set(t.properties.map((p) => p.name));
      const extra = Object.keys(obj).filter((k) => !declared.has(k));
      if (extra.length > 0) {
        throw new ParamValueError(
          `${describeValueType(t)}${path === '' ? '' : ` at ${path}`}`,
          `undeclared properties ${JSON.stringify(extra)}`
        );
      }
      const missing = t.properties.filter((p) => p.required && (own(obj, p.name) ?? null) === null);
      if (missing.length > 0) {
        throw new ParamValueError(
          `${describeValueType(t)}${path === '' ? '' : ` at ${path}`}`,
          `missing required properties ${JSON.stringify(missing.map((p) => p.name))}`
        );
      }
      for (const p of t.properties)
        checkNested(
          own(obj, p.name),
          p.type,
          path === '' ? p.name : `${path}.${p.name}`,
          p.required
        );
      return;
    }
  }
}

function describeSpec(spec: ParamSpec): string {
  const shape = spec.shape === null ? '' : ' (shape: [-1])';
  return `'${spec.name}': ${describeValueType(spec.type)} (default: ${describeJsValue(spec.default)})${shape}`;
}

/** `validate_type_and_shape`: one value against one spec; returns the converted value. */
function validateValue(value: unknown, spec: ParamSpec): unknown {
  const typeText = describeValueType(spec.type);
  if (spec.shape !== null) {
    if (!Array.isArray(value) || value.some((x) => Array.isArray(x))) {
      throw new ParamValueError(`a 1D array of ${typeText} (shape [-1])`, describeJsValue(value));
    }
    return value.map((x, i) => {
      try {
        return spec.type.type === 'object'
          ? (checkNested(x, spec.type, ''), x)
          : enforceScalar(x, spec.type.type);
      } catch (e) {
        if (e instanceof ParamValueError)
          throw new ParamValueError(`${e.expected} at index ${i}`, e.found);
        throw e;
      }
    });
  }
  if (spec.type.type === 'object') {
    if (value !== null) checkNested(value, spec.type, '');
    return value;
  }
  return enforceScalar(value, spec.type.type);
}

/**
 * Validates a ParamSpec and its default (MLflow does this in `ParamSpec.__init__`): the type is
 * a primitive other than `binary`, or `object`; the shape is null or [-1]; the default matches.
 *
 * @param spec - The spec, default as read from JSON or given by the caller.
 * @returns A copy whose default is converted (datetime text → `Date`, bigint → number for
 *   float/double).
 * @throws {ModelError} E_SIGNATURE_INVALID naming the param and what was wrong.
 */
export function validateParamDefault(spec: ParamSpec): ParamSpec {
  const t = spec.type.type;
  if (t === 'binary') {
    throw new ModelError(
      'E_SIGNATURE_INVALID',
      `Binary type is not supported for parameters, ParamSpec '${spec.name}' has type 'binary'`,
      {
        details: { param: spec.name },
      }
    );
  }
  if (t === 'array' || t === 'map' || t === 'any' || t === 'sparkml_vector') {
    throw new ModelError(
      'E_SIGNATURE_INVALID',
      `Param '${spec.name}' has type '${t}'; params must be a primitive type (not binary) or object`,
      { details: { param: spec.name } }
    );
  }
  if (!(
    spec.shape === null ||
    (Array.isArray(spec.shape) && spec.shape.length === 1 && spec.shape[0] === -1)
  )) {
    throw new ModelError(
      'E_SIGNATURE_INVALID',
      `Shape must be null for a scalar or object value, or [-1] for a 1D array value, for param '${spec.name}', found ${JSON.stringify(spec.shape)}`,
      { details: { param: spec.name } }
    );
  }
  try {
    return { ...spec, default: validateValue(spec.default, spec) };
  } catch (e) {
    if (!(e instanceof ParamValueError)) throw e;
    throw new ModelError(
      'E_SIGNATURE_INVALID',
      `Invalid default for param ${describeSpec(spec)}: expected ${e.expected}, got ${e.found}`,
      {
        details: { param: spec.name, expected: e.expected, found: e.found },
      }
    );
  }
}

/** One rejected param, as listed in the `E_PARAMS_INVALID` details. */
export interface InvalidParam {
  name: string;
  expected: string;
  found: string;
}

/**
 * Validates inference params against the model's params schema (MLflow `_enforce_params_schema`).
 *
 * - No schema: params given are ignored with a warning listing them; returns `{}`.
 * - Unknown keys are dropped with a warning naming them and the supported params.
 * - Missing params get the spec default; an explicit `null` stays `null`, as in MLflow.
 * - Present params are checked and converted (widenings, datetime → `Date`); every failure is
 *   collected into one error.
 *
 * Keys keep the caller's order, then defaults follow in schema order (MLflow's dict order).
 *
 * @param params - The params passed to predict, or null/undefined.
 * @param specs - The params schema, or null when the model declares none.
 * @param warn - Receives warnings. Default {@link defaultWarn}.
 * @returns The validated params.
 * @throws {ModelError} E_PARAMS_INVALID when params is not a plain object or any param fails;
 *   `details.invalid` lists `{name, expected, found}` for each.
 */
export function enforceParams(
  params: Params | null | undefined,
  specs: ParamSpec[] | null,
  warn: WarnFn = defaultWarn
): Params {
  if (specs === null) {
    if (params === null || params === undefined) return {};
    const info = isPlainObject(params)
      ? Object.keys(params).length === 0
        ? null
        : `Ignoring provided params: ${JSON.stringify(Object.keys(params))}`
      : 'Ignoring invalid params (not a dictionary).';
    if (info !== null) {
      warn(
        '`params` can only be specified at inference time if the model signature defines a params schema. ' +
          `This model does not define a params schema. ${info}`
      );
    }
    return {};
  }
  const given: unknown = params ?? {};
  if (!isPlainObject(given)) {
    const found = Array.isArray(given) ? 'array' : given instanceof Map ? 'Map' : typeof given;
    throw new ModelError(
      'E_PARAMS_INVALID',
      `Parameters must be a plain object. Got type '${found}'.`,
      {
        details: { found },
      }
    );
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  const unknown = Object.keys(given).filter((k) => !byName.has(k));
  if (unknown.length > 0) {
    warn(
      `Unrecognized params ${JSON.stringify(unknown)} are ignored for inference. ` +
        `Supported params are: ${JSON.stringify([...byName.keys()])}. ` +
        'To enable them, please add corresponding schema in the model signature.'
    );
  }
  const out: Params = {};
  for (const [k, v] of Object.entries(given)) if (byName.has(k) && v !== undefined) out[k] = v;
  const invalid: InvalidParam[] = [];
  for (const spec of specs) {
    if (!Object.hasOwn(out, spec.name)) {
      // A copy, so a model that mutates its params cannot change the spec's default.
      out[spec.name] = structuredClone(spec.default);
      continue;
    }
    try {
      out[spec.name] = validateValue(out[spec.name], spec);
    } catch (e) {
      if (!(e instanceof ParamValueError)) throw e;
      invalid.push({ name: spec.name, expected: e.expected, found: e.found });
    }
  }
  if (invalid.length > 0) {
    const lines = invalid.map((p) => `param '${p.name}': expected ${p.expected}, got ${p.found}`);
    throw new ModelError('E_PARAMS_INVALID', `Invalid parameters found: ${lines.join('; ')}`, {
      details: { invalid },
    });
  }
  return out;
}
