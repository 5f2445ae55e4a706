import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Binary,
  Bool,
  Dictionary,
  Float32,
  Float64,
  Int32,
  Int64,
  Int8,
  type Data,
  type RecordBatch,
  Table,
  TimestampMillisecond,
  Utf8,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { buildColumnData } from '../../src/io/text-columns.js';
import { readBatches } from '../../src/io/read-batches.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { encodeTable } from '../../src/pool/transfer.js';
import type { ColSpec } from '../../src/signature/types.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const isShared = (b: unknown) => Object.prototype.toString.call(b) === '[object SharedArrayBuffer]';

/** `column: buffer` for every non-empty buffer of a batch that is NOT in shared memory. */
function unshared(batch: RecordBatch): string[] {
  const out: string[] = [];
  const walk = (data: Data, path: string) => {
    for (const key of ['values', 'valueOffsets', 'nullBitmap'] as const) {
      const b = data[key] as ArrayBufferView | undefined;
      if (b !== undefined && b !== null && b.byteLength > 0 && !isShared(b.buffer))
        out.push(`${path}.${key}`);
    }
    data.children.forEach((c, i) => walk(c, `${path}[${i}]`));
    for (const d of data.dictionary?.data ?? []) walk(d, `${path}.dictionary`);
  };
  batch.schema.fields.forEach((f, i) => walk(batch.data.children[i]!, f.name));
  return out;
}

function sample(n = 300): Table {
  const pick = <T>(f: (i: number) => T) =>
    Array.from({ length: n }, (_, i) => (i % 7 === 2 ? null : f(i)));
  return new Table({
    i: vectorFromArray(
      pick((i) => i - 100),
      new Int32()
    ),
    l: vectorFromArray(
      pick((i) => BigInt(i) ** 3n),
      new Int64()
    ),
    d: vectorFromArray(pick((i) => i / 7)),
    f: vectorFromArray(
      pick((i) => i * 0.25),
      new Float32()
    ),
    b: vectorFromArray(
      pick((i) => i % 3 === 0),
      new Bool()
    ),
    s: vectorFromArray(
      pick((i) => `r${i} é`),
      new Utf8()
    ),
    bin: vectorFromArray(
      pick((i) => new Uint8Array([i & 255, 7])),
      new Binary()
    ),
    ts: vectorFromArray(
      pick((i) => Date.UTC(2020, 0, 1) + i * 1000),
      new TimestampMillisecond()
    ),
  });
}

const signature: ColSpec[] = [
  ['i', 'integer'],
  ['l', 'long'],
  ['d', 'double'],
  ['f', 'float'],
  ['b', 'boolean'],
  ['s', 'string'],
  ['bin', 'binary'],
  ['ts', 'datetime'],
].map(([name, type]) => ({
  kind: 'column' as const,
  name: name!,
  type: { type: type as 'integer' },
  required: false,
}));

describe('readers put every column in shared memory, values unchanged', () => {
  for (const ext of ['parquet', 'arrow', 'arrows', 'csv', 'ndjson']) {
    it(`.${ext}`, async () => {
      const path = join(dir, `in.${ext}`);
      const table = sample();
      const w = createBatchWriter(path);
      for (const b of table.slice(0, 120).batches) await w.write(b);
      for (const b of table.slice(120).batches) await w.write(b);
      await w.close();
      const back = await collect(readBatches(path, { schema: signature, batchSize: 100 }));
      expect(back.length).toBeGreaterThan(1);
      for (const b of back) {
        expect(typesOf(b)).toEqual(typesOf(table.batches[0]!));
        expect(unshared(b)).toEqual([]);
      }
      expect(rows(back)).toEqual(rows(table.batches));
      // ...so a UDF sends a batch to a worker without copying its columns.
      const first = back[0]!;
      const bitmaps = Math.ceil(first.numRows / 8) * first.numCols;
      expect(encodeTable(first).buffer.byteLength).toBeLessThanOrEqual(bitmaps);
    });
  }

  it('.arrow with a dictionary column written by Arrow JS (schema only in the footer)', async () => {
    const table = new Table({
      c: vectorFromArray(['a', 'b', null, 'a', 'c'], new Dictionary(new Utf8(), new Int8())),
      x: vectorFromArray([1, 2, 3, 4, 5], new Int32()),
    });
    const path = join(dir, 'dict.arrow');
    await writeFile(path, tableToIPC(table, 'file'));
    const back = await collect(readBatches(path));
    expect(back).toHaveLength(1);
    expect(unshared(back[0]!)).toEqual([]);
    expect(rows(back)).toEqual(rows(table.batches));
    expect(String(back[0]!.schema.fields[0]!.type)).toBe(String(table.schema.fields[0]!.type));
  });

  it('.arrow / .arrows truncated mid-batch fail as malformed files', async () => {
    for (const kind of ['file', 'stream'] as const) {
      const bytes = tableToIPC(sample(50), kind);
      const path = join(dir, `cut.${kind === 'file' ? 'arrow' : 'arrows'}`);
      // A file keeps its head and tail (magic + footer) but loses bytes inside the batch.
      const cut =
        kind === 'file'
          ? Buffer.concat([bytes.subarray(0, 200), bytes.subarray(bytes.length - 300)])
          : bytes.subarray(0, bytes.length - 100);
      await writeFile(path, cut);
      const error = await collect(readBatches(path)).catch((e: unknown) => e);
      expect(error, kind).toBeInstanceOf(ModelError);
      expect((error as ModelError).code).toBe('E_FORMAT_MALFORMED');
    }
  });
});

describe('buildColumnData', () => {
  it('writes numeric columns in one pass into shared memory, nulls in a bitmap', () => {
    const cases = [
      [new Int32(), [1, null, -7]],
      [new Int8(), [1, null, -7]],
      [new Int64(), [1n, null, -(2n ** 62n)]],
      [new Float64(), [0.5, null, -1e300]],
      [new Float32(), [0.5, null, 2]],
    ] as const;
    for (const [type, values] of cases) {
      const data = buildColumnData(type, values);
      expect(isShared(data.values.buffer), String(type)).toBe(true);
      expect(data.nullCount).toBe(1);
      expect(data.type).toBe(type);
      const got = Array.from({ length: 3 }, (_, i) => (data.getValid(i) ? data.values[i] : null));
      expect(got).toEqual(values);
    }
  });

  it('copies builder output of other types into shared memory, keeping the type', () => {
    const type = new Utf8();
    const data = buildColumnData(type, ['a', null, 'bc']);
    expect(data.type).toBe(type);
    expect(isShared(data.values.buffer)).toBe(true);
    expect(isShared(data.valueOffsets.buffer)).toBe(true);
    expect(data.nullCount).toBe(1);
  });

  it('falls back to the builder for values of another JS type', () => {
    // Arrow's builder coerces a numeric string; the one-pass path must not drop that.
    const data = buildColumnData(new Float64(), [1, '2.5', null]);
    expect(data.nullCount).toBe(1);
    expect(Array.from(data.values.subarray(0, 2))).toEqual([1, 2.5]);
    expect(isShared(data.values.buffer)).toBe(true);
  });
});
