import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { listFiles } from '../../src/uri/model-cache.js';
import { resolveModelUri, type ResolveModelUriOptions } from '../../src/uri/resolve-model-uri.js';
import { startMlflowTestServer, type TestServer } from './mlflow-test-server.js';
import { buildServerState, REST_IDS } from './rest-fixture.js';

let dir: string;
let server: TestServer;
let cacheCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsfunc-uri-rest-'));
  server = await startMlflowTestServer(await buildServerState(join(dir, 'artifacts')), {
    authorization: 'Bearer s3cret',
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  server.options = { authorization: 'Bearer s3cret' };
  server.requests.length = 0;
});

/** Each call gets a fresh cache, so every test downloads. */
function options(extra: ResolveModelUriOptions = {}): ResolveModelUriOptions {
  return {
    trackingUri: server.url,
    cacheDir: join(dir, `cache-${cacheCount++}`),
    env: { MLFLOW_TRACKING_TOKEN: 's3cret' },
    timeoutMs: 5000,
    ...extra,
  };
}

async function failure(uri: string, opts: ResolveModelUriOptions = options()): Promise<ModelError> {
  try {
    await resolveModelUri(uri, opts);
  } catch (e) {
    if (ModelError.is(e)) return e;
    throw e;
  }
  throw new Error(`${uri} resolved`);
}

async function uuidAt(path: string): Promise<string> {
  return /model_uuid: (\S+)/.exec(await readFile(join(path, 'MLmodel'), 'utf8'))![1]!;
}

