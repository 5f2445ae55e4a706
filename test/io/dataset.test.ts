import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import {
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  partitionColumns,
  partitionFields,
  partitionValueTypes,
  resolveDataset,
  unescapePathName,
} from '../../src/io/dataset.js';
import { appendColumns } from '../../src/io/dataset-read.js';
import { readBatches } from '../../src/io/read-batches.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { shareTable } from '../../src/pool/shared-table.js';
import type { ColSpec } from '../../src/signature/types.js';
import { rejectionOf, errorOf } from '../util/model-error.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** Creates files (with parent directories) below `dir`. */
async function files(entries: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(entries)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
}

async function writeParquet(rel: string, ids: number[], names: string[]): Promise<string> {
  const path = join(dir, rel);
  await mkdir(dirname(path), { recursive: true });
  const t = new Table({
    id: makeVector(Int32Array.from(ids)),
    name: vectorFromArray(names, new Utf8()),
  });
  const w = createBatchWriter(path);
  await w.write(t.batches[0] as RecordBatch);
  await w.close();
  return path;
}

const rel = (paths: readonly { path: string }[]) => paths.map((f) => relative(dir, f.path));

describe('resolveDataset: files, directories, globs', () => {
  it('a file is itself, with no partitions, even below a key=value directory', async () => {
    await files({ 'year=2024/a.csv': 'x\n1\n' });
    const ds = await resolveDataset(join(dir, 'year=2024/a.csv'));
    expect(ds.kind).toBe('file');
    expect(ds.format).toBe('csv');
    expect(ds.root).toBe(join(dir, 'year=2024'));
    expect(ds.partitionKeys).toEqual([]);
    expect(ds.files).toHaveLength(1);
    expect(ds.files[0]).toMatchObject({ path: join(dir, 'year=2024/a.csv'), size: 4 });
    expect(ds.files[0]!.partitions).toEqual([]);
    expect(ds.files[0]!.mtimeMs).toBeGreaterThan(0);
  });

  it('a directory: every data file below it, skipping _ and . segments, in code-point order', async () => {
    await files({
      'part-00010.csv': 'x\n1\n',
      'part-00002.csv': 'x\n2\n',
      'B.csv': 'x\n3\n',
      'a.csv': 'x\n4\n',
      // code-point order puts U+FF01 before U+1F600 (UTF-16 order would not)
      '\u{1F600}.csv': 'x\n5\n',
      '\uFF01.csv': 'x\n6\n',
      'sub/part-00001.csv': 'x\n7\n',
      _SUCCESS: '',
      '.part-00002.csv.crc': 'crc',
      '_temporary/0/part-00099.csv': 'x\n8\n',
      '.hidden/part-00098.csv': 'x\n9\n',
      '_jsfunc/shard-0-of-1.json': '{}',
      'README.txt': 'not data',
      'request.json': '{}',
    });
    const ds = await resolveDataset(dir);
    expect(ds.kind).toBe('directory');
    expect(ds.root).toBe(dir);
    expect(rel(ds.files)).toEqual([
      'B.csv',
      'a.csv',
      'part-00002.csv',
      'part-00010.csv',
      'sub/part-00001.csv',
      '\uFF01.csv',
      '\u{1F600}.csv',
    ]);
  });

  it('a glob: same selection and order; its root is the static prefix', async () => {
    await files({
      'in/part-00010.csv': 'x\n1\n',
      'in/part-00002.csv': 'x\n2\n',
      'in/deep/er/part-00003.csv': 'x\n3\n',
      'in/_temporary/0/part-00004.csv': 'x\n4\n',
      'in/.x/part-00005.csv': 'x\n5\n',
      'in/other.ndjson': '{"x":1}\n',
    });
    const all = await resolveDataset(join(dir, 'in/**/*.csv'));
    expect(all.kind).toBe('glob');
    expect(all.root).toBe(join(dir, 'in'));
    expect(rel(all.files)).toEqual([
      'in/deep/er/part-00003.csv',
      'in/part-00002.csv',
      'in/part-00010.csv',
    ]);
    const some = await resolveDataset(join(dir, 'in/part-000[1]?.csv'));
    expect(rel(some.files)).toEqual(['in/part-00010.csv']);
    const braces = await resolveDataset(join(dir, 'in/{part-00002,deep/er/part-00003}.csv'));
    expect(rel(braces.files)).toEqual(['in/deep/er/part-00003.csv', 'in/part-00002.csv']);
    const q = await resolveDataset(join(dir, 'in/part-0001?.csv'));
    expect(rel(q.files)).toEqual(['in/part-00010.csv']);
  });

  it('a relative glob resolves against the working directory', async () => {
    await files({ 'r/a.csv': 'x\n1\n', 'r/b.csv': 'x\n2\n' });
    const pattern = relative(process.cwd(), join(dir, 'r/*.csv'));
    const ds = await resolveDataset(pattern);
    expect(ds.files.map((f) => f.path)).toEqual([
      relative(process.cwd(), join(dir, 'r/a.csv')),
      relative(process.cwd(), join(dir, 'r/b.csv')),
    ]);
  });

  it('a path that exists is never a glob (a[1].csv is read as itself)', async () => {
    await files({ 'a[1].csv': 'x\n1\n', 'a1.csv': 'x\n2\n' });
    const ds = await resolveDataset(join(dir, 'a[1].csv'));
    expect(ds.kind).toBe('file');
    expect(rel(ds.files)).toEqual(['a[1].csv']);
  });

  it('.arrow and .feather are one format; ndjson and jsonl too', async () => {
    await files({ 'a.ndjson': '{"x":1}\n', 'b.jsonl': '{"x":2}\n' });
    const ds = await resolveDataset(dir);
    expect(ds.format).toBe('ndjson');
    expect(ds.files).toHaveLength(2);
  });

  it('two formats fail naming a file of each; options.format or a glob selects one', async () => {
    await files({ 'a.csv': 'x\n1\n', 'sub/b.parquet': 'PAR1' });
    const e = await rejectionOf(resolveDataset(dir));
    expect(e.code).toBe('E_FORMAT_UNSUPPORTED');
    expect(e.message).toContain(join(dir, 'a.csv'));
    expect(e.message).toContain(join(dir, 'sub/b.parquet'));
    expect(e.details.formats).toEqual(['csv', 'parquet']);
    expect(rel((await resolveDataset(dir, { format: 'csv' })).files)).toEqual(['a.csv']);
    expect(rel((await resolveDataset(join(dir, '**/*.parquet'))).files)).toEqual(['sub/b.parquet']);
  });

  it('a missing path, an empty directory and a glob without matches are E_FILE_NOT_FOUND', async () => {
    const missing = await rejectionOf(resolveDataset(join(dir, 'nope.csv')));
    expect(missing.code).toBe('E_FILE_NOT_FOUND');
    expect(missing.message).toContain('does not exist');
    await files({ 'empty/_SUCCESS': '', 'empty/notes.txt': 'x' });
    const empty = await rejectionOf(resolveDataset(join(dir, 'empty')));
    expect(empty.code).toBe('E_FILE_NOT_FOUND');
    expect(empty.message).toContain(join(dir, 'empty'));
    expect(empty.message).toContain('.parquet');
    const none = await rejectionOf(resolveDataset(join(dir, 'empty/*.csv')));
    expect(none.code).toBe('E_FILE_NOT_FOUND');
    expect(none.message).toContain('empty/*.csv');
  });
});

