/**
 * MLflow's `repr()` of an input schema (`mlflow/types/schema.py`), for the enforcement message
 * clients match on: `Failed to enforce schema of data '...' with schema '<repr>'. Error: ...`.
 *
 * `Schema.__repr__` is the Python list repr of its specs: `ColSpec` is `'name': type
 * (required)`, `DataType` its name (`double`), `Array(string)`, an Object `{a: string
 * (required), b: long (optional)}`, `Map(str -> DataType.string)` (the Map uses `str()` of its
 * value type, so a primitive shows as `DataType.<name>`), `Any`, `SparkML vector`, and a tensor
 * `Tensor('float32', (-1, 28, 28))`.
 *
 * @module
 */
import type { ColSpec, Schema, TensorSpec, ValueType } from '../signature/types.js';

/** Python's `repr(str)`: single quotes unless the text has one and no double quote. */
function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return quote === "'" ? `'${body.replace(/'/g, "\\'")}'` : `"${body}"`;
}

/** `repr()` of a value type (`str()` differs only for primitives, see {@link typeStr}). */
function typeRepr(t: ValueType): string {
  switch (t.type) {
    case 'array':
      return `Array(${typeRepr(t.items)})`;
    case 'object':
      return `{${t.properties
        .map((p) => `${p.name}: ${typeRepr(p.type)} (${p.required ? 'required' : 'optional'})`)
        .join(', ')}}`;
    case 'map':
      return `Map(str -> ${typeStr(t.values)})`;
    case 'any':
      return 'Any';
    case 'sparkml_vector':
      return 'SparkML vector';
    default:
      return t.type;
  }
}

/** `str()` of a value type: an Enum member prints as `DataType.<name>`. */
function typeStr(t: ValueType): string {
  switch (t.type) {
    case 'array':
    case 'object':
    case 'map':
    case 'any':
    case 'sparkml_vector':
      return typeRepr(t);
    default:
      return `DataType.${t.type}`;
  }
}

/** Python's tuple repr: `(-1,)`, `(-1, 28)`. */
function pyTuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(', ')})`;
}

function specRepr(spec: ColSpec | TensorSpec): string {
  if (spec.kind === 'tensor') {
    const info = `Tensor(${pyStr(spec.dtype)}, ${pyTuple(spec.shape)})`;
    return spec.name === undefined ? info : `${pyStr(spec.name)}: ${info}`;
  }
  const required = spec.required ? 'required' : 'optional';
  const type = typeRepr(spec.type);
  return spec.name === undefined
    ? `${type} (${required})`
    : `${pyStr(spec.name)}: ${type} (${required})`;
}

/**
 * Formats a schema as MLflow's `repr(schema)`.
 *
 * @param schema - an input (or output) schema
 * @returns e.g. `['x': double (required), 'tags': Array(string) (optional)]`
 */
export function schemaRepr(schema: Schema): string {
  return `[${(schema as (ColSpec | TensorSpec)[]).map(specRepr).join(', ')}]`;
}
