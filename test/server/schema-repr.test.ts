// MLflow's repr() of schemas, as its enforcement message quotes them
// (`mlflow/types/schema.py` __repr__ of ColSpec, Array, Object, Map, AnyType, TensorSpec).
import { describe, expect, it } from 'vitest';
import { schemaRepr } from '../../src/server/schema-repr.js';
import type { ColSpec, TensorSpec } from '../../src/signature/types.js';

describe('schemaRepr', () => {
  it('column specs: names quoted, required/optional, nested types', () => {
    const specs: ColSpec[] = [
      {
        kind: 'column',
        name: 'a',
        type: { type: 'array', items: { type: 'string' } },
        required: true,
      },
      { kind: 'column', name: 'b', type: { type: 'string' }, required: false },
      {
        kind: 'column',
        name: 'c',
        type: {
          type: 'object',
          properties: [
            { name: 'd', type: { type: 'string' }, required: true },
            { name: 'e', type: { type: 'string' }, required: false },
          ],
        },
        required: true,
      },
      {
        kind: 'column',
        name: "it's",
        type: { type: 'map', values: { type: 'string' } },
        required: true,
      },
      { kind: 'column', name: 'any', type: { type: 'any' }, required: false },
    ];
    // The first three are MLflow's own example (docs: "Failed to enforce schema of data ...").
    expect(schemaRepr(specs)).toBe(
      "['a': Array(string) (required), 'b': string (optional), 'c': {d: string (required), " +
        'e: string (optional)} (required), "it\'s": Map(str -> DataType.string) (required), ' +
        "'any': Any (optional)]"
    );
  });

  it('unnamed columns and tensors', () => {
    expect(schemaRepr([{ kind: 'column', type: { type: 'double' }, required: true }])).toBe(
      '[double (required)]'
    );
    const tensors: TensorSpec[] = [{ kind: 'tensor', dtype: 'float32', shape: [-1, 28, 28] }];
    expect(schemaRepr(tensors)).toBe("[Tensor('float32', (-1, 28, 28))]");
    expect(schemaRepr([{ kind: 'tensor', name: 't', dtype: 'int64', shape: [-1] }])).toBe(
      "['t': Tensor('int64', (-1,))]"
    );
  });
});
