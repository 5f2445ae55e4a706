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
  describe("target(): the call's array for parts written in place", () => {
    const inPlace = (out: Float64Array, at: number, n: number) =>
      makeVector(out.subarray(at, at + n));

    it('is allocated on first use; parts that are views of their rows are not copied', () => {
      const r = new ResultAssembler(new Float64(), 5);
      const out = r.target() as Float64Array;
      expect(out).toHaveLength(5);
      expect(r.target()).toBe(out);
      out.set([3, 4, 5], 2); // a later task, written before the first one is added
      r.add(f64([1, 2]));
      const later = inPlace(out, 2, 3);
      out.fill(-1, 2); // had the part been copied, its values would not change
      r.add(later);
      const v = r.finish();
      expect((v.data[0]!.values as Float64Array).buffer).toBe(out.buffer);
      expect([...v]).toEqual([1, 2, -1, -1, -1]);
    });

    it('copies a lone first part into it first', () => {
      const r = new ResultAssembler(new Float64(), 4);
      r.add(f64([1, 2]));
      const out = r.target() as Float64Array;
      expect([...out.subarray(0, 2)]).toEqual([1, 2]);
      out.set([3, 4], 2);
      r.add(inPlace(out, 2, 2));
      expect([...r.finish()]).toEqual([1, 2, 3, 4]);
    });

    it('is undefined for other types and once parts became chunks', () => {
      expect(new ResultAssembler(new Utf8(), 3).target()).toBeUndefined();
      const r = new ResultAssembler(new Float64(), 3);
      r.add(vectorFromArray([null, 1], new Float64()));
      expect(r.target()).toBeUndefined();
      r.add(f64([2]));
      expect([...r.finish()]).toEqual([null, 1, 2]);
    });

    it('keeps parts written in place as chunks after a later part with nulls', () => {
      const r = new ResultAssembler(new Float64(), 6);
      const out = r.target() as Float64Array;
      out.set([5, 6], 4);
      r.add(f64([1, 2]));
      r.add(vectorFromArray([null, 4], new Float64()));
      r.add(inPlace(out, 4, 2));
      expect(r.target()).toBeUndefined();
      const v = r.finish();
      expect([...v]).toEqual([1, 2, null, 4, 5, 6]);
      expect(v.nullCount).toBe(1);
    });
  });
});
