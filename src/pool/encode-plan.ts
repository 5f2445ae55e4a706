/**
 * Planning of an encoding: walks a column's chunks (as {@link Segment}s) and its type, and for
 * every buffer either reserves a range of the batch buffer plus the fill that copies it there
 * (trimmed to the rows present, offsets rebased to 0, chunks concatenated) or, for memory
 * already shared, names that range (see `./transfer.ts`).
 *
 * @module
 */
import { ModelError } from '../errors.js';
import { T, type AnyTypedArray, type DataLike, type Segment, type TypeLike } from './arrow-like.js';
import { sharedRange, type Arena } from './encode-arena.js';
import { planBits, planValidity } from './encode-bits.js';
import type { WireData } from './wire-format.js';
import { childField, encodeType } from './wire-type.js';

function total(segments: readonly Segment[]): number {
  let n = 0;
  for (const s of segments) n += s.length;
  return n;
}

/** Plans the wire data of `segments` (one column's chunks) of type `type` into `arena`. */
export function plan(
  segments: readonly Segment[],
  type: TypeLike,
  column: string,
  arena: Arena
): WireData {
  const length = total(segments);
  const node: WireData = { length, nullCount: 0, children: [] };
  switch (type.typeId) {
    case T.Null:
      node.nullCount = length;
      return node;
    case T.Bool:
      planValidity(node, segments, arena);
      planBits(node, segments, arena);
      return node;
    case T.Int:
    case T.Float:
    case T.Decimal:
    case T.Date:
    case T.Time:
    case T.Timestamp:
    case T.Interval:
    case T.Duration:
    case T.FixedSizeBinary:
      planValidity(node, segments, arena);
      planFixedWidth(node, segments, arena);
      return node;
    case T.Utf8:
    case T.Binary:
    case T.List:
    case T.Map:
    case T.LargeUtf8:
    case T.LargeBinary:
    case T.LargeList: {
      planValidity(node, segments, arena);
      const childSegments = planOffsets(node, segments, column, arena, type.typeId);
      if (type.typeId === T.List || type.typeId === T.LargeList || type.typeId === T.Map) {
        node.children.push(
          plan(childSegments, childField(type, 0, column).type, `${column}[]`, arena)
        );
      }
      return node;
    }
    case T.FixedSizeList: {
      planValidity(node, segments, arena);
      const n = Number(type['listSize']);
      const child = childField(type, 0, column);
      const childSegments = segments.map((s) => ({
        data: childData(s.data, 0, column),
        start: s.start * n,
        length: s.length * n,
      }));
      node.children.push(plan(childSegments, child.type, `${column}[]`, arena));
      return node;
    }
    case T.Struct: {
      planValidity(node, segments, arena);
      (type.children ?? []).forEach((field, j) => {
        const childSegments = segments.map((s) => ({
          data: childData(s.data, j, column),
          start: s.start,
          length: s.length,
        }));
        node.children.push(plan(childSegments, field.type, `${column}.${field.name}`, arena));
      });
      return node;
    }
    case T.Dictionary:
      planValidity(node, segments, arena);
      planDictionary(node, segments, type, column, arena);
      return node;
    default:
      encodeType(type, column); // throws the "unsupported type" error
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column "${column}": unsupported Arrow type ${String(type)}`
      );
  }
}

/**
 * Child `index` of an Arrow `Data` node.
 *
 * @throws {ModelError} E_INPUT_INVALID when it is missing, naming the column.
 */
export function childData(data: DataLike, index: number, column: string): DataLike {
  const child = data.children[index];
  if (child === undefined) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column "${column}": Arrow data of type ${String(data.type)} lacks child ${index}`,
      {
        details: { column },
      }
    );
  }
  return child;
}

