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
    this.#copying = type.typeId === Type.Int || type.typeId === Type.Float;
  }

  /**
   * The call's result array, for a part to be written to its rows before it is added (a
   * worker's result copied from its result slab straight to its place). Allocated on the first
   * call (a lone first part kept uncopied is copied into it then), so a call whose parts all
   * come from the calling thread never pays for it. A part added as a view of its own rows of
   * this array is not copied again. Undefined for a result that is not copied (a type other
   * than fixed-width numeric, or after a part with nulls made the parts chunks).
   *
   * @returns the array of the call's length, or undefined
   */
  target(): NumericArray | undefined {
    if (!this.#copying) return undefined;
    if (this.#out === undefined) {
      const first = this.#parts[0];
      if (first !== undefined && !this.#fits(first)) {
        this.#fallBack([]);
        return undefined;
      }
      this.#parts = [];
      this.#out = this.#allocate();
      if (first !== undefined) this.#copy(first);
    }
    return this.#out;
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
      const first = this.#parts[0]!;
      this.#parts = [];
      if (!this.#fits(first)) {
        this.#fallBack([first, part]);
        return;
      }
      this.#out = this.#allocate();
      this.#copy(first);
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

  /** A part whose chunks can be copied: same type, no nulls, values of the array's class. */
  #fits(part: Vector): boolean {
    if (String(part.type) !== this.#typeName) return false;
    const Ctor = (this.#type as unknown as { ArrayType: unknown }).ArrayType;
    return part.data.every(
      (d) =>
        d.nullCount === 0 &&
        (d.values as unknown as { constructor: unknown }).constructor === Ctor &&
        d.values.length >= d.length
    );
  }

  #allocate(): NumericArray {
    const Ctor = (this.#type as unknown as { ArrayType: new (n: number) => NumericArray })
      .ArrayType;
    return new Ctor(this.#rows);
  }

  #copy(part: Vector): void {
    const out = this.#out!;
    for (const d of part.data) {
      const values = (d.values as Float64Array).subarray(0, d.length);
      const inPlace =
        values.buffer === out.buffer &&
        values.byteOffset === out.byteOffset + this.#filled * out.BYTES_PER_ELEMENT;
      if (!inPlace) (out as Float64Array).set(values, this.#filled);
      this.#filled += d.length;
    }
  }

  #vectorOfCopied(): Vector {
    return makeVector(
      makeData({
        type: this.#type as never,
        length: this.#filled,
        nullCount: 0,
        data: (this.#out as Float64Array).subarray(0, this.#filled),
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
