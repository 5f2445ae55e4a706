import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { loadModel } from '../../src/package/load-model.js';
import { packageExample, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let linear: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  linear = await packageExample('linear', dir);
});
afterAll(() => cleanup());

describe('jsfunc serve', () => {
  it('answers /ping and /invocations like the model, then stops cleanly on abort', async () => {
    const controller = new AbortController();
    let stderr = '';
    let announced: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => (announced = resolve));
    const exit = runCli(['serve', '-m', linear, '-p', '0'], {
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
    // A serve that fails before announcing its URL fails the test now, not at the test timeout.
    const base = await Promise.race([
      url,
      exit.then((code) => {
        throw new Error(`serve exited with ${code} before announcing a URL: ${stderr}`);
      }),
    ]);
    const ping = await fetch(`${base}/ping`);
    expect(ping.status).toBe(200);

    const row = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x${i}`, i * 0.5]));
    const res = await fetch(`${base}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: [row] }),
    });
    expect(res.status).toBe(200);
    const model = await loadModel(linear, { warn: () => {} });
    const expected = Array.from((await model.predict([row])) as ArrayLike<number>);
    expect(await res.json()).toEqual({ predictions: expected });

    controller.abort();
    expect(await exit).toBe(0);
    await expect(fetch(`${base}/ping`)).rejects.toThrow();
  });

  it('fails with E_MLMODEL_MISSING and its exit status for a missing package', async () => {
    let stderr = '';
    const code = await runCli(['serve', '-m', `${dir}/nope`, '-p', '0'], {
      stdout: { write: () => true },
      stderr: { write: (c: string) => (stderr += c) },
      isTTY: false,
    });
    expect(stderr).toMatch(/^jsfunc: E_MLMODEL_MISSING: /);
    expect(code).toBe(10);
  });
});
