// `jsfunc stream` driven as Spark's mapInArrow drives it: a child process fed an Arrow IPC stream
// on stdin, read back from stdout. Batches of varied sizes and types, an empty stream, a model
// error mid-stream, a reader that closes stdout, SIGTERM.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RecordBatchReader,
  RecordBatchStreamWriter,
  Table,
  makeVector,
  vectorFromArray,
  Utf8,
  type RecordBatch,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { repoRoot, tempDir } from './helpers.js';

const bin = join(repoRoot, 'dist/cli/main.js');
let dir: string;
let cleanup: () => Promise<void>;
let probe: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-stream-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
});
afterAll(() => cleanup());

/** A batch of `n` rows starting at id `start`: x (double), id (long), tag (string). */
function batch(n: number, start: number): RecordBatch {
  const all = new Table({
    x: makeVector(Float64Array.from({ length: n + 1 }, (_, i) => (start + i) / 4)),
    id: makeVector(BigInt64Array.from({ length: n + 1 }, (_, i) => BigInt(start + i))),
    tag: vectorFromArray(
      Array.from({ length: n + 1 }, (_, i) => ((start + i) % 5 === 0 ? null : `t${start + i}`)),
      new Utf8()
    ),
  }).batches[0]!;
  return all.slice(0, n); // every batch with the same schema, the empty one too
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `jsfunc stream` with `input` written to its stdin (then closed). */
function stream(
  args: string[],
  input: Uint8Array,
  control: (child: ReturnType<typeof spawn>) => void = () => {}
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'stream', '-m', probe, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr })
    );
    child.stdin.on('error', () => undefined); // the child may stop reading first
    child.stdin.end(input);
    control(child);
  });
}

function ipcStream(batches: RecordBatch[]): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, batches[0]!.schema);
  for (const b of batches) writer.write(b);
  writer.close();
  return writer.toUint8Array(true);
}

async function readStream(bytes: Uint8Array): Promise<RecordBatch[]> {
  const reader = await RecordBatchReader.from(bytes);
  const out: RecordBatch[] = [];
  for await (const b of reader) out.push(b as RecordBatch);
  return out;
}

