import { describe, it, expect } from 'vitest';
import {
  describeValueType,
  inputNames,
  isNamedSchema,
  isTensorSchema,
  optionalInputNames,
  requiredInputNames,
} from '../../src/signature/schema.js';
import { parseSchema } from '../../src/signature/schema-json.js';

describe('schema helpers (Schema.input_names & co)', () => {
  const named = parseSchema(
    '[{"type": "double", "name": "a", "required": true}, {"type": "long", "name": "b", "required": false}, {"type": "string", "name": "c", "required": true}]'
  )!;
  const unnamed = parseSchema(
    '[{"type": "double", "required": true}, {"type": "long", "required": true}]'
  )!;
  const tensors = parseSchema(
    '[{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]'
  )!;

  it('splits names by required, in schema order', () => {
    expect(inputNames(named)).toEqual(['a', 'b', 'c']);
    expect(requiredInputNames(named)).toEqual(['a', 'c']);
    expect(optionalInputNames(named)).toEqual(['b']);
  });

  it('uses indices as strings for unnamed schemas', () => {
    expect(isNamedSchema(unnamed)).toBe(false);
    expect(inputNames(unnamed)).toEqual(['0', '1']);
    expect(requiredInputNames(unnamed)).toEqual(['0', '1']);
    expect(optionalInputNames(unnamed)).toEqual([]);
  });

  it('tells tensor schemas from column schemas; tensors are always required', () => {
    expect(isTensorSchema(tensors)).toBe(true);
    expect(isTensorSchema(named)).toBe(false);
    expect(isNamedSchema(tensors)).toBe(true);
    expect(requiredInputNames(tensors)).toEqual(['x']);
  });

  it('describes value types for messages', () => {
    expect(describeValueType({ type: 'double' })).toBe('double');
    expect(describeValueType({ type: 'array', items: { type: 'string' } })).toBe('array<string>');
    expect(
      describeValueType({ type: 'map', values: { type: 'array', items: { type: 'long' } } })
    ).toBe('map<string, array<long>>');
    expect(
      describeValueType({
        type: 'object',
        properties: [
          { name: 'a', type: { type: 'string' }, required: true },
          { name: 'b', type: { type: 'any' }, required: false },
        ],
      })
    ).toBe('object<a: string, b?: any>');
  });
});
