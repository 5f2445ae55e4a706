import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Table, makeVector, type RecordBatch } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelError } from '../../src/errors.js';
import { detectFormat } from '../../src/io/format.js';
import { readAhead, readBatches } from '../../src/io/read-batches.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import type { ColSpec } from '../../src/signature/types.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';
import { rejectionOf } from '../util/model-error.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const sig: ColSpec[] = [
  { kind: 'column', name: 'n', type: { type: 'integer' }, required: true },
  { kind: 'column', name: 'zip', type: { type: 'string' }, required: true },
  { kind: 'column', name: 'ok', type: { type: 'boolean' }, required: false },
];

describe('detectFormat', () => {
  it('maps every documented extension, case-insensitively', () => {
    expect(
      [
        'a.parquet',
        'a.ARROW',
        'a.feather',
        'a.arrows',
        'a.csv',
        'a.ndjson',
        'a.jsonl',
        'a.json',
      ].map(detectFormat)
    ).toEqual(['parquet', 'arrow', 'arrow', 'arrows', 'csv', 'ndjson', 'ndjson', 'json']);
  });

  it('rejects an unknown extension naming it and the supported list', () => {
    const e = (() => {
      try {
        detectFormat('data.xlsx');
      } catch (x) {
        return x as ModelError;
      }
      throw new Error('no error');
    })();
    expect(e.code).toBe('E_FORMAT_UNSUPPORTED');
    expect(e.message).toContain("'.xlsx'");
    expect(e.message).toContain('.parquet, .arrow, .feather, .arrows, .csv, .ndjson, .jsonl');
  });
});

describe('readBatches: CSV typed by the signature', () => {
  it('integer -> Int32, "007" stays a string, booleans from true/false/1/0, empty -> null', async () => {
    const path = join(dir, 'in.csv');
    await writeFile(path, 'n,zip,ok,extra\n1,007,true,1.5\n-2,10115,0,2\n3,,FALSE,\n');
    const [b] = await collect(readBatches(path, { schema: sig }));
    expect(typesOf(b as RecordBatch)).toEqual([
      'n: Int32',
      'zip: Utf8',
      'ok: Bool',
      'extra: Float64',
    ]);
    expect(rows([b as RecordBatch])).toEqual([
      { n: 1, zip: '007', ok: true, extra: 1.5 },
      { n: -2, zip: '10115', ok: false, extra: 2 },
      { n: 3, zip: null, ok: false, extra: null },
    ]);
  });

  it('a file larger than batchSize comes out in several batches with stable types', async () => {
    const path = join(dir, 'big.csv');
    // The first batch of the un-signed column 'v' is all integers, so it is inferred Int64 and
    // stays Int64; 'zip' looks numeric everywhere but the signature keeps it a string.
    const lines = ['n,zip,v'];
    for (let i = 0; i < 2500; i++) lines.push(`${i},${String(i).padStart(5, '0')},${i * 2}`);
    await writeFile(path, `${lines.join('\n')}\n`);
    const batches = await collect(readBatches(path, { schema: sig, batchSize: 1000 }));
    expect(batches.map((b) => b.numRows)).toEqual([1000, 1000, 500]);
    for (const b of batches) expect(typesOf(b)).toEqual(['n: Int32', 'zip: Utf8', 'v: Int64']);
    const all = rows(batches);
    expect(all[2499]).toEqual({ n: 2499, zip: '02499', v: 4998n });
  });

  it('a header with no rows gives one empty batch with its columns; an empty file gives none', async () => {
    const path = join(dir, 'header-only.csv');
    await writeFile(path, 'n,zip,extra\n');
    const batches = await collect(readBatches(path, { schema: sig, batchSize: 2 }));
    expect(batches.map((b) => b.numRows)).toEqual([0]);
    // Signature columns keep their types; the others have no values to infer from: Utf8.
    expect(typesOf(batches[0] as RecordBatch)).toEqual(['n: Int32', 'zip: Utf8', 'extra: Utf8']);
    const untyped = await collect(readBatches(path));
    expect(typesOf(untyped[0] as RecordBatch)).toEqual(['n: Utf8', 'zip: Utf8', 'extra: Utf8']);
    // Rows that fill batches exactly end the file without an extra empty batch.
    await writeFile(path, 'n,zip\n1,a\n2,b\n');
    expect(
      (await collect(readBatches(path, { schema: sig, batchSize: 2 }))).map((b) => b.numRows)
    ).toEqual([2]);
    await writeFile(path, '');
    expect(await collect(readBatches(path, { schema: sig }))).toEqual([]);
  });

  it('a wrong field count fails with the line number', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, 'n,zip\n1,a\n2,b,extra\n');
    const e = await rejectionOf(collect(readBatches(path, { schema: sig })));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/line 3/);
  });

  it('an unclosed quote fails as malformed', async () => {
    const path = join(dir, 'quote.csv');
    await writeFile(path, 'n,zip\n1,"abc\n');
    const e = await rejectionOf(collect(readBatches(path)));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toMatch(/quote/i);
  });

  it('a value that does not parse to its column type names file, line, column and value', async () => {
    const path = join(dir, 'val.csv');
    await writeFile(path, 'n,zip\n1,a\n2.5,b\n');
    const e = await rejectionOf(collect(readBatches(path, { schema: sig })));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.details).toMatchObject({
      file: path,
      line: 3,
      column: 'n',
      value: '2.5',
      type: 'integer',
    });
    expect(e.message).toContain("line 3, column 'n'");
  });

  it('an integer out of int32 range is rejected, not wrapped', async () => {
    const path = join(dir, 'range.csv');
    await writeFile(path, 'n\n2147483648\n');
    const e = await rejectionOf(collect(readBatches(path, { schema: sig })));
    expect(e.message).toMatch(/out of range for int32/);
  });

  it('a later batch that breaks the inferred type fails instead of changing the type', async () => {
    const path = join(dir, 'drift.csv');
    await writeFile(path, 'v\n1\n2\n3.5\n');
    const e = await rejectionOf(collect(readBatches(path, { batchSize: 2 })));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.details).toMatchObject({ line: 4, column: 'v', type: 'long' });
  });

  it('a CSV written from typed columns re-reads with the same types (scored twice)', async () => {
    const path = join(dir, 'in.csv');
    await writeFile(path, 'n,zip,ok\n1,007,true\n2,010,false\n');
    const first = await collect(readBatches(path, { schema: sig }));
    const out = join(dir, 'out.csv');
    const w = createBatchWriter(out);
    for (const b of first) await w.write(b);
    await w.close();
    const again = await collect(readBatches(out, { schema: sig }));
    expect(typesOf(again[0] as RecordBatch)).toEqual(typesOf(first[0] as RecordBatch));
    expect(rows(again)).toEqual(rows(first));
  });
});

