import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import {
  Dictionary,
  Field,
  Int32,
  Int64,
  Schema,
  Table,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSink, type ByteSink } from '../../src/io/byte-sink.js';
import { ParquetAssembler } from '../../src/io/parquet-assembler.js';
import {
  footerNumRows,
  footerRowGroups,
  footerRowGroupStructs,
  readParquetFooter,
} from '../../src/io/parquet-footer.js';
import { RowGroupId } from '../../src/io/parquet-metadata.js';
import {
  encodeParquetPiece,
  type ParquetPiece,
  pieceTransferList,
} from '../../src/io/parquet-piece.js';
import { readParquetBatches } from '../../src/io/parquet.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { getInt } from '../../src/io/thrift-compact.js';
import { rejectionOf } from '../util/model-error.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';
import { allTypesTable, duckRows, lit } from './parquet-test-data.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

async function assemble(
  path: string,
  pieces: readonly ParquetPiece[],
  schema?: Schema | null
): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const out = new ParquetAssembler(fileSink(fh), { schema });
    for (const p of pieces) await out.append(p);
    await out.finish();
  } finally {
    await fh.close();
  }
}

/** The same table written in one go by parquet-wasm directly: the reference for DuckDB. */
async function writeReference(path: string, table: Table): Promise<void> {
  await writeFile(path, pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(table, 'stream'))));
}

