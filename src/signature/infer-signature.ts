/**
 * Signature inference from example data, like MLflow's `infer_signature`
 * (`mlflow/models/signature.py`, `_infer_schema` and `_infer_param_schema` in
 * `mlflow/types/utils.py`).
 *
 * @module
 */

import { isArrowRecordBatch, isArrowTable, isArrowVector } from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { valueTypeFor } from './arrow-types.js';
import { describeJsValue, validateParamDefault } from './enforce-params.js';
import { describeValueType } from './schema.js';
import { sortProperties, validateSchema } from './schema-json.js';
import type { ColSpec, ModelSignature, ParamSpec, Property, Schema, ValueType } from './types.js';

// ---------------------------------------------------------------------------------------------
// Options

/** Options of {@link inferSignature} and {@link inferSchema}. */
export interface InferSignatureOptions {
  /**
   * The type of plain JS numbers in a column (or array items, object properties, map values)
   * that holds only whole numbers. Default `'double'`.
   *
   * - `'double'`: a JS `number` is a float64, so `1` is stored like `1.5` and the column is
   *   `double`, whatever the example's values happen to be. The model receives a
   *   `Float64Array`, and tables built from JS numbers (`tableFromArrays`, Float64) fit it.
   * - `'long'`: MLflow's Python rule (a Python `int` infers `long`). The model receives a
   *   `BigInt64Array` (values are `bigint`), and Float64 data is refused for the column, as
   *   MLflow refuses float64 -> int64; choose it when the data to score holds int64 columns
   *   (Parquet written by pandas, Arrow Int64).
   *
   * `bigint` values always infer `long`, fractional numbers and NaN always `double`; typed
   * arrays and Arrow data keep their own types (`Int32Array` -> integer, Int64 -> long), and
   * params are unaffected (an integral param is `long`, and params stay JS numbers).
   */
  integers?: 'double' | 'long';
}

type FilledOptions = Required<InferSignatureOptions>;

function fillOptions(options: InferSignatureOptions | undefined): FilledOptions {
  const integers = options?.integers ?? 'double';
  if (integers !== 'double' && integers !== 'long') {
    throw new ModelError(
      'E_OPTION_INVALID',
      `options.integers must be 'double' or 'long', got ${describeJsValue(integers)}`,
      { details: { option: 'integers' } }
    );
  }
  return { integers };
}

// ---------------------------------------------------------------------------------------------
// Plain JS values

