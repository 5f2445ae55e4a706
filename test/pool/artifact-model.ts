/**
 * Fixtures of the shared-artifact tests: a hand-written model package whose `loadContext` takes
 * its artifact through `context.sharedArtifact`, and a task handler (plain JavaScript, against
 * `dist/`) that loads a model through the worker cache and reports what the model sees.
 *
 * @module
 */
import { cpSync, linkSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distUrl } from './helpers.js';

/** Options of {@link writeArtifactModel}. */
export interface ArtifactModelOptions {
  /** loadContext throws after leasing the artifact. Default false. */
  failAfterLease?: boolean;
  /** Lease the artifact in loadContext. Default true (false: a model without artifact use). */
  lease?: boolean;
}

/** What the fixture model's `info()` returns. */
export interface ArtifactModelInfo {
  crc: number;
  length: number;
  shared: boolean;
  first: number;
  threadId: number;
}

/**
 * Writes a `js_function` package with one artifact `blob`: `artifacts/blob` inside the package,
 * a hard link to `artifactFile` (or a copy of it when it is a directory).
 *
 * The model: `loadContext` leases `blob`; `info()` reports its CRC-32, length, whether it is
 * shared memory, its first byte and the thread; `poke(i, v)` writes a byte; `predict` returns
 * the CRC-32 per row.
 *
 * @param dir - the package directory (created)
 * @param artifactFile - the file (or directory) the artifact points at
 * @param options - see {@link ArtifactModelOptions}
 * @returns `dir`
 */
export function writeArtifactModel(
  dir: string,
  artifactFile: string,
  options: ArtifactModelOptions = {}
): string {
  mkdirSync(join(dir, 'code'), { recursive: true });
  mkdirSync(join(dir, 'artifacts'), { recursive: true });
  const lease = options.lease ?? true;
  writeFileSync(
    join(dir, 'code', 'model.mjs'),
    `import { threadId } from 'node:worker_threads';
import zlib from 'node:zlib';
export default class BlobModel {
  async loadContext(context) {
    ${lease ? "this.bytes = await context.sharedArtifact('blob');" : 'this.bytes = new Uint8Array(0);'}
    ${options.failAfterLease === true ? "throw new Error('failing after the lease');" : ''}
  }
  info() {
    return {
      crc: zlib.crc32(this.bytes),
      length: this.bytes.length,
      shared: this.bytes.buffer instanceof SharedArrayBuffer,
      first: this.bytes[0] ?? -1,
      threadId,
    };
  }
  poke(i, v) { this.bytes[i] = v; }
  predict(_context, input) {
    return Float64Array.from({ length: input.numRows }, () => zlib.crc32(this.bytes));
  }
}
`
  );
  writeFileSync(join(dir, 'MLmodel'), mlmodel());
  const target = join(dir, 'artifacts', 'blob');
  writeLink(artifactFile, target);
  return dir;
}

function writeLink(from: string, to: string): void {
  // A hard link keeps the artifact a regular file inside the package without copying it; a
  // directory cannot be hard-linked, so it is recreated (a directory artifact).
  try {
    if (statSync(from).isDirectory()) cpSync(from, to, { recursive: true });
    else linkSync(from, to);
  } catch (error) {
    throw new Error(`fixture: cannot link ${from} -> ${to}: ${String(error)}`);
  }
}

function mlmodel(): string {
  return [
    'artifact_path: model',
    'flavors:',
    '  js_function:',
    '    loader_module: jsfunc',
    '    code: code',
    '    entry: code/model.mjs',
    '    export_name: default',
    '    predict_fn: predict',
    '    artifacts:',
    '      blob:',
    '        path: artifacts/blob',
    `    node_version: ${JSON.stringify(process.versions.node)}`,
    'model_uuid: 0123456789abcdef0123456789abcdef',
    'signature:',
    `  inputs: ${JSON.stringify(JSON.stringify([{ type: 'double', name: 'x', required: true }]))}`,
    `  outputs: ${JSON.stringify(JSON.stringify([{ type: 'double', required: true }]))}`,
    "utc_time_created: '2024-01-01 00:00:00.000000'",
    '',
  ].join('\n');
}

/**
 * Writes a task handler module (JavaScript importing `dist/`, so it runs in a pool worker as a
 * handler the worker bundle does not carry): loads the task's model through the worker's cache
 * (`cachedTaskModel`, as warm-up and batch tasks do), optionally pokes a byte of its artifact,
 * and replies with the model's `info()`.
 *
 * @param dir - where to write it
 * @returns the handler's `file:` URL
 */
export function writeInfoHandler(dir: string): string {
  const file = join(dir, `info-handler-${process.pid}.mjs`);
  writeFileSync(
    file,
    `import { cachedTaskModel } from ${JSON.stringify(distUrl('pool/warm-up.js'))};
export default async function info(task) {
  const model = await cachedTaskModel(task);
  const instance = model.unwrap();
  if (task.poke !== undefined) instance.poke(task.poke[0], task.poke[1]);
  return { value: instance.info() };
}
`
  );
  return new URL(`file://${file}`).href;
}
