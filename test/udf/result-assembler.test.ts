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
});
