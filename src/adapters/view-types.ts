/**
 * Arrow's view string types (`Utf8View`, `BinaryView`) rewritten as the offset types jsfunc
 * carries everywhere (`Utf8`, `Binary`; the `Large` variants past 2 GiB of bytes).
 *
 * Why: Polars writes its strings as `Utf8View` (Arrow IPC, compat level "newest"), while
 * jsfunc's worker transfer, enforcement and writers handle the offset layouts. One pass copies
 * each column's bytes into one buffer (inline strings of at most 12 bytes come from the view
 * itself, longer ones from the variadic buffers); nested types are rewritten child by child and
 * the dictionaries of dictionary columns too. Columns without view types are returned as they
 * are.
 *
 * @module
 */
import {
  Binary,
  Data,
  DataType,
  Dictionary,
  Field,
  FixedSizeList,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Schema,
  type Struct,
  Struct as StructType,
  Table,
  Type,
  Utf8,
  Vector,
  makeData,
} from 'apache-arrow';
import { recordBatchOf } from './record-batch.js';

const VIEW_WIDTH = 16;
const INLINE_MAX = 12;
const MAX_INT32 = 2 ** 31 - 1;

/**
 * True when `type` is or contains (as a child or a dictionary) a view type.
 *
 * @param type - an Arrow type
 * @returns whether {@link withoutViewTypes} would change a column of this type
 */
export function hasViewTypes(type: DataType): boolean {
  if (type.typeId === Type.Utf8View || type.typeId === Type.BinaryView) return true;
  if (DataType.isDictionary(type)) return hasViewTypes(type.dictionary);
  return (type.children ?? []).some((f) => hasViewTypes(f.type as DataType));
}

/** The type with view types replaced (`large`: the offset type needs 64-bit offsets). */
function offsetType(type: DataType, large = false): DataType {
  if (type.typeId === Type.Utf8View) return large ? new LargeUtf8() : new Utf8();
  if (type.typeId === Type.BinaryView) return large ? new LargeBinary() : new Binary();
  return type;
}

/** Validity bits of `data` starting at bit 0 (copied only when the offset is not byte-aligned). */
function rebasedBitmap(data: Data): Uint8Array | undefined {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return undefined;
  if ((data.offset & 7) === 0) return bitmap.subarray(data.offset >> 3);
  const out = new Uint8Array((data.length + 7) >> 3);
  for (let i = 0; i < data.length; i++) {
    const j = data.offset + i;
    if ((bitmap[j >> 3]! >> (j & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/** One Utf8View/BinaryView chunk as Utf8/Binary (or Large*), bytes copied once. */
function viewToOffsets(data: Data): Data {
  const n = data.length;
  const views = data.values as unknown as Uint8Array;
  const dv = new DataView(views.buffer, views.byteOffset, views.byteLength);
  const variadic = data.variadicBuffers;
  const nullBitmap = rebasedBitmap(data);
  const valid = (i: number) =>
    nullBitmap === undefined || ((nullBitmap[i >> 3]! >> (i & 7)) & 1) === 1;
  let total = 0;
  for (let i = 0; i < n; i++) if (valid(i)) total += dv.getInt32(i * VIEW_WIDTH, true);
  const large = total > MAX_INT32;
  const offsets = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
  const bytes = new Uint8Array(total);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (large) (offsets as BigInt64Array)[i] = BigInt(pos);
    else (offsets as Int32Array)[i] = pos;
    if (!valid(i)) continue;
    const at = i * VIEW_WIDTH;
    const len = dv.getInt32(at, true);
    if (len <= INLINE_MAX) {
      for (let k = 0; k < len; k++) bytes[pos + k] = views[at + 4 + k]!;
    } else {
      const buffer = variadic[dv.getInt32(at + 8, true)]!;
      const start = dv.getInt32(at + 12, true);
      bytes.set(buffer.subarray(start, start + len), pos);
    }
    pos += len;
  }
  if (large) (offsets as BigInt64Array)[n] = BigInt(pos);
  else (offsets as Int32Array)[n] = pos;
  return makeData({
    type: offsetType(data.type as DataType, large),
    length: n,
    nullCount: data.nullCount,
    nullBitmap,
    valueOffsets: offsets,
    data: bytes,
  } as never);
}

/** The type with every nested view type replaced (32-bit offsets). */
function withoutViewType(type: DataType): DataType {
  if (!hasViewTypes(type)) return type;
  const field = (f: Field) =>
    new Field(f.name, withoutViewType(f.type as DataType), f.nullable, f.metadata);
  switch (type.typeId) {
    case Type.Utf8View:
    case Type.BinaryView:
      return offsetType(type);
    case Type.List:
      return new List(field(type.children[0]!));
    case Type.LargeList:
      return new LargeList(field(type.children[0]!));
    case Type.FixedSizeList:
      return new FixedSizeList((type as FixedSizeList).listSize, field(type.children[0]!));
    case Type.Struct:
      return new StructType(type.children.map(field));
    case Type.Map:
      return new Map_(field(type.children[0]!) as Field<Struct>, (type as Map_).keysSorted);
    default:
      if (DataType.isDictionary(type)) {
        return new Dictionary(
          withoutViewType(type.dictionary),
          type.indices,
          type.id,
          type.isOrdered
        );
      }
      return type;
  }
}

/**
 * One chunk with its view types rewritten (see the module doc).
 *
 * @param data - a chunk of any type
 * @returns the chunk itself when it has no view types, else the rewritten chunk
 */
export function withoutViewData(data: Data): Data {
  const type = data.type as DataType;
  if (!hasViewTypes(type)) return data;
  if (type.typeId === Type.Utf8View || type.typeId === Type.BinaryView) return viewToOffsets(data);
  const dictionary =
    data.dictionary === undefined
      ? undefined
      : new Vector(data.dictionary.data.map((d) => withoutViewData(d as Data)));
  const children = data.children.map((c) => withoutViewData(c as Data));
  let newType = withoutViewType(type);
  if (DataType.isDictionary(newType) && dictionary !== undefined) {
    // The rewritten dictionary may need 64-bit offsets: take its actual type.
    newType = new Dictionary(
      dictionary.type as DataType,
      newType.indices,
      newType.id,
      newType.isOrdered
    );
  }
  return new Data(
    newType,
    data.offset,
    data.length,
    data.nullCount,
    [data.valueOffsets, data.values, data.nullBitmap, data.typeIds] as never,
    children,
    dictionary
  );
}

/**
 * A table with every view-typed column rewritten as offsets (see the module doc).
 *
 * @param table - any table of our Arrow copy
 * @returns `table` itself when no column has a view type, else a rewritten table
 */
export function withoutViewTypes(table: Table): Table {
  if (!table.schema.fields.some((f) => hasViewTypes(f.type as DataType))) return table;
  if (table.batches.length === 0) {
    const fields = table.schema.fields.map(
      (f) => new Field(f.name, withoutViewType(f.type as DataType), f.nullable, f.metadata)
    );
    return new Table(new Schema(fields, table.schema.metadata));
  }
  const batches = table.batches.map((batch) => {
    const children = batch.data.children.map((c) => withoutViewData(c as Data));
    const fields = batch.schema.fields.map(
      (f, i) => new Field(f.name, children[i]!.type as DataType, f.nullable, f.metadata)
    );
    return recordBatchOf(fields, children, batch.numRows);
  });
  return new Table(batches);
}
