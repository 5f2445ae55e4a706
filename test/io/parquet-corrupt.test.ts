import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Field,
  Float64,
  Int32,
  makeData,
  makeVector,
  SparseUnion,
  Table,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeParquetPiece, parquetFileFromPiece } from '../../src/io/parquet-piece.js';
import { readParquetRowGroups } from '../../src/io/parquet-row-groups.js';
import { readParquetBatches } from '../../src/io/parquet.js';
import { callParquetWasm, parquetWasmGeneration } from '../../src/io/parquet-wasm-instance.js';
import { errorOf, rejectionOf } from '../util/model-error.js';
import { collect, tempDir } from './helpers.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** 20,000 rows in 4 row groups (zstd: a corrupted frame cannot go unnoticed). */
function goodFile(): Uint8Array {
  const n = 20_000;
  const table = new Table({
    x: vectorFromArray(
      Array.from({ length: n }, (_, i) => Math.sin(i)),
      new Float64()
    ),
    s: vectorFromArray(
      Array.from({ length: n }, (_, i) => `value number ${i * 7}`),
      new Utf8()
    ),
  });
  return parquetFileFromPiece(
    encodeParquetPiece(table, { compression: 'zstd', rowGroupSize: 5000 })
  );
}

async function rowCount(path: string): Promise<number> {
  return (await collect(readParquetBatches(path))).reduce((n, b) => n + b.numRows, 0);
}

describe('corrupt Parquet files', () => {
  it('4 KB overwritten in the middle: E_FORMAT_MALFORMED naming file and row group; a good file still reads', async () => {
    const good = goodFile();
    const bad = good.slice();
    const mid = Math.floor(bad.length / 2);
    for (let i = 0; i < 4096; i++) bad[mid + i] = (i * 131 + 17) & 0xff;
    const goodPath = join(dir, 'good.parquet');
    const badPath = join(dir, 'bad.parquet');
    await writeFile(goodPath, good);
    await writeFile(badPath, bad);

    const e = await rejectionOf(collect(readParquetBatches(badPath)));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain(badPath);
    expect(e.message).toMatch(/row group \d/);
    expect(e.details).toMatchObject({ file: badPath, rowGroup: expect.any(Number) });
    // The same thread goes on reading.
    expect(await rowCount(goodPath)).toBe(20_000);
    // Row groups the damage does not touch still read on their own.
    const first = await collect(readParquetRowGroups(badPath, [0]));
    expect(first.reduce((n, b) => n + b.numRows, 0)).toBe(5000);
  });

  it('a corrupt footer or a truncated file is E_FORMAT_MALFORMED', async () => {
    const good = goodFile();
    const footerStart =
      good.length - 8 - new DataView(good.buffer).getUint32(good.length - 8, true);
    const badFooter = good.slice();
    badFooter.fill(0xee, footerStart, footerStart + 64);
    const truncated = good.slice(0, good.length - 100);
    for (const [name, bytes] of [
      ['footer.parquet', badFooter],
      ['truncated.parquet', truncated],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      const e = await rejectionOf(collect(readParquetBatches(path)));
      expect(e.code).toBe('E_FORMAT_MALFORMED');
      expect(e.message).toContain(path);
    }
  });

  it('a chunk whose offsets point past the data section is refused before any read', async () => {
    const good = goodFile();
    // Keep the first 1000 data bytes and the unchanged footer: every chunk after them now
    // points at or past the footer.
    const footerLength = new DataView(good.buffer).getUint32(good.length - 8, true);
    const tail = good.subarray(good.length - 8 - footerLength);
    const cut = new Uint8Array(4 + 1000 + tail.length);
    cut.set(good.subarray(0, 1004));
    cut.set(tail, 1004);
    const path = join(dir, 'cut.parquet');
    await writeFile(path, cut);
    const e = await rejectionOf(collect(readParquetBatches(path)));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toMatch(/row group 0, column x: bytes \[\d+, \d+\) overlap the footer/);
  });

  it('a WebAssembly trap becomes a ModelError and the next call gets a fresh instance', async () => {
    const before = parquetWasmGeneration();
    const e = errorOf(() =>
      callParquetWasm(
        { code: 'E_FORMAT_MALFORMED', what: 'test.parquet is not valid Parquet' },
        (pq) =>
          // arrow-rs panics (a trap in WebAssembly) when dictionary encoding is set this way.
          new pq.WriterPropertiesBuilder().setEncoding(pq.Encoding.RLE_DICTIONARY)
      )
    );
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain('test.parquet is not valid Parquet: WebAssembly trap');
    expect(e.details.trap).toBe(true);
    const path = join(dir, 'after.parquet');
    await writeFile(path, goodFile());
    expect(parquetWasmGeneration()).toBe(before + 1);
    expect(await rowCount(path)).toBe(20_000);
    // An ordinary decoding error keeps the instance.
    const bad = (await readFile(path)).subarray(0);
    bad.fill(0x42, 200, 300);
    const badPath = join(dir, 'bad.parquet');
    await writeFile(badPath, bad);
    const generation = parquetWasmGeneration();
    expect((await rejectionOf(collect(readParquetBatches(badPath)))).details.trap).toBe(false);
    expect(parquetWasmGeneration()).toBe(generation);
  });

  it('a column type the writer cannot encode (it traps) is E_FORMAT_UNSUPPORTED; encoding goes on', () => {
    const type = new SparseUnion(
      [0, 1],
      [new Field('f', new Float64()), new Field('i', new Int32())]
    );
    const union = makeData({
      type,
      length: 2,
      nullCount: 0,
      typeIds: Int8Array.of(0, 1),
      children: [
        makeData({ type: new Float64(), length: 2, data: Float64Array.of(1, 2) }),
        makeData({ type: new Int32(), length: 2, data: Int32Array.of(3, 4) }),
      ],
    } as never);
    const before = parquetWasmGeneration();
    const e = errorOf(() => encodeParquetPiece(new Table({ u: makeVector(union) })));
    expect(e.code).toBe('E_FORMAT_UNSUPPORTED');
    expect(e.message).toContain('u: Union<Float64 | Int32>');
    expect(e.details.trap).toBe(true);
    const ok = encodeParquetPiece(new Table({ x: vectorFromArray([1, 2], new Float64()) }));
    expect(ok.numRows).toBe(2);
    // ... on a fresh instance.
    expect(parquetWasmGeneration()).toBe(before + 1);
  });
});
