import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  openRegularFile,
  readPackageFile,
  resolveInsidePackage,
} from '../../src/package/package-file.js';
import { tempDirs } from '../fixtures/package/paths.js';
import { rejectionOf } from '../util/model-error.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

function layout(): string {
  const dir = tmp.make();
  mkdirSync(join(dir, 'artifacts', 'tree'), { recursive: true });
  writeFileSync(join(dir, 'artifacts', 'tree', 'a.json'), '{"a":1}');
  writeFileSync(join(dir, 'file.txt'), 'text');
  return dir;
}

describe('resolveInsidePackage', () => {
  it('accepts a file or a directory by default, only a regular file with kind "file"', async () => {
    const dir = layout();
    expect(await resolveInsidePackage(dir, 'artifacts/tree', 'artifact "t"')).toBe(
      join(dir, 'artifacts/tree')
    );
    expect(await resolveInsidePackage(dir, 'file.txt', 'x', 'file')).toBe(join(dir, 'file.txt'));
    const error = await rejectionOf(resolveInsidePackage(dir, 'artifacts/tree', 'code', 'file'));
    expect(error).toMatchObject({
      code: 'E_ARTIFACT_MISSING',
      details: { path: 'artifacts/tree', kind: 'a directory' },
    });
    expect(error.message).toBe(
      `The code "artifacts/tree" in the package "${dir}" is a directory, not a regular file`
    );
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO whatever the kind', async () => {
    const dir = layout();
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    for (const kind of ['file', 'file-or-directory'] as const) {
      const error = await rejectionOf(resolveInsidePackage(dir, 'pipe', 'artifact "p"', kind));
      expect(error.code).toBe('E_ARTIFACT_MISSING');
      expect(error.message).toMatch(/is a FIFO \(named pipe\), not a regular file/);
    }
  });

  it('refuses a path through a symlinked directory leading out, accepts one staying in', async () => {
    const dir = layout();
    const outside = layout();
    symlinkSync(outside, join(dir, 'out'));
    symlinkSync(join(dir, 'artifacts'), join(dir, 'in'));
    const error = await rejectionOf(resolveInsidePackage(dir, 'out/file.txt', 'x', 'file'));
    expect(error.code).toBe('E_ARTIFACT_PATH');
    expect(error.message).toContain(
      `resolves (through a symlink) to "${join(outside, 'file.txt')}"`
    );
    expect(await resolveInsidePackage(dir, 'in/tree/a.json', 'x', 'file')).toBe(
      join(dir, 'in/tree/a.json')
    );
  });
});

describe('readPackageFile', () => {
  it('reads text; an absent optional file is null, an absent required one E_ARTIFACT_MISSING', async () => {
    const dir = layout();
    expect(await readPackageFile(dir, 'file.txt', 'x')).toBe('text');
    expect(await readPackageFile(dir, 'gone.json', 'x', { optional: true })).toBeNull();
    expect((await rejectionOf(readPackageFile(dir, 'gone.json', 'x'))).code).toBe(
      'E_ARTIFACT_MISSING'
    );
  });

  it.skipIf(process.platform === 'win32')(
    'an optional FIFO or directory is still an error, not "absent"',
    async () => {
      const dir = layout();
      execFileSync('mkfifo', [join(dir, 'pipe')]);
      for (const rel of ['pipe', 'artifacts']) {
        const error = await rejectionOf(readPackageFile(dir, rel, 'x', { optional: true }));
        expect(error.code).toBe('E_ARTIFACT_MISSING');
        expect(error.message).toMatch(/not a regular file/);
      }
    }
  );
});

describe.skipIf(process.platform === 'win32')('openRegularFile', () => {
  it('opens a file, gives undefined for a FIFO (without blocking) or a directory', async () => {
    const dir = layout();
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const handle = await openRegularFile(join(dir, 'file.txt'));
    expect(handle).toBeDefined();
    await handle?.close();
    expect(await openRegularFile(join(dir, 'pipe'))).toBeUndefined();
    expect(await openRegularFile(join(dir, 'artifacts'))).toBeUndefined();
  });
});
