/**
 * Conversions between Arrow and onnxruntime tensors for the `onnx` flavor, following MLflow's
 * `_OnnxModelWrapper.predict` (`mlflow/onnx/__init__.py`) for a DataFrame input:
 *
 * - **one model input**: every column of the table is stacked into one tensor `[N, ncols]`
 *   (pandas' `DataFrame.values`), cast to the input's element type. A single tensor column (a
 *   `FixedSizeList` column, as `enforceSchema` produces for a `(-1, d1, ...)` TensorSpec) is fed
 *   as `[N, d1, ...]`; a single plain column is fed as `[N]` when the model input has rank 1,
 *   else `[N, 1]`.
 * - **several model inputs**: each input is fed from the column of the same name, `[N]` for a
 *   plain column, `[N, d1, ...]` for a tensor column (`[N, 1]` when the input is `[?, 1]`).
 * - **outputs**: one column per tensor output, named after it: rank 0 or 1 -> a plain column,
 *   rank k > 1 -> nested `FixedSizeList` columns (the inverse of the input rule). Non-tensor
 *   outputs (sequences and maps, such as skl2onnx's ZipMap probabilities) cannot be read by
 *   onnxruntime-node; the flavor leaves them out of the fetches (see `onnx.ts`).
 *
 * Casting is numeric only and never silently lossy in kind: ints and bools widen to floats,
 * float64 narrows to float32 (MLflow's `_cast_float64_to_float32`), and a float reaches an
 * integer input only when every value is integral. A column that already has the input's
 * element type and sits in one chunk is fed without a copy (onnxruntime-node reads the typed
 * array's memory directly on CPU), unless it lives in a SharedArrayBuffer (as batches that crossed
 * the worker boundary do): onnxruntime-node refuses those, so they are copied once.
 *
 * @module
 */
import {
  Bool,
  DataType,
  Field,
  FixedSizeList,
  Float16,
  Table,
  Utf8,
  Vector,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import type { Data } from 'apache-arrow';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import { arrowTypeForTensorDtype } from '../signature/arrow-types.js';
import type { ModelSignature, TensorSpec } from '../signature/types.js';

/** An onnxruntime tensor element type (`float32`, `int64`, `string`, ...). */
export type OrtElementType = OrtTensor.Type;

/** Name, element type and declared shape of one tensor input or output of a session. */
export interface OnnxTensorInfo {
  /** The graph's input/output name. */
  name: string;
  /** Element type as onnxruntime-node names it. */
  type: OrtElementType;
  /** Declared dims: numbers, or strings for symbolic / unknown dims (`''`, `'N'`). */
  shape: readonly (number | string)[];
}

/** The `Tensor` constructor of the loaded onnxruntime module (passed in: it is imported lazily). */
export type OrtTensorCtor = new (
  type: OrtElementType,
  data: OrtTensor.DataType | readonly string[] | readonly boolean[],
  dims?: readonly number[]
) => OrtTensor;

type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type NumericCtor = new (n: number) => NumericArray;

/** Typed array used for each element type (bool is a byte per value, float16 raw halves). */
const TYPED: Partial<Record<OrtElementType, NumericCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
  float16: Uint16Array,
};

/** numpy dtype names for onnxruntime element types (MLflow's TensorSpec `type`). */
const NUMPY_DTYPE: Partial<Record<OrtElementType, string>> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  string: 'str',
};

/**
 * The numpy dtype MLflow's TensorSpec uses for an onnxruntime element type.
 *
 * @param type - The onnxruntime element type.
 * @returns The dtype name (`float32`, `int64`, `str`, ...), or null when numpy has none
 *   (bfloat16, 4-bit and 8-bit float types).
 */
export function numpyDtypeFor(type: OrtElementType): string | null {
  return NUMPY_DTYPE[type] ?? null;
}

function isIntegerType(type: OrtElementType): boolean {
  return /^u?int\d+$/.test(type);
}

