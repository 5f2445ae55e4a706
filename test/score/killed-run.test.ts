// A scoring run killed mid-way (SIGKILL: no cleanup at all; SIGTERM through the bin: cleanup)
// leaves no _SUCCESS and nothing a reader would take for data: only complete parts and the
// ignored _temporary/ directory; a second run of the same job completes the dataset, replacing
// the parts and cleaning _temporary/.
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Table, makeVector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { readBatches } from '../../src/io/read-batches.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { collect, repoRoot, tempDir } from '../cli/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let probe: string;
let input: string;
const N = 8000;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-killed-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
  const table = new Table({
    x: makeVector(Float64Array.from({ length: N }, (_, i) => i)),
    id: makeVector(BigInt64Array.from({ length: N }, (_, i) => BigInt(i))),
  });
  input = join(dir, 'in.parquet');
  const w = createBatchWriter(input);
  for (let a = 0; a < N; a += 200)
    for (const b of table.slice(a, a + 200).batches) await w.write(b);
  await w.close();
});
afterAll(() => cleanup());

/**
 * A child process scoring `input` into the dataset `out` slowly (many splits, delays);
 * `onStarted` is called once the first split has settled.
 */
function run(out: string, onStarted: (kill: (s: NodeJS.Signals) => void) => void) {
  const script = join(dir, 'run.mjs');
  const url = pathToFileURL(join(repoRoot, 'dist/score/score-files.js')).href;
  return writeFile(
    script,
    `import { scoreFiles } from ${JSON.stringify(url)};
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort(new Error('SIGTERM')));
// 'started' once the first split has settled: the kill lands mid-run (39 more splits remain,
// each sleeping up to 60 ms), however fast the machine is (a fixed delay raced the run's end).
let started = false;
const onProgress = (p) => {
  if (!started && p.rows > 0) {
    started = true;
    process.stdout.write('started\\n');
  }
};
await scoreFiles(${JSON.stringify(probe)}, ${JSON.stringify(input)}, ${JSON.stringify(out)}, {
  workers: 2, splitSize: { rows: 200 }, params: { maxDelayMs: 60 }, signal: ac.signal, warn: () => {}, onProgress,
}).then(() => process.exit(0), (e) => { process.stderr.write(String(e.code)); process.exit(3); });
`
  ).then(
    () =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.once('data', () => onStarted((s) => child.kill(s)));
        child.on('close', (code, signal) => resolve({ code, signal }));
      })
  );
}

const visible = (names: string[]) => names.filter((n) => !n.startsWith('_') && !n.startsWith('.'));

describe('a killed scoring run', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal}: no _SUCCESS, only complete parts besides _temporary/; a rerun completes it`, async () => {
      const out = join(dir, `out-${signal}`);
      const killed = await run(`${out}/`, (kill) => kill(signal));
      expect(killed.code === 0).toBe(false);
      const names = await readdir(out);
      expect(names).not.toContain('_SUCCESS');
      // Whatever a reader sees is complete parts only (each part renamed in when whole).
      const parts = visible(names);
      for (const p of parts) expect(p).toMatch(/^part-\d{5}-[0-9a-f-]{36}\.parquet$/);
      if (parts.length > 0) {
        const rows = (await collect(readBatches(join(out, parts[0]!)))).reduce(
          (n, b) => n + b.numRows,
          0
        );
        expect(rows).toBe(200);
      }
      // SIGTERM aborts: the run removes its own temporary directory.
      if (signal === 'SIGTERM') expect(names.filter((n) => n === '_temporary').length).toBe(0);
      const rerun = await run(`${out}/`, () => undefined);
      expect(rerun.code).toBe(0);
      const after = await readdir(out);
      expect(after).toContain('_SUCCESS');
      expect(after).not.toContain('_temporary');
      const got = await collect(readBatches(out));
      expect(got.reduce((n, b) => n + b.numRows, 0)).toBe(N);
    });
  }
});
