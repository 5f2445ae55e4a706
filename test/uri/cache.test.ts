import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { cacheKey, defaultCacheDir, listFiles } from '../../src/uri/model-cache.js';
import { resolveModelUri, type ResolveModelUriOptions } from '../../src/uri/resolve-model-uri.js';
import { startMlflowTestServer, type TestServer } from './mlflow-test-server.js';
import { buildServerState, REST_IDS } from './rest-fixture.js';

let dir: string;
let server: TestServer;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsfunc-uri-cache-'));
  server = await startMlflowTestServer(await buildServerState(join(dir, 'artifacts')));
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  server.options = {};
  server.requests.length = 0;
});

function freshCache(): string {
  return join(dir, `cache-${n++}`);
}

function options(cacheDir: string, extra: ResolveModelUriOptions = {}): ResolveModelUriOptions {
  return { trackingUri: server.url, cacheDir, env: {}, timeoutMs: 5000, ...extra };
}

const fileRequests = (): number =>
  server.requests.filter((q) => q.path.startsWith('/api/2.0/mlflow-artifacts/artifacts/')).length;

describe('the download cache', () => {
  it('serves a second resolve of a version, a run path or a logged model without any request', async () => {
    const cache = freshCache();
    for (const uri of [
      'models:/fraud/1',
      `runs:/${REST_IDS.runB}/model`,
      `models:/${REST_IDS.loggedModelId}`,
    ]) {
      const first = await resolveModelUri(uri, options(cache));
      expect(first.cached).toBe(false);
      server.requests.length = 0;
      const second = await resolveModelUri(uri, options(cache));
      expect(server.requests, uri).toEqual([]);
      expect(second).toEqual({ ...first, cached: true });
    }
  });

  it('asks only which version an alias or latest means, then uses the cached download', async () => {
    const cache = freshCache();
    await resolveModelUri('models:/fraud@champion', options(cache));
    server.requests.length = 0;
    const again = await resolveModelUri('models:/fraud@champion', options(cache));
    expect(server.requests.map((q) => q.path)).toEqual(['/api/2.0/mlflow/registered-models/alias']);
    expect(again).toMatchObject({ version: '2', cached: true, runId: REST_IDS.runB });
    // The same version by number is the same entry.
    server.requests.length = 0;
    const byNumber = await resolveModelUri('models:/fraud/2', options(cache));
    expect(server.requests).toEqual([]);
    expect(byNumber.path).toBe(again.path);
    // An alias that moves to another version is another entry.
    server.state.aliases['fraud']!['champion'] = 1;
    try {
      const moved = await resolveModelUri('models:/fraud@champion', options(cache));
      expect(moved).toMatchObject({ version: '1', cached: false });
      expect(moved.path).not.toBe(again.path);
    } finally {
      server.state.aliases['fraud']!['champion'] = 2;
    }
  });

  it('ends two concurrent downloads of the same model with one complete copy', async () => {
    const cache = freshCache();
    server.options = { fileDelayMs: 40 };
    const [a, b] = await Promise.all([
      resolveModelUri('models:/fraud/2', options(cache)),
      resolveModelUri('models:/fraud/2', options(cache)),
    ]);
    expect(a.path).toBe(b.path);
    // Both downloaded (the race was real): 3 files each.
    expect(fileRequests()).toBe(6);
    const entries = await readdir(cache);
    expect(entries).toEqual([cacheKey(server.url, 'models:/fraud/2')]);
    const manifest = JSON.parse(
      await readFile(join(cache, entries[0]!, 'manifest.json'), 'utf8')
    ) as {
      files: [string, number][];
      version: string;
      runId: string;
    };
    expect(manifest).toMatchObject({ version: '2', runId: REST_IDS.runB });
    expect(await listFiles(a.path)).toEqual(manifest.files);
  });

  it('downloads again when a cached copy was damaged', async () => {
    const cache = freshCache();
    const first = await resolveModelUri('models:/fraud/1', options(cache));
    await unlink(join(first.path, 'data', 'nested', 'weights.bin'));
    server.requests.length = 0;
    const again = await resolveModelUri('models:/fraud/1', options(cache));
    expect(again.cached).toBe(false);
    expect(fileRequests()).toBe(3);
    expect(await readFile(join(again.path, 'data', 'nested', 'weights.bin'), 'utf8')).toBe(
      'run-a'.repeat(100)
    );
    expect((await readdir(cache)).filter((e) => e.startsWith('.tmp'))).toEqual([]);
  });

  it('leaves nothing behind when a download is aborted', async () => {
    const cache = freshCache();
    server.options = { fileDelayMs: 300 };
    const controller = new AbortController();
    const pending = resolveModelUri(
      'models:/fraud/1',
      options(cache, { signal: controller.signal })
    );
    setTimeout(() => controller.abort(), 100);
    const e = await pending.catch((x: unknown) => x as ModelError);
    expect(ModelError.is(e) && e.code).toBe('E_ABORTED');
    expect(await readdir(cache).catch(() => [])).toEqual([]);
  });

  it('leaves nothing behind when one file of a download fails', async () => {
    const cache = freshCache();
    server.options = { brokenFile: 'python_env.yaml' };
    const e = await resolveModelUri('models:/fraud/1', options(cache)).catch((x: unknown) => x);
    expect(ModelError.is(e) && e.code).toBe('E_REGISTRY_UNAVAILABLE');
    expect(ModelError.is(e) && e.details['status']).toBe(500);
    expect(await readdir(cache)).toEqual([]);
  });

  it('defaults to JSFUNC_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ JSFUNC_CACHE_DIR: '/c' })).toBe('/c');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'jsfunc', 'models'));
    expect(defaultCacheDir({})).toMatch(/\.cache[\\/]jsfunc[\\/]models$/);
  });
});
