// scoreFiles end to end on real worker threads: every input format into every output format with
// many splits, output = a one-thread read of the input + the model's own predictions, in input
// order; Parquet passthrough; datasets in (Hive partitions) and out (parts + _SUCCESS, read by
// DuckDB as one table); shards; failures leaving nothing behind.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Table, Utf8, makeVector, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatches } from '../../src/io/read-batches.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { loadModel } from '../../src/package/load-model.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { scoreFiles } from '../../src/score/score-files.js';
import { collect, packageExample, rowsOf, tempDir } from '../cli/helpers.js';

const features = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'];
const N = 3000;
const formats = ['parquet', 'arrow', 'arrows', 'csv', 'ndjson'] as const;

let dir: string;
let cleanup: () => Promise<void>;
let linear: string;
let pool: ModelPool;
let expected: Record<string, unknown>[];

/** N rows of x0..x9 plus an id column the model ignores, in 12 batches (12 row groups). */
function inputBatches(): RecordBatch[] {
  const cols: Record<string, ReturnType<typeof makeVector>> = {};
  for (let c = 0; c < features.length; c++) {
    cols[features[c]!] = makeVector(
      Float64Array.from({ length: N }, (_, i) => Math.round(Math.sin(i * (c + 1)) * 3000) / 1000)
    );
  }
  const ids = vectorFromArray(
    Array.from({ length: N }, (_, i) => `row-${i}`),
    new Utf8()
  );
  const table = new Table({ id: ids, ...cols });
  const out: RecordBatch[] = [];
  for (let a = 0; a < N; a += 250) out.push(...table.slice(a, a + 250).batches);
  return out;
}

async function write(path: string, batches: readonly RecordBatch[]): Promise<string> {
  const w = createBatchWriter(path);
  for (const b of batches) await w.write(b);
  await w.close();
  return path;
}

const rows = async (path: string) => rowsOf(await collect(readBatches(path)));

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-score-files-'));
  linear = await packageExample('linear', dir);
  pool = createPool({ workers: 2 });
  const batches = inputBatches();
  for (const f of formats) await write(join(dir, `in.${f}`), batches);
  // The oracle: the model's own predict on the whole input, one thread.
  const model = await loadModel(linear);
  const table = new Table(batches);
  const prediction = (await model.predict(table)) as Float64Array;
  expected = rowsOf(table.batches).map((r, i) => ({ ...r, prediction: prediction[i] }));
});

afterAll(async () => {
  await pool.close();
  await cleanup();
});

const small = { splitSize: { rows: 500, bytes: 16 * 1024 } };

