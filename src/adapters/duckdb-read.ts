/**
 * DuckDB data chunks -> Arrow record batches, column by column, copying whole buffers.
 *
 * A {@link ChunkBatcher} gathers the chunks of a result (DuckDB hands out at most 2048 rows per
 * chunk) into batches of up to `capacity` rows. Per column it holds one buffer of the batch's
 * size: fixed-width values are copied with one `set` per chunk (DuckDB's layouts are Arrow's:
 * little-endian integers and floats, DATE as int32 days, TIME/TIMESTAMP as int64, HUGEINT and
 * wide DECIMALs as 128-bit two's complement), validity bits are copied (DuckDB's bitmask is
 * Arrow's bit order), booleans are packed into bits, narrow DECIMALs are sign-extended to
 * 128 bits, and strings are gathered into one offsets + bytes pair (strings of at most 12 bytes
 * are inline in DuckDB's 16-byte string record, longer ones are read through their pointer).
 * ENUMs become Utf8 strings.
 *
 * With `shared`, every buffer (values, validity, string offsets and bytes) is a
 * SharedArrayBuffer, so a UDF sends the batch to its workers without copying it again.
 *
 * The type mapping is `duckdb-columns.ts`.
 *
 * @module
 */
import { type Data, Field, type RecordBatch, makeData } from 'apache-arrow';
import { recordBatchOf } from './record-batch.js';
import { type DuckDBBindings, type DuckDBTypeLike, type RawChunk } from './duckdb-bindings.js';
import { type ColumnPlan, planColumns } from './duckdb-columns.js';

/** Bytes allocated for `n` bytes: shared memory or not. */
function bytesOf(n: number, shared: boolean): Uint8Array {
  return new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
}

/** Set bits of a byte, for null counts. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x > 0; x >>= 1) n += x & 1;
  return n;
});

/** One column's buffers for the batch being gathered. */
class ColumnBuffer {
  values: Uint8Array;
  validity: Uint8Array;
  offsets: Int32Array | undefined;
  bytes: Uint8Array | undefined;
  bytesUsed = 0;
  nulls = 0;

  constructor(
    readonly plan: ColumnPlan,
    capacity: number,
    private readonly shared: boolean
  ) {
    const { layout } = plan;
    this.validity = bytesOf((capacity + 7) >> 3, shared);
    if (layout.kind === 'fixed') this.values = bytesOf(capacity * layout.width, shared);
    else if (layout.kind === 'decimal') this.values = bytesOf(capacity * 16, shared);
    else if (layout.kind === 'bool') this.values = bytesOf((capacity + 7) >> 3, shared);
    else {
      this.values = new Uint8Array(0);
      const offsets = bytesOf((capacity + 1) * 4, shared);
      this.offsets = new Int32Array(offsets.buffer, offsets.byteOffset, capacity + 1);
      // 8 bytes a string to start with; doubled (one copy) when a batch needs more.
      this.bytes = bytesOf(Math.max(1024, capacity * 8), shared);
    }
  }

  /** Room for `more` string bytes (doubling). */
  reserve(more: number): Uint8Array {
    const need = this.bytesUsed + more;
    if (need > this.bytes!.length) {
      const grown = bytesOf(Math.max(need, this.bytes!.length * 2), this.shared);
      grown.set(this.bytes!.subarray(0, this.bytesUsed));
      this.bytes = grown;
    }
    return this.bytes!;
  }
}

