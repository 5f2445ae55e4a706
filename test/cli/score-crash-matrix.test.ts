// Issue 8: crash injection for `jsfunc score`. A model kills its worker on the k-th predict call
// of the run (counted across workers through a directory of numbered markers, so it happens
// once), for every k, by calling process.exit or by throwing uncaught from a timer, with and
// without --retries. The output must equal a clean run's byte for byte, or there must be no
// output at all (and no temporary file) and a coded error.
import { mkdirSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { writeModel } from '../pool/helpers.js';
import { cli, tempDir } from './helpers.js';

/** Batches of the input stream (each one split) x rows per batch, scored 2 rows per call. */
const BATCHES = 3;
const ROWS = 4;
const BATCH_SIZE = 2;
/** Predict calls of a clean run. */
const CALLS = BATCHES * Math.ceil(ROWS / BATCH_SIZE);

const CRASHING_MODEL = `
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default class Crashing {
  loadContext(context) {
    this.config = context.modelConfig;
  }

  predict(context, input) {
    const { counterDir, crashAt, mode } = this.config;
    // mkdir is atomic: each call of the run, on any worker, takes the next free number.
    let n = 1;
    for (;;) {
      try {
        mkdirSync(join(counterDir, 'call-' + n));
        break;
      } catch {
        n++;
      }
    }
    if (n === crashAt) {
      if (mode === 'exit') process.exit(7);
      setTimeout(() => { throw new Error('injected asynchronous failure'); }, 0);
      return new Promise(() => {});
    }
    return Float64Array.from(input.getChild('x').toArray(), (x) => x * 2 + 1);
  }
}
`;

let dir: string;
let cleanup: () => Promise<void>;
let model: string;
let input: string;
let clean: string;
let run = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-crash-matrix-'));
  model = writeModel(join(dir, 'crashing'), CRASHING_MODEL, undefined, {
    counterDir: '',
    crashAt: 0,
    mode: 'exit',
  });
  const batches = Array.from(
    { length: BATCHES },
    (_, b) =>
      tableFromArrays({ x: Float64Array.from({ length: ROWS }, (_, i) => b * ROWS + i) })
        .batches[0]!
  );
  input = join(dir, 'input.arrows');
  await writeFile(input, tableToIPC(new Table(batches), 'stream'));
  const result = await score(0, 'exit', 0);
  expect(result.code).toBe(0);
  expect(result.calls).toBe(CALLS);
  clean = result.output!;
});
afterAll(() => cleanup());

/** One run into a fresh directory: its exit status, stderr, output (if any) and directory. */
async function score(crashAt: number, mode: 'exit' | 'asyncThrow', retries: number) {
  const out = join(dir, `run-${run++}`);
  const counterDir = join(out, 'calls');
  mkdirSync(counterDir, { recursive: true });
  const target = join(out, 'scored.csv');
  const r = await cli([
    'score',
    '-m',
    model,
    '-i',
    input,
    '-o',
    target,
    '--workers',
    '2',
    '--batch-size',
    String(BATCH_SIZE),
    '--retries',
    String(retries),
    '--model-config',
    JSON.stringify({ counterDir, crashAt, mode }),
  ]);
  const files = (await readdir(out)).filter((n) => n !== 'calls');
  const output = files.includes('scored.csv') ? await readFile(target, 'utf8') : undefined;
  return { ...r, files, output, calls: (await readdir(counterDir)).length };
}

describe('jsfunc score with a worker killed at each batch position', () => {
  const positions = Array.from({ length: CALLS }, (_, i) => i + 1);
  describe.each(['exit', 'asyncThrow'] as const)('mode %s', (mode) => {
    it.each(positions)('call %i, --retries 1: the output equals a clean run', async (k) => {
      const r = await score(k, mode, 1);
      expect(r.stderr).toMatch(/^jsfunc: scored 12 rows in /);
      expect(r.code).toBe(0);
      expect(r.files).toEqual(['scored.csv']);
      expect(r.output).toBe(clean);
    });

    it.each(positions)(
      'call %i, no retries: no output, no temporary file, E_WORKER_CRASHED',
      async (k) => {
        const r = await score(k, mode, 0);
        expect(r.stderr).toMatch(/^jsfunc: E_WORKER_CRASHED: /);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(r.code).toBe(ErrorCodes.E_WORKER_CRASHED.exitCode);
        expect(r.files).toEqual([]);
      }
    );
  });
});
