/**
 * Arrow IPC stream bodies on `/invocations` (a jsfunc extension; MLflow's server reads JSON and
 * CSV only): `Content-Type: application/vnd.apache.arrow.stream` requests are read as one
 * table, and `Accept: application/vnd.apache.arrow.stream` answers the predictions as an IPC
 * stream instead of `{"predictions": ...}`.
 *
 * Request columns keep their Arrow types: they go through the input signature's enforcement as
 * `sparkUdf` input does (MLflow's safe widenings only), not through the lenient per-value
 * casting JSON and CSV values get.
 *
 * @module
 */
import {
  type DataType,
  type Field,
  Table,
  Type,
  type Vector,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import {
  adoptTable,
  adoptVector,
  isArrowRecordBatchLike,
  isArrowTableLike,
  isArrowVectorLike,
} from '../adapters/arrow-guards.js';
import { toTable } from '../adapters/to-table.js';
import { ModelError } from '../errors.js';

/** The media type of Arrow IPC stream bodies. */
export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';

/** The column name of a one-column Arrow response built from a vector or a list of values. */
export const PREDICTIONS_COLUMN = 'predictions';

/**
 * Reads an Arrow IPC stream (or file) request body.
 *
 * @param body - the body bytes
 * @returns the table (its batches view `body`; no copy)
 * @throws {ModelError} E_INPUT_INVALID when the bytes are not Arrow IPC
 */
export function parseArrowRequest(body: Uint8Array): Table {
  if (body.byteLength === 0) {
    throw new ModelError(
      'E_INPUT_INVALID',
      'Failed to parse input as an Arrow IPC stream. Error: the request body is empty'
    );
  }
  try {
    return tableFromIPC(body);
  } catch (e) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Failed to parse input as an Arrow IPC stream. Error: '${e instanceof Error ? e.message : String(e)}'`,
      { cause: e }
    );
  }
}

function isRowObject(x: unknown): boolean {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    !ArrayBuffer.isView(x) &&
    !(x instanceof Date) &&
    !isArrowVectorLike(x)
  );
}

/**
 * A model result as the table an Arrow response carries: a Table or RecordBatch as is, a struct
 * vector as its fields, a list of row objects or an object of columns as those columns, and any
 * other vector, typed array or list of values (or a scalar) as one column named
 * {@link PREDICTIONS_COLUMN}.
 *
 * @param result - what `predict` returned (or a row slice of it)
 * @returns the table
 * @throws {ModelError} E_MODEL_OUTPUT when the result has no Arrow form (mixed or unsupported
 *   values)
 */
export function predictionsTable(result: unknown): Table {
  try {
    if (isArrowTableLike(result)) return adoptTable(result);
    if (isArrowRecordBatchLike(result)) return toTable(result);
    if (isArrowVectorLike(result)) {
      const vector = adoptVector(result);
      if (vector.type.typeId === Type.Struct) {
        const fields = (vector.type as DataType).children as Field[];
        return new Table(
          Object.fromEntries(fields.map((f, i) => [f.name, vector.getChildAt(i) as Vector]))
        );
      }
      return new Table({ [PREDICTIONS_COLUMN]: vector });
    }
    if (Array.isArray(result)) {
      const first = result.find((v) => v !== null && v !== undefined);
      if (first !== undefined && isRowObject(first)) return toTable(result);
      return toTable({ [PREDICTIONS_COLUMN]: result });
    }
    if (ArrayBuffer.isView(result)) return toTable({ [PREDICTIONS_COLUMN]: result });
    if (isRowObject(result)) return toTable(result as Record<string, unknown>);
    return toTable({ [PREDICTIONS_COLUMN]: [result] });
  } catch (e) {
    throw new ModelError(
      'E_MODEL_OUTPUT',
      `The model output cannot be written as Arrow: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    );
  }
}

/**
 * Encodes a model result as an Arrow IPC stream response body.
 *
 * @param result - what `predict` returned (or a row slice of it)
 * @returns the stream bytes
 * @throws {ModelError} E_MODEL_OUTPUT when the result has no Arrow form
 */
export function formatArrowPredictions(result: unknown): Uint8Array {
  const table = predictionsTable(result);
  try {
    return tableToIPC(table, 'stream');
  } catch (e) {
    throw new ModelError(
      'E_MODEL_OUTPUT',
      `The model output cannot be written as Arrow: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    );
  }
}
