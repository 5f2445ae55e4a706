import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { resolveModelUri } from '../../src/uri/resolve-model-uri.js';
import { buildFileStore, type FileStoreFixture } from './mlflow-file-store-fixture.js';

let dir: string;
let f: FileStoreFixture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsfunc-uri-fs-'));
  f = await buildFileStore(join(dir, 'mlruns'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Resolves against the fixture store; never reads the environment of the test process. */
function resolveIn(uri: string) {
  return resolveModelUri(uri, { trackingUri: f.root, env: {}, cacheDir: join(dir, 'cache') });
}

async function uuidAt(path: string): Promise<string> {
  return /model_uuid: (\S+)/.exec(await readFile(join(path, 'MLmodel'), 'utf8'))![1]!;
}

async function rejection(p: Promise<unknown>): Promise<ModelError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x
  );
  if (!ModelError.is(e)) throw new Error(`expected a ModelError, got ${String(e)}`);
  return e;
}

async function failure(uri: string): Promise<ModelError> {
  try {
    await resolveIn(uri);
  } catch (e) {
    if (ModelError.is(e)) return e;
    throw e;
  }
  throw new Error(`${uri} resolved`);
}

describe('resolveModelUri against an MLflow file store', () => {
  it('resolves runs:/<run_id>/<path> to the run artifacts, in place', async () => {
    const r = await resolveIn(`runs:/${f.runA}/model`);
    expect(r).toMatchObject({ source: 'file-store', runId: f.runA, path: f.packages['run-a'] });
    expect(r.artifactUri).toBe(`${pathToFileURL(f.root).href}/0/${f.runA}/artifacts/model`);
    expect(await uuidAt(r.path)).toBe('run-a');
    expect((await resolveIn(`runs:/${f.runA}/model/`)).path).toBe(f.packages['run-a']);
    // MLflow's get_run finds deleted runs too.
    expect(await uuidAt((await resolveIn(`runs:/${f.runDeleted}/model`)).path)).toBe('run-deleted');
  });

  it('falls back to the logged model a run produced (MLflow 3 runs:/<run_id>/<name>)', async () => {
    const r = await resolveIn(`runs:/${f.runC}/lm`);
    expect(r).toMatchObject({
      runId: f.runC,
      modelId: f.loggedModelId,
      path: f.packages['logged'],
    });
  });

  it('resolves models:/<name>/<version>', async () => {
    const v1 = await resolveIn('models:/fraud/1');
    expect(v1).toMatchObject({ source: 'file-store', name: 'fraud', version: '1', runId: f.runA });
    expect(await uuidAt(v1.path)).toBe('run-a');
    expect(await uuidAt((await resolveIn('models:/fraud/2')).path)).toBe('run-b');
    const v3 = await resolveIn('models:/fraud/3');
    expect(v3).toMatchObject({ version: '3', modelId: f.loggedModelId, runId: f.runC });
    expect(await uuidAt(v3.path)).toBe('logged');
  });

  it('resolves latest as the highest undeleted version, and stages case-insensitively', async () => {
    expect((await resolveIn('models:/fraud/latest')).version).toBe('3');
    expect((await resolveIn('models:/fraud/Latest')).version).toBe('3');
    expect((await resolveIn('models:/fraud/production')).version).toBe('2');
    expect((await resolveIn('models:/fraud/Staging')).version).toBe('3');
    expect((await resolveIn('models:/fraud/None')).version).toBe('1');
    const archived = await failure('models:/fraud/Archived');
    expect(archived.code).toBe('E_MLMODEL_MISSING');
    expect(archived.message).toContain(
      "No versions of model with name 'fraud' and stage 'Archived' found"
    );
    const empty = await failure('models:/empty/latest');
    expect(empty.message).toContain("No versions of model with name 'empty' found");
  });

  it('resolves models:/<name>@<alias> from aliases/<alias>', async () => {
    const r = await resolveIn('models:/fraud@champion');
    expect(r).toMatchObject({ name: 'fraud', version: '2', runId: f.runB });
    expect(await uuidAt(r.path)).toBe('run-b');
  });

  it('resolves models:/<model_id> (MLflow 3 logged models)', async () => {
    const r = await resolveIn(`models:/${f.loggedModelId}`);
    expect(r).toMatchObject({
      modelId: f.loggedModelId,
      runId: f.runC,
      path: f.packages['logged'],
    });
  });

  it('resolves a version whose source is a runs:/ URI (MLflow 2.x meta, no storage_location)', async () => {
    const r = await resolveIn('models:/legacy/1');
    expect(r).toMatchObject({
      name: 'legacy',
      version: '1',
      runId: f.runA,
      path: f.packages['run-a'],
    });
  });

  it('names the URI and the missing object in coded errors', async () => {
    const cases: [string, string][] = [
      ['models:/nope/1', 'Registered Model with name=nope not found'],
      ['models:/fraud/9', 'Model Version (name=fraud, version=9) not found'],
      ['models:/fraud/4', 'Model Version (name=fraud, version=4) not found'],
      ['models:/fraud@nope', 'Registered model alias nope not found.'],
      ['models:/fraud@stale', 'Model Version (name=fraud, version=4) not found'],
      ['models:/nope@champion', 'Registered Model with name=nope not found'],
      [`runs:/${'f'.repeat(32)}/model`, `Run '${'f'.repeat(32)}' not found`],
      [`runs:/${f.runA}/missing`, 'no MLmodel file at'],
      [`runs:/${f.runTrash}/model`, 'no MLmodel file at'],
      [`models:/${f.deletedLoggedModelId}`, `Model '${f.deletedLoggedModelId}' not found`],
      ['models:/fraud', 'for a registered model use models:/fraud/<version>'],
    ];
    for (const [uri, text] of cases) {
      const e = await failure(uri);
      expect(e.code, uri).toBe('E_MLMODEL_MISSING');
      expect(e.message, uri).toContain(`Cannot resolve ${uri}`);
      expect(e.message, uri).toContain(text);
      expect(e.message, uri).toContain(`tracking URI ${f.root}`);
      expect(e.details['uri']).toBe(uri);
    }
  });

  it('refuses identifiers that would leave the store', async () => {
    for (const uri of ['runs:/../model', 'models:/../1', 'models:/a%2Fb/1', 'models:/fraud@../x']) {
      const e = await failure(uri);
      expect(e.code, uri).toBe('E_OPTION_INVALID');
    }
  });

  it('reports a missing store as E_FILE_NOT_FOUND', async () => {
    const e = await rejection(
      resolveModelUri('models:/fraud/1', { trackingUri: join(dir, 'no-such-store'), env: {} })
    );
    expect(e.code).toBe('E_FILE_NOT_FOUND');
    expect(e.message).toContain('no-such-store');
  });

  it('reads MLFLOW_TRACKING_URI (a file: URI) from the environment', async () => {
    const r = await resolveModelUri('models:/fraud@champion', {
      env: { MLFLOW_TRACKING_URI: pathToFileURL(f.root).href },
    });
    expect(r.version).toBe('2');
  });

  it('returns local paths and file: URIs as they are', async () => {
    const pkg = f.packages['run-b']!;
    expect(await resolveModelUri(pkg, { env: {} })).toEqual({
      path: pkg,
      uri: pkg,
      source: 'local',
    });
    const mlmodel = join(pkg, 'MLmodel');
    expect((await resolveModelUri(mlmodel, { env: {} })).path).toBe(pkg);
    expect((await resolveModelUri(pathToFileURL(pkg).href, { env: {} })).path).toBe(pkg);
  });

  it('stops on an aborted signal', async () => {
    const e = await rejection(
      resolveModelUri('models:/fraud/1', {
        trackingUri: f.root,
        env: {},
        signal: AbortSignal.abort(),
      })
    );
    expect(e.code).toBe('E_ABORTED');
  });
});
