/**
 * Fuzzing the signature readers: schema and params JSON (edited real ones, and arbitrary JSON),
 * the MLmodel `signature` mapping, and `saveModel`'s signature option with any value. Every
 * outcome is a value or a coded ModelError, quickly; what was read can be written back.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  paramsToJson,
  parseParams,
  parseSchema,
  parseSignature,
  schemaToJson,
  signatureToDict,
} from '../../src/signature/schema-json.js';
import { signatureOption } from '../../src/signature/signature-option.js';
import { MLFLOW_MODELS } from '../fixtures/package/paths.js';
import { budget, holds, mutate, mutations, valueOrCoded } from './fuzz-helpers.js';

/** Signature JSON of the MLflow fixtures, and jsfunc's own with every kind of type. */
const SCHEMAS: string[] = [];
const PARAMS: string[] = [
  '[{"name": "k", "default": 3, "shape": null, "type": "long"}, {"name": "xs", "default": [1.5, 2.0], "shape": [-1], "type": "double"}]',
  '[{"name": "when", "default": "2024-01-01T00:00:00", "shape": null, "type": "datetime"}, {"name": "o", "default": {"a": 1}, "shape": null, "type": "object", "properties": {"a": {"type": "long", "required": true}}}]',
];
for (const name of readdirSync(MLFLOW_MODELS).sort()) {
  const raw = parseYaml(readFileSync(join(MLFLOW_MODELS, name, 'MLmodel'), 'utf8')) as {
    signature?: Record<string, unknown>;
  };
  for (const [key, value] of Object.entries(raw.signature ?? {})) {
    if (typeof value !== 'string') continue;
    (key === 'params' ? PARAMS : SCHEMAS).push(value);
  }
}
SCHEMAS.push(
  '[{"type": "array", "items": {"type": "object", "properties": {"a": {"type": "map", "values": {"type": "double"}, "required": false}, "b": {"type": "binary", "required": true}}}, "name": "nested", "required": true}, {"type": "any", "name": "whatever", "required": false}]',
  '[{"name": "t", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]',
  '[{"type": "sparkml_vector", "name": "v", "required": true}, {"type": "datetime", "required": true}]'
);

const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\u0000',
  '"type": ',
  '"array"',
  '"items": {"type": "double"}',
  '"object"',
  '"properties": {}',
  '"properties": {"a": {"type": "long"}}',
  '"map"',
  '"values": ',
  '"tensor"',
  '"tensor-spec": {"dtype": "int8", "shape": [-1]}',
  '"dtype": "object"',
  '"shape": [-1, -1]',
  '"shape": [1e400]',
  '"required": null',
  '"required": "yes"',
  '"name": 5',
  '"name": "x"',
  '"default": ',
  '"datetime"',
  '"2024-13-45T99:00:00"',
  '"binary"',
  '"any"',
  'null',
  'true',
  '-1',
  '1e309',
  '9007199254740993',
  '[[[[[[[[[[[[[[[[[[[[',
  '{"a": {"a": {"a": {"a":',
];

describe('fuzz: signature and params JSON', () => {
  it('parseSchema / parseParams on edited real JSON; what is read is written back', () => {
    holds(
      fc.property(fc.constantFrom(...SCHEMAS, ...PARAMS), mutations(JSON_TOKENS), (seed, edits) => {
        const text = mutate(seed, edits);
        const schema = valueOrCoded(() => parseSchema(text), text);
        if (schema) valueOrCoded(() => parseSchema(schemaToJson(schema)), text);
        const params = valueOrCoded(() => parseParams(text), text);
        if (params) valueOrCoded(() => parseParams(paramsToJson(params)), text);
        valueOrCoded(() => parseSignature({ inputs: text, outputs: text, params: text }), text);
      }),
      budget(400)
    );
  });

  it('valid signature JSON nested up to 200,000 levels, in every place nesting can go', () => {
    const deep: ((n: number) => string)[] = [
      // Array types of array types...
      (n) =>
        `[{"name": "a", ${'{"type": "array", "items": '.repeat(n).slice(1)}{"type": "double"}${'}'.repeat(n)}]`,
      // ...object properties of objects...
      (n) =>
        `[{"name": "o", "type": "object", "properties": ${'{"p": {"type": "object", "properties": '.repeat(n)}{"q": {"type": "long"}}${'}}'.repeat(n)}}]`,
      // ...a param default, and any JSON value where a spec should be.
      (n) =>
        `[{"name": "p", "type": "double", "default": ${'['.repeat(n)}1${']'.repeat(n)}, "shape": [-1]}]`,
      (n) => `[${'['.repeat(n)}${']'.repeat(n)}]`,
      (n) =>
        `[{"name": "t", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": ${'['.repeat(n)}${']'.repeat(n)}}}]`,
    ];
    holds(
      fc.property(
        fc.integer({ min: 0, max: deep.length - 1 }),
        fc.integer({ min: 1, max: 200_000 }),
        (which, depth) => {
          const text = deep[which]!(depth);
          valueOrCoded(() => parseSchema(text), text);
          valueOrCoded(() => parseParams(text), text);
          valueOrCoded(() => parseSignature({ inputs: text }), text);
        }
      ),
      budget(30)
    );
  });

  it('parseSchema / parseParams on arbitrary JSON values', () => {
    holds(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        valueOrCoded(() => parseSchema(text), text);
        valueOrCoded(() => parseParams(text), text);
        valueOrCoded(() => parseSchema(JSON.stringify([value])), text);
        valueOrCoded(
          () => parseParams(JSON.stringify([{ name: 'p', ...(value as object) }])),
          text
        );
      }),
      budget(400)
    );
  });

  it('the MLmodel signature mapping and the saveModel signature option with any value', () => {
    holds(
      fc.property(
        fc.oneof(
          fc.anything({ maxDepth: 4 }),
          fc.record(
            {
              inputs: fc.oneof(fc.constantFrom(...SCHEMAS), fc.jsonValue({ maxDepth: 4 })),
              outputs: fc.oneof(fc.constantFrom(...SCHEMAS), fc.constant(null)),
              params: fc.oneof(fc.constantFrom(...PARAMS), fc.anything({ maxDepth: 3 })),
            },
            { requiredKeys: [] }
          )
        ),
        (value) => {
          const sig = valueOrCoded(() => parseSignature(value as never), value);
          if (sig) valueOrCoded(() => parseSignature(signatureToDict(sig)), value);
          const option = valueOrCoded(() => signatureOption(value), value);
          if (option) valueOrCoded(() => signatureOption(signatureToDict(option)), value);
        }
      ),
      budget(400)
    );
  });
});