function mismatch(message: string, details: Record<string, unknown>): ModelError {
  return new ModelError('E_SCHEMA_MISMATCH', message, { details });
}

function formatDims(dims: readonly (number | string)[]): string {
  return `[${dims.map((d) => (typeof d === 'number' ? String(d) : d === '' ? '?' : d)).join(', ')}]`;
}

/** One table column seen as a tensor: its dims (first = rows) and its leaf chunks in order. */
interface ColumnTensor {
  dims: number[];
  leaves: Data[];
}

/** Walks `FixedSizeList` levels down to the leaf data of one chunk; nulls are refused. */
function leafOf(data: Data, column: string, dims: number[] | null): { leaf: Data; dims: number[] } {
  const shape = [data.length];
  let d = data;
  for (;;) {
    if (d.nullCount > 0) {
      throw mismatch(`Column "${column}" holds nulls; ONNX tensors cannot have missing values.`, {
        column,
      });
    }
    if (!DataType.isFixedSizeList(d.type)) break;
    shape.push(d.type.listSize);
    d = d.children[0]!;
  }
  if (
    dims !== null &&
    (dims.length !== shape.length || dims.some((x, i) => i > 0 && x !== shape[i]))
  ) {
    throw mismatch(`Column "${column}" has a different element shape in different chunks.`, {
      column,
    });
  }
  return { leaf: d, dims: shape };
}

function columnTensor(vector: Vector, column: string): ColumnTensor {
  if (DataType.isList(vector.type)) {
    throw mismatch(
      `Column "${column}" is a variable-length list (${String(vector.type)}); ONNX inputs need ` +
        'fixed-size tensor columns (give the model a tensor signature so they are checked and converted).',
      { column, found: String(vector.type) }
    );
  }
  let dims: number[] | null = null;
  const leaves: Data[] = [];
  for (const chunk of vector.data) {
    const r = leafOf(chunk, column, dims);
    dims = r.dims;
    leaves.push(r.leaf);
  }
  return { dims: [vector.length, ...(dims?.slice(1) ?? [])], leaves };
}

/** The values of one leaf chunk, `values[0]` being its first element (Arrow slices buffers). */
function leafValues(leaf: Data, column: string): ArrayLike<number | bigint | boolean | string> {
  const t = leaf.type;
  if (DataType.isInt(t) || (DataType.isFloat(t) && !(t instanceof Float16))) {
    const values = leaf.values as NumericArray;
    return values.subarray(0, leaf.length);
  }
  if (DataType.isBool(t) || DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isFloat(t)) {
    return new Vector([leaf]).toArray() as ArrayLike<boolean | string | number>;
  }
  throw mismatch(
    `Column "${column}" has type ${String(t)}; ONNX inputs take numeric, boolean or string columns.`,
    { column, found: String(t) }
  );
}

/**
 * Whether a typed array lives in a SharedArrayBuffer. onnxruntime-node rejects those with
 * "Invalid argument", and batches that crossed jsfunc's worker boundary are SAB-backed, so such
 * columns are copied once into ordinary memory.
 */
function isShared(a: NumericArray): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/**
 * Converts leaf chunks to one contiguous array of `type`, without copying when one chunk
 * already has that exact typed-array class.
 */
