/**
 * Encoding of bit-packed buffers (null bitmaps and Bool values): sent zero-copy when they start
 * on a byte boundary in shared memory, otherwise re-packed from bit 0, plus the bit helpers.
 *
 * @module
 */
import type { AnyTypedArray, Segment } from './arrow-like.js';
import { sharedRange, type Arena } from './encode-arena.js';
import type { WireData } from './wire-format.js';

/**
 * Null bitmap. Arrow JS never slices the bitmap: row `i` of a chunk is bit `offset + i`, so a
 * slice starts at an arbitrary bit. The output is re-packed from bit 0 (zero-filled memory:
 * `finish` zeroes the range of a reused slab first; bits OR-ed in segment order). Skipped when
 * no chunk has nulls.
 */
export function planValidity(node: WireData, segments: readonly Segment[], arena: Arena): void {
  if (!segments.some((s) => s.length > 0 && s.data.nullCount > 0)) return;
  const one = segments.length === 1 ? segments[0] : undefined;
  if (one !== undefined && one.data.nullBitmap !== undefined) {
    const bit = one.data.offset + one.start;
    const ref =
      (bit & 7) === 0
        ? sharedRange(arena, one.data.nullBitmap, bit >> 3, (one.length + 7) >> 3)
        : undefined;
    if (ref !== undefined) {
      node.nullBitmap = ref;
      node.nullCount =
        one.start === 0 && one.length === one.data.length
          ? one.data.nullCount
          : one.length - countBits(one.data.nullBitmap, bit, one.length);
      return;
    }
  }
  const ref = arena.alloc((node.length + 7) >> 3, true);
  node.nullBitmap = ref;
  arena.fills.push((bytes) => {
    const dst = bytes.subarray(ref.byteOffset, ref.byteOffset + ref.byteLength);
    let pos = 0;
    for (const s of segments) {
      const bitmap = s.data.nullBitmap;
      if (s.data.nullCount > 0 && bitmap !== undefined && bitmap.length > 0) {
        copyBits(bitmap, s.data.offset + s.start, dst, pos, s.length);
      } else {
        setBits(dst, pos, s.length);
      }
      pos += s.length;
    }
    node.nullCount = node.length - popcount(dst);
  });
}

/** Bool values: bit-packed like the bitmap, at bit `offset + i`. */
export function planBits(node: WireData, segments: readonly Segment[], arena: Arena): void {
  const one = segments.length === 1 ? segments[0] : undefined;
  if (one !== undefined && one.data.values !== undefined) {
    const bit = one.data.offset + one.start;
    const shared =
      (bit & 7) === 0
        ? sharedRange(arena, one.data.values, bit >> 3, (one.length + 7) >> 3)
        : undefined;
    if (shared !== undefined) {
      node.values = shared;
      return;
    }
  }
  const ref = arena.alloc((node.length + 7) >> 3, true);
  node.values = ref;
  arena.fills.push((bytes) => {
    const dst = bytes.subarray(ref.byteOffset, ref.byteOffset + ref.byteLength);
    let pos = 0;
    for (const s of segments) {
      if (s.data.values !== undefined)
        copyBits(asBytes(s.data.values), s.data.offset + s.start, dst, pos, s.length);
      pos += s.length;
    }
  });
}

/** Counts the set bits of `bits` in `[bit, bit + n)`. */
function countBits(bits: Uint8Array, bit: number, n: number): number {
  let count = 0;
  for (; n > 0 && (bit & 7) !== 0; n--, bit++) count += (bits[bit >> 3]! >> (bit & 7)) & 1;
  const whole = n >> 3;
  count += popcount(bits.subarray(bit >> 3, (bit >> 3) + whole));
  bit += whole << 3;
  n -= whole << 3;
  for (; n > 0; n--, bit++) count += (bits[bit >> 3]! >> (bit & 7)) & 1;
  return count;
}

function asBytes(view: AnyTypedArray): Uint8Array {
  return view instanceof Uint8Array
    ? view
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** ORs `n` bits from `src` at bit `srcBit` into zero-filled `dst` at bit `dstBit`. */
function copyBits(
  src: Uint8Array,
  srcBit: number,
  dst: Uint8Array,
  dstBit: number,
  n: number
): void {
  // Bit by bit until the destination is byte-aligned...
  while (n > 0 && (dstBit & 7) !== 0) {
    if ((src[srcBit >> 3]! >> (srcBit & 7)) & 1) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
    srcBit++;
    dstBit++;
    n--;
  }
  // ...then whole bytes (a plain copy when the source is aligned too, else shift-merge)...
  const bytes = n >> 3;
  const shift = srcBit & 7;
  const si = srcBit >> 3;
  const di = dstBit >> 3;
  if (shift === 0) {
    dst.set(src.subarray(si, si + bytes), di);
  } else {
    for (let k = 0; k < bytes; k++)
      dst[di + k] = ((src[si + k]! >> shift) | (src[si + k + 1]! << (8 - shift))) & 0xff;
  }
  srcBit += bytes << 3;
  dstBit += bytes << 3;
  n -= bytes << 3;
  // ...and the tail bit by bit.
  for (; n > 0; n--, srcBit++, dstBit++) {
    if ((src[srcBit >> 3]! >> (srcBit & 7)) & 1) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
  }
}

/** Sets `n` bits of `dst` from bit `dstBit` (chunks without a null bitmap are all valid). */
function setBits(dst: Uint8Array, dstBit: number, n: number): void {
  for (; n > 0 && (dstBit & 7) !== 0; n--, dstBit++) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
  const bytes = n >> 3;
  dst.fill(0xff, dstBit >> 3, (dstBit >> 3) + bytes);
  dstBit += bytes << 3;
  n -= bytes << 3;
  for (; n > 0; n--, dstBit++) dst[dstBit >> 3]! |= 1 << (dstBit & 7);
}

function popcount(bytes: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i]!;
    b = b - ((b >> 1) & 0x55);
    b = (b & 0x33) + ((b >> 2) & 0x33);
    count += (b + (b >> 4)) & 0x0f;
  }
  return count;
}
