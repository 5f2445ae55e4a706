/**
 * Writing MLflow's signature JSON (`Schema.to_json`, `ParamSchema.to_json`,
 * `ModelSignature.to_dict`) byte for byte, in MLflow's key order per spec kind (see
 * `./schema-json.ts`).
 *
 * @module
 */
import { dumpObject, pyInt, pyJsonString, pyJsonValue } from './py-json.js';
import { sortProperties } from './sort-properties.js';
import type { ColSpec, ModelSignature, ParamSpec, Schema, TensorSpec, ValueType } from './types.js';

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
