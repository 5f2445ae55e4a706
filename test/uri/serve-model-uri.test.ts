// Model URIs in `serve`: a package logged and registered in an MLflow file store (MLflow's
// layout, as in model-uri-entry-points.test.ts) is served as `models:/<name>/<version>`,
// `models:/<name>/latest` and `runs:/<run_id>/<path>`, by `jsfunc serve -m URI --tracking-uri`
// on the main thread and on the pool and by `serve()` in the library, answering what the local
// package answers; an unknown version fails coded before the server listens.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { runCli } from '../../src/cli/run-cli.js';
import { loadModel } from '../../src/package/load-model.js';
import { serve } from '../../src/server/listen.js';
import { logModel } from '../../src/uri/log-model.js';
import { registerModel } from '../../src/uri/register-model.js';
import { cli, packageExample, tempDir } from '../cli/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: string;
let runUri: string;
let expected: number[];
const row = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x${i}`, i * 0.5]));

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('jsfunc-uri-serve-'));
  store = join(dir, 'mlruns');
  const pkg = await packageExample('linear', dir);
  const logged = await logModel(pkg, { trackingUri: store, experimentName: 'serve' });
  runUri = logged.modelUri;
  await registerModel(logged.modelUri, 'linear', { trackingUri: store });
  const local = await loadModel(pkg, { warn: () => undefined });
  expected = Array.from((await local.predict([row])) as ArrayLike<number>);
});
afterAll(() => cleanup());

async function predictions(base: string): Promise<unknown> {
  const res = await fetch(`${base}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dataframe_records: [row] }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** Runs `jsfunc serve ...argv -p 0`, answers one request, then stops it; returns the exit code. */
async function serveOnce(argv: string[]): Promise<{ code: number; body: unknown; stderr: string }> {
  const controller = new AbortController();
  let stderr = '';
  let announced: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => (announced = resolve));
  const exit = runCli(['serve', ...argv, '-p', '0'], {
    stdout: { write: () => true },
    stderr: {
      write: (chunk: string) => {
        stderr += chunk;
        const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) announced(m[1]!);
        return true;
      },
    },
    isTTY: false,
    signal: controller.signal,
  });
  const base = await Promise.race([
    url,
    exit.then((code) => {
      throw new Error(`serve exited with ${code} before announcing a URL: ${stderr}`);
    }),
  ]);
  const body = await predictions(base);
  controller.abort();
  return { code: await exit, body, stderr };
}

describe('serve: model URIs', () => {
  it.each([
    ['models:/linear/1', 0],
    ['models:/linear/latest', 1],
  ])('jsfunc serve -m %s --tracking-uri (workers %i)', async (uri, workers) => {
    const run = await serveOnce(['-m', uri, '--tracking-uri', store, '--workers', String(workers)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.body).toEqual({ predictions: expected });
    expect(run.stderr).toContain(`serving ${uri} at`);
  });

  it('serve() in the library takes a runs:/ URI and trackingUri, on the pool', async () => {
    const server = await serve(runUri, {
      port: 0,
      workers: 1,
      trackingUri: store,
      warn: () => undefined,
      log: () => undefined,
    });
    try {
      expect(await predictions(server.url)).toEqual({ predictions: expected });
    } finally {
      await server.close();
    }
  });

  it('an unknown version fails with E_MLMODEL_MISSING before listening', async () => {
    const run = await cli(['serve', '-m', 'models:/linear/7', '--tracking-uri', store, '-p', '0']);
    expect(run.code).toBe(ErrorCodes.E_MLMODEL_MISSING.exitCode);
    expect(run.stderr).toMatch(/^jsfunc: E_MLMODEL_MISSING: .*models:\/linear\/7/);
  });
});
