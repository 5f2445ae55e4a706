import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
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

  it('gives body bytes back after each response: chunked bodies, aborted bodies, keep-alive', async () => {
    const body = JSON.stringify({ inputs: { x: Array.from({ length: 20 }, (_, i) => i) } });
    // Room for one body at a time: a byte not given back would turn the next request into 503.
    const server = await serve(dir, {
      port: 0,
      maxBufferedBytes: body.length + 10,
      warn: () => undefined,
    });
    try {
      const url = new URL(`${server.url}/invocations`);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      // No Content-Length (chunked): counted as it arrives, given back after the answer.
      for (let i = 0; i < 3; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            url,
            { method: 'POST', headers: { 'content-type': 'application/json' } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            }
          );
          req.on('error', reject);
          req.write(body.slice(0, 10));
          setTimeout(() => req.end(body.slice(10)), 5);
        });
        expect(status).toBe(200);
      }
      // A client that goes away in the middle of its body: its bytes are given back too.
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        });
        req.on('error', () => resolve());
        req.write(body.slice(0, 10));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 20);
      });
      await new Promise((r) => setTimeout(r, 20));
      const after = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(after.status).toBe(200);
      expect(((await after.json()) as { predictions: number[] }).predictions).toHaveLength(20);
    } finally {
      await server.close();
    }
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
