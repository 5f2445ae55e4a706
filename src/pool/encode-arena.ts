/**
 * The batch buffer of an encoding: a bump allocator ({@link Arena}) that records aligned byte
 * ranges and fill callbacks while planning, {@link finish} that fills it once (into a fresh
 * buffer, or into a reused slab the caller leases), and {@link sharedRange}, which sends memory
 * already in a `SharedArrayBuffer` without copying.
 *
 * @module
 */
import { ModelError } from '../errors.js';
import type { AnyTypedArray } from './arrow-like.js';
import type { WireBuffer } from './wire-format.js';

/**
 * Bump allocator over the batch buffer. Planning records each buffer's aligned range and a
 * fill callback; the buffer is allocated (or leased) once the total size is known, then filled.
 */
export class Arena {
  /** Bytes of the batch buffer: what the encoding copies. */
  size = 0;
  /** Bytes sent as ranges of shared memory the input already lived in (not copied). */
  sharedBytes = 0;
  readonly fills: ((bytes: Uint8Array) => void)[] = [];
  /**
   * Ranges whose fills OR bits into zero-filled memory (null bitmaps, Bool values): zeroed
   * first when the buffer is a reused slab that still holds an earlier task's bytes.
   */
  readonly zeroed: WireBuffer[] = [];
  constructor(readonly reuseShared = true) {}
  /**
   * Reserves `byteLength` bytes, 8-byte aligned.
   *
   * @param byteLength - the range's size
   * @param zero - the range's fill expects zero-filled memory
   * @returns the range
   */
  alloc(byteLength: number, zero = false): WireBuffer {
    const byteOffset = (this.size + 7) & ~7;
    this.size = byteOffset + byteLength;
    const ref = { byteOffset, byteLength };
    if (zero) this.zeroed.push(ref);
    return ref;
  }
}

/**
 * True when `buffer` is a `SharedArrayBuffer` (checked by tag, so it also holds for one made in
 * another realm).
 *
 * @param buffer - the `.buffer` of a typed array, or any value.
 * @returns whether it is shared memory.
 */
export function isSharedMemory(buffer: unknown): buffer is SharedArrayBuffer {
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}

/** The range `[byteStart, byteStart + byteLength)` of `view` as a zero-copy wire buffer, or
 * undefined when it is not in shared memory (or reuse is off, or the range is out of bounds). */
export function sharedRange(
  arena: Arena,
  view: AnyTypedArray,
  byteStart: number,
  byteLength: number
): WireBuffer | undefined {
  if (!arena.reuseShared || !isSharedMemory(view.buffer)) return undefined;
  if (byteStart < 0 || byteStart + byteLength > view.byteLength) return undefined;
  arena.sharedBytes += byteLength;
  return { byteOffset: view.byteOffset + byteStart, byteLength, source: view.buffer };
}

/**
 * Fills the batch buffer: `into` when given (a leased slab, at least `arena.size` bytes, whose
 * old contents are overwritten: every range is written in full, and the bit ranges are zeroed
 * first), else a fresh buffer, shared or not.
 *
 * @param arena - the planned encoding
 * @param shared - allocate a `SharedArrayBuffer` (else an `ArrayBuffer`) when `into` is absent
 * @param into - a buffer to fill instead of allocating one
 * @returns the filled buffer
 * @throws {ModelError} E_INTERNAL when `into` is smaller than the plan
 */
export function finish(
  arena: Arena,
  shared: boolean,
  into?: SharedArrayBuffer | ArrayBuffer
): SharedArrayBuffer | ArrayBuffer {
  if (into !== undefined && into.byteLength < arena.size) {
    throw new ModelError(
      'E_INTERNAL',
      `encode: a buffer of ${into.byteLength} bytes cannot hold a batch of ${arena.size} bytes`
    );
  }
  const buffer = into ?? (shared ? new SharedArrayBuffer(arena.size) : new ArrayBuffer(arena.size));
  const bytes = new Uint8Array(buffer);
  if (into !== undefined) {
    for (const r of arena.zeroed) bytes.fill(0, r.byteOffset, r.byteOffset + r.byteLength);
  }
  for (const fill of arena.fills) fill(bytes);
  return buffer;
}
