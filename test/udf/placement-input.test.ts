// What a merged batch on the calling thread may weigh: bytes per row of a call's input and the
// merge cap in rows (callerBatchSize, bounded by kCallerMergeBytes of input columns).
import { tableFromArrays, vectorFromArray, Table, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { bytesPerRow, callerMergeRows, kCallerMergeBytes } from '../../src/udf/placement-input.js';

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