function castLeaves(
  leaves: readonly Data[],
  total: number,
  type: OrtElementType,
  column: string,
  input: string
): NumericArray | string[] {
  const parts = leaves.map((l) => leafValues(l, column));
  if (type === 'string') {
    const out: string[] = [];
    for (const p of parts) {
      for (let i = 0; i < p.length; i++) {
        const v = p[i];
        if (typeof v !== 'string') {
          throw mismatch(
            `Column "${column}" holds ${typeof v} values; model input "${input}" expects strings.`,
            { column, input }
          );
        }
        out.push(v);
      }
    }
    return out;
  }
  const Ctor = TYPED[type];
  if (Ctor === undefined || type === 'float16') {
    // float16 only from an Arrow Float16 column of raw halves.
    const only = leaves.length === 1 ? leaves[0]! : undefined;
    if (type === 'float16' && only !== undefined && only.type instanceof Float16) {
      const halves = (only.values as Uint16Array).subarray(0, only.length);
      return isShared(halves) ? halves.slice() : halves;
    }
    throw mismatch(
      `Model input "${input}" has element type ${type}, which jsfunc cannot build from column "${column}" ` +
        `(${leaves.map((l) => String(l.type))[0] ?? 'empty'}).`,
      { column, input, expected: type }
    );
  }
  const first = parts[0];
  if (
    parts.length === 1 &&
    first !== undefined &&
    first.constructor === Ctor &&
    type !== 'bool' &&
    !isShared(first as NumericArray)
  ) {
    return first as NumericArray;
  }
  const out = new Ctor(total);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const integral = isIntegerType(type);
  let k = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++, k++) {
      const v = p[i]!;
      if (typeof v === 'string') {
        throw mismatch(
          `Column "${column}" holds strings; model input "${input}" expects ${type}.`,
          { column, input, expected: type }
        );
      }
      if (type === 'bool') {
        out[k] = v === true || (typeof v !== 'boolean' && Number(v) !== 0) ? 1 : 0;
        continue;
      }
      if (typeof v === 'boolean') {
        out[k] = big ? (v ? 1n : 0n) : v ? 1 : 0;
      } else if (typeof v === 'bigint') {
        out[k] = big ? v : Number(v);
      } else {
        if (integral && !Number.isInteger(v)) {
          throw mismatch(
            `Column "${column}" holds the non-integer value ${v}; model input "${input}" expects ${type}.`,
            { column, input, expected: type, value: String(v) }
          );
        }
        out[k] = big ? BigInt(v) : v;
      }
    }
  }
  return out;
}

/** Checks rank and fixed dims against the declared shape (unknown dims accept any size). */
function checkShape(dims: readonly number[], info: OnnxTensorInfo, column: string): void {
  const declared = info.shape;
  if (declared.length === 0) return; // shape not recorded in the graph
  const ok =
    declared.length === dims.length &&
    declared.every((d, i) => typeof d !== 'number' || d < 0 || d === dims[i]);
  if (!ok) {
    throw mismatch(
      `Model input "${info.name}" expects shape ${formatDims(declared)}, but column${column.includes(',') ? 's' : ''} ` +
        `${column} give${column.includes(',') ? '' : 's'} shape ${formatDims(dims)}.`,
      {
        input: info.name,
        column,
        shape: dims,
        expected: declared.map((d) => (typeof d === 'number' ? d : -1)),
      }
    );
  }
}

/**
 * Builds the feeds of one `run` from a table (see the module doc for the rules).
 *
 * @param table - The model input (after signature enforcement when the package has one).
 * @param inputs - The session's tensor inputs, in graph order.
 * @param Tensor - The `Tensor` class of the loaded onnxruntime module.
 * @returns Input name -> tensor.
 * @throws {ModelError} E_SCHEMA_MISMATCH when an input's column is missing, a column has nulls,
 *   a type that cannot be cast to the input's element type, or a shape the input does not accept.
 */
