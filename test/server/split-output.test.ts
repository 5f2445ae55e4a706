// Splitting a merged predict output back per request (serve --workers): per-row outputs are cut
// by row ranges; anything else is reported unsplittable (its requests are then run alone).
import { Float64, type Table, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { splitOutput } from '../../src/server/split-output.js';

const ranges = [
  [0, 1],
  [1, 3],
] as const;

describe('splitOutput', () => {
  it('cuts tables, vectors, typed arrays, arrays and dicts of columns by rows', () => {
    const table = tableFromArrays({ y: Float64Array.from([1, 2, 3]) });
    const parts = splitOutput(table, 3, ranges)!;
    expect(parts.map((p) => (p as Table).numRows)).toEqual([1, 2]);
    const vector = vectorFromArray([1, 2, 3], new Float64());
    expect(splitOutput(vector, 3, ranges)!.map((p) => [...(p as Iterable<number>)])).toEqual([
      [1],
      [2, 3],
    ]);
    const typed = splitOutput(Float64Array.from([1, 2, 3]), 3, ranges)!;
    expect(typed.map((p) => Array.from(p as Float64Array))).toEqual([[1], [2, 3]]);
    expect(splitOutput(['a', 'b', 'c'], 3, ranges)).toEqual([['a'], ['b', 'c']]);
    expect(splitOutput({ a: [1, 2, 3], b: ['x', 'y', 'z'] }, 3, ranges)).toEqual([
      { a: [1], b: ['x'] },
      { a: [2, 3], b: ['y', 'z'] },
    ]);
  });

  it('refuses outputs that are not one entry per row', () => {
    expect(splitOutput([1, 2], 3, ranges)).toBeNull();
    expect(splitOutput(42, 3, ranges)).toBeNull();
    expect(splitOutput({ mean: 2 }, 3, ranges)).toBeNull();
    expect(splitOutput({ a: [1, 2, 3], b: [1] }, 3, ranges)).toBeNull();
    expect(splitOutput(new Map([['a', [1, 2, 3]]]), 3, ranges)).toBeNull();
    expect(splitOutput({}, 3, ranges)).toBeNull();
  });
});
