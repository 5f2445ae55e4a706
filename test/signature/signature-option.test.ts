import { describe, expect, it } from 'vitest';
import { signatureOption } from '../../src/signature/signature-option.js';
import type { ModelSignature } from '../../src/signature/types.js';
import { col } from '../util/col-spec.js';
import { errorOf } from '../util/model-error.js';

const typed: ModelSignature = {
  inputs: [col('x', 'double'), col('tag', 'string', false)],
  outputs: [col(undefined, 'double')],
  params: [{ name: 'k', type: { type: 'long' }, default: 3, shape: null }],
};
const mlflow = {
  inputs:
    '[{"type": "double", "name": "x", "required": true}, {"type": "string", "name": "tag", "required": false}]',
  outputs: '[{"type": "double", "required": true}]',
  params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]',
};

describe('signatureOption: the three forms', () => {
  it('reads jsfunc typed specs, MLflow JSON strings and MLflow JSON arrays alike', () => {
    const fromTyped = signatureOption(typed);
    expect(fromTyped).toEqual(typed);
    expect(signatureOption(mlflow)).toEqual(fromTyped);
    const arrays = {
      inputs: JSON.parse(mlflow.inputs) as unknown,
      outputs: JSON.parse(mlflow.outputs) as unknown,
      params: JSON.parse(mlflow.params) as unknown,
    };
    expect(signatureOption(arrays)).toEqual(fromTyped);
  });

  it('fills missing parts with null; null, undefined and an empty dict give no signature', () => {
    expect(signatureOption({ inputs: typed.inputs })).toEqual({
      inputs: typed.inputs,
      outputs: null,
      params: null,
    });
    expect(signatureOption({ outputs: mlflow.outputs })?.inputs).toBeNull();
    expect(signatureOption(null)).toBeNull();
    expect(signatureOption(undefined)).toBeNull();
    expect(signatureOption({})).toBeNull();
  });
});

describe('signatureOption: refusals are E_SIGNATURE_INVALID naming the option', () => {
  it.each([
    [42, /options\.signature must be an object \{inputs, outputs, params\}.*found a number/],
    [[typed.inputs], /found a list/],
    [{ input: mlflow.inputs }, /unknown key\(s\) "input"; expected inputs, outputs, params/],
    [
      { inputs: 5 },
      /options\.signature\.inputs must be a list of specs, MLflow schema JSON text, or null; found a number/,
    ],
    [{ inputs: typed.inputs, outputs: mlflow.outputs }, /mixes jsfunc specs and MLflow JSON/],
    [{ inputs: [typed.inputs?.[0], { type: 'double', name: 'y' }] }, /inputs mixes jsfunc specs/],
    [
      { inputs: '[{"type": "nope", "name": "x"}]' },
      /options\.signature: signature\.inputs: spec 0: unsupported type 'nope'/,
    ],
    [{ inputs: '[{"type": "double"' }, /signature\.inputs: Schema is not valid JSON/],
    [{ inputs: [{ kind: 'column', name: 'x' }] }, /options\.signature is not a valid signature/],
  ])('%j', (value, text) => {
    const error = errorOf(() => signatureOption(value));
    expect(error.code).toBe('E_SIGNATURE_INVALID');
    expect(error.message).toMatch(text);
    expect(error.details['option']).toBe('options.signature');
  });

  it('refuses a typed signature nested 100,000 levels deep without a RangeError', () => {
    let type: Record<string, unknown> = { type: 'double' };
    for (let i = 0; i < 100_000; i++) type = { type: 'array', items: type };
    const error = errorOf(() =>
      signatureOption({ inputs: [{ kind: 'column', name: 'x', type, required: true }] })
    );
    expect(error.message).toBe('options.signature nests deeper than 100 levels');
  });

  it('turns a throwing getter of the caller object into a coded error', () => {
    const value = {
      get inputs(): never {
        throw new Error('getter boom');
      },
    };
    const error = errorOf(() => signatureOption(value, 'sig'));
    expect(error.code).toBe('E_SIGNATURE_INVALID');
    expect(error.message).toBe('sig is not a valid signature: getter boom');
  });
});
