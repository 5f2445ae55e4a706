// A call's tasks: row ranges over one source table, cut only when a slice is scored alone.
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { ColumnMapping } from '../../src/udf/column-mapping.js';
import { mergedSlice, slicesOf, tableOf } from '../../src/udf/slice.js';

const table = tableFromArrays({ x: Float64Array.from({ length: 10 }, (_, i) => i * 10) });
const mapping: ColumnMapping = { kind: 'columns', pairs: [{ source: 'x', target: 'x' }] };
const values = (t: { getChild(n: string): { toArray(): ArrayLike<number> } | null }) =>
  Array.from(t.getChild('x')!.toArray());

describe('slice', () => {
  it('slicesOf covers the rows in order, one slice per size, nothing cut yet', () => {
    const slices = slicesOf(table, mapping, [4, 3, 3]);
    expect(slices.map((s) => [s.batchIndex, s.rowStart, s.rowEnd])).toEqual([
      [0, 0, 4],
      [1, 4, 7],
      [2, 7, 10],
    ]);
    expect(slices.every((s) => s.table === undefined && s.source === table)).toBe(true);
  });

  it('tableOf cuts a slice once, and a slice of the whole source is the source itself', () => {
    const [a, b] = slicesOf(table, mapping, [4, 6]);
    const cut = tableOf(b!);
    expect(values(cut)).toEqual([40, 50, 60, 70, 80, 90]);
    expect(tableOf(b!)).toBe(cut);
    expect(values(tableOf(a!))).toEqual([0, 10, 20, 30]);
    const [whole] = slicesOf(table, mapping, [10]);
    expect(tableOf(whole!)).toBe(table);
  });

  it('mergedSlice spans its parts, keeps them, and drops the first part’s cut table', () => {
    const parts = slicesOf(table, mapping, [2, 3, 5]).slice(1);
    tableOf(parts[0]!);
    const merged = mergedSlice(parts);
    expect([merged.batchIndex, merged.rowStart, merged.rowEnd]).toEqual([1, 2, 10]);
    expect(merged.parts).toBe(parts);
    expect(merged.table).toBeUndefined();
    expect(values(tableOf(merged))).toEqual([20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('a slice whose source starts later cuts relative to that start', () => {
    const part = {
      ...slicesOf(table, mapping, [10])[0]!,
      sourceStart: 100,
      rowStart: 103,
      rowEnd: 105,
    };
    expect(values(tableOf(part))).toEqual([30, 40]);
  });
});
