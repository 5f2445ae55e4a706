import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { Table, Utf8, makeVector, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DatasetOutput,
  commitDataset,
  isProcessAlive,
  jobUuid,
  openDatasetOutput,
  partFileName,
  removeStaleTempFiles,
} from '../../src/io/dataset-output.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { rejectionOf } from '../util/model-error.js';
import { tempDir } from './helpers.js';

let root = '';
let out = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir());
  out = join(root, 'out');
});
afterEach(async () => {
  await cleanup();
});

const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** Rows `from..to-1`: id and a label saying which run wrote them. */
function batch(from: number, to: number, label: string): RecordBatch {
  const ids = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return new Table({
    id: makeVector(ids),
    label: vectorFromArray(
      Array.from(ids, () => label),
      new Utf8()
    ),
  }).batches[0] as RecordBatch;
}

/** Writes part `index` (rows index*10 .. index*10+9) with createBatchWriter and commits it. */
async function writePart(o: DatasetOutput, index: number, label = 'run1'): Promise<void> {
  const part = o.part(index);
  const w = createBatchWriter(part.path);
  await w.write(batch(index * 10, index * 10 + 10, label));
  await w.close();
  await part.commit();
}

/** Runs SQL in DuckDB and returns the rows. */
async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const rows = (await connection.runAndReadAll(sql)).getRowObjectsJson();
    // BIGINT (count, sum) comes as JSON text; the labels here are never all digits.
    return rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v,
        ])
      )
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  expect(isProcessAlive(child.pid!)).toBe(false);
  return child.pid!;
}

describe('openDatasetOutput: one run', () => {
  it('writes parts and _SUCCESS last; DuckDB reads the Parquet parts as one table', async () => {
    const o = await openDatasetOutput(out, { extension: 'parquet', job: 'job-A' });
    for (const i of [0, 1, 2]) await writePart(o, i);
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    const done = await o.finish({ rows: 30, parts: [0, 1, 2] });
    expect(done).toMatchObject({ committed: true, missing: [], rows: 30, shards: 1 });
    const uuid = jobUuid('job-A');
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await names(out)).toEqual([
      '_SUCCESS',
      '_jsfunc',
      `part-00000-${uuid}.parquet`,
      `part-00001-${uuid}.parquet`,
      `part-00002-${uuid}.parquet`,
    ]);
    expect(await names(join(out, '_jsfunc'))).toEqual(['shard-0-of-1.json']);
    const success = JSON.parse(await readFile(join(out, '_SUCCESS'), 'utf8')) as unknown;
    expect(success).toMatchObject({ committer: 'jsfunc', job: 'job-A', shards: 1, rows: 30 });
    expect(
      await duck(
        `SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi ` +
          `FROM read_parquet('${out}/*.parquet')`
      )
    ).toEqual([{ n: 30, d: 30, lo: 0, hi: 29 }]);
    // A directory reader that skips _ and . names (pyarrow, Spark) sees the same table.
    expect(await duck(`SELECT count(*) AS n FROM read_parquet('${out}/**/*.parquet')`)).toEqual([
      { n: 30 },
    ]);
  });

  it('CSV parts: DuckDB read_csv over the glob gives one table with one header', async () => {
    const o = await openDatasetOutput(out, { extension: '.csv', job: 'job-C' });
    for (const i of [1, 0]) await writePart(o, i);
    await o.finish({ rows: 20 });
    expect(
      await duck(
        `SELECT count(*) AS n, sum(id) AS s, min(label) AS l FROM read_csv('${out}/*.csv')`
      )
    ).toEqual([{ n: 20, s: 190, l: 'run1' }]);
  });

  it('part(): deterministic names, a commit without a file and a repeated index fail', async () => {
    expect(partFileName(7, 'j', 'parquet')).toBe(`part-00007-${jobUuid('j')}.parquet`);
    expect(partFileName(123456, 'j', '.csv')).toBe(`part-123456-${jobUuid('j')}.csv`);
    const o = await openDatasetOutput(out, { extension: 'csv', job: 'j' });
    const p = o.part(3);
    expect(p.path.startsWith(join(out, '_temporary', '0-'))).toBe(true);
    expect((await rejectionOf(p.commit())).code).toBe('E_INTERNAL');
    expect(() => o.part(3)).toThrow(/already used/);
    expect(() => o.part(-1)).toThrow(/non-negative integer/);
    await o.abort();
  });

  it('finish() checks the planned parts against the committed ones', async () => {
    const o = await openDatasetOutput(out, { extension: 'csv', job: 'j' });
    await writePart(o, 0);
    const e = await rejectionOf(o.finish({ rows: 10, parts: [0, 1] }));
    expect(e.code).toBe('E_INTERNAL');
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    await o.abort();
  });

  it('abort() removes the run directory, keeps committed parts, never writes _SUCCESS', async () => {
    const o = await openDatasetOutput(out, { extension: 'csv', job: 'j' });
    await writePart(o, 0);
    const half = o.part(1);
    await writeFile(half.path, 'id,label\n10,x\n');
    await o.abort();
    // The run's temporary directory is gone, and `_temporary/` with it once empty.
    expect(await names(out)).toEqual([partFileName(0, 'j', 'csv')]);
    expect(() => o.part(2)).toThrow(/aborted/);
  });

  it('options are checked', async () => {
    for (const bad of [
      { extension: 'a/b', job: 'j' },
      { extension: 'csv', job: '' },
      { extension: 'csv', job: 'j', shard: { index: 2, count: 2 } },
      { extension: 'csv', job: 'j', shard: { index: 0, count: 0 } },
    ]) {
      expect((await rejectionOf(openDatasetOutput(out, bad))).code).toBe('E_OPTION_INVALID');
    }
  });
});

