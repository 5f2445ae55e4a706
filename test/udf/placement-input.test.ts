// What a merged batch on the calling thread may weigh: bytes per row of a call's input, the
// bytes enforcement copies, and the merge cap in rows (callerBatchSize, bounded by
// kCallerMergeBytes of copied columns).
import { tableFromArrays, vectorFromArray, Table, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { ColSpec, TensorSpec } from '../../src/signature/types.js';
import type { ColumnMapping } from '../../src/udf/column-mapping.js';
import {
  bytesPerRow,
  callerMergeRows,
  castBytesPerRow,
  kCallerMergeBytes,
} from '../../src/udf/placement-input.js';

describe('bytesPerRow', () => {
  it('adds up values, offsets and validity per row', () => {
    const numeric = tableFromArrays({
      a: new Float64Array(1000),
      b: new Int32Array(1000),
    });
    expect(bytesPerRow(numeric)).toBe(12);
    // The buffers as allocated: a builder pads them, so at least 6 bytes of text + 5 int32
    // offsets + 1 validity byte over 4 rows, and that plus the padding.
    const text = new Table({ s: vectorFromArray(['ab', 'cde', null, 'f'], new Utf8()) });
    const d = text.batches[0]!.data.children[0]!;
    expect(bytesPerRow(text)).toBe(
      (d.values.byteLength + d.valueOffsets.byteLength + d.nullBitmap!.byteLength) / 4
    );
    expect(bytesPerRow(text)).toBeGreaterThanOrEqual((6 + 5 * 4 + 1) / 4);
    expect(bytesPerRow(tableFromArrays({ a: new Float64Array(0) }))).toBe(0);
  });
});

describe('callerMergeRows', () => {
  it('is callerBatchSize for narrow rows, and bounded by the input bytes for wide ones', () => {
    expect(callerMergeRows(1_048_576, 80)).toBe(1_048_576);
    // 1,000 float64 columns: 8,000 bytes a row.
    expect(callerMergeRows(1_048_576, 8000)).toBe(Math.floor(kCallerMergeBytes / 8000));
    expect(callerMergeRows(1_048_576, 8000) * 8000).toBeLessThanOrEqual(kCallerMergeBytes);
    expect(callerMergeRows(1_048_576, 1e12)).toBe(1);
    // Unknown weight (an empty table): the option alone.
    expect(callerMergeRows(5000, 0)).toBe(5000);
  });
});

describe('castBytesPerRow', () => {
  const rows = 1000;
  const input = tableFromArrays({
    same: new Float64Array(rows),
    narrow: new Int32Array(rows),
    wide: new Float64Array(rows),
  });
  const col = (name: string, type: 'double' | 'long' | 'float'): ColSpec => ({
    kind: 'column',
    name,
    type: { type },
    required: true,
  });
  const pairs = (...names: [string, string][]): ColumnMapping => ({
    kind: 'columns',
    pairs: names.map(([source, target]) => ({ source, target })),
  });

  it('counts only the columns enforcement casts', () => {
    const mapping = pairs(['same', 'a'], ['narrow', 'b'], ['wide', 'c']);
    // Float64 for double passes through; Int32 -> double and Float64 -> float are cast.
    const schema = [col('a', 'double'), col('b', 'double'), col('c', 'float')];
    expect(castBytesPerRow(input, mapping, schema)).toBe(4 + 8);
    expect(
      castBytesPerRow(input, mapping, [col('a', 'double'), col('b', 'long'), col('c', 'double')])
    ).toBe(4);
    const none = [col('a', 'double'), col('b', 'double'), col('c', 'double')].map((c, i) =>
      i === 1 ? { ...c, type: { type: 'integer' as const } } : c
    );
    expect(castBytesPerRow(input, mapping, none)).toBe(0);
  });

  it('matches unnamed column specs by position', () => {
    const unnamed: ColSpec[] = [
      { kind: 'column', type: { type: 'double' }, required: true },
      { kind: 'column', type: { type: 'double' }, required: true },
    ];
    expect(castBytesPerRow(input, pairs(['same', '0'], ['narrow', '1']), unnamed)).toBe(4);
  });

  it('is 0 without a signature and every column when it cannot tell', () => {
    const mapping = pairs(['same', 'a'], ['narrow', 'b'], ['wide', 'c']);
    expect(castBytesPerRow(input, mapping, null)).toBe(0);
    expect(castBytesPerRow(input, mapping, [])).toBe(0);
    const tensor: TensorSpec[] = [{ kind: 'tensor', dtype: 'float64', shape: [-1, 3] }];
    expect(castBytesPerRow(input, mapping, tensor)).toBe(bytesPerRow(input));
    expect(castBytesPerRow(input, { kind: 'struct', source: 'same' }, [col('a', 'double')])).toBe(
      bytesPerRow(input)
    );
    const nested: ColSpec = {
      kind: 'column',
      name: 'a',
      type: { type: 'array', items: { type: 'double' } },
      required: true,
    };
    expect(castBytesPerRow(input, pairs(['same', 'a']), [nested])).toBe(8);
    // `any` passes through whatever the column.
    const any: ColSpec = { kind: 'column', name: 'a', type: { type: 'any' }, required: true };
    expect(castBytesPerRow(input, pairs(['narrow', 'a']), [any])).toBe(0);
    expect(castBytesPerRow(tableFromArrays({ a: new Float64Array(0) }), mapping, [nested])).toBe(0);
  });

  it('lets a call of columns that pass through merge up to callerBatchSize alone', () => {
    const schema = [col('a', 'double')];
    const cast = castBytesPerRow(input, pairs(['narrow', 'a']), schema);
    expect(callerMergeRows(Infinity, castBytesPerRow(input, pairs(['same', 'a']), schema))).toBe(
      Infinity
    );
    expect(callerMergeRows(Infinity, cast)).toBe(Math.floor(kCallerMergeBytes / cast));
  });
});