export function tableToFeeds(
  table: Table,
  inputs: readonly OnnxTensorInfo[],
  Tensor: OrtTensorCtor
): Record<string, OrtTensor> {
  const names = table.schema.fields.map((f) => f.name);
  const feeds: Record<string, OrtTensor> = {};
  if (inputs.length === 1) {
    const info = inputs[0]!;
    if (names.length === 0) {
      throw mismatch(`The input table has no columns; model input "${info.name}" needs data.`, {
        input: info.name,
      });
    }
    if (names.length === 1) {
      const name = names[0]!;
      const col = columnTensor(table.getChildAt(0)!, name);
      // pandas' DataFrame.values of one column is [N, 1]; a rank-1 model input takes [N].
      const dims = col.dims.length === 1 && info.shape.length !== 1 ? [col.dims[0]!, 1] : col.dims;
      checkShape(dims, info, `"${name}"`);
      const total = dims.reduce((a, b) => a * b, 1);
      feeds[info.name] = new Tensor(
        info.type,
        castLeaves(col.leaves, total, info.type, name, info.name),
        dims
      );
      return feeds;
    }
    // Several plain columns: stacked row-major into [N, ncols], as DataFrame.values.
    const n = table.numRows;
    const k = names.length;
    const dims = [n, k];
    checkShape(dims, info, names.map((x) => `"${x}"`).join(', '));
    const cols = names.map((name, j) => {
      const col = columnTensor(table.getChildAt(j)!, name);
      if (col.dims.length !== 1) {
        throw mismatch(
          `Column "${name}" is a tensor column of shape ${formatDims(col.dims)}; several columns can only ` +
            `be stacked into model input "${info.name}" when each holds one value per row.`,
          { column: name, input: info.name }
        );
      }
      return castLeaves(col.leaves, n, info.type, name, info.name);
    });
    if (info.type === 'string') {
      const out = new Array<string>(n * k);
      cols.forEach((c, j) => {
        for (let r = 0; r < n; r++) out[r * k + j] = (c as string[])[r]!;
      });
      feeds[info.name] = new Tensor(info.type, out, dims);
    } else {
      const out = new TYPED[info.type]!(n * k) as { [i: number]: number | bigint };
      cols.forEach((c, j) => {
        const src = c as ArrayLike<number | bigint>;
        for (let r = 0; r < n; r++) out[r * k + j] = src[r]!;
      });
      feeds[info.name] = new Tensor(info.type, out as NumericArray, dims);
    }
    return feeds;
  }
  const missing = inputs.filter((i) => !names.includes(i.name)).map((i) => i.name);
  if (missing.length > 0) {
    throw mismatch(
      `Model is missing inputs [${missing.map((m) => `'${m}'`).join(', ')}]. The ONNX model has ` +
        `${inputs.length} inputs [${inputs.map((i) => `'${i.name}'`).join(', ')}], each fed from the ` +
        `column of the same name; the input has columns [${names.map((m) => `'${m}'`).join(', ')}].`,
      { missing, expected: inputs.map((i) => i.name), found: names }
    );
  }
  for (const info of inputs) {
    const col = columnTensor(table.getChild(info.name)!, info.name);
    const last = info.shape[info.shape.length - 1];
    const dims =
      col.dims.length === 1 && info.shape.length === 2 && last === 1 ? [col.dims[0]!, 1] : col.dims;
    checkShape(dims, info, `"${info.name}"`);
    const total = dims.reduce((a, b) => a * b, 1);
    feeds[info.name] = new Tensor(
      info.type,
      castLeaves(col.leaves, total, info.type, info.name, info.name),
      dims
    );
  }
  return feeds;
}

/**
 * The Arrow leaf type of an onnxruntime element type. onnxruntime names the numeric types as numpy
 * does, so this is the TensorSpec dtype mapping, with onnxruntime's `string` for numpy's `str`.
 */
function arrowLeafType(type: OrtElementType): DataType | null {
  return arrowTypeForTensorDtype(type === 'string' ? 'str' : type);
}

/**
 * Converts one output tensor to an Arrow column: rank 0 or 1 -> a plain column (zero-copy for
 * numeric types), rank k > 1 -> k-1 levels of `FixedSizeList` around the leaf values.
 *
 * @param name - The output name, for messages.
 * @param tensor - The output tensor (CPU data).
 * @returns The column; its length is the first dim (1 for a scalar).
 * @throws {ModelError} E_MODEL_OUTPUT for element types Arrow has no column type for.
 */