/** Fixed-width values: Arrow JS pre-slices `values`, so row `i` is at `i * stride` elements. */
function planFixedWidth(node: WireData, segments: readonly Segment[], arena: Arena): void {
  const first = segments.find((s) => s.data.values !== undefined)?.data;
  const rowBytes = first?.values ? first.stride * first.values.BYTES_PER_ELEMENT : 0;
  const one = segments.length === 1 ? segments[0] : undefined;
  if (one !== undefined && one.data.values !== undefined) {
    const shared = sharedRange(arena, one.data.values, one.start * rowBytes, one.length * rowBytes);
    if (shared !== undefined) {
      node.values = shared;
      return;
    }
  }
  const ref = arena.alloc(node.length * rowBytes);
  node.values = ref;
  arena.fills.push((bytes) => {
    let pos = ref.byteOffset;
    for (const s of segments) {
      const src = s.data.values;
      let copied = 0;
      if (src !== undefined) {
        const from = Math.min(s.start * rowBytes, src.byteLength);
        const to = Math.min((s.start + s.length) * rowBytes, src.byteLength);
        bytes.set(new Uint8Array(src.buffer, src.byteOffset + from, to - from), pos);
        copied = to - from;
      }
      // Rows without values read as zeros (the buffer may be a reused slab).
      if (copied < s.length * rowBytes) bytes.fill(0, pos + copied, pos + s.length * rowBytes);
      pos += s.length * rowBytes;
    }
  });
}

/**
 * Variable-width offsets (Utf8/Binary/List/Map and their Large twins). Arrow JS slices the
 * offsets but not the values or child, so offsets are absolute into the chunk's values; the
 * output is rebased to start at 0 and continues across chunks. Returns the child ranges.
 */
