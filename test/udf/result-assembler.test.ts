import { Float64, Int64, Utf8, makeVector, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ResultAssembler } from '../../src/udf/result-assembler.js';

const f64 = (xs: number[]) => makeVector(Float64Array.from(xs));

describe('ResultAssembler', () => {
  it('copies fixed-width parts without nulls into one contiguous chunk', () => {
    const r = new ResultAssembler(new Float64(), 5);
    r.add(f64([1, 2]));
    r.add(f64([3]).concat(f64([4, 5])));
    const v = r.finish();
    expect(v.data.length).toBe(1);
    expect([...v]).toEqual([1, 2, 3, 4, 5]);
    expect(v.toArray()).toBeInstanceOf(Float64Array);
  });

  it('returns a single part as is (nothing copied)', () => {
    const part = f64([1, 2, 3]);
    const r = new ResultAssembler(new Float64(), 3);
    r.add(part);
    expect(r.finish()).toBe(part);
  });

  it('keeps chunks once a part has nulls, the values so far first', () => {
    const r = new ResultAssembler(new Float64(), 5);
    r.add(f64([1, 2]));
    r.add(f64([3]));
    r.add(vectorFromArray([null, 5], new Float64()));
    const v = r.finish();
    expect([...v]).toEqual([1, 2, 3, null, 5]);
    expect(v.nullCount).toBe(1);
  });

  it('concatenates other types (strings) and bigint columns alike', () => {
    const s = new ResultAssembler(new Utf8(), 3);
    s.add(vectorFromArray(['a'], new Utf8()));
    s.add(vectorFromArray(['b', null], new Utf8()));
    expect([...s.finish()]).toEqual(['a', 'b', null]);
    const l = new ResultAssembler(new Int64(), 3);
    l.add(makeVector(BigInt64Array.from([1n])));
    l.add(makeVector(BigInt64Array.from([2n, 3n])));
    const v = l.finish();
    expect(v.data.length).toBe(1);
    expect([...v]).toEqual([1n, 2n, 3n]);
  });
  describe('slabClass() and write(): worker results placed from their result slabs', () => {
    /** A result slab holding `xs` from byte 0, as a worker writes it. */
    const slab = (xs: number[]) => {
      const buffer = new SharedArrayBuffer(xs.length * 8);
      new Float64Array(buffer).set(xs);
      return buffer;
    };

    it('allocates the call array at the first write; its views are not copied again', () => {
      const r = new ResultAssembler(new Float64(), 5);
      expect(r.slabClass()).toBe(Float64Array);
      // A later task answers first: the array exists from then on.
      const later = r.write(2, slab([3, 4, 5]), 3);
      const out = later.data[0]!.values as Float64Array;
      expect(out.buffer.byteLength).toBe(5 * 8);
      expect(out.buffer).not.toBeInstanceOf(SharedArrayBuffer);
      expect([...later]).toEqual([3, 4, 5]);
      const first = r.write(0, slab([1, 2]), 2);
      expect((first.data[0]!.values as Float64Array).buffer).toBe(out.buffer);
      r.add(first);
      new Float64Array(out.buffer).fill(-1, 2); // had the part been copied, it would not change
      r.add(later);
      const v = r.finish();
      expect(v.data).toHaveLength(1);
      expect((v.data[0]!.values as Float64Array).buffer).toBe(out.buffer);
      expect([...v]).toEqual([1, 2, -1, -1, -1]);
    });

    it('reuses nothing of the slab: the slab may be overwritten once written', () => {
      const r = new ResultAssembler(new Float64(), 4);
      const s = slab([1, 2]);
      const part = r.write(0, s, 2);
      new Float64Array(s).fill(9);
      r.add(part);
      r.add(r.write(2, slab([3, 4]), 2));
      expect([...r.finish()]).toEqual([1, 2, 3, 4]);
    });

    it('copies a lone first part (from the calling thread) in first', () => {
      const r = new ResultAssembler(new Float64(), 4);
      r.add(f64([1, 2]));
      expect(r.slabClass()).toBe(Float64Array);
      r.add(r.write(2, slab([3, 4]), 2));
      const v = r.finish();
      expect(v.data).toHaveLength(1);
      expect([...v]).toEqual([1, 2, 3, 4]);
    });

    it('is undefined for other types and once parts became chunks', () => {
      expect(new ResultAssembler(new Utf8(), 3).slabClass()).toBeUndefined();
      expect(new ResultAssembler(new Int64(), 3).slabClass()).toBe(BigInt64Array);
      const r = new ResultAssembler(new Float64(), 3);
      r.add(vectorFromArray([null, 1], new Float64()));
      expect(r.slabClass()).toBeUndefined();
      r.add(f64([2]));
      expect([...r.finish()]).toEqual([null, 1, 2]);
    });

    it('gives a write after a part with nulls an array of its own', () => {
      const r = new ResultAssembler(new Float64(), 6);
      expect(r.slabClass()).toBe(Float64Array);
      const inPlace = r.write(4, slab([5, 6]), 2); // before the fallback: in the call array
      r.add(f64([1, 2]));
      r.add(vectorFromArray([null, 4], new Float64()));
      expect(r.slabClass()).toBeUndefined();
      r.add(inPlace);
      const v = r.finish();
      expect([...v]).toEqual([1, 2, null, 4, 5, 6]);
      expect(v.nullCount).toBe(1);
      // A task already in flight when the parts became chunks still answers through its slab.
      const late = new ResultAssembler(new Float64(), 4);
      expect(late.slabClass()).toBe(Float64Array);
      late.add(vectorFromArray([null, 1], new Float64()));
      const own = late.write(2, slab([7, 8]), 2);
      expect(own.data[0]!.values).toHaveLength(2);
      late.add(own);
      expect([...late.finish()]).toEqual([null, 1, 7, 8]);
    });
  });
});