export function tensorToVector(name: string, tensor: OrtTensor): Vector {
  const leafType = arrowLeafType(tensor.type);
  if (leafType === null) {
    throw new ModelError(
      'E_MODEL_OUTPUT',
      `ONNX output "${name}" has element type ${tensor.type}, which has no Arrow column type.`,
      { details: { output: name, type: tensor.type } }
    );
  }
  const dims = tensor.dims.length === 0 ? [1] : [...tensor.dims];
  const total = dims.reduce((a, b) => a * b, 1);
  let data: Data;
  if (tensor.type === 'bool') {
    const bytes = tensor.data as Uint8Array;
    data = vectorFromArray(
      Array.from(bytes.subarray(0, total), (b) => b !== 0),
      new Bool()
    ).data[0]!;
  } else if (tensor.type === 'string') {
    data = vectorFromArray(tensor.data as string[], new Utf8()).data[0]!;
  } else {
    data = makeData({ type: leafType, length: total, data: tensor.data } as never) as Data;
  }
  let length = total;
  for (let i = dims.length - 1; i >= 1; i--) {
    const size = dims[i]!;
    length /= size;
    data = makeData({
      type: new FixedSizeList(size, new Field('item', data.type, false)),
      length,
      child: data,
    }) as Data;
  }
  return new Vector([data]);
}

/**
 * Builds the prediction table: one column per fetched output, named after it.
 *
 * @param results - The `run` results.
 * @param outputs - The fetched output names, in graph order.
 * @returns A table with a column per output.
 * @throws {ModelError} E_MODEL_OUTPUT when outputs have different first dims (they cannot be
 *   columns of one table) or an element type without an Arrow equivalent.
 */
export function outputsToTable(
  results: Readonly<Record<string, OrtTensor>>,
  outputs: readonly string[]
): Table {
  const columns: Record<string, Vector> = {};
  for (const name of outputs) columns[name] = tensorToVector(name, results[name]!);
  const lengths = new Set(Object.values(columns).map((v) => v.length));
  if (lengths.size > 1) {
    throw new ModelError(
      'E_MODEL_OUTPUT',
      `ONNX outputs have different lengths (${outputs.map((o) => `${o}: ${columns[o]!.length}`).join(', ')}); ` +
        'they cannot be returned as columns of one table.',
      { details: { lengths: Object.fromEntries(outputs.map((o) => [o, columns[o]!.length])) } }
    );
  }
  return new Table(columns);
}

function specShape(shape: readonly (number | string)[]): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

/**
 * Infers a signature from a session's metadata: a TensorSpec per tensor input and output with
 * its numpy dtype and shape (-1 for symbolic or unknown dims).
 *
 * Why a single input is unnamed: MLflow feeds a one-input model `DataFrame.values`, all
 * columns stacked. An unnamed `(-1, n)` TensorSpec lets jsfunc's enforcement do the same
 * (n numeric columns of any names are packed into one tensor column) while a single tensor
 * column is still accepted. Several inputs are named after the graph's inputs, as each is fed
 * from its own column.
 *
 * @param inputs - The session's input metadata.
 * @param outputs - The session's output metadata.
 * @returns The signature; a side is null when one of its values is not a tensor or has an
 *   element type numpy cannot name. Non-tensor outputs are left out of the outputs schema.
 */
export function inferOnnxSignature(
  inputs: readonly InferenceSession.ValueMetadata[],
  outputs: readonly InferenceSession.ValueMetadata[]
): ModelSignature {
  const toSpecs = (
    metas: readonly InferenceSession.ValueMetadata[],
    named: boolean
  ): TensorSpec[] | null => {
    const specs: TensorSpec[] = [];
    for (const m of metas) {
      if (!m.isTensor) return null;
      const dtype = numpyDtypeFor(m.type);
      if (dtype === null) return null;
      specs.push({
        kind: 'tensor',
        ...(named ? { name: m.name } : {}),
        dtype,
        shape: specShape(m.shape),
      });
    }
    return specs.length > 0 ? specs : null;
  };
  const tensorOutputs = outputs.filter((o) => o.isTensor);
  return {
    inputs: toSpecs(inputs, inputs.length > 1),
    outputs: toSpecs(tensorOutputs, true),
    params: null,
  };
}
