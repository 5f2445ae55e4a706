import {
  Bool,
  Dictionary,
  Field,
  Float32,
  Int32,
  Int64,
  Int8,
  List,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  tableFromArrays,
  util,
  vectorFromArray,
} from 'apache-arrow';
import type { Data, Vector } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { shareData, shareTable, shareVector } from '../../src/pool/shared-table.js';
import { encodeTable, isSharedMemory } from '../../src/pool/transfer.js';

/** Every typed array of a Data tree (values, offsets, bitmap, children, dictionary). */
function buffersOf(data: Data): ArrayBufferView[] {
  const out: ArrayBufferView[] = [];
  for (const b of [data.values, data.valueOffsets, data.nullBitmap] as unknown[])
    if (ArrayBuffer.isView(b) && b.byteLength > 0) out.push(b);
  for (const c of data.children) out.push(...buffersOf(c));
  for (const d of data.dictionary?.data ?? []) out.push(...buffersOf(d));
  return out;
}

const rows = 37;
const maybe = <T>(f: (i: number) => T) =>
  Array.from({ length: rows }, (_, i) => (i % 5 === 3 ? null : f(i)));

function sample(): Table {
  const columns: Record<string, Vector> = {
    f64: vectorFromArray(maybe((i) => i / 3)),
    f32: vectorFromArray(
      maybe((i) => i * 0.5),
      new Float32()
    ),
    i32: vectorFromArray(
      maybe((i) => i - 20),
      new Int32()
    ),
    i64: vectorFromArray(
      maybe((i) => BigInt(i) * 10_000_000_000n),
      new Int64()
    ),
    b: vectorFromArray(
      maybe((i) => i % 2 === 0),
      new Bool()
    ),
    s: vectorFromArray(
      maybe((i) => `text ${i} ✓`),
      new Utf8()
    ),
    t: vectorFromArray(
      maybe((i) => new Date(Date.UTC(2024, 0, 1 + i))),
      new TimestampMillisecond()
    ),
    l: vectorFromArray(
      maybe((i) => Array.from({ length: i % 4 }, (_, k) => k * i)),
      new List(new Field('item', new Int32(), true))
    ),
    st: vectorFromArray(
      maybe((i) => ({ a: i, z: `z${i}` })),
      new Struct([new Field('a', new Int32(), true), new Field('z', new Utf8(), true)])
    ),
    d: vectorFromArray(
      maybe((i) => ['red', 'green', 'blue'][i % 3]!),
      new Dictionary(new Utf8(), new Int8())
    ),
  };
  const t = new Table(columns);
  const fields = t.schema.fields.map(
    (f) => new Field(f.name, f.type, f.nullable, new Map([['col', f.name]]))
  );
  return new Table(new Schema(fields, new Map([['origin', 'test']])), t.batches);
}

function expectSame(actual: Table, expected: Table): void {
  expect(actual.numRows).toBe(expected.numRows);
  expect([...actual.schema.metadata]).toEqual([...expected.schema.metadata]);
  expected.schema.fields.forEach((f, j) => {
    const g = actual.schema.fields[j]!;
    expect(g.name).toBe(f.name);
    expect(util.compareTypes(g.type, f.type), f.name).toBe(true);
    expect(g.nullable).toBe(f.nullable);
    expect([...g.metadata]).toEqual([...f.metadata]);
    const a = actual.getChildAt(j)!;
    const e = expected.getChildAt(j)!;
    expect(a.nullCount, f.name).toBe(e.nullCount);
    expect(JSON.stringify(a.toJSON(), bigints), f.name).toBe(JSON.stringify(e.toJSON(), bigints));
  });
}
const bigints = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

describe('shareTable', () => {
  it('keeps names, types, nullability, metadata, nulls and values', () => {
    const table = sample();
    expectSame(shareTable(table), table);
  });

  it('puts every buffer of every column (children, dictionaries) in shared memory', () => {
    const shared = shareTable(sample());
    for (const column of shared.data[0]!.children) {
      const buffers = buffersOf(column);
      expect(buffers.length).toBeGreaterThan(0);
      for (const b of buffers) expect(isSharedMemory(b.buffer), String(column.type)).toBe(true);
    }
  });

  it('concatenates a multi-batch, sliced table into one batch', () => {
    const table = sample();
    const multi = new Table([...table.slice(20, 37).batches, ...table.slice(3, 15).batches]);
    expect(multi.batches.length).toBe(2);
    const shared = shareTable(multi);
    expect(shared.batches).toHaveLength(1);
    expectSame(shared, multi);
  });

  it('is copied once: encoding the shared table for a worker copies nothing', () => {
    const shared = shareTable(tableFromArrays({ x: Float64Array.from([1, 2, 3]) }));
    expect(encodeTable(shared).buffer.byteLength).toBe(0);
    // Sharing a shared table again keeps the same memory.
    const again = shareTable(shared);
    expect(again.getChild('x')!.data[0]!.values.buffer).toBe(
      shared.getChild('x')!.data[0]!.values.buffer
    );
  });

  it('handles an empty table', () => {
    const empty = sample().slice(0, 0);
    expectSame(shareTable(empty), empty);
  });

  it('rejects a non-table', () => {
    expect(() => shareTable({} as Table)).toThrow(ModelError);
  });
});

describe('shareVector / shareData', () => {
  it('shareVector concatenates chunks into one shared chunk with equal values', () => {
    const v = vectorFromArray(['a', null, 'b'], new Utf8()).concat(
      vectorFromArray(['c'], new Utf8())
    );
    const shared = shareVector(v);
    expect(shared.data).toHaveLength(1);
    expect(shared.toArray()).toEqual(['a', null, 'b', 'c']);
    expect(isSharedMemory(shared.data[0]!.values.buffer)).toBe(true);
  });

  it('shareData keeps the DataType instance and the values', () => {
    const data = vectorFromArray([1, null, 3], new Int32()).data[0]!;
    const shared = shareData(data);
    expect(shared.type).toBe(data.type);
    expect(isSharedMemory(shared.values.buffer)).toBe(true);
    expect(shared.nullCount).toBe(1);
    expect(
      Array.from({ length: 3 }, (_, i) => (shared.getValid(i) ? shared.values[i] : null))
    ).toEqual([1, null, 3]);
  });
});