describe('jsfunc stream', () => {
  it('scores every batch, one output batch per input batch, in order, input columns + result', async () => {
    const sizes = [1, 700, 0, 3000, 64, 1];
    let start = 0;
    const batches = sizes.map((n) => {
      const b = batch(n, start);
      start += n;
      return b;
    });
    const run = await stream(
      ['--workers', '2', '--model-config', '{"offset":0.5}'],
      ipcStream(batches)
    );
    expect(run.code, run.stderr).toBe(0);
    const got = await readStream(run.stdout);
    expect(got.map((b) => b.numRows)).toEqual(sizes);
    expect(got[0]!.schema.fields.map((f) => f.name)).toEqual(['x', 'id', 'tag', 'prediction']);
    const rows = got.flatMap((b) => b.toArray().map((r) => r.toJSON()));
    rows.forEach((r, i) => {
      expect(r['id']).toBe(BigInt(i));
      expect(r['prediction']).toBe((i / 4) * 2 + 0.5);
      expect(r['tag']).toBe(i % 5 === 0 ? null : `t${i}`);
    });
    // --batch-size splits big batches across workers; they are joined again.
    const split = await stream(
      ['--workers', '2', '--batch-size', '500', '--result-only'],
      ipcStream(batches)
    );
    expect(split.code, split.stderr).toBe(0);
    const only = await readStream(split.stdout);
    expect(only.map((b) => b.numRows)).toEqual(sizes);
    expect(only[0]!.schema.fields.map((f) => f.name)).toEqual(['prediction']);
  });

  it('stdin a regular file (jsfunc stream < in.arrows, read in larger pieces): the same output', async () => {
    const sizes = [5000, 1, 0, 40_000, 7];
    let start = 0;
    const batches = sizes.map((n) => {
      const b = batch(n, start);
      start += n;
      return b;
    });
    const bytes = ipcStream(batches);
    const file = join(dir, 'stdin.arrows');
    writeFileSync(file, bytes);
    const fd = openSync(file, 'r');
    const fromFile = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'stream', '-m', probe, '--result-only'], {
        stdio: [fd, 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) =>
        resolve({ code, signal, stdout: Buffer.concat(out), stderr })
      );
    }).finally(() => closeSync(fd));
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromPipe = await stream(['--result-only'], bytes);
    expect(fromPipe.code, fromPipe.stderr).toBe(0);
    const got = await readStream(fromFile.stdout);
    expect(got.map((b) => b.numRows)).toEqual(sizes);
    expect(Buffer.from(fromFile.stdout).equals(Buffer.from(fromPipe.stdout))).toBe(true);
  });

  it('--keep-open: stream after stream on one stdin, one scored stream each, then stdin closes', async () => {
    const first = [batch(300, 0), batch(5, 300)];
    const schemaOnly = new RecordBatchStreamWriter();
    schemaOnly.reset(undefined, batch(1, 0).schema);
    schemaOnly.close();
    const second = [batch(40, 1000)];
    const input = Buffer.concat([
      ipcStream(first),
      schemaOnly.toUint8Array(true),
      ipcStream(second),
    ]);
    const run = await stream(['--keep-open', '--result-only'], input);
    expect(run.code, run.stderr).toBe(0);
    const streams: number[][] = [];
    for await (const reader of RecordBatchReader.readAll(run.stdout)) {
      expect(reader.schema.fields.map((f) => f.name)).toEqual(['prediction']);
      streams.push([...reader].map((b) => b.numRows));
    }
    // (apache-arrow's reader yields one empty batch for the stream without batches.)
    expect(streams).toEqual([[300, 5], [0], [40]]);
    // No stream at all: nothing to do. A second stream that is not one: a coded error.
    const none = await stream(['--keep-open'], new Uint8Array(0));
    expect([none.code, none.stdout.length]).toEqual([0, 0]);
    const bad = await stream(
      ['--keep-open'],
      Buffer.concat([ipcStream(first), new TextEncoder().encode('not arrow at all')])
    );
    expect(bad.code).toBe(ErrorCodes.E_FORMAT_MALFORMED.exitCode);
    expect(bad.stderr).toMatch(/^jsfunc: E_FORMAT_MALFORMED: stream 2 on stdin/);
  });

  it('an empty stream (schema only) gives a schema-only stream', async () => {
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, batch(1, 0).schema);
    writer.close();
    const run = await stream([], writer.toUint8Array(true));
    expect(run.code, run.stderr).toBe(0);
    const reader = await RecordBatchReader.from(run.stdout);
    await reader.open();
    expect(reader.schema.fields.map((f) => f.name)).toEqual(['x', 'id', 'tag', 'prediction']);
    // (apache-arrow's reader yields one empty batch for a stream without batches.)
    const rows = (await readStream(run.stdout)).reduce((n, b) => n + b.numRows, 0);
    expect(rows).toBe(0);
  });

  it('no stream at all, or bytes that are not a stream: a coded error', async () => {
    const run = await stream([], new TextEncoder().encode('not arrow'));
    expect(run.code).toBe(ErrorCodes.E_FORMAT_MALFORMED.exitCode);
    expect(run.stderr).toMatch(/^jsfunc: E_FORMAT_MALFORMED: stdin/);
  });

  it('a model error mid-stream: a coded line on stderr, its exit status, a truncated stream', async () => {
    const batches = [batch(100, 0), batch(100, 100), batch(100, 200)];
    const run = await stream(['--params', '{"mode":"throw","failOnId":150}'], ipcStream(batches));
    expect(run.code).toBe(ErrorCodes.E_MODEL_PREDICT.exitCode);
    expect(run.stderr).toMatch(/^jsfunc: E_MODEL_PREDICT: .*probe model failed on id 150/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    // Whatever was written is not a complete stream: no end-of-stream marker.
    const tail = run.stdout.subarray(run.stdout.length - 8);
    expect(Buffer.from(tail).equals(Buffer.from([255, 255, 255, 255, 0, 0, 0, 0]))).toBe(false);
  });

  it('a reader that closes stdout stops the run; SIGTERM interrupts it', async () => {
    const many = Array.from({ length: 400 }, (_, i) => batch(2000, i * 2000));
    const input = ipcStream(many);
    const closed = await stream(['--params', '{"maxDelayMs":5}'], input, (child) => {
      child.stdout!.once('data', () => child.stdout!.destroy());
    });
    expect(closed.signal).toBeNull();
    expect(closed.code).not.toBe(0);
    const term = await stream(['--params', '{"maxDelayMs":20}'], input, (child) => {
      child.stdout!.once('data', () => child.kill('SIGTERM'));
    });
    expect(term.code).toBe(ErrorCodes.E_INTERRUPTED.exitCode);
    expect(term.stderr).toMatch(/E_INTERRUPTED/);
  });
});
