import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { listDir, packageExample, repoRoot, tempDir } from './helpers.js';

const run = promisify(execFile);
const bin = join(repoRoot, 'dist/cli/main.js');

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('the built bin (dist/cli/main.js)', () => {
  it('scores a file end to end in a child process and exits with the error code on failure', async () => {
    // package.json's bin points here; the file must start with a node shebang to run as `jsfunc`.
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    const linear = await packageExample('linear', dir);
    const header = 'x0,x1,x2,x3,x4,x5,x6,x7,x8,x9';
    await writeFile(join(dir, 'in.csv'), `${header}\n1,2,3,4,5,6,7,8,9,10\n0,0,0,0,0,0,0,0,0,0\n`);
    const ok = await run(
      process.execPath,
      [
        bin,
        'score',
        '-m',
        linear,
        '-i',
        join(dir, 'in.csv'),
        '-o',
        join(dir, 'out.csv'),
        '--workers',
        '1',
      ],
      {
        cwd: dir,
      }
    );
    expect(ok.stderr).toMatch(
      /^jsfunc: scored 2 rows in [\d.]+ s \([\d,]+ rows\/s\), 1 worker, 1 model load -> /
    );
    const lines = (await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(`${header},prediction`);
    expect(lines).toHaveLength(3);

    const failed = await run(process.execPath, [
      bin,
      'score',
      '-m',
      linear,
      '-i',
      join(dir, 'missing.csv'),
      '-o',
      join(dir, 'out2.csv'),
    ]).then(
      () => expect.unreachable(),
      (e: { code: number; stderr: string }) => e
    );
    expect(failed.code).toBe(ErrorCodes.E_FILE_NOT_FOUND.exitCode);
    expect(failed.stderr).toBe(
      `jsfunc: E_FILE_NOT_FOUND: Input file ${join(dir, 'missing.csv')} does not exist.\n`
    );
    expect(await listDir(dir)).not.toContain('out2.csv');
  });
});
