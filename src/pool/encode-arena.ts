/**
 * The batch buffer of an encoding: a bump allocator ({@link Arena}) that records aligned byte
 * ranges and fill callbacks while planning, {@link finish} that allocates and fills it once,
 * and {@link sharedRange}, which sends memory already in a `SharedArrayBuffer` without copying.
 *
 * @module
 */
import type { AnyTypedArray } from './arrow-like.js';
import type { WireBuffer } from './wire-format.js';

/**
 * Bump allocator over the batch buffer. Planning records each buffer's aligned range and a
 * fill callback; the buffer is allocated once the total size is known, then filled.
 */
export class Arena {
  size = 0;
  readonly fills: ((bytes: Uint8Array) => void)[] = [];
  constructor(readonly reuseShared = true) {}
  alloc(byteLength: number): WireBuffer {
    const byteOffset = (this.size + 7) & ~7;
    this.size = byteOffset + byteLength;
    return { byteOffset, byteLength };
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
  return { byteOffset: view.byteOffset + byteStart, byteLength, source: view.buffer };
}

/** Allocates the batch buffer (shared or not) once its size is known and runs the fills. */
export function finish(arena: Arena, shared: boolean): SharedArrayBuffer | ArrayBuffer {
  const buffer = shared ? new SharedArrayBuffer(arena.size) : new ArrayBuffer(arena.size);
  const bytes = new Uint8Array(buffer);
  for (const fill of arena.fills) fill(bytes);
  return buffer;
}
