import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { Float32, Table, TimestampMicrosecond, tableFromArrays } from 'apache-arrow';
import {
  adoptTable,
  adoptType,
  isArrowRecordBatchLike,
  isArrowTableLike,
  isArrowType,
  isArrowVectorLike,
} from '../../src/adapters/arrow-guards.js';

const foreign = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');

describe('arrow guards', () => {
  it('recognise Arrow objects of either copy, and reject look-alikes', () => {
    const ours = tableFromArrays({ a: new Float32Array([1]) });
    const theirs = foreign.tableFromArrays({ a: new Float32Array([1]) });
    for (const t of [ours, theirs]) {
      expect(isArrowTableLike(t)).toBe(true);
      expect(isArrowRecordBatchLike(t.batches[0])).toBe(true);
      expect(isArrowRecordBatchLike(t)).toBe(false);
      expect(isArrowVectorLike(t.getChild('a'))).toBe(true);
      expect(isArrowType(t.getChild('a')!.type)).toBe(true);
    }
    expect(isArrowTableLike({ schema: {}, batches: [] })).toBe(false);
    expect(isArrowVectorLike([1, 2])).toBe(false);
    expect(isArrowType({ typeId: 'x' })).toBe(false);
  });

  it('adopts foreign types as our specific classes, keeping parameters', () => {
    expect(adoptType(new foreign.Float32() as never)).toBeInstanceOf(Float32);
    const ts = adoptType(new foreign.TimestampMicrosecond('UTC') as never);
    expect(ts).toBeInstanceOf(TimestampMicrosecond);
    expect(String(ts)).toBe('Timestamp<MICROSECOND, UTC>');
    const ours = tableFromArrays({ a: new Float32Array([1]) });
    expect(adoptTable(ours)).toBe(ours);
    const adopted = adoptTable(foreign.tableFromArrays({ a: new Float32Array([2]) }) as never);
    expect(Object.getPrototypeOf(adopted)).toBe(Table.prototype);
    expect(adopted.getChild('a')!.get(0)).toBe(2);
  });
});
