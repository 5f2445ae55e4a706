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
 * Parsing and validation live here; writing in `schema-to-json.ts` and `py-json.ts`, re-exported
 * from this module.
 *
 * @module
 */

import { ModelError } from '../errors.js';
import { validateParamDefault } from './enforce-params.js';
import { jsonTextTooDeep, MAX_NESTING_DEPTH } from './nesting-depth.js';
import { invalid } from './signature-invalid.js';
import { sortProperties } from './sort-properties.js';
import { normalizeTensorDtype } from './tensor-dtype.js';
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
import { validateSchema } from './validate-schema.js';

export { pyFloatRepr, pyJsonString, pyJsonValue } from './py-json.js';
export { paramsToJson, schemaToJson, signatureToDict } from './schema-to-json.js';
export { sortProperties } from './sort-properties.js';
export { normalizeTensorDtype } from './tensor-dtype.js';
export { validateSchema } from './validate-schema.js';

const COMPLEX_TYPES = ['array', 'object', 'map', 'any', 'sparkml_vector'] as const;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A value for an error message: JSON, cut at 80 characters, never throwing. */
function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function parseJson(json: string, what: string): unknown {
  // Before parsing: every reader below (and JSON.stringify in messages) recurses per level.
  if (jsonTextTooDeep(json)) {
    throw invalid(`${what} JSON nests deeper than ${MAX_NESTING_DEPTH} levels`, {
      limit: MAX_NESTING_DEPTH,
    });
  }
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
      `${where}: expected a type object like {"type": "double"}, found ${preview(obj)}`
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
          `${where}: an array type needs \`items\` as a type object, found ${preview(obj['items'])}`
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
          `${where}: a map type needs \`values\` as a type object, found ${preview(obj['values'])}`
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
    throw invalid(`${where}: \`required\` must be true or false, found ${preview(value)}`);
  return value;
}

function parseName(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw invalid(`${where}: \`name\` must be a string, found ${preview(value)}`);
  return value;
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
      `${where}: \`shape\` must be a list of integers (-1 for a variable dimension), found ${preview(shape)}`
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
    if (!isPlainObject(item)) throw invalid(`${where}: expected an object, found ${preview(item)}`);
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
      throw invalid(`param ${i}: expected an object, found ${preview(item)}`);
    const typeKey = 'type' in item ? 'type' : 'dtype';
    if (!('name' in item) || !(typeKey in item) || !('default' in item)) {
      throw invalid(
        `param ${i}: missing keys in ParamSpec JSON. Expected to find keys \`name\`, \`type\` (or \`dtype\`) and \`default\`. Received keys: ${preview(Object.keys(item))}`
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
        `${where}: shape must be null for a scalar or [-1] for a 1D array, found ${preview(shape)}`,
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