describe('resolveDataset: Hive partitions', () => {
  it('key=value directories become partitions in path order; default partition -> null', async () => {
    await files({
      'year=2024/month=02/part-0.csv': 'x\n1\n',
      'year=2024/month=01/part-0.csv': 'x\n2\n',
      'year=__HIVE_DEFAULT_PARTITION__/month=01/part-0.csv': 'x\n3\n',
    });
    const ds = await resolveDataset(dir);
    expect(ds.partitionKeys).toEqual(['year', 'month']);
    expect(ds.files.map((f) => [relative(dir, f.path), f.partitions])).toEqual([
      [
        'year=2024/month=01/part-0.csv',
        [
          ['year', '2024'],
          ['month', '01'],
        ],
      ],
      [
        'year=2024/month=02/part-0.csv',
        [
          ['year', '2024'],
          ['month', '02'],
        ],
      ],
      [
        'year=__HIVE_DEFAULT_PARTITION__/month=01/part-0.csv',
        [
          ['year', null],
          ['month', '01'],
        ],
      ],
    ]);
  });

  it('escaped keys and values are unescaped as Spark/Hive (and DuckDB/pyarrow) write them', async () => {
    await files({
      'k%3D1=a%3Db%2Fc%25/part-0.csv': 'x\n1\n',
      'k%3D1=S%C3%A3o Paulo/part-0.csv': 'x\n2\n',
    });
    const ds = await resolveDataset(dir);
    expect(ds.partitionKeys).toEqual(['k=1']);
    expect(ds.files.map((f) => f.partitions[0]![1]).sort()).toEqual(['São Paulo', 'a=b/c%']);
    expect(unescapePathName('%E9t%E9')).toBe('été'); // Latin-1 bytes (not UTF-8): per byte
    expect(unescapePathName('100%')).toBe('100%');
    expect(unescapePathName('%zz%4')).toBe('%zz%4');
    expect(unescapePathName('%01%7F')).toBe('\u0001\u007F');
  });

  it('a glob finds partitions below its static prefix (as Spark without basePath)', async () => {
    await files({ 'd/year=2024/a.csv': 'x\n1\n', 'd/year=2025/a.csv': 'x\n2\n' });
    const ds = await resolveDataset(join(dir, 'd/year=*/*.csv'));
    expect(ds.partitionKeys).toEqual(['year']);
    const one = await resolveDataset(join(dir, 'd/year=2024/*.csv'));
    expect(one.partitionKeys).toEqual([]);
  });

  it('files below different keys fail naming the file', async () => {
    await files({ 'a=1/b=2/p.csv': 'x\n1\n', 'a=1/p.csv': 'x\n2\n' });
    const e = await rejectionOf(resolveDataset(dir));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain(join(dir, 'a=1/p.csv'));
    expect(e.details).toMatchObject({ expected: ['a', 'b'], found: ['a'] });
    await cleanup();
    ({ dir, cleanup } = await tempDir());
    await files({ 'a=1/b=2/p.csv': 'x\n1\n', 'b=2/a=1/p.csv': 'x\n2\n' });
    const order = await rejectionOf(resolveDataset(dir));
    expect(order.code).toBe('E_SCHEMA_MISMATCH');
    expect(order.message).toContain(join(dir, 'b=2/a=1/p.csv'));
  });

  it('one key twice on a path is malformed', async () => {
    await files({ 'a=1/a=2/p.csv': 'x\n1\n' });
    expect((await rejectionOf(resolveDataset(dir))).code).toBe('E_FORMAT_MALFORMED');
  });
});