function planOffsets(
  node: WireData,
  segments: readonly Segment[],
  column: string,
  arena: Arena,
  typeId: number
): Segment[] {
  const large = typeId === T.LargeUtf8 || typeId === T.LargeBinary || typeId === T.LargeList;
  const hasValues =
    typeId === T.Utf8 || typeId === T.Binary || typeId === T.LargeUtf8 || typeId === T.LargeBinary;
  const ranges: [start: number, end: number][] = [];
  const childSegments: Segment[] = [];
  let valueBytes = 0;
  for (const s of segments) {
    const offsets = s.data.valueOffsets;
    const start = s.length > 0 && offsets ? Number(offsets[s.start]) : 0;
    const end = s.length > 0 && offsets ? Number(offsets[s.start + s.length]) : 0;
    ranges.push([start, end]);
    valueBytes += end - start;
    if (!hasValues && s.length > 0)
      childSegments.push({ data: childData(s.data, 0, column), start, length: end - start });
  }
  if (!large && valueBytes > 0x7fffffff) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column "${column}": ${valueBytes} values exceed the 2^31-1 limit of 32-bit offsets in one batch; use smaller batches or a Large type`,
      { details: { column, values: valueBytes } }
    );
  }
  const width = large ? 8 : 4;
  const one = segments.length === 1 ? segments[0] : undefined;
  const offsets = one?.data.valueOffsets;
  if (one !== undefined && one.length > 0 && offsets !== undefined) {
    // Utf8/Binary: offsets as they are, bytes from the chunk's first byte (absolute offsets).
    // List/Map: only when the offsets already start at 0, so the child is planned as before.
    const [start, end] = ranges[0]!;
    const offShared =
      hasValues || start === 0
        ? sharedRange(arena, offsets, one.start * width, (one.length + 1) * width)
        : undefined;
    const valShared =
      hasValues && one.data.values !== undefined
        ? sharedRange(arena, one.data.values, 0, end)
        : undefined;
    if (offShared !== undefined && (!hasValues || valShared !== undefined)) {
      node.valueOffsets = offShared;
      if (valShared !== undefined) node.values = valShared;
      return childSegments;
    }
  }
  const offRef = arena.alloc((node.length + 1) * width);
  node.valueOffsets = offRef;
  const valRef = hasValues ? arena.alloc(valueBytes) : undefined;
  if (valRef) node.values = valRef;
  arena.fills.push((bytes) => {
    const out = large
      ? new BigInt64Array(bytes.buffer, bytes.byteOffset + offRef.byteOffset, node.length + 1)
      : new Int32Array(bytes.buffer, bytes.byteOffset + offRef.byteOffset, node.length + 1);
    let k = 0;
    let base = 0;
    let valPos = valRef?.byteOffset ?? 0;
    // Every offset is written (the buffer may be a reused slab holding an earlier batch).
    if (out instanceof BigInt64Array) out[0] = 0n;
    else out[0] = 0;
    segments.forEach((s, i) => {
      const [start, end] = ranges[i]!;
      const src = s.data.valueOffsets;
      if (s.length > 0 && src === undefined) {
        if (out instanceof BigInt64Array) out.fill(BigInt(base), k + 1, k + 1 + s.length);
        else out.fill(base, k + 1, k + 1 + s.length);
      }
      if (s.length > 0 && src !== undefined) {
        if (out instanceof BigInt64Array) {
          const shift = BigInt(base - start);
          for (let r = 1; r <= s.length; r++) out[k + r] = BigInt(src[s.start + r]!) + shift;
        } else {
          const shift = base - start;
          for (let r = 1; r <= s.length; r++) out[k + r] = Number(src[s.start + r]!) + shift;
        }
        if (valRef && s.data.values !== undefined) {
          const v = s.data.values;
          bytes.set(new Uint8Array(v.buffer, v.byteOffset + start, end - start), valPos);
          valPos += end - start;
        }
      }
      k += s.length;
      base += end - start;
    });
  });
  return childSegments;
}

/**
 * Dictionary columns: indices are fixed-width; the dictionary is sent whole. Chunks normally
 * share one dictionary; when they do not, the dictionaries are concatenated and each chunk's
 * indices shifted by its dictionary's start.
 */
function planDictionary(
  node: WireData,
  segments: readonly Segment[],
  type: TypeLike,
  column: string,
  arena: Arena
): void {
  const dictionaries: { readonly data: readonly DataLike[] }[] = [];
  const bases: number[] = [];
  let dictLength = 0;
  const segmentBase = segments.map((s) => {
    const dict = s.data.dictionary ?? { data: [] };
    let index = dictionaries.indexOf(dict);
    if (index < 0) {
      index = dictionaries.push(dict) - 1;
      bases.push(dictLength);
      for (const d of dict.data) dictLength += d.length;
    }
    return bases[index]!;
  });
  if (dictionaries.length <= 1) {
    planFixedWidth(node, segments, arena);
  } else {
    const indices = type['indices'] as { bitWidth: number; isSigned: boolean };
    const max = indices.isSigned ? 2 ** (indices.bitWidth - 1) - 1 : 2 ** indices.bitWidth - 1;
    if (dictLength - 1 > max) {
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column "${column}": its chunks carry different dictionaries totalling ${dictLength} entries, more than ${String(type)} indices can address (max ${max}); unify the dictionaries first`,
        { details: { column, dictionaryLength: dictLength } }
      );
    }
    const first = segments.find((s) => s.data.values !== undefined)?.data.values;
    const bpe = first?.BYTES_PER_ELEMENT ?? 4;
    const ref = arena.alloc(node.length * bpe);
    node.values = ref;
    arena.fills.push((bytes) => {
      let pos = ref.byteOffset;
      segments.forEach((s, i) => {
        const src = s.data.values;
        if (src === undefined) bytes.fill(0, pos, pos + s.length * bpe);
        if (src !== undefined) {
          const Ctor = src.constructor as new (
            b: ArrayBufferLike,
            o: number,
            n: number
          ) => AnyTypedArray;
          const out = new Ctor(bytes.buffer, bytes.byteOffset + pos, s.length);
          const shift = segmentBase[i]!;
          for (let r = 0; r < s.length; r++) {
            const v = src[s.start + r]!;
            out[r] = typeof v === 'bigint' ? v + BigInt(shift) : ((v + shift) as never);
          }
        }
        pos += s.length * bpe;
      });
    });
  }
  const dictSegments = dictionaries.flatMap((d) =>
    d.data.map((data) => ({ data, start: 0, length: data.length }))
  );
  node.dictionary = plan(dictSegments, type['dictionary'] as TypeLike, column, arena);
}