describe('readBatches: NDJSON', () => {
  it('types by signature, infers the rest, and reports bad lines', async () => {
    const path = join(dir, 'in.ndjson');
    await writeFile(path, '{"n": 1, "zip": "007", "x": 1.5}\n\n{"n": 2, "zip": "1", "x": null}\n');
    const [b] = await collect(readBatches(path, { schema: sig }));
    expect(typesOf(b as RecordBatch)).toEqual(['n: Int32', 'zip: Utf8', 'x: Float64']);
    await writeFile(path, '{"n": 1}\n[1]\n');
    const e = await rejectionOf(collect(readBatches(path)));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain('line 2');
  });

  it('a file with no rows yields no batch (there are no column names to give)', async () => {
    const path = join(dir, 'blank.ndjson');
    await writeFile(path, '\n\n');
    expect(await collect(readBatches(path, { schema: sig }))).toEqual([]);
  });

  it('warns once about a key first seen after the first batch', async () => {
    const path = join(dir, 'late.jsonl');
    await writeFile(path, '{"a": 1}\n{"a": 2, "b": 1}\n{"a": 3, "b": 2}\n');
    const warnings: string[] = [];
    const batches = await collect(
      readBatches(path, { batchSize: 1, warn: (m) => warnings.push(m) })
    );
    expect(batches.every((b) => b.schema.fields.length === 1)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("key 'b'");
  });
});

describe('readBatches: errors', () => {
  it('a missing file is E_FILE_NOT_FOUND naming the path', async () => {
    for (const ext of ['csv', 'parquet', 'arrow', 'ndjson']) {
      const path = join(dir, `missing.${ext}`);
      const e = await rejectionOf(collect(readBatches(path)));
      expect(e.code).toBe('E_FILE_NOT_FOUND');
      expect(e.message).toContain(path);
    }
  });

  it('garbage in a binary format is E_FORMAT_MALFORMED', async () => {
    for (const ext of ['parquet', 'arrow']) {
      const path = join(dir, `junk.${ext}`);
      await writeFile(path, 'this is not a binary file at all');
      const e = await rejectionOf(collect(readBatches(path)));
      expect(e.code).toBe('E_FORMAT_MALFORMED');
      expect(e.message).toContain(path);
    }
  });

  it('an aborted signal stops reading with E_ABORTED', async () => {
    const path = join(dir, 'a.csv');
    await writeFile(path, 'v\n1\n2\n3\n');
    const ac = new AbortController();
    ac.abort();
    const e = await rejectionOf(collect(readBatches(path, { batchSize: 1, signal: ac.signal })));
    expect(e.code).toBe('E_ABORTED');
  });
});

describe('readBatches: binary formats stream', () => {
  it('a Parquet file with several row groups comes out in several bounded batches', async () => {
    const { Table, vectorFromArray, Int32 } = await import('apache-arrow');
    const path = join(dir, 'multi.parquet');
    const w = createBatchWriter(path);
    for (let g = 0; g < 3; g++) {
      const v = vectorFromArray(
        Array.from({ length: 1500 }, (_, i) => g * 1500 + i),
        new Int32()
      );
      await w.write(new Table({ v }).batches[0] as RecordBatch);
    }
    await w.close();
    const batches = await collect(readBatches(path, { batchSize: 1000 }));
    expect(batches.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...batches.map((b) => b.numRows))).toBeLessThanOrEqual(1000);
    for (const b of batches) expect(typesOf(b)).toEqual(['v: Int32']);
    expect(rows(batches).map((r) => r['v'])).toEqual(Array.from({ length: 4500 }, (_, i) => i));
  });
});

