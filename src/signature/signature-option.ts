/**
 * The `signature` option of `saveModel` / `saveOnnxModel`, in whichever form the caller has.
 *
 * Decision: accept, not reject, MLflow's own form. A signature copied from an MLmodel file or
 * from Python's `ModelSignature.to_dict()` is `{inputs: '<json>', outputs: '<json>', params:
 * '<json>'}` (JSON strings); before this it failed deep inside serialization with
 * `E_SAVE_FAILED` wrapping a `TypeError`. Three forms are read, the same ones `jsfunc save
 * --signature FILE` reads:
 *
 * 1. jsfunc's typed form, a {@link ModelSignature} (`inputs` / `outputs` arrays of specs with
 *    `kind`, `params` specs whose `type` is an object), as `inferSignature` returns;
 * 2. MLflow's MLmodel form, each part a JSON string (or null);
 * 3. MLflow's form with each part as the parsed JSON array instead of a string.
 *
 * Every part is checked as MLflow checks it when reading the package back, so what `saveModel`
 * writes always loads: a typed signature is written to MLflow JSON and read again.
 *
 * @module
 */
import { ModelError } from '../errors.js';
import { MAX_NESTING_DEPTH, valueTooDeep } from './nesting-depth.js';
import { parseSignature, signatureToDict } from './schema-json.js';
import type { ModelSignature } from './types.js';

/** MLflow's signature dictionary, as an MLmodel file holds it: each part a JSON string or null. */
export interface MlflowSignatureDict {
  /** Input schema JSON (`Schema.to_json()`), or null. */
  inputs?: string | null;
  /** Output schema JSON, or null. */
  outputs?: string | null;
  /** Params schema JSON (`ParamSchema.to_json()`), or null. */
  params?: string | null;
}

/** A signature in any form {@link signatureOption} reads. */
export type SignatureInput = ModelSignature | MlflowSignatureDict;

const PARTS = ['inputs', 'outputs', 'params'] as const;

type Form = 'absent' | 'empty' | 'typed' | 'text' | 'json';

/** Which form one part is in; throws for anything else. */
function formOf(part: (typeof PARTS)[number], v: unknown, option: string): Form {
  if (v === undefined || v === null) return 'absent';
  if (typeof v === 'string') return 'text';
  if (!Array.isArray(v)) {
    throw fail(
      `${option}.${part} must be a list of specs, MLflow schema JSON text, or null; found ${kindOf(v)}`,
      option
    );
  }
  if (v.length === 0) return 'empty';
  const typed = (s: unknown): boolean =>
    typeof s === 'object' &&
    s !== null &&
    (part === 'params'
      ? typeof (s as { type?: unknown }).type === 'object'
      : typeof (s as { kind?: unknown }).kind === 'string');
  const first = typed(v[0]);
  if (v.some((s) => typed(s) !== first)) {
    throw fail(
      `${option}.${part} mixes jsfunc specs (with "kind") and MLflow JSON specs; use one form`,
      option
    );
  }
  return first ? 'typed' : 'json';
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function fail(message: string, option: string, cause?: unknown): ModelError {
  return new ModelError('E_SIGNATURE_INVALID', message, { details: { option }, cause });
}

/**
 * Reads a signature option in any of the forms of the module comment.
 *
 * @param value - The option's value.
 * @param option - The option's name, for messages; default `options.signature`.
 * @returns The typed signature (parts not given are null), or null for null/undefined or a
 *   signature without any part.
 * @throws {ModelError} E_SIGNATURE_INVALID naming the option and the part: not an object, an
 *   unknown key, a part of no known form, forms mixed, nesting deeper than
 *   {@link MAX_NESTING_DEPTH} levels, or a schema MLflow would refuse.
 */
export function signatureOption(
  value: unknown,
  option = 'options.signature'
): ModelSignature | null {
  try {
    return readSignatureOption(value, option);
  } catch (cause) {
    // Errors of this module already name the option; others come from the schema readers
    // (E_SIGNATURE_INVALID naming the spec) or from the caller's objects (a throwing getter).
    if (ModelError.is(cause) && cause.details['option'] === option) throw cause;
    if (ModelError.is(cause) && cause.code === 'E_SIGNATURE_INVALID')
      throw fail(`${option}: ${cause.message}`, option, cause);
    const message = cause instanceof Error ? cause.message : String(cause);
    throw fail(`${option} is not a valid signature: ${message}`, option, cause);
  }
}

function readSignatureOption(value: unknown, option: string): ModelSignature | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw fail(
      `${option} must be an object {inputs, outputs, params}: jsfunc specs (as inferSignature ` +
        `returns) or MLflow JSON strings (as an MLmodel file holds); found ${kindOf(value)}`,
      option
    );
  }
  const dict = value as Record<string, unknown>;
  const unknown = Object.keys(dict).filter((k) => !(PARTS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw fail(
      `${option} has unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; expected inputs, outputs, params`,
      option
    );
  }
  if (valueTooDeep(dict, MAX_NESTING_DEPTH))
    throw fail(`${option} nests deeper than ${MAX_NESTING_DEPTH} levels`, option);
  const forms = PARTS.map((p) => formOf(p, dict[p], option));
  if (forms.includes('typed')) {
    if (forms.includes('text') || forms.includes('json')) {
      throw fail(
        `${option} mixes jsfunc specs and MLflow JSON; give every part in one form`,
        option
      );
    }
    const sig: ModelSignature = {
      inputs: (dict['inputs'] ?? null) as ModelSignature['inputs'],
      outputs: (dict['outputs'] ?? null) as ModelSignature['outputs'],
      params: (dict['params'] ?? null) as ModelSignature['params'],
    };
    // Written and read back as the package will be: the same rules as a later load.
    parseSignature(signatureToDict(sig));
    return sig;
  }
  const text: MlflowSignatureDict = {};
  for (const [i, p] of PARTS.entries()) {
    const v = dict[p];
    text[p] = forms[i] === 'absent' ? null : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return parseSignature(text);
}
