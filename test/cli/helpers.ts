import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordBatch } from 'apache-arrow';
import { runCli } from '../../src/cli/run-cli.js';
import type { CliIo } from '../../src/cli/command.js';
import { saveModel } from '../../src/package/save-model.js';
import { tempDir as makeTempDir } from '../util/temp-dir.js';

export { collect } from '../util/collect.js';

/** Repository root (tests run with it as cwd). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** What one in-process CLI run produced. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `jsfunc ...argv` in-process with captured output. */
export async function cli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    isTTY: false,
    ...io,
  });
  return { code, stdout, stderr };
}

/** A fresh temporary directory (prefix `jsfunc-cli-`) and its cleanup. */
export function tempDir(prefix = 'jsfunc-cli-'): ReturnType<typeof makeTempDir> {
  return makeTempDir(prefix);
}

/** Names in a directory (including dot files: leftover temp files must show up). */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Packages udf/<name> (its spec.mjs saveOptions) into `dir/<name>`; returns the path. */
export async function packageExample(name: string, dir: string): Promise<string> {
  const spec = (await import(join(repoRoot, 'udf', name, 'spec.mjs'))) as {
    saveOptions: (root?: string) => Parameters<typeof saveModel>[1];
  };
  const out = join(dir, name);
  await saveModel(out, spec.saveOptions(repoRoot));
  return out;
}

/** Rows of batches as plain objects (numbers, strings, null). */
export function rowsOf(batches: readonly RecordBatch[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of batches) {
    for (let r = 0; r < b.numRows; r++) {
      const row: Record<string, unknown> = {};
      b.schema.fields.forEach((f, i) => {
        const v: unknown = b.getChildAt(i)?.get(r);
        row[f.name] = typeof v === 'bigint' ? Number(v) : (v ?? null);
      });
      out.push(row);
    }
  }
  return out;
}
