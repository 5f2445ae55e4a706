/**
 * The result of one `apply` / `withColumn` call, assembled from its tasks' result vectors in
 * order. A fixed-width numeric result without nulls (`double`, `float`, `int`, `long`, ...) is
 * copied, part by part as it arrives, into ONE array of the call's length: the caller gets a
 * single contiguous chunk (as the model's own `predict` on the whole table would give), and
 * each part's memory dies young. Keeping 32 parts alive until the end of a call made them
 * survive scavenges and cost a full mark-compact per call (10-30 ms on a 2M-row linear model,
 * more than the copy). Anything else (nulls, nested, strings) is concatenated as chunks.
 *
 * @module
 */
import { type DataType, type Vector, Type, makeData, makeVector } from 'apache-arrow';

/** The array class of a fixed-width numeric result. */
export type NumericArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** The typed-array class of a fixed-width numeric Arrow type (`Float64Array` for double, ...). */
export type NumericClass = {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
};

/**
 * Whether `part` can be copied value by value as a result of type `typeName`: that type, no
 * nulls, every chunk's values of the type's array class. Shared by the calling thread (this
 * module) and the workers (`score-batch.ts`, writing into a result slab).
 *
 * @param part - a result vector
 * @param typeName - `String(type)` of the expected result type
 * @returns true when {@link copyValues} copies it exactly
 */
export function isPlainFixedWidth(part: Vector, typeName: string): boolean {
  if (String(part.type) !== typeName) return false;
  const Ctor = (part.type as unknown as { ArrayType?: unknown }).ArrayType;
  return (
    Ctor !== undefined &&
    part.data.every(
      (d) =>
        d.nullCount === 0 &&
        (d.values as unknown as { constructor: unknown }).constructor === Ctor &&
        d.values.length >= d.length
    )
  );
}

/**
 * Copies the values of `part` (see {@link isPlainFixedWidth}) into `out` from index `at`.
 * Arrow JS pre-slices `values`, so a chunk's rows start at its index 0. A chunk that already is
 * that range of `out` is not copied.
 *
 * @returns the index after the last value copied
 */
export function copyValues(part: Vector, out: NumericArray, at: number): number {
  for (const d of part.data) {
    const values = (d.values as Float64Array).subarray(0, d.length);
    const inPlace =
      values.buffer === out.buffer &&
      values.byteOffset === out.byteOffset + at * out.BYTES_PER_ELEMENT;
    if (!inPlace) (out as Float64Array).set(values, at);
    at += d.length;
  }
  return at;
}

/**
 * Whether a result of `type` is copied, part by part, into one array of the call's length
 * (fixed-width integers and floats) rather than kept as chunks.
 *
 * @param type - the result's Arrow type
 */
export function isCopiedResultType(type: DataType): boolean {
  return type.typeId === Type.Int || type.typeId === Type.Float;
}

/** Collects a call's result parts in order; see the module comment. */
export class ResultAssembler {
  readonly #type: DataType;
  readonly #typeName: string;
  readonly #rows: number;
  /** The call's array while every part so far was copied into it. */
  #out: NumericArray | undefined;
  #filled = 0;
  /** Parts kept as chunks (the first part while alone; everything after a fallback). */
  #parts: Vector[] = [];
  #copying: boolean;

  /**
   * @param type - the result's Arrow type (every part has it)
   * @param rows - rows of the whole call
   */
  constructor(type: DataType, rows: number) {
    this.#type = type;
    this.#typeName = String(type);
    this.#rows = rows;
    this.#copying = isCopiedResultType(type);
  }