describe('readAhead', () => {
  /** Batch i holds the one value i (a Float64: 8 bytes of data). */
  const batchOf = (i: number): RecordBatch =>
    new Table({ v: makeVector(Float64Array.of(i)) }).batches[0] as RecordBatch;

  /** A source of `n` batches that records how far it was pulled and whether it was closed. */
  function countingSource(n: number, failAt?: number) {
    const state = { pulled: 0, closed: false };
    async function* gen(): AsyncGenerator<RecordBatch> {
      try {
        for (let i = 0; i < n; i++) {
          if (i === failAt) throw new Error(`bad batch ${i}`);
          state.pulled++;
          yield batchOf(i);
        }
      } finally {
        state.closed = true;
      }
    }
    return { state, source: gen() };
  }

  /** Lets the background reader run until it blocks (the source is synchronous underneath). */
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const valueOf = (b: RecordBatch) => b.getChildAt(0)!.get(0) as number;

  it('yields every batch in source order', async () => {
    const { state, source } = countingSource(30);
    const got = await collect(readAhead(source, { maxBatches: 4 }));
    expect(got.map(valueOf)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(state.closed).toBe(true);
  });

  it('reads ahead of the consumer, up to maxBatches and no further', async () => {
    const { state, source } = countingSource(30);
    const ahead = readAhead(source, { maxBatches: 3 });
    const first = await ahead.next();
    expect(valueOf(first.value as RecordBatch)).toBe(0);
    await settle();
    // Batch 0 is out, batches 1..3 wait; nothing more is read until the consumer takes one.
    expect(state.pulled).toBe(4);
    await ahead.next();
    await settle();
    expect(state.pulled).toBe(5);
    await ahead.return(undefined);
    expect(state.closed).toBe(true);
    expect(state.pulled).toBe(5);
  });

  it('maxBytes bounds the batches held, but always lets one through', async () => {
    const { state, source } = countingSource(10);
    const ahead = readAhead(source, { maxBatches: 100, maxBytes: 1 });
    await ahead.next();
    await settle();
    expect(state.pulled).toBe(2);
    expect((await collect(ahead)).map(valueOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a source error comes after the batches read before it', async () => {
    const { source } = countingSource(10, 5);
    const got: number[] = [];
    const failure = await (async () => {
      try {
        for await (const b of readAhead(source, { maxBatches: 2 })) got.push(valueOf(b));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(failure?.message).toBe('bad batch 5');
  });

  it('breaking out of the loop closes the source', async () => {
    const { state, source } = countingSource(100);
    for await (const b of readAhead(source, { maxBatches: 2 })) {
      if (valueOf(b) === 3) break;
    }
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThanOrEqual(6);
  });
});
