/**
 * Packages built to hurt the reader (issue 8, items 4, 5 and 7): FIFOs where files should be,
 * symlinks leading out of the package, a directory named as the code file. Every loader must
 * answer promptly with a coded error naming the file; none may block or read outside.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  cpSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadOnnx, parseOnnxFlavor } from '../../src/flavors/onnx.js';
import { readJsEnv } from '../../src/package/environment.js';
import { loadModel } from '../../src/package/load-model.js';
import { readMLmodel } from '../../src/package/mlmodel.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { packageIdentity } from '../../src/package/package-hash.js';
import { saveModel } from '../../src/package/save-model.js';
import { COUNTER_MODEL, WEIGHTS, tempDirs } from '../fixtures/package/paths.js';
import { rejectionOf } from '../util/model-error.js';

const tmp = tempDirs();
const fifos: string[] = [];
let base = '';

beforeAll(async () => {
  base = join(tmp.make(), 'base');
  await saveModel(base, {
    model: COUNTER_MODEL,
    artifacts: { weights: WEIGHTS },
    inputExample: [{ x: 1 }, { x: 2 }],
  });
});

afterEach(() => {
  // Before the fix a reader blocked in open(2) on these FIFOs; opening the write end releases
  // it, so a failing run does not leave the test process with stalled libuv threads.
  for (const f of fifos.splice(0)) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader waiting (ENXIO): nothing to release.
    }
  }
});
afterAll(() => tmp.cleanup());

/** A copy of the base package. */
function copy(name: string): string {
  const dir = join(tmp.make(), name);
  cpSync(base, dir, { recursive: true });
  return dir;
}

/** Replaces a file of a package by a FIFO. */
function fifo(dir: string, rel: string): string {
  const file = join(dir, rel);
  rmSync(file, { recursive: true, force: true });
  execFileSync('mkfifo', [file]);
  fifos.push(file);
  return file;
}

/** The calls a test makes, each started only when the loop reaches it. */
function calls(...fns: (() => Promise<unknown>)[]): (() => Promise<unknown>)[] {
  return fns;
}

