import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Data, RecordBatch } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSink } from '../../src/io/byte-sink.js';
import { ParquetAssembler } from '../../src/io/parquet-assembler.js';
import { columnChunkRanges } from '../../src/io/parquet-column-chunks.js';
import {
  footerKeyValueMetadata,
  footerNumRows,
  footerRowGroups,
  footerSchema,
  parseParquetFooter,
  readParquetFooter,
} from '../../src/io/parquet-footer.js';
import { SchemaElementId, schemaPaths, topLevelColumns } from '../../src/io/parquet-metadata.js';
import { encodeParquetPiece } from '../../src/io/parquet-piece.js';
import { parquetArrowSchema, readParquetRowGroups } from '../../src/io/parquet-row-groups.js';
import { readParquetBatches } from '../../src/io/parquet.js';
import { getString } from '../../src/io/thrift-compact.js';
import { rejectionOf } from '../util/model-error.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';
import { allTypesTable, duckRows, duckRun, lit } from './parquet-test-data.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** A file of 4 row groups of 250 rows of every type. */
async function fourGroups(): Promise<string> {
  const path = join(dir, 'four.parquet');
  const fh = await open(path, 'w');
  const out = new ParquetAssembler(fileSink(fh));
  for (let g = 0; g < 4; g++) await out.append(encodeParquetPiece(allTypesTable(g * 250, 250)));
  await out.finish();
  await fh.close();
  return path;
}

const isShared = (b: unknown) => Object.prototype.toString.call(b) === '[object SharedArrayBuffer]';

/** `column.buffer` for every non-empty buffer of a batch that is NOT in shared memory. */
function unshared(batch: RecordBatch): string[] {
  const out: string[] = [];
  const walk = (data: Data, path: string) => {
    for (const key of ['values', 'valueOffsets', 'nullBitmap'] as const) {
      const b = data[key] as ArrayBufferView | undefined;
      if (b !== undefined && b !== null && b.byteLength > 0 && !isShared(b.buffer)) {
        out.push(`${path}.${key}`);
      }
    }
    data.children.forEach((c, i) => walk(c, `${path}[${i}]`));
    for (const d of data.dictionary?.data ?? []) walk(d, `${path}.dictionary`);
  };
  batch.schema.fields.forEach((f, i) => walk(batch.data.children[i]!, f.name));
  return out;
}

describe('readParquetFooter', () => {
  it('reads a DuckDB file footer: rows, schema, row groups, byte ranges, codec', async () => {
    const path = join(dir, 'duck.parquet');
    await duckRun(
      `COPY (SELECT i AS a, 'v' || i AS b, {'x': i, 'y': [i]} AS c FROM range(5000) r(i))
       TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048)`
    );
    const footer = await readParquetFooter(path);
    expect(footerNumRows(footer)).toBe(5000);
    const schema = footerSchema(footer);
    expect(schemaPaths(schema)).toEqual([
      '',
      'a',
      'b',
      'c',
      'c.x',
      'c.y',
      'c.y.list',
      'c.y.list.element',
    ]);
    expect(topLevelColumns(schema).map((t) => [t.name, t.leaves])).toEqual([
      ['a', [0, 1]],
      ['b', [1, 2]],
      ['c', [2, 4]],
    ]);
    expect(getString(schema[1]!, SchemaElementId.name)).toBe('a');
    const groups = footerRowGroups(footer);
    expect(groups.reduce((n, g) => n + g.numRows, 0)).toBe(5000);
    let last = 4;
    for (const g of groups) {
      expect(g.columns.map((c) => c.path.join('.'))).toEqual(['a', 'b', 'c.x', 'c.y.list.element']);
      for (const c of g.columns) {
        expect(c.codec).toBe(6); // ZSTD
        expect(c.start).toBeGreaterThanOrEqual(last);
        last = c.end;
      }
    }
    expect(last).toBeLessThanOrEqual(footer.footerOffset);
    // Same result from the bytes in memory.
    const { readFile } = await import('node:fs/promises');
    expect(parseParquetFooter(new Uint8Array(await readFile(path)))).toEqual(footer);
    expect(footerKeyValueMetadata(footer)).toEqual([]);
  });

  it('rejects files that are not Parquet, naming them', async () => {
    const text = join(dir, 'text.parquet');
    await writeFile(text, 'a,b\n1,2\n'.repeat(10));
    const e = await rejectionOf(readParquetFooter(text));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain(text);
    const tiny = join(dir, 'tiny.parquet');
    await writeFile(tiny, 'PAR1');
    expect((await rejectionOf(readParquetFooter(tiny))).code).toBe('E_FORMAT_MALFORMED');
    expect((await rejectionOf(readParquetFooter(join(dir, 'missing.parquet')))).code).toBe(
      'E_FILE_NOT_FOUND'
    );
  });
});

