/**
 * numpy dtype names of a TensorSpec: the accepted names, the aliases numpy reads, and
 * {@link normalizeTensorDtype}, which maps them to the canonical name MLflow writes.
 *
 * @module
 */
import { invalid } from './signature-invalid.js';

/** numpy dtype names accepted in a TensorSpec (the names `np.dtype(x).name` produces). */
const TENSOR_DTYPES = new Set([
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float16',
  'float32',
  'float64',
  'complex64',
  'complex128',
  'str',
  'bytes',
  'object',
]);

/** Aliases numpy accepts on read; normalised to the canonical name MLflow writes. */
const TENSOR_DTYPE_ALIASES: Record<string, string> = {
  float: 'float64',
  double: 'float64',
  int: 'int64',
  bool_: 'bool',
  str_: 'str',
  bytes_: 'bytes',
  object_: 'object',
};

const DATETIME_DTYPE = /^(datetime64|timedelta64)(\[(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?$/;
const SIZED_FLEXIBLE_DTYPE = /^(?:[<>|=]?[USa]\d+|str\d+|bytes\d+)$/;

/**
 * Normalises and checks a numpy dtype name for a TensorSpec.
 *
 * @param dtype - The dtype as written in the JSON.
 * @param where - Where it sits, for messages.
 * @returns The canonical numpy name.
 * @throws {ModelError} E_SIGNATURE_INVALID for sized strings (`<U5`) and unknown names.
 */
export function normalizeTensorDtype(dtype: unknown, where = 'tensor'): string {
  if (typeof dtype !== 'string')
    throw invalid(`${where}: \`dtype\` must be a string, found ${JSON.stringify(dtype)}`);
  if (SIZED_FLEXIBLE_DTYPE.test(dtype)) {
    const base = /U|str/.test(dtype) ? 'str' : 'bytes';
    throw invalid(
      `${where}: MLflow does not support size information in flexible numpy data types ('${dtype}'). Use "${base}" instead`,
      { dtype }
    );
  }
  const name = TENSOR_DTYPE_ALIASES[dtype] ?? dtype;
  if (TENSOR_DTYPES.has(name) || DATETIME_DTYPE.test(name)) return name;
  throw invalid(
    `${where}: unsupported numpy dtype '${dtype}', expected one of ${[...TENSOR_DTYPES].join(', ')}, datetime64[unit]`,
    { dtype }
  );
}
