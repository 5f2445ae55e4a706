/**
 * Temporary directories for tests, each removed by its cleanup.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh temporary directory and the cleanup that removes it.
 *
 * @param prefix - the directory name's prefix; default `jsfunc-test-`.
 * @returns the directory and its cleanup.
 */
export async function tempDir(
  prefix = 'jsfunc-test-'
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Makes temporary directories on demand (synchronously) and removes them all in `cleanup()`.
 *
 * @returns `make(prefix?)` (default prefix `jsfunc-pkg-`) and `cleanup()`.
 */
export function tempDirs(): { make(prefix?: string): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(prefix = 'jsfunc-pkg-') {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    cleanup() {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
