import { Float64, Int64, Table, Utf8, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readFloat64, readStrings, requireColumn } from './columns.js';

describe('udf/shared/columns', () => {
  it('reads Float64, Int32 and Int64 columns as numbers', () => {
    const table = tableFromArrays({
      f: Float64Array.from([1.5, -2]),
      i: Int32Array.from([3, -4]),
      l: BigInt64Array.from([5n, -(2n ** 40n)]),
    });
    expect(Array.from(readFloat64(table, 'f'))).toEqual([1.5, -2]);
    expect(Array.from(readFloat64(table, 'i'))).toEqual([3, -4]);
    expect(Array.from(readFloat64(table, 'l'))).toEqual([5, -(2 ** 40)]);
  });

  it('reads int64 and uint64 exactly up to 2^53 (through the 32-bit halves)', () => {
    const edge = [0n, -1n, 1n, 2n ** 32n - 1n, -(2n ** 32n), 2n ** 53n - 1n, -(2n ** 53n - 1n)];
    const signed = tableFromArrays({ v: BigInt64Array.from(edge) });
    expect(Array.from(readFloat64(signed, 'v'))).toEqual(edge.map(Number));
    const unsigned = tableFromArrays({ v: BigUint64Array.from([0n, 2n ** 63n, 2n ** 53n - 1n]) });
    expect(Array.from(readFloat64(unsigned, 'v'))).toEqual([0, 2 ** 63, 2 ** 53 - 1]);
  });

  it('concatenates chunks and maps nulls to NaN without touching the input', () => {
    const a = new Table({ v: vectorFromArray([1, null], new Float64()) });
    const b = new Table({ v: vectorFromArray([null, 4], new Float64()) });
    expect(Array.from(readFloat64(a.concat(b), 'v'))).toEqual([1, NaN, NaN, 4]);
    const longs = new Table({ v: vectorFromArray([7n, null], new Int64()) });
    expect(Array.from(readFloat64(longs, 'v'))).toEqual([7, NaN]);
    expect(a.getChild('v')!.get(0)).toBe(1);
  });

  it('rejects missing and non-numeric columns by name', () => {
    const table = new Table({ s: vectorFromArray(['a'], new Utf8()) });
    expect(() => readFloat64(table, 's')).toThrow(
      /column "s" must be numeric; found Arrow type Utf8/
    );
    expect(() => requireColumn(table, 'x')).toThrow(/"x" is missing; found columns \[s\]/);
  });

  it('reads strings, keeping nulls; optional columns may be absent', () => {
    const table = new Table({ s: vectorFromArray(['a', null, 'c'], new Utf8()) });
    expect(readStrings(table, 's')).toEqual(['a', null, 'c']);
    expect(readStrings(table, 'lang', true)).toBeNull();
    expect(() => readStrings(table, 'lang')).toThrow(/"lang" is missing/);
  });
});