function invalid(message: string, details: Record<string, unknown> = {}): ModelError {
  return new ModelError('E_SIGNATURE_INVALID', message, { details });
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `[object Float32Array]` works across realms and for Node Buffers (`Uint8Array`). */
function tag(x: unknown): string {
  return Object.prototype.toString.call(x).slice(8, -1);
}

const TYPED_ARRAY_TYPES: Record<string, ValueType> = {
  Int8Array: { type: 'integer' },
  Int16Array: { type: 'integer' },
  Int32Array: { type: 'integer' },
  Uint8Array: { type: 'integer' },
  Uint8ClampedArray: { type: 'integer' },
  Uint16Array: { type: 'integer' },
  Uint32Array: { type: 'long' },
  BigInt64Array: { type: 'long' },
  BigUint64Array: { type: 'long' },
  Float32Array: { type: 'float' },
  Float64Array: { type: 'double' },
};

/** The element type of a typed array (numpy's table: uint32 → long, float32 → float, ...). */
function typedArrayElementType(x: unknown): ValueType | null {
  return ArrayBuffer.isView(x) ? (TYPED_ARRAY_TYPES[tag(x)] ?? null) : null;
}

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * Accumulates the type of many values. One kind per accumulator: values of different kinds are
 * an error (MLflow: "Expected all values in list to be of same type").
 */
class TypeAcc {
  private kind: string | null = null;
  private fixed: ValueType | null = null;
  private hasFraction = false;
  private hasBigint = false;
  private items: TypeAcc | null = null;
  private mapValues: TypeAcc | null = null;
  private props: Map<string, { acc: TypeAcc; present: number }> | null = null;
  private objects = 0;
  missing = 0;
  present = 0;

  constructor(
    private readonly where: string,
    private readonly options: FilledOptions
  ) {}

  /** The type of the numbers seen: bigint -> long, fractions/NaN -> double, else the option. */
  private numberType(): 'long' | 'double' {
    if (this.hasBigint) return 'long';
    if (this.hasFraction) return 'double';
    return this.options.integers;
  }

  add(v: unknown): void {
    if (isMissing(v)) {
      this.missing++;
      // NaN is pandas' missing value in a float column: the column stays double.
      if (typeof v === 'number') this.hasFraction = true;
      return;
    }
    this.present++;
    if (typeof v === 'number' || typeof v === 'bigint') {
      this.setKind('number', v);
      if (typeof v === 'bigint') this.hasBigint = true;
      else if (!Number.isInteger(v)) this.hasFraction = true;
      if (this.hasBigint && this.hasFraction) {
        throw invalid(
          `${this.where}: values mix bigint and fractional numbers; expected all values of one type`
        );
      }
    } else if (typeof v === 'boolean') this.setKind('boolean', v);
    else if (typeof v === 'string') this.setKind('string', v);
    else if (v instanceof Date) this.setKind('datetime', v);
    else if (tag(v) === 'Uint8Array' || tag(v) === 'ArrayBuffer') this.setKind('binary', v);
    else if (typedArrayElementType(v) !== null)
      this.setFixed({ type: 'array', items: typedArrayElementType(v)! }, v);
    else if (Array.isArray(v)) {
      this.setKind('array', v);
      this.items ??= new TypeAcc(`${this.where} items`, this.options);
      for (const x of v) this.items.add(x);
    } else if (v instanceof Map) {
      this.setKind('map', v);
      this.mapValues ??= new TypeAcc(`${this.where} values`, this.options);
      for (const [k, x] of v as Map<unknown, unknown>) {
        if (typeof k !== 'string')
          throw invalid(`${this.where}: map keys must be strings, found ${describeJsValue(k)}`);
        this.mapValues.add(x);
      }
    } else if (isPlainObject(v)) {
      this.setKind('object', v);
      this.objects++;
      this.props ??= new Map();
      for (const [k, x] of Object.entries(v)) {
        let p = this.props.get(k);
        if (p === undefined) {
          p = { acc: new TypeAcc(`${this.where} property '${k}'`, this.options), present: 0 };
          this.props.set(k, p);
        }
        p.acc.add(x);
        if (!isMissing(x)) p.present++;
      }
    } else {
      throw invalid(`${this.where}: cannot infer an MLflow type for ${describeJsValue(v)}`);
    }
  }

  private kindName(): string {
    if (this.kind === 'fixed' && this.fixed !== null) return describeValueType(this.fixed);
    if (this.kind === 'number') return this.numberType();
    return this.kind ?? 'nothing';
  }

  private setKind(kind: string, v: unknown): void {
    if (this.kind === null) this.kind = kind;
    else if (this.kind !== kind) {
      throw invalid(
        `${this.where}: values have mixed types (${this.kindName()} and ${describeJsValue(v)}); expected all values of one type`,
        { where: this.where }
      );
    }
  }

  private setFixed(t: ValueType, v: unknown): void {
    this.setKind('fixed', v);
    if (this.fixed === null) this.fixed = t;
    else if (describeValueType(this.fixed) !== describeValueType(t)) {
      throw invalid(
        `${this.where}: values have mixed types (${describeValueType(this.fixed)} and ${describeValueType(t)})`
      );
    }
  }

  /** The inferred type, or null when no value was present. */
  result(): ValueType | null {
    switch (this.kind) {
      case null:
        return null;
      case 'number':
        return { type: this.numberType() };
      case 'fixed':
        return this.fixed;
      case 'array':
        return { type: 'array', items: this.items?.result() ?? { type: 'any' } };
      case 'map':
        return { type: 'map', values: this.mapValues?.result() ?? { type: 'any' } };
      case 'object': {
        const properties: Property[] = [
          ...(this.props ?? new Map<string, { acc: TypeAcc; present: number }>()),
        ].map(([name, p]) => ({
          name,
          type: p.acc.result() ?? { type: 'any' },
          required: p.present === this.objects,
        }));
        if (properties.length === 0)
          throw invalid(`${this.where}: cannot infer an object type from empty objects`);
        return { type: 'object', properties: sortProperties(properties) };
      }
      default:
        return { type: this.kind as 'boolean' | 'string' | 'datetime' | 'binary' };
    }
  }
}

function columnFromValues(
  values: Iterable<unknown>,
  where: string,
  name: string | undefined,
  options: FilledOptions
): ColSpec {
  const acc = new TypeAcc(where, options);
  for (const v of values) acc.add(v);
  const type = acc.result();
  const spec: ColSpec = {
    kind: 'column',
    type: type ?? { type: 'any' },
    required: type !== null && acc.missing === 0,
  };
  if (name !== undefined) spec.name = name;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Arrow

interface DataShape {
  nullCount: number;
  children: DataShape[];
}
interface VectorShape {
  type: DataType;
  nullCount: number;
  data: DataShape[];
}
interface FieldShape {
  name: string;
  type: DataType;
}

/** Marks struct properties optional where the Arrow child data holds nulls. */
function refineRequired(t: ValueType, arrowType: DataType, datas: DataShape[]): ValueType {
  const shape = arrowType as unknown as {
    children?: { name: string; type: DataType }[];
    dictionary?: DataType;
  };
  if (t.type === 'object' && shape.children !== undefined) {
    const properties = t.properties.map((p) => {
      const idx = shape.children!.findIndex((f) => f.name === p.name);
      const child = shape.children![idx];
      if (child === undefined) return p;
      const childDatas = datas
        .map((d) => d.children[idx])
        .filter((d): d is DataShape => d !== undefined);
      const nulls = childDatas.reduce((n, d) => n + d.nullCount, 0);
      return {
        ...p,
        type: refineRequired(p.type, child.type, childDatas),
        required: nulls === 0 && p.type.type !== 'any',
      };
    });
    return { ...t, properties };
  }
  if (t.type === 'array' && shape.children?.[0] !== undefined) {
    const childDatas = datas
      .map((d) => d.children[0])
      .filter((d): d is DataShape => d !== undefined);
    return { ...t, items: refineRequired(t.items, shape.children[0].type, childDatas) };
  }
  return t;
}

function columnFromVector(vector: VectorShape, name: string | undefined): ColSpec {
  const type = refineRequired(valueTypeFor(vector.type), vector.type, vector.data);
  const spec: ColSpec = {
    kind: 'column',
    type,
    required: vector.nullCount === 0 && type.type !== 'any',
  };
  if (name !== undefined) spec.name = name;
  return spec;
}

function withColumn<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (ModelError.is(e) && e.code === 'E_SIGNATURE_INVALID' && !e.message.startsWith('column ')) {
      throw new ModelError('E_SIGNATURE_INVALID', `column '${name}': ${e.message}`, {
        details: { ...e.details, column: name },
        cause: e,
      });
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Input forms

function isArrayLikeColumn(x: unknown): boolean {
  return Array.isArray(x) || typedArrayElementType(x) !== null || isArrowVector(x);
}

function columnFromArrayLike(
  x: unknown,
  where: string,
  name: string | undefined,
  options: FilledOptions
): ColSpec {
  if (isArrowVector(x)) return columnFromVector(x as unknown as VectorShape, name);
  const typed = typedArrayElementType(x);
  if (typed !== null) {
    const spec: ColSpec = { kind: 'column', type: typed, required: true };
    if (name !== undefined) spec.name = name;
    return spec;
  }
  return columnFromValues(x as unknown[], where, name, options);
}

/** Unnamed schemas cannot hold optional inputs (an MLflow schema rule), so they stay required. */
function unnamed(spec: ColSpec): ColSpec {
  return { ...spec, required: true };
}

/**
 * Infers a column schema from one data value. Exported for callers that only need a schema.
 *
 * @param data - An Arrow Table / RecordBatch / Vector, rows (array of plain objects), columns
 *   (object of arrays, typed arrays or Arrow Vectors), a single array or typed array (one unnamed
 *   column), a plain object of scalars (one row), or a scalar.
 * @param what - `inputs` or `outputs`, for messages.
 * @param options - see {@link InferSignatureOptions} (default: whole JS numbers infer `double`).
 * @returns The schema.
 * @throws {ModelError} E_SIGNATURE_INVALID for empty data, mixed-type columns, or unsupported values.
 * @throws {ModelError} E_OPTION_INVALID for an unknown `options.integers`.
 */
export function inferSchema(
  data: unknown,
  what = 'inputs',
  options?: InferSignatureOptions
): Schema {
  const opts = fillOptions(options);
  if (isArrowTable(data) || isArrowRecordBatch(data)) {
    const source = data as unknown as {
      schema: { fields: FieldShape[] };
      getChildAt(i: number): VectorShape | null;
    };
    const specs = source.schema.fields.map((f, i) =>
      withColumn(f.name, () => {
        const vector = source.getChildAt(i);
        if (vector === null) throw invalid(`missing data for column '${f.name}'`);
        return columnFromVector(vector, f.name);
      })
    );
    return validateSchema(specs, what);
  }
  if (isArrowVector(data) || typedArrayElementType(data) !== null) {
    return validateSchema([unnamed(columnFromArrayLike(data, what, undefined, opts))], what);
  }
  if (Array.isArray(data)) {
    if (data.length === 0) throw invalid(`Cannot infer ${what} from an empty array`);
    if (data.every(isPlainObject)) {
      const rows = data as Record<string, unknown>[];
      const names: string[] = [];
      const seen = new Set<string>();
      for (const r of rows) {
        for (const k of Object.keys(r)) {
          if (!seen.has(k)) {
            seen.add(k);
            names.push(k);
          }
        }
      }
      if (names.length === 0) throw invalid(`Cannot infer ${what} from rows without any keys`);
      return validateSchema(
        names.map((n) =>
          withColumn(n, () =>
            columnFromValues(
              rows.map((r) => (Object.hasOwn(r, n) ? r[n] : undefined)),
              `column '${n}'`,
              n,
              opts
            )
          )
        ),
        what
      );
    }
    return validateSchema([unnamed(columnFromValues(data, what, undefined, opts))], what);
  }
  if (isPlainObject(data)) {
    const entries = Object.entries(data);
    if (entries.length === 0) throw invalid(`Cannot infer ${what} from an empty object`);
    if (entries.every(([, v]) => isArrayLikeColumn(v))) {
      const lengths = entries.map(([k, v]) => [k, (v as { length: number }).length] as const);
      if (new Set(lengths.map(([, n]) => n)).size > 1) {
        throw invalid(
          `Cannot infer ${what}: columns have different lengths (${lengths.map(([k, n]) => `${k}=${n}`).join(', ')})`,
          { lengths: Object.fromEntries(lengths) }
        );
      }
      return validateSchema(
        entries.map(([k, v]) =>
          withColumn(k, () => columnFromArrayLike(v, `column '${k}'`, k, opts))
        ),
        what
      );
    }
    // A plain object that is not all columns is one row, like MLflow's dict of scalars.
    return inferSchema([data], what, opts);
  }
  if (data === null || data === undefined)
    throw invalid(`Cannot infer ${what} from ${String(data)}`);
  return validateSchema([unnamed(columnFromValues([data], what, undefined, opts))], what);
}

// ---------------------------------------------------------------------------------------------
// Params

function scalarParamType(v: unknown): ValueType | null {
  if (typeof v === 'boolean') return { type: 'boolean' };
  if (typeof v === 'number') return { type: Number.isInteger(v) ? 'long' : 'double' };
  if (typeof v === 'bigint') return { type: 'long' };
  if (typeof v === 'string') return { type: 'string' };
  if (v instanceof Date) return { type: 'datetime' };
  if (tag(v) === 'Uint8Array') return { type: 'binary' };
  return null;
}

function inferParam(name: string, value: unknown): ParamSpec {
  // A Uint8Array / Buffer value is bytes (binary, which params reject), as in row values.
  const typed = tag(value) === 'Uint8Array' ? null : typedArrayElementType(value);
  if (typed !== null) {
    return validateParamDefault({
      name,
      type: typed,
      default: Array.from(value as ArrayLike<unknown>),
      shape: [-1],
    });
  }
  if (Array.isArray(value)) {
    if (value.some((x) => Array.isArray(x) || typedArrayElementType(x) !== null)) {
      throw invalid('Expected parameters to be 1D array or scalar, got a nested array');
    }
    let type: ValueType = { type: 'double' }; // numpy infers float64 for an empty list
    if (value.length > 0) {
      const types = value.map((x) => {
        const t = scalarParamType(x);
        if (t === null)
          throw invalid(
            `Expected parameters to be 1D array or scalar, got an array holding ${describeJsValue(x)}`
          );
        return t.type;
      });
      const kinds = new Set(types);
      if (kinds.size === 1) type = { type: types[0]! } as ValueType;
      else if ([...kinds].every((k) => k === 'long' || k === 'double')) type = { type: 'double' };
      else
        throw invalid(
          `Expected all array values to be of one type, got ${[...kinds].join(' and ')}`
        );
    }
    return validateParamDefault({ name, type, default: structuredClone(value), shape: [-1] });
  }
  const scalar = scalarParamType(value);
  if (scalar !== null)
    return validateParamDefault({
      name,
      type: scalar,
      default: structuredClone(value),
      shape: null,
    });
  if (isPlainObject(value)) {
    // Params keep MLflow's rule: an integral value is `long` (params reach the model as JS
    // values, so no BigInt64Array surprise; an integral param is usually a count).
    const acc = new TypeAcc(`param '${name}'`, { integers: 'long' });
    acc.add(value);
    return validateParamDefault({
      name,
      type: acc.result()!,
      default: structuredClone(value),
      shape: null,
    });
  }
  throw invalid(`Expected parameters to be 1D array or scalar, got ${describeJsValue(value)}`);
}

/**
 * Infers param specs from example params (MLflow `_infer_param_schema`): each value becomes the
 * default; arrays get shape [-1]; keys keep their order. Integers infer `long`, other numbers
 * `double`, Dates `datetime`, plain objects `object`. Every failing param is listed in one error.
 *
 * @param params - A plain object of example params.
 * @returns The param specs.
 * @throws {ModelError} E_SIGNATURE_INVALID when params is not a plain object or a value has no
 *   param type (null, nested arrays, binary, mixed arrays).
 */
export function inferParamSpecs(params: unknown): ParamSpec[] {
  if (!isPlainObject(params)) {
    throw invalid(`Expected parameters to be a plain object, got ${describeJsValue(params)}`);
  }
  const specs: ParamSpec[] = [];
  const failures: { name: string; message: string }[] = [];
  for (const [name, value] of Object.entries(params)) {
    try {
      specs.push(inferParam(name, value));
    } catch (e) {
      if (!ModelError.is(e)) throw e;
      failures.push({ name, message: e.message });
    }
  }
  if (failures.length > 0) {
    throw invalid(
      `Failed to infer schema for parameters: ${failures.map((f) => `'${f.name}': ${f.message}`).join('; ')}`,
      { invalid: failures }
    );
  }
  return specs;
}

/**
 * Infers a model signature from example input, output and params, like MLflow's
 * `infer_signature`.
 *
 * Plain JS values infer: boolean; numbers → double (a JS `number` is a float64; pass
 * `{ integers: 'long' }` for MLflow's Python rule, where whole numbers infer `long`: see
 * {@link InferSignatureOptions}); bigint → long; string; Uint8Array/Buffer → binary;
 * Date → datetime; arrays → array<items>; typed arrays → array of their element type (as a
 * column: the element type itself); plain objects → object (properties absent or null in some
 * rows are optional); Map → map. NaN counts as missing. A named column holding null/undefined
 * is optional; an all-null column is `any` and optional. Unnamed schemas (a single array /
 * typed array / Vector) stay required, because MLflow does not allow unnamed optional inputs.
 * Arrow data keeps its own types (Int64 → long, Int32 → integer, Float64 → double, ...).
 *
 * @example
 * ```ts
 * const sig = await inferSignature([{ x: 1.5, passengers: 2, tag: 'a' }], new Float64Array([0.2]), { k: 3 });
 * // inputs  x: double, passengers: double, tag: string
 * // outputs [{"type": "double", "required": true}]
 * // params  [{"name": "k", "default": 3, "shape": null, "type": "long"}]
 * const mlflowLike = await inferSignature([{ passengers: 2 }], undefined, undefined, { integers: 'long' });
 * // inputs  passengers: long (the model then receives a BigInt64Array)
 * ```
 *
 * @param input - Example input: Arrow Table / RecordBatch (types via `valueTypeFor`; a column
 *   with nulls is optional), rows, columns, or any form {@link inferSchema} takes.
 * @param output - Example output, same forms plus a single array / typed array / Arrow Vector
 *   as one unnamed column. Omitted → `outputs: null`.
 * @param params - Example params as a plain object. Omitted → `params: null`. Integral numbers
 *   infer `long` here whatever `options.integers` says.
 * @param options - `integers`: the type of whole JS numbers in input and output data,
 *   `'double'` (default) or `'long'`.
 * @returns The signature.
 * @throws {ModelError} E_SIGNATURE_INVALID when a column mixes types, data is empty, or a
 *   value has no MLflow type.
 * @throws {ModelError} E_OPTION_INVALID for an unknown `options.integers`.
 */
export function inferSignature(
  input: unknown,
  output?: unknown,
  params?: unknown,
  options?: InferSignatureOptions
): Promise<ModelSignature> {
  // Async so that inference failures arrive as rejections (and future inputs such as danfo
  // frames, which convert asynchronously, fit the same contract).
  return new Promise((resolve) =>
    resolve({
      inputs: inferSchema(input, 'inputs', options),
      outputs: output === undefined ? null : inferSchema(output, 'outputs', options),
      params: params === undefined ? null : inferParamSpecs(params),
    })
  );
}
