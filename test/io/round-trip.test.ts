import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Binary,
  Bool,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  type RecordBatch,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { readBatches } from '../../src/io/read-batches.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
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

function sampleBatch(): RecordBatch {
  const t = new Table({
    i: vectorFromArray([1, null, -3, 2147483647], new Int32()),
    l: vectorFromArray([1n, 9007199254740993n, null, -5n], new Int64()),
    d: vectorFromArray([1.5, 2, null, 0.1 + 0.2], new Float64()),
    f: vectorFromArray([0.5, null, 3, -1.25], new Float32()),
    b: vectorFromArray([true, false, null, true], new Bool()),
    s: vectorFromArray(['héllo, "world"', '007', null, 'line\nbreak 🚀'], new Utf8()),
    bin: vectorFromArray(
      [new Uint8Array([0, 255]), null, new Uint8Array([]), new Uint8Array([7])],
      new Binary()
    ),
    ts: vectorFromArray(
      [Date.UTC(2024, 0, 2, 3, 4, 5, 6), null, 0, Date.UTC(1999, 11, 31)],
      new TimestampMillisecond()
    ),
  });
  return t.batches[0] as RecordBatch;
}

/** The signature that describes sampleBatch, as MLflow would write it. */
const sampleSchema: ColSpec[] = [
  { kind: 'column', name: 'i', type: { type: 'integer' }, required: false },
  { kind: 'column', name: 'l', type: { type: 'long' }, required: false },
  { kind: 'column', name: 'd', type: { type: 'double' }, required: false },
  { kind: 'column', name: 'f', type: { type: 'float' }, required: false },
  { kind: 'column', name: 'b', type: { type: 'boolean' }, required: false },
  { kind: 'column', name: 's', type: { type: 'string' }, required: false },
  { kind: 'column', name: 'bin', type: { type: 'binary' }, required: false },
  { kind: 'column', name: 'ts', type: { type: 'datetime' }, required: false },
];

describe('round trip: write then read back', () => {
  for (const ext of ['parquet', 'arrow', 'arrows', 'csv', 'ndjson']) {
    it(`.${ext} preserves values, nulls, unicode and (with the signature) types`, async () => {
      const path = join(dir, `out.${ext}`);
      const batch = sampleBatch();
      const w = createBatchWriter(path);
      await w.write(batch);
      await w.write(batch);
      await w.close();
      const back = await collect(readBatches(path, { schema: sampleSchema }));
      expect(back.length).toBeGreaterThan(0);
      for (const b of back) expect(typesOf(b)).toEqual(typesOf(batch));
      expect(rows(back)).toEqual(rows([batch, batch]));
      // Nothing but the target is left in the directory (the temp file was renamed).
      expect(await readdir(dir)).toEqual([`out.${ext}`]);
    });
  }

  it('nested list and struct columns round trip through parquet and IPC', async () => {
    const t = new Table({
      li: vectorFromArray(
        [[1.5, null], null, []],
        new List(new Field('element', new Float64(), true))
      ),
      st: vectorFromArray(
        [{ a: 'x' }, null, { a: null }],
        new Struct([new Field('a', new Utf8(), true)])
      ),
    });
    for (const ext of ['parquet', 'arrows']) {
      const path = join(dir, `nested.${ext}`);
      const w = createBatchWriter(path);
      await w.write(t.batches[0] as RecordBatch);
      await w.close();
      const back = await collect(readBatches(path));
      expect(rows(back)).toEqual(rows(t.batches));
    }
  });

  it('CSV without a signature infers long/double/boolean/datetime/string per column', async () => {
    const path = join(dir, 'plain.csv');
    const w = createBatchWriter(path);
    await w.write(sampleBatch());
    await w.close();
    const [b] = await collect(readBatches(path));
    expect(typesOf(b as RecordBatch)).toEqual([
      'i: Int64',
      'l: Int64',
      'd: Float64',
      'f: Float64',
      'b: Bool',
      's: Utf8',
      'bin: Utf8',
      'ts: Timestamp<MILLISECOND>',
    ]);
    // '007' was quoted by the writer, so it stays a string.
    expect(rows([b as RecordBatch])[1]?.['s']).toBe('007');
  });

  it('writes a header-only CSV / schema-only file when no batch is written', async () => {
    const schema = sampleBatch().schema;
    for (const ext of ['csv', 'parquet', 'arrow']) {
      const path = join(dir, `empty.${ext}`);
      const w = createBatchWriter(path, { schema });
      await w.close();
      const back = await collect(readBatches(path));
      const total = back.reduce((n, b) => n + b.numRows, 0);
      expect(total).toBe(0);
      if (ext !== 'csv')
        expect(back[0]?.schema.fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
    }
  });
});

describe('dictionary-encoded columns', () => {
  /** Two batches whose `s` columns each carry their own dictionary, as an IPC stream's replacement dictionaries (or two separately encoded tables) do. */
  function batchesWithOwnDictionaries(): RecordBatch[] {
    const type = new Dictionary(new Utf8(), new Int32());
    const t1 = new Table({ s: vectorFromArray(['a', 'b', null, 'a'], type) });
    // The second batch is a slice (nonzero offset, so a null bitmap read from an offset).
    const t2 = new Table({ s: vectorFromArray(['z', 'c', null, 'a', 'c'], type) });
    return [t1.batches[0] as RecordBatch, (t2.batches[0] as RecordBatch).slice(1)];
  }

  for (const ext of ['arrow', 'arrows', 'parquet']) {
    it(`.${ext} writes batches whose dictionaries differ (a replacement dictionary)`, async () => {
      const path = join(dir, `dict.${ext}`);
      const batches = batchesWithOwnDictionaries();
      const w = createBatchWriter(path);
      for (const b of batches) await w.write(b);
      await w.close();
      const back = await collect(readBatches(path));
      expect(rows(back)).toEqual(rows(batches));
    });
  }
});

describe('atomic writes', () => {
  it('abort leaves neither the target nor a temp file', async () => {
    const path = join(dir, 'out.parquet');
    const w = createBatchWriter(path);
    await w.write(sampleBatch());
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it('an error mid-write (schema change) removes the temp file and keeps an older target', async () => {
    const path = join(dir, 'out.arrow');
    await writeFile(path, 'previous');
    const w = createBatchWriter(path);
    await w.write(sampleBatch());
    const other = new Table({ x: vectorFromArray([1], new Int32()) }).batches[0] as RecordBatch;
    const err = await w.write(other).catch((e: unknown) => e);
    expect(ModelError.is(err) && err.code).toBe('E_SCHEMA_MISMATCH');
    expect(await readdir(dir)).toEqual(['out.arrow']);
    await expect(w.close()).rejects.toThrow(/already aborted/);
  });

  it('the target does not exist before close', async () => {
    const path = join(dir, 'x.csv');
    const w = createBatchWriter(path);
    await w.write(sampleBatch());
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(new RegExp(`^\\.x\\.csv\\.tmp-${process.pid}-[0-9a-f]+$`));
    await w.close();
    expect(await readdir(dir)).toEqual(['x.csv']);
  });
});