describe('readParquetRowGroups', () => {
  it('reads chosen row groups in the given order, batches in shared memory', async () => {
    const path = await fourGroups();
    const batches = await collect(readParquetRowGroups(path, [2, 0], { batchSize: 100 }));
    // 250 rows per group in batches of at most 100, never spanning two groups.
    expect(batches.map((b) => b.numRows)).toEqual([100, 100, 50, 100, 100, 50]);
    expect(rows(batches)).toEqual([
      ...rows(allTypesTable(500, 250).batches),
      ...rows(allTypesTable(0, 250).batches),
    ]);
    expect(typesOf(batches[0]!)).toEqual(typesOf(allTypesTable(0, 1).batches[0]!));
    for (const b of batches) expect(unshared(b)).toEqual([]);
  });

  it('reads only the requested columns (and only their bytes), in file order', async () => {
    const path = await fourGroups();
    const footer = await readParquetFooter(path);
    const columns = ['struct', 'i64', 'list'];
    const batches = await collect(readParquetRowGroups(path, [1], { columns, footer }));
    expect(batches[0]!.schema.fields.map((f) => f.name)).toEqual(['i64', 'list', 'struct']);
    const src = allTypesTable(250, 250);
    expect(rows(batches)).toEqual(rows(src.select(['i64', 'list', 'struct']).batches));
    // The ranges read cover less than the row group.
    const all = columnChunkRanges(footer, [1]);
    const some = columnChunkRanges(footer, [1], (n) => columns.includes(n));
    const size = (r: [number, number][]) => r.reduce((n, [a, b]) => n + b - a, 0);
    expect(size(some)).toBeLessThan(size(all));
    expect(parquetArrowSchema(path, footer, ['dict']).fields.map((f) => String(f.type))).toEqual([
      'Dictionary<Int32, Utf8>',
    ]);
  });

  it('projects DuckDB files (no ARROW:schema) too', async () => {
    const path = join(dir, 'duck.parquet');
    await duckRun(
      `COPY (SELECT i AS a, i * 2 AS b, 'x' || i AS c FROM range(3000) r(i))
       TO ${lit(path)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`
    );
    const batches = await collect(readParquetRowGroups(path, [1, 0], { columns: ['c', 'a'] }));
    const got = batches.flatMap((b) => b.toArray().map((r) => r.toJSON()));
    const want = await duckRows(`SELECT a, c FROM read_parquet(${lit(path)})`);
    const first = footerRowGroups(await readParquetFooter(path))[0]!.numRows;
    const norm = (r: Record<string, unknown>) => ({ a: Number(r.a), c: r.c });
    expect(got.map(norm)).toEqual([...want.slice(first), ...want.slice(0, first)].map(norm));
  });

  it('names an unknown column and a row group out of range', async () => {
    const path = await fourGroups();
    const e = await rejectionOf(collect(readParquetRowGroups(path, [0], { columns: ['nope'] })));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain('"nope"');
    const r = await rejectionOf(collect(readParquetRowGroups(path, [4])));
    expect(r.code).toBe('E_OPTION_INVALID');
    expect(r.message).toContain('0 to 3');
  });

  it('readParquetBatches reads every row group; an empty file gives one empty batch', async () => {
    const path = await fourGroups();
    expect(rows(await collect(readParquetBatches(path, 300)))).toEqual(
      rows(allTypesTable(0, 1000).batches)
    );
    const empty = join(dir, 'empty.parquet');
    await duckRun(
      `COPY (SELECT 1::INT AS a, 'x' AS b WHERE false) TO ${lit(empty)} (FORMAT parquet)`
    );
    const back = await collect(readParquetBatches(empty));
    expect(back.map((b) => b.numRows)).toEqual([0]);
    expect(typesOf(back[0]!)).toEqual(['a: Int32', 'b: Utf8']);
  });
});
