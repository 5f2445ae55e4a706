import {
  DateDay,
  Table,
  TimestampMillisecond,
  tableFromArrays,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { splitToRows, toSplitFrame } from '../../src/package/input-example.js';

describe('toSplitFrame', () => {
  const expected = {
    columns: ['a', 'b'],
    data: [
      [1, 'x'],
      [2, null],
    ],
  };

  it('accepts rows, columns and Arrow tables alike', () => {
    expect(toSplitFrame([{ a: 1, b: 'x' }, { a: 2 }])).toEqual(expected);
    expect(toSplitFrame({ a: [1, 2], b: ['x', null] })).toEqual(expected);
    expect(toSplitFrame(tableFromArrays({ a: Int32Array.from([1, 2]), b: ['x', null] }))).toEqual(
      expected
    );
    expect(splitToRows(expected)).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: null },
    ]);
  });

  it('writes null for a key missing from a row even when Object.prototype has it', () => {
    expect(toSplitFrame([{ a: 1, toString: 'x' }, { a: 2 }])).toEqual({
      columns: ['a', 'toString'],
      data: [
        [1, 'x'],
        [2, null],
      ],
    });
  });

  it('names 2-D array columns by position and treats an object of scalars as one row', () => {
    expect(
      toSplitFrame([
        [1, 2],
        [3, 4],
      ])
    ).toEqual({
      columns: ['0', '1'],
      data: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(toSplitFrame({ a: 1, b: 'x' })).toEqual({ columns: ['a', 'b'], data: [[1, 'x']] });
  });

  it('turns non-JSON values into JSON', () => {
    const when = new Date(Date.UTC(2024, 0, 2));
    const out = toSplitFrame([
      {
        n: 5n,
        big: 2n ** 70n,
        d: when,
        nan: NaN,
        bytes: Uint8Array.from([1, 2]),
        v: Float32Array.from([0.5]),
      },
    ]);
    expect(out.data[0]).toEqual([
      5,
      (2n ** 70n).toString(),
      '2024-01-02T00:00:00.000Z',
      null,
      'AQI=',
      [0.5],
    ]);
  });

  it('writes Arrow timestamp and date cells as ISO text, like JS Dates (numbers would not score)', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5);
    const t = new Table({
      ts: vectorFromArray([new Date(ms), null], new TimestampMillisecond()),
      day: vectorFromArray([new Date(Date.UTC(1969, 11, 31)), new Date(0)], new DateDay()),
    });
    expect(toSplitFrame(t).data).toEqual([
      [new Date(ms).toISOString(), '1969-12-31T00:00:00.000Z'],
      [null, '1970-01-01T00:00:00.000Z'],
    ]);
  });

  it('writes a JS Map cell as an object of its entries', () => {
    const m = new Map<string, unknown>([
      ['a', 1],
      ['b', new Map([['c', 2n]])],
    ]);
    expect(toSplitFrame([{ m }]).data).toEqual([[{ a: 1, b: { c: 2 } }]]);
  });

  it('rejects unequal columns and unsupported values', () => {
    expect(() => toSplitFrame({ a: [1, 2], b: [1] })).toThrow(/unequal lengths \(a: 2, b: 1\)/);
    expect(() => toSplitFrame('text')).toThrow(
      expect.objectContaining({ code: 'E_INPUT_INVALID' })
    );
    expect(() => toSplitFrame([1, 2])).toThrow(/neither rows/);
  });
});