/** Copies a chunk's validity (LSB-first bits) to rows [at, at + n) of `dest`; returns nulls. */
function copyValidity(src: Uint8Array | null, dest: Uint8Array, at: number, n: number): number {
  if (src === null) {
    // All valid: set the bits, whole bytes where aligned.
    let i = 0;
    for (; i < n && ((at + i) & 7) !== 0; i++) dest[(at + i) >> 3]! |= 1 << ((at + i) & 7);
    const whole = (n - i) >> 3;
    if (whole > 0) dest.fill(0xff, (at + i) >> 3, ((at + i) >> 3) + whole);
    for (i += whole << 3; i < n; i++) dest[(at + i) >> 3]! |= 1 << ((at + i) & 7);
    return 0;
  }
  let nulls = 0;
  if ((at & 7) === 0) {
    const full = n >> 3;
    dest.set(src.subarray(0, full), at >> 3);
    for (let k = 0; k < full; k++) nulls += 8 - POPCOUNT[src[k]!]!;
    for (let i = full << 3; i < n; i++) {
      const bit = (src[i >> 3]! >> (i & 7)) & 1;
      if (bit === 1) dest[(at + i) >> 3]! |= 1 << ((at + i) & 7);
      else nulls++;
    }
    return nulls;
  }
  for (let i = 0; i < n; i++) {
    const bit = (src[i >> 3]! >> (i & 7)) & 1;
    if (bit === 1) dest[(at + i) >> 3]! |= 1 << ((at + i) & 7);
    else nulls++;
  }
  return nulls;
}

/**
 * Gathers DuckDB chunks into Arrow record batches of up to `capacity` rows (see the module doc).
 */
export class ChunkBatcher {
  readonly plans: ColumnPlan[];
  #columns: ColumnBuffer[];
  #rows = 0;

  /**
   * @param bindings - the raw DuckDB bindings
   * @param names - column names (the batch's field names)
   * @param types - DuckDB column types
   * @param capacity - most rows per batch (at least one chunk: 2048)
   * @param shared - put every buffer in shared memory
   * @throws {ModelError} E_INPUT_INVALID for a column of an unsupported type
   */
  constructor(
    private readonly bindings: DuckDBBindings,
    names: readonly string[],
    types: readonly DuckDBTypeLike[],
    readonly capacity: number,
    private readonly shared: boolean
  ) {
    this.plans = planColumns(names, types);
    this.#columns = this.#fresh();
  }

  #fresh(): ColumnBuffer[] {
    return this.plans.map((p) => new ColumnBuffer(p, this.capacity, this.shared));
  }

  /** Rows gathered so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Whether a chunk of `n` rows still fits the batch. */
  fits(n: number): boolean {
    return this.#rows + n <= this.capacity;
  }

  /**
   * Appends a chunk's rows (it must fit: see {@link ChunkBatcher.fits}).
   *
   * @param chunk - a raw `@duckdb/node-bindings` data chunk
   * @param n - its row count
   */
  append(chunk: RawChunk, n: number): void {
    const b = this.bindings;
    const at = this.#rows;
    this.#columns.forEach((col, i) => {
      const vector = b.data_chunk_get_vector(chunk, i);
      const validity = b.vector_get_validity(vector, Math.ceil(n / 64) * 8);
      col.nulls += copyValidity(validity, col.validity, at, n);
      const layout = col.plan.layout;
      switch (layout.kind) {
        case 'fixed':
          col.values.set(b.vector_get_data(vector, n * layout.width), at * layout.width);
          break;
        case 'bool':
          packBools(b.vector_get_data(vector, n * b.sizeof_bool), b.sizeof_bool, col.values, at, n);
          break;
        case 'decimal':
          widenDecimals(
            b.vector_get_data(vector, n * layout.width),
            layout.width,
            col.values,
            at,
            n
          );
          break;
        case 'string':
          readStrings(b, b.vector_get_data(vector, n * 16), validity, col, at, n);
          break;
        case 'enum':
          readEnums(b.vector_get_data(vector, n * layout.storage), validity, layout, col, at, n);
          break;
      }
    });
    this.#rows += n;
  }

  /**
   * The gathered rows as a record batch; the next rows go to fresh buffers.
   *
   * @returns the batch (possibly of zero rows)
   */
  finish(): RecordBatch {
    const n = this.#rows;
    const children = this.#columns.map((col) => columnData(col, n));
    const fields = this.plans.map((p) => new Field(p.name, p.type, true));
    this.#columns = this.#fresh();
    this.#rows = 0;
    return recordBatchOf(fields, children, n);
  }
}