describe('openDatasetOutput: what the directory may hold', () => {
  it('a foreign file -> E_TARGET_NOT_EMPTY naming it, and nothing is touched', async () => {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, '_SUCCESS'), '');
    await writeFile(join(out, 'part-00000-x.csv'), 'a\n1\n');
    await writeFile(join(out, 'notes.txt'), 'mine');
    const e = await rejectionOf(openDatasetOutput(out, { extension: 'csv', job: 'j' }));
    expect(e.code).toBe('E_TARGET_NOT_EMPTY');
    expect(e.message).toContain(join(out, 'notes.txt'));
    expect(await names(out)).toEqual(['_SUCCESS', 'notes.txt', 'part-00000-x.csv']);
    await writeFile(join(out, '.part-00000-x.csv.crc'), '');
    const crc = await rejectionOf(
      openDatasetOutput(join(root, 'out'), { extension: 'csv', job: 'j' })
    );
    expect(crc.code).toBe('E_TARGET_NOT_EMPTY');
  });

  it('another job: its _SUCCESS goes at open, its parts at commit', async () => {
    const a = await openDatasetOutput(out, { extension: 'parquet', job: 'job-1' });
    for (const i of [0, 1, 2]) await writePart(a, i, 'job1');
    await a.finish({ rows: 30 });
    const b = await openDatasetOutput(out, { extension: 'parquet', job: 'job-2' });
    // Before anything of job 2 is written, job 1 no longer looks complete.
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    expect(await names(join(out, '_jsfunc'))).toEqual([]);
    for (const i of [0, 1]) await writePart(b, i, 'job2');
    expect((await names(out)).filter((n) => n.startsWith('part-'))).toHaveLength(5);
    await b.finish({ rows: 20 });
    expect((await names(out)).filter((n) => n.startsWith('part-'))).toEqual([
      partFileName(0, 'job-2', 'parquet'),
      partFileName(1, 'job-2', 'parquet'),
    ]);
    expect(
      await duck(
        `SELECT count(*) AS n, count(DISTINCT label) AS labels, min(label) AS l ` +
          `FROM read_parquet('${out}/*.parquet')`
      )
    ).toEqual([{ n: 20, labels: 1, l: 'job2' }]);
    expect(JSON.parse(await readFile(join(out, '_SUCCESS'), 'utf8'))).toMatchObject({
      job: 'job-2',
    });
  });

  it("Spark's output (empty _SUCCESS, part-* files) is taken over as another job's", async () => {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, '_SUCCESS'), '');
    await writeFile(join(out, 'part-00000-5e1c-c000.csv'), 'id,label\n999,spark\n');
    const o = await openDatasetOutput(out, { extension: 'csv', job: 'j' });
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    await writePart(o, 0);
    await o.finish({ rows: 10 });
    expect(await duck(`SELECT count(*) AS n FROM read_csv('${out}/*.csv')`)).toEqual([{ n: 10 }]);
  });
});

