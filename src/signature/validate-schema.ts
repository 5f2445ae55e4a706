/**
 * MLflow's schema rules (`Schema.__init__`), checked on every parsed or inferred schema.
 *
 * @module
 */
import { invalid } from './signature-invalid.js';
import type { ColSpec, Schema, TensorSpec } from './types.js';

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
