/**
 * The SQL signature of a model registered as a DuckDB scalar function
 * (`duckdb-function.ts`): its parameters, from the model's input signature or given by the
 * caller, and the checks on them.
 *
 * @module
 */
import { DT } from '../adapters/duckdb-bindings.js';
import { ModelError } from '../errors.js';
import type { ColSpec, ModelSignature } from '../signature/types.js';

/** A parameter of the SQL function. */
export interface DuckDBFunctionParameter {
  /** The model input it feeds. */
  name: string;
  /** Its DuckDB type: BOOLEAN, INTEGER, BIGINT, FLOAT, DOUBLE, VARCHAR, BLOB, TIMESTAMP or DATE. */
  type: string;
}

/** A parameter as registered: its name and DuckDB type id. */
export interface PlannedParameter {
  name: string;
  typeId: number;
}

const PARAM_TYPES: Readonly<Record<string, number>> = {
  boolean: DT.BOOLEAN,
  integer: DT.INTEGER,
  long: DT.BIGINT,
  float: DT.FLOAT,
  double: DT.DOUBLE,
  string: DT.VARCHAR,
  binary: DT.BLOB,
  datetime: DT.TIMESTAMP,
};

const SQL_TYPES: Readonly<Record<string, number>> = {
  BOOLEAN: DT.BOOLEAN,
  INTEGER: DT.INTEGER,
  BIGINT: DT.BIGINT,
  FLOAT: DT.FLOAT,
  DOUBLE: DT.DOUBLE,
  VARCHAR: DT.VARCHAR,
  BLOB: DT.BLOB,
  TIMESTAMP: DT.TIMESTAMP,
  DATE: DT.DATE,
};

/**
 * An E_OPTION_INVALID error naming the option.
 *
 * @param message - the message
 * @param option - the option's name
 * @returns the error
 */
export function optionError(message: string, option: string): ModelError {
  return new ModelError('E_OPTION_INVALID', message, { details: { option } });
}

/**
 * The function's parameters: `options.parameters` when given, else the input signature's
 * columns (all, or `options.inputs` in that order).
 *
 * @param inputs - the model's named column inputs, or null without a signature
 * @param options - `parameters` and `inputs` of the function's options
 * @returns the parameters, in order
 * @throws {ModelError} E_OPTION_INVALID for an unknown input, a type a parameter cannot carry,
 *   a bad `parameters` entry, or no signature and no `parameters`
 */
export function planParameters(
  inputs: readonly ColSpec[] | null,
  options: {
    parameters?: readonly DuckDBFunctionParameter[];
    inputs?: readonly string[];
  }
): PlannedParameter[] {
  if (options.parameters !== undefined) {
    return options.parameters.map((p, i) => {
      const typeId = SQL_TYPES[String(p.type).toUpperCase()];
      if (typeof p.name !== 'string' || typeId === undefined) {
        throw optionError(
          `options.parameters[${i}] must be { name, type } with type one of ${Object.keys(SQL_TYPES).join(', ')}, got ${JSON.stringify(p)}`,
          'parameters'
        );
      }
      return { name: p.name, typeId };
    });
  }
  if (inputs === null) {
    throw optionError(
      'The model has no input signature: give the SQL parameters as options.parameters ([{ name, type }, ...]).',
      'parameters'
    );
  }
  const byName = new Map(inputs.map((s) => [s.name, s]));
  const names = options.inputs ?? inputs.map((s) => s.name!);
  return names.map((name) => {
    const spec = byName.get(name);
    if (spec === undefined) {
      throw optionError(
        `options.inputs names ${name}, which is not an input of the model's signature.`,
        'inputs'
      );
    }
    const typeId = PARAM_TYPES[spec.type.type];
    if (typeId === undefined) {
      throw optionError(
        `Input ${name} has type ${JSON.stringify(spec.type)}, which a DuckDB scalar function parameter cannot carry (supported: ${Object.keys(PARAM_TYPES).join(', ')}).`,
        'inputs'
      );
    }
    return { name, typeId };
  });
}

/**
 * The named column inputs of a signature.
 *
 * @param signature - the model's signature
 * @returns its column inputs, or null when it has none
 * @throws {ModelError} E_OPTION_INVALID for a tensor or unnamed input signature
 */
export function columnInputs(signature: ModelSignature | null): readonly ColSpec[] | null {
  const inputs = signature?.inputs ?? null;
  if (inputs === null || inputs.length === 0) return null;
  if (inputs.some((s) => s.kind !== 'column' || s.name === undefined)) {
    throw optionError(
      'DuckDB scalar functions take named column inputs; this model has a tensor or unnamed input signature.',
      'model'
    );
  }
  return inputs as ColSpec[];
}