describe('ParquetAssembler', () => {
  it('assembles pieces of every type into one file that parquet-wasm and DuckDB read back', async () => {
    const pieces = [
      encodeParquetPiece(allTypesTable(0, 700)),
      encodeParquetPiece(allTypesTable(700, 0)),
      // Several row groups in one piece, another codec.
      encodeParquetPiece(allTypesTable(700, 1300), { rowGroupSize: 500, compression: 'zstd' }),
      encodeParquetPiece(allTypesTable(2000, 1), { compression: 'uncompressed' }),
    ];
    const path = join(dir, 'assembled.parquet');
    await assemble(path, pieces);
    const whole = allTypesTable(0, 2001);

    // parquet-wasm: same types, same values, same order.
    const back = await collect(readParquetBatches(path));
    expect(typesOf(back[0]!)).toEqual(typesOf(whole.batches[0]!));
    expect(rows(back)).toEqual(rows(whole.batches));

    // The footer: one row group per 700 / 500 / 500 / 300 / 1 rows, ordinals in order.
    const footer = await readParquetFooter(path);
    expect(footerNumRows(footer)).toBe(2001);
    expect(footerRowGroups(footer).map((g) => g.numRows)).toEqual([700, 500, 500, 300, 1]);
    expect(footerRowGroupStructs(footer).map((g) => getInt(g, RowGroupId.ordinal))).toEqual([
      0, 1, 2, 3, 4,
    ]);
    // Row groups lie one after the other from byte 4, with no gap.
    const spans = footerRowGroups(footer).map((g) => [g.start, g.end]);
    expect(spans[0]![0]).toBe(4);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1]);
    expect(spans[spans.length - 1]![1]).toBe(footer.footerOffset);

    // DuckDB: the assembled file reads exactly like the same table written in one go.
    const ref = join(dir, 'reference.parquet');
    await writeReference(ref, whole);
    const got = await duckRows(`SELECT * FROM read_parquet(${lit(path)})`);
    const want = await duckRows(`SELECT * FROM read_parquet(${lit(ref)})`);
    expect(got).toHaveLength(2001);
    expect(got).toEqual(want);
    // ... and with the right values, spot-checked in DuckDB's own formatting.
    const [r] = await duckRows(
      `SELECT i8, u64, dec, ts_tz, date, list, struct, dict, nulls FROM read_parquet(${lit(path)}) WHERE nn = -1701`
    );
    expect(r).toEqual({
      i8: (1701 % 256) - 128,
      u64: String(18_000_000_000_000_000_000n + 1701n),
      dec: String((1701 * 137 - 500) / 100),
      // 1.6e15 + 1701 * 1000003 microseconds; 18000 + 1701 days.
      ts_tz: '2020-09-13 12:55:01.005103+00',
      date: new Date((18000 + 1701) * 86400_000).toISOString().slice(0, 10),
      list: [1701],
      struct: { x: 3402, y: null },
      dict: 'red',
      nulls: null,
    });
  });

  it('writes bytes as pieces arrive and keeps none of them', async () => {
    const written: number[] = [];
    const sink: ByteSink = {
      write(chunk) {
        written.push(typeof chunk === 'string' ? chunk.length : chunk.byteLength);
        return Promise.resolve();
      },
    };
    const out = new ParquetAssembler(sink);
    const a = encodeParquetPiece(allTypesTable(0, 100));
    await out.append(a);
    expect(written).toEqual([4, a.bytes.byteLength]);
    const b = encodeParquetPiece(allTypesTable(100, 100));
    await out.append(b);
    expect(written).toEqual([4, a.bytes.byteLength, b.bytes.byteLength]);
    expect(out.bytesWritten).toBe(4 + a.bytes.byteLength + b.bytes.byteLength);
    await out.finish();
    expect(written).toHaveLength(5); // + footer + trailer
    expect(out.numRows).toBe(200);
  });

  it('zero pieces: an empty file with the given schema', async () => {
    const schema = new Schema([
      new Field('a', new Int32(), true),
      new Field('s', new Utf8(), true),
    ]);
    const path = join(dir, 'empty.parquet');
    await assemble(path, [], schema);
    const back = await collect(readParquetBatches(path));
    expect(back).toHaveLength(1);
    expect(back[0]!.numRows).toBe(0);
    expect(typesOf(back[0]!)).toEqual(['a: Int32', 's: Utf8']);
    expect(await duckRows(`SELECT count(*)::INT AS n FROM read_parquet(${lit(path)})`)).toEqual([
      { n: 0 },
    ]);
    const cols = await duckRows(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`);
    expect(cols.map((c) => [c.column_name, c.column_type])).toEqual([
      ['a', 'INTEGER'],
      ['s', 'VARCHAR'],
    ]);
  });

  it('only empty pieces: an empty file with their schema', async () => {
    const path = join(dir, 'empty-pieces.parquet');
    await assemble(path, [
      encodeParquetPiece(allTypesTable(0, 0)),
      encodeParquetPiece(allTypesTable(5, 0)),
    ]);
    const back = await collect(readParquetBatches(path));
    expect(back.map((b) => b.numRows)).toEqual([0]);
    expect(typesOf(back[0]!)).toEqual(typesOf(allTypesTable(0, 1).batches[0]!));
  });

  it('fails with E_SCHEMA_MISMATCH naming the first differing column', async () => {
    const a = encodeParquetPiece(
      new Table({ a: vectorFromArray([1], new Int32()), b: vectorFromArray(['x'], new Utf8()) })
    );
    const otherType = encodeParquetPiece(
      new Table({ a: vectorFromArray([1], new Int32()), b: vectorFromArray([1n], new Int64()) })
    );
    const otherName = encodeParquetPiece(
      new Table({ a: vectorFromArray([1], new Int32()), c: vectorFromArray(['x'], new Utf8()) })
    );
    const fewer = encodeParquetPiece(new Table({ a: vectorFromArray([1], new Int32()) }));
    const out = new ParquetAssembler({ write: () => Promise.resolve() });
    await out.append(a);
    const e1 = await rejectionOf(out.append(otherType));
    expect(e1.code).toBe('E_SCHEMA_MISMATCH');
    expect(e1.message).toContain('column "b"');
    expect(e1.message).toMatch(/expected optional BYTE_ARRAY.*got optional INT64/);
    const e2 = await rejectionOf(out.append(otherName));
    expect(e2.message).toContain('expected "b"');
    expect(e2.message).toContain('got "c"');
    const e3 = await rejectionOf(out.append(fewer));
    expect(e3.message).toContain('column "b"');
    expect(e3.message).toContain('got no column');
    // The file is still consistent: the failed pieces added nothing.
    expect(out.numRowGroups).toBe(1);
  });

  it('refuses concurrent appends and use after finish', async () => {
    let release = () => {};
    const sink: ByteSink = {
      write: () => new Promise<void>((r) => (release = r)),
    };
    const out = new ParquetAssembler(sink);
    const p = encodeParquetPiece(allTypesTable(0, 10));
    const first = out.append(p);
    const e = await rejectionOf(out.append(p));
    expect(e.code).toBe('E_INTERNAL');
    release();
    await new Promise((r) => setImmediate(r));
    release();
    await first;
  });

  it('pieces are plain data: posted to another port (bytes transferred) they still assemble', async () => {
    const piece = encodeParquetPiece(allTypesTable(0, 300), { compression: 'zstd' });
    const length = piece.bytes.byteLength;
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<ParquetPiece>((r) => port2.once('message', r));
    port1.postMessage(piece, pieceTransferList(piece));
    const copy = await received;
    port1.close();
    port2.close();
    expect(piece.bytes.byteLength).toBe(0); // moved, not copied
    expect(copy.bytes.byteLength).toBe(length);
    const path = join(dir, 'posted.parquet');
    await assemble(path, [copy]);
    expect(rows(await collect(readParquetBatches(path)))).toEqual(
      rows(allTypesTable(0, 300).batches)
    );
  });
});

describe('ParquetEncoder (createBatchWriter) on pieces', () => {
  it('writes one row group per batch and reads back in order', async () => {
    const path = join(dir, 'batches.parquet');
    const w = createBatchWriter(path);
    for (let k = 0; k < 3; k++) await w.write(allTypesTable(k * 40, 40).batches[0]!);
    await w.close();
    const footer = await readParquetFooter(path);
    expect(footerRowGroups(footer).map((g) => g.numRows)).toEqual([40, 40, 40]);
    expect(rows(await collect(readParquetBatches(path)))).toEqual(
      rows(allTypesTable(0, 120).batches)
    );
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('writes batches whose dictionaries differ, and sliced batches', async () => {
    const type = new Dictionary(new Utf8(), new Int32());
    const a = new Table({ s: vectorFromArray(['a', 'b', null, 'a'], type) }).batches[0]!;
    const b = new Table({ s: vectorFromArray(['z', 'c', null, 'a', 'c'], type) }).batches[0]!;
    const path = join(dir, 'dict.parquet');
    const w = createBatchWriter(path);
    await w.write(a);
    await w.write(b.slice(1));
    await w.close();
    const back = await collect(readParquetBatches(path));
    expect(rows(back).map((r) => r.s)).toEqual(['a', 'b', null, 'a', 'c', null, 'a', 'c']);
    expect(typesOf(back[0]!)).toEqual(['s: Dictionary<Int32, Utf8>']);
  });

  it('with no batch written, writes an empty file of the given schema', async () => {
    const schema = allTypesTable(0, 1).schema;
    const path = join(dir, 'none.parquet');
    const w = createBatchWriter(path, { schema });
    await w.close();
    const back = await collect(readParquetBatches(path));
    expect(back.map((x) => x.numRows)).toEqual([0]);
    expect(typesOf(back[0]!)).toEqual(typesOf(allTypesTable(0, 1).batches[0]!));
  });
});