describe('scoreFiles', () => {
  for (const input of formats) {
    it(`scores ${input} into every format, in many splits, as a one-thread read + predict`, async () => {
      for (const output of formats) {
        const out = join(dir, `out-${input}.${output}`);
        const summary = await scoreFiles(linear, join(dir, `in.${input}`), out, {
          pool,
          ...small,
        });
        expect(summary.rows).toBe(N);
        const got = await rows(out);
        expect(got.length).toBe(N);
        for (let i = 0; i < N; i += 97) {
          expect(got[i], `${input} -> ${output} row ${i}`).toEqual(expected[i]);
        }
        expect(got.map((r) => r['id'])).toEqual(expected.map((r) => r['id']));
      }
      if (input === 'parquet' || input === 'arrow') {
        const summary = await scoreFiles(linear, join(dir, `in.${input}`), join(dir, 'x.csv'), {
          pool,
          ...small,
        });
        expect(summary.splits).toBeGreaterThan(4);
      }
    });
  }

  it('Parquet -> Parquet copies the input column chunks and equals a full re-encode', async () => {
    const out = join(dir, 'pass.parquet');
    await scoreFiles(linear, join(dir, 'in.parquet'), out, { pool, ...small });
    // A result named like an input column replaces it in place: no passthrough (full encode).
    const replaced = join(dir, 'replaced.parquet');
    await scoreFiles(linear, join(dir, 'in.parquet'), replaced, {
      pool,
      outputColumn: 'x9',
      ...small,
    });
    const got = await rows(out);
    expect(got).toEqual(expected);
    const rep = await rows(replaced);
    expect(Object.keys(rep[0]!)).toEqual(['id', ...features]);
    expect(rep.map((r) => r['x9'])).toEqual(expected.map((r) => r['prediction']));
  });

  it('reads a Hive-partitioned dataset and writes a dataset that DuckDB reads as one table', async () => {
    const ds = join(dir, 'hive');
    const batches = inputBatches();
    for (const [i, region] of ['eu', 'us'].entries()) {
      await mkdir(join(ds, `region=${region}`), { recursive: true });
      await write(join(ds, `region=${region}`, 'part-0.parquet'), batches.slice(i * 6, i * 6 + 6));
    }
    const out = join(dir, 'hive-out');
    const summary = await scoreFiles(linear, ds, `${out}/`, { pool, ...small });
    expect(summary.rows).toBe(N);
    expect(summary.dataset?.committed).toBe(true);
    const names = (await readdir(out)).sort();
    expect(names).toContain('_SUCCESS');
    expect(names.filter((n) => n.startsWith('part-')).length).toBe(summary.splits);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const reader = await c.runAndReadAll(
      `SELECT id, region, prediction FROM read_parquet('${out}/*.parquet')`
    );
    const got = reader.getRowObjects();
    expect(got.length).toBe(N);
    const byId = new Map(expected.map((r) => [r['id'], r['prediction']]));
    for (const r of got) expect(r['prediction']).toBeCloseTo(byId.get(r['id']) as number, 12);
    expect(new Set(got.map((r) => r['region']))).toEqual(new Set(['eu', 'us']));
    c.closeSync();
  });

  it('shards: each writes its parts; the last commits; the union is the whole input once', async () => {
    const out = join(dir, 'sharded');
    const results = [];
    for (const index of [2, 0, 1]) {
      results.push(
        await scoreFiles(linear, join(dir, 'in.csv'), out, {
          pool,
          shard: { index, count: 3 },
          outputFormat: 'parquet',
          ...small,
        })
      );
      const done = (await readdir(out)).includes('_SUCCESS');
      expect(done).toBe(results.length === 3);
    }
    expect(results.reduce((n, r) => n + r.rows, 0)).toBe(N);
    // Part names sort in input order: reading the directory gives the input order back.
    expect(await rows(out)).toEqual(expected);
    // A rerun of one shard replaces its parts (same names), and the dataset stays whole.
    await scoreFiles(linear, join(dir, 'in.csv'), out, {
      pool,
      shard: { index: 1, count: 3 },
      outputFormat: 'parquet',
      ...small,
    });
    expect(await rows(out)).toEqual(expected);
  });

  it('CSV with quoted newlines, commas and quotes: tiny splits equal a one-thread read', async () => {
    // Quoted fields with newlines straddle split boundaries: guessed record starts are wrong
    // there and must be re-run exactly; every split must start where the one before ended.
    const lines = ['id,note,' + features.join(',')];
    for (let i = 0; i < 900; i++) {
      const note =
        i % 3 === 0
          ? `"line one\nline ""two"", with comma\r\nline ${i}"`
          : i % 3 === 1
            ? `"${'x'.repeat(i % 50)}"`
            : '';
      lines.push(
        [`"r${i}"`, note, ...features.map((_, c) => String((i * (c + 1)) % 17))].join(',')
      );
    }
    const input = join(dir, 'quoted.csv');
    await writeFile(input, `${lines.join('\r\n')}\r\n`);
    const model = await loadModel(linear);
    const typed = { schema: model.signature!.inputs };
    const oneThread = rowsOf(await collect(readBatches(input, typed)));
    const prediction = (await model.predict(
      new Table(await collect(readBatches(input, typed)))
    )) as Float64Array;
    for (const [bytes, small] of [
      [300, false],
      [4096, true],
    ] as const) {
      for (const ext of ['csv', 'parquet']) {
        const out = join(dir, `quoted-${bytes}.${ext}`);
        const summary = await scoreFiles(linear, input, out, {
          pool,
          splitSize: { bytes },
          ...(small ? { batchSize: 7 } : {}),
        });
        expect(summary.splits).toBeGreaterThan(3);
        const got = await rows(out);
        expect(got).toEqual(oneThread.map((r, i) => ({ ...r, prediction: prediction[i] })));
      }
    }
    // CSV -> CSV copies the input records: the notes come out byte for byte (CRLF inside quotes).
    const copied = await readFile(join(dir, 'quoted-300.csv'), 'utf8');
    expect(copied).toContain('"line one\nline ""two"", with comma\r\nline 3"');
    // A bad value deep in the file is reported at its line in the whole file, from any split.
    const bad = lines.slice();
    bad[700] = bad[700]!.replace(/,(\d+)$/, ',oops');
    const badInput = join(dir, 'quoted-bad.csv');
    await writeFile(badInput, `${bad.join('\r\n')}\r\n`);
    const oneThreadError = await collect(readBatches(badInput, typed)).catch((e: unknown) => e);
    const splitError = await scoreFiles(linear, badInput, join(dir, 'never.parquet'), {
      pool,
      splitSize: { bytes: 300 },
    }).catch((e: unknown) => e);
    expect((splitError as Error).message).toBe((oneThreadError as Error).message);
    expect((splitError as Error).message).toMatch(/line \d+/);
  });

  it('a failing model leaves no output file and no temporary file', async () => {
    const fails = join(dir, 'fails');
    await mkdir(fails);
    const bad = join(dir, 'bad.csv');
    const text = await readFile(join(dir, 'in.csv'), 'utf8');
    await writeFile(bad, text.replace(/\n"row-2000",([^,\n]*),/, '\n"row-2000",oops,'));
    await expect(
      scoreFiles(linear, bad, join(fails, 'out.parquet'), { pool, ...small })
    ).rejects.toMatchObject({ code: 'E_FORMAT_MALFORMED' });
    expect(await readdir(fails)).toEqual([]);
  });
});