function columnData(col: ColumnBuffer, n: number): Data {
  const { plan } = col;
  const nullBitmap = col.nulls > 0 ? col.validity.subarray(0, (n + 7) >> 3) : undefined;
  const common = { type: plan.type, length: n, nullCount: col.nulls, nullBitmap };
  const layout = plan.layout;
  if (layout.kind === 'string' || layout.kind === 'enum') {
    return makeData({
      ...common,
      valueOffsets: col.offsets!.subarray(0, n + 1),
      data: col.bytes!.subarray(0, col.bytesUsed),
    } as never);
  }
  const width = layout.kind === 'fixed' ? layout.width : layout.kind === 'decimal' ? 16 : 0;
  const data =
    layout.kind === 'bool'
      ? col.values.subarray(0, (n + 7) >> 3)
      : col.values.subarray(0, n * width);
  return makeData({ ...common, data } as never);
}

/** DuckDB booleans (one `size`-byte value each) as Arrow bits at rows [at, at + n). */
function packBools(src: Uint8Array, size: number, dest: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) {
    if (src[i * size] !== 0) dest[(at + i) >> 3]! |= 1 << ((at + i) & 7);
  }
}

/** DECIMAL values stored in 2, 4 or 8 bytes, sign-extended to 128-bit little-endian. */
function widenDecimals(
  src: Uint8Array,
  width: number,
  dest: Uint8Array,
  at: number,
  n: number
): void {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
  for (let i = 0; i < n; i++) {
    const o = (at + i) * 16;
    const v =
      width === 2
        ? BigInt(dv.getInt16(i * 2, true))
        : width === 4
          ? BigInt(dv.getInt32(i * 4, true))
          : dv.getBigInt64(i * 8, true);
    out.setBigInt64(o, v, true);
    out.setBigInt64(o + 8, v < 0n ? -1n : 0n, true);
  }
}

/** DuckDB string records (16 bytes: length, then 12 inline bytes or prefix + pointer). */
function readStrings(
  b: DuckDBBindings,
  records: Uint8Array,
  validity: Uint8Array | null,
  col: ColumnBuffer,
  at: number,
  n: number
): void {
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  // The lengths as 32-bit words where the copy is aligned (it is: a fresh buffer), else DataView.
  const words =
    (records.byteOffset & 3) === 0
      ? new Uint32Array(records.buffer, records.byteOffset, n * 4)
      : undefined;
  const offsets = col.offsets!;
  let bytes = col.reserve(n * 12);
  // The byte count in a local (written back around reserve): the loop runs once per row.
  let used = col.bytesUsed;
  for (let i = 0; i < n; i++) {
    offsets[at + i] = used;
    if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const len = words !== undefined ? words[i * 4]! : dv.getUint32(i * 16, true);
    if (len <= 12) {
      // Room for every inline string of the chunk is reserved (at most 12 bytes each).
      const from = i * 16 + 4;
      for (let k = 0; k < len; k++) bytes[used + k] = records[from + k]!;
      used += len;
    } else {
      col.bytesUsed = used;
      bytes = col.reserve(len);
      bytes.set(
        b.get_data_from_pointer(records.buffer, records.byteOffset + i * 16 + 8, len),
        used
      );
      col.bytesUsed = used += len;
      bytes = col.reserve(n * 12);
    }
  }
  col.bytesUsed = used;
  offsets[at + n] = used;
}

/** ENUM indices (1, 2 or 4 bytes) as the members' UTF-8 bytes. */
function readEnums(
  src: Uint8Array,
  validity: Uint8Array | null,
  layout: { storage: number; members: Uint8Array[] },
  col: ColumnBuffer,
  at: number,
  n: number
): void {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const offsets = col.offsets!;
  for (let i = 0; i < n; i++) {
    offsets[at + i] = col.bytesUsed;
    if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const index =
      layout.storage === 1
        ? src[i]!
        : layout.storage === 2
          ? dv.getUint16(i * 2, true)
          : dv.getUint32(i * 4, true);
    const member = layout.members[index]!;
    col.reserve(member.length).set(member, col.bytesUsed);
    col.bytesUsed += member.length;
  }
  offsets[at + n] = col.bytesUsed;
}
