// Issue 8 through the command line: load timeouts (item 8), signals and temporary files
// (items 9, 11), the request-shape message (item 11) and the "unsettled top-level await" exit.
// Signals and exit statuses need the built bin in a child process; the rest runs in-process.
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC, Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ModelError } from '../../src/errors.js';
import { DOUBLING_MODEL, writeModel } from '../pool/helpers.js';
import { cli, repoRoot, tempDir } from './helpers.js';

const bin = join(repoRoot, 'dist/cli/main.js');

let dir: string;
let cleanup: () => Promise<void>;
let doubling: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-cli-reliability-'));
  doubling = writeModel(join(dir, 'doubling'), DOUBLING_MODEL);
});
afterAll(() => cleanup());

interface BinRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built bin to completion (killed after `timeoutMs`). */
function runBin(args: readonly string[], timeoutMs = 60_000): Promise<BinRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      }
    );
  });
}

/** Names of the temporary files (`.<name>.tmp-*`) in `d`. */
async function temps(d: string): Promise<string[]> {
  return (await readdir(d)).filter((n) => n.includes('.tmp-'));
}

/** A pid that certainly belonged to a process that has ended. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('exit', () => resolve(child.pid!));
  });
}

const HANGING_LOAD = `
export default class Hangs {
  loadContext() { return new Promise(() => {}); }
  predict(context, input) { return new Float64Array(input.numRows); }
}
`;

/** A predict that returns a promise which never settles, with nothing else pending. */
const NEVER_PREDICTS = `
export default class Never {
  predict() { return new Promise(() => {}); }
}
`;

/** Sleeps `delayMs` per predict call: a run long enough to be interrupted. */
const SLOW_MODEL = `
export default class Slow {
  async predict(context, input) {
    await new Promise((r) => setTimeout(r, 30));
    return Float64Array.from(input.getChild('x').toArray(), (x) => x * 2);
  }
}
`;