describe('shards', () => {
  const N = 4;
  const PARTS = 10; // part i belongs to shard i % N

  async function runShard(index: number, label = 'run1'): Promise<DatasetOutput> {
    const o = await openDatasetOutput(out, {
      extension: 'parquet',
      job: 'sharded',
      shard: { index, count: N },
    });
    for (let p = index; p < PARTS; p += N) await writePart(o, p, label);
    return o;
  }
  const partsOf = (index: number) =>
    Array.from({ length: PARTS }, (_, p) => p).filter((p) => p % N === index);

  it('N shards finishing in random order: _SUCCESS exactly when the last one is done', async () => {
    for (const order of [
      [2, 0, 3, 1],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
    ]) {
      await cleanup();
      ({ dir: root, cleanup } = await tempDir());
      out = join(root, 'out');
      const shards = await Promise.all(order.map((i) => runShard(i)));
      for (let k = 0; k < N; k++) {
        const o = shards[k]!;
        const parts = partsOf(o.shard.index);
        const done = await o.finish({ rows: parts.length * 10, parts });
        expect(existsSync(join(out, '_SUCCESS'))).toBe(k === N - 1);
        expect(done.committed).toBe(k === N - 1);
        if (k < N - 1) expect(done.missing).toEqual(order.slice(k + 1).sort());
      }
      expect(existsSync(join(out, '_temporary'))).toBe(false);
      expect(
        await duck(
          `SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi ` +
            `FROM read_parquet('${out}/*.parquet')`
        )
      ).toEqual([{ n: PARTS * 10, d: PARTS * 10, lo: 0, hi: PARTS * 10 - 1 }]);
      expect(JSON.parse(await readFile(join(out, '_SUCCESS'), 'utf8'))).toMatchObject({
        shards: N,
        rows: PARTS * 10,
      });
    }
  });

  it('the last two shards finishing at once both end with a correct _SUCCESS', async () => {
    const shards = await Promise.all([0, 1, 2, 3].map((i) => runShard(i)));
    await shards[0]!.finish({ rows: 30 });
    await shards[1]!.finish({ rows: 30 });
    const both = await Promise.all([
      shards[2]!.finish({ rows: 20 }),
      shards[3]!.finish({ rows: 20 }),
    ]);
    expect(both.some((d) => d.committed)).toBe(true);
    const success = JSON.parse(await readFile(join(out, '_SUCCESS'), 'utf8')) as {
      parts: string[];
      rows: number;
    };
    expect(success.parts).toHaveLength(PARTS);
    expect(success.rows).toBe(100);
    // Committing again (the `jsfunc commit` command) is harmless.
    expect(await commitDataset(out)).toMatchObject({ committed: true, rows: 100 });
  });

  it('a shard rerun replaces its parts (no duplicates), before and after the commit', async () => {
    const shards = await Promise.all([0, 1, 2, 3].map((i) => runShard(i)));
    for (const o of shards) await o.finish({ rows: partsOf(o.shard.index).length * 10 });
    const rerun = await runShard(2, 'rerun');
    await rerun.finish({ rows: 20 });
    expect(
      await duck(
        `SELECT label, count(*) AS n, count(DISTINCT id) AS d FROM read_parquet('${out}/*.parquet') ` +
          'GROUP BY label ORDER BY label'
      )
    ).toEqual([
      { label: 'rerun', n: 20, d: 20 },
      { label: 'run1', n: 80, d: 80 },
    ]);
    expect((await names(out)).filter((n) => n.startsWith('part-'))).toHaveLength(PARTS);
  });

  it('commitDataset: missing shards -> E_DATASET_INCOMPLETE listing them', async () => {
    const a = await runShard(0);
    await a.finish({ rows: 30 });
    const c = await runShard(2);
    await c.finish({ rows: 20 });
    const e = await rejectionOf(commitDataset(out));
    expect(e.code).toBe('E_DATASET_INCOMPLETE');
    expect(e.details.missing).toEqual([1, 3]);
    expect(e.message).toContain('1, 3');
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    const wrongCount = await rejectionOf(commitDataset(out, { shards: 2 }));
    expect(wrongCount.code).toBe('E_DATASET_INCOMPLETE');
    const empty = await rejectionOf(commitDataset(join(root, 'nothing')));
    expect(empty.code).toBe('E_DATASET_INCOMPLETE');
  });

  it('commitDataset: markers of different jobs or counts -> E_DATASET_INCOMPLETE', async () => {
    await mkdir(join(out, '_jsfunc'), { recursive: true });
    const marker = (job: string, shard: number, count: number) =>
      writeFile(
        join(out, '_jsfunc', `shard-${shard}-of-${count}.json`),
        JSON.stringify({ job, shard, count, parts: [], rows: 0 })
      );
    await marker('a', 0, 2);
    await marker('b', 1, 2);
    const e = await rejectionOf(commitDataset(out));
    expect(e.code).toBe('E_DATASET_INCOMPLETE');
    expect(e.message).toContain('disagree');
  });

  it('commitDataset: a part a marker lists is gone -> E_DATASET_INCOMPLETE naming the shard', async () => {
    const o = await openDatasetOutput(out, { extension: 'csv', job: 'j' });
    await writePart(o, 0);
    await o.finish({ rows: 10 });
    await rm(join(out, partFileName(0, 'j', 'csv')));
    const e = await rejectionOf(commitDataset(out));
    expect(e.code).toBe('E_DATASET_INCOMPLETE');
    expect(e.message).toContain('rerun shard 0');
  });
});