describe('partitionColumns', () => {
  const file = (partitions: [string, string | null][]) => ({ path: 'f.csv', partitions });

  it('Utf8 by default; typed by the signature; null for the default partition; shared memory', () => {
    const types = partitionValueTypes(['s', 'i', 'l', 'f', 'd', 'b', 't', 'n'], [
      { kind: 'column', name: 'i', type: { type: 'integer' }, required: true },
      { kind: 'column', name: 'l', type: { type: 'long' }, required: true },
      { kind: 'column', name: 'f', type: { type: 'float' }, required: true },
      { kind: 'column', name: 'd', type: { type: 'double' }, required: true },
      { kind: 'column', name: 'b', type: { type: 'boolean' }, required: true },
      { kind: 'column', name: 't', type: { type: 'datetime' }, required: true },
      { kind: 'column', name: 'n', type: { type: 'long' }, required: true },
    ] satisfies ColSpec[]);
    const cols = partitionColumns(
      file([
        ['s', 'héllo'],
        ['i', '7'],
        ['l', '9007199254740993'],
        ['f', '0.1'],
        ['d', '2.5'],
        ['b', 'true'],
        ['t', '2024-01-02'],
        ['n', null],
      ]),
      5,
      types
    );
    const fields = partitionFields(['s', 'i', 'l', 'f', 'd', 'b', 't', 'n'], types);
    expect(fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual([
      's: Utf8',
      'i: Int32',
      'l: Int64',
      'f: Float32',
      'd: Float64',
      'b: Bool',
      't: Timestamp<MILLISECOND>',
      'n: Int64',
    ]);
    const batch = appendColumns(emptyBatch(5), fields, cols);
    const r = rows([batch]);
    expect(r).toHaveLength(5);
    expect(r[4]).toEqual({
      s: 'héllo',
      i: 7,
      l: 9007199254740993n,
      f: Math.fround(0.1),
      d: 2.5,
      b: true,
      t: Date.UTC(2024, 0, 2),
      n: null,
    });
    for (const c of cols) {
      const buffers = [c.values, c.valueOffsets, c.nullBitmap].filter((b) => b?.byteLength);
      for (const b of buffers) expect(b!.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    // A batch carrying them goes through the worker wire format unchanged.
    expect(rows(shareTable(batch).batches)).toEqual(r);
  });

  it('zero rows, and false booleans', () => {
    const types = { b: { type: 'boolean' } } as const;
    expect(partitionColumns(file([['b', 'false']]), 0, types)[0]!.length).toBe(0);
    const [b] = partitionColumns(file([['b', 'false']]), 9, types);
    const batch = appendColumns(emptyBatch(9), partitionFields(['b'], types), [b!]);
    expect(rows([batch]).map((x) => x.b)).toEqual(Array(9).fill(false));
  });

  it('a value that does not convert names the file, column and value', () => {
    const e = errorOf(() =>
      partitionColumns(file([['year', 'abc']]), 3, { year: { type: 'integer' } })
    );
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain('f.csv');
    expect(e.message).toContain("'year'");
    expect(e.message).toContain('"abc"');
  });

  it('an unnamed column signature types no partition column; a named tensor does', () => {
    expect(
      partitionValueTypes(['y'], [{ kind: 'column', type: { type: 'long' }, required: true }])
    ).toEqual({ y: null });
    expect(
      partitionValueTypes(['y'], [{ kind: 'tensor', name: 'y', dtype: 'float64', shape: [-1] }])
    ).toEqual({ y: { type: 'double' } });
  });
});

/** A batch of `n` rows and no columns. */
function emptyBatch(n: number): RecordBatch {
  return new RecordBatch(
    new Schema([]),
    makeData({ type: new Struct([]), length: n, nullCount: 0, children: [] })
  );
}

describe('readBatches over a dataset', () => {
  it('Parquet directory with partitions = each file read alone plus its partition columns', async () => {
    const a = await writeParquet('year=2024/city=Oslo/part-00000.parquet', [1, 2], ['a', 'b']);
    const b = await writeParquet('year=2024/city=S%C3%A3o/part-00000.parquet', [3], ['c']);
    const c = await writeParquet('year=2025/city=__HIVE_DEFAULT_PARTITION__/p.parquet', [4], ['d']);
    const got = await collect(readBatches(dir));
    expect(typesOf(got[0]!)).toEqual(['id: Int32', 'name: Utf8', 'year: Utf8', 'city: Utf8']);
    const expected = [];
    for (const [path, year, city] of [
      [a, '2024', 'Oslo'],
      [b, '2024', 'São'],
      [c, '2025', null],
    ] as const) {
      for (const r of rows(await collect(readBatches(path)))) expected.push({ ...r, year, city });
    }
    expect(rows(got)).toEqual(expected);
  });

  it('the signature types partition columns; a glob reads the same', async () => {
    await writeParquet('year=2024/p.parquet', [1], ['a']);
    await writeParquet('year=2025/p.parquet', [2], ['b']);
    const schema: ColSpec[] = [
      { kind: 'column', name: 'id', type: { type: 'integer' }, required: true },
      { kind: 'column', name: 'year', type: { type: 'integer' }, required: true },
    ];
    const got = await collect(readBatches(join(dir, '*/*.parquet'), { schema }));
    expect(typesOf(got[0]!)).toEqual(['id: Int32', 'name: Utf8', 'year: Int32']);
    expect(rows(got)).toEqual([
      { id: 1, name: 'a', year: 2024 },
      { id: 2, name: 'b', year: 2025 },
    ]);
  });

  it('CSV directory: batches per file, partition columns, later files keep the first types', async () => {
    await files({
      // "007" is quoted: the column is a string in the first file, and stays one in the second
      // (inferred alone, the second file's 8 would be Int64)
      'k=x/part-00000.csv': 'zip,v\n"007",1\n"010",2\n"011",3\n',
      'k=y/part-00001.csv': 'zip,v\n8,4\n',
    });
    const got = await collect(readBatches(dir, { batchSize: 2 }));
    expect(got.map((b) => b.numRows)).toEqual([2, 1, 1]);
    for (const b of got) expect(typesOf(b)).toEqual(['zip: Utf8', 'v: Int64', 'k: Utf8']);
    expect(rows(got)).toEqual([
      { zip: '007', v: 1n, k: 'x' },
      { zip: '010', v: 2n, k: 'x' },
      { zip: '011', v: 3n, k: 'x' },
      { zip: '8', v: 4n, k: 'y' },
    ]);
  });

  it('a header-only CSV part does not fix the types; an all-empty dataset yields its header', async () => {
    await files({ 'part-00000.csv': 'v\n', 'part-00001.csv': 'v\n1.5\n' });
    const got = await collect(readBatches(dir));
    expect(got.map(typesOf)).toEqual([['v: Float64']]);
    expect(rows(got)).toEqual([{ v: 1.5 }]);
    await cleanup();
    ({ dir, cleanup } = await tempDir());
    await files({ 'k=1/part-00000.csv': 'v\n', 'k=2/part-00001.csv': 'v\n' });
    const none = await collect(readBatches(dir));
    expect(none).toHaveLength(1);
    expect(none[0]!.numRows).toBe(0);
    expect(typesOf(none[0]!)).toEqual(['v: Utf8', 'k: Utf8']);
  });

  it('a file whose columns differ fails naming the file and the first differing column', async () => {
    await writeParquet('part-00000.parquet', [1], ['a']);
    const t = new Table({
      id: makeVector(Int32Array.of(2)),
      label: vectorFromArray(['b'], new Utf8()),
    });
    const w = createBatchWriter(join(dir, 'part-00001.parquet'));
    await w.write(t.batches[0] as RecordBatch);
    await w.close();
    const e = await rejectionOf(collect(readBatches(dir)));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain(join(dir, 'part-00001.parquet'));
    expect(e.message).toContain("'label: Utf8'");
    expect(e.details).toMatchObject({ column: 'label', position: 1 });
  });

  it('a type that differs fails too; so does a file column named like a partition key', async () => {
    await files({ 'part-00000.ndjson': '{"v":1}\n', 'part-00001.ndjson': '{"v":"x"}\n' });
    const e = await rejectionOf(collect(readBatches(dir)));
    expect(e.code).toBe('E_FORMAT_MALFORMED'); // the second file is read as Int64, as declared
    expect(e.message).toContain('part-00001.ndjson');
    await cleanup();
    ({ dir, cleanup } = await tempDir());
    await files({ 'v=1/part-00000.csv': 'v\n2\n' });
    const clash = await rejectionOf(collect(readBatches(dir)));
    expect(clash.code).toBe('E_SCHEMA_MISMATCH');
    expect(clash.message).toContain("'v'");
  });

  it('a partition value the signature types but cannot convert fails naming the file', async () => {
    await files({ 'year=abc/part-00000.csv': 'v\n2\n' });
    const schema: ColSpec[] = [
      { kind: 'column', name: 'year', type: { type: 'long' }, required: true },
    ];
    const e = await rejectionOf(collect(readBatches(dir, { schema })));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain('year=abc');
  });

  it('batchSize is checked for datasets too; a missing glob is E_FILE_NOT_FOUND', async () => {
    await files({ 'a.csv': 'v\n1\n' });
    expect((await rejectionOf(collect(readBatches(dir, { batchSize: 0 })))).code).toBe(
      'E_OPTION_INVALID'
    );
    expect((await rejectionOf(collect(readBatches(join(dir, '*.parquet'))))).code).toBe(
      'E_FILE_NOT_FOUND'
    );
  });

  it('partition columns survive a Parquet write and read back', async () => {
    await writeParquet('k=a/p.parquet', [1, 2], ['x', 'y']);
    const out = join(dir, 'out.parquet');
    const w = createBatchWriter(out);
    for await (const b of readBatches(dir)) await w.write(b);
    await w.close();
    expect(rows(await collect(readBatches(out)))).toEqual([
      { id: 1, name: 'x', k: 'a' },
      { id: 2, name: 'y', k: 'a' },
    ]);
  });
});
