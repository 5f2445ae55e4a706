import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { saveModel } from '../../src/package/save-model.js';
import type { ModelSignature } from '../../src/signature/types.js';
import { BodyTooLargeError, readBody, serve, type ServeOptions } from '../../src/server/listen.js';

const MODEL = fileURLToPath(new URL('../fixtures/server/mode-model.ts', import.meta.url));

const signature: ModelSignature = {
  inputs: [{ kind: 'column', name: 'x', type: { type: 'double' }, required: true }],
  outputs: null,
  params: [{ name: 'factor', type: { type: 'double' }, default: 2, shape: null }],
};

const root = mkdtempSync(join(tmpdir(), 'jsfunc-serve-'));
const dir = join(root, 'mode');
beforeAll(async () => {
  await saveModel(dir, { model: MODEL, signature });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function stream(chunks: string[], headers: Record<string, string> = {}) {
  return Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers });
}

describe('readBody', () => {
  it('concatenates the chunks', async () => {
    expect((await readBody(stream(['ab', 'cd']), 4)).toString()).toBe('abcd');
  });

  it('fails once the streamed size passes the limit', async () => {
    await expect(readBody(stream(['ab', 'cde']), 4)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('fails on a declared Content-Length over the limit without reading', async () => {
    const err: unknown = await readBody(stream([], { 'content-length': '5' }), 4).catch(
      (e: unknown) => e
    );
    expect(err).toBeInstanceOf(BodyTooLargeError);
    expect(ModelError.is(err) && err.code).toBe('E_INPUT_INVALID');
    expect((err as Error).message).toContain('4 bytes');
  });
});

describe('serve', () => {
  it('serves /ping and /invocations on 127.0.0.1, 413 over the body limit, then closes', async () => {
    const server = await serve(dir, { port: 0, maxBodyBytes: 200, warn: () => undefined });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const ping = await fetch(`${server.url}/ping`);
      expect(ping.status).toBe(200);
      expect(await ping.text()).toBe('\n');

      const scored = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({
          dataframe_split: { columns: ['x'], data: [[1], [3]] },
          params: { factor: 5 },
        }),
      });
      expect(scored.status).toBe(200);
      expect(scored.headers.get('content-type')).toBe('application/json');
      expect(await scored.json()).toEqual({ predictions: [5, 15] });

      const big = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { x: Array.from({ length: 100 }, (_, i) => i) } }),
      });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({
        error_code: 'BAD_REQUEST',
        jsfunc_code: 'E_INPUT_INVALID',
      });
    } finally {
      await server.close();
    }
    // Closed: no longer accepting, and close() is idempotent.
    await expect(fetch(`${server.url}/ping`)).rejects.toThrow();
    await server.close();
  });

  const bad: [Partial<ServeOptions>, string][] = [
    [{ port: 70000 }, 'options.port'],
    [{ port: 1.5 }, 'options.port'],
    [{ host: '' }, 'options.host'],
    [{ maxBodyBytes: 0 }, 'options.maxBodyBytes'],
    [{ timeoutMs: -1 }, 'options.timeoutMs'],
  ];
  it.each(bad)('rejects %o before loading', async (options, name) => {
    const err: unknown = await serve(join(root, 'missing'), options).catch((e: unknown) => e);
    expect(ModelError.is(err) && err.code).toBe('E_OPTION_INVALID');
    expect((err as Error).message).toContain(name);
  });

  it('rejects an already-aborted signal with E_ABORTED', async () => {
    const err: unknown = await serve(dir, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(ModelError.is(err) && err.code).toBe('E_ABORTED');
  });
});