describe('killed runs and stale temporary files', () => {
  let bundle = '';
  beforeEach(async () => {
    // The child runs the real module: bundled from source (no build step needed).
    bundle = join(root, 'dataset-output.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../../src/io/dataset-output.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
  });

  async function killedShard(commitFirst: boolean): Promise<NodeJS.Signals | null> {
    const script = `
      import { writeFile } from 'node:fs/promises';
      import { openDatasetOutput } from ${JSON.stringify(bundle)};
      const o = await openDatasetOutput(${JSON.stringify(out)}, {
        extension: 'csv', job: 'killed', shard: { index: 1, count: 2 },
      });
      if (${commitFirst}) {
        const p0 = o.part(1);
        await writeFile(p0.path, 'id,label\\n11,done\\n');
        await p0.commit();
      }
      const p = o.part(3);
      await writeFile(p.path, 'id,label\\n31,half');
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return new Promise((r) => child.on('exit', (_code, signal) => r(signal)));
  }

  it('a SIGKILLed shard leaves no _SUCCESS and nothing outside _temporary/; the next run cleans it', async () => {
    const first = await openDatasetOutput(out, {
      extension: 'csv',
      job: 'killed',
      shard: { index: 0, count: 2 },
    });
    await writePart(first, 0);
    await first.finish({ rows: 10 });
    const before = await names(out);
    expect(await killedShard(false)).toBe('SIGKILL');
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    // Nothing new outside _temporary/ (shard 0's committed part and marker were there before).
    const outside = (list: string[]) => list.filter((n) => n !== '_temporary');
    expect(outside(await names(out))).toEqual(outside(before));
    const temps = await names(join(out, '_temporary'));
    expect(temps).toHaveLength(1);
    expect(temps[0]).toMatch(new RegExp(`^1-\\d+-${HOST}-[0-9a-f]+$`));
    // Rerun shard 1: the dead run's directory goes at open; the job then commits.
    const again = await openDatasetOutput(out, {
      extension: 'csv',
      job: 'killed',
      shard: { index: 1, count: 2 },
    });
    const now = await names(join(out, '_temporary'));
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(temps[0]);
    await writePart(again, 1);
    await writePart(again, 3);
    expect((await again.finish({ rows: 20 })).committed).toBe(true);
    expect(
      await duck(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_csv('${out}/*.csv')`)
    ).toEqual([{ n: 30, d: 30 }]);
  });

  it('a shard killed after committing a part leaves only that complete part; a rerun replaces it', async () => {
    expect(await killedShard(true)).toBe('SIGKILL');
    expect(await names(out)).toEqual(['_temporary', partFileName(1, 'killed', 'csv')]);
    const again = await openDatasetOutput(out, {
      extension: 'csv',
      job: 'killed',
      shard: { index: 1, count: 2 },
    });
    await writePart(again, 1, 'rerun');
    await writePart(again, 3, 'rerun');
    expect((await again.finish({ rows: 20 })).committed).toBe(false);
    expect(
      await duck(`SELECT label, count(*) AS n FROM read_csv('${out}/*.csv') GROUP BY label`)
    ).toEqual([{ label: 'rerun', n: 20 }]);
  });

  it('only entries of dead processes of this host are removed at open', async () => {
    const dead = await deadPid();
    const keep = [
      `0-${process.ppid}-${HOST}-aaaa0001`, // alive
      `0-${dead}-0badc0de-aaaa0002`, // another host: cannot tell, left to the commit
      'spark-attempt_0001', // not ours: left to the commit
    ];
    const gone = [`0-${dead}-${HOST}-aaaa0003`, `3-${dead}-${HOST}-aaaa0004`];
    for (const n of [...keep, ...gone]) {
      await mkdir(join(out, '_temporary', n, 'x'), { recursive: true });
    }
    await mkdir(join(out, '_jsfunc'), { recursive: true });
    await writeFile(join(out, '_jsfunc', `.tmp-${dead}-${HOST}-aaaa0005`), '{}');
    const o = await openDatasetOutput(out, { extension: 'csv', job: 'j' });
    const left = await names(join(out, '_temporary'));
    for (const n of keep) expect(left).toContain(n);
    for (const n of gone) expect(left).not.toContain(n);
    expect(left).toHaveLength(keep.length + 1); // + this run's
    expect(await names(join(out, '_jsfunc'))).toEqual([]);
    await writePart(o, 0);
    await o.finish({ rows: 10 });
    expect(existsSync(join(out, '_temporary'))).toBe(false); // the commit removes it whole
  });

  it("removeStaleTempFiles: dead writers' .<name>.tmp-<pid>-<rand> files next to a file", async () => {
    await mkdir(out, { recursive: true });
    const target = join(out, 'scores.csv');
    const dead = await deadPid();
    const files = {
      dead: `.scores.csv.tmp-${dead}-0a1b2c3d`,
      alive: `.scores.csv.tmp-${process.ppid}-0a1b2c3d`,
      own: `.scores.csv.tmp-${process.pid}-0a1b2c3d`,
      other: `.other.csv.tmp-${dead}-0a1b2c3d`,
    };
    for (const f of Object.values(files)) await writeFile(join(out, f), 'x');
    expect(await removeStaleTempFiles(target)).toEqual([join(out, files.dead)]);
    expect(await removeStaleTempFiles(target, { includeOwnPid: true })).toEqual([
      join(out, files.own),
    ]);
    expect(await names(out)).toEqual([files.alive, files.other].sort());
    expect(await removeStaleTempFiles(join(root, 'missing/x.csv'))).toEqual([]);
  });
});