/** Settles `p`, or reports a hang after `ms` (the bug: a FIFO open that never returns). */
async function promptly<T>(p: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung for more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function patchMLmodel(dir: string, from: string | RegExp, to: string): void {
  const file = join(dir, 'MLmodel');
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  expect(next).not.toBe(text);
  writeFileSync(file, next);
}

const SECRET = { columns: ['secret'], data: [['TOP-SECRET']] };

describe.skipIf(process.platform === 'win32')('FIFOs inside a package (item 4)', () => {
  it('input_example.json: getModelInfo fails at once with E_ARTIFACT_MISSING naming it', async () => {
    const dir = copy('fifo-example');
    fifo(dir, 'input_example.json');
    const error = await rejectionOf(promptly(getModelInfo(dir)));
    expect(error.code).toBe('E_ARTIFACT_MISSING');
    expect(error.message).toMatch(/input example "input_example\.json".*is a FIFO/);
  });

  it('js_env.json: loadModel and getModelInfo fail at once', async () => {
    const dir = copy('fifo-env');
    fifo(dir, 'js_env.json');
    for (const call of calls(
      () => loadModel(dir),
      () => getModelInfo(dir),
      () => readJsEnv(dir)
    )) {
      const error = await rejectionOf(promptly(call()));
      expect(error.code).toBe('E_ARTIFACT_MISSING');
      expect(error.message).toMatch(/environment file "js_env\.json".*is a FIFO/);
    }
  });

  it('code/model.cjs: loadModel fails at once', async () => {
    const dir = copy('fifo-code');
    fifo(dir, 'code/model.cjs');
    const error = await rejectionOf(promptly(loadModel(dir)));
    expect(error.code).toBe('E_ARTIFACT_MISSING');
    expect(error.message).toMatch(/model code file "code\/model\.cjs".*is a FIFO/);
  });

  it('the MLmodel file itself, named directly or through its directory', async () => {
    const dir = copy('fifo-mlmodel');
    const file = fifo(dir, 'MLmodel');
    for (const call of calls(
      () => readMLmodel(dir),
      () => readMLmodel(file),
      () => getModelInfo(dir)
    )) {
      const error = await rejectionOf(promptly(call()));
      expect(error.code).toBe('E_MLMODEL_MISSING');
      expect(error.message).toMatch(/is a FIFO \(named pipe\), not a regular file/);
    }
  });

  it('an artifact: neither a file nor a directory', async () => {
    const dir = copy('fifo-artifact');
    fifo(dir, 'artifacts/weights/weights.json');
    const error = await rejectionOf(promptly(loadModel(dir)));
    expect(error.code).toBe('E_ARTIFACT_MISSING');
    expect(error.message).toMatch(/artifact "weights".*is a FIFO/);
  });

  it('the ONNX model file: refused before onnxruntime opens it', async () => {
    const dir = tmp.make('jsfunc-onnx-fifo-');
    fifo(dir, 'model.onnx');
    const flavor = parseOnnxFlavor({ data: 'model.onnx' }, join(dir, 'MLmodel'));
    const error = await rejectionOf(promptly(loadOnnx(dir, flavor)));
    expect(error.code).toBe('E_ARTIFACT_MISSING');
    expect(error.message).toMatch(/ONNX model file "model\.onnx".*is a FIFO/);
  });

  it('the package hash skips a FIFO (it is not a package file) without blocking', async () => {
    const dir = copy('fifo-hash');
    fifo(dir, 'extra.pipe');
    const before = await promptly(packageIdentity(base));
    const after = await promptly(packageIdentity(dir));
    expect(after).toEqual(before);
  });
});

describe('symlinks leading out of a package (item 5)', () => {
  it('a symlinked input_example.json is refused, not printed', async () => {
    const dir = copy('link-example');
    const secret = join(tmp.make(), 'secret.json');
    writeFileSync(secret, JSON.stringify(SECRET));
    rmSync(join(dir, 'input_example.json'));
    symlinkSync(secret, join(dir, 'input_example.json'));
    const error = await rejectionOf(getModelInfo(dir));
    expect(error.code).toBe('E_ARTIFACT_PATH');
    expect(error.message).toMatch(
      /input example path "input_example\.json" resolves \(through a symlink\)/
    );
    expect(error.message).not.toContain('TOP-SECRET');
  });

  it('a symlinked directory on the example path is refused too', async () => {
    const dir = copy('link-dir');
    const outside = tmp.make();
    writeFileSync(join(outside, 'secret.json'), JSON.stringify(SECRET));
    symlinkSync(outside, join(dir, 'ex'));
    patchMLmodel(dir, 'artifact_path: input_example.json', 'artifact_path: ex/secret.json');
    const error = await rejectionOf(getModelInfo(dir));
    expect(error.code).toBe('E_ARTIFACT_PATH');
    expect(error.message).toMatch(/ex\/secret\.json.*outside the package/);
  });

  it('an example path that is absolute or climbs out is refused (it was silently dropped)', async () => {
    for (const [path, text] of [
      ['../../etc/passwd', /leaves the package/],
      ['/etc/passwd', /is absolute/],
    ] as const) {
      const dir = copy('climb-example');
      patchMLmodel(dir, 'artifact_path: input_example.json', `artifact_path: ${path}`);
      const error = await rejectionOf(getModelInfo(dir));
      expect(error.code).toBe('E_ARTIFACT_PATH');
      expect(error.message).toMatch(text);
    }
  });

  it('a symlink inside the package to a file inside it is fine', async () => {
    const dir = copy('link-inside');
    rmSync(join(dir, 'input_example.json'));
    symlinkSync(join(dir, 'serving_input_example.json'), join(dir, 'input_example.json'));
    const info = await getModelInfo(dir);
    expect(info.inputExample).toEqual({ dataframe_split: { columns: ['x'], data: [[1], [2]] } });
  });

  it('a symlinked js_env.json is refused by info and by loadModel', async () => {
    const dir = copy('link-env');
    const env = join(tmp.make(), 'env.json');
    writeFileSync(env, JSON.stringify({ node_version: 'SECRET', external: {}, bundled: {} }));
    rmSync(join(dir, 'js_env.json'));
    symlinkSync(env, join(dir, 'js_env.json'));
    for (const call of calls(
      () => getModelInfo(dir),
      () => loadModel(dir)
    )) {
      const error = await rejectionOf(call());
      expect(error.code).toBe('E_ARTIFACT_PATH');
      expect(error.message).toMatch(/environment file path "js_env\.json"/);
    }
  });

  it('a symlinked MLmodel leading out of its directory is refused', async () => {
    const dir = copy('link-mlmodel');
    const other = join(tmp.make(), 'other-MLmodel');
    writeFileSync(other, 'flavors: {x: {}}\nsecret: SECRET\n');
    rmSync(join(dir, 'MLmodel'));
    symlinkSync(other, join(dir, 'MLmodel'));
    for (const call of calls(
      () => getModelInfo(dir),
      () => readMLmodel(join(dir, 'MLmodel')),
      () => loadModel(dir)
    )) {
      const error = await rejectionOf(call());
      expect(error.code).toBe('E_ARTIFACT_PATH');
      expect(error.message).toMatch(/MLmodel file .* resolves \(through a symlink\)/);
    }
  });

  it('a symlinked code file leading out of the package is refused', async () => {
    const dir = copy('link-code');
    const outside = join(tmp.make(), 'model.cjs');
    cpSync(join(dir, 'code/model.cjs'), outside);
    rmSync(join(dir, 'code/model.cjs'));
    symlinkSync(outside, join(dir, 'code/model.cjs'));
    const error = await rejectionOf(loadModel(dir));
    expect(error.code).toBe('E_ARTIFACT_PATH');
    expect(error.message).toMatch(/model code file path "code\/model\.cjs" resolves/);
  });
});

describe('a directory named as the code file (item 7)', () => {
  it('is E_ARTIFACT_MISSING saying it is a directory, not a bare EISDIR', async () => {
    const dir = copy('entry-dir');
    patchMLmodel(dir, 'entry: code/model.cjs', 'entry: code');
    const error = await rejectionOf(loadModel(dir));
    expect(error.code).toBe('E_ARTIFACT_MISSING');
    expect(error.message).toMatch(/model code file "code" .* is a directory, not a regular file/);
  });
});
