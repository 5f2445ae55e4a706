/**
 * Questions about a {@link Schema}, mirroring MLflow's `Schema` methods (`is_tensor_spec`,
 * `has_input_names`, `input_names`, `required_input_names`, `optional_input_names`).
 *
 * @module
 */

import type { ColSpec, Schema, TensorSpec, ValueType } from './types.js';

function specs(s: Schema): readonly (ColSpec | TensorSpec)[] {
  return s;
}

/**
 * Whether the schema is made of TensorSpecs (MLflow `is_tensor_spec`).
 *
 * @param s - The schema.
 * @returns True for a tensor-based schema.
 */
export function isTensorSchema(s: Schema): s is TensorSpec[] {
  return s.length > 0 && s[0]!.kind === 'tensor';
}

/**
 * Whether the schema declares names (MLflow `has_input_names`).
 *
 * @param s - The schema.
 * @returns True when the specs are named.
 */
export function isNamedSchema(s: Schema): boolean {
  return s.length > 0 && s[0]!.name !== undefined;
}

/**
 * The input names, or the indices `"0".."n-1"` as strings when the schema is unnamed.
 *
 * @param s - The schema.
 * @returns One name per spec, in schema order.
 */
export function inputNames(s: Schema): string[] {
  return specs(s).map((x, i) => x.name ?? String(i));
}

function isRequired(x: ColSpec | TensorSpec): boolean {
  return x.kind === 'tensor' || x.required;
}

/**
 * Names (or indices) of the required inputs; TensorSpecs are always required.
 *
 * @param s - The schema.
 * @returns The names, in schema order.
 */
export function requiredInputNames(s: Schema): string[] {
  return specs(s).flatMap((x, i) => (isRequired(x) ? [x.name ?? String(i)] : []));
}

/**
 * Names (or indices) of the optional inputs.
 *
 * @param s - The schema.
 * @returns The names, in schema order.
 */
export function optionalInputNames(s: Schema): string[] {
  return specs(s).flatMap((x, i) => (isRequired(x) ? [] : [x.name ?? String(i)]));
}

/**
 * A short human-readable form of a value type for messages: `double`, `array<string>`,
 * `map<string, long>`, `object<a: string, b?: double>` (`?` marks an optional property).
 *
 * @param t - The value type.
 * @returns The description.
 */
export function describeValueType(t: ValueType): string {
  switch (t.type) {
    case 'array':
      return `array<${describeValueType(t.items)}>`;
    case 'map':
      return `map<string, ${describeValueType(t.values)}>`;
    case 'object':
      return `object<${t.properties
        .map((p) => `${p.name}${p.required ? '' : '?'}: ${describeValueType(p.type)}`)
        .join(', ')}>`;
    default:
      return t.type;
  }
}
