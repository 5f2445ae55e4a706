/**
 * Arrow data in shared memory: copy a table (or one column) once into a `SharedArrayBuffer`, so
 * that every later trip to a worker thread is free.
 *
 * `encodeTable` sends buffers that already live in a `SharedArrayBuffer` as byte ranges of it
 * instead of copying them (see `transfer.ts`). A caller who scores the same table several times,
 * or builds a large table once and scores it in many slices, pays the copy here once instead of
 * on every `apply`. For a trivial model that copy costs about as much as the model itself
 * (perf-probes: linear, 10 float64 columns, ~35 ns/row either way).
 *
 * The result is one record batch (all of the input's batches concatenated), so that every slice
 * a UDF cuts out of it lies inside one chunk and crosses without a copy.
 *
 * @module
 */
import type { Data, DataType, RecordBatch, Table, Vector } from 'apache-arrow';
import { decodeTable, decodeVector, encodeTable, encodeVector } from './transfer.js';

/**
 * Copies an Arrow Table (or RecordBatch) into one `SharedArrayBuffer`: a table of one record
 * batch whose column buffers are all views of shared memory, with the same schema (names,
 * types, nullability, field and schema metadata) and values. Buffers that were already shared
 * are kept where they are, not copied again.
 *
 * Score the result as often as needed: `sparkUdf(...).apply(shared)` sends its columns to the
 * workers without copying them. Do not write into it while it is being scored.
 *
 * @param table - the table; built by either apache-arrow module copy; may be sliced and
 *   multi-batch. It is not modified.
 * @returns the shared table (of the apache-arrow copy jsfunc imports).
 * @throws {ModelError} E_INPUT_INVALID when `table` is not an Arrow table, a column's type cannot
 *   be shared (Union, Utf8View, BinaryView), or a Utf8/Binary/List column holds more than 2^31-1
 *   values in total (32-bit offsets of one batch).
 */
export function shareTable(table: Table | RecordBatch): Table {
  return decodeTable(encodeTable(table, { shared: true }));
}

/**
 * Copies an Arrow Vector (all chunks, concatenated) into one `SharedArrayBuffer`.
 *
 * @param vector - the vector; built by either apache-arrow module copy.
 * @returns a single-chunk vector over shared memory, equal in type and values.
 * @throws {ModelError} E_INPUT_INVALID as for {@link shareTable}.
 */
export function shareVector(vector: Vector): Vector {
  return decodeVector(encodeVector(vector, { shared: true }));
}

/**
 * Copies one Arrow `Data` into shared memory, keeping the given `DataType` instance (so the
 * result can sit next to fields that hold that instance, e.g. in a RecordBatch).
 *
 * @param data - the data (one chunk).
 * @returns the same values over a `SharedArrayBuffer`.
 * @throws {ModelError} E_INPUT_INVALID as for {@link shareTable}.
 */
export function shareData<T extends DataType>(data: Data<T>): Data<T> {
  const shared = shareVector({ type: data.type, data: [data] } as unknown as Vector).data[0]!;
  return shared.clone(data.type) as unknown as Data<T>;
}
