/**
 * The fast data path across the worker-thread boundary: Arrow tables and vectors in a postable,
 * structured-clone-friendly form.
 *
 * Arrow JS objects cannot be posted (they hold closures and class prototypes, and structured
 * clone throws on them), so {@link encodeTable} turns a table into a {@link WireTable}: plain
 * field/type descriptions plus, per column, the Arrow `Data` tree as `{length, nullCount,
 * buffers, children, dictionary}` whose buffers are `(byteOffset, byteLength)` ranges of ONE
 * buffer per batch. {@link decodeTable} rebuilds Arrow `Data` with `makeData` over typed-array
 * views of that buffer: no copy on the receiving side.
 *
 * Encoding copies each column's buffers (those not already in shared memory, see below)
 * exactly once into that buffer: tightly packed, every
 * buffer 8-byte aligned (so `Float64Array`/`BigInt64Array` views are legal), trimmed to the
 * rows actually present (a 10-row slice of a huge table copies 10 rows), with offsets
 * normalised to 0 (null bitmaps and bool values at odd bit offsets are re-packed from bit 0;
 * Utf8/Binary/List value offsets are rebased to start at 0), and multi-chunk columns
 * concatenated into one `Data` (the concatenation is the one copy).
 *
 * ## Default: SharedArrayBuffer
 * By default the batch buffer is a `SharedArrayBuffer`: posting it shares the memory, so
 * nothing is copied or detached, the sender's table stays usable, and the receiver may write
 * into it (for example results). With `{ shared: false }` it is a plain `ArrayBuffer` that
 * {@link transferListOf} returns for the `postMessage`/`Tinypool.run` transfer list.
 * Measured with `benchmarks/transfer.mjs` (Node 20.20.2, 2 shared cores under load average ~7,
 * apache-arrow 21.2.0; median round trip main -> worker -> main, the worker decoding, computing
 * and answering with a 65,536-row Float64 vector through the same path; two runs):
 *
 * | batch | shared SAB | ArrayBuffer + transfer list | IPC + transfer | clone raw arrays |
 * |---|---|---|---|---|
 * | 65,536 x 10 Float64 (5 MB) | 2.1-2.6 ms | 2.7-3.0 ms | 3.5-4.9 ms | 2.1-3.1 ms |
 * | 65,536-row Utf8 (1.6 MB) | 0.92-1.03 ms | 0.92-0.93 ms | 1.3-2.0 ms | 1.06 ms |
 *
 * Shared and transfer-list are equal within noise and both 0.5-0.7x of IPC. Shared is the
 * default because it is never slower, it never detaches anything (a wire table can be posted
 * to several workers, retried after a worker crash, or kept by the sender), and the worker can
 * read and write the very same memory. Structured clone of raw arrays is competitive at this
 * size only because it skips Arrow entirely; it copies twice and cannot carry nulls or nesting.
 *
 * Arrow objects are recognised by shape and `typeId`, never `instanceof`: a table built by the
 * CommonJS copy of apache-arrow and one built by the ESM copy are both accepted. Decoding
 * builds objects of whichever copy this module itself imports.
 *
 * ## Zero-copy for data already in shared memory
 * A buffer that already lives in a `SharedArrayBuffer` (a table made by `shareTable`, read by
 * jsfunc's Parquet/CSV/NDJSON readers, or built by the caller over shared memory) is not copied:
 * its {@link WireBuffer} names that buffer as `source` and the byte range inside it, and the
 * receiver makes its view there. Posting a `SharedArrayBuffer` shares it, so the whole batch
 * crosses without touching the data (perf-probes: for a trivial model the copy costs about as
 * much as the model). This applies per buffer, for a column that is ONE chunk of the table
 * (a slice inside one record batch): fixed-width values and dictionary indices always;
 * null bitmaps and bool values when the slice starts on a byte boundary (at another bit offset
 * they are re-packed, which is 1/64 of a float64 column); Utf8/Binary offsets and bytes always
 * (the offsets are then sent as they are, absolute into the chunk's bytes, so they may start
 * above 0, as in Arrow JS's own slices); List/Map offsets when they start at 0. A column
 * spanning several record batches is still concatenated (copied). Consequence: the worker sees
 * the caller's memory, not a snapshot; writing into a shared table while it is being scored
 * races with the workers.
 *
 * Known cost: a Dictionary column's dictionary is sent whole, even for a small slice of a
 * column with a huge dictionary (e.g. `tableFromArrays` dictionary-encodes strings).
 *
 * @module
 */
export { decodeTable, decodeVector } from './decode-table.js';
export { isSharedMemory } from './encode-arena.js';
export { encodeTable, encodeVector, transferListOf } from './encode-table.js';
export type { EncodeOptions } from './encode-table.js';
export { WIRE_FORMAT } from './wire-format.js';
export type { WireBuffer, WireData, WireTable, WireVector } from './wire-format.js';
export { decodeDataType, encodeDataType } from './wire-type.js';
export type { WireField, WireMetadata, WireTimeUnit, WireType } from './wire-type.js';
