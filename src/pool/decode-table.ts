/**
 * Decoding of {@link WireTable}s / {@link WireVector}s back into Arrow tables and vectors whose
 * buffers are views of the batch buffer (or of the shared memory named by a buffer): no copy.
 *
 * @module
 */
import { RecordBatch, Schema, Struct, Table, makeData, makeVector } from 'apache-arrow';
import type { Data, DataType, Vector } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { T, type AnyTypedArray, type TypeLike } from './arrow-like.js';
import {
  WIRE_FORMAT,
  describe,
  type WireBuffer,
  type WireData,
  type WireTable,
  type WireVector,
} from './wire-format.js';
import { decodeDataType, decodeField } from './wire-type.js';

type ViewCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): AnyTypedArray;
  BYTES_PER_ELEMENT: number;
};

function view<C extends ViewCtor>(
  Ctor: C,
  buffer: ArrayBufferLike,
  ref: WireBuffer | undefined
): InstanceType<C> | undefined {
  if (ref === undefined) return undefined;
  return new Ctor(
    ref.source ?? buffer,
    ref.byteOffset,
    ref.byteLength / Ctor.BYTES_PER_ELEMENT
  ) as InstanceType<C>;
}

function decodeData(type: DataType, wire: WireData, buffer: ArrayBufferLike): Data {
  const { length, nullCount } = wire;
  const nullBitmap = view(Uint8Array, buffer, wire.nullBitmap);
  const base = { type, length, nullCount, nullBitmap } as Record<string, unknown>;
  const t = type as unknown as TypeLike & { ArrayType: ViewCtor; OffsetArrayType?: ViewCtor };
  const child = (i: number): Data => {
    const field = t.children?.[i];
    const data = wire.children[i];
    if (field === undefined || data === undefined)
      throw new Error(`missing child ${i} of ${String(type)}`);
    return decodeData(field.type as unknown as DataType, data, buffer);
  };
  switch (type.typeId) {
    case T.Null:
      return makeData({ type, length } as never);
    case T.Bool:
      return makeData({ ...base, data: view(Uint8Array, buffer, wire.values) } as never);
    case T.Utf8:
    case T.Binary:
    case T.LargeUtf8:
    case T.LargeBinary:
      return makeData({
        ...base,
        valueOffsets: view(t.OffsetArrayType ?? Int32Array, buffer, wire.valueOffsets),
        data: view(Uint8Array, buffer, wire.values),
      } as never);
    case T.List:
    case T.LargeList:
    case T.Map:
      return makeData({
        ...base,
        valueOffsets: view(t.OffsetArrayType ?? Int32Array, buffer, wire.valueOffsets),
        child: child(0),
      } as never);
    case T.FixedSizeList:
      return makeData({ ...base, child: child(0) } as never);
    case T.Struct:
      return makeData({ ...base, children: wire.children.map((_, i) => child(i)) } as never);
    case T.Dictionary: {
      const dict = type as unknown as { indices: { ArrayType: ViewCtor }; dictionary: DataType };
      if (wire.dictionary === undefined)
        throw new Error('dictionary column without dictionary data');
      const dictionary = makeVector(decodeData(dict.dictionary, wire.dictionary, buffer));
      return makeData({
        ...base,
        data: view(dict.indices.ArrayType, buffer, wire.values),
        dictionary,
      } as never);
    }
    default:
      return makeData({ ...base, data: view(t.ArrayType, buffer, wire.values) } as never);
  }
}

function checkWire(wire: unknown, what: string): void {
  const w = wire as { format?: unknown; buffer?: unknown } | null;
  if (typeof w !== 'object' || w === null || w.format !== WIRE_FORMAT) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `${what} expected a ${WIRE_FORMAT} object, got ${describe(wire)}`
    );
  }
  if (!(w.buffer instanceof ArrayBuffer) && !(w.buffer instanceof SharedArrayBuffer)) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `${what}: buffer must be an ArrayBuffer or SharedArrayBuffer, got ${describe(w.buffer)}`
    );
  }
  if (
    w.buffer instanceof ArrayBuffer &&
    (w.buffer as ArrayBuffer & { detached?: boolean }).detached === true
  ) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `${what}: buffer is detached (it was transferred to another thread)`
    );
  }
}

/**
 * Rebuilds an Arrow Table from a {@link WireTable}: one record batch whose column buffers are
 * views of `wire.buffer` (no copy; with a SharedArrayBuffer, writes are visible to the other
 * thread).
 *
 * @param wire - made by {@link encodeTable}, possibly in another thread.
 * @returns the table (of the apache-arrow copy this module imports).
 * @throws {ModelError} E_INPUT_INVALID when `wire` is not a well-formed wire table.
 */
export function decodeTable(wire: WireTable): Table {
  checkWire(wire, 'decodeTable');
  try {
    const fields = wire.fields.map(decodeField);
    const schema = new Schema(fields, new Map(wire.metadata));
    const children = fields.map((f, j) => decodeData(f.type, wire.columns[j]!, wire.buffer));
    const data = makeData({
      type: new Struct(fields),
      length: wire.numRows,
      nullCount: 0,
      children,
    });
    return new Table(schema, [new RecordBatch(schema, data)]);
  } catch (error) {
    if (ModelError.is(error)) throw error;
    throw new ModelError(
      'E_INPUT_INVALID',
      `decodeTable: malformed wire table (${(error as Error).message})`,
      { cause: error }
    );
  }
}

/**
 * Rebuilds an Arrow Vector from a {@link WireVector} (views of `wire.buffer`, no copy).
 *
 * @param wire - made by {@link encodeVector}, possibly in another thread.
 * @returns a single-chunk vector (of the apache-arrow copy this module imports).
 * @throws {ModelError} E_INPUT_INVALID when `wire` is not a well-formed wire vector.
 */
export function decodeVector(wire: WireVector): Vector {
  checkWire(wire, 'decodeVector');
  try {
    return makeVector(decodeData(decodeDataType(wire.type), wire.data, wire.buffer));
  } catch (error) {
    if (ModelError.is(error)) throw error;
    throw new ModelError(
      'E_INPUT_INVALID',
      `decodeVector: malformed wire vector (${(error as Error).message})`,
      { cause: error }
    );
  }
}
