/**
 * Reading and writing MLflow's signature JSON (`Schema.to_json`, `ParamSchema.to_json`).
 *
 * The writer reproduces Python's `json.dumps` byte for byte: `", "` and `": "` separators,
 * `ensure_ascii` escaping (`\uXXXX` for everything outside printable ASCII), Python float
 * `repr` for float/double values (`1.0`, `1e-05`), and MLflow's key order per spec kind:
 *
 * - ColSpec: type keys (`type`, then `items` / `properties` / `values`), `name` (omitted when
 *   unnamed), `required`.
 * - TensorSpec: `name` (omitted when unnamed), `type`, `tensor-spec` `{dtype, shape}`.
 * - ParamSpec: `name`, `default`, `shape`, `type` (+ `properties` for object params).
 * - Object properties sorted by name (code-point order, as Python sorts `str`).
 *
 * JSON that predates `required` reads as required and is written back in MLflow's current form
 * (with `"required": true`), so byte-for-byte round trips hold for what current MLflow writes.
 *
 * @module
 */

import { ModelError } from '../errors.js';
import { validateParamDefault } from './enforce-params.js';
import { formatPyDatetime } from './iso-datetime.js';
import type {
  ColSpec,
  DataTypeName,
  ModelSignature,
  ParamSpec,
  Property,
  Schema,
  TensorSpec,
  ValueType,
} from './types.js';
import { DataTypes } from './types.js';

/** numpy dtype names accepted in a TensorSpec (the names `np.dtype(x).name` produces). */
const TENSOR_DTYPES = new Set([
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float16',
  'float32',
  'float64',
  'complex64',
  'complex128',
  'str',
  'bytes',
  'object',
]);

/** Aliases numpy accepts on read; normalised to the canonical name MLflow writes. */
const TENSOR_DTYPE_ALIASES: Record<string, string> = {
  float: 'float64',
  double: 'float64',
  int: 'int64',
  bool_: 'bool',
  str_: 'str',
  bytes_: 'bytes',
  object_: 'object',
};

