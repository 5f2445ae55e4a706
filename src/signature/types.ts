/**
 * The signature type system, mirroring MLflow's `mlflow/types/schema.py`.
 *
 * Plain data (discriminated unions), so signatures can be posted to worker threads as they are.
 * JSON parsing and writing live in `schema-json.ts`; Arrow mapping in `arrow-types.ts`.
 *
 * @module
 */

/** MLflow's primitive column types (`DataType` enum). */
export const DataTypes = [
  'boolean',
  'integer',
  'long',
  'float',
  'double',
  'string',
  'binary',
  'datetime',
] as const;

/** One of MLflow's primitive column types. */
export type DataTypeName = (typeof DataTypes)[number];

/** A property of an {@link ObjectType}. */
export interface Property {
  name: string;
  type: ValueType;
  /** Defaults to true on read when the JSON omits it. */
  required: boolean;
}

/** `{"type":"array","items":...}`. */
export interface ArrayType {
  type: 'array';
  items: ValueType;
}

/** `{"type":"object","properties":{...}}`; properties are kept sorted by name, as MLflow does. */
export interface ObjectType {
  type: 'object';
  properties: Property[];
}

/** `{"type":"map","values":...}`; keys are always strings. */
export interface MapType {
  type: 'map';
  values: ValueType;
}

/** The type of a column or of a nested value. */
export type ValueType =
  | { type: DataTypeName }
  | ArrayType
  | ObjectType
  | MapType
  | { type: 'any' }
  | { type: 'sparkml_vector' };

/** A column of a column-based schema (MLflow `ColSpec`). */
export interface ColSpec {
  kind: 'column';
  /** Absent for an unnamed (positional) schema. */
  name?: string;
  type: ValueType;
  required: boolean;
}

/** A tensor of a tensor-based schema (MLflow `TensorSpec`); always required. */
export interface TensorSpec {
  kind: 'tensor';
  name?: string;
  /** numpy dtype name: bool, int8..int64, uint8..uint64, float16/32/64, str, bytes, object. */
  dtype: string;
  /** Dimensions; -1 marks a variable dimension. */
  shape: number[];
}

/** One input or output spec. */
export type Spec = ColSpec | TensorSpec;

/**
 * A schema: all column specs or all tensor specs, all named or all unnamed (MLflow's rules,
 * checked when parsing).
 */
export type Schema = ColSpec[] | TensorSpec[];

/** An inference parameter (MLflow `ParamSpec`). */
export interface ParamSpec {
  name: string;
  /** A primitive type, or `object` with properties. `binary` is not allowed. */
  type: ValueType;
  /** The default value, already validated against `type` and `shape`. */
  default: unknown;
  /** `null` for a scalar, `[-1]` for a 1-D list. */
  shape: null | [-1];
}

/** A model signature: inputs, outputs and params, each optional. */
export interface ModelSignature {
  inputs: Schema | null;
  outputs: Schema | null;
  params: ParamSpec[] | null;
}

/** Inference params passed to `predict` (already validated when they come from jsfunc). */
export type Params = Record<string, unknown>;