describe('predict: request shapes', () => {
  it('an unrecognised body says which shapes are accepted (not MLflow 1.x requirements advice)', async () => {
    const body = join(dir, 'foo.json');
    await writeFile(body, '{"foo": 1}');
    const run = await cli(['predict', '-m', doubling, '-i', body]);
    expect(run.code).toBe(ErrorCodes.E_INPUT_INVALID.exitCode);
    expect(run.stderr).toMatch(
      /^jsfunc: E_INPUT_INVALID: The input must be a JSON dictionary with exactly one of the input fields .*Received dictionary with input fields: \['foo'\]\. Accepted shapes: \{"dataframe_split"/
    );
    expect(run.stderr).not.toMatch(/requirements|mlflow==1\.30/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('load timeouts (bin)', () => {
  it('predict: a load that never finishes fails with E_LOAD_TIMEOUT, exit 24 (was: exit 13, no output)', async () => {
    const model = writeModel(join(dir, 'hangs'), HANGING_LOAD);
    const body = join(dir, 'one.json');
    await writeFile(body, '{"inputs": {"x": [1]}}');
    const run = await runBin(['predict', '-m', model, '-i', body, '--load-timeout-ms', '300']);
    expect(run.stderr).toBe(
      `jsfunc: E_LOAD_TIMEOUT: Loading the model ${model} took longer than 300 ms (the load timeout; raise it with --load-timeout-ms or options.loadTimeoutMs)\n`
    );
    expect(run.code).toBe(ErrorCodes.E_LOAD_TIMEOUT.exitCode);
    expect(run.stdout).toBe('');
  });

  it('serve: a load that never finishes fails with E_LOAD_TIMEOUT, exit 24', async () => {
    const model = writeModel(join(dir, 'hangs-serve'), HANGING_LOAD);
    const run = await runBin(['serve', '-m', model, '-p', '0', '--load-timeout-ms', '300']);
    expect(run.stderr).toMatch(/^jsfunc: E_LOAD_TIMEOUT: Loading the model .* 300 ms/);
    expect(run.code).toBe(ErrorCodes.E_LOAD_TIMEOUT.exitCode);
  });

  it('--load-timeout-ms must be a non-negative integer', async () => {
    const run = await cli(['predict', '-m', doubling, '--load-timeout-ms', 'soon']);
    expect(run.code).toBe(ErrorCodes.E_OPTION_INVALID.exitCode);
    expect(run.stderr).toContain('--load-timeout-ms must be a non-negative integer');
  });

  it('work that can never settle ends with a message and exit 1, not 13 (E_SIGNATURE_INVALID)', async () => {
    const model = writeModel(join(dir, 'never'), NEVER_PREDICTS);
    const body = join(dir, 'never.json');
    await writeFile(body, '{"inputs": {"x": [1]}}');
    const run = await runBin(['predict', '-m', model, '-i', body]);
    expect(run.stderr).toBe(
      'jsfunc: unexpected: the command stopped waiting on work that can never finish (a promise that never settles, e.g. in model code)\n'
    );
    expect(run.code).toBe(1);
  });
});

describe('signals (bin)', () => {
  let slow: string;
  let input: string;
  beforeAll(async () => {
    slow = writeModel(join(dir, 'slow'), SLOW_MODEL);
    // An Arrow IPC stream: every batch is one split, so pieces reach the output file early.
    const batches = Array.from(
      { length: 200 },
      (_, b) =>
        tableFromArrays({ x: Float64Array.from({ length: 20 }, (_, i) => b * 20 + i) }).batches[0]!
    );
    input = join(dir, 'many-splits.arrows');
    await writeFile(input, tableToIPC(new Table(batches), 'stream'));
  });

  /** Starts `jsfunc score` into `out/scored.csv`; resolves once its temporary file exists. */
  async function startScore(out: string) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(out, { recursive: true });
    const child = spawn(
      process.execPath,
      [bin, 'score', '-m', slow, '-i', input, '-o', join(out, 'scored.csv'), '--workers', '1'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
      child.on('exit', (code) => resolve({ code, stderr }))
    );
    const deadline = Date.now() + 30_000;
    while ((await temps(out)).length === 0) {
      if (Date.now() > deadline) throw new Error(`no temporary file appeared: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { child, exited };
  }

  it('SIGINT: E_INTERRUPTED, exit 130, no output and no temporary file (was: exit 52 "aborted")', async () => {
    const out = join(dir, 'sigint');
    const { child, exited } = await startScore(out);
    child.kill('SIGINT');
    const { code, stderr } = await exited;
    expect(stderr).toBe('jsfunc: E_INTERRUPTED: interrupted by SIGINT\n');
    expect(code).toBe(130);
    expect(await readdir(out)).toEqual([]);
  });

  it('a second signal does not cut the cleanup short: no temporary file is left', async () => {
    const out = join(dir, 'double');
    const { child, exited } = await startScore(out);
    // Two different signals are not merged by the kernel: the bin sees two interrupts at once.
    child.kill('SIGINT');
    child.kill('SIGTERM');
    const { code, stderr } = await exited;
    // Either may be delivered first.
    expect(stderr).toMatch(/^jsfunc: SIG(INT|TERM) again: still cleaning up/m);
    expect(stderr).toMatch(/^jsfunc: E_INTERRUPTED: interrupted by SIG(INT|TERM)$/m);
    expect(code).toBe(130);
    expect(await readdir(out)).toEqual([]);
  });
});

describe('stale temporary files', () => {
  it("score removes a dead run's .<name>.tmp-<pid>-* next to its output file, not a live one's", async () => {
    const out = join(dir, 'stale-score');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(out);
    const dead = `.scored.csv.tmp-${await deadPid()}-0a1b2c3d`;
    const live = `.scored.csv.tmp-${process.ppid}-0a1b2c3d`;
    await writeFile(join(out, dead), 'partial');
    await writeFile(join(out, live), 'partial');
    const csv = join(dir, 'three.csv');
    await writeFile(csv, 'x\n1\n2\n3\n');
    const run = await cli(['score', '-m', doubling, '-i', csv, '-o', join(out, 'scored.csv')]);
    expect(run.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([live, 'scored.csv'].sort());
    expect(await readFile(join(out, 'scored.csv'), 'utf8')).toBe(
      'x,prediction\n1,2.0\n2,4.0\n3,6.0\n'
    );
  });

  it('predict -o removes them too', async () => {
    const out = join(dir, 'stale-predict');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(out);
    const dead = `.p.json.tmp-${await deadPid()}-0a1b2c3d`;
    await writeFile(join(out, dead), '{');
    const body = join(dir, 'two.json');
    await writeFile(body, '{"inputs": {"x": [1, 2]}}');
    const run = await cli(['predict', '-m', doubling, '-i', body, '-o', join(out, 'p.json')]);
    expect(run.code).toBe(0);
    expect(await readdir(out)).toEqual(['p.json']);
  });
});

describe('interrupts in-process (io.signal with an E_INTERRUPTED reason)', () => {
  it('predict waiting on stdin stops with E_INTERRUPTED, exit 130', async () => {
    const controller = new AbortController();
    async function* forever(): AsyncGenerator<string> {
      yield '{"inputs": ';
      await new Promise(() => undefined);
    }
    const pending = cli(['predict', '-m', doubling], {
      stdin: forever(),
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort(new ModelError('E_INTERRUPTED', 'interrupted by SIGINT'));
    const run = await pending;
    expect(run.stderr).toBe('jsfunc: E_INTERRUPTED: interrupted by SIGINT\n');
    expect(run.code).toBe(130);
  });

  it('score reports the interrupt, not the E_ABORTED it caused; --verbose shows that as the cause', async () => {
    const controller = new AbortController();
    const csv = join(dir, 'interrupted.csv');
    await writeFile(csv, 'x\n1\n');
    controller.abort(new ModelError('E_INTERRUPTED', 'interrupted by SIGTERM'));
    const run = await cli(
      ['score', '-m', doubling, '-i', csv, '-o', join(dir, 'never.csv'), '--verbose'],
      { signal: controller.signal }
    );
    expect(run.code).toBe(130);
    expect(run.stderr.split('\n')[0]).toBe('jsfunc: E_INTERRUPTED: interrupted by SIGTERM');
    expect(run.stderr).toContain('Caused by:');
    expect((await readdir(dir)).filter((n) => n.startsWith('never.csv'))).toEqual([]);
  });
});