const DATETIME_DTYPE = /^(datetime64|timedelta64)(\[(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?$/;
const SIZED_FLEXIBLE_DTYPE = /^(?:[<>|=]?[USa]\d+|str\d+|bytes\d+)$/;

const COMPLEX_TYPES = ['array', 'object', 'map', 'any', 'sparkml_vector'] as const;

function invalid(
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown
): ModelError {
  return new ModelError('E_SIGNATURE_INVALID', message, { details, cause });
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseJson(json: string, what: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch (cause) {
    throw invalid(`${what} is not valid JSON: ${(cause as Error).message}`, { json }, cause);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Parses one value type (`{"type": ..., "items"|"properties"|"values": ...}`).
 *
 * @param obj - The JSON object holding `type` and its type-specific keys.
 * @param where - Where the type sits, for messages (e.g. `column 'x'`).
 * @returns The value type.
 * @throws {ModelError} E_SIGNATURE_INVALID when the type is unknown or its keys are malformed.
 */
export function parseValueType(obj: unknown, where: string): ValueType {
  if (!isPlainObject(obj)) {
    throw invalid(
      `${where}: expected a type object like {"type": "double"}, found ${JSON.stringify(obj)}`
    );
  }
  const type = obj['type'];
  if (typeof type !== 'string') {
    throw invalid(`${where}: missing key \`type\``);
  }
  if ((DataTypes as readonly string[]).includes(type)) return { type: type as DataTypeName };
  switch (type) {
    case 'array': {
      if (!isPlainObject(obj['items'])) {
        throw invalid(
          `${where}: an array type needs \`items\` as a type object, found ${JSON.stringify(obj['items'])}`
        );
      }
      return { type: 'array', items: parseValueType(obj['items'], `${where} items`) };
    }
    case 'object': {
      const props = obj['properties'];
      if (!isPlainObject(props)) {
        throw invalid(
          `${where}: an object type needs \`properties\` as a dictionary of property JSON`
        );
      }
      const names = Object.keys(props);
      if (names.length === 0)
        throw invalid(`${where}: an object type with empty properties is not allowed`);
      const properties: Property[] = names.map((name) => {
        const p = props[name];
        if (!isPlainObject(p)) throw invalid(`${where}: property '${name}' must be a type object`);
        return {
          name,
          type: parseValueType(p, `${where} property '${name}'`),
          required: parseRequired(p['required'], `${where} property '${name}'`),
        };
      });
      return { type: 'object', properties: sortProperties(properties) };
    }
    case 'map': {
      if (!isPlainObject(obj['values'])) {
        throw invalid(
          `${where}: a map type needs \`values\` as a type object, found ${JSON.stringify(obj['values'])}`
        );
      }
      return { type: 'map', values: parseValueType(obj['values'], `${where} values`) };
    }
    case 'any':
      return { type: 'any' };
    case 'sparkml_vector':
      return { type: 'sparkml_vector' };
    default:
      throw invalid(
        `${where}: unsupported type '${type}', expected one of ${[...DataTypes, ...COMPLEX_TYPES].join(', ')}`,
        { type }
      );
  }
}

function parseRequired(value: unknown, where: string): boolean {
  // Older MLflow omitted `required`; MLflow reads a missing (or null) value as required.
  if (value === undefined || value === null) return true;
  if (typeof value !== 'boolean')
    throw invalid(`${where}: \`required\` must be true or false, found ${JSON.stringify(value)}`);
  return value;
}

/** Sorts properties by name in code-point order, as Python's `sorted` does on `str`. */
export function sortProperties(properties: Property[]): Property[] {
  return [...properties].sort((a, b) => compareCodePoints(a.name, b.name));
}

function compareCodePoints(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!.codePointAt(0)!;
    const y = cb[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}

function parseName(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw invalid(`${where}: \`name\` must be a string, found ${JSON.stringify(value)}`);
  return value;
}

/**
 * Normalises and checks a numpy dtype name for a TensorSpec.
 *
 * @param dtype - The dtype as written in the JSON.
 * @param where - Where it sits, for messages.
 * @returns The canonical numpy name.
 * @throws {ModelError} E_SIGNATURE_INVALID for sized strings (`<U5`) and unknown names.
 */
export function normalizeTensorDtype(dtype: unknown, where = 'tensor'): string {
  if (typeof dtype !== 'string')
    throw invalid(`${where}: \`dtype\` must be a string, found ${JSON.stringify(dtype)}`);
  if (SIZED_FLEXIBLE_DTYPE.test(dtype)) {
    const base = /U|str/.test(dtype) ? 'str' : 'bytes';
    throw invalid(
      `${where}: MLflow does not support size information in flexible numpy data types ('${dtype}'). Use "${base}" instead`,
      { dtype }
    );
  }
  const name = TENSOR_DTYPE_ALIASES[dtype] ?? dtype;
  if (TENSOR_DTYPES.has(name) || DATETIME_DTYPE.test(name)) return name;
  throw invalid(
    `${where}: unsupported numpy dtype '${dtype}', expected one of ${[...TENSOR_DTYPES].join(', ')}, datetime64[unit]`,
    { dtype }
  );
}

function parseTensorSpec(obj: Record<string, unknown>, where: string): TensorSpec {
  const info = obj['tensor-spec'];
  if (!isPlainObject(info) || !('dtype' in info) || !('shape' in info)) {
    throw invalid(
      `${where}: missing keys in TensorSpec JSON, expected \`tensor-spec\` with \`dtype\` and \`shape\``
    );
  }
  const shape = info['shape'];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= -1)) {
    throw invalid(
      `${where}: \`shape\` must be a list of integers (-1 for a variable dimension), found ${JSON.stringify(shape)}`
    );
  }
  const spec: TensorSpec = {
    kind: 'tensor',
    dtype: normalizeTensorDtype(info['dtype'], where),
    shape: shape as number[],
  };
  const name = parseName(obj['name'], where);
  if (name !== undefined) spec.name = name;
  return spec;
}

function parseColSpec(obj: Record<string, unknown>, where: string): ColSpec {
  const spec: ColSpec = {
    kind: 'column',
    type: parseValueType(obj, where),
    required: parseRequired(obj['required'], where),
  };
  const name = parseName(obj['name'], where);
  if (name !== undefined) spec.name = name;
  return spec;
}

/**
 * Checks MLflow's schema rules (`Schema.__init__`): non-empty, all named or all unnamed, all
 * ColSpec or all TensorSpec, at most one unnamed TensorSpec, no unnamed optional inputs, and
 * unique names.
 *
 * @param specs - The specs to check.
 * @param what - What the schema is (`inputs`, `outputs`), for messages. Default `schema`.
 * @returns The specs typed as a {@link Schema}.
 * @throws {ModelError} E_SIGNATURE_INVALID naming the broken rule.
 */
export function validateSchema(specs: readonly (ColSpec | TensorSpec)[], what = 'schema'): Schema {
  if (specs.length === 0) throw invalid(`Creating ${what} with empty inputs is not allowed.`);
  const names = specs.map((s) => s.name ?? null);
  const named = names.filter((n) => n !== null).length;
  if (named !== 0 && named !== specs.length) {
    throw invalid(
      `Creating ${what} with a combination of named and unnamed inputs is not allowed. Got input names ${JSON.stringify(names)}`,
      { names }
    );
  }
  const tensors = specs.filter((s) => s.kind === 'tensor').length;
  if (tensors !== 0 && tensors !== specs.length) {
    throw invalid(
      `Creating ${what} with a combination of ColSpec and TensorSpec is not supported. Please choose one of ColSpec or TensorSpec`
    );
  }
  if (tensors > 1 && named === 0) {
    throw invalid(
      `Creating ${what} with multiple unnamed TensorSpecs is not supported. Please provide names for each TensorSpec.`
    );
  }
  if (named === 0 && specs.some((s) => s.kind === 'column' && !s.required)) {
    throw invalid(
      `Creating ${what} with unnamed optional inputs is not supported. Please name all inputs or make all inputs required.`
    );
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (n === null) continue;
    if (seen.has(n))
      throw invalid(`Creating ${what} with duplicated input name '${n}' is not allowed.`, {
        name: n,
      });
    seen.add(n);
  }
  return specs as Schema;
}

/**
 * Parses MLflow schema JSON (`Schema.to_json()`), e.g. `[{"type": "double", "name": "x", "required": true}]`.
 *
 * @param json - The JSON text, or null.
 * @returns The schema, or null when `json` is null.
 * @throws {ModelError} E_SIGNATURE_INVALID on malformed JSON or a broken schema rule.
 */
export function parseSchema(json: string | null): Schema | null {
  if (json === null) return null;
  const raw = parseJson(json, 'Schema');
  if (!Array.isArray(raw))
    throw invalid(`Schema JSON must be a list of specs, found ${typeof raw}`, { json });
  const specs = raw.map((item, i): ColSpec | TensorSpec => {
    const where = `spec ${i}`;
    if (!isPlainObject(item))
      throw invalid(`${where}: expected an object, found ${JSON.stringify(item)}`);
    return item['type'] === 'tensor' ? parseTensorSpec(item, where) : parseColSpec(item, where);
  });
  return validateSchema(specs);
}

/**
 * Parses MLflow params JSON (`ParamSchema.to_json()`). Accepts the legacy `dtype` key.
 * Defaults are validated and converted (datetime text becomes a `Date`).
 *
 * @param json - The JSON text, or null.
 * @returns The param specs, or null when `json` is null.
 * @throws {ModelError} E_SIGNATURE_INVALID on malformed JSON, an unsupported type (`binary`),
 *   a shape other than null or [-1], a duplicated name, or a default that does not match.
 */
export function parseParams(json: string | null): ParamSpec[] | null {
  if (json === null) return null;
  const raw = parseJson(json, 'Params schema');
  if (!Array.isArray(raw))
    throw invalid(`Params schema JSON must be a list of param specs, found ${typeof raw}`, {
      json,
    });
  const seen = new Set<string>();
  return raw.map((item, i) => {
    if (!isPlainObject(item))
      throw invalid(`param ${i}: expected an object, found ${JSON.stringify(item)}`);
    const typeKey = 'type' in item ? 'type' : 'dtype';
    if (!('name' in item) || !(typeKey in item) || !('default' in item)) {
      throw invalid(
        `param ${i}: missing keys in ParamSpec JSON. Expected to find keys \`name\`, \`type\` (or \`dtype\`) and \`default\`. Received keys: ${JSON.stringify(Object.keys(item))}`
      );
    }
    const name = String(item['name']);
    const where = `param '${name}'`;
    if (seen.has(name))
      throw invalid(`Duplicated parameters found in schema: ['${name}']`, { name });
    seen.add(name);
    const typeName = item[typeKey];
    let type: ValueType;
    if (typeName === 'object') {
      type = parseValueType({ type: 'object', properties: item['properties'] }, where);
    } else if (
      typeof typeName === 'string' &&
      (DataTypes as readonly string[]).includes(typeName)
    ) {
      type = { type: typeName as DataTypeName };
    } else {
      throw invalid(
        `${where}: unsupported type '${String(typeName)}', expected one of ${DataTypes.filter((t) => t !== 'binary').join(', ')}, object`,
        { param: name }
      );
    }
    const shape = item['shape'];
    let parsedShape: null | [-1];
    if (shape === null || shape === undefined) parsedShape = null;
    else if (Array.isArray(shape) && shape.length === 1 && shape[0] === -1) parsedShape = [-1];
    else {
      throw invalid(
        `${where}: shape must be null for a scalar or [-1] for a 1D array, found ${JSON.stringify(shape)}`,
        {
          param: name,
        }
      );
    }
    return validateParamDefault({ name, type, default: item['default'], shape: parsedShape });
  });
}

/**
 * Parses the `signature` mapping of an MLmodel file, whose values are JSON strings or null.
 *
 * @param dict - The mapping `{inputs?, outputs?, params?}`, or null/undefined.
 * @returns The signature, or null when `dict` is null/undefined or holds no schema at all.
 * @throws {ModelError} E_SIGNATURE_INVALID when a value is not a string or null, or its JSON is invalid.
 */
export function parseSignature(
  dict: { inputs?: unknown; outputs?: unknown; params?: unknown } | null | undefined
): ModelSignature | null {
  if (dict === null || dict === undefined) return null;
  if (!isPlainObject(dict))
    throw invalid(`signature must be a mapping of inputs/outputs/params, found ${typeof dict}`);
  const text = (key: 'inputs' | 'outputs' | 'params'): string | null => {
    const v = dict[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string')
      throw invalid(`signature.${key} must be a JSON string or null, found ${typeof v}`);
    return v;
  };
  const inputs = withContext('inputs', () => parseSchema(text('inputs')));
  const outputs = withContext('outputs', () => parseSchema(text('outputs')));
  const params = withContext('params', () => parseParams(text('params')));
  if (inputs === null && outputs === null && params === null) return null;
  return { inputs, outputs, params };
}

function withContext<T>(key: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (
      ModelError.is(e) &&
      e.code === 'E_SIGNATURE_INVALID' &&
      !e.message.startsWith('signature.')
    ) {
      throw new ModelError('E_SIGNATURE_INVALID', `signature.${key}: ${e.message}`, {
        details: { ...e.details, key },
        cause: e,
      });
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing (Python json.dumps compatible)

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

function pyInt(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString();
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

function dumpObject(entries: [string, string][]): string {
  return '{' + entries.map(([k, v]) => `${pyJsonString(k)}: ${v}`).join(', ') + '}';
}

function typeEntries(t: ValueType): [string, string][] {
  switch (t.type) {
    case 'array':
      return [
        ['type', '"array"'],
        ['items', dumpObject(typeEntries(t.items))],
      ];
    case 'object':
      return [
        ['type', '"object"'],
        [
          'properties',
          dumpObject(
            sortProperties(t.properties).map((p) => [
              p.name,
              dumpObject([...typeEntries(p.type), ['required', String(p.required)]]),
            ])
          ),
        ],
      ];
    case 'map':
      return [
        ['type', '"map"'],
        ['values', dumpObject(typeEntries(t.values))],
      ];
    default:
      return [['type', pyJsonString(t.type)]];
  }
}

function specEntries(spec: ColSpec | TensorSpec): [string, string][] {
  if (spec.kind === 'tensor') {
    const info = dumpObject([
      ['dtype', pyJsonString(spec.dtype)],
      ['shape', '[' + spec.shape.map((d) => pyInt(d)).join(', ') + ']'],
    ]);
    const entries: [string, string][] = [];
    if (spec.name !== undefined) entries.push(['name', pyJsonString(spec.name)]);
    entries.push(['type', '"tensor"'], ['tensor-spec', info]);
    return entries;
  }
  const entries = typeEntries(spec.type);
  if (spec.name !== undefined) entries.push(['name', pyJsonString(spec.name)]);
  entries.push(['required', String(spec.required)]);
  return entries;
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

function paramEntries(p: ParamSpec): [string, string][] {
  const entries: [string, string][] = [
    ['name', pyJsonString(p.name)],
    ['default', pyJsonValue(p.default, p.type)],
    ['shape', p.shape === null ? 'null' : '[-1]'],
  ];
  if (p.type.type === 'object') entries.push(...typeEntries(p.type));
  else entries.push(['type', pyJsonString(p.type.type)]);
  return entries;
}

/**
 * Writes a schema as MLflow's `Schema.to_json()` does, byte for byte.
 *
 * @param schema - The schema.
 * @returns The JSON text.
 */
export function schemaToJson(schema: Schema): string {
  return (
    '[' +
    (schema as (ColSpec | TensorSpec)[]).map((s) => dumpObject(specEntries(s))).join(', ') +
    ']'
  );
}

/**
 * Writes param specs as MLflow's `ParamSchema.to_json()` does, byte for byte (datetime defaults
 * as Python `isoformat()` text).
 *
 * @param params - The param specs.
 * @returns The JSON text.
 */
export function paramsToJson(params: ParamSpec[]): string {
  return '[' + params.map((p) => dumpObject(paramEntries(p))).join(', ') + ']';
}

/**
 * Writes a signature as the MLmodel `signature` mapping (`ModelSignature.to_dict()`).
 *
 * @param sig - The signature.
 * @returns `{inputs, outputs, params}`, each JSON text or null.
 */
export function signatureToDict(sig: ModelSignature): {
  inputs: string | null;
  outputs: string | null;
  params: string | null;
} {
  return {
    inputs: sig.inputs === null ? null : schemaToJson(sig.inputs),
    outputs: sig.outputs === null ? null : schemaToJson(sig.outputs),
    params: sig.params === null ? null : paramsToJson(sig.params),
  };
}