  /**
   * Whether a worker task's result may be written into a result slab for {@link write}: the
   * result type's array class (the slab holds `rows * BYTES_PER_ELEMENT` bytes) when parts are
   * copied into one array, else undefined (a type other than fixed-width numeric, or after a
   * part with nulls made the parts chunks).
   *
   * Allocates nothing: the call's array is allocated by the first {@link write}, when a reply
   * is there. Allocating it as the first task was sent (16 MB for 2M doubles, external memory
   * that drives the calling thread's GC) put that allocation, and the GC work it set off, between
   * the call's first task and its others: a 2M-row shared-input call on 2 workers had a better
   * ratio to the model's own predict with the allocation at the first reply in 6 A/B pairs of
   * fresh processes out of 6 (1.23x against 1.06x on average; issue 9).
   *
   * @returns the result's array class, or undefined
   */
  slabClass(): NumericClass | undefined {
    if (!this.#copying) return undefined;
    const first = this.#parts[0];
    if (this.#out === undefined && first !== undefined && !this.#fits(first)) {
      this.#fallBack([]);
      return undefined;
    }
    return this.#arrayClass();
  }

  /**
   * Places `rows` values a worker wrote into `slab` (see {@link slabClass}) and returns them as
   * the part to {@link add}, in order, for rows `at..`. While parts are copied into one array,
   * they are copied to their rows of it (allocated on the first write, a lone first part copied
   * in first) and the part is a view of that range, which {@link add} does not copy again.
   * After a part with nulls made the parts chunks, the values get an array of their own.
   *
   * @param at - the part's first row in the call
   * @param slab - holds the values from byte 0, in the result type's array class
   * @param rows - rows of the part
   * @returns the part
   */
  write(at: number, slab: SharedArrayBuffer, rows: number): Vector {
    const Values = this.#arrayClass();
    const values = new Values(slab, 0, rows) as Float64Array;
    if (this.#copying && this.#out === undefined) this.#allocateOut();
    const out = this.#out;
    // slice(): a copy in an ordinary ArrayBuffer of its own, never the slab.
    if (!this.#copying || out === undefined) return this.#view(values.slice(), 0, rows);
    (out as Float64Array).set(values, at);
    return this.#view(out, at, at + rows);
  }

  /**
   * Adds the next part.
   *
   * @param part - the result of the next task, in input order
   */
  add(part: Vector): void {
    if (!this.#copying) {
      this.#parts.push(part);
      return;
    }
    if (this.#out === undefined && this.#parts.length === 0) {
      // Alone, it may be the whole result: copied only when a second part comes.
      this.#parts.push(part);
      return;
    }
    if (this.#out === undefined) {
      this.#allocateOut();
      if (!this.#copying) {
        this.#parts.push(part);
        return;
      }
    }
    if (!this.#fits(part) || this.#filled + part.length > this.#rows) {
      this.#fallBack([part]);
      return;
    }
    this.#copy(part);
  }

  /** @returns the call's result: one vector, one value per row */
  finish(): Vector {
    if (this.#out !== undefined) return this.#vectorOfCopied();
    const [first, ...rest] = this.#parts;
    return rest.length === 0 ? first! : first!.concat(...rest);
  }

  /** A part whose chunks can be copied. */
  #fits(part: Vector): boolean {
    return isPlainFixedWidth(part, this.#typeName);
  }

  #arrayClass(): NumericClass {
    return (this.#type as unknown as { ArrayType: NumericClass }).ArrayType;
  }

  /**
   * Allocates the call's array and copies a lone first part into it; when that part cannot be
   * copied (nulls), the parts become chunks instead.
   */
  #allocateOut(): void {
    const first = this.#parts[0];
    if (first !== undefined && !this.#fits(first)) {
      this.#fallBack([]);
      return;
    }
    this.#parts = [];
    this.#out = new (this.#arrayClass())(this.#rows);
    if (first !== undefined) this.#copy(first);
  }

  #copy(part: Vector): void {
    this.#filled = copyValues(part, this.#out!, this.#filled);
  }

  #vectorOfCopied(): Vector {
    return this.#view(this.#out!, 0, this.#filled);
  }

  /** Rows `start..end` of `array`, as a vector of the result type. */
  #view(array: NumericArray, start: number, end: number): Vector {
    return makeVector(
      makeData({
        type: this.#type as never,
        length: end - start,
        nullCount: 0,
        data: (array as Float64Array).subarray(start, end),
      })
    ) as Vector;
  }

  /** From here on, parts are kept as chunks (what was copied so far becomes the first one). */
  #fallBack(parts: Vector[]): void {
    this.#copying = false;
    if (this.#out !== undefined) this.#parts.push(this.#vectorOfCopied());
    this.#out = undefined;
    this.#parts.push(...parts);
  }
}