describe('resolveModelUri against a tracking server (REST)', () => {
  it('downloads models:/<name>/<version> through the mlflow-artifacts proxy, with the token', async () => {
    const opts = options();
    const r = await resolveModelUri('models:/fraud/1', opts);
    expect(r).toMatchObject({
      source: 'rest',
      name: 'fraud',
      version: '1',
      runId: REST_IDS.runA,
      cached: false,
      artifactUri: `mlflow-artifacts:/0/${REST_IDS.runA}/artifacts/model`,
    });
    expect(r.path.startsWith(opts.cacheDir!)).toBe(true);
    // Every file, byte for byte, plus MLflow's registered_model_meta.
    const source = join(dir, 'artifacts', '0', REST_IDS.runA, 'artifacts', 'model');
    const meta = "model_name: fraud\nmodel_version: '1'\n";
    const expected = await listFiles(source);
    expect(await listFiles(r.path)).toEqual(
      [...expected, ['registered_model_meta', meta.length] as [string, number]].sort((x, y) =>
        x[0] < y[0] ? -1 : 1
      )
    );
    expect(await readFile(join(r.path, 'data', 'nested', 'weights.bin'))).toEqual(
      await readFile(join(source, 'data', 'nested', 'weights.bin'))
    );
    expect(await readFile(join(r.path, 'registered_model_meta'), 'utf8')).toBe(meta);
    expect(server.requests.every((q) => q.authorization === 'Bearer s3cret')).toBe(true);
    const routes = server.requests.map((q) => `${q.method} ${q.path}`);
    expect(routes).toContain('GET /api/2.0/mlflow/model-versions/get');
    expect(routes).toContain('GET /api/2.0/mlflow/model-versions/get-download-uri');
    expect(routes).toContain('GET /api/2.0/mlflow-artifacts/artifacts');
    expect(routes).toContain(
      `GET /api/2.0/mlflow-artifacts/artifacts/0/${REST_IDS.runA}/artifacts/model/data/nested/weights.bin`
    );
    const listing = server.requests.find((q) => q.path === '/api/2.0/mlflow-artifacts/artifacts');
    expect(listing?.query.get('path')).toBe(`0/${REST_IDS.runA}/artifacts/model`);
  });

  it('sends basic auth from MLFLOW_TRACKING_USERNAME/PASSWORD (preferred over the token)', async () => {
    const basic = `Basic ${Buffer.from('ann:pa:ss').toString('base64')}`;
    server.options = { authorization: basic };
    const r = await resolveModelUri(
      'models:/fraud@champion',
      options({
        env: {
          MLFLOW_TRACKING_USERNAME: 'ann',
          MLFLOW_TRACKING_PASSWORD: 'pa:ss',
          MLFLOW_TRACKING_TOKEN: 'other',
        },
      })
    );
    expect(r.version).toBe('2');
    expect(server.requests.every((q) => q.authorization === basic)).toBe(true);
  });

  it('reports refused credentials (401) with the status and a hint, never the token', async () => {
    const e = await failure(
      'models:/fraud/1',
      options({ env: { MLFLOW_TRACKING_TOKEN: 'wrong' } })
    );
    expect(e.code).toBe('E_OPTION_INVALID');
    expect(e.details).toMatchObject({
      status: 401,
      uri: 'models:/fraud/1',
      trackingUri: server.url,
    });
    expect(e.message).toContain('answered 401: You are not authenticated');
    expect(e.message).toContain('MLFLOW_TRACKING_TOKEN');
    expect(e.message).not.toContain('wrong');
  });

  it('resolves aliases, latest and stages through the registry endpoints', async () => {
    const alias = await resolveModelUri('models:/fraud@champion', options());
    expect(alias).toMatchObject({ version: '2', runId: REST_IDS.runB });
    expect(await uuidAt(alias.path)).toBe('run-b');
    expect(server.requests.some((q) => q.path === '/api/2.0/mlflow/registered-models/alias')).toBe(
      true
    );

    const latest = await resolveModelUri('models:/fraud/latest', options());
    expect(latest.version).toBe('3');
    expect(await uuidAt(latest.path)).toBe('logged');
    const production = await resolveModelUri('models:/fraud/production', options());
    expect(production.version).toBe('2');
    const stagesAsked = server.requests
      .filter((q) => q.path === '/api/2.0/mlflow/registered-models/get-latest-versions')
      .map((q) => q.query.getAll('stages'));
    expect(stagesAsked).toEqual([[], ['Production']]);
  });

  it('resolves logged models and runs:/ URIs (with the MLflow 3 logged-model fallback)', async () => {
    const logged = await resolveModelUri(`models:/${REST_IDS.loggedModelId}`, options());
    expect(logged).toMatchObject({ modelId: REST_IDS.loggedModelId, runId: REST_IDS.runC });
    expect(await uuidAt(logged.path)).toBe('logged');
    const run = await resolveModelUri(`runs:/${REST_IDS.runB}/model`, options());
    expect(run).toMatchObject({ runId: REST_IDS.runB });
    expect(await uuidAt(run.path)).toBe('run-b');
    const viaRun = await resolveModelUri(`runs:/${REST_IDS.runC}/lm`, options());
    expect(viaRun).toMatchObject({ runId: REST_IDS.runC, modelId: REST_IDS.loggedModelId });
    expect(await uuidAt(viaRun.path)).toBe('logged');
    expect(server.requests.some((q) => q.path === '/api/2.0/mlflow/logged-models/search')).toBe(
      true
    );
  });

  it("turns MLflow's 404 error body into E_MLMODEL_MISSING naming the URI", async () => {
    const e = await failure('models:/nope/1');
    expect(e.code).toBe('E_MLMODEL_MISSING');
    expect(e.details).toMatchObject({
      status: 404,
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
      uri: 'models:/nope/1',
      endpoint: '/api/2.0/mlflow/model-versions/get',
    });
    expect(e.message).toBe(
      `Cannot resolve models:/nope/1: GET /api/2.0/mlflow/model-versions/get answered 404 ` +
        `RESOURCE_DOES_NOT_EXIST: Model Version (name=nope, version=1) not found ` +
        `(tracking URI ${server.url})`
    );
    const unknownName = await failure('models:/nope/latest');
    expect(unknownName.message).toContain('Registered Model with name=nope not found');
    expect((await failure('models:/fraud/4')).code).toBe('E_MLMODEL_MISSING');
    const run = await failure(`runs:/${'0'.repeat(32)}/model`);
    expect(run.message).toContain(`Run with id=${'0'.repeat(32)} not found`);
    const lm = await failure('models:/m-nope');
    expect(lm.message).toContain("Logged model with ID 'm-nope' not found.");
  });

  it("reads MLflow's 400 for an unknown alias as not found", async () => {
    const e = await failure('models:/fraud@nope');
    expect(e.code).toBe('E_MLMODEL_MISSING');
    expect(e.details).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    expect(e.message).toContain('Registered model alias nope not found.');
  });

  it('refuses artifacts it cannot read, and artifacts without MLmodel', async () => {
    const s3 = await failure('models:/in-s3/1');
    expect(s3.code).toBe('E_OPTION_INVALID');
    expect(s3.message).toContain('s3://bucket/0/abc/artifacts/model');
    expect(s3.message).toContain('--serve-artifacts');
    const none = await failure('models:/no-mlmodel/1');
    expect(none.code).toBe('E_MLMODEL_MISSING');
    expect(none.message).toContain('no MLmodel file at mlflow-artifacts:/0/');
    const missing = await failure(`runs:/${REST_IDS.runA}/nothing-here`);
    expect(missing.code).toBe('E_MLMODEL_MISSING');
  });

  it('reads file: artifact URIs of a server on a shared file system in place', async () => {
    const local = join(dir, 'artifacts', '0', REST_IDS.runA, 'artifacts', 'model');
    server.state.versions.push({
      name: 'shared-fs',
      version: 1,
      stage: 'None',
      source: pathToFileURL(local).href,
      runId: REST_IDS.runA,
      downloadUri: pathToFileURL(local).href,
    });
    const opts = options();
    const r = await resolveModelUri('models:/shared-fs/1', opts);
    expect(r).toMatchObject({ source: 'rest', path: local, version: '1' });
    expect(server.requests.some((q) => q.path.includes('mlflow-artifacts'))).toBe(false);
  });

  it('retries 503 answers, then gives up with the status', async () => {
    server.options = { authorization: 'Bearer s3cret', failFirst: 2 };
    expect((await resolveModelUri('models:/fraud/2', options())).version).toBe('2');
    server.options = { authorization: 'Bearer s3cret', failFirst: 3 };
    const e = await failure('models:/fraud/2');
    expect(e.code).toBe('E_REGISTRY_UNAVAILABLE');
    expect(e.details).toMatchObject({ status: 503, errorCode: 'TEMPORARILY_UNAVAILABLE' });
  });

  it('reports an unreachable server, naming the URI and the server', async () => {
    const gone = await startMlflowTestServer(server.state);
    const url = gone.url;
    await gone.close();
    const e = await failure('models:/fraud/1', options({ trackingUri: url }));
    expect(e.code).toBe('E_REGISTRY_UNAVAILABLE');
    expect(e.details).toMatchObject({ reason: 'ECONNREFUSED', uri: 'models:/fraud/1' });
    expect(e.message).toContain(
      `Cannot resolve models:/fraud/1: the tracking server ${url} is unreachable`
    );
  });

  it('times out a server that never answers', async () => {
    server.options = { authorization: 'Bearer s3cret' };
    const hang = await import('node:http').then(({ createServer }) =>
      createServer(() => {
        /* never answers */
      })
    );
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const { port } = hang.address() as { port: number };
    try {
      const e = await failure(
        'models:/fraud/1',
        options({ trackingUri: `http://127.0.0.1:${port}`, timeoutMs: 200 })
      );
      expect(e.code).toBe('E_REGISTRY_UNAVAILABLE');
      expect(e.details['reason']).toBe('timeout');
    } finally {
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });
});
